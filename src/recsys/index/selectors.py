"""Id filters for FAISS searches: validate ``allowed`` / ``excluded`` once, build selectors.

A request carries at most one allow-list (store assortment ∩ catalog mask ∩ include list,
sorted ``int64`` ids) and one exclusion list (already bought, explicit excludes).
:func:`resolve_filter` validates both and folds the exclusions into the allow-list with
NumPy, so FAISS sees a single selector. :func:`make_selector` turns the result into a FAISS
``IDSelector`` for the index the search runs on:

* the exact (flat) index gets an ``IDSelectorArray`` of the allowed ids, at any size: FAISS
  then computes distances for those ids only (measured on faiss 1.15.1, 64-d, one query:
  ~20 µs for 450 ids whatever the number of items, and faster than ``IDSelectorBitmap`` at
  every allowed fraction up to 90 %, bitmap construction excluded);
* HNSW and IVF indexes get an ``IDSelectorBitmap``: they test membership id by id while they
  walk the graph or the inverted lists, and ``IDSelectorArray.is_member`` is a linear scan;
* with exclusions only, ``IDSelectorNot(IDSelectorBatch(excluded))`` (a hash set).

FAISS does not copy the arrays behind a selector, nor keep a Python reference to nested
selectors: :class:`Selector` holds every object the C++ side points to; keep it alive until
the search returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np
from numpy.typing import ArrayLike, NDArray

from recsys.exceptions import InvalidInputError

__all__ = ["IdFilter", "Selector", "bitmap_of", "make_selector", "resolve_filter"]

_EMPTY_IDS: NDArray[np.int64] = np.empty(0, dtype=np.int64)
_EMPTY_IDS.setflags(write=False)


@dataclass(frozen=True)
class IdFilter:
    """The one id filter of a search, validated against an index of ``n`` items.

    Attributes
    ----------
    n : int
        Number of items in the index.
    allowed : ndarray of int64 or None
        Sorted, unique ids that may be returned, exclusions already removed; ``None`` means
        every id not in ``excluded``.
    excluded : ndarray of int64 or None
        Sorted, unique ids that must not be returned; only set when ``allowed`` is ``None``.
    count : int
        How many ids pass the filter.
    """

    n: int
    allowed: NDArray[np.int64] | None
    excluded: NDArray[np.int64] | None
    count: int

    @property
    def is_trivial(self) -> bool:
        """``True`` when every id passes (no selector needed)."""
        return self.allowed is None and self.excluded is None


def _as_ids(values: ArrayLike, n: int, name: str, *, sort: bool = False) -> NDArray[np.int64]:
    """Validate 1-d integer ids in ``[0, n)`` (or a boolean mask of length ``n``).

    With ``sort=True`` the result is sorted and unique.
    """
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InvalidInputError(f"{name} must be a 1-d array of item ids, got shape {arr.shape}")
    if arr.size == 0:
        return _EMPTY_IDS
    if arr.dtype == np.bool_:
        if arr.shape[0] != n:
            raise InvalidInputError(
                f"{name} given as a boolean mask must have length {n} (items), got {arr.shape[0]}"
            )
        return np.flatnonzero(arr).astype(np.int64, copy=False)
    if arr.dtype.kind not in "iu":
        raise InvalidInputError(f"{name} must hold integer item ids, got dtype {arr.dtype}")
    ids = np.ascontiguousarray(arr, dtype=np.int64)
    if sort:
        # The recommender passes sorted unique ids: check in O(len), sort only when needed,
        # then the range check reads the two ends.
        if ids.size > 1 and not (ids[1:] > ids[:-1]).all():
            ids = np.unique(ids)
        lo, hi = int(ids[0]), int(ids[-1])
    else:
        lo, hi = int(ids.min()), int(ids.max())
    if lo < 0 or hi >= n:
        bad = lo if lo < 0 else hi
        raise InvalidInputError(f"{name} holds id {bad}, outside the index range [0, {n})")
    return ids


def _remove_sorted(ids: NDArray[np.int64], drop: NDArray[np.int64]) -> NDArray[np.int64]:
    """``ids`` (sorted, unique) without the values in ``drop``: one binary search per drop.

    A shelf drops a few bought SKUs from a ~450-id assortment; ``np.setdiff1d`` would sort
    both arrays again.
    """
    pos = np.searchsorted(ids, drop)
    inside = pos < ids.size
    pos = pos[inside]
    hit = pos[ids[pos] == drop[inside]]
    return np.delete(ids, hit) if hit.size else ids


def resolve_filter(
    n: int, allowed: ArrayLike | None = None, excluded: ArrayLike | None = None
) -> IdFilter:
    """Validate ``allowed`` / ``excluded`` and fold them into one :class:`IdFilter`.

    Parameters
    ----------
    n : int
        Number of items in the index; every id must lie in ``[0, n)``.
    allowed : array-like of int, optional
        Ids that may be returned (sorted ``int64`` is the fast path; anything else is
        sorted and deduplicated). A boolean mask of length ``n`` is accepted too.
    excluded : array-like of int, optional
        Ids that must not be returned.

    Returns
    -------
    IdFilter

    Raises
    ------
    InvalidInputError
        If an array is not 1-d, not integer, or holds an id outside ``[0, n)``.

    Examples
    --------
    >>> import numpy as np
    >>> f = resolve_filter(10, allowed=np.array([1, 3, 5, 7]), excluded=np.array([3, 9]))
    >>> f.allowed.tolist(), f.excluded, f.count
    ([1, 5, 7], None, 3)
    >>> resolve_filter(10, excluded=[2, 2, 4]).count
    8
    """
    excl = None if excluded is None else _as_ids(excluded, n, "excluded")
    if allowed is not None:
        ids = _as_ids(allowed, n, "allowed", sort=True)
        if excl is not None and excl.size and ids.size:
            ids = _remove_sorted(ids, excl)
        return IdFilter(n=n, allowed=ids, excluded=None, count=int(ids.size))
    if excl is None or excl.size == 0:
        return IdFilter(n=n, allowed=None, excluded=None, count=n)
    excl = np.unique(excl)
    return IdFilter(n=n, allowed=None, excluded=excl, count=n - int(excl.size))


def bitmap_of(ids: NDArray[np.int64], n: int) -> NDArray[np.uint8]:
    """Pack ``ids`` into the little-endian bitmap ``IDSelectorBitmap`` reads.

    Examples
    --------
    >>> import numpy as np
    >>> bitmap_of(np.array([0, 3, 9]), 10).tolist()
    [9, 2]
    """
    mask = np.zeros(n, dtype=np.bool_)
    mask[ids] = True
    return np.packbits(mask, bitorder="little")


class Selector:
    """A FAISS ``IDSelector`` together with every object it points to.

    Attributes
    ----------
    sel : faiss.IDSelector or None
        Pass as ``sel=`` of ``faiss.SearchParameters``; ``None`` means no filtering.
    kind : str
        ``"none"``, ``"array"``, ``"bitmap"`` or ``"not_batch"`` (useful in tests and logs).
    """

    __slots__ = ("_refs", "kind", "sel")

    def __init__(self, sel: Any, kind: str, refs: tuple[Any, ...] = ()) -> None:
        self.sel = sel
        self.kind = kind
        self._refs = refs  # numpy buffers and inner selectors FAISS reads without owning

    def __repr__(self) -> str:
        return f"Selector(kind={self.kind!r})"


def make_selector(filt: IdFilter, *, membership_tests: bool) -> Selector:
    """Build the FAISS selector for ``filt``.

    Parameters
    ----------
    filt : IdFilter
        From :func:`resolve_filter`.
    membership_tests : bool
        ``False`` for the flat index (it enumerates an ``IDSelectorArray`` and visits only
        those ids); ``True`` for HNSW / IVF, which ask ``is_member`` for every candidate, so
        an allow-list becomes an O(1) ``IDSelectorBitmap``.

    Returns
    -------
    Selector

    Examples
    --------
    >>> import numpy as np
    >>> f = resolve_filter(1000, allowed=np.arange(0, 1000, 7))
    >>> make_selector(f, membership_tests=False).kind
    'array'
    >>> make_selector(f, membership_tests=True).kind
    'bitmap'
    >>> make_selector(resolve_filter(1000, excluded=[5]), membership_tests=True).kind
    'not_batch'
    """
    if filt.allowed is not None:
        ids = filt.allowed
        if not membership_tests:
            array = faiss.IDSelectorArray(ids.size, faiss.swig_ptr(ids))
            return Selector(array, "array", (ids,))
        bits = bitmap_of(ids, filt.n)
        bitmap = faiss.IDSelectorBitmap(filt.n, faiss.swig_ptr(bits))
        return Selector(bitmap, "bitmap", (bits,))
    if filt.excluded is not None:
        excl = filt.excluded
        inner = faiss.IDSelectorBatch(excl.size, faiss.swig_ptr(excl))
        return Selector(faiss.IDSelectorNot(inner), "not_batch", (excl, inner))
    return Selector(None, "none")
