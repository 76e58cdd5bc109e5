"""Tiny hand-made retail frames shared by the data-layer tests."""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture
def interactions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u1", "u2", "u2", "u3"],
            "item_id": ["a", "a", "b", "b", "c", "a"],
            "kind": ["purchase", "view", "cart", "purchase", "view", "coupon"],
            "value": [1.0, 60.0, None, 2.0, 0.0, 1.0],
            "timestamp": [
                "2024-01-01",
                "2024-01-02",
                "2024-01-03",
                "2024-01-04",
                "2024-01-05",
                "2024-01-08",
            ],
            "store_id": ["s1", "s1", "s1", "s2", "s2", None],
        }
    )


@pytest.fixture
def catalog() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": ["a", "b", "c", "d"],
            "category": ["shirts", "jeans", "shirts", None],
            "price": [10.0, 20.0, 30.0, None],
            "season": ["SS", "AW", "all", None],
            "tags": ["basic|cotton", ["denim"], None, ""],
        }
    )


@pytest.fixture
def stores() -> pd.DataFrame:
    return pd.DataFrame({"store_id": ["s2", "s2", "s1", "s3"], "item_id": ["d", "a", "b", "a"]})


@pytest.fixture
def profiles() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": ["u1", "u4"],
            "age_band": ["25-34", "35-44"],
            "family": ["kids", None],
            "spend": [100.0, 300.0],
        }
    )
