"""No returned item ever breaks a filter, over random stores, members and filters."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MODELS = ["hybrid", "ease", "popular"]


@st.composite
def requests(draw, data):
    members = data.interactions.user_id.unique().tolist()
    stores = data.stores.store_id.unique().tolist()
    items = data.catalog.item_id.tolist()
    cats = sorted(data.catalog.category.unique().tolist())
    filters = {}
    if draw(st.booleans()):
        filters["category"] = draw(
            st.lists(st.sampled_from(cats), min_size=1, max_size=3, unique=True)
        )
    if draw(st.booleans()):
        lo = draw(st.floats(0, 200))
        filters["min_price"] = lo
        if draw(st.booleans()):
            filters["max_price"] = lo + draw(st.floats(0, 300))
    if draw(st.booleans()):
        day = dt.date(2026, 1, 1) + dt.timedelta(days=draw(st.integers(0, 364)))
        filters["in_season"] = day.isoformat()
    if draw(st.booleans()):
        filters["exclude"] = draw(st.lists(st.sampled_from(items), max_size=20, unique=True))
    if draw(st.integers(0, 4)) == 0:
        filters["include"] = draw(
            st.lists(st.sampled_from(items), min_size=1, max_size=60, unique=True)
        )
    return {
        "member": draw(st.sampled_from(members)),
        "store": draw(st.one_of(st.none(), st.sampled_from(stores))),
        "filters": filters,
        "k": draw(st.integers(1, 40)),
        "exclude_purchased": draw(st.booleans()),
    }


def _violations(rec, data, req, item_ids):
    cat = data.catalog.set_index("item_id")
    bad = []
    f = req["filters"]
    stocked = (
        set(data.stores.loc[data.stores.store_id == req["store"], "item_id"])
        if req["store"]
        else None
    )
    bought = set(
        data.interactions.loc[
            (data.interactions.user_id == req["member"]) & (data.interactions.kind == "purchase"),
            "item_id",
        ]
    )
    season = rec.dataset_.catalog.in_season_mask(f["in_season"]) if "in_season" in f else None
    for item in item_ids:
        row = cat.loc[item]
        if stocked is not None and item not in stocked:
            bad.append((item, "store"))
        if "category" in f and row["category"] not in f["category"]:
            bad.append((item, "category"))
        if "min_price" in f and not row["price"] >= f["min_price"] - 1e-3:
            bad.append((item, "min_price"))
        if "max_price" in f and not row["price"] <= f["max_price"] + 1e-3:
            bad.append((item, "max_price"))
        if season is not None and not season[rec.dataset_.items.index_of(item)]:
            bad.append((item, "in_season"))
        if item in f.get("exclude", []):
            bad.append((item, "exclude"))
        if "include" in f and item not in f["include"]:
            bad.append((item, "include"))
        if req["exclude_purchased"] and item in bought:
            bad.append((item, "purchased"))
    return bad


@pytest.mark.parametrize("model", MODELS)
def test_no_returned_item_breaks_a_filter(model, fitted, small_data, assert_same_shelf):
    rec = fitted(model)

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(req=requests(small_data))
    def check(req):
        shelf = rec.recommend(
            req["member"],
            k=req["k"],
            store_id=req["store"],
            filters=req["filters"],
            exclude_purchased=req["exclude_purchased"],
        )
        ids = [r.item_id for r in shelf]
        assert len(ids) <= req["k"] and len(set(ids)) == len(ids)
        assert _violations(rec, small_data, req, ids) == []
        batch = rec.recommend_batch(
            [req["member"]],
            k=req["k"],
            store_id=req["store"],
            filters=req["filters"],
            exclude_purchased=req["exclude_purchased"],
        )[0]
        assert_same_shelf(batch, shelf)

    check()


def test_fewer_than_k_pass_returns_fewer(fitted, small_data):
    rec = fitted("hybrid")
    items = small_data.catalog.item_id.tolist()[:3]
    shelf = rec.recommend(
        small_data.interactions.user_id.iloc[0],
        k=10,
        filters={"include": items},
        exclude_purchased=False,
    )
    assert {r.item_id for r in shelf} == set(items)
    assert np.isfinite([r.score for r in shelf]).all()
