"""Top-k primitives of the array core: ``(ids, scores)`` out, always in that order.

Every shelf, batch, audience and evaluation run ends here. Candidates are columns of a score
matrix (all SKUs, or an allow-list); per-row exclusions travel as CSR structure
(:class:`Rows`: ``indptr`` and ``indices``, no values) and are set to ``-inf`` before a
partial sort, so nothing is fetched and then dropped.

:class:`ItemRanker` scores member vectors against item vectors. A store's assortment is a few
hundred SKUs, so its item vectors are kept as one contiguous block per store: a shelf is one
small matrix product and a partial sort. Searches over the whole catalog (or a broad filter)
go to the FAISS :class:`~recsys.index.VectorIndex`.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from itertools import pairwise
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from recsys.data import Assortment
from recsys.index import EXACT_MAX_IDS, VectorIndex

__all__ = ["Allowed", "ItemRanker", "Rows", "top_k"]

_EMPTY = np.empty(0, dtype=np.int64)
_EMPTY.setflags(write=False)
#: store blocks are cached up to this many bytes in all; beyond, rows are gathered per call
_BLOCK_BYTES = 512 * 1024 * 1024


class Rows(NamedTuple):
    """Per-row id lists in CSR layout: row ``i`` holds ``indices[indptr[i]:indptr[i + 1]]``.

    Examples
    --------
    >>> rows = Rows.from_lists([np.array([3, 1]), np.array([], dtype=np.int64)])
    >>> rows.indptr.tolist(), rows.indices.tolist(), rows.n_rows
    ([0, 2, 2], [3, 1], 2)
    """

    indptr: np.ndarray
    indices: np.ndarray

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1

    @classmethod
    def empty(cls, n: int) -> Rows:
        return cls(np.zeros(n + 1, dtype=np.int64), _EMPTY)

    @classmethod
    def one(cls, ids: np.ndarray) -> Rows:
        """A single row (a member's shelf)."""
        return cls(np.array([0, len(ids)], dtype=np.int64), ids)

    @classmethod
    def from_lists(cls, lists: list[np.ndarray]) -> Rows:
        indptr = np.zeros(len(lists) + 1, dtype=np.int64)
        np.cumsum([len(a) for a in lists], out=indptr[1:])
        indices = np.concatenate(lists).astype(np.int64) if indptr[-1] else _EMPTY
        return cls(indptr, indices)

    @classmethod
    def from_csr(cls, matrix: sp.spmatrix) -> Rows:
        m = sp.csr_matrix(matrix)
        return cls(m.indptr.astype(np.int64), m.indices.astype(np.int64))

    def take(self, rows: np.ndarray) -> Rows:
        """The rows ``rows`` (an int array), in that order (vectorized, no Python loop)."""
        return Rows.gather(self.indptr, self.indices, rows)

    @staticmethod
    def gather(indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray) -> Rows:
        """Rows ``rows`` of any CSR structure (a scipy matrix's ``indptr`` / ``indices``)."""
        starts = indptr[rows].astype(np.int64)
        lens = indptr[rows + 1].astype(np.int64) - starts
        out = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lens, out=out[1:])
        if not out[-1]:
            return Rows(out, _EMPTY)
        positions = np.repeat(starts - out[:-1], lens) + np.arange(out[-1])
        return Rows(out, indices[positions].astype(np.int64))

    def plus(self, extra: np.ndarray) -> Rows:
        """Every row with ``extra`` ids added (duplicates are harmless)."""
        if not len(extra):
            return self
        n = self.n_rows
        lens = np.diff(self.indptr) + len(extra)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lens, out=indptr[1:])
        rows = [np.concatenate([self.indices[a:b], extra]) for a, b in pairwise(self.indptr)]
        return Rows(indptr, np.concatenate(rows).astype(np.int64))


class Allowed(NamedTuple):
    """The SKUs a request may return: ``ids`` (sorted) or ``None`` for all.

    ``key`` names an allow-list that comes back request after request (a store's
    assortment, or its in-season part): its item vectors are then kept as one block.
    """

    ids: np.ndarray | None
    key: Hashable | None = None


def _exclude(scores: np.ndarray, columns: np.ndarray | None, exclude: Rows | None) -> None:
    """Set excluded (row, id) pairs of ``scores`` (columns ``columns``) to ``-inf``, in place."""
    if exclude is None or not len(exclude.indices):
        return
    ids = exclude.indices
    if len(scores) == 1:
        rows: np.ndarray | int = 0
    else:
        rows = np.repeat(np.arange(exclude.n_rows), np.diff(exclude.indptr))
    if columns is None:
        scores[rows, ids] = -np.inf
        return
    if not len(columns):
        return
    pos = np.searchsorted(columns, ids)
    np.minimum(pos, len(columns) - 1, out=pos)
    hit = columns[pos] == ids
    scores[rows if isinstance(rows, int) else rows[hit], pos[hit]] = -np.inf


