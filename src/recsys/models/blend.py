"""The default model: a blend of personal parts and priors, weighted on a validation slice."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from recsys.data.matrices import TrainingMatrices, matrices_of_events, purchases_after
from recsys.exceptions import ArtifactError, InvalidInputError
from recsys.models._linalg import positive_counts, prefixed, unprefixed
from recsys.models.base import ScoreModel, check_float, check_int, check_seed, register
from recsys.models.blend_parts import PERSONAL, Parts, row_max_scaled
from recsys.models.blend_rerank import MIN_GAIN, Reranker, shifted_gain
from recsys.models.blend_search import (
    Validation,
    coordinate_ascent,
    dithered_weights,
    split_by_time,
)
from recsys.models.dither import DEFAULT_DITHER
from recsys.models.popularity import members_matrix

__all__ = ["BlendModel"]

#: variants tried on the validation slice
KNN_K: tuple[int, ...] = (50, 200)
EASE_SCALE: tuple[float, ...] = (5.0, 20.0)  # λ = scale x the mean diagonal of XᵀX
HALF_LIVES: tuple[float, ...] = (7.0, 21.0, 60.0)
ALS_REGULARIZATION: tuple[float, ...] = (10.0, 50.0)
WARM_PARTS: tuple[str, ...] = (
    "knn",
    "ease",
    "als",
    "next",
    "recent",
    "adopted",
    "popular",
    "store",
    "segment",
)
#: priors the warm search may weigh below 0: the SKUs everyone buys, that this member has
#: not, are the less likely to be theirs (new purchases are what a shelf is measured on)
SIGNED_PARTS: frozenset[str] = frozenset({"popular", "store", "segment"})
#: a shelf of tags alone ranks by who the member is (members like them, overall); when in
#: the year it is shown is the filters' part (season, stock), not the ranking's
COLD_PARTS: tuple[str, ...] = ("segment", "profile", "popular")
#: weights when there is nothing to validate on (no event times): what validation on retail
#: logs settles near
DEFAULT_WARM: dict[str, float] = {"knn": 1.0, "ease": 0.35, "als": 0.2, "recent": 0.1}
DEFAULT_COLD: dict[str, float] = {"segment": 1.0, "profile": 0.5}
_CHUNK = 256  # validation members scored at once (memory: parts x chunk x SKUs floats)


@dataclass
class _Plan:
    """What the validation slice chose: variants and the weights of each kind of member."""

    knn_k: int = KNN_K[-1]
    ease_lambda: float = 500.0
    half_life_days: float = HALF_LIVES[1]
    adoption_half_life_days: float = HALF_LIVES[1]
    als_regularization: float = ALS_REGULARIZATION[0]
    als_factors: int = 0  # 0: the blend's ``factors``; validation may double them
    warm: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WARM))
    cold: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_COLD))
    cold_dither: float = DEFAULT_DITHER
    ranker: Reranker | None = None
    report: dict[str, Any] = field(default_factory=dict)

    def needed(self) -> frozenset[str]:
        """The parts the weights and the ranker read."""
        used = {n for n, w in {**self.warm, **self.cold}.items() if w}
        return frozenset(used | set(self.ranker.parts if self.ranker else ()))


@register
class BlendModel(ScoreModel):
    """The default: personal parts and priors mixed by weights learned on a validation slice.

    Parts (see :mod:`recsys.models.blend_parts`): BM25 item-item neighbours, EASE (at most
    ``max_ease_items`` SKUs), ALS, what members who had the member's SKUs went on to take up
    (:class:`~recsys.models.next_buys.NextBuysModel`), members who bought overall / recently
    / in the member's stores / in the member's segment of tags, members who recently took a
    SKU up, and tags projected into the ALS space. Each part's scores are scaled to a row
    maximum of 1 and summed with weights.

    ``fit`` carves the latest ``validation_fraction`` of the training events, fits the parts
    on the rest, picks each part's variant (neighbours, λ, half-lives) and the weights by
    coordinate ascent on NDCG@10 of the members' new purchases in the slice, keeping
    personalization@10 >= ``min_personalization`` (the priors of :data:`SIGNED_PARTS` may
    be weighed below 0: a SKU everyone buys that a member has not is the less likely to be
    theirs); members without history, or whose history no weighed personal part can read,
    get their own weights (popularity in their segment and overall, and their tags in the
    ALS space: no recency, since when a shelf is shown is the filters' part;
    ``min_cold_personalization``).
    With ``rerank``, a LambdaRank model then learns to re-order each member's best
    candidates of the weighted sum from every part's score
    (:mod:`recsys.models.blend_rerank`). It is kept only when it generalizes one step
    forward in time: with weights and ranker both learned on an
    earlier slice (parts fitted on the events before it), the ranker must beat those
    weights' sum on the validation slice. Then the blend refits the parts it uses on all of
    the data. Without event times it uses fixed weights.

    Parameters
    ----------
    factors, seed, num_threads : int
        Of the ALS part (``num_threads`` also of the neighbours and of EASE's inverse).
    validation_fraction : float in (0, 1)
        Latest share of the training events the weights are chosen on.
    validation_members : int
        Members scored in the slice (a seeded sample).
    min_personalization, min_cold_personalization : float in [0, 1]
        The shelves the weights may give must stay at least this different.
    max_ease_items : int
        EASE's SKU limit (a dense ``max_ease_items``² inverse).
    rerank : bool
        Learn the second stage (LightGBM LambdaRank) on the validation slice.
    show_progress : bool
        A progress bar over the stages of ``fit``.

    Attributes
    ----------
    weights_, cold_weights_ : dict of str to float
        The weights of members with and without history.
    cold_dither_ : float
        How strongly shelves of tags alone are dithered (:mod:`recsys.models.dither`): the
        strength of ``DITHER_GRID`` whose dithered validation shelves score best, NDCG
        less a penalty below ``min_cold_personalization`` (the weakest on ties). The
        weights start from those searched with that bound, without it (relying on the
        dithering alone), and each part alone; the best start's weights are then searched
        again on its dithered shelves (:func:`~recsys.models.blend_search.dithered_weights`).
    ranker_ : Reranker or None
        The second stage of members with history, when validation kept one.
    parts_ : Parts
        The fitted parts.
    validation_ : dict
        What the search measured (NDCG@10 and personalization of the chosen weights, the
        variants, the members scored).

    Examples
    --------
    >>> from recsys.data import RetailDataset
    >>> from recsys.datasets import synthetic_retail
    >>> data = synthetic_retail(n_users=300, n_items=200, n_stores=3, items_per_store=(80, 120))
    >>> m = RetailDataset.build(data.interactions, profiles=data.profiles).matrices
    >>> model = BlendModel(factors=8, validation_members=200).fit(m)
    >>> model.score([0, -1], m.confidence[:2]).shape == (2, m.n_items)
    True
    >>> "knn" in model.weights_, sorted(model.validation_)
    (True, ['cold', 'ranker', 'variants', 'warm'])
    """

    name: ClassVar[str] = "blend"
    uses_profiles: ClassVar[bool] = True

    weights_: dict[str, float]
    cold_weights_: dict[str, float]
    cold_dither_: float = DEFAULT_DITHER
    parts_: Parts
    ranker_: Reranker | None
    validation_: dict[str, Any]

    def __init__(
        self,
        factors: int = 64,
        seed: int | None = 0,
        validation_fraction: float = 0.2,
        validation_members: int = 1500,
        min_personalization: float = 0.8,
        min_cold_personalization: float = 0.7,
        max_ease_items: int = 10_000,
        rerank: bool = True,
        num_threads: int = 0,
        show_progress: bool = False,
    ) -> None:
        self.factors = factors
        self.seed = seed
        self.validation_fraction = validation_fraction
        self.validation_members = validation_members
        self.min_personalization = min_personalization
        self.min_cold_personalization = min_cold_personalization
        self.max_ease_items = max_ease_items
        self.rerank = rerank
        self.num_threads = num_threads
        self.show_progress = show_progress

    def _validate(self) -> None:
        check_int("factors", self.factors)
        check_seed(self.seed)
        fraction = check_float("validation_fraction", self.validation_fraction)
        if fraction >= 1:
            raise InvalidInputError(f"validation_fraction must be in (0, 1), got {fraction}")
        check_int("validation_members", self.validation_members, minimum=10)
        for name in ("min_personalization", "min_cold_personalization"):
            value = check_float(name, getattr(self, name), strict=False)
            if value > 1:
                raise InvalidInputError(f"{name} must be in [0, 1], got {value}")
        check_int("max_ease_items", self.max_ease_items)
        check_int("num_threads", self.num_threads, minimum=0)
        for flag in ("rerank", "show_progress"):
            if not isinstance(getattr(self, flag), bool):
                raise InvalidInputError(f"{flag} must be True or False")

    # ------------------------------------------------------------------ fit
    def _fit(self, matrices: TrainingMatrices) -> None:
        self._validate()
        bar = tqdm(total=5, desc="blend", disable=not self.show_progress, leave=False)
        plan = self._search(matrices, bar)
        bar.set_postfix_str("refit on all events")
        self.parts_ = self._parts(plan, plan.needed()).fit(matrices)
        self.ranker_ = plan.ranker
        bar.update(bar.total - bar.n)
        bar.close()
        self.weights_ = {n: w for n, w in plan.warm.items() if w}
        self.cold_weights_ = {n: w for n, w in plan.cold.items() if w}
        self.cold_dither_ = plan.cold_dither
        self.validation_ = plan.report

    def _parts(self, plan: _Plan, needed: frozenset[str]) -> Parts:
        return Parts(
            knn_k=plan.knn_k,
            ease_lambda=plan.ease_lambda,
            half_life_days=plan.half_life_days,
            adoption_half_life_days=plan.adoption_half_life_days,
            als_regularization=plan.als_regularization,
            factors=int(plan.als_factors or self.factors),
            seed=self.seed,
            max_ease_items=int(self.max_ease_items),
            num_threads=int(self.num_threads),
            needed=needed,
        )

    def _search(self, m: TrainingMatrices, bar: Any) -> _Plan:
        """Variants and weights from the validation slice (fixed ones without event times)."""
        plan = _Plan(ease_lambda=_ease_lambda(m, EASE_SCALE[-1]))
        split = None if m.events is None else split_by_time(m.events, self.validation_fraction)
        if split is None:
            plan.report = {"validated": False, "why": "the events have no times"}
            return plan
        assert m.events is not None
        early = matrices_of_events(m.events.subset(split[0]), m)
        bought = purchases_after(m.events.subset(split[1]), m.n_users, m.n_items)
        bar.set_postfix_str("fit parts on the early events")
        variants = self._fit_variants(early, plan)
        bar.update(2)
        rng = np.random.default_rng(self.seed)
        new = bought - bought.multiply(early.purchased)
        new.eliminate_zeros()
        warm = np.flatnonzero((np.diff(new.indptr) > 0) & (positive_counts(early.confidence) > 0))
        tagged = (np.diff(bought.indptr) > 0) & (np.diff(sp.csr_matrix(m.user_features).indptr) > 0)
        # members first seen in the slice are what a cold shelf faces; without enough of
        # them, members with tags stand in with their history hidden
        first_seen = tagged & (positive_counts(early.confidence) == 0)
        cold = np.flatnonzero(first_seen if first_seen.sum() >= 50 else tagged)
        bar.set_postfix_str("weigh members with history")
        users = _sample(warm, self.validation_members, rng)
        keyed = self._weigh_warm(plan, variants, early, new, users)
        if self.rerank and keyed is not None:
            bar.set_postfix_str("learn the second stage")
            lengths = positive_counts(early.confidence)[users]
            self._learn_ranker(plan, keyed, lengths, self._earlier(plan, early, rng))
        bar.update(1)
        bar.set_postfix_str("weigh members without history")
        self._weigh_cold(plan, variants, early, bought, _sample(cold, self.validation_members, rng))
        bar.update(1)
        return plan

    def _fit_variants(self, early: TrainingMatrices, plan: _Plan) -> dict[str, tuple[Parts, str]]:
        """Every variant of every part, fitted on the early events: name -> (parts, part)."""
        out: dict[str, tuple[Parts, str]] = {}
        for k in KNN_K:
            parts = self._parts(_Plan(knn_k=k), frozenset({"knn"})).fit(early)
            out[f"knn{k}"] = (parts, "knn")
        for scale in EASE_SCALE:
            lam = _ease_lambda(early, scale)
            parts = self._parts(_Plan(ease_lambda=lam), frozenset({"ease"})).fit(early)
            out[f"ease{scale:g}"] = (parts, "ease")
        for reg in ALS_REGULARIZATION:
            for factors in (int(self.factors), 2 * int(self.factors)):
                plan_ = _Plan(als_regularization=reg, als_factors=factors)
                parts = self._parts(plan_, frozenset({"als", "profile"})).fit(early)
                key = f"{reg:g}x{factors}"
                out[f"als{key}"], out[f"profile{key}"] = (parts, "als"), (parts, "profile")
            for name in ("popular", "store", "segment"):
                out[name] = (parts, name)
        out["next"] = (self._parts(_Plan(), frozenset({"next"})).fit(early), "next")
        for half_life in HALF_LIVES:
            plan_ = _Plan(half_life_days=half_life, adoption_half_life_days=half_life)
            parts = self._parts(plan_, frozenset()).fit(early)
            out[f"recent{half_life:g}"] = (parts, "recent")
            out[f"adopted{half_life:g}"] = (parts, "adopted")
        return out

    def _validation(
        self,
        variants: Mapping[str, tuple[Parts, str]],
        names: list[str],
        early: TrainingMatrices,
        truth: sp.csr_matrix,
        users: np.ndarray,
        cold: bool,
    ) -> Validation:
        chunks = []
        for start in range(0, len(users), _CHUNK):
            rows = users[start : start + _CHUNK]
            history = early.confidence[rows] * (0.0 if cold else 1.0)
            history = sp.csr_matrix(history, dtype=np.float32)
            history.eliminate_zeros()
            feats = sp.csr_matrix(early.user_features[rows])
            scores = {
                name: row_max_scaled(
                    variants[name][0].scores(variants[name][1], rows, history, feats, -1)
                )
                for name in names
            }
            seen = sp.csr_matrix(history.shape, dtype=np.float32) if cold else early.purchased[rows]
            chunks.append(Validation.build(scores, truth[rows], sp.csr_matrix(seen)))
        return _concat(chunks)

    def _weigh_warm(
        self,
        plan: _Plan,
        variants: dict[str, tuple[Parts, str]],
        early: TrainingMatrices,
        truth: sp.csr_matrix,
        users: np.ndarray,
    ) -> Validation | None:
        """Variants and weights of members with history; returns the validation slice keyed
        by part (``None``: too few members)."""
        if len(users) < 10:
            plan.report["warm"] = f"only {len(users)} members to validate on: fixed weights"
            return None
        names = sorted(variants)
        val = self._validation(variants, names, early, truth, users, cold=False)
        best = {
            part: max(
                (v for v in names if variants[v][1] == part), key=lambda v: val.measure({v: 1.0})[0]
            )
            for part in ("knn", "ease", "recent", "adopted", "als")
        }
        reg, factors = best["als"][3:].split("x")
        plan.als_regularization, plan.als_factors = float(reg), int(factors)
        plan.knn_k = int(best["knn"][3:])
        plan.ease_lambda = _ease_lambda(early, float(best["ease"][4:]))
        plan.half_life_days = float(best["recent"][6:])
        plan.adoption_half_life_days = float(best["adopted"][7:])
        chosen = {part: best.get(part, part) for part in WARM_PARTS}
        keyed = Validation(
            {p: val.parts[v] for p, v in chosen.items()},
            val.valid,
            val.hits,
            val.ideal,
            val.candidates,
        )
        weights, ndcg, pers = coordinate_ascent(
            keyed.measure, list(WARM_PARTS), float(self.min_personalization), signed=SIGNED_PARTS
        )
        plan.warm = weights
        plan.report["warm"] = {
            "members": len(users),
            "ndcg@10": ndcg,
            "personalization@10": pers,
            "personalization_met": pers >= float(self.min_personalization),
        }
        plan.report["variants"] = {k: v for k, v in best.items()}
        return keyed

    def _earlier(
        self, plan: _Plan, early: TrainingMatrices, rng: np.random.Generator
    ) -> tuple[Validation, np.ndarray] | None:
        """The slice before the validation slice, as the validation slice is to train: its
        members' new purchases, scored by the chosen parts fitted on the events before it."""
        assert early.events is not None
        split = split_by_time(early.events, self.validation_fraction)
        if split is None:
            return None
        before = matrices_of_events(early.events.subset(split[0]), early)
        bought = purchases_after(early.events.subset(split[1]), early.n_users, early.n_items)
        new = bought - bought.multiply(before.purchased)
        new.eliminate_zeros()
        lengths = positive_counts(before.confidence)
        users = _sample(
            np.flatnonzero((np.diff(new.indptr) > 0) & (lengths > 0)), self.validation_members, rng
        )
        if len(users) < 10:
            return None
        parts = self._parts(plan, frozenset(WARM_PARTS)).fit(before)
        variants = {p: (parts, p) for p in WARM_PARTS}
        val = self._validation(variants, list(WARM_PARTS), before, new, users, cold=False)
        return val, lengths[users]

    def _learn_ranker(
        self,
        plan: _Plan,
        val: Validation,
        lengths: np.ndarray,
        earlier: tuple[Validation, np.ndarray] | None,
    ) -> None:
        """The second stage, kept when it generalizes forward in time.

        Both stages learn on the earlier slice, as they would serve a step later: weights
        by the same search, and a ranker over the sum of those weights. The ranker must then
        beat that sum on the validation slice by ``MIN_GAIN``. The ranker kept is fitted on
        the validation slice, over the sum of the weights chosen there.
        """
        if earlier is None:
            plan.report["ranker"] = {"kept": False, "why": "no earlier slice to learn on"}
            return
        before, before_lengths = earlier
        weights, _, _ = coordinate_ascent(
            before.measure,
            list(before.parts),
            float(self.min_personalization),
            signed=SIGNED_PARTS,
        )
        train = (before.parts, before.weighted(weights), before.valid, before.hits)
        test = (val.parts, val.weighted(weights), val.valid, val.hits)
        plain, learned = shifted_gain(
            (*train, before_lengths), (*test, val.ideal, lengths), self.seed
        )
        kept = learned >= MIN_GAIN * plain
        plan.report["ranker"] = {
            "members": [len(before.ideal), len(val.ideal)],
            "ndcg@10_sum": plain,
            "ndcg@10_ranker": learned,
            "kept": bool(kept),
        }
        if kept:
            chosen = (val.parts, val.weighted(plan.warm), val.valid, val.hits)
            plan.ranker = Reranker.fit(*chosen, lengths, self.seed)

    def _weigh_cold(
        self,
        plan: _Plan,
        variants: dict[str, tuple[Parts, str]],
        early: TrainingMatrices,
        truth: sp.csr_matrix,
        users: np.ndarray,
    ) -> None:
        if len(users) < 10:
            plan.report["cold"] = f"only {len(users)} members with tags to validate on"
            return
        names = [
            "segment",
            f"profile{plan.als_regularization:g}x{plan.als_factors or int(self.factors)}",
            "popular",
        ]
        val = self._validation(variants, names, early, truth, users, cold=True)
        keyed = Validation(
            dict(zip(COLD_PARTS, (val.parts[n] for n in names), strict=True)),
            val.valid,
            val.hits,
            val.ideal,
            val.candidates,
        )
        floor = float(self.min_cold_personalization)
        weights, epsilon, ndcg, pers = dithered_weights(keyed, list(COLD_PARTS), floor)
        plan.cold, plan.cold_dither = weights, epsilon
        plan.report["cold"] = {
            "members": len(users),
            "ndcg@10": ndcg,
            "personalization@10": pers,
            "personalization_met": pers >= floor,
            "dither": epsilon,
        }

    # ------------------------------------------------------------------ scores
    def _score(
        self, users: np.ndarray, history: sp.csr_matrix, features: sp.csr_matrix, store: int
    ) -> np.ndarray:
        return self._mix(users, history, features, store, None)

    def _scores_at(
        self,
        users: np.ndarray,
        history: sp.csr_matrix,
        features: sp.csr_matrix,
        store: int,
        items: np.ndarray,
    ) -> np.ndarray:
        return self._mix(users, history, features, store, items)

    def _mix(
        self,
        users: np.ndarray,
        history: sp.csr_matrix,
        features: sp.csr_matrix,
        store: int,
        items: np.ndarray | None,
    ) -> np.ndarray:
        """The weighted sum of row-max-scaled parts (at ``items`` only, when given).

        A member none of the weighed personal parts can read (every SKU of their history
        out of their reach) is shelved as a member without history: the warm weights may
        subtract popularity, which only makes sense beside a personal score.
        """
        width = self.n_trained_items_ if items is None else len(items)
        out = np.zeros((history.shape[0], width), dtype=np.float32)
        lengths = np.diff(history.indptr)  # canonical rows: an entry is a SKU with events
        cold = lengths == 0
        if not cold.all():
            rows = np.flatnonzero(~cold)
            total, blank = self._weighted(
                rows, users, history, features, store, items, self.weights_, self.ranker_
            )
            out[rows] = total
            cold[rows[blank]] = True
        if cold.any():
            rows = np.flatnonzero(cold)
            total, _ = self._weighted(
                rows, users, history, features, store, items, self.cold_weights_, None
            )
            out[rows] = total
        return out

    def _weighted(
        self,
        rows: np.ndarray,
        users: np.ndarray,
        history: sp.csr_matrix,
        features: sp.csr_matrix,
        store: int,
        items: np.ndarray | None,
        weights: Mapping[str, float],
        ranker: Reranker | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """These rows' weighted (and reranked) sum, and which rows every weighed personal
        part left at 0."""
        if len(rows) < len(users):
            users, history, features = users[rows], history[rows], features[rows]
        read = [*weights, *(p for p in ranker.parts if p not in weights)] if ranker else weights
        scaled = {
            p: row_max_scaled(self.parts_.scores(p, users, history, features, store, items))
            for p in read
        }
        width = self.n_trained_items_ if items is None else len(items)
        total = np.zeros((len(users), width), dtype=np.float32)
        for part, weight in weights.items():
            total += np.float32(weight) * scaled[part]
        if ranker is not None:
            total = ranker.rerank(scaled, total, np.diff(history.indptr))
        # a part weighed below 0 enters as |w| (1 - its score): the same order in every row,
        # and no score below 0 from it (an audience keeps the members scoring above 0)
        total += np.float32(-sum(min(w, 0.0) for w in weights.values()))
        personal = [p for p in weights if p in PERSONAL]
        blank = np.zeros(len(rows), dtype=bool)
        if personal:
            blank = ~np.logical_or.reduce([scaled[p].any(axis=1) for p in personal])
        return total, blank

    # ------------------------------------------------------------------ state
    def item_neighbours(self) -> sp.csr_matrix | None:
        """The item-kNN part's similarity, when the blend weighs that part."""
        if not self.weights_.get("knn"):
            return None
        return self.parts_.knn.similarity_

    def _get_state(self) -> dict[str, np.ndarray]:
        plan = {
            "warm": self.weights_,
            "cold": self.cold_weights_,
            "cold_dither": self.cold_dither_,
            "knn_k": self.parts_.knn.K,
            "ease_lambda": self.parts_.ease.regularization,
            "half_life_days": self.parts_.half_life_days,
            "adoption_half_life_days": self.parts_.adoption_half_life_days,
            "als_regularization": self.parts_.profile.regularization,
            "als_factors": self.parts_.profile.factors,
            "validation": self.validation_,
            "ranker": None
            if self.ranker_ is None
            else {"parts": list(self.ranker_.parts), "model": self.ranker_.to_text()},
        }
        text = json.dumps(plan, default=float)
        return {**prefixed("parts", self.parts_.get_state()), "plan": np.asarray(text)}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        try:
            plan = json.loads(str(state["plan"]))
        except json.JSONDecodeError as exc:
            raise ArtifactError(f"blend plan is not valid JSON: {exc}") from exc
        self.weights_ = {str(k): float(v) for k, v in plan["warm"].items()}
        self.cold_weights_ = {str(k): float(v) for k, v in plan["cold"].items()}
        self.cold_dither_ = float(plan.get("cold_dither", DEFAULT_DITHER))
        self.validation_ = plan.get("validation", {})
        ranker = plan.get("ranker")
        self.ranker_ = (
            None if not ranker else Reranker.from_text(ranker["parts"], str(ranker["model"]))
        )
        needed = frozenset(
            {*self.weights_, *self.cold_weights_, *(self.ranker_.parts if self.ranker_ else ())}
        )
        self.parts_ = self._parts(
            _Plan(
                knn_k=int(plan["knn_k"]),
                ease_lambda=float(plan["ease_lambda"]),
                half_life_days=float(plan["half_life_days"]),
                adoption_half_life_days=float(plan["adoption_half_life_days"]),
                als_regularization=float(plan["als_regularization"]),
                als_factors=int(plan["als_factors"]),
            ),
            needed,
        )
        self.parts_.set_state(unprefixed("parts", state))


def _ease_lambda(matrices: TrainingMatrices, scale: float) -> float:
    """EASE's λ as a multiple of the mean diagonal of XᵀX, X as EASE reads it (1 where a
    member has events with a SKU): λ follows the data's scale."""
    x = members_matrix(matrices)
    diag = np.asarray(x.multiply(x).sum(axis=0)).ravel()
    return float(scale * max(float(diag.mean()), 1.0))


def _sample(rows: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    if len(rows) <= n:
        return rows
    return np.sort(rng.choice(rows, size=n, replace=False))


def _concat(chunks: list[Validation]) -> Validation:
    """One validation from chunks of members (candidate widths padded to the widest)."""
    width = max(c.valid.shape[1] for c in chunks)

    def pad(a: np.ndarray, fill: Any) -> np.ndarray:
        extra = width - a.shape[1]
        return np.pad(a, ((0, 0), (0, extra)), constant_values=fill) if extra else a

    names = list(chunks[0].parts)
    return Validation(
        {n: np.concatenate([pad(c.parts[n], 0.0) for c in chunks]) for n in names},
        np.concatenate([pad(c.valid, False) for c in chunks]),
        np.concatenate([pad(c.hits, False) for c in chunks]),
        np.concatenate([c.ideal for c in chunks]),
        np.concatenate([pad(c.candidates, 0) for c in chunks]),
    )
