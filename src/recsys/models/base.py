"""The one small protocol every model follows, typed by what a model is.

A model learns from :class:`~recsys.data.TrainingMatrices` (internal ids only) and is either

* a :class:`VectorModel`: ``user_factors_``, ``item_factors_`` and ``fold_in`` (a vector for
  a member from a history row and a profile row), so the recommender searches item vectors;
* or a :class:`ScoreModel`: ``score`` returns a dense (n_members, n_items) array and the
  recommender ranks it with the same filters.

Both have ``score`` (a vector model scores with a dot product), so evaluation can treat all
models alike. Hyperparameters come from ``__init__`` (:class:`~recsys.params.Params`).

Public methods are templates (fitted check, shapes, dtype); subclasses implement the
private hooks ``_fit``, ``_fold_in`` / ``_score`` and the state round trip.

SKUs added after training (:meth:`RecModel.with_items`) are handled here, once for every
model: a history row's columns of added SKUs are folded onto their look-alikes before a
hook sees it, so hooks only ever see the ``n_trained_items_`` SKUs they learned, and an
added SKU scores the weighted mean of its look-alikes' scores (a vector model gives it the
weighted mean of their vectors, or a vector from its attributes).
"""

from __future__ import annotations

import copy
import numbers
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recsys.data.matrices import TrainingMatrices
from recsys.exceptions import ArtifactError, InvalidInputError, NotFittedError
from recsys.models._linalg import sparse_from_state, sparse_to_state
from recsys.params import Params

_M = TypeVar("_M", bound="RecModel")

#: name -> model class, filled by :func:`register`
MODEL_REGISTRY: dict[str, type[RecModel]] = {}


def register(cls: type[_M]) -> type[_M]:
    """Class decorator: make a model reachable by its ``name`` (``"als"``, ``"ease"`` ...)."""
    MODEL_REGISTRY[cls.name] = cls
    return cls


def training_threads() -> Any:
    """Pin BLAS to one thread where ``implicit`` trains (it warns and slows down otherwise).

    Called plainly it pins BLAS for the rest of the process (as before); used as a context
    manager (``with training_threads(): ...``) it restores the previous limits on exit, so
    BLAS-heavy code elsewhere (EASE, FAISS, NumPy) keeps its threads.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    return threadpool_limits(1, "blas")


def check_int(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum``, else :class:`InvalidInputError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InvalidInputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_float(name: str, value: Any, minimum: float = 0.0, strict: bool = True) -> float:
    """``value`` as a finite float > ``minimum`` (>= if not ``strict``), else InvalidInputError."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = bool(np.isfinite(v)) and (v > minimum if strict else v >= minimum)
    if not ok:
        op = ">" if strict else ">="
        raise InvalidInputError(f"{name} must be a finite number {op} {minimum}, got {value!r}")
    return float(value)


def check_seed(value: Any) -> int | None:
    """A seed is ``None`` or a non-negative int (JSON-able, unlike a ``Generator``)."""
    if value is None:
        return None
    return check_int("seed", value, minimum=0)


