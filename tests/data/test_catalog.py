from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from recsys.data import Catalog, IdMap
from recsys.data.catalog import parse_season
from recsys.exceptions import InvalidInputError, RecsysWarning, SchemaError, UnknownIdError


def months(mask: int) -> list[int]:
    return [m for m in range(1, 13) if mask >> (m - 1) & 1]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("spring", [3, 4, 5]),
        ("Summer", [6, 7, 8]),
        ("autumn", [9, 10, 11]),
        ("winter", [1, 2, 12]),
        ("SS", [3, 4, 5, 6, 7, 8]),
        ("AW", [1, 2, 9, 10, 11, 12]),
        ("all", list(range(1, 13))),
        (None, list(range(1, 13))),
        (np.nan, list(range(1, 13))),
        ("", list(range(1, 13))),
        ("3|7", [3, 7]),
        ("summer|12", [6, 7, 8, 12]),
        ("11-2", [1, 2, 11, 12]),
        ("4-6", [4, 5, 6]),
        (5, [5]),
        (5.0, [5]),
        ("jan|Feb", [1, 2]),
    ],
)
def test_parse_season(value: object, expected: list[int]) -> None:
    assert months(parse_season(value)) == expected


@pytest.mark.parametrize("bad", ["monsoon", "13", "summer|x", "0-3"])
def test_parse_season_rejects_unknown_labels(bad: str) -> None:
    with pytest.raises(SchemaError, match="season"):
        parse_season(bad)


def build(catalog: pd.DataFrame) -> Catalog:
    return Catalog.from_frame(catalog, IdMap.from_values(catalog["item_id"]))


def test_arrays_follow_internal_item_order(catalog: pd.DataFrame) -> None:
    items = IdMap(["d", "c", "b", "a", "e"])  # "e" has no catalog row
    cat = Catalog.from_frame(catalog, items)
    assert cat.categories.tolist() == ["jeans", "shirts"]
    assert cat.category_codes.tolist() == [-1, 1, 0, 1, -1]
    np.testing.assert_array_equal(cat.prices, np.array([np.nan, 30, 20, 10, np.nan], np.float32))
    assert cat.names.tolist() == ["d", "c", "b", "a", "e"]
    assert cat.tags == ((), (), ("denim",), ("basic", "cotton"), ())
    assert cat.category_of(3) == "shirts" and cat.category_of(0) is None
    assert cat.category_of(np.array([2, 4])).tolist() == ["jeans", None]
    assert cat.season_months.dtype == np.uint16
    assert months(int(cat.season_months[3])) == [3, 4, 5, 6, 7, 8]


def test_masks_by_category_price_and_season(catalog: pd.DataFrame) -> None:
    cat = build(catalog)  # a b c d
    assert cat.mask().all()
    assert cat.mask(category="shirts").tolist() == [True, False, True, False]
    assert cat.mask(category=["shirts", "jeans"]).tolist() == [True, True, True, False]
    # unknown price never passes a price filter
    assert cat.mask(min_price=15).tolist() == [False, True, True, False]
    assert cat.mask(max_price=20).tolist() == [True, True, False, False]
    assert cat.mask(min_price=10, max_price=10).tolist() == [True, False, False, False]
    assert cat.mask(in_season="2026-07-15").tolist() == [True, False, True, True]
    assert cat.mask(in_season=dt.date(2026, 11, 22)).tolist() == [False, True, True, True]
    assert cat.mask(category="shirts", max_price=25, in_season="2026-01-05").tolist() == [
        False,
        False,
        False,
        False,
    ]


def test_availability_window() -> None:
    df = pd.DataFrame(
        {
            "item_id": ["x", "y", "z"],
            "available_from": ["2026-03-01", None, "2026-01-01"],
            "available_to": [None, "2026-02-28", "2026-12-31"],
        }
    )
    cat = build(df)
    assert cat.available_from.dtype == np.dtype("datetime64[D]")
    assert cat.mask(in_season="2026-02-15").tolist() == [False, True, True]
    assert cat.mask(in_season="2026-03-01").tolist() == [True, False, True]
    assert cat.mask(in_season=pd.Timestamp("2027-01-01")).tolist() == [True, False, False]


