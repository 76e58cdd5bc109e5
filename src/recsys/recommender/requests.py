"""One request's external arguments (ids, profile, filters, rules, time) in internal terms.

A :class:`Request` reads one :class:`~recsys.recommender.state.ShelfState` for the whole
request: the catalog may change while it runs (a new state is swapped in), and every id it
turned into an internal one belongs to the state it ranks with.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys.data.events import parse_timestamp
from recsys.exceptions import InvalidInputError, UnknownIdError
from recsys.recommender.filters import ShelfFilter, parse_filters
from recsys.recommender.ranking import Rows
from recsys.recommender.rules import CHAIN_DEFAULT, Rules, parse_rules
from recsys.recommender.state import ShelfState

__all__ = ["Request"]

SECONDS_PER_DAY = 86_400


class Request:
    """Parses a request's arguments against one state.

    Parameters
    ----------
    state : ShelfState
    on_unknown : {"fallback", "raise"}
        What an unknown member without a profile gets.
    rules, store_rules : dict, optional
        The recommender's chain rules (``None``: the chain default) and per-store rules.
    """

    def __init__(
        self,
        state: ShelfState,
        *,
        on_unknown: str = "fallback",
        rules: Mapping[str, Any] | None = None,
        store_rules: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.state = state
        self._on_unknown = on_unknown
        self._chain_rules = rules
        self._store_rules = store_rules

    def store(self, store_id: Any) -> int:
        """Internal store id, ``-1`` for ``None``."""
        if store_id is None:
            return -1
        if not isinstance(store_id, str):
            raise InvalidInputError(f"store_id must be a string, got {store_id!r}")
        return self.state.dataset.stores.index_of(store_id)

    def item(self, item_id: Any) -> int:
        if not isinstance(item_id, str):
            raise InvalidInputError(f"item_id must be a string, got {item_id!r}")
        return self.state.dataset.items.index_of(item_id)

    def profile_row(self, profile: Any) -> sp.csr_matrix:
        if not isinstance(profile, Mapping) or not all(isinstance(k, str) for k in profile):
            raise InvalidInputError(
                f"profile must be a dict of tag name -> value, got a {type(profile).__name__}"
            )
        return self.state.dataset.profile_encoder.transform_one(dict(profile))

    def member(self, member_id: Any, profile: Any) -> tuple[int, sp.csr_matrix | None, list[str]]:
        """(internal id or -1, profile row or None, readable tags) of a request's member.

        The profile row is ``None`` for a known member whose stored profile applies (the
        request gives none).
        """
        if member_id is None and profile is None:
            raise InvalidInputError("give a member_id, a profile, or both")
        if member_id is not None and not isinstance(member_id, str):
            raise InvalidInputError(f"member_id must be a string, got a {type(member_id).__name__}")
        members, encoder = self.state.members, self.state.dataset.profile_encoder
        if member_id is not None:
            u = members.index_of(member_id)
            if u >= 0 and not members.is_blank(u):
                if profile is not None:  # the request's tags are the newest
                    row = self.profile_row(profile)
                    return u, row, encoder.describe(row)
                return u, None, encoder.tags_of_columns(members.feature_columns(u))
        if profile is not None:
            row = self.profile_row(profile)
            return -1, row, encoder.describe(row)
        if self._on_unknown == "raise":
            raise UnknownIdError("member", [str(member_id)], known=len(members))
        return -1, None, []

    def filters(self, filters: Any) -> ShelfFilter:
        data = self.state.dataset
        return parse_filters(filters, data.catalog, data.items)

    def rules(
        self, store_id: str | None, rules: Any, flt: ShelfFilter | None = None, k: int = 0
    ) -> Rules:
        """The chain's rules, then the store's, then the request's, key by key.

        A shelf whose filter keeps only some categories can still be filled: the chain's or
        store's ``max_per_category`` rises to ``ceil(k / categories)`` for it (a request
        that sets its own cap keeps it).
        """
        data = self.state.dataset
        chain = CHAIN_DEFAULT if self._chain_rules is None else self._chain_rules
        out = parse_rules(chain, data.catalog, data.items)
        store_rules = self._store_rules
        if store_id is not None and store_rules and store_id in store_rules:
            out = parse_rules(store_rules[store_id], data.catalog, data.items, out)
        cap, wanted = out.max_per_category, flt.categories if flt is not None else None
        if cap is not None and wanted:
            out = replace(out, max_per_category=max(cap, -(-k // len(wanted))))
        return parse_rules(rules, data.catalog, data.items, out)


def day_of(seconds: float) -> int:
    """Days since 1970-01-01 (UTC) of epoch ``seconds``."""
    return int(seconds // SECONDS_PER_DAY)


def in_season(filters: Any, store_id: Any, at: Any) -> Any:
    """``filters`` with a store shelf's default: in season on the day of ``at``."""
    if store_id is None or (isinstance(filters, Mapping) and "in_season" in filters):
        return filters
    if filters is not None and not isinstance(filters, Mapping):
        return filters  # parse_filters names the mistake
    day = dt.datetime.fromtimestamp(epoch_seconds(at), tz=dt.timezone.utc).date()
    return {**(filters or {}), "in_season": day}


