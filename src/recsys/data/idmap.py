"""External string ids <-> contiguous internal ints, assigned once at the boundary.

The internal ints are row/column numbers of every matrix and the FAISS ids, so an
:class:`IdMap` never changes after it is built; :meth:`IdMap.add` returns a new map.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd

from recsys.exceptions import PERSONAL_KINDS, InvalidInputError, SchemaError, UnknownIdError

# Up to this many ids given as a list, skip the vectorized conversion.
_SMALL_BATCH = 32


def _one_id(value: Any) -> str:
    """One external id as a string (ints and integral floats become ``"123"``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def normalize_ids(values: Any, what: str = "id") -> np.ndarray:
    """External ids as an object array of ``str``; missing ids raise.

    Ids are strings; ints (and integral floats, as pandas makes of int columns with
    gaps) are converted so ``123``, ``123.0`` and ``"123"`` are the same id.

    Parameters
    ----------
    values : scalar or array-like
        Ids to convert.
    what : str
        Name used in the error message (a column name, ``"member"`` ...).

    Returns
    -------
    ndarray of object (str), shape (n,)

    Raises
    ------
    SchemaError
        If an id is missing (NaN / None).

    Examples
    --------
    >>> normalize_ids([1, "b", 3.0]).tolist()
    ['1', 'b', '3']
    """
    if isinstance(values, str) or np.isscalar(values):
        values = [values]
    if hasattr(values, "to_numpy"):
        arr = np.asarray(values.to_numpy())
    elif isinstance(values, np.ndarray):
        arr = values
    else:  # a list may mix ints and str: keep each element's own type
        arr = np.array(list(values), dtype=object)
    arr = arr.reshape(-1)
    if arr.dtype.kind in "iub":
        return arr.astype(str).astype(object)
    if arr.dtype.kind in "US":
        return arr.astype(object)
    missing = pd.isna(arr)
    if missing.any():
        raise SchemaError(f"{int(missing.sum())} missing (NaN/None) {what} ids")
    if arr.dtype.kind == "f":
        if np.all(np.mod(arr, 1) == 0):
            return arr.astype(np.int64).astype(str).astype(object)
        return arr.astype(str).astype(object)
    if arr.dtype == object and pd.api.types.infer_dtype(arr, skipna=False) == "string":
        return arr
    return np.array([_one_id(v) for v in arr], dtype=object)


class IdMap:
    """Frozen map between external string ids and contiguous ``int64`` from 0.

    Parameters
    ----------
    ids : array-like of str
        The external ids in internal order; must be unique. Ints are converted to str.
    kind : str
        What the ids name: ``"member"``, ``"item"`` or ``"store"`` (used in error messages).

    Examples
    --------
    >>> m = IdMap.from_values(["b", "a", "b", "c"], kind="item")
    >>> len(m), m.ids.tolist()
    (3, ['b', 'a', 'c'])
    >>> m.to_index(["c", "b"]).tolist()
    [2, 0]
    >>> m.index_of("a")
    1
    >>> m.to_index(["a", "zz"], strict=False).tolist()
    [1, -1]
    >>> m.to_ids([2, 1]).tolist()
    ['c', 'a']
    >>> "a" in m, "zz" in m
    (True, False)
    """

    __slots__ = ("_ids", "_lookup", "kind")

    _ids: np.ndarray
    _lookup: dict[str, int]
    kind: str

    def __init__(self, ids: Iterable[Any] | np.ndarray, kind: str = "item"):
        arr = normalize_ids(ids if not isinstance(ids, Iterator) else list(ids), what=kind)
        lookup = {v: i for i, v in enumerate(arr.tolist())}
        if len(lookup) != arr.shape[0]:
            dup = pd.Series(arr).loc[lambda s: s.duplicated()].unique()[:5].tolist()
            raise InvalidInputError(f"duplicate {kind} ids in IdMap: {dup}")
        arr.flags.writeable = False
        object.__setattr__(self, "_ids", arr)
        object.__setattr__(self, "_lookup", lookup)
        object.__setattr__(self, "kind", kind)

    @classmethod
    def from_values(cls, values: Iterable[Any] | np.ndarray, kind: str = "item") -> IdMap:
        """Map of the distinct ``values`` in first-seen order.

        Examples
        --------
        >>> IdMap.from_values([3, 1, 3], kind="member").ids.tolist()
        ['3', '1']
        """
        arr = normalize_ids(values if not isinstance(values, Iterator) else list(values), kind)
        return cls(pd.unique(arr), kind=kind)

    # ------------------------------------------------------------ immutability
    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("IdMap is immutable; use add() to get an extended map")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("IdMap is immutable")

    # ---------------------------------------------------------------- lookups
    @property
    def ids(self) -> np.ndarray:
        """External ids in internal order (read-only object array of str)."""
        return self._ids

    def __len__(self) -> int:
        return self._ids.shape[0]

    def __contains__(self, external_id: object) -> bool:
        if external_id in self._lookup:
            return True
        if isinstance(external_id, str) or external_id is None:
            return False
        try:
            return _one_id(external_id) in self._lookup
        except (TypeError, ValueError):
            return False

    def index_of(self, external_id: Any) -> int:
        """Internal id of one external id (strict; the per-request fast path).

        Raises
        ------
        UnknownIdError
            If the id is not in the map.

        Examples
        --------
        >>> IdMap(["x", "y"], kind="store").index_of("y")
        1
        """
        idx = self._lookup.get(external_id) if isinstance(external_id, str) else None
        if idx is None:
            key = "" if external_id is None else _one_id(external_id)
            idx = self._lookup.get(key)
            if idx is None or external_id is None:
                raise UnknownIdError(self.kind, [str(external_id)], known=len(self))
        return idx

    def to_index(self, external_ids: Any, strict: bool = True) -> np.ndarray:
        """Internal ids of many external ids, vectorized.

        Parameters
        ----------
        external_ids : str or array-like of str
            Ids to look up (ints are converted to str).
        strict : bool
            Raise on unknown ids (default); otherwise unknown ids map to ``-1``.

        Returns
        -------
        ndarray of int64, shape (n,)

        Raises
        ------
        UnknownIdError
            If ``strict`` and an id is unknown; the error lists the unknown ids.
        """
        if isinstance(external_ids, str):
            external_ids = [external_ids]
        if isinstance(external_ids, (list, tuple)) and len(external_ids) <= _SMALL_BATCH:
            # per-request path: skip the array conversion, str ids hit the dict directly
            keys = np.array([k if isinstance(k, str) else _one_id(k) for k in external_ids], object)
        else:
            keys = normalize_ids(external_ids, what=self.kind)
        # a dict probe per id measured faster than pandas' object-index get_indexer here
        out = np.fromiter(
            map(self._lookup.get, keys, repeat(-1)), dtype=np.int64, count=keys.shape[0]
        )
        if strict:
            missing = out < 0
            if missing.any():
                unknown = pd.unique(keys[missing]).tolist()
                raise UnknownIdError(self.kind, unknown, known=len(self))
        return out

    def to_ids(self, index: Any) -> np.ndarray:
        """External ids of internal ids.

        Raises
        ------
        InvalidInputError
            If an internal id is outside ``[0, len)`` (``-1`` included).
        """
        idx = np.asarray(index, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise InvalidInputError(
                f"internal {self.kind} ids out of range [0, {len(self)}): "
                f"{idx[(idx < 0) | (idx >= len(self))][:5].tolist()}"
            )
        return self._ids[idx]

    def add(self, new_ids: Iterable[Any] | np.ndarray) -> IdMap:
        """A new map with the unseen ``new_ids`` appended (existing ids keep their ints).

        Examples
        --------
        >>> IdMap(["a"], kind="member").add(["b", "a", "c"]).ids.tolist()
        ['a', 'b', 'c']
        """
        arr = normalize_ids(new_ids if not isinstance(new_ids, Iterator) else list(new_ids))
        lookup = self._lookup
        fresh = pd.unique(np.array([v for v in arr if v not in lookup], dtype=object))
        if fresh.size == 0:
            return self
        out = object.__new__(IdMap)
        grown = np.concatenate([self._ids, fresh.astype(self._ids.dtype)])
        grown.flags.writeable = False
        start = len(self._ids)
        index = {**lookup, **{v: start + i for i, v in enumerate(fresh.tolist())}}
        object.__setattr__(out, "_ids", grown)
        object.__setattr__(out, "_lookup", index)
        object.__setattr__(out, "kind", self.kind)
        return out

    def renamed(self, index: int, new_id: str) -> IdMap:
        """A new map whose id at ``index`` is ``new_id`` (an erased member's placeholder).

        Examples
        --------
        >>> IdMap(["a", "b"], kind="member").renamed(0, "erased-1").ids.tolist()
        ['erased-1', 'b']
        """
        if new_id in self._lookup:
            raise InvalidInputError(f"cannot rename to an id the map holds ({self.kind})")
        ids = self._ids.copy()
        old = ids[index]
        ids[index] = new_id
        ids.flags.writeable = False
        lookup = dict(self._lookup)
        del lookup[old]
        lookup[new_id] = int(index)
        out = object.__new__(IdMap)
        object.__setattr__(out, "_ids", ids)
        object.__setattr__(out, "_lookup", lookup)
        object.__setattr__(out, "kind", self.kind)
        return out

    # ------------------------------------------------------------------ misc
    def __iter__(self) -> Iterator[str]:
        return iter(self._ids.tolist())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IdMap):
            return NotImplemented
        return self.kind == other.kind and np.array_equal(self._ids, other._ids)

    def __hash__(self) -> int:
        return hash((self.kind, len(self), tuple(self._ids[:8].tolist())))

    def __repr__(self) -> str:
        if self.kind in PERSONAL_KINDS:  # member ids are personal data: never in a repr
            return f"IdMap(kind={self.kind!r}, n={len(self)})"
        head = ", ".join(repr(v) for v in self._ids[:3].tolist())
        more = ", ..." if len(self) > 3 else ""
        return f"IdMap(kind={self.kind!r}, n={len(self)}, ids=[{head}{more}])"