class RecModel(Params, ABC):
    """Base class of recsys models (sklearn habits: params in ``__init__``, state ends in ``_``).

    Subclasses set ``name``, store every ``__init__`` argument under its own name, and
    implement ``_fit`` and ``_get_state`` / ``_set_state``; they derive from
    :class:`VectorModel` or :class:`ScoreModel`, never from this class directly.
    """

    name: ClassVar[str] = "base"
    #: whether the model reads profile rows (tags): a member with tags and no history gets
    #: the model's own shelf; models that don't fall back to popularity in the segment
    uses_profiles: ClassVar[bool] = False

    # learned state common to all models
    n_users_: int
    #: SKUs the model scores: the trained ones, then those added by :meth:`with_items`
    n_items_: int
    n_user_features_: int
    is_fitted_: bool
    #: look-alike weights of the SKUs added after training (rows) over the trained SKUs
    added_: sp.csr_matrix | None = None

    def forget_users(self, users: np.ndarray) -> None:
        """Erase what the model holds of these trained members (their learned vectors and
        rows), in place; models inside this one forget them too. Item-level weights learned
        from everyone stay until the next training."""
        users = np.asarray(users, dtype=np.int64)
        users = users[(users >= 0) & (users < self.n_users_)]
        for value in list(vars(self).values()):
            if value is not self and callable(getattr(value, "forget_users", None)):
                value.forget_users(users)
        factors = getattr(self, "user_factors_", None)
        if isinstance(factors, np.ndarray) and len(users):
            factors[users] = 0.0

    def item_neighbours(self) -> sp.csr_matrix | None:
        """The item-item weights the model scores with, when it has them: entry ``(h, i)``
        above 0 means a member's history SKU ``h`` raises SKU ``i`` (``None`` otherwise).

        Shelf reasons use it to say which SKU of the history brought a SKU ("often bought
        with the ..."); trained SKUs only.
        """
        return None

    @property
    def n_trained_items_(self) -> int:
        """SKUs the model learned (the width of every hook's history rows)."""
        return self.n_items_ - (0 if self.added_ is None else self.added_.shape[0])

    # ----------------------------------------------------------------- templates
    def fit(self: _M, matrices: TrainingMatrices) -> _M:
        """Learn from ``matrices`` from scratch and return ``self``."""
        _check_matrices(matrices)
        # a failed refit must not leave the previous fit looking usable
        self.is_fitted_ = False
        self.n_users_ = matrices.n_users
        self.n_items_ = matrices.n_items
        self.n_user_features_ = int(matrices.user_features.shape[1])
        self._fit(matrices)
        self.is_fitted_ = True
        return self

    def score(
        self,
        users: np.ndarray,
        history: sp.csr_matrix,
        features: sp.csr_matrix | None = None,
        store: int = -1,
        items: np.ndarray | None = None,
    ) -> np.ndarray:
        """Scores of every SKU (or of ``items``) for a batch of members; higher is better.

        Parameters
        ----------
        users : ndarray of int, shape (n,)
            Internal member ids, ``-1`` for a member unknown at training time.
        history : csr_matrix, shape (n, n_items)
            Current confidence rows of those members (training history plus updates).
        features : csr_matrix, shape (n, n_user_features), optional
            Encoded profile rows.
        store : int
            Internal store id the shelf is for, ``-1`` for none (used by per-store popularity).
        items : sorted ndarray of int, optional
            Score only these SKUs (a store's assortment): models that can, compute no more.

        Returns
        -------
        ndarray, float32, shape (n, n_items) or (n, len(items))
        """
        users, history, features = self._check_batch(users, history, features)
        if items is not None:
            items = np.asarray(items, dtype=np.int64)
            if items.size and (items.min() < 0 or items.max() >= self.n_items_):
                raise InvalidInputError(f"items must be SKU ids in [0, {self.n_items_})")
        return np.asarray(self._score_items(users, history, features, store, items), np.float32)

    def with_items(self: _M, weights: sp.spmatrix, features: sp.spmatrix | None = None) -> _M:
        """A copy of this model that also scores SKUs added after training; ``self`` is kept.

        Parameters
        ----------
        weights : sparse matrix, shape (n_added, n_trained_items_)
            Look-alike weights of *every* added SKU (those of earlier calls too, in order;
            see :func:`recsys.data.lookalikes.lookalike_weights`): an added SKU scores the
            weighted mean of its look-alikes' scores, and an event on it counts as events
            on them.
        features : sparse matrix, shape (n_added, n_item_features), optional
            Their attribute rows (``TrainingMatrices.item_features`` layout), for models that
            embed attributes (``profile``, ``hybrid``).

        Returns
        -------
        RecModel
            Of the same class, ``n_items_ == n_trained_items_ + n_added``.
        """
        self.check_fitted()
        w = sp.csr_matrix(weights, dtype=np.float32)
        if w.shape[1] != self.n_trained_items_:
            raise InvalidInputError(
                f"look-alike weights have {w.shape[1]} columns, the model learned "
                f"{self.n_trained_items_} SKUs"
            )
        out = copy.copy(self)
        out.n_items_ = self.n_trained_items_ + w.shape[0]
        out.added_ = w if w.shape[0] else None
        out._add_items(features)
        return out

    def _add_items(self, features: sp.spmatrix | None) -> None:
        """Hook of :meth:`with_items` (``added_`` is set): models with item arrays extend them."""

    def check_fitted(self) -> None:
        """Raise :class:`NotFittedError` unless ``fit`` (or a load) has run."""
        if not getattr(self, "is_fitted_", False):
            raise NotFittedError(f"{type(self).__name__} isn't fitted: call fit() first")

    # ------------------------------------------------------------ persistence
    def get_state(self) -> dict[str, np.ndarray]:
        """Learned arrays, to save with ``np.savez`` (no pickles)."""
        self.check_fitted()
        state = dict(self._get_state())
        state["_shape"] = np.array([self.n_users_, self.n_items_, self.n_user_features_])
        if self.added_ is not None:
            state.update(sparse_to_state("_added", self.added_))
            state.update(self._added_state())
        return state

    def _added_state(self) -> dict[str, np.ndarray]:
        """Arrays :meth:`_add_items` made that cannot be made again from ``added_`` alone."""
        return {}

    @classmethod
    def from_state(cls: type[_M], params: dict[str, Any], state: Mapping[str, np.ndarray]) -> _M:
        """Rebuild a fitted model from ``get_params()`` and ``get_state()``.

        ``state`` may be the dict itself or the ``NpzFile`` of ``np.load(path,
        allow_pickle=False)``. A missing array raises :class:`ArtifactError`.
        """
        model = cls(**params)
        arrays = {k: np.asarray(v) for k, v in state.items()}
        try:
            n_users, n_items, n_feat = (int(v) for v in arrays.pop("_shape"))
            added = {k: arrays.pop(k) for k in list(arrays) if k.startswith("_added")}
            model.n_users_, model.n_items_, model.n_user_features_ = n_users, n_items, n_feat
            model._set_state(arrays)
            if added:
                model.added_ = sparse_from_state("_added", added).astype(np.float32)
                model._set_added_state(added)
        except KeyError as exc:
            raise ArtifactError(
                f"saved state of model {cls.name!r} lacks array {exc.args[0]!r}; "
                "was it saved by another model or version?"
            ) from exc
        model.is_fitted_ = True
        return model

    def _set_added_state(self, state: dict[str, np.ndarray]) -> None:
        """Inverse of :meth:`_added_state` (``added_`` is set)."""

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _fit(self, matrices: TrainingMatrices) -> None: ...

    @abstractmethod
    def _get_state(self) -> dict[str, np.ndarray]: ...

    @abstractmethod
    def _set_state(self, state: dict[str, np.ndarray]) -> None: ...

    @abstractmethod
    def _scores(
        self, users: np.ndarray, history: sp.csr_matrix, features: sp.csr_matrix, store: int
    ) -> np.ndarray: ...

    def _scores_at(
        self,
        users: np.ndarray,
        history: sp.csr_matrix,
        features: sp.csr_matrix,
        store: int,
        items: np.ndarray,
    ) -> np.ndarray:
        """Scores of ``items`` only; models that can compute fewer columns override it."""
        return self._scores(users, history, features, store)[:, items]

    def _score_items(
        self,
        users: np.ndarray,
        history: sp.csr_matrix,
        features: sp.csr_matrix,
        store: int,
        items: np.ndarray | None,
    ) -> np.ndarray:
        """Scores of every SKU or of ``items``, added SKUs from their look-alikes."""
        added = self.added_
        if added is None:
            if items is None:
                return self._scores(users, history, features, store)
            return self._scores_at(users, history, features, store, items)
        n_trained = self.n_trained_items_
        if items is None:
            base = self._scores(users, history, features, store)
            return np.hstack([base, np.asarray((added @ base.T).T, dtype=np.float32)])
        trained, extra = items[items < n_trained], items[items >= n_trained] - n_trained
        weights = added[extra]
        need = np.union1d(trained, weights.indices).astype(np.int64)
        base = self._scores_at(users, history, features, store, need)
        out = np.empty((len(users), len(items)), dtype=np.float32)
        out[:, : len(trained)] = base[:, np.searchsorted(need, trained)]
        if len(extra):
            out[:, len(trained) :] = (weights[:, need] @ base.T).T
        return out

    # ---------------------------------------------------------------- helpers
    def _check_batch(
        self, users: Any, history: Any, features: Any
    ) -> tuple[np.ndarray, sp.csr_matrix, sp.csr_matrix]:
        self.check_fitted()
        ids = np.asarray(users, dtype=np.int64).reshape(-1)
        rows, feats = self._check_rows(history, features)
        if rows.shape[0] != ids.shape[0]:
            raise InvalidInputError("users and history rows differ in length")
        if ids.size and (ids.min() < -1 or ids.max() >= self.n_users_):
            raise InvalidInputError(
                f"internal member ids must be in [-1, {self.n_users_}), "
                f"got {ids.min()}..{ids.max()}"
            )
        return ids, rows, feats

    def _check_rows(self, history: Any, features: Any) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        if not (sp.issparse(history) or isinstance(history, np.ndarray)):
            raise InvalidInputError(
                f"history must be a sparse matrix or an array, got {type(history).__name__}"
            )
        plain = isinstance(history, sp.csr_matrix) and history.dtype == np.float32
        rows = history if plain else sp.csr_matrix(history, dtype=np.float32)
        if not rows.has_canonical_format:  # implicit's solvers expect summed duplicates
            rows = rows.copy()
            rows.sum_duplicates()
        if rows.shape[1] != self.n_items_:
            raise InvalidInputError(
                f"history has {rows.shape[1]} SKU columns, the model knows {self.n_items_}"
            )
        if self.added_ is not None:  # events on added SKUs count on their look-alikes
            n = self.n_trained_items_
            rows = sp.csr_matrix(rows[:, :n] + rows[:, n:] @ self.added_, dtype=np.float32)
        if features is None:
            features = sp.csr_matrix((rows.shape[0], self.n_user_features_), dtype=np.float32)
        plain = isinstance(features, sp.csr_matrix) and features.dtype == np.float32
        feats = features if plain else sp.csr_matrix(features, dtype=np.float32)
        if feats.shape != (rows.shape[0], self.n_user_features_):
            raise InvalidInputError(
                f"profile rows have shape {feats.shape}, expected "
                f"({rows.shape[0]}, {self.n_user_features_})"
            )
        return rows, feats

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


