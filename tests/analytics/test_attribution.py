"""Attribution of purchases to shown shelves, on a hand-built log worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from recsys.analytics import attribute
from recsys.events import EventLog
from recsys.events.impressions import Impression
from recsys.exceptions import InvalidInputError, SchemaError

PRICES = {"sku1": 10.0, "sku2": 25.0, "sku3": 40.0}

#: shelf, member, store, SKUs, model, variant, shown at
SHELVES = [
    ("A", "u1", "s1", ("sku1", "sku2"), "m1", "A", "2026-03-02T10:00:00.000000"),
    ("B", "u1", "s1", ("sku2", "sku3"), "m1", "A", "2026-03-04T09:00:00.000000"),
    ("C", "u2", "s2", ("sku1",), "m2", "B", "2026-03-02T12:00:00.000000"),
    ("D", None, "s1", ("sku1", "sku3"), "m1", "A", "2026-03-02T13:00:00.000000"),  # profile-only
]
#: member, SKU, kind, value, time; what each one is, by the rules of the module docstring
EVENTS = [
    ("u1", "sku2", "purchase", 2.0, "2026-03-05T00:00:00"),  # 1: A and B showed it: B (last)
    ("u1", "sku1", "purchase", 1.0, "2026-03-09T09:59:00"),  # 2: A, 1 min inside 7 days
    ("u1", "sku1", "purchase", 1.0, "2026-03-09T10:01:00"),  # 3: 1 min past A's window: none
    ("u2", "sku1", "purchase", 1.0, "2026-03-02T11:00:00"),  # 4: before C was shown: none
    ("u2", "sku1", "purchase", 1.0, "2026-03-03T00:00:00"),  # 5: C
    ("u2", "sku3", "purchase", 1.0, "2026-03-03T00:00:00"),  # 6: never shown to u2: none
    ("u1", "sku3", "view", 30.0, "2026-03-04T09:30:00"),  # 7: view-through of B
    ("u1", "sku1", "view", 30.0, "2026-03-01T00:00:00"),  # 8: before any shelf: none
    ("u3", "sku1", "purchase", 1.0, "2026-03-02T14:00:00"),  # 9: D had no member: none
]


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    shown = pd.DataFrame(
        [(s, u, st, list(i), m, v, pd.Timestamp(t)) for s, u, st, i, m, v, t in SHELVES],
        columns=["shelf_id", "user_id", "store_id", "items", "model_version", "variant",
                 "shown_at"],
    )  # fmt: skip
    events = pd.DataFrame(EVENTS, columns=["user_id", "item_id", "kind", "value", "timestamp"])
    events["timestamp"] = pd.to_datetime(events["timestamp"])
    events["store_id"] = None
    return shown, events


def test_by_variant_matches_the_hand_count() -> None:
    shown, events = _frames()
    report = attribute(shown, events, prices=PRICES, by=["variant"])
    rows = report.table.set_index("variant").to_dict("index")
    # A: shelves A, B, D (6 slots, 1 member); purchases 1 -> B (2 x 25) and 2 -> A (1 x 10)
    assert rows["A"] == {
        "impressions": 3, "slots": 6, "members": 1, "view_through": 1, "purchases": 2,
        "units": 3.0, "revenue": 60.0, "converted": 2, "conversion": pytest.approx(2 / 3),
    }  # fmt: skip
    # B: shelf C; purchase 5 -> C (1 x 10)
    assert rows["B"] == {
        "impressions": 1, "slots": 1, "members": 1, "view_through": 0, "purchases": 1,
        "units": 1.0, "revenue": 10.0, "converted": 1, "conversion": 1.0,
    }  # fmt: skip
    assert sorted(report.purchases["shelf_id"]) == ["A", "B", "C"]
    assert report.purchases.set_index("shelf_id").loc["B", "slot"] == 0  # sku2 led shelf B


def test_by_day_and_store_and_every_group() -> None:
    shown, events = _frames()
    by_day = attribute(shown, events, prices=PRICES, by=["day"]).table.set_index("day")
    # 2 March: shelves A, C, D (5 slots); purchases 2 (A) and 5 (C)
    assert by_day.loc["2026-03-02", ["impressions", "slots", "purchases", "revenue"]].tolist() == [
        3, 5, 2, 20.0
    ]  # fmt: skip
    # 4 March: shelf B; purchase 1 and the view-through
    later = ["impressions", "purchases", "revenue", "view_through"]
    assert by_day.loc["2026-03-04", later].tolist() == [1, 1, 50.0, 1]
    full = attribute(shown, events, prices=PRICES).table
    assert list(full.columns[:4]) == ["day", "store_id", "variant", "model_version"]
    assert full["impressions"].sum() == 4 and full["purchases"].sum() == 3
    total = attribute(shown, events, prices=PRICES, by=[]).table
    assert total[["impressions", "purchases", "units", "revenue"]].iloc[0].tolist() == [
        4, 3, 4.0, 70.0
    ]  # fmt: skip
    payload = attribute(shown, events, by=["day"]).to_dict()
    assert payload["rows"][0]["day"] == "2026-03-02" and payload["window_days"] == 7.0
    assert payload["rows"][0]["revenue"] == 0.0  # no prices given: revenue 0


def test_window_and_per_member_units() -> None:
    shown, events = _frames()
    one_day = attribute(shown, events, window_days=1, by=["variant"]).table.set_index("variant")
    # purchase 2 came 7 days after A: outside a 1-day window; 1 and 5 stay
    assert one_day.loc["A", "purchases"] == 1 and one_day.loc["B", "purchases"] == 1
    members = attribute(shown, events, prices=PRICES).by_member.set_index(["user_id", "variant"])
    assert members.loc[("u1", "A")].tolist() == [2, 2, 3.0, 60.0]
    assert members.loc[("u2", "B")].tolist() == [1, 1, 1.0, 10.0]


def test_from_a_real_event_log(tmp_path: Path) -> None:
    with EventLog(tmp_path / "log.sqlite") as log:
        log.log_impressions([Impression(*s) for s in SHELVES])
        log.append(
            [dict(zip(["user_id", "item_id", "kind", "value", "timestamp"], e, strict=True))
             for e in EVENTS]
        )  # fmt: skip
        report = attribute(log.impressions(), log.since(), prices=PRICES, by=["variant"])
    assert report.table["purchases"].tolist() == [2, 1]
    assert report.table["revenue"].tolist() == [60.0, 10.0]


def test_bad_input_is_refused() -> None:
    shown, events = _frames()
    with pytest.raises(InvalidInputError, match="window_days"):
        attribute(shown, events, window_days=0)
    with pytest.raises(InvalidInputError, match="unknown group"):
        attribute(shown, events, by=["member"])
    with pytest.raises(SchemaError, match="items"):
        attribute(shown.drop(columns="items"), events)
    with pytest.raises(SchemaError, match="kind"):
        attribute(shown, events.drop(columns="kind"))
    empty = attribute(shown.iloc[:0], events, by=["variant"])
    assert empty.table.empty


def test_a_repeated_group_is_the_same_group() -> None:
    shown, events = _frames()
    twice = attribute(shown, events, by=["variant", "day", "variant"]).table
    assert twice.equals(attribute(shown, events, by=["variant", "day"]).table)
