"""Profile embeddings: members with only tags, and SKUs nobody bought yet, in the ALS space."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recsys.data.matrices import TrainingMatrices
from recsys.exceptions import InvalidInputError
from recsys.models._linalg import positive_counts, prefixed, ridge, unprefixed
from recsys.models.base import VectorModel, check_float, register
from recsys.models.implicit_models import ALSModel


@register
class ProfileModel(VectorModel):
    """Places a member's tags (and a new SKU's attributes) in the latent space of ALS.

    Design: train ALS on the interactions (held, not inherited), then fit a ridge
    regression with intercept from the sparse profile matrix onto the ALS member factors
    of the members who have history: a member's vector is ``features @ W + b``.

    Why this and not, say, a factorization with side information (LightFM-style) or a
    separate tag-to-item model: (1) it reuses the collaborative item vectors unchanged, so
    profile members, history members and the hybrid's blend are searched in one FAISS
    index; (2) with one-hot tags the ridge prediction is (a shrunk) mean ALS vector of the
    members sharing those tags, and since scores are linear in the member vector, its score
    for a SKU is the average collaborative score of that segment, only additive across tags,
    which generalises to tag combinations never seen together; (3) it is a small closed-form
    solve of (n_features + 1)² that needs no tuning beyond one λ, and folds in a new member
    with one sparse product. Members without history are left out of the regression
    (their ALS factors are ~0 and would pull every profile toward nothing).

    New SKUs, symmetrically: a ridge from ``item_features`` onto the ALS item factors of
    SKUs with interactions; SKUs without interactions at fit time (their ALS factors are
    ~0) get the predicted vector instead, so a new jacket can reach the members who buy
    that kind of jacket before anyone bought it. :meth:`embed_items` does the same for
    SKUs added after fit. Without item features, such SKUs keep their ALS factors.

    Parameters
    ----------
    factors, regularization, alpha, iterations, seed, use_gpu, num_threads
        Of the inner :class:`~recsys.models.ALSModel`.
    profile_regularization : float
        λ of the member ridge (> 0).
    item_regularization : float
        λ of the SKU ridge (> 0).

    Attributes
    ----------
    user_factors_ : ndarray, float32, shape (n_users, factors)
        Profile vectors of every training member (from tags only).
    item_factors_ : ndarray, float32, shape (n_items, factors)
        ALS item factors; SKUs without interactions replaced by their attribute embedding.
    als_ : ALSModel
        The collaborative model.
    user_weights_, user_bias_ : ndarray
        ``W`` (n_user_features, factors) and ``b`` (factors,) of the member ridge.
    item_weights_, item_bias_ : ndarray
        The same for SKU attributes.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from recsys.data.matrices import TrainingMatrices
    >>> tags = sp.csr_matrix(np.eye(2, dtype=np.float32)[np.arange(40) % 2])
    >>> conf = sp.random(40, 20, density=0.2, random_state=0)
    >>> m = TrainingMatrices.from_confidence(conf, user_features=tags)
    >>> model = ProfileModel(factors=4, iterations=3).fit(m)
    >>> model.fold_in(sp.csr_matrix((1, 20)), tags[:1]).shape
    (1, 4)
    """

    name: ClassVar[str] = "profile"
    uses_profiles: ClassVar[bool] = True

    user_factors_: np.ndarray
    item_factors_: np.ndarray
    als_: ALSModel
    user_weights_: np.ndarray
    user_bias_: np.ndarray
    item_weights_: np.ndarray
    item_bias_: np.ndarray

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 10.0,
        alpha: float = 10.0,
        iterations: int = 15,
        seed: int | None = 0,
        profile_regularization: float = 1.0,
        item_regularization: float = 1.0,
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
        self.use_gpu = use_gpu
        self.num_threads = num_threads

    def _als_params(self) -> dict[str, Any]:
        return self.params_for(ALSModel)

    def _fit(self, matrices: TrainingMatrices) -> None:
        user_lam = check_float("profile_regularization", self.profile_regularization)
        item_lam = check_float("item_regularization", self.item_regularization)
        als = ALSModel(**self._als_params())
        als._validate()  # fail before the inner fit, with the same messages
        self.als_ = als.fit(matrices)

        conf = matrices.confidence
        active = positive_counts(conf) > 0
        users = sp.csr_matrix(matrices.user_features, dtype=np.float32)
        self.user_weights_, self.user_bias_ = ridge(
            users[active], als.user_factors_[active], user_lam
        )
        self.user_factors_ = self._embed(users, self.user_weights_, self.user_bias_)

        item_feats = sp.csr_matrix(matrices.item_features, dtype=np.float32)
        item_factors = als.item_factors_.copy()
        sold = positive_counts(sp.csr_matrix(conf.T)) > 0
        self.item_weights_, self.item_bias_ = ridge(item_feats[sold], item_factors[sold], item_lam)
        if item_feats.shape[1] > 0 and not sold.all():
            item_factors[~sold] = self._embed(
                item_feats[~sold], self.item_weights_, self.item_bias_
            )
        self.item_factors_ = np.ascontiguousarray(item_factors, dtype=np.float32)

    @staticmethod
    def _embed(features: sp.csr_matrix, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
        return np.asarray(features @ weights + bias, dtype=np.float32)

    def _fold_in(self, history: sp.csr_matrix, features: sp.csr_matrix) -> np.ndarray:
        return self._embed(features, self.user_weights_, self.user_bias_)

    def embed_items(self, item_features: sp.spmatrix | np.ndarray) -> np.ndarray:
        """Vectors for SKUs from their encoded attributes (e.g. SKUs added after fit).

        Parameters
        ----------
        item_features : sparse matrix or ndarray, shape (n, n_item_features)
            Rows encoded like ``TrainingMatrices.item_features``.

        Returns
        -------
        ndarray, float32, shape (n, factors)
            Comparable with ``item_factors_`` (same space, dot product with member vectors).
        """
        self.check_fitted()
        rows = sp.csr_matrix(item_features, dtype=np.float32)
        expected = self.item_weights_.shape[0]
        if rows.shape[1] != expected:
            raise InvalidInputError(
                f"item_features has {rows.shape[1]} columns, the model was fitted on {expected}"
            )
        return np.ascontiguousarray(self._embed(rows, self.item_weights_, self.item_bias_))

    def _embed_added(self, features: sp.spmatrix | None) -> np.ndarray:
        """Added SKUs get vectors from their attributes (look-alikes when none are given)."""
        if features is None:
            return super()._embed_added(features)
        return self.embed_items(features)

    def _get_state(self) -> dict[str, np.ndarray]:
        return {
            **prefixed("als", self.als_.get_state()),
            "user_factors": self.user_factors_,
            "item_factors": self.item_factors_,
            "user_weights": self.user_weights_,
            "user_bias": self.user_bias_,
            "item_weights": self.item_weights_,
            "item_bias": self.item_bias_,
        }

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.als_ = ALSModel.from_state(self._als_params(), unprefixed("als", state))
        f32 = np.float32
        self.user_factors_ = np.ascontiguousarray(state["user_factors"], dtype=f32)
        self.item_factors_ = np.ascontiguousarray(state["item_factors"], dtype=f32)
        self.user_weights_ = np.asarray(state["user_weights"], dtype=f32)
        self.user_bias_ = np.asarray(state["user_bias"], dtype=f32)
        self.item_weights_ = np.asarray(state["item_weights"], dtype=f32)
        self.item_bias_ = np.asarray(state["item_bias"], dtype=f32)
