"""Validate real-time events and turn them into new history rows, before anything changes.

:meth:`Recommender.update` is all-or-nothing: :func:`prepare_events` checks every event and
computes every affected member's new row; only then does :func:`apply_events` write them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.columns import Columns, EventKind
from recsys.data import RetailDataset
from recsys.exceptions import InvalidInputError
from recsys.models import RecModel, VectorModel
from recsys.recommender.members import MemberState

C = Columns


@dataclass(frozen=True)
class EventBatch:
    """Validated events and the state they lead to, for the members they touch."""

    n_events: int
    users: np.ndarray  # internal id per affected member, -1 for a member first seen here
    new_slot: np.ndarray  # index into new_members where users == -1, else -1
    new_members: list[str]
    new_features: sp.csr_matrix
    rows: sp.csr_matrix  # full new history row per affected member
    bought: list[np.ndarray]  # full sorted purchases per affected member


def _columns(events: Any) -> tuple[int, dict[str, np.ndarray]]:
    """Events as object columns: the count and a dict of field -> array (missing = None).

    Plain arrays rather than a DataFrame: a till sends one event at a time, and building a
    DataFrame would cost more than the fold-in itself.
    """
    if isinstance(events, pd.DataFrame):
        n = len(events)
        cols = {str(c): events[c].to_numpy(dtype=object) for c in events.columns}
    elif isinstance(events, list | tuple) and all(isinstance(e, Mapping) for e in events):
        n = len(events)
        names = list(dict.fromkeys(str(k) for e in events for k in e))
        cols = {}
        for name in names:
            column = np.empty(n, dtype=object)
            column[:] = [e.get(name) for e in events]
            cols[name] = column
    else:
        raise InvalidInputError("events must be a list of dicts or a DataFrame")
    if n == 0:
        raise InvalidInputError("no events given")
    missing = [c for c in C.INTERACTIONS_REQUIRED if c not in cols]
    if missing:
        raise InvalidInputError(f"events miss required field(s) {missing}")
    return n, cols


def _strings(cols: dict[str, np.ndarray], column: str, required: bool) -> np.ndarray:
    values = cols[column]
    bad = [
        i
        for i, v in enumerate(values)
        if not (isinstance(v, str) and v) and (required or (v is not None and v == v))
    ]
    if bad:
        raise InvalidInputError(
            f"event {bad[0]}: {column!r} must be a non-empty string, got {values[bad[0]]!r}"
            + (f" ({len(bad)} bad events)" if len(bad) > 1 else "")
        )
    return values


def prepare_events(
    events: Any,
    profiles: Mapping[str, Mapping[str, Any]] | None,
    *,
    data: RetailDataset,
    members: MemberState,
    live_boost: float,
) -> EventBatch:
    """Check events against the fitted data and compute the rows they produce."""
    n_events, cols = _columns(events)
    users = _strings(cols, C.USER, True)
    item_ids = _strings(cols, C.ITEM, True)
    kinds = _strings(cols, C.KIND, True)
    bad_kind = ~np.isin(kinds, EventKind.ALL)
    if bad_kind.any():
        i = int(np.flatnonzero(bad_kind)[0])
        raise InvalidInputError(
            f"event {i}: unknown kind {kinds[i]!r}; valid kinds: {list(EventKind.ALL)}"
        )
    if C.VALUE in cols:
        raw = cols[C.VALUE].copy()
        for i, v in enumerate(raw):
            if v is None or (isinstance(v, float) and np.isnan(v)):
                raw[i] = 1.0
            elif isinstance(v, bool) or not isinstance(v, int | float | np.number):
                raise InvalidInputError(f"event {i}: 'value' must be a number, got {v!r}")
        values = raw.astype(np.float64)
        if not np.isfinite(values).all() or (values < 0).any():
            i = int(np.flatnonzero(~np.isfinite(values) | (values < 0))[0])
            raise InvalidInputError(
                f"event {i}: 'value' must be a finite number >= 0, got {values[i]!r}"
            )
    else:
        values = np.ones(n_events)
    if C.STORE in cols:
        stores = _strings(cols, C.STORE, False)
        given = [s for s in stores if isinstance(s, str)]
        if given:
            data.stores.to_index(given)  # raises UnknownIdError naming the store
    if C.TIMESTAMP in cols:
        try:
            pd.to_datetime(pd.Series(cols[C.TIMESTAMP]), errors="raise", format="mixed")
        except (ValueError, TypeError) as exc:
            raise InvalidInputError(f"bad event timestamp: {exc}") from exc
    items = data.items.to_index(list(item_ids))
    # events since training weigh live_boost times their usual weight: what a member does
    # today says more about today's shelf than last year's history does
    weights = np.asarray(data.weights.weights(kinds, values), dtype=np.float32) * np.float32(
        live_boost
    )

    codes, uniques = pd.factorize(pd.Series(users, dtype=object))
    internal = np.array([members.index_of(m) for m in uniques], dtype=np.int64)
    new_slot = np.full(len(uniques), -1, dtype=np.int64)
    new_mask = internal < 0
    new_slot[new_mask] = np.arange(int(new_mask.sum()))
    new_members = [str(m) for m in np.asarray(uniques, dtype=object)[new_mask]]
    profiles = profiles or {}
    if not isinstance(profiles, Mapping):
        raise InvalidInputError("profiles must be a dict of member id -> tags")
    encoder = data.profile_encoder
    n_feat = data.matrices.user_features.shape[1]
    feature_rows = [
        encoder.transform_one(dict(profiles[m]))
        if m in profiles
        else sp.csr_matrix((1, n_feat), dtype=np.float32)
        for m in new_members
    ]
    new_features = (
        sp.vstack(feature_rows, format="csr", dtype=np.float32)
        if feature_rows
        else sp.csr_matrix((0, n_feat), dtype=np.float32)
    )
    n_items = len(data.items)
    delta = sp.csr_matrix(
        (weights, (codes, items)), shape=(len(uniques), n_items), dtype=np.float32
    )
    delta.sum_duplicates()
    rows = (members.history(internal) + delta).tocsr().astype(np.float32)
    is_purchase = kinds == EventKind.PURCHASE
    bought = []
    for j, u in enumerate(internal.tolist()):
        new = items[is_purchase & (codes == j)]
        old = members.bought(u)
        bought.append(np.union1d(old, new).astype(np.int64) if len(new) else old)
    return EventBatch(
        n_events=n_events,
        users=internal,
        new_slot=new_slot,
        new_members=new_members,
        new_features=new_features,
        rows=rows,
        bought=bought,
    )


def apply_events(batch: EventBatch, members: MemberState, model: RecModel) -> None:
    """Write a prepared batch into the member state (new members, rows, vectors), locked."""
    with members.lock:
        users = batch.users.copy()
        if batch.new_members:
            new_ids = members.add_members(batch.new_members, batch.new_features)
            fresh = users < 0
            users[fresh] = new_ids[batch.new_slot[fresh]]
        vectors = None
        if isinstance(model, VectorModel):
            vectors = model.fold_in(batch.rows, members.features(users))
        members.set_rows(users, batch.rows, batch.bought, vectors)


__all__ = ["EventBatch", "apply_events", "prepare_events"]
