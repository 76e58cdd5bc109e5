"""The parts a :class:`~recsys.models.BlendModel` mixes: each scores every SKU for members.

Every part is fitted on :class:`~recsys.data.TrainingMatrices` and answers
``scores(users, history, features, store) -> (n, n_items)``; the blend scales each row to a
maximum of 1 before weighting, so parts of different units mix. Personal parts use the
member's history (item-item BM25 neighbours, EASE, ALS, next buys: what members who had
these SKUs went on to take up); priors need none (popularity
overall, recent popularity, recent take-up, in the member's stores, in the member's segment
of tags, and tags projected into the ALS space for members with no history). The priors
overall and in a segment count members, not events
(:func:`~recsys.models.popularity.members_matrix`).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys.data.matrices import TrainingMatrices, without_rows
from recsys.models._linalg import as_csr, prefixed, sparse_from_state, sparse_to_state, unprefixed
from recsys.models.ease import EASEModel
from recsys.models.implicit_models import ItemKNNModel
from recsys.models.next_buys import NextBuysModel
from recsys.models.popularity import members_matrix
from recsys.models.profile import ProfileModel

__all__ = ["PART_NAMES", "Parts", "row_max_scaled"]

_DAY = 86_400
_CACHE_SIZE = 256  # column subsets (store assortments) kept per part
_BATCH_ROWS = 16  # members from which a product with the cached columns beats the gather
#: every part a blend can weigh, in a stable order (state and reports use it)
PART_NAMES: tuple[str, ...] = (
    "knn",
    "ease",
    "als",
    "next",
    "profile",
    "popular",
    "recent",
    "adopted",
    "store",
    "segment",
)
#: parts that need the member's history: a member without any gets the others only
PERSONAL: frozenset[str] = frozenset({"knn", "ease", "als", "next"})


def _positions(cols: np.ndarray, n_items: int) -> np.ndarray:
    """Position of each SKU in ``cols`` (``-1`` where absent)."""
    where = np.full(n_items, -1, dtype=np.int64)
    where[cols] = np.arange(len(cols))
    return where


def _same_rows(trained: sp.csr_matrix, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
    """Whether row ``j`` of ``rows`` is, entry for entry, row ``users[j]`` of ``trained``."""
    same = np.zeros(len(users), dtype=bool)
    j = np.flatnonzero((users >= 0) & (users < trained.shape[0]))
    a, c = trained.indptr[users[j]], rows.indptr[j]
    lens = trained.indptr[users[j] + 1] - a
    fits = lens == np.diff(rows.indptr)[j]
    j, a, c, lens = j[fits], a[fits], c[fits], lens[fits]
    if len(j) == 1:  # one shelf: its two slices
        (a0,), (c0,), (n0,) = a.tolist(), c.tolist(), lens.tolist()
        same[j] = np.array_equal(
            trained.indices[a0 : a0 + n0], rows.indices[c0 : c0 + n0]
        ) and np.array_equal(trained.data[a0 : a0 + n0], rows.data[c0 : c0 + n0])
        return same
    # every candidate row's entries side by side, compared at once
    seg = np.repeat(np.arange(len(j)), lens)
    within = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
    at, other = np.repeat(a, lens) + within, np.repeat(c, lens) + within
    differ = (trained.indices[at] != rows.indices[other]) | (trained.data[at] != rows.data[other])
    same[j] = np.bincount(seg[differ], minlength=len(j)) == 0
    return same


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


def adoptions(matrices: TrainingMatrices, half_life_days: float) -> np.ndarray:
    """Members who took up each SKU, each decayed by the age of their first event with it.

    What is being taken up now: a new line, the season's turn. Without event times, the
    members who ever took each SKU up.
    """
    events = matrices.events
    if events is None or not events.has_times or not len(events):
        return np.asarray(members_matrix(matrices).sum(axis=0), dtype=np.float64).ravel()
    positive = events.weights > 0
    pair = events.users[positive].astype(np.int64) * matrices.n_items + events.items[positive]
    seconds = events.seconds[positive]
    order = np.lexsort((seconds, pair))
    first = order[np.r_[True, pair[order][1:] != pair[order][:-1]]] if len(order) else order
    age = (events.seconds.max() - seconds[first]) / (_DAY * half_life_days)
    items = events.items[positive][first]
    return np.bincount(items, weights=np.exp2(-age), minlength=matrices.n_items)


class Parts:
    """The fitted parts of a blend, with the variants (neighbours, λ, half-life) chosen.

    Parameters
    ----------
    knn_k, ease_lambda, half_life_days, adoption_half_life_days, als_regularization : \
