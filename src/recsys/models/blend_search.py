"""Learning a blend's weights on a validation slice: NDCG@10 up, personalization kept.

The slice is the latest part of the training events (:func:`split_by_time`); the parts are
fitted on the earlier part and score the members who buy something new in the slice. To keep
a search over many weightings cheap, each member's candidates are the union of every part's
top :data:`CANDIDATES` SKUs; a weighting's shelf is its best ten among them.
:func:`coordinate_ascent` then tries each weight on a small grid in turn, keeping a change only
when NDCG@10 rises and the shelves stay at least ``min_personalization`` apart
(personalization = 1 - mean overlap of two members' shelves), softly: see :data:`PENALTY`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recsys.data.matrices import ModelEvents
from recsys.models.dither import DITHER_POOL, dither

__all__ = [
    "CANDIDATES",
    "DISCOUNT",
    "DITHER_GRID",
    "GRID",
    "NEGATIVE_GRID",
    "PENALTY",
    "SHELF_K",
    "Validation",
    "choose_dither",
    "coordinate_ascent",
    "dithered_weights",
    "penalized",
    "split_by_time",
]

#: SKUs per part and member that enter the candidate pool of the search
CANDIDATES = 50
#: weights tried for each part
GRID: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0)
#: weights also tried for the parts a search may subtract (``signed``): a prior weighed
#: below 0 says "popular, yet this member has not bought it: likely not for them"
NEGATIVE_GRID: tuple[float, ...] = (-0.1, -0.2, -0.35, -0.5, -1.0)
#: shelf length the search and the ranker's gate measure (NDCG@10, personalization@10)
SHELF_K = 10
#: DCG discount of each shelf slot
DISCOUNT = 1.0 / np.log2(np.arange(2, SHELF_K + 2))


def _best(scores: np.ndarray, n: int) -> np.ndarray:
    """Column indices of each row's best ``n`` scores (every column of a narrower matrix)."""
    if scores.shape[1] <= n:
        return np.broadcast_to(np.arange(scores.shape[1]), scores.shape)
    return np.argpartition(-scores, n, axis=1)[:, :n]