def test_mask_rejects_bad_filters(catalog: pd.DataFrame) -> None:
    cat = build(catalog)
    with pytest.raises(UnknownIdError, match="'hats'"):
        cat.mask(category="hats")
    with pytest.raises(InvalidInputError, match="min_price"):
        cat.mask(min_price=50, max_price=10)
    with pytest.raises(InvalidInputError):
        cat.mask(max_price=-1)
    with pytest.raises(InvalidInputError, match="not a date"):
        cat.mask(in_season="someday")


def test_invalid_catalog_frames(catalog: pd.DataFrame) -> None:
    dup = pd.concat([catalog, catalog.iloc[[1]]])
    with pytest.raises(SchemaError, match=r"duplicate SKUs.*'b'"):
        Catalog.from_frame(dup, IdMap(["a", "b", "c", "d"]))
    with pytest.raises(SchemaError, match="'item_id'"):
        Catalog.from_frame(catalog.drop(columns="item_id"), IdMap(["a"]))
    with pytest.raises(SchemaError, match="negative"):
        build(catalog.assign(price=[1.0, -2.0, 3.0, 4.0]))
    with pytest.raises(SchemaError, match="non-numeric"):
        build(catalog.assign(price=["1", "cheap", "3", None]))
    with pytest.raises(
        SchemaError, match=r"1 infinite prices or prices over 1e\+12 \(SKUs \['b'\]"
    ):
        build(catalog.assign(price=[1.0, float("inf"), 3.0, None]))
    with pytest.raises(SchemaError, match=r"prices over 1e\+12 \(SKUs \['c'\]"):
        build(catalog.assign(price=[1.0, 2.0, 1e308, None]))  # float32 would make it inf
    with pytest.raises(SchemaError, match="monsoon"):
        build(catalog.assign(season=["monsoon", None, None, None]))
    with pytest.raises(UnknownIdError, match="'d'"):
        Catalog.from_frame(catalog, IdMap(["a", "b", "c"]))


def test_item_features_blocks(catalog: pd.DataFrame) -> None:
    cat = build(catalog)
    x = cat.item_features()
    assert x.shape == (4, 2 + 4 + 12) and x.dtype == np.float32
    assert cat.feature_names[:3] == ["category=jeans", "category=shirts", "price_tier=1"]
    dense = x.toarray()
    assert dense[:, :2].tolist() == [[0, 1], [1, 0], [0, 1], [0, 0]]
    # prices 10, 20, 30 -> quartile edges 15, 20, 25 -> tiers 1, 3, 4; unknown price: none
    assert dense[:, 2:6].tolist() == [[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]]
    assert dense[0, 6:].tolist() == [0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]  # SS
    assert dense[3, 6:].sum() == 12


def test_new_sku_features_from_attributes_alone(catalog: pd.DataFrame) -> None:
    cat = build(catalog)
    rows = cat.features_for(catalog.drop(columns="item_id"))
    assert (rows != cat.item_features()).nnz == 0
    one = cat.features_for({"category": "jeans", "price": 21.0, "season": "AW"})
    assert (one != cat.item_features()[1]).nnz == 0
    with pytest.warns(RecsysWarning, match="hats"):
        new = cat.features_for({"category": "hats", "price": 5})
    assert new.toarray()[0, :2].sum() == 0 and new.shape == (1, 18)


def test_to_frame_round_trip(catalog: pd.DataFrame) -> None:
    cat = build(catalog)
    again = Catalog.from_frame(cat.to_frame(), cat.items)
    for name in ("category_codes", "prices", "season_months", "names"):
        np.testing.assert_array_equal(getattr(again, name), getattr(cat, name))
    assert again.tags == cat.tags
