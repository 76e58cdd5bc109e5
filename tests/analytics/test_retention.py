"""Retention counts on a hand-built event log, every expected number worked out by hand.

The log covers five ISO weeks of 2026 (Monday starts):

    W1 = 2026-03-02   W2 = 2026-03-09   W3 = 2026-03-16   W4 = 2026-03-23   W5 = 2026-03-30

Purchases (store in brackets), and the member's age band:

    member  W1       W2         W3       W4       W5               age_band
    a       s1 (*)   s1 (**)    s1       s1       s1 (Tue Mar 31)  25-34
    b       s1       -          s2       s2       -                25-34
    c       -        s1 + s2    s2       -        -                35-44
    d       -        s2         -        -        s2 (Thu Apr 2)   (no profile)
    e       view     -          s1       -        -                35-44
    f       -        -          -        views    -                (no profile)

    (*)  a's W1 purchase is on Sunday 2026-03-08 23:59:59, the last second of W1
    (**) a buys twice in W2, the first time at Monday 2026-03-09 00:00:00 sharp

e's W1 event and f's W4 events are views: they count only when views do.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.analytics import RetentionReport, retention_report, write_report
from recsys.cli import main
from recsys.datasets import shared_data_dir
from recsys.events import EventLog
from recsys.exceptions import InvalidInputError, SchemaError, UnknownIdError

W1, W2, W3, W4, W5 = "2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23", "2026-03-30"
COUNTS = ["new", "returning", "retained", "active"]

_EVENTS = [
    # member, kind, timestamp, store
    ("a", "purchase", "2026-03-08 23:59:59", "s1"),
    ("a", "purchase", "2026-03-09 00:00:00", "s1"),
    ("a", "purchase", "2026-03-12 17:00:00", "s1"),
    ("a", "purchase", "2026-03-20 12:00:00", "s1"),
    ("a", "purchase", "2026-03-25 12:00:00", "s1"),
    ("a", "purchase", "2026-03-31 12:00:00", "s1"),
    ("b", "purchase", "2026-03-03 10:00:00", "s1"),
    ("b", "purchase", "2026-03-18 10:00:00", "s2"),
    ("b", "purchase", "2026-03-27 10:00:00", "s2"),
    ("c", "purchase", "2026-03-10 09:00:00", "s1"),
    ("c", "purchase", "2026-03-11 09:00:00", "s2"),
    ("c", "purchase", "2026-03-17 09:00:00", "s2"),
    ("d", "purchase", "2026-03-13 15:00:00", "s2"),
    ("d", "purchase", "2026-04-02 15:00:00", "s2"),
    ("e", "view", "2026-03-04 11:00:00", "s1"),
    ("e", "purchase", "2026-03-16 11:00:00", "s1"),
    ("f", "view", "2026-03-24 11:00:00", "s1"),
    ("f", "view", "2026-03-26 11:00:00", "s2"),
]


@pytest.fixture
def events() -> pd.DataFrame:
    member, kind, time, store = zip(*_EVENTS, strict=True)
    return pd.DataFrame(
        {
            "user_id": list(member),
            "item_id": [f"sku{i}" for i in range(len(_EVENTS))],
            "kind": list(kind),
            "value": [30.0 if k == "view" else 1.0 for k in kind],
            "timestamp": pd.to_datetime(list(time)),
            "store_id": list(store),
        }
    )


@pytest.fixture
def profiles() -> pd.DataFrame:
    # z has a profile but no event: it must not appear anywhere
    return pd.DataFrame(
        {
            "user_id": ["a", "b", "c", "e", "z"],
            "age_band": ["25-34", "25-34", "35-44", "35-44", "55+"],
            "tier": ["gold", "basic", "basic", "silver", "gold"],
        }
    )


def _rows(frame: pd.DataFrame, *keys: str) -> list[list[object]]:
    out = frame.assign(period=frame["period"].dt.strftime("%Y-%m-%d"))
    return out[[*keys, *COUNTS]].to_numpy().tolist()


def test_weekly_totals(events: pd.DataFrame) -> None:
    report = retention_report(events)
    totals = report.totals
    assert totals["period"].dt.strftime("%Y-%m-%d").tolist() == [W1, W2, W3, W4, W5]
    assert _rows(totals, "period") == [
        # W1: a and b buy for the first time (a on Sunday 23:59:59: still W1)
        [W1, 2, 0, 0, 2],
        # W2: a again (retained, from Monday 00:00:00), c and d first time
        [W2, 2, 0, 1, 3],
        # W3: a, c retained; b back after skipping W2 (returning); e first purchase
        [W3, 1, 1, 2, 4],
        # W4: a and b bought in W3 too
        [W4, 0, 0, 2, 2],
        # W5: a retained; d back after W3 and W4 without a purchase (returning)
        [W5, 0, 1, 1, 2],
    ]
    # lapsed = active the week before but not this week: b (W2), d (W3), c+e (W4), b (W5)
    assert totals["lapsed"].tolist() == [0, 1, 1, 2, 1]
    # retained / active the week before: 1/2, 2/3, 2/4, 1/2; nothing before W1
    assert np.isnan(totals["retention_rate"].iloc[0])
    np.testing.assert_allclose(totals["retention_rate"].iloc[1:], [1 / 2, 2 / 3, 1 / 2, 1 / 2])
    assert report.members == 5  # a..e; f only viewed


def test_weekly_by_store_counts_a_member_in_each_store(events: pd.DataFrame) -> None:
    by_store = retention_report(events).by_store
    assert _rows(by_store, "period", "store_id") == [
        [W1, "s1", 2, 0, 0, 2],  # a, b new
        [W2, "s1", 1, 0, 1, 2],  # a retained, c new
        [W2, "s2", 2, 0, 0, 2],  # c (again: two stores that week) and d new
        [W3, "s1", 1, 0, 1, 2],  # a retained, e new
        [W3, "s2", 0, 1, 1, 2],  # b returning, c retained (in the chain: s1 in W2)
        [W4, "s1", 0, 0, 1, 1],  # a
        [W4, "s2", 0, 0, 1, 1],  # b
        [W5, "s1", 0, 0, 1, 1],  # a
        [W5, "s2", 0, 1, 0, 1],  # d returning
    ]


def test_store_filter_is_the_stores_own_view(events: pd.DataFrame) -> None:
    # only s2's purchases: c first in W2 and again in W3; d first in W2, back in W5;
    # b's first s2 purchase is in W3 (new to s2, though returning to the chain), again in W4
    report = retention_report(events, store_id="s2")
    assert _rows(report.totals, "period") == [
        [W2, 2, 0, 0, 2],
        [W3, 1, 0, 1, 2],
        [W4, 0, 0, 1, 1],
        [W5, 0, 1, 0, 1],
    ]
    assert report.by_store[COUNTS].to_numpy().tolist() == report.totals[COUNTS].to_numpy().tolist()
    assert report.store_id == "s2" and report.members == 3


def test_weekly_by_segment(events: pd.DataFrame, profiles: pd.DataFrame) -> None:
    report = retention_report(events, profiles=profiles, segment="age_band")
    assert _rows(report.by_segment, "period", "age_band") == [
        [W1, "25-34", 2, 0, 0, 2],  # a, b
        [W2, "25-34", 0, 0, 1, 1],  # a
        [W2, "35-44", 1, 0, 0, 1],  # c
        [W2, "unknown", 1, 0, 0, 1],  # d has no profile
        [W3, "25-34", 0, 1, 1, 2],  # b returning, a retained
        [W3, "35-44", 1, 0, 1, 2],  # e new, c retained
        [W4, "25-34", 0, 0, 2, 2],  # a, b
        [W5, "25-34", 0, 0, 1, 1],  # a
        [W5, "unknown", 0, 1, 0, 1],  # d
    ]
    # a segment splits the chain: its rows add up to the totals
    summed = report.by_segment.groupby("period")[COUNTS].sum()
    assert summed.to_numpy().tolist() == report.totals[COUNTS].to_numpy().tolist()


def test_weekly_cohorts(events: pd.DataFrame) -> None:
    report = retention_report(events)
    # W1 = {a, b}: W1 both, W2 a, W3 a b, W4 a b, W5 a
    # W2 = {c, d}: W2 both, W3 c, W4 nobody, W5 d; W6 is past the log
    # W3 = {e}: W3 e, then nobody in W4, W5
    # no one is new in W4 or W5: no cohort rows
    assert report.to_dict()["cohorts"] == [
        {"cohort": W1, "size": 2, "active": [2, 1, 2, 2, 1], "share": [1, 0.5, 1, 1, 0.5]},
        {"cohort": W2, "size": 2, "active": [2, 1, 0, 1], "share": [1, 0.5, 0, 0.5]},
        {"cohort": W3, "size": 1, "active": [1, 0, 0], "share": [1, 0, 0]},
    ]
    assert report.cohorts.shape == (3, 5) and report.cohorts.dtypes.eq("Int64").all()
    assert report.cohorts.isna().to_numpy().tolist() == [
        [False] * 5,
        [False] * 4 + [True],
        [False] * 3 + [True] * 2,
    ]
    assert np.isnan(report.cohort_shares.iloc[2, 3])


def test_views_count_when_asked(events: pd.DataFrame) -> None:
    # with views, e is new in W1 (a view) and returning in W3; f is new in W4
    report = retention_report(events, kinds=["purchase", "view"])
    assert _rows(report.totals, "period") == [
        [W1, 3, 0, 0, 3],
        [W2, 2, 0, 1, 3],
        [W3, 0, 2, 2, 4],
        [W4, 1, 0, 2, 3],
        [W5, 0, 1, 1, 2],
    ]
    assert report.members == 6
    assert retention_report(events, kinds="view").totals["active"].tolist() == [1, 0, 0, 1]


def test_monthly_with_a_gap(events: pd.DataFrame) -> None:
    # g buys in January and in April only; a's W5 purchase is in March (31st), d's in April
    g = pd.DataFrame(
        {
            "user_id": ["g", "g"],
            "item_id": ["sku1", "sku2"],
            "kind": "purchase",
            "value": 1.0,
            "timestamp": pd.to_datetime(["2026-01-15 12:00", "2026-04-30 23:00"]),
            "store_id": "s1",
        }
    )
    report = retention_report(pd.concat([events, g]), period="month")
    assert _rows(report.totals, "period") == [
        ["2026-01-01", 1, 0, 0, 1],  # g new
        ["2026-02-01", 0, 0, 0, 0],  # nobody: the gap is a row of zeros
        ["2026-03-01", 5, 0, 0, 5],  # a, b, c, d, e all new
        ["2026-04-01", 0, 1, 1, 2],  # d retained (March), g returning (January)
    ]
    assert report.totals["lapsed"].tolist() == [0, 1, 0, 4]
    rate = report.totals["retention_rate"].tolist()  # Feb: 0/1, Mar: no one in Feb, Apr: 1/5
    assert rate[1:2] == [0.0] and np.isnan(rate[2]) and rate[3] == pytest.approx(0.2)
    assert report.to_dict()["cohorts"] == [
        {"cohort": "2026-01-01", "size": 1, "active": [1, 0, 0, 1], "share": [1, 0, 0, 1]},
        {"cohort": "2026-03-01", "size": 5, "active": [5, 1], "share": [1, 0.2]},
    ]


def test_start_keeps_the_history_before_it(events: pd.DataFrame) -> None:
    # from W3 (a Wednesday inside it): a is still retained and b returning, not new; only
    # e's cohort starts in the window; d counts among the members for W5
    report = retention_report(events, start="2026-03-18T08:00:00")
    assert _rows(report.totals, "period") == [
        [W3, 1, 1, 2, 4],
        [W4, 0, 0, 2, 2],
        [W5, 0, 1, 1, 2],
    ]
    assert report.totals["lapsed"].tolist() == [1, 2, 1]  # W3's lapsed looks at W2: d
    assert [c["cohort"] for c in report.to_dict()["cohorts"]] == [W3]
    assert report.members == 5


def test_end_is_inclusive_of_its_period(events: pd.DataFrame) -> None:
    report = retention_report(events, end="2026-03-22 23:00")  # Sunday of W3
    assert report.totals["period"].dt.strftime("%Y-%m-%d").tolist() == [W1, W2, W3]
    assert [c["active"] for c in report.to_dict()["cohorts"]] == [[2, 1, 2], [2, 1], [1]]
    assert report.by_store["period"].max() == pd.Timestamp(W3)


def test_to_dict_is_json(events: pd.DataFrame, profiles: pd.DataFrame) -> None:
    data = retention_report(events, profiles=profiles, segment="age_band").to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["totals"][0] == {
        "period": W1,
        "new": 2,
        "returning": 0,
        "retained": 0,
        "active": 2,
        "lapsed": 0,
        "retention_rate": None,
    }
    assert data["by_store"][2] == {
        "period": W2,
        "store_id": "s2",
        "new": 2,
        "returning": 0,
        "retained": 0,
        "active": 2,
    }
    assert data["by_segment"][3]["age_band"] == "unknown"
    assert (data["period"], data["kinds"], data["segment"]) == ("week", ["purchase"], "age_band")
    assert not any(f'"{m}"' in json.dumps(data) for m in "abcdef")  # counts, never member ids


def test_event_log_frame_and_missing_store(tmp_path: Path, events: pd.DataFrame) -> None:
    # what EventLog.since() returns (with seq and event_id); a store-less purchase by b in W2
    # makes b retained there and lands in the store "unknown"
    online = pd.DataFrame(
        [{"user_id": "b", "item_id": "sku9", "kind": "purchase", "timestamp": "2026-03-10"}]
    )
    with EventLog(tmp_path / "events.sqlite") as log:
        log.append(pd.concat([events, online], ignore_index=True))
        frame = log.since()
    assert {"seq", "event_id"} <= set(frame.columns)
    report = retention_report(frame)
    assert _rows(report.totals, "period")[1:3] == [[W2, 2, 0, 2, 4], [W3, 1, 0, 3, 4]]
    unknown = report.by_store[report.by_store["store_id"] == "unknown"]
    assert _rows(unknown, "period") == [[W2, 0, 0, 1, 1]]


def test_timezones_and_text_times() -> None:
    # 2026-03-08T23:30-05:00 is Monday 04:30 UTC: W2, as the event schema converts to UTC;
    # ISO text and epoch seconds are read like everywhere else
    events = pd.DataFrame(
        {
            "user_id": ["a", "b", "c"],
            "item_id": "sku1",
            "kind": "purchase",
            "timestamp": ["2026-03-08T23:30:00-05:00", "2026-03-09T08:00:00", 1773014400],
        }
    )
    assert pd.Timestamp(1773014400, unit="s") == pd.Timestamp("2026-03-09")
    report = retention_report(events)
    assert _rows(report.totals, "period") == [[W2, 3, 0, 0, 3]]


def test_empty_events() -> None:
    empty = pd.DataFrame(columns=["user_id", "item_id", "kind", "value", "timestamp", "store_id"])
    report = retention_report(empty)
    assert isinstance(report, RetentionReport)
    assert report.members == 0 and report.totals.empty and report.cohorts.empty
    assert report.to_dict()["totals"] == [] and report.to_dict()["cohorts"] == []


def test_no_activity_in_the_window(events: pd.DataFrame) -> None:
    report = retention_report(events, start="2027-01-01")
    assert report.totals.empty and report.by_store.empty and report.members == 0
    only_views = retention_report(events[events["kind"] == "view"])  # no purchase at all
    assert only_views.totals.empty and only_views.to_dict()["cohorts"] == []


def test_profiles_last_row_wins_and_blank_tags_are_unknown(events: pd.DataFrame) -> None:
    profiles = pd.DataFrame({"user_id": ["a", "a", "b", "c"], "tier": ["basic", "gold", " ", None]})
    report = retention_report(events, profiles=profiles, segment="tier")
    w1 = report.by_segment[report.by_segment["period"] == pd.Timestamp(W1)]
    assert dict(zip(w1["tier"], w1["active"], strict=True)) == {"gold": 1, "unknown": 1}
    assert set(report.by_segment["tier"]) == {"gold", "unknown"}


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"period": "day"}, InvalidInputError, "period must be 'week' or 'month', got 'day'"),
        ({"kinds": []}, InvalidInputError, "kinds must name at least one"),
        ({"kinds": ["purchse"]}, InvalidInputError, "kinds: unknown event kind(s) ['purchse']"),
        ({"segment": "age_band"}, InvalidInputError, "segment='age_band' needs profiles"),
        ({"start": "not a date"}, InvalidInputError, "start must be an ISO 8601 time"),
        ({"end": "2026-03-01", "start": "2026-03-20"}, InvalidInputError, "is before start"),
        ({"store_id": "s99"}, UnknownIdError, "unknown store 's99' (known: 2 stores)"),
        (
            {"store_id": "s99", "stores": ["s1", "s7"]},
            UnknownIdError,
            "unknown store 's99' (known: 3 stores)",
        ),
        ({"stores": "s1"}, InvalidInputError, "stores must be a list of store ids"),
    ],
)
def test_invalid_arguments(
    events: pd.DataFrame, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as exc:
        retention_report(events, **kwargs)  # type: ignore[arg-type]
    assert message in str(exc.value)


def test_a_store_of_the_chain_without_events_has_an_empty_report(events: pd.DataFrame) -> None:
    report = retention_report(events, store_id="s7", stores=["s1", "s2", "s7"])
    assert report.members == 0 and report.store_id == "s7"
    assert report.totals.empty and report.by_store.empty and report.cohorts.empty
    chain = retention_report(events, stores=["s1", "s2", "s7"])
    assert chain.to_dict() == retention_report(events).to_dict()


def test_invalid_segment_and_profiles(events: pd.DataFrame, profiles: pd.DataFrame) -> None:
    with pytest.raises(InvalidInputError, match=r"no profile tag 'age'; the tags are \['age_band'"):
        retention_report(events, profiles=profiles, segment="age")
    with pytest.raises(SchemaError, match="profiles misses the column 'user_id'"):
        retention_report(events, profiles=profiles.drop(columns="user_id"), segment="age_band")


def test_invalid_events(events: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=r"events misses required columns \['timestamp'\]"):
        retention_report(events.drop(columns="timestamp"))
    with pytest.raises(SchemaError, match=r"misses required columns \['user_id'\]"):
        retention_report(events.drop(columns="user_id"))
    undated = events.assign(timestamp=events["timestamp"].where(events.index != 3))
    with pytest.raises(SchemaError, match=r"'timestamp' has 1 missing values, e.g. rows \[3\]"):
        retention_report(undated)
    with pytest.raises(SchemaError, match="column 'kind'"):
        retention_report(events.assign(kind="bought"))
    with pytest.raises(InvalidInputError, match="events must be a DataFrame"):
        retention_report([{"user_id": "a"}])


def test_row_order_does_not_matter(events: pd.DataFrame, profiles: pd.DataFrame) -> None:
    a = retention_report(events, profiles=profiles, segment="tier").to_dict()
    shuffled = events.sample(frac=1.0, random_state=3).reset_index(drop=True)
    assert retention_report(shuffled, profiles=profiles, segment="tier").to_dict() == a


def _by_hand(events: pd.DataFrame, profiles: pd.DataFrame, period: str) -> dict[str, object]:
    """The definitions spelled out member by member, with pandas' own calendar periods."""
    freq = "W-SUN" if period == "week" else "M"  # weeks ending on Sunday start on Monday
    active = events[events["kind"].isin(["purchase", "cart"])]
    when = active["timestamp"].dt.to_period(freq)
    seen: dict[str, set[pd.Period]] = {}
    for member, p in zip(active["user_id"], when, strict=True):
        seen.setdefault(member, set()).add(p)
    first, last = min(when), max(when)
    status: dict[tuple[str, pd.Period], str] = {}
    for member, periods in seen.items():
        for p in periods:
            if p == min(periods):
                status[member, p] = "new"
            elif p - 1 in periods:
                status[member, p] = "retained"
            else:
                status[member, p] = "returning"
    totals = []
    p = first
    while p <= last:
        counts = {s: sum(1 for (m, q), v in status.items() if q == p and v == s) for s in COUNTS}
        counts["active"] = sum(1 for (m, q) in status if q == p)
        totals.append([p.start_time.strftime("%Y-%m-%d"), *counts.values()])
        p += 1
    stores: dict[tuple[str, str], dict[str, int]] = {}
    for member, p, store in set(zip(active["user_id"], when, active["store_id"], strict=True)):
        cell = stores.setdefault(
            (p.start_time.strftime("%Y-%m-%d"), store), dict.fromkeys(COUNTS, 0)
        )
        cell[status[member, p]] += 1
        cell["active"] += 1
    tag = dict(zip(profiles["user_id"], profiles["family"], strict=True))
    segments: dict[tuple[str, str], int] = {}
    for (member, p), _ in status.items():
        key = (p.start_time.strftime("%Y-%m-%d"), tag.get(member, "unknown"))
        segments[key] = segments.get(key, 0) + 1
    cohorts = {}
    for periods in seen.values():
        start = min(periods)
        row = cohorts.setdefault(start, [0] * (last.ordinal - start.ordinal + 1))
        for q in periods:
            row[q.ordinal - start.ordinal] += 1
    return {
        "totals": totals,
        "by_store": sorted([k[0], k[1], *v.values()] for k, v in stores.items()),
        "by_segment": sorted([*k, n] for k, n in segments.items()),
        "cohorts": [[p.start_time.strftime("%Y-%m-%d"), r] for p, r in sorted(cohorts.items())],
    }


