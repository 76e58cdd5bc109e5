"""The quality report in quick (synthetic-only) mode: files, rows, verdicts; and its CLI."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from recsys.evaluation._report_output import fmt, md_table
from recsys.evaluation.baselines import lightfm_available
from recsys.evaluation.report import (
    COLD_MODELS,
    LIGHTFM,
    MODELS,
    REFERENCE,
    quality_report,
    verdicts,
)
from recsys.exceptions import InvalidInputError

ROWS = [*MODELS, "ease-tuned", "als-tuned", *([LIGHTFM] if lightfm_available() else []), REFERENCE]


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("quality")
    lines: list[str] = []
    table = quality_report(
        ["synthetic", "complete_journey"],
        out,
        quick=True,
        sample=200,
        tune_trials=2,
        log=lines.append,
    )
    return out, table, lines


def test_quick_report_writes_markdown_json_and_png(quick_report):
    out, table, lines = quick_report
    assert table["dataset"].unique().tolist() == ["synthetic"]
    assert table["model"].tolist() == ROWS
    # every model fitted and scored; cold scores only where there is a cold-start path
    assert (
        table[["fit_seconds", "ndcg", "recall", "coverage", "personalization"]].notna().all().all()
    )
    cold = table.set_index("model")["cold_ndcg"]
    assert cold.notna().to_dict() == {m: m in COLD_MODELS for m in ROWS}

    body = json.loads((out / "quality.json").read_text())
    assert body["quick"] is True and body["sample"] == 200 and body["tune_trials"] == 2
    assert body["skipped"] == {"complete_journey": "skipped: quick mode uses synthetic data only"}
    synthetic = body["datasets"]["synthetic"]
    assert list(synthetic["models"]) == ROWS
    assert synthetic["models"]["als"]["ndcg"] == pytest.approx(
        table.set_index("model").loc["als", "ndcg"], abs=1e-6
    )
    assert synthetic["models"]["als"]["cold_ndcg"] is None  # NaN -> null
    tuned = synthetic["tuning"]["als-tuned"]
    assert tuned["trials"] == 2 and tuned["best_params"]["factors"] == 32  # quick size kept
    assert synthetic["split"]["train_events"] + synthetic["split"]["test_events"] > 0
    # what the default learned on its own validation slice of train, its ranker's gate too
    learned = synthetic["default_validation"]
    assert {"warm", "cold", "weights", "cold_weights", "ranker"} <= set(learned)
    assert learned["weights"] and all(w != 0 for w in learned["weights"].values())
    assert any(w > 0 for w in learned["weights"].values())  # below 0: only beside a part above
    ranker = learned["ranker"]
    if "ndcg@10_sum" in ranker:
        assert any("second stage: " + ("kept" if ranker["kept"] else "dropped") in line
                   for line in lines)  # fmt: skip

    md = (out / "quality.md").read_text()
    assert "## synthetic" in md and "### Cold members (profile only)" in md
    assert "| model | NDCG@10 | recall@10 |" in md
    for model in ROWS:
        assert f"| {model} | " in md
    assert body["summary"] and all(line in md for line in body["summary"])
    assert "skipped: quick mode uses synthetic data only" in md

    png = (out / "quality.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert any(line.startswith("wrote ") for line in lines)


def test_verdicts_compare_the_default_with_its_references():
    table = pd.DataFrame(
        {
            "ndcg": [0.05, 0.09, 0.08, 0.1],
            "personalization": [0.2, 0.9, 0.9, 0.85],
            "cold_ndcg": [0.30, math.nan, math.nan, 0.33],
            "cold_personalization": [0.1, math.nan, math.nan, 0.75],
        },
        index=["popular-segment", "ease-tuned", REFERENCE, "blend"],
    )
    lines = verdicts({"cj": {"table": table}}, k=10)
    assert lines == [
        "cj, members with history: the default (NDCG@10 0.1000, personalization 0.850) is "
        "1.11 x ease-tuned (0.0900): meets the target (1.05 x, personalization >= 0.8)",
        "cj, cold members: the default (NDCG@10 0.3300, personalization 0.750) is 1.10 x "
        "popular-segment (0.3000): meets the target (1.05 x, personalization >= 0.7)",
    ]
    worse = table.assign(personalization=[0.2, 0.9, 0.9, 0.6])
    assert "MISSES" in verdicts({"cj": {"table": worse}}, k=10)[0]


def test_markdown_cells():
    assert [fmt(v) for v in (0.123456, 1234.0, 12.34, math.nan, None, "x")] == [
        "0.1235",
        "1,234",
        "12.3",
        "–",
        "–",
        "x",
    ]
    table = pd.DataFrame({"ndcg": [0.5], "other": [1.0]}, index=["als"])
    assert md_table(table, [("ndcg", "NDCG@{k}"), ("missing", "m")], 5) == [
        "| model | NDCG@5 |",
        "|---|---:|",
        "| als | 0.5000 |",
    ]


def test_real_datasets_are_skipped_without_the_data(tmp_path):
    lines: list[str] = []
    table = quality_report(
        ["online_retail"], tmp_path / "out", data_dir=tmp_path / "none", log=lines.append
    )
    assert table.empty
    assert "is absent" in (tmp_path / "out" / "quality.md").read_text()
    assert not (tmp_path / "out" / "quality.png").exists()
    with pytest.raises(InvalidInputError, match="datasets must be among"):
        quality_report(["movielens"], tmp_path)
    with pytest.raises(InvalidInputError, match="tune_trials"):
        quality_report(["synthetic"], tmp_path, quick=True, tune_trials=-1)


def test_benchmark_command_line_passes_its_options(monkeypatch, tmp_path):
    import benchmarks.quality as cli

    seen = {}
    monkeypatch.setattr(cli, "quality_report", lambda *a, **kw: seen.update(args=a, kwargs=kw))
    argv = ["--quick", "--datasets", "synthetic", "--out", str(tmp_path), "--sample", "50"]
    assert cli.main([*argv, "--tune-trials", "0", "--no-plot"]) == 0
    assert seen["args"] == (["synthetic"], str(tmp_path))
    assert seen["kwargs"] == {
        "quick": True,
        "k": 10,
        "sample": 50,
        "tune_trials": 0,
        "seed": 0,
        "data_dir": None,
        "plot": False,
    }
