"""Per-store assortments, precomputed so a FAISS ID selector costs nothing per request."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.columns import Columns
from recsys.data.idmap import IdMap
from recsys.exceptions import InvalidInputError, SchemaError


class Assortment:
    """Which SKUs each store stocks, in internal ids.

    ``items_of(s)`` is a read-only view into one precomputed sorted ``int64`` array (an
    ``IDSelectorArray`` allow list as is) and ``bitmap_of(s)`` a precomputed packed bitmap
    in FAISS ``IDSelectorBitmap`` bit order; neither allocates per request.

    Parameters
    ----------
    matrix : scipy.sparse matrix, shape (n_stores, n_items)
        Nonzero where the store stocks the SKU.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"store_id": ["s1", "s1", "s2"], "item_id": ["c", "a", "b"]})
    >>> stores, items = IdMap(["s1", "s2"], kind="store"), IdMap(["a", "b", "c"], kind="item")
    >>> a = Assortment.from_frame(df, stores, items)
    >>> a.items_of(0).tolist(), a.mask_of(1).tolist()
    ([0, 2], [False, True, False])
    >>> a.sizes.tolist()
    [2, 1]
    """

    __slots__ = ("_bitmaps", "_indices", "_indptr", "_views", "matrix")

    matrix: sp.csr_matrix

    def __init__(self, matrix: sp.spmatrix):
        m = sp.csr_matrix(matrix, dtype=bool)
        m.sum_duplicates()
        m.eliminate_zeros()
        m.sort_indices()
        self.matrix = m
        self._indptr = m.indptr.astype(np.int64)
        self._indices = m.indices.astype(np.int64)
        n_stores, n_items = m.shape
        n_bytes = (n_items + 7) // 8
        rows = np.repeat(np.arange(n_stores, dtype=np.int64), np.diff(self._indptr))
        # FAISS IDSelectorBitmap reads bit (id & 7) of byte (id >> 3); pairs are unique, so
        # summing the bit values of a byte is the same as OR-ing them
        flat = rows * n_bytes + (self._indices >> 3)
        packed = np.bincount(flat, weights=1 << (self._indices & 7), minlength=n_stores * n_bytes)
        self._bitmaps = packed.astype(np.uint8).reshape(n_stores, n_bytes)
        for arr in (self._indptr, self._indices, self._bitmaps):
            arr.flags.writeable = False
        bounds = self._indptr.tolist()
        self._views = [self._indices[a:b] for a, b in pairwise(bounds)]

    def to_frame(self, stores: IdMap, items: IdMap) -> pd.DataFrame:
        """``store_id, item_id`` rows in store then SKU order (``from_frame`` round-trips).

        Examples
        --------
        >>> a = Assortment.from_frame(
        ...     pd.DataFrame({"store_id": ["s1", "s1"], "item_id": ["b", "a"]}),
        ...     IdMap(["s1"], kind="store"), IdMap(["a", "b"]))
        >>> a.to_frame(IdMap(["s1"], kind="store"), IdMap(["a", "b"])).values.tolist()
        [['s1', 'a'], ['s1', 'b']]
        """
        rows = np.repeat(np.arange(self.n_stores, dtype=np.int64), np.diff(self._indptr))
        return pd.DataFrame(
            {Columns.STORE: stores.ids[rows], Columns.ITEM: items.ids[self._indices]}
        )

    @classmethod
    def from_frame(cls, df: pd.DataFrame, stores: IdMap, items: IdMap) -> Assortment:
        """Assortment from ``store_id, item_id`` rows (duplicates are fine).

        Raises
        ------
        SchemaError
            Missing columns or missing ids.
        UnknownIdError
            A store or SKU not in ``stores`` / ``items``.
        """
        missing = [c for c in Columns.STORES_REQUIRED if c not in df.columns]
        if missing:
            raise SchemaError(f"stores frame misses columns {missing} (has {list(df.columns)})")
        for col in Columns.STORES_REQUIRED:
            if df[col].isna().any():
                n_missing = int(df[col].isna().sum())
                raise SchemaError(f"stores frame column {col!r} has {n_missing} missing ids")
        s = stores.to_index(df[Columns.STORE])
        i = items.to_index(df[Columns.ITEM])
        return cls.from_indices(s, i, len(stores), len(items))

    @classmethod
    def from_indices(cls, store_idx: Any, item_idx: Any, n_stores: int, n_items: int) -> Assortment:
        """Assortment from parallel arrays of internal (store, item) ids.

        Examples
        --------
        >>> Assortment.from_indices([1, 1], [3, 0], 2, 4).items_of(1).tolist()
        [0, 3]
        """
        s = np.asarray(store_idx, dtype=np.int64).reshape(-1)
        i = np.asarray(item_idx, dtype=np.int64).reshape(-1)
        if s.shape != i.shape:
            raise InvalidInputError("store and item index arrays differ in length")
        data = np.ones(s.shape[0], dtype=bool)
        return cls(sp.csr_matrix((data, (s, i)), shape=(int(n_stores), int(n_items))))

    @property
    def n_stores(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def sizes(self) -> np.ndarray:
        """Number of SKUs stocked per store (int64)."""
        return np.diff(self._indptr)

    def _check(self, store_idx: int) -> int:
        s = int(store_idx)
        if not 0 <= s < self.n_stores:
            raise InvalidInputError(
                f"internal store id {store_idx!r} out of range [0, {self.n_stores})"
            )
        return s

    def items_of(self, store_idx: int) -> np.ndarray:
        """Sorted internal SKU ids stocked by a store (read-only ``int64`` view)."""
        return self._views[self._check(store_idx)]

    def bitmap_of(self, store_idx: int) -> np.ndarray:
        """Packed ``uint8`` bitmap of the store's SKUs for ``faiss.IDSelectorBitmap``."""
        return self._bitmaps[self._check(store_idx)]

    def mask_of(self, store_idx: int) -> np.ndarray:
        """Boolean (n_items,) mask of the store's SKUs (a fresh array)."""
        out = np.zeros(self.n_items, dtype=bool)
        out[self.items_of(store_idx)] = True
        return out

    def __repr__(self) -> str:
        return (
            f"Assortment(n_stores={self.n_stores}, n_items={self.n_items}, pairs={self.matrix.nnz})"
        )
