"""A live catalog: SKUs added and stock changed after training, without retraining."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

import recsys
from recsys import InvalidInputError, SchemaError, UnknownIdError

FREE = {"max_per_category": None, "dedupe_groups": False}  # no caps: the model's order


@pytest.fixture
def rec(small_data):
    return recsys.Recommender(model="als", factors=16, iterations=8, rules=FREE).fit(small_data)


def _store_of(data, member):
    events = data.interactions
    return events.loc[events.user_id == member, "store_id"].mode()[0]


def _variant_of(data, sku, new_id):
    """A new colour of ``sku``: same style, category, price and season."""
    row = data.catalog.set_index("item_id").loc[sku]
    return {
        "item_id": new_id,
        "category": row.category,
        "price": float(row.price),
        "season": row.season,
        "group_id": row.group_id,
        "name": f"{row['name']} (new colour)",
    }


@pytest.mark.parametrize("model", ["als", "ease", "hybrid", "blend"])
def test_a_new_colour_of_a_members_favourite_reaches_their_shelf(small_data, model):
    params = {"iterations": 8} if model in ("als", "hybrid") else {}
    rec = recsys.Recommender(model=model, factors=16, rules=FREE, **params).fit(small_data)
    member = small_data.interactions.user_id.iloc[0]
    store = _store_of(small_data, member)
    shelf = rec.recommend(member, k=10, store_id=store)
    favourite = shelf[0].item_id
    assert rec.add_items([_variant_of(small_data, favourite, "sku-new")], {store: ["sku-new"]}) == 1
    after = rec.recommend(member, k=10, store_id=store)
    ids = [r.item_id for r in after]
    assert "sku-new" in ids
    assert after[ids.index("sku-new")].reason == "new in your store"
    # the other shelves of the store are not broken by it: still ten SKUs, no duplicates
    assert len(ids) == len(set(ids)) == 10


def test_a_new_sku_has_its_style_as_neighbours_and_an_audience(rec, small_data):
    sibling = small_data.catalog.item_id.iloc[5]
    rec.add_items([_variant_of(small_data, sibling, "sku-new")])
    catalog = small_data.catalog.set_index("item_id")
    style = set(catalog.index[catalog.group_id == catalog.loc[sibling, "group_id"]])
    like = rec.similar_items("sku-new", k=3)
    assert len(style) > 1 and sum(r.item_id in style for r in like) >= 2
    assert all(r.reason.startswith("similar to") for r in like)
    fans = {m.member_id for m in rec.audience(sibling, k=30, exclude_purchased=False)}
    new_fans = {m.member_id for m in rec.audience("sku-new", k=30)}
    assert len(new_fans & fans) >= 20  # the same members want the new colour


def test_events_on_a_new_sku_count_at_once(rec, small_data):
    member = small_data.interactions.user_id.iloc[0]
    rec.add_items(pd.DataFrame([{"item_id": "sku-new", "category": "bags", "price": 30.0}]))
    before = rec.members_.vectors(np.array([rec.members_.index_of(member)]))[0].copy()
    assert rec.update([{"user_id": member, "item_id": "sku-new", "kind": "purchase"}]) == 1
    after = rec.members_.vectors(np.array([rec.members_.index_of(member)]))[0]
    assert not np.allclose(before, after)
    assert "sku-new" not in [r.item_id for r in rec.recommend(member, k=200)]  # bought


def test_changing_a_known_sku_moves_it_between_categories(rec, small_data):
    sku = small_data.catalog.item_id.iloc[0]
    assert rec.add_items([{"item_id": sku, "category": "bags"}]) == 0
    assert rec.n_items == len(small_data.catalog)
    bags = rec.recommend(None, k=200, profile={}, filters={"category": "bags"})
    assert sku in [r.item_id for r in bags]
    name = small_data.catalog.set_index("item_id").loc[sku, "name"]
    assert rec.dataset_.catalog.names[rec.dataset_.items.index_of(sku)] == name  # kept


def test_what_a_page_shows_of_a_sku_follows_catalog_changes(rec, small_data):
    sku = small_data.catalog.item_id.iloc[0]
    before = rec.item_details([sku, "no-such-sku"])  # read once: cached until a change
    assert before[1] == {"name": None, "category": None, "price": None}
    rec.add_items([{"item_id": sku, "category": "bags", "price": 12.345}])
    rec.add_items([_variant_of(small_data, sku, "sku-new-colour")])
    after = rec.item_details([sku, "sku-new-colour"])
    assert after[0] == {"name": before[0]["name"], "category": "bags", "price": 12.35}
    assert after[1]["name"].endswith("(new colour)")
    assert after[1]["category"] == small_data.catalog.category.iloc[0]  # as it was trained
    after[0]["price"] = 0.0  # the caller's copy: the next answer is unchanged
    assert rec.item_details([sku])[0]["price"] == 12.35
    # an id that is not text is no SKU of the catalog, as before the cache (not a TypeError)
    assert rec.item_details([["not", "an", "id"]]) == [before[1]]


def test_out_of_stock_is_never_shown_and_restocking_brings_it_back(rec, small_data):
    members = small_data.interactions.user_id.unique()[:40].tolist()
    store = small_data.stores.store_id.iloc[0]
    shelves = rec.recommend_batch(members, k=10, store_id=store)
    gone = sorted({s[0].item_id for s in shelves})
    rec.set_stock(store, {sku: 0 for sku in gone})
    for shelf in rec.recommend_batch(members, k=10, store_id=store):
        assert not {r.item_id for r in shelf} & set(gone)
    chain_wide = rec.recommend_batch(members, k=10)  # out of stock in one store only
    assert {s[0].item_id for s in chain_wide} & set(gone)
    rec.set_stock(store, {gone[0]: 3})
    back = rec.recommend_batch(members, k=10, store_id=store)
    assert any(s[0].item_id == gone[0] for s in back)


def test_a_sku_stocked_later_joins_the_store(rec, small_data):
    store = small_data.stores.store_id.iloc[0]
    stocked = set(small_data.stores.loc[small_data.stores.store_id == store, "item_id"])
    outside = next(i for i in small_data.catalog.item_id if i not in stocked)
    rec.set_stock(store, {outside: 5})
    shelf = rec.recommend(None, k=200, profile={}, store_id=store, filters={"in_season": False})
    assert outside in [r.item_id for r in shelf]


def test_bad_catalog_changes_are_refused_and_change_nothing(rec, small_data):
    member = small_data.interactions.user_id.iloc[0]
    store = small_data.stores.store_id.iloc[0]
    before = rec.recommend(member, k=10, store_id=store)
    n = rec.n_items
    with pytest.raises(SchemaError, match="item_id"):
        rec.add_items([{"category": "bags"}])
    with pytest.raises(UnknownIdError, match="nowhere"):
        rec.add_items([{"item_id": "sku-new"}], stores={"nowhere": ["sku-new"]})
    with pytest.raises(UnknownIdError, match="sku-missing"):
        rec.add_items([{"item_id": "sku-new"}], stores={store: ["sku-missing"]})
    with pytest.raises(SchemaError, match="price"):
        rec.add_items([{"item_id": "sku-new", "price": -3.0}])
    with pytest.raises(InvalidInputError, match="no SKUs"):
        rec.add_items(pd.DataFrame({"item_id": []}))
    with pytest.raises(UnknownIdError):
        rec.set_stock("nowhere", {before[0].item_id: 0})
    with pytest.raises(InvalidInputError, match=">= 0"):
        rec.set_stock(store, {before[0].item_id: -1})
    with pytest.raises(InvalidInputError, match="number"):
        rec.set_stock(store, {before[0].item_id: "none"})
    with pytest.raises(UnknownIdError):
        rec.set_stock(store, {"sku-missing": 0})
    assert rec.n_items == n
    assert rec.recommend(member, k=10, store_id=store) == before


def test_the_grown_catalog_survives_save_and_load(rec, small_data, tmp_path):
    member = small_data.interactions.user_id.iloc[0]
    store = _store_of(small_data, member)
    favourite = rec.recommend(member, k=1, store_id=store)[0].item_id
    rec.add_items([_variant_of(small_data, favourite, "sku-new")], {store: ["sku-new"]})
    rec.set_stock(store, {favourite: 0})
    rec.update([{"user_id": "u-fresh", "item_id": "sku-new", "kind": "view", "value": 60.0}])
    back = recsys.Recommender.load(rec.save(tmp_path / "model"))
    later = time.time() + 7200  # after the visit (visits are replayed from the log, not saved)
    for who in (member, "u-fresh"):
        shelf = rec.recommend(who, k=10, store_id=store, at=later)
        assert back.recommend(who, k=10, store_id=store, at=later) == shelf
    assert back.similar_items("sku-new", k=5) == rec.similar_items("sku-new", k=5)
    assert back.n_items == rec.n_items == len(small_data.catalog) + 1


def test_only_a_recent_launch_is_new(rec, small_data):
    member = small_data.interactions.user_id.iloc[0]
    sold = rec.dataset_.matrices.confidence.getnnz(axis=0)
    today = pd.Timestamp.now(tz="UTC").tz_localize(None)
    days = pd.to_timedelta([3, 90], unit="D")
    launches = {"item_id": ["sku-launch", "sku-old"], "available_from": today - days}
    rec.add_items(pd.DataFrame({**launches, "category": "bags"}))
    assert rec.explain(member, "sku-launch").startswith("new in")
    assert not rec.explain(member, "sku-old").startswith("new in")
    if (sold == 0).any():  # an unsold trained SKU is a slow seller, not a new one
        slow = str(rec.dataset_.items.ids[np.flatnonzero(sold == 0)[0]])
        assert not rec.explain(member, slow).startswith("new in")


def test_boosted_and_pinned_skus_say_why(rec, small_data):
    member = small_data.interactions.user_id.iloc[0]
    store = _store_of(small_data, member)
    shelf = rec.recommend(member, k=10, store_id=store)
    boosted, pinned = shelf[4].item_id, shelf[9].item_id
    ruled = rec.recommend(
        member, k=10, store_id=store, rules={"boost": {boosted: 5.0}, "pin": {pinned: 0}}
    )
    reasons = {r.item_id: r.reason for r in ruled}
    assert reasons[boosted] == "on promotion"
    assert reasons[pinned] == "featured in this store"