class ScoreModel(RecModel):
    """A model that scores SKUs densely per member (EASE, item-kNN, popularity).

    Subclasses implement ``_score``; the recommender ranks the dense rows with its filters.
    """

    @abstractmethod
    def _score(
        self, users: np.ndarray, history: sp.csr_matrix, features: sp.csr_matrix, store: int
    ) -> np.ndarray: ...

    def _scores(
        self, users: np.ndarray, history: sp.csr_matrix, features: sp.csr_matrix, store: int
    ) -> np.ndarray:
        return self._score(users, history, features, store)


class ItemItemModel(ScoreModel):
    """A score model whose scores are ``read(history) @ weights_``: dense item-item weights
    over the SKUs ``items_`` (EASE, next buys); the other SKUs score 0.

    Subclasses set ``weights_`` and ``items_`` in ``_fit`` and say in :meth:`read` how a
    history is weighed.
    """

    weights_: np.ndarray
    items_: np.ndarray

    @abstractmethod
    def read(self, history: sp.csr_matrix) -> sp.csr_matrix:
        """A history as the weights read it."""

    def _score(
        self, users: np.ndarray, history: sp.csr_matrix, features: sp.csr_matrix, store: int
    ) -> np.ndarray:
        history = self.read(history)
        if len(self.items_) == self.n_trained_items_:
            return np.asarray(history @ self.weights_, dtype=np.float32)
        out = np.zeros((history.shape[0], self.n_trained_items_), dtype=np.float32)
        out[:, self.items_] = history[:, self.items_] @ self.weights_
        return out

    def _get_state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights_, "items": self.items_}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.weights_ = np.ascontiguousarray(state["weights"], dtype=np.float32)
        self.items_ = np.asarray(state["items"], dtype=np.int64)


