"""Hybrid: collaborative and profile vectors blended by how much history a member has."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recsys.data.matrices import TrainingMatrices
from recsys.models._linalg import positive_counts, prefixed, unprefixed
from recsys.models.base import VectorModel, check_float, register
from recsys.models.profile import ProfileModel


@register
class HybridModel(VectorModel):
    """``w * collaborative + (1 - w) * profile`` with ``w = n / (n + shrink)``.

    ``n`` is the number of distinct SKUs in the member's history. One purchase leans on the
    profile (``w = 1/6`` with ``shrink=5``), fifty lean on the history (``w ≈ 0.91``), no
    history is the pure profile vector, and the weight grows smoothly in between: no cliff
    where a member's shelf suddenly changes. Both vectors live in the same space (the
    profile vector is a regression onto ALS member factors, see
    :class:`~recsys.models.ProfileModel`), and the item vectors are the profile model's:
    ALS item factors, with SKUs that had no interactions embedded from their attributes.

    Parameters
    ----------
    factors, regularization, alpha, iterations, seed, use_gpu, num_threads
        Of the inner ALS.
    profile_regularization, item_regularization : float
        Of the inner :class:`~recsys.models.ProfileModel`.
    shrink : float
        Distinct SKUs at which history and profile weigh the same (> 0).

    Attributes
    ----------
    user_factors_ : ndarray, float32, shape (n_users, factors)
        Blended vectors of the training members.
    item_factors_ : ndarray, float32, shape (n_items, factors)
    profile_ : ProfileModel
        The profile model (and through it ``profile_.als_``).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from recsys.data.matrices import TrainingMatrices
    >>> tags = sp.csr_matrix(np.eye(2, dtype=np.float32)[np.arange(40) % 2])
    >>> conf = sp.random(40, 20, density=0.2, random_state=0)
    >>> m = TrainingMatrices.from_confidence(conf, user_features=tags)
    >>> model = HybridModel(factors=4, iterations=3).fit(m)
    >>> model.history_weight(sp.csr_matrix(np.ones((1, 20)))).round(2)
    array([0.8], dtype=float32)
    """

    name: ClassVar[str] = "hybrid"
    uses_profiles: ClassVar[bool] = True

    user_factors_: np.ndarray
    item_factors_: np.ndarray
    profile_: ProfileModel

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 10.0,
        alpha: float = 10.0,
        iterations: int = 15,
        seed: int | None = 0,
        profile_regularization: float = 1.0,
        item_regularization: float = 1.0,
        shrink: float = 5.0,
        use_gpu: bool = False,
        num_threads: int = 0,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.seed = seed
        self.profile_regularization = profile_regularization
        self.item_regularization = item_regularization
        self.shrink = shrink
        self.use_gpu = use_gpu
        self.num_threads = num_threads

    def _profile_params(self) -> dict[str, Any]:
        return self.params_for(ProfileModel)

    def history_weight(self, history: sp.spmatrix) -> np.ndarray:
        """Weight ``n / (n + shrink)`` of the collaborative vector for each history row."""
        shrink = check_float("shrink", self.shrink)
        n = positive_counts(sp.csr_matrix(history))
        return (n / (n + np.float32(shrink))).astype(np.float32)

    def _blend(self, history: sp.csr_matrix, collab: np.ndarray, prof: np.ndarray) -> np.ndarray:
        w = self.history_weight(history)[:, np.newaxis]
        return np.asarray(w * collab + (1.0 - w) * prof, dtype=np.float32)

    def _fit(self, matrices: TrainingMatrices) -> None:
        check_float("shrink", self.shrink)
        profile = ProfileModel(**self._profile_params())
        self.profile_ = profile.fit(matrices)
        self.item_factors_ = profile.item_factors_
        self.user_factors_ = self._blend(
            matrices.confidence, profile.als_.user_factors_, profile.user_factors_
        )

    def _fold_in(self, history: sp.csr_matrix, features: sp.csr_matrix) -> np.ndarray:
        collab = self.profile_.als_.fold_in(history)
        prof = self.profile_.fold_in(history, features)
        return self._blend(history, collab, prof)

    def embed_items(self, item_features: sp.spmatrix | np.ndarray) -> np.ndarray:
        """Vectors for SKUs added after fit, from their attributes (see ``ProfileModel``)."""
        self.check_fitted()
        return self.profile_.embed_items(item_features)

    def _embed_added(self, features: sp.spmatrix | None) -> np.ndarray:
        """Added SKUs get vectors from their attributes (look-alikes when none are given)."""
        if features is None:
            return super()._embed_added(features)
        return self.embed_items(features)

    def _get_state(self) -> dict[str, np.ndarray]:
        return {
            **prefixed("profile", self.profile_.get_state()),
            "user_factors": self.user_factors_,
        }

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.profile_ = ProfileModel.from_state(
            self._profile_params(), unprefixed("profile", state)
        )
        self.item_factors_ = self.profile_.item_factors_
        self.user_factors_ = np.ascontiguousarray(state["user_factors"], dtype=np.float32)