def split_by_time(events: ModelEvents, fraction: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Masks of the early and late events (the latest ``fraction`` of times), or ``None``
    when the events have no times or the late part has no purchase."""
    if not events.has_times or len(events) < 20:
        return None
    cut = np.quantile(events.seconds, 1.0 - fraction)
    late = events.seconds >= cut
    if late.all() or not late.any():
        return None
    return ~late, late


@dataclass(frozen=True, eq=False)
class Validation:
    """Candidate scores of the validation members, ready for many weightings.

    Attributes
    ----------
    parts : dict of str to ndarray (n_members, width)
        Row-max-scaled score of each part at each candidate (0 at padding).
    valid : ndarray of bool (n_members, width)
        Real candidates (padding and SKUs the member bought already are False).
    hits : ndarray of bool (n_members, width)
        Candidates the member bought in the slice.
    ideal : ndarray (n_members,)
        Ideal DCG@10 of each member.
    candidates : ndarray of int64 (n_members, width)
        The SKU ids (for personalization).
    """

    parts: dict[str, np.ndarray]
    valid: np.ndarray
    hits: np.ndarray
    ideal: np.ndarray
    candidates: np.ndarray

    @classmethod
    def build(
        cls,
        scores: Mapping[str, np.ndarray],
        truth: sp.csr_matrix,
        bought: sp.csr_matrix,
    ) -> Validation:
        """From full score matrices (n_members, n_items) of each part."""
        n = truth.shape[0]
        pools = [_best(s, CANDIDATES) for s in scores.values()]
        rows = [np.unique(np.concatenate([p[j] for p in pools])) for j in range(n)]
        width = max(len(r) for r in rows)
        cand = np.zeros((n, width), dtype=np.int64)
        valid = np.zeros((n, width), dtype=bool)
        for j, r in enumerate(rows):
            cand[j, : len(r)] = r
            valid[j, : len(r)] = True
        picked = {name: np.take_along_axis(s, cand, axis=1) for name, s in scores.items()}
        at = (np.repeat(np.arange(n), width), cand.ravel())
        valid &= ~np.asarray(bought[at], dtype=bool).reshape(n, width)
        hits = np.asarray(truth[at], dtype=bool).reshape(n, width) & valid
        counts = np.minimum(np.diff(truth.indptr), SHELF_K)
        ideal = np.cumsum(DISCOUNT)[np.maximum(counts - 1, 0)] * (counts > 0)
        return cls(picked, valid, hits, ideal, cand)

    def weighted(self, weights: Mapping[str, float]) -> np.ndarray:
        """The weighted sum of the parts at every candidate (n_members, width), float32."""
        total = np.zeros(self.valid.shape, dtype=np.float32)
        for name, w in weights.items():
            if w:
                total += np.float32(w) * self.parts[name]
        return total

    def measure(
        self, weights: Mapping[str, float], pairs: int = 300, epsilon: float = 1.0
    ) -> tuple[float, float]:
        """(mean NDCG@10, personalization@10) of the shelves of one weighting; with
        ``epsilon > 1``, of those shelves dithered as serving dithers them (row ``j``'s
        seed is ``j``; see :mod:`recsys.models.dither`)."""
        width = self.valid.shape[1]
        total = self.weighted(weights)
        total[~self.valid] = -np.inf
        k = min(SHELF_K, width)
        m = min(DITHER_POOL, width) if epsilon > 1.0 else k
        top = np.argpartition(-total, m - 1, axis=1)[:, :m]
        order = np.argsort(-np.take_along_axis(total, top, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        if epsilon > 1.0:
            top = np.stack([_dithered(row, total[j], j, epsilon)[:k] for j, row in enumerate(top)])
        gains = np.take_along_axis(self.hits, top, axis=1) @ DISCOUNT[:k]
        ok = self.ideal > 0
        ndcg = float(np.mean(gains[ok] / self.ideal[ok])) if ok.any() else 0.0
        shown = np.take_along_axis(self.candidates, top, axis=1)
        shown = np.where(np.take_along_axis(self.valid, top, axis=1), shown, -1 - np.arange(k))
        return ndcg, _personalization(shown, pairs)


def _dithered(top: np.ndarray, total: np.ndarray, seed: int, epsilon: float) -> np.ndarray:
    """One member's ranked candidate positions, dithered (padding stays last)."""
    scores = total[top]
    slots = np.arange(len(top))
    moved, _ = dither(np.where(np.isfinite(scores), slots, -1), scores, seed, epsilon)
    return top[np.where(moved >= 0, moved, slots)]


def _personalization(shelves: np.ndarray, pairs: int) -> float:
    """1 - mean Jaccard overlap of consecutive pairs of shelves, as
    :func:`recsys.evaluation.personalization` measures it (members come in random order)."""
    n = min(len(shelves) // 2 * 2, 2 * pairs)
    if n < 2:
        return 1.0
    picked = shelves[np.random.default_rng(0).permutation(len(shelves))[:n]]
    a, b = np.sort(picked[0::2], axis=1), np.sort(picked[1::2], axis=1)
    k = shelves.shape[1]
    shared = np.array(
        [len(np.intersect1d(x, y, assume_unique=True)) for x, y in zip(a, b, strict=True)]
    )
    return 1.0 - float(np.mean(shared / (2 * k - shared)))


#: NDCG given up per unit of personalization below the bound (a soft constraint, so the
#: search can cross weightings that miss the bound on its way to ones that meet it)
PENALTY = 2.0


#: dithering strengths the cold search tries (1: none)
DITHER_GRID: tuple[float, ...] = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0)


def penalized(ndcg: float, pers: float, min_personalization: float) -> float:
    """What the searches maximize: ``NDCG - PENALTY * max(0, bound - personalization)``."""
    return ndcg - PENALTY * max(0.0, min_personalization - pers)


def choose_dither(
    validation: Validation, weights: Mapping[str, float], min_personalization: float
) -> tuple[float, float, float]:
    """The :data:`DITHER_GRID` strength whose dithered shelves of ``weights`` score best
    (:func:`penalized`; the weakest on ties): ``(epsilon, ndcg, personalization)``."""
    best = (1.0, *validation.measure(weights))
    for epsilon in DITHER_GRID[1:]:
        ndcg, pers = validation.measure(weights, epsilon=epsilon)
        if (
            penalized(ndcg, pers, min_personalization)
            > penalized(*best[1:], min_personalization) + 1e-6
        ):
            best = (epsilon, ndcg, pers)
    return best


def dithered_weights(
    validation: Validation, names: Sequence[str], min_personalization: float
) -> tuple[dict[str, float], float, float, float]:
    """Weights and dithering of shelves built from tags alone: ``(weights, epsilon, ndcg,
    personalization)``.

    Starts from weights kept personal by themselves, weights left to dithering alone
    (searched without the bound), and each part alone; keeps the start whose
    :func:`choose_dither` shelves score best (:func:`penalized`), then searches the weights
    again on the shelves as that dithering leaves them. So the result is never worse on
    the slice than one part alone at its best dithering.
    """
    starts = [
        coordinate_ascent(validation.measure, names, bound)[0]
        for bound in dict.fromkeys((min_personalization, 0.0))
    ]
    starts += [{name: 1.0} for name in names]
    options = []
    for weights in starts:
        epsilon, ndcg, pers = choose_dither(validation, weights, min_personalization)
        options.append((penalized(ndcg, pers, min_personalization), epsilon, weights))
    _, epsilon, weights = max(options, key=lambda option: option[0])
    weights, ndcg, pers = coordinate_ascent(
        lambda w: validation.measure(w, epsilon=epsilon), names, min_personalization, start=weights
    )
    return weights, epsilon, ndcg, pers


def coordinate_ascent(
    measure: Callable[[dict[str, float]], tuple[float, float]],
    names: Sequence[str],
    min_personalization: float,
    rounds: int = 2,
    start: Mapping[str, float] | None = None,
    signed: Collection[str] = (),
) -> tuple[dict[str, float], float, float]:
    """Weights that raise NDCG while personalization stays >= ``min_personalization``.

    Maximizes ``NDCG - PENALTY * max(0, min_personalization - personalization)``: from
    ``start`` (default: the single part that scores best on it), every :data:`GRID` value
    of each weight in turn, ``rounds`` times; the parts in ``signed`` also try the
    :data:`NEGATIVE_GRID` values.

    Returns
    -------
    weights, ndcg, personalization
    """

    def objective(ndcg: float, pers: float) -> float:
        return penalized(ndcg, pers, min_personalization)

    if start is None:
        singles = {n: measure({n: 1.0}) for n in names}
        first = max(names, key=lambda n: objective(*singles[n]))
        best = {n: float(n == first) for n in names}
        ndcg, pers = singles[first]
    else:
        best = {n: float(start.get(n, 0.0)) for n in names}
        ndcg, pers = measure(best)
    for _ in range(rounds):
        improved = False
        for name in names:
            for value in GRID + (NEGATIVE_GRID if name in signed else ()):
                if value == best[name]:
                    continue
                trial = {**best, name: value}
                if not any(trial.values()):
                    continue
                t_ndcg, t_pers = measure(trial)
                if objective(t_ndcg, t_pers) > objective(ndcg, pers) + 1e-6:
                    best, ndcg, pers, improved = trial, t_ndcg, t_pers, True
        if not improved:
            break
    return best, ndcg, pers
