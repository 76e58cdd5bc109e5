"""Reference models outside recsys, behind the evaluation surface: raw ``implicit`` ALS."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from implicit.als import AlternatingLeastSquares

from recsys.data import RetailDataset
from recsys.exceptions import InvalidInputError, NotFittedError

__all__ = ["BaselineEntry", "ImplicitALSBaseline"]


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
