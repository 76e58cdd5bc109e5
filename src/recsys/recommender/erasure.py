"""Erase one member from a fitted state: id, rows, vectors, stores, visits, fallback counts.

:func:`forget_member` returns a new :class:`ShelfState` in which nothing of the member is
left: their id is replaced by a random placeholder (so internal ids stay contiguous), their
rows of the training matrices are dropped (not zeroed in place), the model forgets its
vectors and rows of them, the popularity fallback (overall, per store, per segment) is
counted again without them, and their visit, live rows and stores are gone. Saving the
state afterwards writes no byte of them. Item-level weights the model learned from every
member (item factors, item-item similarities) keep the member's share until retraining.
"""

from __future__ import annotations

import dataclasses
import secrets

import numpy as np

from recsys.data.matrices import without_rows
from recsys.models import PopularityModel
from recsys.recommender.audience import AudienceIndex
from recsys.recommender.state import ShelfState

__all__ = ["PLACEHOLDER_PREFIX", "forget_member"]

#: erased members' ids become this prefix and random hex
PLACEHOLDER_PREFIX = "erased-"


def forget_member(state: ShelfState, u: int) -> ShelfState:
    """The state without member ``u`` (internal id); ``state`` itself is left as it is,
    except for the member state and model, which forget ``u`` in place."""
    placeholder = PLACEHOLDER_PREFIX + secrets.token_hex(10)
    data, members = state.dataset, state.members
    rows = np.array([u], dtype=np.int64)
    if u < members.n_trained:
        m = data.matrices
        events = m.events
        if events is not None:
            events = events.subset(events.users != u)
        matrices = dataclasses.replace(
            m,
            confidence=without_rows(m.confidence, rows),
            purchased=without_rows(m.purchased, rows),
            user_features=without_rows(m.user_features, rows),
            user_stores=without_rows(m.user_stores, rows),
            events=events,
        )
        counts = data.history_counts.copy()
        if u < len(counts):
            counts[u] = 0
        data = dataclasses.replace(
            data,
            users=data.users.renamed(u, placeholder),
            matrices=matrices,
            history_counts=counts,
        )
        state.model.forget_users(rows)
    snapshot = {
        "confidence": data.matrices.confidence,
        "purchased": data.matrices.purchased,
        "user_features": data.matrices.user_features,
    }
    members.forget(u, placeholder, snapshot)
    state.sessions.forget(u)
    fallback = PopularityModel(by="auto").fit(data.matrices)
    if state.model.added_ is not None:
        fallback = fallback.with_items(state.model.added_)
    return dataclasses.replace(
        state,
        dataset=data,
        fallback=fallback,
        audiences=AudienceIndex(members),
        regulars=data.matrices.user_stores.tocsc(),
    )