def top_k(
    scores: np.ndarray,
    k: int,
    columns: np.ndarray | None = None,
    exclude: Rows | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` ids per row of ``scores``, exclusions left out; overwrites ``scores``.

    Parameters
    ----------
    scores : ndarray of float32, shape (n, m)
        Scores of the candidate ids (writable; excluded entries are set to ``-inf``).
    k : int
    columns : sorted ndarray of int, optional
        Id of each score column; ``None`` means column ``j`` is id ``j``.
    exclude : Rows, optional
        Ids each row must not return (ids outside ``columns`` are ignored).

    Returns
    -------
    ids : ndarray of int64, shape (n, k), padded with -1
    scores : ndarray of float32, shape (n, k), padded with -inf

    Examples
    --------
    >>> s = np.array([[0.1, 0.5, 0.7]], dtype=np.float32)
    >>> ids, vals = top_k(s, 3, np.array([0, 2, 3]), Rows.one(np.array([3])))
    >>> ids.tolist()
    [[2, 0, -1]]
    """
    n, m = scores.shape
    _exclude(scores, columns, exclude)
    if n == 1:
        return _top_k_row(scores[0], k, columns)
    ids = np.full((n, k), -1, dtype=np.int64)
    vals = np.full((n, k), -np.inf, dtype=np.float32)
    kk = min(k, m)
    if kk == 0 or n == 0:
        return ids, vals
    if kk < m:
        part = np.argpartition(scores, m - kk, axis=1)[:, m - kk :]
        top = np.take_along_axis(scores, part, axis=1)
    else:
        part, top = np.broadcast_to(np.arange(m), (n, m)), scores
    order = np.argsort(-top, axis=1, kind="stable")
    best = np.take_along_axis(top, order, axis=1)
    cols = np.take_along_axis(part, order, axis=1)
    found = best > -np.inf
    chosen = cols if columns is None else columns[cols]
    ids[:, :kk] = np.where(found, chosen, -1)
    vals[:, :kk] = best
    return ids, vals


def _top_k_row(
    row: np.ndarray, k: int, columns: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`top_k` of one row with 1-d NumPy calls (a shelf for one member)."""
    m = len(row)
    kk = min(k, m)
    if kk == 0:
        return np.full((1, k), -1, dtype=np.int64), np.full((1, k), -np.inf, dtype=np.float32)
    part = np.argpartition(row, m - kk)[m - kk :] if kk < m else np.arange(m)
    top = row[part]
    order = np.argsort(-top, kind="stable")
    best, cols = top[order], part[order]
    chosen = cols if columns is None else columns[cols]
    if kk == k and best[-1] > -np.inf:  # a full shelf: nothing to pad
        return chosen[None, :], best[None, :]
    ids = np.full((1, k), -1, dtype=np.int64)
    vals = np.full((1, k), -np.inf, dtype=np.float32)
    ids[0, :kk] = np.where(best > -np.inf, chosen, -1)
    vals[0, :kk] = best
    return ids, vals


class ItemRanker:
    """Member vectors against item vectors: store blocks for store shelves, FAISS otherwise.

    Parameters
    ----------
    vectors : ndarray, float32, shape (n_items, d)
        Item vectors (a vector model's ``item_factors_``).
    index : VectorIndex
        FAISS index over the same vectors, for searches that are not one store's shelf.
    assortment : Assortment
        The stores' SKUs.
    """

    def __init__(self, vectors: np.ndarray, index: VectorIndex, assortment: Assortment) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.index = index
        self.assortment = assortment
        self._blocks: dict[Hashable, tuple[np.ndarray, np.ndarray]] = {}
        self._block_bytes = 0
        self._lock = threading.Lock()

    def block(self, key: Hashable, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The item vectors of ``ids``, contiguous, and each SKU's row in the block (``-1``:
        not in it), kept under ``key`` (bounded by :data:`_BLOCK_BYTES`)."""
        cached = self._blocks.get(key)
        if cached is not None:
            return cached
        block = np.ascontiguousarray(self.vectors[ids])
        where = np.full(len(self.vectors), -1, dtype=np.int32)
        where[ids] = np.arange(len(ids), dtype=np.int32)
        block.flags.writeable = where.flags.writeable = False
        with self._lock:
            if self._block_bytes + block.nbytes + where.nbytes <= _BLOCK_BYTES:
                self._blocks[key] = (block, where)
                self._block_bytes += block.nbytes + where.nbytes
        return block, where

    def store_shelf(
        self, query: np.ndarray, k: int, allowed: Allowed, exclude: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`search` of one member over a kept allow-list, with 1-d NumPy calls."""
        assert allowed.ids is not None and allowed.key is not None
        block, where = self.block(allowed.key, allowed.ids)
        scores = block @ query
        if len(exclude):
            pos = where[exclude]
            scores[pos[pos >= 0]] = -np.inf
        return _top_k_row(scores, k, allowed.ids)

    def search(
        self, queries: np.ndarray, k: int, allowed: Allowed, exclude: Rows | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` item ids and scores of each query row among ``allowed`` minus exclusions."""
        ids = allowed.ids
        if allowed.key is not None and ids is not None:
            block, where = self.block(allowed.key, ids)
            scores = queries @ block.T
            if exclude is not None and len(exclude.indices):
                pos = where[exclude.indices]
                hit = pos >= 0
                if len(scores) == 1:
                    scores[0, pos[hit]] = -np.inf
                else:
                    row_of = np.repeat(np.arange(exclude.n_rows), np.diff(exclude.indptr))
                    scores[row_of[hit], pos[hit]] = -np.inf
            return top_k(scores, k, ids)
        if ids is not None and len(ids) <= EXACT_MAX_IDS:
            return top_k(queries @ self.vectors[ids].T, k, ids, exclude)
        rows = exclude if exclude is not None else Rows.empty(len(queries))
        return self.index.search_each(queries, k, ids, (rows.indptr, rows.indices))
