"""The member retention report on The Complete Journey (1.4M purchases, 2,467 households).

Skipped when the data set is not in the shared data folder. ``RECSYS_BENCH_QUICK=1`` keeps
its first quarter (January to March 2017). Beside the report runs the least any
implementation does: pandas' distinct (member, week) pairs of the same events.
"""

from __future__ import annotations

import pytest

from benchmarks._scale import QUICK


@pytest.fixture(scope="module")
def journey():
    from recsys.datasets import load_complete_journey, shared_data_dir

    shared = shared_data_dir()
    if shared is None or not (shared / "completejourney").is_dir():
        pytest.skip("The Complete Journey is not in ../shared/data (or $RECSYS_SHARED_DATA)")
    data = load_complete_journey(shared / "completejourney")
    if QUICK:
        events = data.interactions
        events = events[events["timestamp"] < "2017-04-01"].reset_index(drop=True)
        return events, data.profiles
    return data.interactions, data.profiles


def _group(events) -> str:
    return f"retention report, The Complete Journey ({len(events):,} events)"


def _consistent(report) -> None:
    totals = report.totals
    assert (totals["active"] == totals[["new", "returning", "retained"]].sum(axis=1)).all()
    assert totals["new"].sum() == report.members == int(report.cohorts[0].sum())


def test_weekly(benchmark, journey):
    from recsys.analytics import retention_report

    events, _ = journey
    benchmark.group = _group(events)
    report = benchmark(retention_report, events)
    _consistent(report)
    assert len(report.totals) == (14 if QUICK else 53)


def test_monthly_by_age(benchmark, journey):
    from recsys.analytics import retention_report

    events, profiles = journey
    benchmark.group = _group(events)
    report = benchmark(retention_report, events, period="month", profiles=profiles, segment="age")
    _consistent(report)
    assert report.by_segment.groupby("period")["active"].sum().tolist() == (
        report.totals["active"].tolist()
    )


def test_weekly_with_page_and_plots(benchmark, journey, tmp_path):
    from recsys.analytics import retention_report, write_report

    events, profiles = journey
    benchmark.group = _group(events)

    def run():
        report = retention_report(events, profiles=profiles, segment="age")
        return write_report(report, tmp_path / "report")

    page = benchmark(run)
    assert {p.name for p in page.parent.iterdir()} == {
        "index.html", "retention.json", "members.png", "cohorts.png", "segments.png"
    }  # fmt: skip


def test_reference_distinct_member_weeks(benchmark, journey):
    events, _ = journey
    benchmark.group = _group(events)

    def pairs():
        weeks = events["timestamp"].dt.to_period("W-SUN")
        return events[["user_id"]].assign(week=weeks).drop_duplicates()

    assert len(benchmark(pairs)) > 0
