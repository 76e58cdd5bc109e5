"""Popularity: global, per store, per segment of profile tags, or all three blended."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from recsys.data.matrices import TrainingMatrices
from recsys.exceptions import InvalidInputError
from recsys.models._linalg import scale_rows_to_max, sparse_from_state, sparse_to_state
from recsys.models.base import ScoreModel, check_float, register

_BY = ("auto", "global", "store", "segment")
_COUNT = ("members", "events")


def members_matrix(matrices: TrainingMatrices) -> sp.csr_matrix:
    """1 where a member has events with a SKU (what member counts sum), float32.

    Examples
    --------
    >>> m = TrainingMatrices.from_confidence(sp.csr_matrix([[5.0, 0], [1.0, 2.0]]))
    >>> members_matrix(m).toarray().tolist()
    [[1.0, 0.0], [1.0, 1.0]]
    """
    out = sp.csr_matrix(matrices.confidence, dtype=np.float32)
    out.data = (out.data > 0).astype(np.float32)
    out.eliminate_zeros()
    return out


@register
class PopularityModel(ScoreModel):
    """Most-wanted SKUs, optionally per store or per segment of members sharing tags.

    Every part is scaled to a maximum of 1 per row before blending:

    * ``global``: members with events per SKU (``count="members"``), or summed confidence
      (``count="events"``);
    * ``store``: the store's row of ``TrainingMatrices.store_items``, its summed confidence
      (``score(store=s)``); falls back to global when ``store == -1`` or the store has no
      sales;
    * ``segment``: ``profile_row @ S`` with ``S = user_featuresᵀ @ counts``, each tag's
      row normalised to sum 1, so members sharing tags share popularity (negative numeric
      attributes count as 0); falls back to global for an empty profile row;
    * ``auto`` (default): segment part when the member has a profile, store part when a
      store is given, global part always, weighted by ``global_weight`` as a tie-breaker.
      A sensible fallback for any member.

    ``store`` and ``segment`` also add ``global_weight`` times the global part so SKUs the
    store or the segment never sold are still ordered.

    Parameters
    ----------
    by : {"auto", "global", "store", "segment"}
        Which popularity to serve.
    global_weight : float
        Weight of the global part added as tie-breaker (>= 0).
    count : {"members", "events"}
        What makes a SKU popular overall and in a segment: how many members have events
        with it (the default: a member's chance to buy a SKU follows the share of members
        who do, and a staple one member rebuys every week is one member), or its summed
        confidence (every event). In a store it is the store's summed confidence.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from recsys.data.matrices import TrainingMatrices
    >>> m = TrainingMatrices.from_confidence(sp.csr_matrix([[1.0, 0, 0], [1.0, 1.0, 0]]))
    >>> PopularityModel(by="global").fit(m).score([-1], sp.csr_matrix((1, 3))).round(2)
    array([[1. , 0.5, 0. ]], dtype=float32)
    >>> m = TrainingMatrices.from_confidence(sp.csr_matrix([[9.0, 0], [0, 1.0], [0, 1.0]]))
    >>> PopularityModel(by="global", count="events").fit(m).global_.tolist()
    [1.0, 0.2222222238779068]
    >>> PopularityModel(by="global").fit(m).global_.tolist()
    [0.5, 1.0]
    """

    name: ClassVar[str] = "popular"
    uses_profiles: ClassVar[bool] = True

    global_: np.ndarray
    store_: sp.csr_matrix
    segment_: np.ndarray

    def __init__(
        self, by: str = "auto", global_weight: float = 0.05, count: str = "members"
    ) -> None:
        self.by = by
        self.global_weight = global_weight
        self.count = count

    def _validate(self) -> None:
        if self.by not in _BY:
            raise InvalidInputError(f"by must be one of {_BY}, got {self.by!r}")
        if self.count not in _COUNT:
            raise InvalidInputError(f"count must be one of {_COUNT}, got {self.count!r}")
        check_float("global_weight", self.global_weight, strict=False)

    def _fit(self, matrices: TrainingMatrices) -> None:
        self._validate()
        members = self.count == "members"
        conf = (
            members_matrix(matrices)
            if members
            else sp.csr_matrix(matrices.confidence, dtype=np.float32)
        )
        glob = np.asarray(conf.sum(axis=0), dtype=np.float32)
        self.global_ = scale_rows_to_max(glob)[0]

        stores = sp.csr_matrix(matrices.store_items, dtype=np.float32)
        peak = stores.max(axis=1).toarray().ravel() if stores.shape[0] else np.zeros(0)
        inv = np.divide(1.0, peak, out=np.zeros_like(peak, dtype=np.float64), where=peak > 0)
        self.store_ = sp.csr_matrix(sp.diags(inv.astype(np.float32)) @ stores)

        feats = sp.csr_matrix(matrices.user_features, dtype=np.float32).maximum(0)
        seg = np.asarray((feats.T @ conf).toarray(), dtype=np.float32)
        total = seg.sum(axis=1, keepdims=True)
        np.divide(seg, total, out=seg, where=total > 0)
        self.segment_ = seg

    def _score(
        self, users: np.ndarray, history: sp.csr_matrix, features: sp.csr_matrix, store: int
    ) -> np.ndarray:
        n_stores = self.store_.shape[0]
        if isinstance(store, bool) or not isinstance(store, (int, np.integer)):
            raise InvalidInputError(f"store must be an internal store id (int), got {store!r}")
        if not -1 <= store < n_stores:
            raise InvalidInputError(f"internal store id must be in [-1, {n_stores}), got {store}")
        n = history.shape[0]
        glob = self.global_
        w = np.float32(self.global_weight)
        by = self.by
        out = np.zeros((n, self.n_trained_items_), dtype=np.float32)
        has_store = store >= 0 and self.store_.indptr[store + 1] > self.store_.indptr[store]
        if by in ("store", "auto") and has_store:
            out += self.store_[store].toarray()
        if by in ("segment", "auto"):
            seg = np.asarray(features.maximum(0) @ self.segment_, dtype=np.float32)
            out += scale_rows_to_max(seg)
        if by == "global":
            out += glob
        elif by == "auto":
            out += w * glob
        else:
            # store / segment: the global list where that part is missing, tie-breaker elsewhere
            missing = ~np.any(out != 0, axis=1)
            out += np.where(missing[:, np.newaxis], glob, w * glob)
        return out

    def overall(self) -> np.ndarray:
        """Chain-wide popularity of every SKU scored (added SKUs: their look-alikes')."""
        self.check_fitted()
        if self.added_ is None:
            return self.global_
        if self._overall is None:
            extra = np.asarray(self.added_ @ self.global_, dtype=np.float32)
            self._overall = np.concatenate([self.global_, extra])
        return self._overall

    _overall: np.ndarray | None = None

    def _add_items(self, features: sp.spmatrix | None) -> None:
        self._overall = None

    def _set_added_state(self, state: dict[str, np.ndarray]) -> None:
        self._overall = None

    def _get_state(self) -> dict[str, np.ndarray]:
        return {
            "global": self.global_,
            "segment": self.segment_,
            **sparse_to_state("store", self.store_),
        }

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.global_ = np.asarray(state["global"], dtype=np.float32)
        self.segment_ = np.asarray(state["segment"], dtype=np.float32)
        self.store_ = sparse_from_state("store", state).astype(np.float32)
