"""One member's scores of given SKUs, and the handoff from a profile to a history.

A member known by tags alone (a QR-code sign-up) gets the profile's shelf; each SKU they
then interact with moves the shelf towards their history. While the history holds ``n``
SKUs, the shelf scores ``w * profile + (1 - w) * history`` with
``w = handoff / (handoff + n)``, both scaled to [0, 1] over the candidates: no jump from
one list to the other at the first event.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recsys.models import VectorModel
from recsys.recommender.state import ShelfState

__all__ = ["MIN_SHARE", "RowScorer", "handoff_share", "score_items"]

#: below this share the profile no longer moves a shelf, and is left out
MIN_SHARE = 0.05


def score_items(
    state: ShelfState,
    user: int,
    items: np.ndarray,
    store: int,
    profile: sp.csr_matrix | None,
) -> np.ndarray:
    """One member's model scores of ``items`` (the fallback's for a member nothing is
    known about, or whose tags the model cannot read)."""
    model, members = state.model, state.members
    users = np.array([user], dtype=np.int64)
    if user < 0 and (profile is None or not profile.nnz or not model.uses_profiles):
        empty = sp.csr_matrix((1, state.fallback.n_items_), dtype=np.float32)
        return state.fallback.score(np.array([-1]), empty, profile, store, items=items)[0]
    if isinstance(model, VectorModel):
        if user >= 0:
            vector = members.vectors(users)[0]
        else:
            empty = sp.csr_matrix((1, model.n_items_), dtype=np.float32)
            vector = model.fold_in(empty, profile)[0]
        return np.asarray(model.item_vectors[items] @ vector, dtype=np.float32)
    features = members.features(users) if profile is None or not profile.nnz else profile
    known = np.where(users < model.n_users_, users, -1)
    return model.score(known, members.history(users), features, store, items=items)[0]


def handoff_share(
    state: ShelfState, user: int, profile: sp.csr_matrix | None, handoff: float
) -> tuple[sp.csr_matrix | None, float]:
    """(profile row, its share of the score) for a known member whose history is thin.

    The profile is the request's, or else the stored one of a member first seen after
    training (a trained member's history already taught the model). ``(None, 0.0)`` when
    there is none or its share would be under :data:`MIN_SHARE`.
    """
    if user < 0 or handoff <= 0:
        return None, 0.0
    row = profile if profile is not None and profile.nnz else None
    if row is None and user >= state.members.n_trained:
        stored = state.members.features(np.array([user], dtype=np.int64))
        row = stored if stored.nnz else None
    if row is None:
        return None, 0.0
    share = handoff / (handoff + len(state.members.history_items(user)))
    return (row, share) if share >= MIN_SHARE else (None, 0.0)


@dataclass(frozen=True)
class RowScorer:
    """Scores of SKUs for one member: the model's, blended with the profile's while the
    member's history is thin (``share > 0``)."""

    state: ShelfState
    user: int
    store: int
    profile: sp.csr_matrix | None  # the request's profile row, for the model
    cold: sp.csr_matrix | None = None  # the profile the handoff blends in
    share: float = 0.0

    def __call__(self, items: np.ndarray) -> np.ndarray:
        warm = score_items(self.state, self.user, items, self.store, self.profile)
        if self.cold is None or not self.share:
            return warm
        cold = score_items(self.state, -1, items, self.store, self.cold)
        return ((1.0 - self.share) * _scaled(warm) + self.share * _scaled(cold)).astype(np.float32)


def _scaled(scores: np.ndarray) -> np.ndarray:
    """Finite scores min-max scaled to [0, 1] (all equal: 0); ``-inf`` stays."""
    finite = np.isfinite(scores)
    if not finite.any():
        return scores
    low, high = float(scores[finite].min()), float(scores[finite].max())
    out = np.where(finite, scores - low, scores)
    return out / (high - low) if high > low else np.where(finite, 0.0, scores)
