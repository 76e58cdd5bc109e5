"""The blend's learned second stage: LightGBM's LambdaRank re-orders each member's best
candidates of the weighted sum.

The first stage is the blend's weighted sum of parts (:mod:`recsys.models.blend`). Its best
:data:`POOL` SKUs per member (plus room for the SKUs the member already has, which a shelf
usually leaves out) are re-ordered by a gradient-boosted LambdaRank model. The model reads
every part's scaled score, the weighted sum and the member's history length, so it can weigh
item-item evidence more for a member with a long history and popularity more for a short
one: what one set of weights cannot. Pooled SKUs rank above every other SKU; the others keep
the weighted sum's order.

The ranker is fitted on the blend's validation slice (the members' new purchases after the
early events). Served, it reads parts fitted on more events than it learned from, so it is
kept only when it survives that shift once already: with weights and ranker both learned
on the slice before the validation slice (parts fitted on the events before that), the
ranker must beat those weights' sum on the validation slice by :data:`MIN_GAIN`
(:func:`shifted_gain`). A ranker that does not
generalize is dropped, and the blend serves its weighted sum.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from recsys.exceptions import ArtifactError
from recsys.models.blend_search import DISCOUNT, SHELF_K

if TYPE_CHECKING:  # imported where a ranker is fitted or read: LightGBM (with scikit-learn,
    # when installed) takes over a second to import, which every process serving a model
    # without a ranker would pay at start-up
    import lightgbm as lgb

__all__ = ["MIN_GAIN", "POOL", "Reranker", "shifted_gain"]

#: candidates per member the ranker re-orders (the weighted sum's best)
POOL: Final = 50
#: extra pool room for SKUs in the member's history (left out of most shelves), at most
_HISTORY_ROOM: Final = 30
#: held-out NDCG@10 the ranker must reach, as a multiple of the weighted sum's
MIN_GAIN: Final = 1.01
#: small trees, many members per leaf: a validation slice has a few thousand members
PARAMS: Final[dict[str, Any]] = {
    "objective": "lambdarank",
    "n_estimators": 50,
    "num_leaves": 7,
    "learning_rate": 0.2,
    "min_child_samples": 100,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "lambdarank_truncation_level": 20,
    "n_jobs": 1,
    "verbose": -1,
}


def _features(
    parts: Sequence[np.ndarray], total: np.ndarray, history_len: np.ndarray
) -> np.ndarray:
    """(n, width, len(parts) + 2): each part's score, the weighted sum, log history length."""
    n, width = total.shape
    length = np.broadcast_to(np.log1p(history_len.astype(np.float32))[:, None], (n, width))
    return np.stack([*parts, total, length], axis=2).astype(np.float32, copy=False)


