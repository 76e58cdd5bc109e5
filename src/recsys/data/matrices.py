"""The sparse matrices every model trains on, bundled so models never see DataFrames."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recsys.columns import EventKind


@dataclass(frozen=True, eq=False)
class ModelEvents:
    """The training events in internal ids, for models that learn from time (a validation
    slice carved from the end of train, recency). Not part of a saved model.

    Attributes
    ----------
    users, items, stores : ndarray of int32
        Internal ids per event (``stores``: ``-1`` without a store).
    kinds : ndarray of int8
        Index into :data:`~recsys.columns.EventKind.ALL`.
    weights : ndarray of float32
        Confidence of each event (what ``confidence`` sums).
    seconds : ndarray of int64
        Event time in seconds since the Unix epoch; ``-1`` where unknown.
    """

    users: np.ndarray
    items: np.ndarray
    stores: np.ndarray
    kinds: np.ndarray
    weights: np.ndarray
    seconds: np.ndarray

    def __len__(self) -> int:
        return len(self.users)

    @property
    def has_times(self) -> bool:
        return bool(len(self.seconds)) and bool((self.seconds >= 0).all())

    def subset(self, mask: np.ndarray) -> ModelEvents:
        """The events where ``mask`` holds."""
        return ModelEvents(
            self.users[mask],
            self.items[mask],
            self.stores[mask],
            self.kinds[mask],
            self.weights[mask],
            self.seconds[mask],
        )


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
    events : ModelEvents, optional
        The events behind the matrices (``None`` when built from a bare matrix or loaded).
    """

    confidence: sp.csr_matrix
    purchased: sp.csr_matrix
    user_features: sp.csr_matrix
    item_features: sp.csr_matrix
    store_items: sp.csr_matrix
    user_stores: sp.csr_matrix
    events: ModelEvents | None = None

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


def matrices_of_events(events: ModelEvents, like: TrainingMatrices) -> TrainingMatrices:
    """The matrices of a subset of ``like``'s events (same members, SKUs, stores, features).

    Used to fit on the early part of train and validate on the rest.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> ev = ModelEvents(np.array([0, 1], np.int32), np.array([1, 0], np.int32),
    ...                  np.array([-1, -1], np.int32), np.array([0, 2], np.int8),
    ...                  np.array([1.0, 0.5], np.float32), np.array([10, 20]))
    >>> base = TrainingMatrices.from_confidence(sp.csr_matrix((2, 2), dtype=np.float32))
    >>> early = matrices_of_events(ev.subset(ev.seconds < 15), base)
    >>> early.confidence.toarray().tolist(), early.purchased.toarray().tolist()
    ([[0.0, 1.0], [0.0, 0.0]], [[0.0, 1.0], [0.0, 0.0]])
    """
    n_users, n_items, n_stores = like.n_users, like.n_items, like.n_stores
    u, i, s, w = events.users, events.items, events.stores, events.weights
    conf = sp.csr_matrix((w, (u, i)), shape=(n_users, n_items), dtype=np.float32)
    conf.sum_duplicates()
    conf.eliminate_zeros()
    conf.sort_indices()
    buy = events.kinds == EventKind.ALL.index(EventKind.PURCHASE)
    bought = sp.csr_matrix(
        (np.ones(int(buy.sum()), np.float32), (u[buy], i[buy])), shape=(n_users, n_items)
    )
    bought.sum_duplicates()
    bought.data[:] = 1.0
    at = s >= 0
    store_items = sp.csr_matrix(
        (w[at], (s[at], i[at])), shape=(n_stores, n_items), dtype=np.float32
    )
    store_items.sum_duplicates()
    user_stores = sp.csr_matrix(
        (np.ones(int(at.sum()), np.float32), (u[at], s[at])), shape=(n_users, n_stores)
    )
    user_stores.sum_duplicates()
    return TrainingMatrices(
        confidence=conf,
        purchased=bought,
        user_features=like.user_features,
        item_features=like.item_features,
        store_items=store_items,
        user_stores=user_stores,
        events=events,
    )


def purchases_after(late: ModelEvents, n_users: int, n_items: int) -> sp.csr_matrix:
    """0/1 matrix of what members bought in these events (of every kind, in a log without
    a purchase): what a validation slice, or a period after a cut, holds as taken up.

    Examples
    --------
    >>> ev = ModelEvents(np.array([0, 1], np.int32), np.array([1, 0], np.int32),
    ...                  np.array([-1, -1], np.int32), np.array([0, 2], np.int8),
    ...                  np.array([1.0, 0.5], np.float32), np.array([10, 20]))
    >>> purchases_after(ev, 2, 2).toarray().tolist()  # member 1's event is not a purchase
    [[0.0, 1.0], [0.0, 0.0]]
    """
    buy = late.kinds == EventKind.ALL.index(EventKind.PURCHASE)
    if not buy.any():
        buy = np.ones(len(late), dtype=bool)
    m = sp.csr_matrix(
        (np.ones(int(buy.sum()), np.float32), (late.users[buy], late.items[buy])),
        shape=(n_users, n_items),
    )
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def without_rows(m: sp.spmatrix, rows: np.ndarray) -> sp.csr_matrix:
    """A copy of ``m`` (as CSR) whose ``rows`` hold nothing: their entries are gone, not
    zeroed in place, so no byte of them is kept.

    Examples
    --------
    >>> m = sp.csr_matrix(np.arange(6, dtype=np.float32).reshape(3, 2))
    >>> without_rows(m, np.array([1])).toarray().tolist()
    [[0.0, 1.0], [0.0, 0.0], [4.0, 5.0]]
    """
    m = sp.csr_matrix(m)
    keep = np.ones(m.shape[0], dtype=bool)
    keep[np.asarray(rows, dtype=np.int64)] = False
    counts = np.diff(m.indptr) * keep
    mask = np.repeat(keep, np.diff(m.indptr))
    indptr = np.zeros(m.shape[0] + 1, dtype=m.indptr.dtype)
    np.cumsum(counts, out=indptr[1:])
    return sp.csr_matrix(
        (m.data[mask].copy(), m.indices[mask].copy(), indptr), shape=m.shape, dtype=m.dtype
    )