class VectorModel(RecModel):
    """A model with member and SKU vectors whose dot product ranks SKUs (ALS, BPR, profile...).

    Subclasses set ``user_factors_`` and ``item_factors_`` in ``_fit`` and implement
    ``_fold_in``; the recommender searches the item vectors (FAISS or a store's block).

    Attributes
    ----------
    user_factors_ : ndarray, float32, shape (n_users, n_factors)
    item_factors_ : ndarray, float32, shape (n_items, n_factors)
    """

    user_factors_: np.ndarray
    item_factors_: np.ndarray
    #: vectors of the SKUs added after training (see :meth:`RecModel.with_items`)
    added_vectors_: np.ndarray | None = None
    _every_vector: np.ndarray | None = None

    @property
    def item_vectors(self) -> np.ndarray:
        """Vectors of every SKU the model scores: ``item_factors_``, then the added SKUs'."""
        if self._every_vector is None:
            return self.item_factors_
        return self._every_vector

    def fold_in(self, history: sp.csr_matrix, features: sp.csr_matrix | None = None) -> np.ndarray:
        """Member vectors from history rows (and profile rows), without retraining.

        Parameters
        ----------
        history : csr_matrix, shape (n, n_items)
            Confidence rows, as in ``TrainingMatrices.confidence``; may be empty rows.
        features : csr_matrix, shape (n, n_user_features), optional
            Encoded profile rows; ``None`` means no tags.

        Returns
        -------
        ndarray, float32, shape (n, n_factors)
        """
        self.check_fitted()
        rows, feats = self._check_rows(history, features)
        return np.ascontiguousarray(self._fold_in(rows, feats), dtype=np.float32)

    def user_vectors(
        self,
        users: np.ndarray,
        history: sp.csr_matrix,
        features: sp.csr_matrix | None = None,
    ) -> np.ndarray:
        """Stored vectors for known members, folded-in vectors for unknown ones (``-1``)."""
        return self._vectors(*self._check_batch(users, history, features))

    def _vectors(self, ids: np.ndarray, rows: sp.csr_matrix, feats: sp.csr_matrix) -> np.ndarray:
        out = np.empty((ids.shape[0], self.item_factors_.shape[1]), dtype=np.float32)
        known = ids >= 0
        out[known] = self.user_factors_[ids[known]]
        if (~known).any():
            out[~known] = self._fold_in(rows[~known], feats[~known])
        return out

    @abstractmethod
    def _fold_in(self, history: sp.csr_matrix, features: sp.csr_matrix) -> np.ndarray: ...

    def _scores(
        self, users: np.ndarray, history: sp.csr_matrix, features: sp.csr_matrix, store: int
    ) -> np.ndarray:
        return self._vectors(users, history, features) @ self.item_factors_.T

    def _score_items(
        self,
        users: np.ndarray,
        history: sp.csr_matrix,
        features: sp.csr_matrix,
        store: int,
        items: np.ndarray | None,
    ) -> np.ndarray:
        vectors = self.item_vectors if items is None else self.item_vectors[items]
        return self._vectors(users, history, features) @ vectors.T

    # ------------------------------------------------------------ added SKUs
    def _embed_added(self, features: sp.spmatrix | None) -> np.ndarray:
        """Vectors of the added SKUs: the weighted mean of their look-alikes' vectors."""
        assert self.added_ is not None
        return np.asarray(self.added_ @ self.item_factors_, dtype=np.float32)

    def _add_items(self, features: sp.spmatrix | None) -> None:
        if self.added_ is None:
            self.added_vectors_ = self._every_vector = None
            return
        self._set_added_vectors(self._embed_added(features))

    def _set_added_vectors(self, vectors: np.ndarray) -> None:
        self.added_vectors_ = np.ascontiguousarray(vectors, dtype=np.float32)
        self._every_vector = np.ascontiguousarray(np.vstack([self.item_factors_, vectors]))

    def _added_state(self) -> dict[str, np.ndarray]:
        assert self.added_vectors_ is not None
        return {"_added_vectors": self.added_vectors_}

    def _set_added_state(self, state: dict[str, np.ndarray]) -> None:
        self._set_added_vectors(np.asarray(state["_added_vectors"], dtype=np.float32))


def _check_matrices(matrices: Any) -> None:
    if not isinstance(matrices, TrainingMatrices):
        raise InvalidInputError(
            f"fit() takes TrainingMatrices, got {type(matrices).__name__}; "
            "build them with RetailDataset.build(...).matrices"
        )
    if matrices.n_users == 0 or matrices.n_items == 0:
        raise InvalidInputError("cannot fit on an empty interaction matrix")
    if matrices.user_features.shape[0] != matrices.n_users:
        raise InvalidInputError(
            f"user_features has {matrices.user_features.shape[0]} rows, "
            f"confidence has {matrices.n_users} members"
        )
    if matrices.item_features.shape[0] != matrices.n_items:
        raise InvalidInputError(
            f"item_features has {matrices.item_features.shape[0]} rows, "
            f"confidence has {matrices.n_items} SKUs"
        )
