"""Real-time updates change the next shelf; cold start is personal; audiences and similar items."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

import recsys
from recsys import InvalidInputError, UnknownIdError


@pytest.fixture
def hybrid(small_data):
    return recsys.Recommender(model="hybrid", factors=16, iterations=8).fit(small_data)


def _category_rank(shelf, catalog, category):
    cats = catalog.set_index("item_id").loc[[r.item_id for r in shelf], "category"].tolist()
    return sum(1 for c in cats if c == category)


def test_burst_of_long_views_moves_category_up(hybrid, small_data):
    member = small_data.interactions.user_id.iloc[5]
    history = set(small_data.interactions.loc[small_data.interactions.user_id == member, "item_id"])
    cat_counts = small_data.catalog.category.value_counts()
    # the mechanics of updates, without merchandising caps
    free = {"max_per_category": None, "dedupe_groups": False}
    before = hybrid.recommend(member, k=20, rules=free)
    shown = small_data.catalog.set_index("item_id").loc[[r.item_id for r in before], "category"]
    target = next(c for c in cat_counts.index if (shown == c).sum() <= 1)
    items = small_data.catalog.loc[small_data.catalog.category == target, "item_id"]
    items = [i for i in items if i not in history][:8]
    events = [{"user_id": member, "item_id": i, "kind": "view", "value": 300.0} for i in items]
    assert hybrid.update(events) == len(events)
    after = hybrid.recommend(member, k=20, rules=free)
    assert _category_rank(after, small_data.catalog, target) > _category_rank(
        before, small_data.catalog, target
    )


def test_purchase_update_excludes_item_next_time(hybrid, small_data):
    member = small_data.interactions.user_id.iloc[0]
    top = hybrid.recommend(member, k=3)[0].item_id
    hybrid.update([{"user_id": member, "item_id": top, "kind": "purchase", "value": 1}])
    assert top not in [r.item_id for r in hybrid.recommend(member, k=10)]


def test_update_is_all_or_nothing(hybrid, small_data):
    member = small_data.interactions.user_id.iloc[1]
    item = small_data.catalog.item_id.iloc[0]
    before = hybrid.recommend(member, k=10)
    bad = [
        {"user_id": member, "item_id": item, "kind": "view", "value": 100.0},
        {"user_id": member, "item_id": "no-such-sku", "kind": "view", "value": 10.0},
    ]
    with pytest.raises(UnknownIdError, match="no-such-sku"):
        hybrid.update(bad)
    for event in (
        {"user_id": member, "item_id": item, "kind": "stare", "value": 1.0},
        {"user_id": member, "item_id": item, "kind": "view", "value": -5.0},
        {"user_id": member, "item_id": item, "kind": "view", "value": "long"},
        {"user_id": 42, "item_id": item, "kind": "view"},
        {"user_id": member, "item_id": item, "kind": "view", "store_id": "s-nowhere"},
    ):
        with pytest.raises(recsys.RecsysError):
            hybrid.update(
                [{"user_id": member, "item_id": item, "kind": "view", "value": 100.0}, event]
            )
    with pytest.raises(InvalidInputError):
        hybrid.update([])
    assert hybrid.recommend(member, k=10) == before


def test_new_member_from_events_and_profile_becomes_known(hybrid, small_data):
    item = small_data.catalog.item_id.iloc[3]
    n = hybrid.n_members
    hybrid.update(
        [{"user_id": "brand-new", "item_id": item, "kind": "purchase"}],
        profiles={"brand-new": {"age_band": "25-34"}},
    )
    assert hybrid.n_members == n + 1
    shelf = hybrid.recommend("brand-new", k=5)
    assert len(shelf) == 5 and item not in [r.item_id for r in shelf]


def test_cold_start_differs_by_profile(hybrid, small_data):
    profiles = small_data.profiles.drop(columns="user_id").drop_duplicates().head(12)
    shelves = {
        tuple(r.item_id for r in hybrid.recommend(None, k=10, profile=p))
        for p in profiles.to_dict("records")
    }
    assert len(shelves) >= 10
    reason = hybrid.recommend(None, k=3, profile=profiles.iloc[0].to_dict())[0].reason
    assert reason


def test_unknown_member_policy(small_data):
    rec = recsys.Recommender(model="als", factors=8, iterations=3, on_unknown="raise").fit(
        small_data
    )
    with pytest.raises(UnknownIdError, match="unknown member: 1 id not found") as info:
        rec.recommend("ghost", k=5)
    assert "ghost" not in str(info.value) and info.value.ids == ["ghost"]
    fallback = recsys.Recommender(model="als", factors=8, iterations=3).fit(small_data)
    store = small_data.stores.store_id.iloc[0]
    shelf = fallback.recommend("ghost", k=5, store_id=store)
    assert len(shelf) == 5 and all("popular" in r.reason for r in shelf)


def test_bad_requests_raise_named_errors(fitted, small_data):
    rec = fitted("hybrid")
    member = small_data.interactions.user_id.iloc[0]
    with pytest.raises(UnknownIdError, match="s999"):
        rec.recommend(member, k=5, store_id="s999")
    for k in (0, -1, 2.5, True, "10"):
        with pytest.raises(InvalidInputError):
            rec.recommend(member, k=k)
    with pytest.raises(InvalidInputError, match="unknown filter"):
        rec.recommend(member, filters={"colour": "red"})
    with pytest.raises(UnknownIdError):
        rec.recommend(member, filters={"category": ["spacesuits"]})
    with pytest.raises(InvalidInputError):
        rec.recommend(member, filters={"min_price": 50, "max_price": 10})
    with pytest.raises(InvalidInputError):
        rec.recommend(None)
    with pytest.raises(UnknownIdError):
        rec.similar_items("no-such-sku")
    with pytest.raises(recsys.NotFittedError, match="fit"):
        recsys.Recommender().recommend(member)
    with pytest.raises(InvalidInputError):
        recsys.Recommender(model="deep-magic").fit(small_data)


def test_similar_items_excludes_itself_and_respects_store(fitted, small_data):
    for model in ("hybrid", "itemknn"):
        rec = fitted(model)
        item = small_data.interactions.item_id.value_counts().index[0]
        store = small_data.stores.store_id.iloc[0]
        shelf = rec.similar_items(item, k=10, store_id=store)
        stocked = set(small_data.stores.loc[small_data.stores.store_id == store, "item_id"])
        assert item not in [r.item_id for r in shelf]
        assert {r.item_id for r in shelf} <= stocked and len(shelf) == 10


def test_audience_ranks_members_and_respects_store_and_buyers(fitted, small_data):
    rec = fitted("hybrid")
    item = small_data.interactions.item_id.value_counts().index[0]
    buyers = set(
        small_data.interactions.loc[
            (small_data.interactions.item_id == item)
            & (small_data.interactions.kind == "purchase"),
            "user_id",
        ]
    )
    members = rec.audience(item, k=50)
    assert len(members) == 50 and not {m.member_id for m in members} & buyers
    scores = [m.score for m in members]
    assert scores == sorted(scores, reverse=True)
    store = small_data.stores.store_id.iloc[0]
    regulars = set(
        small_data.interactions.loc[small_data.interactions.store_id == store, "user_id"]
    )
    in_store = rec.audience(item, k=1000, store_id=store)
    assert {m.member_id for m in in_store} <= regulars
    # the members the model scores highest for the SKU are more likely to touch it later
    assert np.isfinite(scores).all()


def test_live_boost_makes_todays_events_count_more(small_data, tmp_path):
    member = small_data.interactions.user_id.iloc[3]
    items = small_data.catalog.item_id.iloc[:4].tolist()
    events = [{"user_id": member, "item_id": i, "kind": "view", "value": 90.0} for i in items]
    moved = {}
    for boost in (1.0, 3.0):
        rec = recsys.Recommender(model="als", factors=8, iterations=5, live_boost=boost)
        rec.fit(small_data)
        u = rec.members_.index_of(member)
        before = rec.members_.vectors(np.array([u]))[0].copy()
        rec.update(events)
        moved[boost] = float(np.linalg.norm(rec.members_.vectors(np.array([u]))[0] - before))
    assert moved[3.0] > 1.5 * moved[1.0] > 0
    assert recsys.Recommender.load(rec.save(tmp_path / "m")).live_boost == 3.0
    with pytest.raises(recsys.RecsysError, match="live_boost"):
        recsys.Recommender(model="als", live_boost=0).fit(small_data)


@pytest.mark.parametrize("model", ["als", "ease", "itemknn", "bpr"])
def test_a_model_without_tags_gives_new_members_popularity_in_their_segment(
    model, fitted, small_data
):
    rec, popular = fitted(model), fitted("popular")  # "popular" is popularity by segment
    young = {"age_band": "18-24", "family": "single"}
    older = {"age_band": "55-64", "family": "kids"}
    store = small_data.stores.store_id.iloc[0]
    for profile in (young, older):
        got = [r.item_id for r in rec.recommend(None, 10, profile=profile, store_id=store)]
        want = [r.item_id for r in popular.recommend(None, 10, profile=profile, store_id=store)]
        assert got == want
    a = rec.recommend(None, 10, profile=young)
    b = rec.recommend(None, 10, profile=older)
    assert [r.item_id for r in a] != [r.item_id for r in b]


def test_a_sku_nobody_touched_has_no_false_neighbours_and_no_audience(small_data):
    catalog = small_data.catalog
    extra = catalog.iloc[[0]].assign(item_id="sku-unsold")
    data = type(small_data)(
        small_data.interactions, pd.concat([catalog, extra]), small_data.stores,
        small_data.profiles, dict(small_data.report),
    )  # fmt: skip
    rec = recsys.Recommender(model="als", factors=8, iterations=4).fit(data)
    assert np.allclose(rec.model_.item_factors_[rec.dataset_.items.index_of("sku-unsold")], 0)
    shelf = rec.similar_items("sku-unsold", k=5)
    category = extra.category.iloc[0]
    assert len(shelf) == 5
    assert all(r.reason == f"more {category}, popular" for r in shelf)
    assert set(catalog.set_index("item_id").loc[[r.item_id for r in shelf], "category"]) == {
        category
    }
    assert rec.audience("sku-unsold", k=50) == []
    # a SKU with neighbours is "similar to" them, and each one truly is
    known = rec.similar_items(catalog.item_id.iloc[1], k=5)
    assert known and all(r.reason.startswith("similar to") and r.score > 0 for r in known)


def test_shelves_are_served_while_a_batch_folds_in(hybrid, small_data):
    """A big batch's fold-in runs outside the lock every shelf reads vectors under: a
    shelf asked for mid fold-in answers at once, and the batch then lands in full."""
    members = small_data.interactions.user_id.unique()
    reader, writer = members[0], members[1]
    item = small_data.catalog.item_id.iloc[0]
    model = hybrid.state_.model
    folding, release = threading.Event(), threading.Event()
    real = model.fold_in

    def paused(*args, **kwargs):
        folding.set()
        assert release.wait(10), "the test never released the fold-in"
        return real(*args, **kwargs)

    model.fold_in = paused
    try:
        update = threading.Thread(
            target=hybrid.update,
            args=([{"user_id": writer, "item_id": item, "kind": "purchase"}],),
        )
        update.start()
        assert folding.wait(10)
        answered: list[list[str]] = []
        shelf = threading.Thread(
            target=lambda: answered.append([r.item_id for r in hybrid.recommend(reader, k=5)])
        )
        shelf.start()
        shelf.join(5)
        assert answered and len(answered[0]) == 5, "a shelf waited for another member's fold-in"
        release.set()
        update.join(10)
    finally:
        release.set()
        del model.fold_in
    assert item not in [r.item_id for r in hybrid.recommend(writer, k=10)]