int, float, float, float, float
        The variants: BM25 neighbours kept per SKU, EASE's λ, the half-lives of recent
        popularity and of recent take-up, the λ of ALS (whose alpha is implicit's default, 1).
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
        adoption_half_life_days: float,
        als_regularization: float,
        factors: int,
        seed: int | None,
        max_ease_items: int,
        num_threads: int,
        needed: frozenset[str] = frozenset(PART_NAMES),
    ) -> None:
        self.knn = ItemKNNModel(K=knn_k, similarity="bm25", num_threads=num_threads)
        self.ease = EASEModel(
            regularization=ease_lambda, max_items=max_ease_items, num_threads=num_threads
        )
        self.next = NextBuysModel(max_items=min(3_000, max_ease_items), num_threads=num_threads)
        # implicit's own confidence scaling (alpha 1): the ALS that validation favours on
        # retail logs, where recsys' alpha 10 over-weights the confidence of repeat buys
        self.profile = ProfileModel(
            factors=factors,
            regularization=als_regularization,
            alpha=1.0,
            seed=seed,
            num_threads=num_threads,
        )
        self.half_life_days = half_life_days
        self.adoption_half_life_days = adoption_half_life_days
        self.needed = needed

    # ------------------------------------------------------------------ fit
    def fit(self, m: TrainingMatrices) -> Parts:
        if "knn" in self.needed:
            self.knn.fit(m)
        if "ease" in self.needed:
            self.ease.fit(m)
        if "next" in self.needed:
            self.next.fit(m)
        if self.needed & {"als", "profile"}:
            self.profile.fit(m)
        # priors count members, not events: the share of members who buy a SKU is what a
        # member's chance to buy it follows (a staple rebought weekly is one member)
        buyers = members_matrix(m)
        self.popular = row_max_scaled(np.asarray(buyers.sum(axis=0)))[0]
        self.recent = row_max_scaled(recent_popularity(m, self.half_life_days)[None, :])[0]
        taken = adoptions(m, self.adoption_half_life_days)
        self.adopted = row_max_scaled(taken[None, :])[0]
        stores = sp.csr_matrix(m.store_items, dtype=np.float32)
        peak = stores.max(axis=1).toarray().ravel() if stores.shape[0] else np.zeros(0)
        inv = np.divide(1.0, peak, out=np.zeros_like(peak, dtype=np.float64), where=peak > 0)
        self.store_items = sp.csr_matrix(sp.diags(inv.astype(np.float32)) @ stores)
        self.user_stores = sp.csr_matrix(m.user_stores, dtype=np.float32)
        self.train_rows = sp.csr_matrix(m.confidence, dtype=np.float32)
        feats = sp.csr_matrix(m.user_features, dtype=np.float32).maximum(0)
        seg = np.asarray((feats.T @ buyers).toarray(), dtype=np.float32)
        total = seg.sum(axis=1, keepdims=True)
        np.divide(seg, total, out=seg, where=total > 0)
        self.segment = seg
        self._index()
        return self

    # ------------------------------------------------------------------ scores
    def _index(self) -> None:
        """Lookups for scoring a few SKUs (a store's) without touching the rest."""
        n_items = len(self.popular)
        self._dense_pos: dict[str, np.ndarray] = {}
        for name in ("ease", "next"):
            model = getattr(self, name)
            self._dense_pos[name] = pos = np.full(n_items, -1, dtype=np.int64)
            if getattr(model, "is_fitted_", False):
                pos[model.items_] = np.arange(len(model.items_))
        self._cache: dict[tuple[str, int, bytes], np.ndarray] = {}
        self._cache_lock = threading.Lock()
        self._knn_columns: sp.csc_matrix | None = None  # the similarity by column, once

    def _cached(self, kind: str, store: int, cols: np.ndarray, make: Any) -> np.ndarray:
        """A per-(kind, store, columns) array, built once (a store shelf asks again and again)."""
        key = (kind, store, cols.tobytes() if len(cols) < len(self.popular) else b"all")
        value = self._cache.get(key)
        if value is None:
            value = make()
            with self._cache_lock:
                if len(self._cache) >= _CACHE_SIZE:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[key] = value
        return value

    def scores(
        self,
        part: str,
        users: np.ndarray,
        history: sp.csr_matrix,
        features: sp.csr_matrix,
        store: int,
        items: np.ndarray | None = None,
    ) -> np.ndarray:
        """Raw scores (n, n_items or len(items)) of one part; rows it knows nothing of are 0."""
        n = history.shape[0]
        cols = np.arange(len(self.popular)) if items is None else items
        if part == "knn":
            return self._knn_scores(history, cols, items is None)
        if part in ("ease", "next"):
            return self._dense_scores(part, history, cols)
        if part == "als":
            als = self.profile.als_
            factors = self._cached("als", -1, cols, lambda: als.item_factors_[cols].T.copy())
            return self._member_vectors(users, history) @ factors
        if part == "profile":
            empty = sp.csr_matrix(history.shape, dtype=np.float32)
            vectors = self.profile.fold_in(empty, features)
            factors = self.profile.item_factors_
            return vectors @ self._cached("profile", -1, cols, lambda: factors[cols].T.copy())
        if part in ("popular", "recent", "adopted"):
            prior = getattr(self, part)
            return np.broadcast_to(prior[cols], (n, len(cols))).copy()
        if part == "store":
            return self._store_scores(users, store, n, cols)
        if part == "segment":
            seg = self._cached("segment", -1, cols, lambda: self.segment[:, cols].copy())
            f = sp.csr_matrix(features)
            f.data = np.maximum(f.data, 0)
            return np.asarray(f @ seg, dtype=np.float32)
        raise KeyError(part)

    def _member_vectors(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """ALS vectors: the trained ones where a member's history is still the trained row,
        implicit's fold-in for the others (live events, new members)."""
        als = self.profile.als_
        rows = self.train_rows
        out = np.empty((len(users), als.item_factors_.shape[1]), dtype=np.float32)
        h = as_csr(history)
        same = _same_rows(rows, users, h)
        out[same] = als.user_factors_[users[same]]
        if not same.all():
            out[~same] = als.fold_in(h[~same])
        return out

    def _knn_scores(self, history: sp.csr_matrix, cols: np.ndarray, every: bool) -> np.ndarray:
        """``history @ S`` at ``cols``: the neighbour rows of the member's SKUs, summed."""
        sim = self.knn.similarity_
        if every:
            return np.asarray((history @ sim).toarray(), dtype=np.float32)
        if history.shape[0] >= _BATCH_ROWS:  # a batch: one product with the columns kept
            if self._knn_columns is None:
                self._knn_columns = sp.csc_matrix(sim)
            by_column = self._knn_columns
            sub = self._cached("knn", -1, cols, lambda: sp.csr_matrix(by_column[:, cols]))
            return np.asarray((as_csr(history) @ sub).toarray(), dtype=np.float32)
        where = self._cached("positions", -1, cols, lambda: _positions(cols, sim.shape[1]))
        h = as_csr(history)
        starts = sim.indptr[h.indices].astype(np.int64)
        lens = sim.indptr[h.indices + 1].astype(np.int64) - starts
        total = int(lens.sum())
        out = np.zeros((h.shape[0], len(cols)), dtype=np.float32)
        if not total:
            return out
        # the neighbour lists of every history entry, laid end to end, without SciPy
        offsets = np.cumsum(lens) - lens
        at = np.repeat(starts - offsets, lens) + np.arange(total)
        pos = where[sim.indices[at]]
        hit = pos >= 0
        weight = np.repeat(h.data, lens)[hit] * sim.data[at][hit]
        row = np.repeat(np.repeat(np.arange(h.shape[0]), np.diff(h.indptr)), lens)[hit]
        flat = np.bincount(row * len(cols) + pos[hit], weights=weight, minlength=out.size)
        return flat.reshape(out.shape).astype(np.float32)

    def _dense_scores(self, part: str, history: sp.csr_matrix, cols: np.ndarray) -> np.ndarray:
        """``history @ B`` at ``cols`` of a dense item-item part (EASE, next buys), reading
        only the rows of B the histories touch."""
        model = self.ease if part == "ease" else self.next
        position = self._dense_pos[part]
        out = np.zeros((history.shape[0], len(cols)), dtype=np.float32)
        h = model.read(as_csr(history))
        rows = position[h.indices]
        keep = rows >= 0
        where = position[cols]
        scored = where >= 0
        if not keep.any() or not scored.any():
            return out
        if h.shape[0] == 1:  # one member: a weighted sum of the rows of B it touches
            block = model.weights_[np.ix_(rows[keep], where[scored])]
            out[0, scored] = h.data[keep] @ block
            return out
        touched, local = np.unique(rows[keep], return_inverse=True)
        row_of = np.repeat(np.arange(h.shape[0]), np.diff(h.indptr))[keep]
        small = sp.csr_matrix(
            (h.data[keep], (row_of, local)), shape=(h.shape[0], len(touched)), dtype=np.float32
        )
        out[:, scored] = small @ model.weights_[np.ix_(touched, where[scored])]
        return out

    def _store_scores(self, users: np.ndarray, store: int, n: int, cols: np.ndarray) -> np.ndarray:
        """Popularity in the shelf's store, or in the stores each member shops in."""
        if store >= 0:
            row = self._cached(
                "store", store, cols, lambda: self.store_items[store].toarray()[0][cols]
            )
            return np.broadcast_to(row, (n, len(cols))).copy()
        known = (users >= 0) & (users < self.user_stores.shape[0])
        mix = sp.csr_matrix((n, self.user_stores.shape[1]), dtype=np.float32)
        if known.any():
            rows = sp.csr_matrix(self.user_stores[np.where(known, users, 0)])
            mix = sp.csr_matrix(sp.diags(known.astype(np.float32)) @ rows)
        totals = np.asarray(mix.sum(axis=1)).ravel()
        inv = np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)
        per_store = self._cached(
            "stores", -1, cols, lambda: sp.csc_matrix(self.store_items)[:, cols].tocsr()
        )
        return np.asarray((sp.diags(inv) @ mix @ per_store).toarray(), dtype=np.float32)

    def forget_users(self, users: np.ndarray) -> None:
        """Empty these members' training rows and stores; their vectors go with the parts."""
        self.user_stores = without_rows(self.user_stores, users)
        self.train_rows = without_rows(self.train_rows, users)
        for model in (self.knn, self.ease, self.next, self.profile):
            if getattr(model, "is_fitted_", False):
                model.forget_users(users)
        with self._cache_lock:
            self._cache.clear()
            self._knn_columns = None

    # ------------------------------------------------------------------ state
    def get_state(self) -> dict[str, np.ndarray]:
        state: dict[str, np.ndarray] = {
            "popular": self.popular,
            "recent": self.recent,
            "adopted": self.adopted,
            "segment": self.segment,
            **sparse_to_state("store_items", self.store_items),
            **sparse_to_state("user_stores", self.user_stores),
            **sparse_to_state("train_rows", self.train_rows),
        }
        models = {"knn": self.knn, "ease": self.ease, "next": self.next, "profile": self.profile}
        for name, model in models.items():
            if getattr(model, "is_fitted_", False):
                state.update(prefixed(name, model.get_state()))
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self.popular = np.asarray(state["popular"], dtype=np.float32)
        self.recent = np.asarray(state["recent"], dtype=np.float32)
        self.adopted = np.asarray(state["adopted"], dtype=np.float32)
        self.segment = np.asarray(state["segment"], dtype=np.float32)
        self.store_items = sparse_from_state("store_items", state).astype(np.float32)
        self.user_stores = sparse_from_state("user_stores", state).astype(np.float32)
        self.train_rows = sparse_from_state("train_rows", state).astype(np.float32)
        models: dict[str, Any] = {
            "knn": self.knn,
            "ease": self.ease,
            "next": self.next,
            "profile": self.profile,
        }
        for name, model in models.items():
            inner = unprefixed(name, state)
            if inner:
                setattr(self, name, type(model).from_state(model.get_params(), inner))
        self._index()
