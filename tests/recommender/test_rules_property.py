"""Merchandising rules are never violated, over random requests, rules, stores and members."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import recsys

_spec = importlib.util.spec_from_file_location(
    "filters_property", Path(__file__).with_name("test_filters_property.py")
)
_filters = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_filters)  # the filter request generator and checker, shared


@st.composite
def ruled_requests(draw, data):
    req = draw(_filters.requests(data))
    items = data.catalog.item_id.tolist()
    cats = sorted(data.catalog.category.unique().tolist())
    rules = {}
    if draw(st.booleans()):
        rules["max_per_category"] = draw(st.one_of(st.none(), st.integers(1, 4)))
    if draw(st.booleans()):
        rules["dedupe_groups"] = draw(st.booleans())
    if draw(st.booleans()):
        keys = draw(st.lists(st.sampled_from(items + cats), min_size=1, max_size=4, unique=True))
        rules["boost"] = {key: draw(st.floats(0.2, 20)) for key in keys}
    if draw(st.booleans()):
        pinned = draw(st.lists(st.sampled_from(items), min_size=1, max_size=3, unique=True))
        slots = draw(st.lists(st.integers(0, 12), min_size=len(pinned), max_size=len(pinned),
                              unique=True))  # fmt: skip
        rules["pin"] = dict(zip(pinned, slots, strict=True))
    if draw(st.booleans()):
        pinned = set(rules.get("pin", {}))
        buried = draw(st.lists(st.sampled_from(items), max_size=10, unique=True))
        rules["bury"] = [i for i in buried if i not in pinned]  # both at once is refused
    req["rules"] = rules
    return req


def _shelf_args(req):
    """The keyword arguments of ``recommend`` / ``recommend_batch`` for a drawn request."""
    keys = {"k": "k", "store_id": "store", "filters": "filters", "rules": "rules"}
    return {**{a: req[r] for a, r in keys.items()}, "exclude_purchased": req["exclude_purchased"]}


def _rule_violations(rec, data, req, shelf, chain):
    cat = data.catalog.set_index("item_id")
    ids = [r.item_id for r in shelf]
    rules = {**chain, **req["rules"]}
    bad = []
    cap = rules.get("max_per_category")
    wanted = req["filters"].get("category")
    if cap is not None and wanted and "max_per_category" not in req["rules"]:
        cap = max(cap, -(-req["k"] // len(wanted)))  # the default cap lets the shelf fill
    if cap is not None:
        counts = cat.loc[ids, "category"].value_counts()
        bad += [("max_per_category", c) for c, n in counts.items() if n > cap]
    if rules.get("dedupe_groups"):
        groups = cat.loc[ids, "group_id"].dropna()
        bad += [("dedupe_groups", g) for g in groups[groups.duplicated()]]
    buried = set(rules.get("bury", []))
    flags = [i in buried for i in ids]
    if True in flags and False in flags[flags.index(True) :]:
        bad.append(("bury", ids))
    short = req["k"] - len(ids)  # slots nothing could fill: the shelf closes them up
    for item, slot in rules.get("pin", {}).items():
        if item in ids and slot < req["k"] and not slot - short <= ids.index(item) <= slot:
            # a pinned SKU holds its slot (one past the shelf pins nothing), moving up only
            # past slots left empty
            bad.append(("pin", item, slot, ids.index(item)))
    return bad


@pytest.mark.parametrize("model", ["hybrid", "ease"])
def test_no_shelf_breaks_a_rule_or_a_filter(model, fitted, small_data, assert_same_shelf):
    rec = fitted(model)
    chain = {"max_per_category": 3, "dedupe_groups": True}

    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
    @given(req=ruled_requests(small_data))
    def check(req):
        kwargs = _shelf_args(req)
        shelf = rec.recommend(req["member"], **kwargs)
        ids = [r.item_id for r in shelf]
        assert len(ids) <= req["k"] and len(set(ids)) == len(ids)
        assert _filters._violations(rec, small_data, req, ids) == []
        assert _rule_violations(rec, small_data, req, shelf, chain) == []
        assert_same_shelf(rec.recommend_batch([req["member"]], **kwargs)[0], shelf)

    check()


def test_a_shelf_of_one_category_is_filled_unless_the_request_caps_it(fitted, small_data):
    # the chain's 3-a-category cap is for mixed shelves: asking for shirts gets 10 shirts
    rec = fitted("ease")
    member = small_data.interactions.user_id.iloc[0]
    category = small_data.catalog.category.value_counts().index[0]
    everyday = {"category": [category], "in_season": False}
    shelf = rec.recommend(member, 10, filters=everyday, exclude_purchased=False)
    assert len(shelf) == 10
    capped = rec.recommend(
        member, 10, filters=everyday, exclude_purchased=False, rules={"max_per_category": 2}
    )
    assert len(capped) == 2  # a cap the request sets itself holds


def test_pins_past_the_candidates_close_up_in_order(fitted, small_data):
    # three SKUs may be shown, two pinned to slots 2 and 3 of 4: the one left fills slot 0,
    # slot 1 stays empty, and the shelf closes it up, keeping the pins in their order
    rec = fitted("ease")
    member = small_data.interactions.user_id.iloc[0]
    few = {"include": ["sku0", "sku1", "sku2"], "in_season": False}
    pins = {"pin": {"sku0": 2, "sku1": 3}, "max_per_category": None, "dedupe_groups": False}
    shelf = rec.recommend(member, 4, filters=few, rules=pins, exclude_purchased=False)
    assert [r.item_id for r in shelf] == ["sku2", "sku0", "sku1"]


def test_a_pin_takes_its_slot_and_a_boost_lifts(fitted, small_data):
    rec = fitted("ease")
    member = small_data.interactions.user_id.iloc[0]
    store = small_data.stores.store_id.iloc[0]
    plain = rec.recommend(member, 10, store_id=store)
    last = plain[-1].item_id
    pinned = rec.recommend(member, 10, store_id=store, rules={"pin": {last: 0}})
    assert pinned[0].item_id == last
    boosted = rec.recommend(member, 10, store_id=store, rules={"boost": {last: 50.0}})
    assert [r.item_id for r in boosted].index(last) < 9
    with pytest.raises(recsys.InvalidInputError, match="unknown rule"):
        rec.recommend(member, 10, rules={"max_per_cat": 2})
    with pytest.raises(recsys.InvalidInputError, match="slot"):
        rec.recommend(member, 10, rules={"pin": {last: -1}})
    with pytest.raises(recsys.UnknownIdError):
        rec.recommend(member, 10, rules={"bury": ["no-such-sku"]})
    with pytest.raises(recsys.InvalidInputError, match="pin and bury"):
        rec.recommend(member, 10, rules={"pin": {last: 0}, "bury": [last]})
    # a boost scores would overflow with (1e38 x a score): refused, and the widest works
    for huge in (1e38, 1e-38):
        with pytest.raises(recsys.InvalidInputError, match=r"within \[1e-06, 1e\+06\]"):
            rec.recommend(member, 10, store_id=store, rules={"boost": {last: huge}})
    widest = rec.recommend(member, 10, store_id=store, rules={"boost": {last: 1e6}})
    assert widest[0].item_id == last and all(np.isfinite([r.score for r in widest]))


@pytest.mark.parametrize("model", ["hybrid", "ease"])
def test_a_batch_under_rules_gives_each_member_their_own_shelf(
    model, fitted, small_data, assert_same_shelf
):
    # a batch applies rules without pins to all its rows at once: the same shelves
    rec = fitted(model)
    members = small_data.interactions.user_id.unique().tolist()

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        req=ruled_requests(small_data),
        picks=st.lists(st.sampled_from(members), min_size=4, max_size=12),
    )
    def check(req, picks):
        kwargs = _shelf_args(req)
        shelves = rec.recommend_batch(picks, **kwargs)
        for member, shelf in zip(picks, shelves, strict=True):
            assert_same_shelf(shelf, rec.recommend(member, **kwargs))

    check()
