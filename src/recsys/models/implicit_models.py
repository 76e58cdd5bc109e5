"""Collaborative filtering through ``implicit``: ALS, BPR and item-kNN.

The models hold an ``implicit`` model (composition, as RecTools does) and expose plain
NumPy float32 factors; ``implicit`` objects never leave this module. GPU training is used
only when asked for (``use_gpu=True``) and available; factors come back to NumPy in
:func:`_numpy_factors`, the one place that knows about GPU arrays.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import implicit.gpu
import numpy as np
import scipy.sparse as sp
from implicit.als import AlternatingLeastSquares
from implicit.bpr import BayesianPersonalizedRanking
from implicit.cpu.als import AlternatingLeastSquares as CPUAlternatingLeastSquares
from implicit.nearest_neighbours import BM25Recommender, CosineRecommender
from implicit.utils import ParameterWarning

from recsys.data.matrices import TrainingMatrices
from recsys.exceptions import InvalidInputError
from recsys.models._linalg import sparse_from_state, sparse_to_state
from recsys.models.base import (
    ScoreModel,
    VectorModel,
    check_float,
    check_int,
    check_seed,
    register,
    training_threads,
)


def _numpy_factors(model: Any) -> tuple[np.ndarray, np.ndarray]:
    """User and item factors of a fitted implicit model as C-contiguous float32 NumPy arrays.

    The only place that converts GPU factors (implicit's GPU models have ``to_cpu``).
    """
    if hasattr(model, "to_cpu"):
        model = model.to_cpu()
    users = np.ascontiguousarray(model.user_factors, dtype=np.float32)
    items = np.ascontiguousarray(model.item_factors, dtype=np.float32)
    return users, items


def _check_gpu(use_gpu: Any) -> bool:
    if not isinstance(use_gpu, bool):
        raise InvalidInputError(f"use_gpu must be True or False, got {use_gpu!r}")
    if use_gpu:
        if not implicit.gpu.HAS_CUDA:
            raise InvalidInputError(
                "use_gpu=True but implicit was built without CUDA (or no GPU is visible); "
                "use use_gpu=False"
            )
    return use_gpu


def _least_squares_solver(
    item_factors: np.ndarray, regularization: float, alpha: float, num_threads: int
) -> Any:
    """A CPU implicit ALS object holding ``item_factors``, used only for ``recalculate_user``.

    ``recalculate_user`` solves, per row, ``(VᵀCᵤV + λI) u = VᵀCᵤpᵤ`` with implicit's
    convention: an observed entry of confidence ``r`` has weight ``alpha * r`` and target 1,
    every other SKU weight 1 and target 0. It runs compiled and multi-threaded, batch-wise.
    """
    with training_threads():
        solver = CPUAlternatingLeastSquares(
            factors=item_factors.shape[1],
            regularization=regularization,
            alpha=alpha,
            dtype=np.float32,
            num_threads=num_threads,
        )
    solver.item_factors = np.ascontiguousarray(item_factors, dtype=np.float32)
    return solver


def _recalculate(solver: Any, history: sp.csr_matrix) -> np.ndarray:
    n = history.shape[0]
    if n == 0:
        return np.zeros((0, solver.factors), dtype=np.float32)
    return np.asarray(solver.recalculate_user(np.arange(n), history), dtype=np.float32)


class _FactorModel(VectorModel):
    """What ALS and BPR share: train an implicit model, keep its factors, fold in by least squares.

    Subclasses validate their parameters in ``_validate``, make the unfitted implicit model
    in ``_implicit_model`` and say in ``_build_solver`` which regularization the fold-in
    solver uses.
    """

    user_factors_: np.ndarray
    item_factors_: np.ndarray

    def _build_solver(self) -> None:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def _implicit_model(self) -> Any:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def _validate(self) -> None:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def _fit(self, matrices: TrainingMatrices) -> None:
        self._validate()
        # one BLAS-threads context for making and fitting: implicit reads the limits when
        # the model is made, and entering the context costs milliseconds
        with training_threads():
            model = self._implicit_model()
            model.fit(matrices.confidence, show_progress=False)
        self.user_factors_, self.item_factors_ = _numpy_factors(model)
        self._build_solver()

    def _get_state(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors_, "item_factors": self.item_factors_}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.user_factors_ = np.ascontiguousarray(state["user_factors"], dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(state["item_factors"], dtype=np.float32)
        self._build_solver()


@register
class ALSModel(_FactorModel):
    """Implicit-feedback ALS (Hu, Koren & Volinsky 2008) through ``implicit``.

    Parameters
    ----------
    factors : int
        Latent dimensions.
    regularization : float
        L2 penalty (> 0).
    alpha : float
        Confidence scaling: implicit trains on ``alpha * confidence`` (> 0).
    iterations : int
        ALS sweeps.
    seed : int or None
        Seed of the initial factors; with a fixed seed refits are identical.
    use_gpu : bool
        Train on the GPU (needs implicit built with CUDA); factors are NumPy afterwards.
    num_threads : int
        implicit's threads for training and fold-in; 0 means all cores.

    Attributes
    ----------
    user_factors_ : ndarray, float32, shape (n_users, factors)
    item_factors_ : ndarray, float32, shape (n_items, factors)

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from recsys.data.matrices import TrainingMatrices
    >>> m = TrainingMatrices.from_confidence(sp.random(30, 20, density=0.2, random_state=0))
    >>> als = ALSModel(factors=4, iterations=3).fit(m)
    >>> als.item_factors_.shape, als.fold_in(m.confidence[:2]).shape
    ((20, 4), (2, 4))
    """

    name: ClassVar[str] = "als"

    user_factors_: np.ndarray
    item_factors_: np.ndarray

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 10.0,
        alpha: float = 10.0,
        iterations: int = 15,
        seed: int | None = 0,
        use_gpu: bool = False,
        num_threads: int = 0,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.seed = seed
        self.use_gpu = use_gpu
        self.num_threads = num_threads

    def _validate(self) -> None:
        check_int("factors", self.factors)
        check_float("regularization", self.regularization)
        check_float("alpha", self.alpha)
        check_int("iterations", self.iterations)
        check_seed(self.seed)
        check_int("num_threads", self.num_threads, minimum=0)
        _check_gpu(self.use_gpu)

    def _implicit_model(self) -> Any:
        return AlternatingLeastSquares(
            factors=int(self.factors),
            regularization=float(self.regularization),
            alpha=float(self.alpha),
            dtype=np.float32,
            iterations=int(self.iterations),
            use_gpu=self.use_gpu,
            num_threads=int(self.num_threads),
            random_state=self.seed,
        )

    def _build_solver(self) -> None:
        # rebuilt from the NumPy factors after fit and after load, so fold-in is the same.
        # One thread: a fold-in solves a few members, and implicit's num_threads=0 (an
        # OpenMP team over every core) costs ~12 ms per call against ~0.07 ms on one thread.
        self._solver = _least_squares_solver(
            self.item_factors_, float(self.regularization), float(self.alpha), 1
        )

    def _fold_in(self, history: sp.csr_matrix, features: sp.csr_matrix) -> np.ndarray:
        # the same least-squares step ALS training takes for a member, from the item factors
        return _recalculate(self._solver, history)


@register
class BPRModel(_FactorModel):
    """Bayesian Personalized Ranking (Rendle et al. 2009) through ``implicit``.

    implicit's BPR learns an item bias as the last column of the item factors (the user
    factors carry a constant 1 there), so ``item_factors_`` has ``factors + 1`` columns and
    dot products rank exactly as implicit does.

    BPR has no closed-form user step, so :meth:`fold_in` is a weighted least-squares
    projection onto the item factors, ``u = (VᵀCV + λI)⁻¹ VᵀCp`` (weight ``alpha * r`` on
    the member's SKUs, 1 elsewhere; λ = ``fold_in_regularization``), solved by implicit's
    compiled solver. The bias column is solved like any other dimension, so a folded-in
    member's last coordinate is a learned weight on the item bias rather than the constant 1
    of trained members (scores are only ever compared within a member, so the scale of that
    weight does not matter). A member with no history gets the pure bias vector ``(0, ..., 1)``:
    BPR's own popularity-like ranking.

    Parameters
    ----------
    factors : int
        Latent dimensions (plus one bias column).
    learning_rate : float
        SGD step (> 0).
    regularization : float
        L2 penalty of the SGD updates (> 0).
    iterations : int
        Epochs.
    seed : int or None
        Random seed; BPR is deterministic only with ``num_threads=1`` (Hogwild otherwise).
    alpha : float
        Confidence scaling of the fold-in weights.
    fold_in_regularization : float
        λ of the fold-in least squares (> 0).
    verify_negative_samples : bool
        Re-draw negatives the member actually liked (slower, usually better).
    use_gpu : bool
        Train on the GPU when implicit has CUDA.
    num_threads : int
        0 means all cores.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from recsys.data.matrices import TrainingMatrices
    >>> m = TrainingMatrices.from_confidence(sp.random(30, 20, density=0.2, random_state=0))
    >>> bpr = BPRModel(factors=4, iterations=5, num_threads=1).fit(m)
    >>> bpr.item_factors_.shape, bpr.score([-1], m.confidence[:1]).shape
    ((20, 5), (1, 20))
    """

    name: ClassVar[str] = "bpr"

    user_factors_: np.ndarray
    item_factors_: np.ndarray

    def __init__(
        self,
        factors: int = 64,
        learning_rate: float = 0.01,
        regularization: float = 0.01,
        iterations: int = 100,
        seed: int | None = 0,
        alpha: float = 10.0,
        fold_in_regularization: float = 0.1,
        verify_negative_samples: bool = True,
        use_gpu: bool = False,
        num_threads: int = 0,
    ) -> None:
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.seed = seed
        self.alpha = alpha
        self.fold_in_regularization = fold_in_regularization
        self.verify_negative_samples = verify_negative_samples
        self.use_gpu = use_gpu
        self.num_threads = num_threads

    def _validate(self) -> None:
        check_int("factors", self.factors)
        check_float("learning_rate", self.learning_rate)
        check_float("regularization", self.regularization)
        check_int("iterations", self.iterations)
        check_seed(self.seed)
        check_float("alpha", self.alpha)
        check_float("fold_in_regularization", self.fold_in_regularization)
        if not isinstance(self.verify_negative_samples, bool):
            raise InvalidInputError("verify_negative_samples must be True or False")
        check_int("num_threads", self.num_threads, minimum=0)
        _check_gpu(self.use_gpu)

    def _implicit_model(self) -> Any:
        return BayesianPersonalizedRanking(
            factors=int(self.factors),
            learning_rate=float(self.learning_rate),
            regularization=float(self.regularization),
            dtype=np.float32,
            iterations=int(self.iterations),
            use_gpu=self.use_gpu,
            num_threads=int(self.num_threads),
            verify_negative_samples=self.verify_negative_samples,
            random_state=self.seed,
        )

    def _build_solver(self) -> None:
        self._solver = _least_squares_solver(
            self.item_factors_,
            float(self.fold_in_regularization),
            float(self.alpha),
            1,  # one thread, as for ALS: see ALSModel._build_solver
        )

    def _fold_in(self, history: sp.csr_matrix, features: sp.csr_matrix) -> np.ndarray:
        out = _recalculate(self._solver, history)
        empty = np.diff(history.indptr) == 0
        out[empty] = 0.0
        out[empty, -1] = 1.0  # no history: rank by the learned item bias
        return out


_SIMILARITIES = ("cosine", "bm25")


@register
class ItemKNNModel(ScoreModel):
    """Item-item nearest neighbours through implicit (cosine or BM25), a score model.

    The similarity matrix keeps the ``K`` nearest SKUs of every SKU; a member's scores are
    ``history @ similarity``, exactly what implicit's scorer sums (without its filtering,
    which the recommender does).

    Parameters
    ----------
    K : int
        Neighbours kept per SKU.
    similarity : {"cosine", "bm25"}
        implicit's ``CosineRecommender`` or ``BM25Recommender``.
    bm25_k1, bm25_b : float
        BM25 weighting parameters (only with ``similarity="bm25"``).
    num_threads : int
        0 means all cores.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from recsys.data.matrices import TrainingMatrices
    >>> m = TrainingMatrices.from_confidence(sp.random(30, 20, density=0.2, random_state=0))
    >>> knn = ItemKNNModel(K=5).fit(m)
    >>> knn.similarity_.shape, knn.score([0, -1], m.confidence[:2]).shape
    ((20, 20), (2, 20))
    """

    name: ClassVar[str] = "itemknn"

    similarity_: sp.csr_matrix

    def __init__(
        self,
        K: int = 50,
        similarity: str = "cosine",
        bm25_k1: float = 1.2,
        bm25_b: float = 0.75,
        num_threads: int = 0,
    ) -> None:
        self.K = K
        self.similarity = similarity
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.num_threads = num_threads

    def item_neighbours(self) -> sp.csr_matrix:
        return self.similarity_

    def _validate(self) -> None:
        check_int("K", self.K)
        if self.similarity not in _SIMILARITIES:
            raise InvalidInputError(
                f"similarity must be one of {_SIMILARITIES}, got {self.similarity!r}"
            )
        check_float("bm25_k1", self.bm25_k1)
        check_float("bm25_b", self.bm25_b, strict=False)
        if self.bm25_b > 1:
            raise InvalidInputError(f"bm25_b must be in [0, 1], got {self.bm25_b!r}")
        check_int("num_threads", self.num_threads, minimum=0)

    def _fit(self, matrices: TrainingMatrices) -> None:
        self._validate()
        with training_threads(), warnings.catch_warnings():
            # implicit weights the matrix as COO and converts it itself: nothing to act on
            warnings.filterwarnings("ignore", "Method expects CSR", ParameterWarning)
            if self.similarity == "bm25":
                model: Any = BM25Recommender(
                    K=int(self.K),
                    K1=float(self.bm25_k1),
                    B=float(self.bm25_b),
                    num_threads=int(self.num_threads),
                )
            else:
                model = CosineRecommender(K=int(self.K), num_threads=int(self.num_threads))
            model.fit(matrices.confidence, show_progress=False)
        sim = sp.csr_matrix(model.similarity, dtype=np.float32)
        sim.sum_duplicates()
        self.similarity_ = sim

    def _score(
        self, users: np.ndarray, history: sp.csr_matrix, features: sp.csr_matrix, store: int
    ) -> np.ndarray:
        return np.asarray((history @ self.similarity_).toarray(), dtype=np.float32)

    def _get_state(self) -> dict[str, np.ndarray]:
        return sparse_to_state("similarity", self.similarity_)

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.similarity_ = sparse_from_state("similarity", state).astype(np.float32)