class Reranker:
    """A fitted LambdaRank model over the blend's parts.

    Parameters
    ----------
    parts : sequence of str
        The parts it reads, in feature order.
    booster : lightgbm.Booster

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> scores = {"a": rng.random((400, 60), dtype=np.float32), "b": rng.random((400, 60),
    ...           dtype=np.float32)}
    >>> hits = scores["b"] > 0.9  # members buy what part "b" likes
    >>> total = scores["a"]  # ... but the weighted sum only listens to "a"
    >>> ranker = Reranker.fit(scores, total, np.ones_like(hits), hits, np.ones(400), seed=0)
    >>> out = ranker.rerank(scores, total, np.ones(400))
    >>> top = np.argsort(-out, axis=1)[:, :10]
    >>> bool(np.take_along_axis(hits, top, axis=1).mean() > hits.mean())
    True
    """

    def __init__(self, parts: Sequence[str], booster: lgb.Booster) -> None:
        self.parts = tuple(parts)
        self.booster = booster

    # ---------------------------------------------------------------- fit
    @classmethod
    def fit(
        cls,
        scores: Mapping[str, np.ndarray],
        total: np.ndarray,
        valid: np.ndarray,
        hits: np.ndarray,
        history_len: np.ndarray,
        seed: int | None,
    ) -> Reranker:
        """Fit on candidate rows: ``scores`` of each part and ``total`` (n, width), which
        candidates are real (``valid``) and bought (``hits``), each member's history length.
        The training pool is each member's best :data:`POOL` valid candidates by ``total``."""
        pool = _pool_mask(np.where(valid, total, -np.inf), POOL) & valid
        x = _features(list(scores.values()), total, history_len)[pool]
        groups = pool.sum(axis=1)
        # LightGBM's own training API: its scikit-learn wrapper needs scikit-learn, which
        # a plain ``pip install recsys`` does not bring
        params = {**PARAMS, "seed": 0 if seed is None else int(seed)}
        rounds = int(params.pop("n_estimators"))
        import lightgbm as lgb

        data = lgb.Dataset(x, hits[pool].astype(np.int32), group=groups[groups > 0])
        return cls(list(scores), lgb.train(params, data, num_boost_round=rounds))

    # ---------------------------------------------------------------- serve
    def rerank(
        self,
        scores: Mapping[str, np.ndarray],
        total: np.ndarray,
        history_len: np.ndarray,
    ) -> np.ndarray:
        """``total`` with each row's best candidates re-ordered by the ranker, above the
        rest (a copy, float32).

        A row's pool is its best :data:`POOL` candidates plus room for its own history
        (at most :data:`_HISTORY_ROOM`), whatever else is in the batch: a member gets the
        same shelf alone and in a batch.
        """
        n, width = total.shape
        out = np.array(total, dtype=np.float32)
        if not n or width <= 1:
            return out
        room = np.minimum(np.asarray(history_len, dtype=np.int64), _HISTORY_ROOM)
        sizes = np.minimum(width, POOL + room)
        size = int(sizes.max())
        if size < width:
            top = np.argpartition(-out, size - 1, axis=1)[:, :size]
        else:
            top = np.broadcast_to(np.arange(width), (n, width))
        # best first (ties by SKU), so each row's own pool is a prefix
        order = np.lexsort((top, -np.take_along_axis(out, top, axis=1)), axis=-1)
        top = np.take_along_axis(top, order, axis=1)
        pick = lambda a: np.take_along_axis(a, top, axis=1)  # noqa: E731
        x = _features([pick(scores[p]) for p in self.parts], pick(out), history_len)
        predicted = self.booster.predict(x.reshape(-1, x.shape[2]), num_threads=1)
        lifted = 1.0 + 1.0 / (1.0 + np.exp(-np.asarray(predicted).reshape(n, size)))
        base = out.max(axis=1, keepdims=True)
        inside = np.arange(size)[None, :] < sizes[:, None]
        np.put_along_axis(out, top, np.where(inside, base + lifted, pick(out)), axis=1)
        return out

    # ---------------------------------------------------------------- state
    def to_text(self) -> str:
        return str(self.booster.model_to_string())

    @classmethod
    def from_text(cls, parts: Sequence[str], text: str) -> Reranker:
        import lightgbm as lgb

        try:
            booster = lgb.Booster(model_str=text)
        except lgb.basic.LightGBMError as exc:
            raise ArtifactError(f"the blend's ranker cannot be read: {exc}") from exc
        return cls(parts, booster)


def _pool_mask(total: np.ndarray, size: int) -> np.ndarray:
    """Each row's best ``size`` entries of ``total`` (all of a narrower row)."""
    mask = np.zeros(total.shape, dtype=bool)
    if total.shape[1] <= size:
        mask[:] = True
        return mask
    top = np.argpartition(-total, size - 1, axis=1)[:, :size]
    np.put_along_axis(mask, top, True, axis=1)
    return mask


def _ndcg(scores: np.ndarray, valid: np.ndarray, hits: np.ndarray, ideal: np.ndarray) -> float:
    ranked = np.argsort(-np.where(valid, scores, -np.inf), axis=1, kind="stable")[:, :SHELF_K]
    gains = np.take_along_axis(hits, ranked, axis=1) @ DISCOUNT[: ranked.shape[1]]
    ok = ideal > 0
    return float(np.mean(gains[ok] / ideal[ok])) if ok.any() else 0.0


def shifted_gain(
    train: tuple[Mapping[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    test: tuple[
        Mapping[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray
    ],
    seed: int | None,
) -> tuple[float, float]:
    """NDCG@10 on ``test`` of the weighted sum and of a ranker fitted on ``train``:
    (sum, ranker).

    ``train`` is (scores, total, valid, hits, history_len) of one slice, ``test`` the same
    with ``ideal`` before ``history_len``, of a later slice.
    """
    ranker = Reranker.fit(*train, seed)
    scores, total, valid, hits, ideal, history_len = test
    plain = _ndcg(total, valid, hits, ideal)
    reranked = ranker.rerank(scores, np.where(valid, total, -1e9), history_len)
    return plain, _ndcg(reranked, valid, hits, ideal)
