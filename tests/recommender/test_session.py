"""The current visit: what a member just looked at fills the next shelf, then fades."""

from __future__ import annotations

import time

import numpy as np
import pytest

import recsys


@pytest.fixture(scope="module")
def chain():
    from recsys.datasets import synthetic_retail

    data = synthetic_retail(n_users=400, n_items=600, n_stores=3, items_per_store=(250, 300))
    return data, recsys.Recommender(model="ease").fit(data)


def _visit(data, rec, member, rng):
    cat = data.catalog.set_index("item_id").category
    store = data.interactions.loc[data.interactions.user_id == member, "store_id"].mode()[0]
    stocked = data.stores.loc[data.stores.store_id == store, "item_id"].tolist()
    shown = {cat[r.item_id] for r in rec.recommend(member, 10, store_id=store)}
    counts = cat[stocked].value_counts()
    choices = [c for c in counts.index if c not in shown and counts[c] >= 6]
    category = choices[rng.integers(len(choices))]
    viewed = rng.choice([i for i in stocked if cat[i] == category], 3, replace=False).tolist()
    return store, category, viewed, cat


def test_three_long_views_bring_the_category_then_fade(chain):
    data, rec = chain
    rng = np.random.default_rng(1)
    members = rng.choice(data.interactions.user_id.unique(), 25, replace=False).tolist()
    lifted = faded = possible = 0
    for member in members:
        store, category, viewed, cat = _visit(data, rec, member, rng)
        # the category's SKUs the shelf may show (in stock and season, not bought)
        showable = [r.item_id for r in rec.recommend(member, 1000, store_id=store)]
        others_showable = [i for i in showable if cat[i] == category and i not in viewed]
        now = time.time()
        events = [
            {"user_id": member, "item_id": v, "kind": "view", "value": 90.0, "timestamp": now}
            for v in viewed
        ]
        rec.update(events)
        shelf = rec.recommend(member, 10, store_id=store, at=now + 60)
        others = [r for r in shelf if cat[r.item_id] == category and r.item_id not in viewed]
        if len(others_showable) >= 2:  # two others can be lifted
            possible += 1
            lifted += len(others) >= 2
        assert all(r.reason.startswith("because you just looked at") for r in others)
        later = [r.item_id for r in rec.recommend(member, 10, store_id=store, at=now + 3600)]
        settled = [r.item_id for r in rec.recommend(member, 10, store_id=store, at=now + 86400)]
        faded += sum(i not in settled for i in later) <= 2
    assert possible >= 15 and lifted == possible and faded == len(members)


def test_a_purchase_in_the_visit_is_said_as_one(chain):
    """A SKU of the category just bought says "just bought", not "just looked at"."""
    data, rec = chain
    member = data.interactions.user_id.iloc[7]
    store, category, viewed, cat = _visit(data, rec, member, np.random.default_rng(3))
    now = time.time()
    rec.update([{"user_id": member, "item_id": viewed[0], "kind": "purchase", "timestamp": now}])
    shelf = rec.recommend(member, 10, store_id=store, at=now + 60)
    said = [r.reason for r in shelf if cat[r.item_id] == category]
    assert said and all(r.startswith("because you just bought the ") for r in said), said
    rec.update([{"user_id": member, "item_id": viewed[1], "kind": "view", "value": 90.0,
                 "timestamp": now + 30}])  # fmt: skip
    shelf = rec.recommend(member, 10, store_id=store, at=now + 60)
    said = [r.reason for r in shelf if cat[r.item_id] == category]
    assert said and all(r.startswith("because you just looked at the ") for r in said), said


def test_no_visit_without_a_window_and_bad_times_are_refused(chain):
    data, rec = chain
    member = data.interactions.user_id.iloc[3]
    quiet = recsys.Recommender(model="ease", session_minutes=0).fit(data)
    store, _, viewed, _ = _visit(data, quiet, member, np.random.default_rng(2))
    now = time.time()
    quiet.update([{"user_id": member, "item_id": v, "kind": "view", "value": 90.0,
                   "timestamp": now} for v in viewed])  # fmt: skip
    reasons = [r.reason for r in quiet.recommend(member, 10, store_id=store, at=now + 60)]
    assert not any("just looked at" in r for r in reasons)  # no window: no visit
    with pytest.raises(recsys.InvalidInputError, match="at must be"):
        rec.recommend(member, 5, at="not a time")
    with pytest.raises(recsys.InvalidInputError, match="session_weight"):
        recsys.Recommender(model="ease", session_weight=-1).fit(data)


def test_a_visit_with_nothing_to_show_gives_an_empty_shelf(chain):
    """A filter no SKU of the store passes, during a visit: an empty shelf, not an error."""
    data, rec = chain
    member = str(data.interactions.user_id.iloc[3])
    store = str(data.stores.store_id.iloc[0])
    item = str(data.stores.item_id.iloc[0])
    now = time.time()
    rec.update(
        [{"user_id": member, "item_id": item, "kind": "view", "value": 90.0, "timestamp": now}]
    )
    assert rec.recommend(member, 10, store_id=store, at=now + 1, filters={"max_price": 0}) == []


@pytest.mark.parametrize("store", [True, False])
def test_a_longer_shelf_during_a_visit_starts_with_the_shorter_one(chain, store):
    # the visit's lift scales scores against the member's best SKUs, whatever k is, so
    # asking for more never reorders the first ones (with and without a store's shelf)
    data, rec = chain
    rng = np.random.default_rng(3)
    members = rng.choice(data.interactions.user_id.unique(), 8, replace=False).tolist()
    now = time.time()
    for member in members:
        shop, _, viewed, _ = _visit(data, rec, member, rng)
        rec.update(
            [{"user_id": member, "item_id": v, "kind": "view", "value": 90.0, "timestamp": now}
             for v in viewed]
        )  # fmt: skip
        where = shop if store else None
        shelves = {k: rec.recommend(member, k, store_id=where, at=now + 60) for k in (3, 10, 40)}
        for short, long in ((3, 10), (10, 40), (3, 40)):
            assert shelves[long][:short] == shelves[short], (member, short, long)