@pytest.mark.parametrize("period", ["week", "month"])
def test_matches_the_definitions_member_by_member(small_data, period: str) -> None:
    events, profiles = small_data.interactions, small_data.profiles.iloc[::2]  # half profiled
    report = retention_report(
        events, period=period, kinds=("purchase", "cart"), profiles=profiles, segment="family"
    )
    expected = _by_hand(events, profiles, period)
    assert len(expected["totals"]) > 4  # type: ignore[arg-type]
    assert _rows(report.totals, "period") == expected["totals"]
    assert sorted(_rows(report.by_store, "period", "store_id")) == expected["by_store"]
    seg = report.by_segment.assign(period=report.by_segment["period"].dt.strftime("%Y-%m-%d"))
    assert sorted(seg[["period", "family", "active"]].to_numpy().tolist()) == expected["by_segment"]
    cohorts = [[c["cohort"], c["active"]] for c in report.to_dict()["cohorts"]]
    assert cohorts == expected["cohorts"]


# ---------------------------------------------------------------------- the CLI
def _write_log(path: Path, events: pd.DataFrame) -> None:
    with EventLog(path) as log:
        assert log.append(events).accepted == len(events)


def test_report_cli_from_an_event_log(
    tmp_path: Path, events: pd.DataFrame, profiles: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    log, out = tmp_path / "events.sqlite", tmp_path / "report"
    _write_log(log, events)
    profiles.to_csv(tmp_path / "profiles.csv", index=False)
    argv = ["report", "--events", str(log), "--out", str(out), "--segment", "age_band"]
    assert main([*argv, "--profiles", str(tmp_path / "profiles.csv")]) == 0
    printed = capsys.readouterr().out
    assert str(out / "index.html") in printed
    names = {p.name for p in out.iterdir()}
    assert names == {"index.html", "retention.json", "members.png", "cohorts.png", "segments.png"}
    for png in ("members.png", "cohorts.png", "segments.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((out / "retention.json").read_text(encoding="utf-8"))
    assert data == retention_report(events, profiles=profiles, segment="age_band").to_dict()
    assert [r["active"] for r in data["totals"]] == [2, 3, 4, 2, 2]
    page = (out / "index.html").read_text(encoding="utf-8")
    assert '<img src="members.png"' in page and '<img src="cohorts.png"' in page
    assert "http://" not in page and "https://" not in page  # nothing fetched from the network
    assert "By age_band" in page and "35-44" in page


def test_report_cli_month_kinds_and_store(
    tmp_path: Path, events: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    log, out = tmp_path / "events.sqlite", tmp_path / "report"
    _write_log(log, events)
    argv = ["report", "--events", str(log), "--out", str(out), "--period", "month"]
    assert main([*argv, "--kinds", "purchase,view", "--store", "s1"]) == 0
    data = json.loads((out / "retention.json").read_text(encoding="utf-8"))
    # s1 only, views too: March a, b, c, e, f are all new (d never was in s1)
    assert data["kinds"] == ["purchase", "view"] and data["store_id"] == "s1"
    assert [(r["period"], r["new"], r["active"]) for r in data["totals"]] == [("2026-03-01", 5, 5)]
    assert not (out / "segments.png").exists()


def test_report_cli_on_synthetic_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report"
    argv = ["report", "--data", "synthetic", "--out", str(out), "--segment", "age_band"]
    assert main([*argv, "--n-users", "300", "--n-items", "200", "--n-stores", "3"]) == 0
    data = json.loads((out / "retention.json").read_text(encoding="utf-8"))
    totals = pd.DataFrame(data["totals"])
    assert (totals["active"] == totals["new"] + totals["returning"] + totals["retained"]).all()
    assert data["members"] == sum(c["size"] for c in data["cohorts"]) > 0
    bands = {"18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown"}
    assert {r["age_band"] for r in data["by_segment"]} <= bands


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--events", "/no/such/log.sqlite"], "--events /no/such/log.sqlite: no event log there"),
        ([], "give --events LOG or --data"),
        (["--events", "x", "--data", "synthetic"], "give --events LOG or --data"),
        (["--data", "synthetic", "--segment", "nope"], "no profile tag 'nope'"),
        (["--data", "synthetic", "--kinds", "buy"], "unknown event kind(s) ['buy']"),
        (["--data", "synthetic", "--profiles", "/no/p.csv"], "--profiles /no/p.csv: no such"),
        (["--data", "synthetic", "--start", "soon"], "start must be an ISO 8601 time"),
    ],
)
def test_report_cli_errors_are_one_line_exit_2(
    tmp_path: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    small = ["--n-users", "100", "--n-items", "100", "--n-stores", "2"]
    code = main(["report", "--out", str(tmp_path / "r"), *argv, *small])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1, err
    assert not Path("/no/such/log.sqlite").exists()  # a missing log is not created


def test_report_cli_without_matplotlib(
    tmp_path: Path,
    events: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import sys

    log = tmp_path / "events.sqlite"
    _write_log(log, events)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    assert main(["report", "--events", str(log), "--out", str(tmp_path / "r")]) == 2
    assert "pip install 'recsys[plot]'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()  # nothing half-written


def test_report_cli_named_data_set_without_a_shared_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RECSYS_SHARED_DATA", str(tmp_path / "nowhere"))
    monkeypatch.chdir(tmp_path)  # no ./completejourney folder either
    assert main(["report", "--data", "completejourney", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--data completejourney: no shared data folder" in err and len(err.splitlines()) == 1


# ---------------------------------------------------------------------- real data
@pytest.mark.slow
def test_complete_journey_report(tmp_path: Path) -> None:
    shared = shared_data_dir()
    if shared is None or not (shared / "completejourney").is_dir():
        pytest.skip("The Complete Journey is not in ../shared/data (or $RECSYS_SHARED_DATA)")
    from recsys.datasets import load_complete_journey

    data = load_complete_journey(shared / "completejourney")
    report = retention_report(data.interactions, profiles=data.profiles, segment="age")
    totals = report.totals
    assert len(totals) == 53  # 2017-01-01 is a Sunday: its ISO week starts 2016-12-26
    assert totals["period"].iloc[0] == pd.Timestamp("2016-12-26")
    assert (totals["active"] == totals[["new", "returning", "retained"]].sum(axis=1)).all()
    # every household is new exactly once; the cohorts hold them all
    assert totals["new"].sum() == report.members == data.interactions["user_id"].nunique()
    assert int(report.cohorts[0].sum()) == report.members
    # a segment splits the chain; stores count a member once per store visited
    summed = report.by_segment.groupby("period")["active"].sum().to_numpy()
    assert (summed == totals["active"].to_numpy()).all()
    per_store = report.by_store.groupby("period")["active"].sum().to_numpy()
    assert (per_store >= totals["active"].to_numpy()).all()
    assert set(report.by_segment["age"]) == {*data.profiles["age"].unique(), "unknown"}
    page = write_report(report, tmp_path / "cj")
    assert page.stat().st_size > 0 and (tmp_path / "cj" / "cohorts.png").stat().st_size > 0


@pytest.mark.slow
def test_complete_journey_report_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shared = shared_data_dir()
    if shared is None or not (shared / "completejourney").is_dir():
        pytest.skip("The Complete Journey is not in ../shared/data (or $RECSYS_SHARED_DATA)")
    out = tmp_path / "cj"
    argv = ["report", "--data", "completejourney", "--out", str(out), "--period", "month"]
    assert main([*argv, "--segment", "age"]) == 0
    assert "2,467 active members in 12 months from 2017-01-01 to 2017-12-01" in (
        capsys.readouterr().out
    )
    data = json.loads((out / "retention.json").read_text(encoding="utf-8"))
    assert data["members"] == sum(r["new"] for r in data["totals"]) == 2467
    assert (out / "segments.png").is_file()
