"""The public data sets load, are cleaned as documented and match their READMEs' counts.

Marked ``slow``; skipped (with the reason) when the shared data folder is absent.
"""

from __future__ import annotations

import time

import pandas as pd
import pytest

from recsys.columns import Columns, EventKind
from recsys.datasets import RetailData, load_complete_journey, load_online_retail

pytestmark = pytest.mark.slow


def assert_consistent(data: RetailData) -> None:
    """What every loaded data set guarantees, whatever its source."""
    inter, catalog, stores, profiles = (data.interactions, data.catalog, data.stores, data.profiles)
    assert tuple(inter.columns) == Columns.INTERACTIONS
    for frame, col in [
        (inter, Columns.USER),
        (inter, Columns.ITEM),
        (inter, Columns.STORE),
        (inter, Columns.KIND),
        (catalog, Columns.ITEM),
        (stores, Columns.STORE),
        (stores, Columns.ITEM),
        (profiles, Columns.USER),
    ]:
        assert frame[col].dtype == "str", col
        assert frame[col].notna().all(), col
    assert (inter[Columns.KIND] == EventKind.PURCHASE).all()
    assert (inter[Columns.VALUE] >= 1).all()
    assert inter[Columns.TIMESTAMP].dtype == "datetime64[ns]"
    assert inter[Columns.TIMESTAMP].notna().all()
    # the catalog is exactly the SKUs sold; every sale's (store, SKU) is in the assortment
    assert catalog[Columns.ITEM].is_unique
    assert set(catalog[Columns.ITEM]) == set(inter[Columns.ITEM])
    pairs = inter[[Columns.STORE, Columns.ITEM]].drop_duplicates()
    assert len(pairs) == len(stores)
    assert len(pairs.merge(stores, on=[Columns.STORE, Columns.ITEM])) == len(stores)
    assert profiles[Columns.USER].is_unique
    # the report adds up
    report = data.report
    removed = sum(v for k, v in report.items() if k.startswith("removed_"))
    assert report["rows_read"] - removed == report["n_interactions"] == len(inter)
    assert report["n_items"] == len(catalog)
    assert report["n_stores"] == inter[Columns.STORE].nunique()
    assert report["n_profiles"] == len(profiles)
    assert all(isinstance(v, int) and v >= 0 for v in report.values())


@pytest.fixture(scope="module")
def online_retail(online_retail_dir) -> RetailData:
    return load_online_retail(online_retail_dir)


@pytest.fixture(scope="module")
def complete_journey(complete_journey_dir) -> RetailData:
    return load_complete_journey(complete_journey_dir)


class TestOnlineRetail:
    def test_loads_in_seconds(self, online_retail_dir, record_property):
        started = time.perf_counter()
        data = load_online_retail(online_retail_dir)
        record_property("online_retail_load_seconds", round(time.perf_counter() - started, 2))
        assert data.report["rows_read"] == 541_909

    def test_counts_match_the_readme(self, online_retail):
        report = online_retail.report
        assert report["rows_read"] == 541_909
        assert report["removed_cancellations"] == 9_288  # "C" invoices
        assert report["removed_adjustments"] == 3  # "A" invoices
        # the README counts 10,624 negative quantities, most of them cancellations
        negative = report["removed_cancellations"] + report["removed_non_positive_quantity"]
        assert negative == 10_624
        assert report["read_members"] == 4_372
        assert report["read_items"] == 4_070
        assert report["read_stores"] == 38
        # 5,268 exact duplicates in the file; the earlier rules already drop some of them
        assert 0 < report["removed_duplicates"] <= 5_268
        assert report["removed_missing_customer"] <= 135_080

    def test_kept_counts(self, online_retail):
        report = online_retail.report
        assert report["n_interactions"] == 391_150
        assert report["n_members"] == 4_334
        assert report["n_items"] == 3_659
        assert report["n_stores"] == 37

    def test_consistent(self, online_retail):
        assert_consistent(online_retail)

    def test_clean_lines_only(self, online_retail):
        inter = online_retail.interactions
        assert inter[Columns.ITEM].str.fullmatch(r"\d{5}[A-Za-z]*").all()
        assert inter[Columns.USER].str.fullmatch(r"\d{5}").all()
        ts = inter[Columns.TIMESTAMP]
        assert ts.min() == pd.Timestamp("2010-12-01 08:26:00")
        assert ts.max() == pd.Timestamp("2011-12-09 12:50:00")

    def test_country_is_the_store_and_the_profile(self, online_retail):
        assert "United Kingdom" in set(online_retail.stores[Columns.STORE])
        profiles = online_retail.profiles
        assert list(profiles.columns) == [Columns.USER, "country"]
        assert set(profiles[Columns.USER]) == set(online_retail.interactions[Columns.USER])
        assert profiles.set_index(Columns.USER).loc["12347", "country"] == "Iceland"

    def test_catalog(self, online_retail):
        catalog = online_retail.catalog.set_index(Columns.ITEM)
        assert catalog.loc["85123A", Columns.NAME] == "WHITE HANGING HEART T-LIGHT HOLDER"
        assert catalog.loc["85123A", Columns.CATEGORY] == "lights & candles"
        assert (catalog[Columns.PRICE] > 0).all()
        assert (catalog[Columns.SEASON] == "all").all()
        assert catalog[Columns.CATEGORY].nunique() >= 8
        assert (catalog[Columns.CATEGORY] == "other").mean() < 0.25


