"""The sparse matrices every model trains on, bundled so models never see DataFrames."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class TrainingMatrices:
    """Model-ready view of a :class:`~recsys.data.RetailDataset`, all in internal ids.

    Attributes
    ----------
    confidence : scipy.sparse.csr_matrix, float32, shape (n_users, n_items)
        Summed event weights per member and SKU (see :class:`~recsys.data.EventWeights`).
    purchased : scipy.sparse.csr_matrix, float32 of 0/1, shape (n_users, n_items)
        1 where the member bought the SKU ("already bought" filter).
    user_features : scipy.sparse.csr_matrix, float32, shape (n_users, n_user_features)
        Encoded profile tags (one-hot) and scaled numeric attributes; may have 0 columns.
    item_features : scipy.sparse.csr_matrix, float32, shape (n_items, n_item_features)
        Encoded SKU attributes (category, price tier, season); may have 0 columns.
    store_items : scipy.sparse.csr_matrix, float32, shape (n_stores, n_items)
        Summed event weights per store and SKU (per-store popularity); 0 rows if no stores.
    user_stores : scipy.sparse.csr_matrix, float32, shape (n_users, n_stores)
        Event counts per member and store (a store's regular customers).
    """

    confidence: sp.csr_matrix
    purchased: sp.csr_matrix
    user_features: sp.csr_matrix
    item_features: sp.csr_matrix
    store_items: sp.csr_matrix
    user_stores: sp.csr_matrix

    @property
    def n_users(self) -> int:
        return int(self.confidence.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.confidence.shape[1])

    @property
    def n_stores(self) -> int:
        return int(self.store_items.shape[0])

    @classmethod
    def from_confidence(
        cls,
        confidence: sp.spmatrix | np.ndarray,
        user_features: sp.spmatrix | None = None,
        item_features: sp.spmatrix | None = None,
    ) -> TrainingMatrices:
        """Build matrices from a bare confidence matrix (tests, benchmarks, raw users).

        Every positive entry counts as purchased; there are no stores.

        Examples
        --------
        >>> import scipy.sparse as sp
        >>> m = TrainingMatrices.from_confidence(sp.random(5, 4, density=0.5, format="csr"))
        >>> (m.n_users, m.n_items, m.n_stores)
        (5, 4, 0)
        """
        conf = sp.csr_matrix(confidence, dtype=np.float32)
        conf.sum_duplicates()
        n_users, n_items = conf.shape
        bought = conf.copy()
        bought.data = (bought.data > 0).astype(np.float32)
        empty_u = sp.csr_matrix((n_users, 0), dtype=np.float32)
        empty_i = sp.csr_matrix((n_items, 0), dtype=np.float32)
        return cls(
            confidence=conf,
            purchased=bought,
            user_features=sp.csr_matrix(user_features, dtype=np.float32)
            if user_features is not None
            else empty_u,
            item_features=sp.csr_matrix(item_features, dtype=np.float32)
            if item_features is not None
            else empty_i,
            store_items=sp.csr_matrix((0, n_items), dtype=np.float32),
            user_stores=sp.csr_matrix((n_users, 0), dtype=np.float32),
        )
