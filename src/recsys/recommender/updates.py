"""Validate real-time events and profiles and turn them into new member rows, before
anything changes.

:meth:`Recommender.update` is all-or-nothing: :func:`prepare_events` checks every event and
computes every affected member's new row, :func:`prepare_profiles` encodes every profile;
only then do :func:`apply_profiles` and :func:`apply_events` write them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.columns import Columns, EventKind
from recsys.data import RetailDataset
from recsys.data.events import EventColumns, events_frame, validate_events
from recsys.exceptions import InvalidInputError
from recsys.models import RecModel, VectorModel
from recsys.recommender.members import MemberState
from recsys.recommender.session import SessionLog

C = Columns
_PURCHASE = EventKind.ALL.index(EventKind.PURCHASE)


@dataclass(frozen=True, eq=False)
class PendingEvents:
    """Checked events with their rows computed, not in effect yet (see
    :meth:`Recommender.prepare_update`); ``events`` make them again from a newer state."""

    n_events: int
    base: Any  # the ShelfState they were prepared on
    base_version: int
    batch: EventBatch
    events: Any


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
    # every event, for the member's current visit: affected-member slot, SKU, weight, time
    event_slot: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    event_items: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    event_weights: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    event_seconds: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    event_stores: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # -1: none
    event_bought: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # purchases


def _events(events: Any) -> EventColumns:
    """The events checked against the one schema (frames: numeric id columns to text);
    :class:`EventColumns` are checked already."""
    if isinstance(events, EventColumns):
        return events
    if isinstance(events, pd.DataFrame):
        return validate_events(events_frame(events, "events"), frame="events")
    return validate_events(events)


@dataclass(frozen=True)
class ProfileBatch:
    """Encoded profiles and the members they belong to (``-1``: not known yet); ``given``
    is 1 at the feature columns of the fields each profile names (what it replaces)."""

    member_ids: list[str]
    users: np.ndarray
    rows: sp.csr_matrix
    given: sp.csr_matrix


def prepare_profiles(
    profiles: Mapping[str, Mapping[str, Any]] | None, *, data: RetailDataset, members: MemberState
) -> ProfileBatch:
    """Check and encode ``{member id: tags}`` (tags as in a request's ``profile``).

    Every field must be a tag or number the model knows (a misspelt or extra field is an
    error, not a silent loss); a value the model has not seen is kept out with a warning,
    and ``None`` clears the field. A profile names at least one field.
    """
    encoder = data.profile_encoder
    n_feat = data.matrices.user_features.shape[1]
    if profiles is None:
        profiles = {}
    if not isinstance(profiles, Mapping):
        raise InvalidInputError("profiles must be a dict of member id -> tags")
    known = sorted({*encoder.tag_columns, *encoder.numeric_columns})
    ids, rows, given = [], [], []
    for j, (member, tags) in enumerate(profiles.items()):
        if not isinstance(member, str) or not member:
            raise InvalidInputError("profiles must be keyed by member id strings")
        if not isinstance(tags, Mapping):
            raise InvalidInputError("each profile must be a dict of tag -> value")
        if not tags:
            raise InvalidInputError(f"profile {j} names no field (known: {known})")
        if unknown := encoder.unknown_fields(tags):  # not named: a client's field names
            raise InvalidInputError(
                f"profile {j} has {unknown} field(s) the model does not know (known: {known})"
            )
        ids.append(member)
        rows.append(encoder.transform_one({k: v for k, v in tags.items() if v is not None}))
        cols = encoder.columns_of(tags)
        given.append(
            sp.csr_matrix((np.ones(len(cols), np.float32), cols, [0, len(cols)]), shape=(1, n_feat))
        )
    users = np.array([members.index_of(m) for m in ids], dtype=np.int64)
    return ProfileBatch(ids, users, _stacked(rows, n_feat), _stacked(given, n_feat))


def _stacked(rows: list[sp.csr_matrix], width: int) -> sp.csr_matrix:
    """One CSR matrix of ``rows`` (0 rows of ``width`` columns when there are none)."""
    if not rows:
        return sp.csr_matrix((0, width), dtype=np.float32)
    return sp.csr_matrix(sp.vstack(rows, format="csr", dtype=np.float32))


def apply_profiles(batch: ProfileBatch, members: MemberState, model: RecModel) -> int:
    """Give members their profiles (registering those not known yet, with no history) and
    refold their vectors; returns the number of members registered. Callers hold the
    facade's write lock (writers one at a time); readers wait only for the writes."""
    if not batch.member_ids:
        return 0
    with members.lock:
        users = batch.users.copy()
        fresh = np.flatnonzero(users < 0)
        if len(fresh):
            new_ids = [batch.member_ids[j] for j in fresh.tolist()]
            users[fresh] = members.add_members(new_ids, batch.rows[fresh])
        history = members.history(users)
        # the fields a profile names replace the member's; the others stay as they were
        kept = members.features(users).multiply(1.0 - batch.given.toarray())
        rows = sp.csr_matrix(kept + batch.rows, dtype=np.float32)
    # folded in outside the members' lock, which every shelf takes to read a vector: the
    # facade's write lock keeps writers one at a time, so these rows stay current
    vectors = model.fold_in(history, rows) if isinstance(model, VectorModel) else None
    members.set_features(users, rows, vectors)
    return len(fresh)


def prepare_events(
    events: Any,
    *,
    data: RetailDataset,
    members: MemberState,
    live_boost: float,
) -> EventBatch:
    """Check events against the fitted data and compute the rows they produce."""
    cols = _events(events)
    event_stores = np.full(cols.n, -1, dtype=np.int64)
    if C.STORE in cols.ids:
        store_codes, store_ids = cols.ids[C.STORE]
        known = data.stores.to_index(store_ids)  # raises UnknownIdError naming the store
        given = store_codes >= 0
        event_stores[given] = known[store_codes[given]]
    item_codes, item_ids = cols.ids[C.ITEM]
    items = data.items.to_index(item_ids)[item_codes]
    # events since training weigh live_boost times their usual weight: what a member does
    # today says more about today's shelf than last year's history does; with a half-life
    # they also grow with their distance from the training cutoff, as if training's decay
    # ran on to the event (older replayed events decay)
    plain = data.weights._weigh(cols.kinds, cols.values, None, None)
    seconds = _seconds(cols.timestamps)
    weights = plain * data.weights.growth(seconds, data.cutoff) * np.float32(live_boost)
    codes, uniques = cols.ids[C.USER]
    internal = np.array([members.index_of(m) for m in uniques.tolist()], dtype=np.int64)
    new_mask = internal < 0
    new_slot = np.full(len(uniques), -1, dtype=np.int64)
    new_slot[new_mask] = np.arange(int(new_mask.sum()))
    new_members = [str(m) for m in uniques[new_mask]]
    new_features = sp.csr_matrix(
        (len(new_members), data.matrices.user_features.shape[1]), dtype=np.float32
    )
    delta = sp.csr_matrix(
        (weights, (codes, items)), shape=(len(uniques), len(data.items)), dtype=np.float32
    )
    delta.sum_duplicates()
    rows = sp.csr_matrix(members.history(internal) + delta, dtype=np.float32)
    is_purchase = cols.kinds == _PURCHASE
    bought = []
    for j, u in enumerate(internal.tolist()):
        new = items[is_purchase & (codes == j)]
        old = members.bought(u)
        bought.append(np.union1d(old, new).astype(np.int64) if len(new) else old)
    return EventBatch(
        n_events=cols.n,
        users=internal,
        new_slot=new_slot,
        new_members=new_members,
        new_features=new_features,
        rows=rows,
        bought=bought,
        event_slot=codes,
        event_items=items,
        event_weights=plain,
        event_seconds=seconds,
        event_stores=event_stores,
        event_bought=is_purchase,
    )


def _seconds(timestamps: np.ndarray) -> np.ndarray:
    """Epoch seconds of event times; an event without a time happened now."""
    out = timestamps.astype("datetime64[ms]").astype(np.int64) / 1000.0
    out[np.isnat(timestamps)] = time.time()
    return out


def apply_events(
    batch: EventBatch, members: MemberState, model: RecModel, sessions: SessionLog
) -> None:
    """Write a prepared batch into the member state (new members, rows, vectors) and the
    members' current visits. Callers hold the facade's write lock (writers one at a time);
    readers wait only for the writes, never for the fold-in."""
    with members.lock:
        users = batch.users.copy()
        if batch.new_members:
            new_ids = members.add_members(batch.new_members, batch.new_features)
            fresh = users < 0
            users[fresh] = new_ids[batch.new_slot[fresh]]
        features = members.features(users)
    # folded in outside the members' lock, which every shelf takes to read a vector (a
    # 10,000-event batch folds in for a third of a second): the facade's write lock keeps
    # writers one at a time, so the rows it folds stay current
    vectors = model.fold_in(batch.rows, features) if isinstance(model, VectorModel) else None
    with members.lock:
        members.set_rows(users, batch.rows, batch.bought, vectors)
        visited = batch.event_stores >= 0
        if visited.any():
            members.add_visits(users[batch.event_slot[visited]], batch.event_stores[visited])
    for j, u in enumerate(users.tolist()):
        mine = batch.event_slot == j
        sessions.record(
            u,
            batch.event_items[mine],
            batch.event_weights[mine],
            batch.event_seconds[mine],
            batch.event_bought[mine] if len(batch.event_bought) else None,
        )


__all__ = [
    "EventBatch",
    "PendingEvents",
    "ProfileBatch",
    "apply_events",
    "apply_profiles",
    "prepare_events",
    "prepare_profiles",
]
