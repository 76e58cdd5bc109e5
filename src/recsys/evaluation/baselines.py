"""Reference models outside recsys, behind the evaluation surface: raw ``implicit`` ALS and
LightFM with member features (LightFM is optional: ``pip install lightfm-next``)."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
from implicit.als import AlternatingLeastSquares

from recsys.data import RetailDataset
from recsys.exceptions import InvalidInputError, NotFittedError

__all__ = ["BaselineEntry", "ImplicitALSBaseline", "LightFMBaseline", "lightfm_available"]


class BaselineEntry(NamedTuple):
    """One shelf entry of a baseline (the facade's ``Recommendation`` without a reason)."""

    item_id: str
    score: float


class ImplicitALSBaseline:
    """Raw ``implicit`` ALS with its default settings, behind the facade's evaluation surface.

    Builds the same :class:`~recsys.data.RetailDataset` (and so the same confidence matrix) as
    :class:`~recsys.Recommender`, trains ``implicit.als.AlternatingLeastSquares(**params)`` on
    it and answers :meth:`recommend_batch` with implicit's own ``recommend``
    (``filter_already_liked_items`` = ``exclude_purchased``). implicit filters the SKUs of the
    ``user_items`` rows it is given; it is given the members' *purchase* rows, so it leaves
    out exactly what the facade leaves out (already bought), not everything viewed. No store
    filter, no cold start: it is the reference row of the quality report, not a product.

    Parameters
    ----------
    random_state : int, optional
        Only for reproducible runs; every other setting is implicit's default.
    **params
        Passed to ``AlternatingLeastSquares`` (none for the reference row).

    Examples
    --------
    >>> from recsys.datasets import synthetic_retail
    >>> data = synthetic_retail(n_users=200, n_items=100, n_stores=2, items_per_store=(60, 80))
    >>> base = ImplicitALSBaseline().fit(data.interactions, catalog=data.catalog)
    >>> members = data.interactions.user_id.unique()[:2].tolist()
    >>> shelves = base.recommend_batch(members, 5)
    >>> [len(shelf) for shelf in shelves], type(shelves[0][0].item_id).__name__
    ([5, 5], 'str')
    """

    def __init__(self, random_state: int | None = 0, **params: Any) -> None:
        self.random_state = random_state
        self.params = params

    def fit(
        self,
        interactions: pd.DataFrame,
        catalog: pd.DataFrame | None = None,
        stores: pd.DataFrame | None = None,
        profiles: pd.DataFrame | None = None,
    ) -> ImplicitALSBaseline:
        """Build the dataset and train implicit's ALS on its confidence matrix; returns self."""
        self.dataset_ = RetailDataset.build(interactions, catalog, stores, profiles)
        self.purchased_ = self.dataset_.matrices.purchased.tocsr()
        self.model_ = AlternatingLeastSquares(random_state=self.random_state, **self.params)
        self.model_.fit(self.dataset_.matrices.confidence.tocsr(), show_progress=False)
        return self

    def recommend_arrays(
        self,
        users: np.ndarray,
        k: int = 10,
        *,
        store: int = -1,
        filter_purchased: bool = True,
        profiles: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """implicit's top-``k`` ``(ids, scores)`` per internal member id (the array core)."""
        if not hasattr(self, "model_"):
            raise NotFittedError("ImplicitALSBaseline isn't fitted: call fit() first")
        if store >= 0 or profiles is not None:
            raise InvalidInputError("the implicit baseline has no store filter or cold start")
        users = np.asarray(users, dtype=np.int64)
        ids, scores = self.model_.recommend(
            users, self.purchased_[users], N=k, filter_already_liked_items=filter_purchased
        )
        return np.atleast_2d(ids).astype(np.int64), np.atleast_2d(scores).astype(np.float32)

    def recommend_batch(
        self,
        member_ids: Sequence[str],
        k: int = 10,
        *,
        store_id: str | None = None,
        filters: Any = None,
        exclude_purchased: bool = True,
    ) -> list[list[BaselineEntry]]:
        """implicit's top-``k`` per member, in input order (unknown members raise)."""
        if store_id is not None or filters:
            raise InvalidInputError("the implicit baseline has no store or catalog filters")
        if not hasattr(self, "model_"):
            raise NotFittedError("ImplicitALSBaseline isn't fitted: call fit() first")
        users = self.dataset_.users.to_index(list(member_ids))
        ids, scores = self.recommend_arrays(users, k, filter_purchased=exclude_purchased)
        names = self.dataset_.items.ids
        return [
            [
                BaselineEntry(str(names[i]), float(s))
                for i, s in zip(row, vals, strict=True)
                if i >= 0
            ]
            for row, vals in zip(ids, scores, strict=True)
        ]


def lightfm_available() -> bool:
    """Whether the optional ``lightfm`` package (``pip install lightfm-next``) is installed."""
    return importlib.util.find_spec("lightfm") is not None


class LightFMBaseline:
    """LightFM (WARP loss) with member features: an indicator per member plus its tags.

    The reference a profile-aware recommender must beat, on members with history and on new
    members (tags only). Trained on the same :class:`~recsys.data.RetailDataset` confidence
    matrix as recsys; scores are the user and item representations' dot products plus the
    item biases.

    Parameters
    ----------
    no_components, epochs, learning_rate : int, int, float
        LightFM's.
    num_threads : int
        Training threads.
    random_state : int, optional
        Seed.

    Examples
    --------
    >>> from recsys.datasets import synthetic_retail
    >>> data = synthetic_retail(n_users=200, n_items=100, n_stores=2, items_per_store=(60, 80))
    >>> base = LightFMBaseline(epochs=2).fit(data.interactions, profiles=data.profiles)
    >>> ids, scores = base.recommend_arrays(np.array([0, 1]), 5)
    >>> ids.shape
    (2, 5)
    """

    def __init__(
        self,
        no_components: int = 64,
        epochs: int = 30,
        learning_rate: float = 0.05,
        num_threads: int = 2,
        random_state: int | None = 0,
    ) -> None:
        self.no_components = no_components
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.num_threads = num_threads
        self.random_state = random_state

    def _user_rows(self, users: np.ndarray, profiles: sp.csr_matrix | None) -> sp.csr_matrix:
        """Member indicator (known members) beside the tag columns."""
        n = len(users)
        n_users = self.dataset_.n_users
        known = users >= 0
        ident = sp.csr_matrix(
            (np.ones(int(known.sum()), np.float32), (np.flatnonzero(known), users[known])),
            shape=(n, n_users),
        )
        tags = self.dataset_.profile_rows(np.where(known, users, -1))
        if profiles is not None:
            tags = sp.csr_matrix(tags + sp.csr_matrix(profiles, dtype=np.float32))
        return sp.csr_matrix(sp.hstack([ident, tags]), dtype=np.float32)

    def fit(
        self,
        interactions: pd.DataFrame,
        catalog: pd.DataFrame | None = None,
        stores: pd.DataFrame | None = None,
        profiles: pd.DataFrame | None = None,
    ) -> LightFMBaseline:
        """Build the dataset and train LightFM on its confidence matrix; returns self."""
        if not lightfm_available():
            raise InvalidInputError("LightFMBaseline needs lightfm: pip install lightfm-next")
        from lightfm import LightFM  # optional, benchmark-only dependency

        self.dataset_ = RetailDataset.build(interactions, catalog, stores, profiles)
        self.purchased_ = self.dataset_.matrices.purchased.tocsr()
        users = np.arange(self.dataset_.n_users)
        self.user_features_ = self._user_rows(users, None)
        self.model_ = LightFM(
            no_components=self.no_components,
            loss="warp",
            learning_rate=self.learning_rate,
            random_state=self.random_state,
        )
        conf = sp.coo_matrix(self.dataset_.matrices.confidence)
        self.model_.fit(
            conf,
            user_features=self.user_features_,
            sample_weight=conf,
            epochs=self.epochs,
            num_threads=self.num_threads,
        )
        return self

    def recommend_arrays(
        self,
        users: np.ndarray,
        k: int = 10,
        *,
        store: int = -1,
        filter_purchased: bool = True,
        profiles: sp.csr_matrix | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` ``(ids, scores)`` per member; ``-1`` members scored from ``profiles``."""
        if not hasattr(self, "model_"):
            raise NotFittedError("LightFMBaseline isn't fitted: call fit() first")
        if store >= 0:
            raise InvalidInputError("the LightFM baseline has no store filter")
        users = np.asarray(users, dtype=np.int64)
        rows = self._user_rows(users, profiles)
        user_vecs = rows @ self.model_.user_embeddings
        scores = user_vecs @ self.model_.item_embeddings.T + self.model_.item_biases
        scores = np.asarray(scores, dtype=np.float32)
        if filter_purchased:
            known = np.flatnonzero(users >= 0)
            bought = sp.csr_matrix(self.purchased_[users[known]])
            rows_of = np.repeat(known, np.diff(bought.indptr))
            scores[rows_of, bought.indices] = -np.inf
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        vals = np.take_along_axis(scores, top, axis=1)
        return np.where(np.isfinite(vals), top, -1).astype(np.int64), vals
