"""The parts a :class:`~recsys.models.BlendModel` mixes: each scores every SKU for members.

Every part is fitted on :class:`~recsys.data.TrainingMatrices` and answers
``scores(users, history, features, store) -> (n, n_items)``; the blend scales each row to a
maximum of 1 before weighting, so parts of different units mix. Personal parts use the
member's history (item-item BM25 neighbours, EASE, ALS); priors need none (popularity
overall, recent popularity, in the member's stores, in the member's segment of tags, and
tags projected into the ALS space for members with no history).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys.data.matrices import TrainingMatrices
from recsys.models._linalg import prefixed, sparse_from_state, sparse_to_state, unprefixed
from recsys.models.ease import EASEModel
from recsys.models.implicit_models import ItemKNNModel
from recsys.models.profile import ProfileModel

__all__ = ["PART_NAMES", "Parts", "row_max_scaled"]

_DAY = 86_400
#: every part a blend can weigh, in a stable order (state and reports use it)
PART_NAMES: tuple[str, ...] = (
    "knn",
    "ease",
    "als",
    "profile",
    "popular",
    "recent",
    "store",
    "segment",
)
#: parts that need the member's history: a member without any gets the others only
PERSONAL: frozenset[str] = frozenset({"knn", "ease", "als"})


def row_max_scaled(scores: np.ndarray) -> np.ndarray:
    """Each row divided by its largest absolute value (rows of zeros stay zero), float32."""
    out = np.asarray(scores, dtype=np.float32)
    peak = np.abs(out).max(axis=1, keepdims=True) if out.shape[1] else None
    if peak is not None:
        np.divide(out, peak, out=out, where=peak > 0)
    return out


def recent_popularity(matrices: TrainingMatrices, half_life_days: float) -> np.ndarray:
    """Confidence per SKU with each event decayed by its age before the latest event."""
    events = matrices.events
    if events is None or not events.has_times or not len(events):
        return np.asarray(matrices.confidence.sum(axis=0), dtype=np.float64).ravel()
    age = (events.seconds.max() - events.seconds) / (_DAY * half_life_days)
    weights = events.weights * np.exp2(-age)
    return np.bincount(events.items, weights=weights, minlength=matrices.n_items)


class Parts:
    """The fitted parts of a blend, with the variants (neighbours, λ, half-life) chosen.

    Parameters
    ----------
    knn_k, ease_lambda, half_life_days : int, float, float
        The variants: BM25 neighbours kept per SKU, EASE's λ, the half-life of recency.
    factors, seed, max_ease_items, num_threads : int
        Of the ALS (inside the profile part) and of EASE.
    needed : set of str
        The parts to fit (the others stay unfitted and score nothing).
    """

    def __init__(
        self,
        *,
        knn_k: int,
        ease_lambda: float,
        half_life_days: float,
        factors: int,
        seed: int | None,
        max_ease_items: int,
        num_threads: int,
        needed: frozenset[str] = frozenset(PART_NAMES),
    ) -> None:
        self.knn = ItemKNNModel(K=knn_k, similarity="bm25", num_threads=num_threads)
        self.ease = EASEModel(regularization=ease_lambda, max_items=max_ease_items)
        self.profile = ProfileModel(factors=factors, seed=seed, num_threads=num_threads)
        self.half_life_days = half_life_days
        self.needed = needed

    # ------------------------------------------------------------------ fit
    def fit(self, m: TrainingMatrices) -> Parts:
        if "knn" in self.needed:
            self.knn.fit(m)
        if "ease" in self.needed:
            self.ease.fit(m)
        if self.needed & {"als", "profile"}:
            self.profile.fit(m)
        conf = sp.csr_matrix(m.confidence)
        self.popular = row_max_scaled(np.asarray(conf.sum(axis=0)))[0]
        self.recent = row_max_scaled(recent_popularity(m, self.half_life_days)[None, :])[0]
        stores = sp.csr_matrix(m.store_items, dtype=np.float32)
        peak = stores.max(axis=1).toarray().ravel() if stores.shape[0] else np.zeros(0)
        inv = np.divide(1.0, peak, out=np.zeros_like(peak, dtype=np.float64), where=peak > 0)
        self.store_items = sp.csr_matrix(sp.diags(inv.astype(np.float32)) @ stores)
        self.user_stores = sp.csr_matrix(m.user_stores, dtype=np.float32)
        feats = sp.csr_matrix(m.user_features, dtype=np.float32).maximum(0)
        seg = np.asarray((feats.T @ conf).toarray(), dtype=np.float32)
        total = seg.sum(axis=1, keepdims=True)
        np.divide(seg, total, out=seg, where=total > 0)
        self.segment = seg
        return self

    # ------------------------------------------------------------------ scores
    def scores(
        self,
        part: str,
        users: np.ndarray,
        history: sp.csr_matrix,
        features: sp.csr_matrix,
        store: int,
    ) -> np.ndarray:
        """Raw scores (n, n_items) of one part; rows of members it knows nothing about are 0."""
        n = history.shape[0]
        n_items = len(self.popular)
        if part == "knn":
            return np.asarray((history @ self.knn.similarity_).toarray(), dtype=np.float32)
        if part == "ease":
            return self.ease.score(np.full(n, -1), history)
        if part == "als":
            als = self.profile.als_
            return als.fold_in(history) @ als.item_factors_.T
        if part == "profile":
            empty = sp.csr_matrix((n, n_items), dtype=np.float32)
            return self.profile.fold_in(empty, features) @ self.profile.item_factors_.T
        if part == "popular":
            return np.broadcast_to(self.popular, (n, n_items)).copy()
        if part == "recent":
            return np.broadcast_to(self.recent, (n, n_items)).copy()
        if part == "store":
            return self._store_scores(users, store, n)
        if part == "segment":
            return np.asarray(features.maximum(0) @ self.segment, dtype=np.float32)
        raise KeyError(part)

    def _store_scores(self, users: np.ndarray, store: int, n: int) -> np.ndarray:
        """Popularity in the shelf's store, or in the stores each member shops in."""
        if store >= 0:
            return np.repeat(self.store_items[store].toarray(), n, axis=0)
        known = (users >= 0) & (users < self.user_stores.shape[0])
        mix = sp.csr_matrix((n, self.user_stores.shape[1]), dtype=np.float32)
        if known.any():
            rows = sp.csr_matrix(self.user_stores[np.where(known, users, 0)])
            mix = sp.csr_matrix(sp.diags(known.astype(np.float32)) @ rows)
        totals = np.asarray(mix.sum(axis=1)).ravel()
        inv = np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)
        return np.asarray((sp.diags(inv) @ mix @ self.store_items).toarray(), dtype=np.float32)

    # ------------------------------------------------------------------ state
    def get_state(self) -> dict[str, np.ndarray]:
        state: dict[str, np.ndarray] = {
            "popular": self.popular,
            "recent": self.recent,
            "segment": self.segment,
            **sparse_to_state("store_items", self.store_items),
            **sparse_to_state("user_stores", self.user_stores),
        }
        for name, model in (("knn", self.knn), ("ease", self.ease), ("profile", self.profile)):
            if getattr(model, "is_fitted_", False):
                state.update(prefixed(name, model.get_state()))
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self.popular = np.asarray(state["popular"], dtype=np.float32)
        self.recent = np.asarray(state["recent"], dtype=np.float32)
        self.segment = np.asarray(state["segment"], dtype=np.float32)
        self.store_items = sparse_from_state("store_items", state).astype(np.float32)
        self.user_stores = sparse_from_state("user_stores", state).astype(np.float32)
        models: dict[str, Any] = {"knn": self.knn, "ease": self.ease, "profile": self.profile}
        for name, model in models.items():
            inner = unprefixed(name, state)
            if inner:
                setattr(self, name, type(model).from_state(model.get_params(), inner))
