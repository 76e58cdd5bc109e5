"""Fixtures of the evaluation tests: a hand-made split, a recommender with fixed shelves, and
synthetic splits (test modules can't import from here, so helpers are fixtures)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pytest

from recsys.data import RetailDataset
from recsys.datasets import shared_data_dir


class Entry(NamedTuple):
    item_id: str
    score: float


@dataclass
class FixedShelves:
    """A 'recommender' whose shelves are given up front, so every metric is known exactly.

    ``shelves[store][member]`` is a member's shelf (``store`` None: no store filter);
    ``cold[tag value of "age_band"]`` is a cold shelf. Every call is recorded.
    """

    dataset_: RetailDataset
    shelves: dict[str | None, dict[str, list[str]]]
    cold: dict[str, list[str]] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def recommend_arrays(self, users, k=10, *, store=-1, filter_purchased=True, profiles=None):
        """The evaluation surface: internal ids in, ``(ids, scores)`` out."""
        ds = self.dataset_
        store_id = None if store < 0 else str(ds.stores.ids[store])
        if profiles is None:
            members = [str(m) for m in ds.users.ids[users]]
            self.calls.append(
                {"members": members, "k": k, "store_id": store_id, "exclude": filter_purchased}
            )
            table = self.shelves[store_id]
            lists = [table.get(m, [])[:k] for m in members]
        else:
            lists = []
            for row in range(profiles.shape[0]):
                tags = dict(
                    ds.profile_encoder.feature_names[c].split("=", 1) for c in profiles[row].indices
                )
                self.calls.append({"member": None, "profile": tags, "k": k})
                lists.append(self.cold.get(tags.get("age_band"), [])[:k])
        ids = np.full((len(lists), k), -1, dtype=np.int64)
        for row, items in enumerate(lists):
            ids[row, : len(items)] = ds.items.to_index(items)
        return ids, np.where(ids >= 0, 1.0, -np.inf).astype(np.float32)


@pytest.fixture
def tiny():
    """Six SKUs in three categories, two stores, four members (u4 profile-only); see
    test_evaluate.py."""
    catalog = pd.DataFrame(
        {
            "item_id": list("abcdef"),
            "category": ["tops", "tops", "shoes", "shoes", "bags", "bags"],
        }
    )
    stores = pd.DataFrame(
        {"store_id": ["s1"] * 4 + ["s2"] * 3, "item_id": list("abcd") + list("cef")}
    )

    def ev(user, item, kind="purchase", store="s1", day=1):
        return {
            "user_id": user,
            "item_id": item,
            "kind": kind,
            "value": 1.0,
            "timestamp": pd.Timestamp("2025-01-01") + pd.Timedelta(days=day),
            "store_id": store,
        }

    train = pd.DataFrame(
        [
            ev("u1", "a"),
            ev("u1", "b", "view"),
            ev("u2", "c"),
            ev("u2", "a", "view"),
            ev("u3", "d", "view"),
        ]
    )
    test = pd.DataFrame(
        [
            ev("u1", "b", day=10),  # relevant, in s1
            ev("u1", "e", store="s2", day=10),  # relevant, in s2
            ev("u1", "a", day=10),  # bought in train: not relevant with exclude_train
            ev("u2", "d", day=11),  # relevant
            ev("u2", "f", "view", day=11),  # a view: not relevant when test has purchases
            ev("u3", "f", "view", day=11),  # u3 has no relevant purchase: skipped
            ev("u4", "a", day=12),  # new member (no train history): skipped
        ]
    )
    # u4 has a profile row, so the model knows u4, but u4 has no history: not warm.
    # Every tag value of the cold tests is seen here: cold shelves come from encoded tags.
    profiles = pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u3", "u4"],
            "age_band": ["25-34", "25-34", "25-34", "55-64"],
            "family": ["kids", "kids", "single", "kids"],
        }
    )
    dataset = RetailDataset.build(train, catalog=catalog, stores=stores, profiles=profiles)
    assert "u4" in dataset.users
    return {"train": train, "test": test, "catalog": catalog, "stores": stores, "dataset": dataset}


@pytest.fixture
def fixed_shelves():
    """The :class:`FixedShelves` class (a fixture, since tests can't import conftest)."""
    return FixedShelves


@pytest.fixture(scope="session")
def synthetic_split(small_data):
    """``small_data`` split for warm (temporal) and cold evaluation.

    Returns a dict: ``data``; ``train``/``test`` (temporal split of the members kept);
    ``cold_test``/``cold_profiles`` (20% of members held out); ``fit_profiles`` (profiles
    without the held-out members).
    """
    from recsys.evaluation import cold_user_split, temporal_split

    rest, cold_test, cold_profiles = cold_user_split(
        small_data.interactions, small_data.profiles, 0.2, seed=0
    )
    train, test = temporal_split(rest, test_fraction=0.2)
    hidden = small_data.profiles.user_id.isin(set(cold_profiles.user_id))
    return {
        "data": small_data,
        "train": train,
        "test": test,
        "cold_test": cold_test,
        "cold_profiles": cold_profiles,
        "fit_profiles": small_data.profiles[~hidden],
    }


@pytest.fixture(scope="session")
def fit_on_split(synthetic_split):
    """Fit ``Recommender(model, factors=16, seed=0)`` on the split's train part (iterations=5
    for the models that iterate)."""
    import recsys

    cache: dict[str, Any] = {}
    split = synthetic_split

    def fit(model: str) -> recsys.Recommender:
        if model not in cache:
            params = {"iterations": 5} if model in ("als", "bpr", "profile", "hybrid") else {}
            cache[model] = recsys.Recommender(model=model, factors=16, seed=0, **params).fit(
                split["train"],
                catalog=split["data"].catalog,
                stores=split["data"].stores,
                profiles=split["fit_profiles"],
            )
        return cache[model]

    return fit


@pytest.fixture(scope="session")
def online_retail_folder() -> Path:
    shared = shared_data_dir()
    if shared is None:
        pytest.skip("no shared data folder (../shared/data or $RECSYS_SHARED_DATA)")
    folder = shared / "uci-online-retail"
    if not folder.is_dir():
        pytest.skip(f"'uci-online-retail' is not in the shared data folder {shared}")
    return folder
