"""Parameters from ``__init__`` (clone works), the array core, and Arrow-compatible input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone

import recsys
from recsys.models import make_model


def test_clone_of_a_recommender_keeps_every_parameter():
    rec = recsys.Recommender(model="als", factors=8, seed=3, live_boost=2.0, iterations=4)
    twin = clone(rec)
    assert twin is not rec and twin.get_params() == rec.get_params()
    assert twin.get_params()["iterations"] == 4
    assert not twin.is_fitted


def test_set_params_reaches_the_model_and_a_typo_fails_at_fit(small_data):
    rec = recsys.Recommender(model="als", factors=8).set_params(iterations=2, factors=4)
    assert rec.fit(small_data).model_.item_factors_.shape[1] == 4
    with pytest.raises(recsys.InvalidInputError, match="iteratons"):
        recsys.Recommender(model="als", iteratons=3).fit(small_data)


@pytest.mark.parametrize("name", ["als", "bpr", "itemknn", "ease", "popular", "profile", "hybrid"])
def test_clone_of_every_model(name):
    model = make_model(name)
    assert clone(model).get_params() == model.get_params()


def test_recommend_arrays_is_the_core_of_recommend_batch(fitted, small_data):
    rec = fitted("ease")
    members = list(small_data.interactions.user_id.unique()[:20])
    store = small_data.stores.store_id.iloc[0]
    raw = {
        "rules": {"max_per_category": None, "dedupe_groups": False},
        "filters": {"in_season": False},
    }
    shelves = rec.recommend_batch(members, k=5, store_id=store, **raw)
    users = rec.dataset_.users.to_index(members)
    ids, scores = rec.recommend_arrays(users, 5, store=rec.dataset_.stores.index_of(store))
    names = rec.dataset_.items.ids
    want = [names[row[row >= 0]].tolist() for row in ids]
    assert [[r.item_id for r in s] for s in shelves] == want
    np.testing.assert_allclose(scores[:, 0], [s[0].score for s in shelves], rtol=1e-6)


def test_recommend_arrays_filters_per_row_and_by_items(fitted):
    rec = fitted("als")
    ids, _ = rec.recommend_arrays([0, 1], 3)
    drop = sp.csr_matrix(([1, 1], ([0, 1], [ids[0, 0], ids[1, 1]])), shape=(2, rec.n_items))
    again, _ = rec.recommend_arrays([0, 1], 3, filter_items=drop)
    assert ids[0, 0] not in again[0] and ids[1, 1] not in again[1]
    only, _ = rec.recommend_arrays([0], 10, items=[5, 3, 9], filter_purchased=False)
    assert set(only[0][only[0] >= 0]) <= {3, 5, 9}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"users": [10**9]}, "users must lie"),
        ({"users": ["u1"]}, "integer ids"),
        ({"users": [0], "store": 10**6}, "store must be"),
        ({"users": [0], "items": [-3]}, "items must lie"),
        ({"users": [0], "filter_items": np.eye(3)}, "sparse"),
        ({"users": [0, 1], "filter_items": sp.csr_matrix((1, 5))}, "shape"),
    ],
)
def test_recommend_arrays_refuses_bad_input(fitted, kwargs, match):
    with pytest.raises(recsys.InvalidInputError, match=match):
        fitted("als").recommend_arrays(kwargs.pop("users"), 3, **kwargs)


@pytest.mark.parametrize("kind", ["pyarrow", "polars"])
def test_fit_takes_arrow_compatible_frames(small_data, kind):
    if kind == "polars":
        pl = pytest.importorskip("polars")
        convert = pl.from_pandas
    else:
        import pyarrow as pa

        def convert(frame: pd.DataFrame):
            return pa.Table.from_pandas(frame, preserve_index=False)

    ours = recsys.Recommender(model="ease").fit(
        convert(small_data.interactions),
        catalog=convert(small_data.catalog),
        stores=convert(small_data.stores),
        profiles=convert(small_data.profiles),
    )
    reference = recsys.Recommender(model="ease").fit(small_data)
    member = str(small_data.interactions.user_id.iloc[0])
    assert ours.recommend(member, k=5) == reference.recommend(member, k=5)


def test_fit_names_a_frame_it_cannot_read(small_data):
    with pytest.raises(recsys.InvalidInputError, match="catalog must be a DataFrame"):
        recsys.Recommender(model="ease").fit(small_data.interactions, catalog=[1, 2])


def test_a_huge_k_is_the_whole_catalog_not_an_out_of_memory(fitted, small_data):
    rec = fitted("hybrid")
    member = small_data.interactions.user_id.iloc[0]
    n_items, n_members = len(small_data.catalog), small_data.interactions.user_id.nunique()
    huge = 10**12  # a shelf this long would need terabytes
    everything = {"in_season": False}, {"max_per_category": None, "dedupe_groups": False}
    whole = rec.recommend(
        member, k=huge, filters=everything[0], rules=everything[1], exclude_purchased=False
    )
    assert len(whole) == n_items
    assert [len(s) for s in rec.recommend_batch([member, member], k=huge)] == [
        len(rec.recommend(member, k=n_items))
    ] * 2
    assert rec.recommend_arrays([0], k=huge)[0].shape == (1, n_items)
    assert len(rec.similar_items(small_data.catalog.item_id.iloc[0], k=huge)) < n_items
    assert len(rec.audience(small_data.catalog.item_id.iloc[0], k=huge)) <= n_members


def test_fallback_of_says_when_a_shelf_is_the_popular_one(fitted, small_data):
    rec = fitted("hybrid")
    member, store = small_data.interactions.user_id.iloc[0], small_data.stores.store_id.iloc[0]
    assert rec.fallback_of(member) is None
    assert rec.fallback_of("ghost", store_id=store) == "popular-in-store"
    assert rec.fallback_of(None, profile={"age_band": "25-34"}) is None  # tags it reads
    assert rec.fallback_of(None, profile={"zzz": "1"}) == "popular"  # none it knows
    with pytest.raises(recsys.InvalidInputError, match="profile must be a dict"):
        rec.fallback_of(None, profile="age_band=25-34")
