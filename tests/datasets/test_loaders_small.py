"""The loaders' cleaning rules on tiny hand-written files (no shared data needed)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from recsys.columns import Columns, EventKind
from recsys.datasets import load_complete_journey, load_online_retail

ONLINE_RETAIL = """\
InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850,United Kingdom
536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850,United Kingdom
536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850,United Kingdom
536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,17850,United Kingdom
536367,22633,HAND WARMER UNION JACK,2,2010-12-01 08:34:00,2.05,12347,Iceland
536367,22745,POPPY'S PLAYHOUSE BEDROOM,6,2010-12-01 08:34:00,2.10,12347,Iceland
C536379,22633,HAND WARMER UNION JACK,-1,2010-12-01 09:41:00,1.85,17850,United Kingdom
A563185,B,Adjust bad debt,1,2011-08-12 14:50:00,11062.06,,United Kingdom
536414,22139,,-56,2010-12-01 11:52:00,0.0,,United Kingdom
536544,21773,DECORATIVE ROSE BATHROOM BOTTLE,1,2010-12-01 14:32:00,2.51,,United Kingdom
536370,POST,POSTAGE,3,2010-12-01 08:45:00,18.0,12583,France
536370,22728,ALARM CLOCK BAKELIKE PINK,24,2010-12-01 08:45:00,3.75,12583,France
536371,22728,ALARM CLOCK BAKELIKE PINK,12,2010-12-02 08:45:00,0.0,12583,France
"""

TRANSACTIONS = """\
household_id,store_id,basket_id,product_id,quantity,sales_value,retail_disc,coupon_disc,coupon_match_disc,week,transaction_timestamp
900,330,31198570044,1095275,1,0.5,0.0,0.0,0.0,1,2017-01-01 06:53:26
900,330,31198570044,1095275,1,0.5,0.0,0.0,0.0,1,2017-01-01 06:53:26
900,330,31198570047,9878513,2,1.98,0.1,0.0,0.0,1,2017-01-01 07:10:28
1228,406,31198655051,1041453,1,1.43,0.15,0.0,0.0,1,2017-01-01 07:26:30
1228,406,31198655052,9878513,1,1.20,0.0,0.0,0.0,1,2017-01-02 07:26:30
1228,406,31198655053,1041453,0,0.0,0.0,0.0,0.0,1,2017-01-03 07:26:30
906,319,31198705046,5555555,1,1.5,0.29,0.0,0.0,1,2017-01-01 07:30:27
906,319,31198705046,6534178,30000,60.0,0.0,0.0,0.0,1,2017-01-01 07:30:27
"""

PRODUCTS = """\
product_id,manufacturer_id,department,brand,product_category,product_type,package_size
1095275,2,GROCERY,National,FRZN ICE,ICE - CRUSHED/CUBED,22 LB
9878513,69,PASTRY,Private,BREAD,BREAD:ITALIAN/FRENCH,
1041453,69,DRUG GM,Private,,,
6534178,69,FUEL,Private,GASOLINE,GASOLINE-REG UNLEADED,
"""

DEMOGRAPHICS = """\
household_id,age,income,home_ownership,marital_status,household_size,household_comp,kids_count
900,65+,35-49K,Homeowner,Married,2,2 Adults No Kids,0
1228,25-34,15-24K,,Unmarried,3,1 Adult Kids,2
"""


def _write_gz(path: Path, text: str) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(text)


@pytest.fixture
def online_retail_dir(tmp_path: Path) -> Path:
    _write_gz(tmp_path / "online_retail.csv.gz", ONLINE_RETAIL)
    return tmp_path


@pytest.fixture
def complete_journey_dir(tmp_path: Path) -> Path:
    _write_gz(tmp_path / "transactions.csv.gz", TRANSACTIONS)
    _write_gz(tmp_path / "products.csv.gz", PRODUCTS)
    _write_gz(tmp_path / "demographics.csv.gz", DEMOGRAPHICS)
    return tmp_path


class TestOnlineRetailRules:
    def test_report(self, online_retail_dir):
        report = load_online_retail(online_retail_dir).report
        assert report == {
            "rows_read": 13,
            "removed_cancellations": 1,
            "removed_adjustments": 1,
            "removed_non_positive_quantity": 1,
            "removed_missing_customer": 1,
            "removed_non_product_codes": 1,
            "removed_non_positive_price": 1,
            "removed_duplicates": 1,
            "read_members": 3,
            "read_items": 9,
            "read_stores": 3,
            "n_interactions": 6,
            "n_members": 3,
            "n_members_with_events": 3,
            "n_items": 5,
            "n_stores": 3,
            "n_assortment_rows": 6,
            "n_profiles": 3,
        }

    def test_frames(self, online_retail_dir):
        data = load_online_retail(online_retail_dir / "online_retail.csv.gz")  # the file works too
        inter = data.interactions
        assert tuple(inter.columns) == Columns.INTERACTIONS
        assert list(inter[Columns.USER].unique()) == ["17850", "12347", "12583"]
        assert (inter[Columns.KIND] == EventKind.PURCHASE).all()
        assert inter[Columns.VALUE].tolist() == [6.0, 6.0, 6.0, 2.0, 6.0, 24.0]
        assert inter[Columns.TIMESTAMP].iloc[0] == pd.Timestamp("2010-12-01 08:26:00")
        assert set(inter[Columns.STORE]) == {"United Kingdom", "Iceland", "France"}
        catalog = data.catalog.set_index(Columns.ITEM)
        assert catalog.loc["22633", Columns.PRICE] == pytest.approx((1.85 + 2.05) / 2)
        assert catalog.loc["22633", Columns.CATEGORY] == "other"  # no keyword
        assert catalog.loc["22745", Columns.CATEGORY] == "toys & games"
        assert catalog.loc["22728", Columns.CATEGORY] == "home decor"
        assert catalog.loc["22728", Columns.TAGS] == "pink"
        assert catalog.loc["85123A", Columns.TAGS] == "white|heart"
        profiles = data.profiles.set_index(Columns.USER)["country"]
        assert profiles.to_dict() == {
            "12347": "Iceland",
            "12583": "France",
            "17850": "United Kingdom",
        }

    def test_missing_file(self, tmp_path):
        with pytest.raises(FileNotFoundError, match=r"online_retail\.csv\.gz"):
            load_online_retail(tmp_path)
        with pytest.raises(FileNotFoundError, match="does not exist"):
            load_online_retail(tmp_path / "nowhere")


class TestCompleteJourneyRules:
    def test_report(self, complete_journey_dir):
        report = load_complete_journey(complete_journey_dir).report
        assert report == {
            "rows_read": 8,
            "removed_non_positive_quantity": 1,
            "removed_missing_product": 1,
            "removed_non_merchandise": 1,
            "removed_duplicates": 1,
            "read_members": 3,
            "read_items": 5,
            "read_stores": 3,
            "n_interactions": 4,
            "n_members": 2,
            "n_members_with_events": 2,
            "n_items": 3,
            "n_stores": 2,
            "n_assortment_rows": 4,
            "n_profiles": 2,
        }

    def test_frames(self, complete_journey_dir):
        data = load_complete_journey(complete_journey_dir)
        inter = data.interactions
        assert tuple(inter.columns) == Columns.INTERACTIONS
        assert inter[Columns.USER].tolist() == ["900", "900", "1228", "1228"]
        assert inter[Columns.STORE].tolist() == ["330", "330", "406", "406"]
        assert inter[Columns.VALUE].tolist() == [1.0, 2.0, 1.0, 1.0]
        catalog = data.catalog.set_index(Columns.ITEM)
        assert catalog.loc["9878513", Columns.PRICE] == pytest.approx((0.99 + 1.20) / 2)
        assert catalog.loc["9878513", Columns.CATEGORY] == "BREAD"
        assert catalog.loc["9878513", Columns.NAME] == "BREAD:ITALIAN/FRENCH"
        assert catalog.loc["9878513", Columns.TAGS] == "PASTRY|Private"
        assert catalog.loc["1041453", Columns.CATEGORY] == "DRUG GM"  # department fallback
        profiles = data.profiles.set_index(Columns.USER)
        assert profiles.loc["1228", "kids_count"] == "2"
        assert pd.isna(profiles.loc["1228", "home_ownership"])

    def test_missing_file(self, complete_journey_dir):
        (complete_journey_dir / "products.csv.gz").unlink()
        with pytest.raises(FileNotFoundError, match=r"products\.csv\.gz"):
            load_complete_journey(complete_journey_dir)
