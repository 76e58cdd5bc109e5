"""Every model behind the facade: shelf shape, oversized k, batch = single, save/load, refit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import recsys
from recsys.recommender import Recommendation

MODELS = ["als", "bpr", "itemknn", "ease", "popular", "profile", "hybrid"]


def _member_and_store(data):
    return data.interactions.user_id.iloc[0], data.stores.store_id.iloc[0]


@pytest.mark.parametrize("model", MODELS)
def test_shelf_shape_and_store(model, fitted, small_data):
    rec = fitted(model)
    member, store = _member_and_store(small_data)
    shelf = rec.recommend(member, k=7, store_id=store)
    assert len(shelf) == 7
    assert all(isinstance(r, Recommendation) and r.reason for r in shelf)
    stocked = set(small_data.stores.loc[small_data.stores.store_id == store, "item_id"])
    assert {r.item_id for r in shelf} <= stocked
    scores = [r.score for r in shelf]
    assert scores == sorted(scores, reverse=True)
    assert len({r.item_id for r in shelf}) == 7


@pytest.mark.parametrize("model", MODELS)
def test_oversized_k_returns_every_allowed_item_once(model, fitted, small_data):
    rec = fitted(model)
    member, store = _member_and_store(small_data)
    stocked = set(small_data.stores.loc[small_data.stores.store_id == store, "item_id"])
    free = {"max_per_category": None, "dedupe_groups": False}  # no merchandising caps
    every = {"in_season": False}  # every season, not only today's
    shelf = rec.recommend(
        member, k=10_000, store_id=store, exclude_purchased=False, rules=free, filters=every
    )
    assert {r.item_id for r in shelf} == stocked
    assert len(shelf) == len(stocked)
    # the chain default caps each category at three SKUs
    capped = rec.recommend(member, k=10_000, store_id=store, exclude_purchased=False, filters=every)
    categories = small_data.catalog.set_index("item_id").category
    counts = pd.Series([categories[r.item_id] for r in capped]).value_counts()
    assert counts.max() == 3 and set(counts.index) == set(categories[list(stocked)])


@pytest.mark.parametrize("model", MODELS)
def test_batch_equals_single(model, fitted, small_data, assert_same_shelf):
    rec = fitted(model)
    members = list(small_data.interactions.user_id.unique()[:5])
    store = small_data.stores.store_id.iloc[0]
    batch = rec.recommend_batch(members, k=5, store_id=store)
    for member, shelf in zip(members, batch, strict=True):
        single = rec.recommend(member, k=5, store_id=store)
        assert_same_shelf(shelf, single)
        reasons = {r.item_id: r.reason for r in single}
        assert all(r.reason == reasons[r.item_id] for r in shelf if r.item_id in reasons)


@pytest.mark.parametrize("model", MODELS)
def test_save_load_gives_identical_shelves(model, fitted, small_data, tmp_path):
    rec = fitted(model)
    rec.save(tmp_path / "m")
    loaded = recsys.Recommender.load(tmp_path / "m")
    assert loaded.model_version == rec.model_version
    store = small_data.stores.store_id.iloc[1]
    for member in small_data.interactions.user_id.unique()[:10]:
        a = rec.recommend(member, k=8, store_id=store)
        b = loaded.recommend(member, k=8, store_id=store)
        assert a == b
    cold = {"age_band": "25-34", "family": "kids"}
    assert rec.recommend(None, k=5, profile=cold) == loaded.recommend(None, k=5, profile=cold)


def test_refit_starts_from_scratch(small_data):
    rec = recsys.Recommender(model="als", factors=8, iterations=3).fit(small_data)
    half = small_data.interactions.iloc[: len(small_data.interactions) // 2]
    rec.fit(
        half, catalog=small_data.catalog, stores=small_data.stores, profiles=small_data.profiles
    )
    assert rec.dataset_.matrices.confidence.nnz < len(small_data.interactions)
    fresh = recsys.Recommender(model="als", factors=8, iterations=3).fit(
        half, catalog=small_data.catalog, stores=small_data.stores, profiles=small_data.profiles
    )
    np.testing.assert_allclose(rec.model_.item_factors_, fresh.model_.item_factors_, atol=1e-5)


def test_a_store_shelf_shows_the_season_of_its_day(fitted, small_data):
    rec = fitted("ease")
    member, store = _member_and_store(small_data)
    catalog = rec.dataset_.catalog
    for day in ("2026-07-15", "2026-01-15"):
        shelf = rec.recommend(member, k=40, store_id=store, at=day)
        in_season = catalog.in_season_mask(day)
        assert shelf and all(in_season[rec.dataset_.items.index_of(r.item_id)] for r in shelf)
    summer = {r.item_id for r in rec.recommend(member, k=40, store_id=store, at="2026-07-15")}
    winter = {r.item_id for r in rec.recommend(member, k=40, store_id=store, at="2026-01-15")}
    assert summer != winter
    every = rec.recommend(
        member, k=40, store_id=store, at="2026-07-15", filters={"in_season": False}
    )
    assert not all(
        catalog.in_season_mask("2026-07-15")[rec.dataset_.items.index_of(r.item_id)] for r in every
    )


def test_thousand_faces(fitted, small_data):
    rec = fitted("hybrid")
    store = small_data.stores.store_id.iloc[0]
    members = list(small_data.interactions.user_id.unique()[:50])
    shelves = {
        tuple(r.item_id for r in s) for s in rec.recommend_batch(members, k=10, store_id=store)
    }
    assert len(shelves) == len(members)


def test_saving_over_a_model_never_touches_files_it_did_not_write(fitted, tmp_path):
    """A re-save replaces the artifact; a directory holding an event log is refused, intact."""
    from recsys.events import EventLog

    rec = fitted("als")
    path = rec.save(tmp_path / "m")
    rec.save(path)  # over its own artifact: fine
    assert recsys.Recommender.load(path).model_version == rec.model_version
    with EventLog(path / "events.sqlite") as log:
        log.append([{"user_id": "u1", "item_id": "sku1", "kind": "view", "event_id": "e1"}])
    before = sorted(p.name for p in path.iterdir())
    with pytest.raises(recsys.ArtifactError, match=r"events\.sqlite"):
        rec.save(path)
    assert sorted(p.name for p in path.iterdir()) == before
    with EventLog(path / "events.sqlite") as log:
        assert log.count() == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftovers


def test_artifact_holds_matrices_not_the_event_table(fitted, small_data, tmp_path):
    """No raw event rows on disk, and loading rebuilds no dataset from them."""
    rec = fitted("hybrid")
    path = rec.save(tmp_path / "m")
    names = {p.name for p in path.rglob("*")}
    assert not any(n.endswith(".parquet") for n in names)
    loaded = recsys.Recommender.load(path)
    assert loaded.dataset_.interactions is None
    a, b = loaded.dataset_.matrices.confidence, rec.dataset_.matrices.confidence
    assert (a != b).nnz == 0 and a.shape == b.shape


def test_the_same_arrays_over_other_ids_are_another_model_version(small_data):
    def version(data) -> str:
        return recsys.Recommender(model="popular").fit(data).model_version

    same = version(small_data)
    assert version(small_data) == same  # a content hash: the same fit, the same version
    renamed = small_data.stores.assign(store_id="x-" + small_data.stores.store_id)
    events = small_data.interactions.assign(store_id="x-" + small_data.interactions.store_id)
    moved = type(small_data)(events, small_data.catalog, renamed, small_data.profiles)
    assert version(moved) != same  # renamed stores: a retrain that must read as new
