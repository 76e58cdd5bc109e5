"""The synthetic fashion chain keeps the promises the rest of recsys relies on."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from recsys.columns import Columns, EventKind
from recsys.datasets import RetailData, synthetic_retail
from recsys.datasets.synthetic import (
    AGE_BANDS,
    FAMILIES,
    GENDERS,
    PROFILE_TAGS,
    SEASONS,
    TIERS,
)
from recsys.exceptions import InvalidInputError

FASHION_CATEGORIES = {
    "t-shirts",
    "shirts",
    "jeans",
    "trousers",
    "dresses",
    "skirts",
    "jackets",
    "coats",
    "knitwear",
    "shoes",
    "sneakers",
    "accessories",
    "bags",
    "kids",
    "sportswear",
    "swimwear",
    "underwear",
}


def _purchases_with_tags(data: RetailData) -> pd.DataFrame:
    inter = data.interactions
    bought = inter[inter[Columns.KIND] == EventKind.PURCHASE]
    return bought.merge(data.profiles, on=Columns.USER).merge(
        data.catalog[[Columns.ITEM, Columns.CATEGORY, Columns.SEASON]], on=Columns.ITEM
    )


def _cramers_v(table: pd.DataFrame) -> tuple[float, float]:
    chi2, p, _, _ = stats.chi2_contingency(table.to_numpy())
    n = table.to_numpy().sum()
    return float(np.sqrt(chi2 / (n * (min(table.shape) - 1)))), float(p)


def assert_invariants(data: RetailData, lo: int, hi: int, start: str, n_days: int) -> None:
    """Structure every synthetic data set must have, whatever its size."""
    inter, catalog, stores, profiles = (data.interactions, data.catalog, data.stores, data.profiles)
    assert tuple(inter.columns) == Columns.INTERACTIONS
    for frame, col in [
        (inter, Columns.USER),
        (inter, Columns.ITEM),
        (inter, Columns.KIND),
        (inter, Columns.STORE),
        (catalog, Columns.ITEM),
        (stores, Columns.STORE),
        (stores, Columns.ITEM),
        (profiles, Columns.USER),
    ]:
        assert frame[col].dtype == "str", col
        assert frame[col].notna().all(), col
    assert set(inter[Columns.KIND].unique()) <= set(EventKind.ALL)
    assert (inter[Columns.VALUE] > 0).all()
    # every event is on a SKU its store stocks
    stocked = inter[[Columns.STORE, Columns.ITEM]].merge(
        stores[[Columns.STORE, Columns.ITEM]].drop_duplicates(), how="left", indicator=True
    )
    assert (stocked["_merge"] == "both").all()
    # assortments in range, no duplicate rows, only catalog SKUs
    assert not stores.duplicated([Columns.STORE, Columns.ITEM]).any()
    sizes = stores.groupby(Columns.STORE).size()
    assert sizes.between(lo, hi).all(), sizes.describe()
    assert stores[Columns.ITEM].isin(catalog[Columns.ITEM]).all()
    assert catalog[Columns.ITEM].is_unique
    assert profiles[Columns.USER].is_unique
    assert inter[Columns.USER].isin(profiles[Columns.USER]).all()
    # timestamps inside the period
    first = pd.Timestamp(start)
    ts = inter[Columns.TIMESTAMP]
    assert ts.dtype == "datetime64[ns]"
    assert (ts >= first).all() and (ts < first + pd.Timedelta(days=n_days)).all()
    assert ts.is_monotonic_increasing


class TestDefaultChain:
    """5,000 members x 2,000 SKUs x 20 stores: the documented default."""

    def test_runs_quickly_at_full_size(self, record_property):
        started = time.perf_counter()
        data = synthetic_retail(n_users=5000, n_items=2000, n_stores=20, seed=3)
        seconds = time.perf_counter() - started
        record_property("synthetic_5000x2000x20_seconds", round(seconds, 2))
        assert data.report["n_members"] == 5000
        assert data.report["n_items"] == 2000
        assert data.report["n_stores"] == 20

    def test_invariants(self, synthetic_default):
        assert_invariants(synthetic_default, 400, 500, "2025-11-23", 365)

    def test_sizes_and_event_rate(self, synthetic_default):
        data = synthetic_default
        assert len(data.profiles) == 5000
        assert len(data.catalog) == 2000
        assert data.stores[Columns.STORE].nunique() == 20
        per_member = len(data.interactions) / 5000
        assert 20 <= per_member <= 60, per_member
        kinds = data.interactions[Columns.KIND].value_counts()
        assert set(kinds.index) == set(EventKind.ALL)
        assert kinds[EventKind.VIEW] > kinds[EventKind.CART] > kinds[EventKind.PURCHASE]
        assert 0 < kinds[EventKind.COUPON] < 0.05 * len(data.interactions)

    def test_values_by_kind(self, synthetic_default):
        inter = synthetic_default.interactions
        by_kind = {k: g[Columns.VALUE] for k, g in inter.groupby(Columns.KIND)}
        assert set(by_kind[EventKind.PURCHASE].unique()) == {1.0, 2.0}
        assert (by_kind[EventKind.PURCHASE] == 1.0).mean() > 0.8
        assert (by_kind[EventKind.CART] == 1.0).all()
        assert (by_kind[EventKind.COUPON] == 1.0).all()
        dwell = by_kind[EventKind.VIEW]
        assert (dwell > 0).all() and dwell.nunique() > 100
        assert 5 < dwell.median() < 60

    def test_catalog(self, synthetic_default):
        catalog = synthetic_default.catalog
        required = {Columns.ITEM, Columns.CATEGORY, Columns.PRICE, Columns.SEASON, Columns.NAME}
        assert required <= set(catalog.columns)
        assert set(catalog[Columns.CATEGORY]) <= FASHION_CATEGORIES
        assert catalog[Columns.CATEGORY].nunique() >= 12
        assert set(catalog[Columns.SEASON]) == set(SEASONS)
        assert (catalog[Columns.PRICE] > 0).all()
        # tiered prices: a premium line costs clearly more than the basic one
        medians = catalog.groupby("line")[Columns.PRICE].median()
        assert medians["premium"] > 2 * medians["basic"]
        assert (catalog[Columns.NAME].str.len() > 3).all()

    def test_profiles(self, synthetic_default):
        profiles = synthetic_default.profiles
        assert tuple(profiles.columns) == (Columns.USER, *PROFILE_TAGS)
        assert set(profiles["age_band"]) == set(AGE_BANDS)
        assert set(profiles["gender"]) == set(GENDERS)
        assert set(profiles["family"]) == set(FAMILIES)
        assert set(profiles["tier"]) == set(TIERS)
        assert set(profiles["home_area"]) == set(synthetic_default.stores["area"])

    def test_members_mostly_shop_in_their_home_area(self, synthetic_default):
        data = synthetic_default
        area_of_store = data.stores.drop_duplicates(Columns.STORE).set_index(Columns.STORE)["area"]
        home = data.interactions[Columns.USER].map(
            data.profiles.set_index(Columns.USER)["home_area"]
        )
        visited = data.interactions[Columns.STORE].map(area_of_store)
        assert (home == visited).mean() > 0.8

    def test_stores_have_regional_assortments(self, synthetic_default):
        stores = synthetic_default.stores
        sets = stores.groupby(Columns.STORE)[Columns.ITEM].agg(set)
        area = stores.drop_duplicates(Columns.STORE).set_index(Columns.STORE)["area"]

        def jaccard(a: str, b: str) -> float:
            return len(sets[a] & sets[b]) / len(sets[a] | sets[b])

        same, other = [], []
        for i, a in enumerate(sets.index):
            for b in sets.index[i + 1 :]:
                (same if area[a] == area[b] else other).append(jaccard(a, b))
        assert np.mean(same) > np.mean(other) + 0.05

    def test_long_popularity_tail(self, synthetic_default):
        counts = synthetic_default.interactions[Columns.ITEM].value_counts()
        top_decile = counts.iloc[: len(counts) // 10].sum() / counts.sum()
        assert top_decile > 0.5
        assert counts.min() <= 3  # and a long tail of rarely touched SKUs

    def test_seasonality(self, synthetic_default):
        bought = _purchases_with_tags(synthetic_default)
        month = bought[Columns.TIMESTAMP].dt.month
        summer_share = bought[Columns.SEASON].eq("summer").groupby(month).mean()
        winter_share = bought[Columns.SEASON].eq("winter").groupby(month).mean()
        assert summer_share[[6, 7, 8]].min() > 3 * summer_share[[12, 1, 2]].max()
        assert winter_share[[12, 1, 2]].min() > 3 * winter_share[[6, 7, 8]].max()

    def test_gender_changes_category_mix(self, synthetic_default):
        bought = _purchases_with_tags(synthetic_default)
        bought = bought[bought["gender"].isin(["female", "male"])]
        table = pd.crosstab(bought[Columns.CATEGORY], bought["gender"])
        v, p = _cramers_v(table)
        assert p < 1e-12
        assert v > 0.15, v
        shares = table / table.sum()
        women_only = shares.loc[["dresses", "skirts"]].sum()
        assert women_only["female"] > 5 * women_only["male"]

    def test_family_with_kids_buys_kids_wear(self, synthetic_default):
        bought = _purchases_with_tags(synthetic_default)
        has_kids = bought["family"] == "kids"
        kids_share_with = (bought.loc[has_kids, Columns.CATEGORY] == "kids").mean()
        kids_share_without = (bought.loc[~has_kids, Columns.CATEGORY] == "kids").mean()
        assert kids_share_with > 3 * kids_share_without
        table = pd.crosstab(bought[Columns.CATEGORY] == "kids", has_kids)
        _, p = _cramers_v(table)
        assert p < 1e-12

    def test_latent_tag_tastes_are_measurable(self, synthetic_default):
        """Age band has no explicit effect: its influence comes only from tag embeddings."""
        bought = _purchases_with_tags(synthetic_default)
        table = pd.crosstab(bought[Columns.CATEGORY], bought["age_band"])
        v, p = _cramers_v(table)
        assert p < 1e-12
        assert v > 0.08, v

    def test_gold_members_buy_pricier_items(self, synthetic_default):
        bought = _purchases_with_tags(synthetic_default).merge(
            synthetic_default.catalog[[Columns.ITEM, Columns.PRICE]], on=Columns.ITEM
        )
        mean_price = bought.groupby("tier")[Columns.PRICE].mean()
        assert mean_price["gold"] > 1.3 * mean_price["basic"]

    def test_report(self, synthetic_default):
        report = synthetic_default.report
        assert report["n_interactions"] == len(synthetic_default.interactions)
        assert report["n_members"] == 5000
        assert sum(report[f"n_{kind}"] for kind in EventKind.ALL) == report["n_interactions"]
        assert all(isinstance(v, int) for v in report.values())


class TestSeeds:
    def test_same_seed_same_data(self):
        kwargs = {"n_users": 400, "n_items": 300, "n_stores": 4, "items_per_store": (100, 150)}
        a = synthetic_retail(seed=7, **kwargs)
        b = synthetic_retail(seed=7, **kwargs)
        for name in ("interactions", "catalog", "stores", "profiles"):
            pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
        assert a.report == b.report

    def test_other_seed_other_data(self):
        kwargs = {"n_users": 400, "n_items": 300, "n_stores": 4, "items_per_store": (100, 150)}
        a = synthetic_retail(seed=7, **kwargs)
        b = synthetic_retail(seed=8, **kwargs)
        assert not a.interactions.equals(b.interactions)
        assert not a.catalog.equals(b.catalog)
        assert not a.profiles.equals(b.profiles)


class TestArguments:
    def test_start_and_period(self):
        data = synthetic_retail(
            n_users=200,
            n_items=150,
            n_stores=2,
            items_per_store=(50, 60),
            start="2026-03-01",
            n_days=30,
        )
        assert_invariants(data, 50, 60, "2026-03-01", 30)

    def test_items_per_store_is_clipped_to_the_catalog(self):
        data = synthetic_retail(n_users=100, n_items=120, n_stores=3)
        assert (data.stores.groupby(Columns.STORE).size() == 120).all()

    def test_single_store(self):
        data = synthetic_retail(n_users=50, n_items=40, n_stores=1, items_per_store=(30, 30))
        assert_invariants(data, 30, 30, "2025-11-23", 365)

    def test_more_visits_more_events(self):
        kwargs = {"n_users": 300, "n_items": 200, "n_stores": 2, "items_per_store": (100, 120)}
        few = synthetic_retail(visits_per_member=2.0, **kwargs)
        many = synthetic_retail(visits_per_member=16.0, **kwargs)
        assert len(many.interactions) > 4 * len(few.interactions)

    def test_no_visits_gives_an_empty_but_valid_log(self):
        data = synthetic_retail(
            n_users=30, n_items=40, n_stores=2, items_per_store=(20, 30), visits_per_member=0.0
        )
        assert len(data.interactions) == 0
        assert tuple(data.interactions.columns) == Columns.INTERACTIONS
        assert len(data.profiles) == 30
        assert "interactions: 0 rows" in data.summary()

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"n_users": 0},
            {"n_items": -1},
            {"n_stores": 0},
            {"n_days": 0},
            {"n_users": 2.5},
            {"items_per_store": (50, 10)},
            {"items_per_store": (0, 10)},
            {"items_per_store": 5},
            {"visits_per_member": -1.0},
            {"items_per_visit": 0.5},
        ],
    )
    def test_invalid_arguments(self, kwargs):
        with pytest.raises(InvalidInputError):
            synthetic_retail(**kwargs)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_users=st.integers(1, 80),
    n_items=st.integers(1, 120),
    n_stores=st.integers(1, 12),
    lo=st.integers(1, 60),
    extra=st.integers(0, 40),
    n_days=st.integers(1, 400),
    seed=st.integers(0, 2**32 - 1),
)
def test_invariants_hold_for_any_size(n_users, n_items, n_stores, lo, extra, n_days, seed):
    data = synthetic_retail(
        n_users=n_users,
        n_items=n_items,
        n_stores=n_stores,
        items_per_store=(lo, lo + extra),
        n_days=n_days,
        seed=seed,
    )
    assert_invariants(data, min(lo, n_items), min(lo + extra, n_items), "2025-11-23", n_days)
    assert data.report["n_stores"] == n_stores
    assert data.report["n_items"] == n_items


def test_builds_into_a_retail_dataset(synthetic_default):
    """The synthetic frames pass the data layer's validation as they are."""
    data_module = pytest.importorskip("recsys.data")
    if not hasattr(data_module, "RetailDataset"):
        pytest.skip("recsys.data.RetailDataset is not available yet")
    data = synthetic_default
    dataset = data_module.RetailDataset.build(
        data.interactions, catalog=data.catalog, stores=data.stores, profiles=data.profiles
    )
    assert len(dataset.users) == 5000
    assert len(dataset.items) == 2000
    assert len(dataset.stores) == 20
    assert dataset.matrices.confidence.shape == (5000, 2000)
    assert dataset.matrices.confidence.nnz > 0
    assert dataset.matrices.user_features.shape[1] > 0
    assert all(count == 0 for count in dataset.report.values())