def epoch_seconds(at: Any) -> float:
    """``at`` (None: now; a datetime, ISO text or epoch seconds) in epoch seconds."""
    if at is None:
        return time.time()
    if isinstance(at, int | float) and not isinstance(at, bool):
        return float(at)
    try:
        return parse_timestamp(at).timestamp()
    except (TypeError, ValueError, OverflowError):
        raise InvalidInputError(
            f"at must be a datetime, ISO text or epoch seconds, got {at!r}"
        ) from None


def check_index(value: Any, n: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not -1 <= value < n:
        raise InvalidInputError(f"{name} must be an internal id in [-1, {n}), got {value!r}")
    return int(value)


def check_ids(values: Any, n: int, name: str, *, allow_unknown: bool) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise InvalidInputError(f"{name} must be a 1-d array of internal integer ids")
    ids = arr.astype(np.int64)
    low = -1 if allow_unknown else 0
    if ids.size and (ids.min() < low or ids.max() >= n):
        raise InvalidInputError(f"{name} must lie in [{low}, {n}), got {ids.min()}..{ids.max()}")
    return ids


def check_seeds(values: Any, n: int) -> np.ndarray:
    """Per-row dithering seeds: a 1-d integer array of length ``n`` (negative: none)."""
    arr = np.asarray(values)
    if arr.shape != (n,) or (arr.size and arr.dtype.kind not in "iu"):
        raise InvalidInputError(f"seeds must be a 1-d integer array of one seed per member ({n})")
    return arr.astype(np.int64)


def check_csr(matrix: Any, shape: tuple[int, int], name: str) -> sp.csr_matrix:
    if not sp.issparse(matrix):
        raise InvalidInputError(
            f"{name} must be a scipy sparse matrix, got {type(matrix).__name__}"
        )
    csr = sp.csr_matrix(matrix, dtype=np.float32)
    if csr.shape != shape:
        raise InvalidInputError(f"{name} must have shape {shape}, got {csr.shape}")
    return csr


def check_rows(matrix: Any, n: int, n_items: int) -> Rows:
    return Rows.from_csr(check_csr(matrix, (n, n_items), "filter_items"))


def merge_rows(a: Rows, b: Rows) -> Rows:
    """Row-wise union of two exclusion lists (duplicates are harmless)."""
    n = a.n_rows
    lists = [
        np.concatenate(
            [a.indices[a.indptr[i] : a.indptr[i + 1]], b.indices[b.indptr[i] : b.indptr[i + 1]]]
        )
        for i in range(n)
    ]
    return Rows.from_lists(lists)