class TestCompleteJourney:
    def test_loads_well_under_half_a_minute(self, complete_journey_dir, record_property):
        started = time.perf_counter()
        data = load_complete_journey(complete_journey_dir)
        seconds = time.perf_counter() - started
        record_property("complete_journey_load_seconds", round(seconds, 2))
        assert data.report["rows_read"] == 1_469_307

    def test_counts_match_the_readme(self, complete_journey):
        report = complete_journey.report
        assert report["rows_read"] == 1_469_307
        assert report["read_members"] == 2_469  # households
        assert report["read_stores"] == 457
        assert report["read_items"] == 68_509
        assert report["removed_non_positive_quantity"] == 8_869  # quantity 0
        # 99.67% of rows have their product in products.csv
        assert report["removed_missing_product"] <= round(0.0033 * 1_469_307)
        assert report["removed_duplicates"] == 0
        assert report["n_profiles"] == 801

    def test_kept_counts(self, complete_journey):
        report = complete_journey.report
        assert report["n_interactions"] == 1_445_301
        assert report["n_members"] == 2_467  # 2 households bought only fuel
        assert report["n_items"] == 68_204
        assert report["n_stores"] == 433

    def test_consistent(self, complete_journey):
        assert_consistent(complete_journey)

    def test_time_range(self, complete_journey):
        ts = complete_journey.interactions[Columns.TIMESTAMP]
        assert ts.min() == pd.Timestamp("2017-01-01 06:53:26")
        assert ts.max() == pd.Timestamp("2017-12-31 23:01:20")

    def test_profiles(self, complete_journey):
        profiles = complete_journey.profiles
        assert list(profiles.columns) == [
            Columns.USER,
            "age",
            "income",
            "home_ownership",
            "marital_status",
            "household_size",
            "household_comp",
            "kids_count",
        ]
        assert profiles["home_ownership"].isna().sum() == 233
        assert profiles["marital_status"].isna().sum() == 137
        assert set(profiles["age"]) == {"19-24", "25-34", "35-44", "45-54", "55-64", "65+"}
        members = complete_journey.interactions[Columns.USER].unique()
        assert profiles[Columns.USER].isin(members).all()
        profiled = complete_journey.interactions[Columns.USER].isin(profiles[Columns.USER])
        assert profiled.sum() <= 828_850  # rows of profiled households before cleaning

    def test_catalog(self, complete_journey):
        catalog = complete_journey.catalog
        assert catalog[Columns.CATEGORY].notna().all()
        assert catalog[Columns.NAME].notna().all()
        assert catalog[Columns.PRICE].notna().mean() > 0.99
        assert (catalog[Columns.PRICE].dropna() > 0).all()
        assert not catalog["department"].isin(["FUEL", "COUPON"]).any()
        assert {"department", "brand", "manufacturer_id", "package_size"} <= set(catalog.columns)


@pytest.mark.parametrize("loader", ["online_retail", "complete_journey"])
def test_builds_into_a_retail_dataset(loader, request):
    data_module = pytest.importorskip("recsys.data")
    if not hasattr(data_module, "RetailDataset"):
        pytest.skip("recsys.data.RetailDataset is not available yet")
    data = request.getfixturevalue(loader)
    dataset = data_module.RetailDataset.build(
        data.interactions, catalog=data.catalog, stores=data.stores, profiles=data.profiles
    )
    assert len(dataset.users) == data.report["n_members"]
    assert len(dataset.items) == data.report["n_items"]
    assert dataset.matrices.confidence.nnz > 0
