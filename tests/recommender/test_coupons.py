"""Coupon campaigns: frequency caps, per-store budgets, consent, and the ledger's lifecycle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.columns import Columns
from recsys.datasets import RetailData, synthetic_retail
from recsys.exceptions import InvalidInputError, UnknownIdError
from recsys.recommender import MemberScore, Recommender
from recsys.recommender.coupons import CouponCaps

DAY = 86_400.0
T0 = 1_780_000_000.0  # a fixed campaign time (2026)


@pytest.fixture(scope="module")
def data() -> RetailData:
    return synthetic_retail(n_users=400, n_items=200, n_stores=3, seed=1)


@pytest.fixture()
def rec(data: RetailData) -> Recommender:
    return Recommender(model="als", factors=8, iterations=3).fit(data)


def _sku(rec: Recommender, data: RetailData) -> str:
    member = str(data.interactions[Columns.USER].iloc[0])
    return rec.recommend(member, k=1)[0].item_id


def _ids(members: list[MemberScore]) -> list[str]:
    return [m.member_id for m in members]


def test_a_capped_member_is_left_out_until_the_window_ends(
    rec: Recommender, data: RetailData
) -> None:
    sku = _sku(rec, data)
    caps = {"per_member": 1, "days": 30}
    first = _ids(rec.audience(sku, k=10, caps=caps, at=T0))
    assert rec.issue_coupons(sku, first, at=T0) == 10
    second = _ids(rec.audience(sku, k=10, caps=caps, at=T0 + DAY))
    assert not set(first) & set(second)
    # the uncapped audience is unchanged: caps only apply when asked for
    assert _ids(rec.audience(sku, k=10, at=T0 + DAY)) == first
    # 31 days on, the first coupons are outside the window: the same members come back
    assert _ids(rec.audience(sku, k=10, caps=caps, at=T0 + 31 * DAY)) == first


def test_per_member_counts_coupons_of_any_sku(rec: Recommender, data: RetailData) -> None:
    sku = _sku(rec, data)
    member = _ids(rec.audience(sku, k=1))[0]
    other = str(data.catalog[Columns.ITEM].iloc[5])
    rec.issue_coupons(other, [member], at=T0)
    two = {"per_member": 2, "days": 7}
    assert member in _ids(rec.audience(sku, k=1, caps=two, at=T0 + 1))  # 1 of 2 used
    rec.issue_coupons(sku, [member], at=T0 + 2)
    assert member not in _ids(rec.audience(sku, k=50, caps=two, at=T0 + 3))
    assert not rec.may_get_coupon(member, caps=two, at=T0 + 3)
    assert rec.may_get_coupon(member, caps=two, at=T0 + 8 * DAY)


def test_budgets_cap_each_store_counting_members_where_they_shop(
    rec: Recommender, data: RetailData
) -> None:
    sku = _sku(rec, data)
    stores = rec.store_ids[:2]
    budgets = {stores[0]: 4, stores[1]: 2}
    chosen = rec.audience(sku, k=100, budgets=budgets)
    assert len(chosen) == 6
    visits = data.interactions.groupby([Columns.USER, Columns.STORE]).size().unstack(fill_value=0)
    home = visits[stores].idxmax(axis=1)
    counts = home.loc[_ids(chosen)].value_counts().to_dict()
    assert counts == {stores[0]: 4, stores[1]: 2}
    # the budgeted audience keeps rank order: scores never increase
    scores = [m.score for m in chosen]
    assert scores == sorted(scores, reverse=True)
    # k still caps the total; a zero budget takes nobody from that store
    assert len(rec.audience(sku, k=3, budgets=budgets)) == 3
    none_of_first = rec.audience(sku, k=100, budgets={stores[0]: 0, stores[1]: 2})
    assert set(home.loc[_ids(none_of_first)]) == {stores[1]}


def test_opted_out_members_never_get_a_coupon(rec: Recommender, data: RetailData) -> None:
    sku = _sku(rec, data)
    member = _ids(rec.audience(sku, k=1))[0]
    assert rec.may_get_coupon(member)
    rec.opt_out(member)
    assert not rec.may_get_coupon(member)
    assert member not in _ids(rec.audience(sku, k=400, budgets={rec.store_ids[0]: 400}))


def test_a_member_known_only_by_an_opt_out_gets_an_unknown_members_shelf(
    rec: Recommender, data: RetailData
) -> None:
    """An opt-out registers a member nothing is known of: their shelf is the popular one,
    marked as a fallback, not a shelf scored from an empty vector (SKUs in id order)."""
    store = rec.store_ids[0]
    popular = [r.item_id for r in rec.recommend("never-seen", k=5, store_id=store)]
    assert rec.opt_out("walk-in") is False
    assert rec.opt_out("walk-in") is False  # registered, still nothing known of them
    assert [r.item_id for r in rec.recommend("walk-in", k=5, store_id=store)] == popular
    assert rec.fallback_of("walk-in", store_id=store) == "popular-in-store"
    batch = rec.recommend_batch(["walk-in", "never-seen"], k=5, store_id=store)
    assert [[r.item_id for r in shelf] for shelf in batch] == [popular, popular]
    members = rec.members_
    assert not members.known("walk-in") and members.index_of("walk-in") >= 0
    everyone = np.arange(-1, len(members))
    blank = members.blank(everyone)
    assert blank.tolist() == [members.is_blank(int(u)) for u in everyone]
    assert np.flatnonzero(blank).tolist() == [members.index_of("walk-in") + 1]
    # their first event makes them known, and still out of every audience
    sku = popular[0]
    rec.update(pd.DataFrame({"user_id": ["walk-in"], "item_id": [sku], "kind": ["view"]}))
    assert rec.members_.known("walk-in") and rec.fallback_of("walk-in") is None
    assert "walk-in" not in _ids(rec.audience(sku, k=400, exclude_purchased=False))


def test_the_ledger_survives_save_and_load_and_goes_with_an_erasure(
    rec: Recommender,
    data: RetailData,
    tmp_path: Path,
) -> None:
    sku = _sku(rec, data)
    caps = {"per_member": 1, "days": 30}
    issued = _ids(rec.audience(sku, k=5, caps=caps, at=T0))
    rec.issue_coupons(sku, issued, at=T0)
    rec.save(tmp_path / "m")
    loaded = Recommender.load(tmp_path / "m")
    assert _ids(loaded.audience(sku, k=5, caps=caps, at=T0 + 1)) == _ids(
        rec.audience(sku, k=5, caps=caps, at=T0 + 1)
    )
    u = loaded.members_.index_of(issued[0])
    assert loaded.members_.coupons.issued(u)
    loaded.forget(issued[0])
    assert not loaded.members_.coupons.issued(u)
    assert len(loaded.members_.coupons) == 4


def test_bad_campaigns_are_refused_and_change_nothing(rec: Recommender, data: RetailData) -> None:
    sku = _sku(rec, data)
    member = _ids(rec.audience(sku, k=1))[0]
    with pytest.raises(InvalidInputError, match="per_member"):
        rec.audience(sku, caps={"per_member": 0})
    with pytest.raises(InvalidInputError, match="days"):
        rec.audience(sku, caps={"days": float("nan")})
    with pytest.raises(InvalidInputError, match="unknown field"):
        rec.audience(sku, caps={"per_memeber": 1})
    with pytest.raises(UnknownIdError, match="store"):
        rec.audience(sku, budgets={"s-nowhere": 3})
    with pytest.raises(InvalidInputError, match="budgets"):
        rec.audience(sku, budgets={rec.store_ids[0]: -1})
    with pytest.raises(UnknownIdError):
        rec.issue_coupons(sku, [member, "nobody-at-all"])
    assert len(rec.members_.coupons) == 0  # all or nothing
    with pytest.raises(InvalidInputError, match="list"):
        rec.issue_coupons(sku, member)  # a bare string is not a list of members
    assert np.array_equal(rec.members_.capped(CouponCaps(), T0), np.empty(0, dtype=np.int64))
