"""Shelf filters: parse the user's ``filters`` dict once, turn it into allowed SKU ids.

The catalog part of a filter (category, price, season) is a full-catalog boolean mask from
:meth:`recsys.data.Catalog.mask`, cached by the normalised filter, so a repeated filter
(the same date, the same category) costs a dictionary lookup per request. The store part is
the store's precomputed assortment array; their intersection is what FAISS may return.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from threading import Lock
from typing import Any

import numpy as np

from recsys.data import Assortment, Catalog, IdMap
from recsys.exceptions import InvalidInputError, UnknownIdError
from recsys.recommender.ranking import Allowed

FILTER_KEYS = ("category", "min_price", "max_price", "in_season", "include", "exclude")


@dataclass(frozen=True)
class ShelfFilter:
    """A validated, hashable filter. Empty fields mean "no constraint"."""

    categories: tuple[str, ...] | None = None
    min_price: float | None = None
    max_price: float | None = None
    in_season: dt.date | None = None
    include: tuple[int, ...] | None = None
    exclude: tuple[int, ...] = ()

    @property
    def catalog_key(self) -> tuple[Any, ...]:
        return (self.categories, self.min_price, self.max_price, self.in_season)

    @property
    def has_catalog_part(self) -> bool:
        return any(v is not None for v in self.catalog_key)


#: the filter of a request without filters (compared by identity on the hot path)
NO_FILTER = ShelfFilter()


def _as_str_list(name: str, value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, Mapping | bytes):
        out = list(value)
        if all(isinstance(v, str) for v in out):
            return out
    raise InvalidInputError(f"filter {name!r} must be a string or a list of strings, got {value!r}")


def _as_price(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(f"filter {name!r} must be a number, got {value!r}")
    if not np.isfinite(value) or value < 0:
        raise InvalidInputError(f"filter {name!r} must be a finite number >= 0, got {value!r}")
    return float(value)


def _as_date(value: Any) -> dt.date | None:
    if value is None or value is False:  # False: the caller asks for every season
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise InvalidInputError(
        f"filter 'in_season' must be an ISO date like '2026-11-22', got {value!r}"
    )


def parse_filters(filters: Mapping[str, Any] | None, catalog: Catalog, items: IdMap) -> ShelfFilter:
    """Validate a user's ``filters`` dict into a :class:`ShelfFilter`.

    Unknown keys, wrong types and unknown categories or SKUs raise a
    :class:`~recsys.exceptions.RecsysError` subclass naming the problem.
    """
    if not filters:
        return NO_FILTER
    if not isinstance(filters, Mapping):
        raise InvalidInputError(f"filters must be a dict, got {type(filters).__name__}")
    unknown = sorted(set(filters) - set(FILTER_KEYS))
    if unknown:
        raise InvalidInputError(f"unknown filter key(s) {unknown}; valid keys: {list(FILTER_KEYS)}")
    categories = None
    if filters.get("category") is not None:
        cats = _as_str_list("category", filters["category"])
        known = set(catalog.categories.tolist())
        missing = [c for c in cats if c not in known]
        if missing:
            raise UnknownIdError("category", missing, known=len(known))
        categories = tuple(sorted(set(cats)))
    min_price = _as_price("min_price", filters.get("min_price"))
    max_price = _as_price("max_price", filters.get("max_price"))
    if min_price is not None and max_price is not None and min_price > max_price:
        raise InvalidInputError(f"min_price {min_price} is above max_price {max_price}")
    include = None
    if filters.get("include") is not None:
        include = tuple(
            sorted(set(items.to_index(_as_str_list("include", filters["include"])).tolist()))
        )
    exclude: tuple[int, ...] = ()
    if filters.get("exclude") is not None:
        exclude = tuple(
            sorted(set(items.to_index(_as_str_list("exclude", filters["exclude"])).tolist()))
        )
    return ShelfFilter(
        categories=categories,
        min_price=min_price,
        max_price=max_price,
        in_season=_as_date(filters.get("in_season")),
        include=include,
        exclude=exclude,
    )


class AllowedItems:
    """Computes the sorted allowed SKU ids for (store, filter), caching catalog masks."""

    def __init__(
        self, catalog: Catalog, assortment: Assortment, n_items: int, cache_size: int = 256
    ):
        self._catalog = catalog
        self._assortment = assortment
        self._n_items = n_items
        self._cache: OrderedDict[tuple[Any, ...], np.ndarray] = OrderedDict()
        self._store_cache: OrderedDict[tuple[Any, ...], np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = Lock()

    def catalog_mask(self, flt: ShelfFilter) -> np.ndarray:
        """Full-catalog boolean mask of the filter's catalog part (cached, read-only)."""
        key = flt.catalog_key
        with self._lock:
            mask = self._cache.get(key)
            if mask is not None:
                self._cache.move_to_end(key)
                return mask
        mask = self._catalog.mask(
            category=list(flt.categories) if flt.categories is not None else None,
            min_price=flt.min_price,
            max_price=flt.max_price,
            in_season=flt.in_season,
        )
        mask = np.asarray(mask, dtype=bool)
        mask.setflags(write=False)
        with self._lock:
            self._cache[key] = mask
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return mask

    def allowed(self, store: int, flt: ShelfFilter) -> Allowed:
        """The sorted int64 ids a shelf may hold (``None``: every SKU); a store's assortment,
        alone or with a catalog filter (its in-season part), is named by a key."""
        if store >= 0 and (flt is NO_FILTER or (flt.include is None and not flt.has_catalog_part)):
            return Allowed(self._assortment.items_of(store), ("store", store))
        if store >= 0 and flt.include is None:
            key = ("store", store, flt.catalog_key)
            with self._lock:
                kept = self._store_cache.get(key)
            if kept is None:
                stocked = self._assortment.items_of(store)
                kept = stocked[self.catalog_mask(flt)[stocked]]
                kept.setflags(write=False)
                with self._lock:
                    self._store_cache[key] = kept
                    if len(self._store_cache) > self._cache_size:
                        self._store_cache.popitem(last=False)
            return Allowed(kept, key)
        ids: np.ndarray | None = None
        if store >= 0:
            ids = self._assortment.items_of(store)
        if flt.include is not None:
            inc = np.asarray(flt.include, dtype=np.int64)
            ids = inc if ids is None else np.intersect1d(ids, inc, assume_unique=True)
        if flt.has_catalog_part:
            mask = self.catalog_mask(flt)
            ids = np.flatnonzero(mask).astype(np.int64) if ids is None else ids[mask[ids]]
        return Allowed(ids)
