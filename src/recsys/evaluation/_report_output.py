"""The quality report's files: ``quality.md`` (tables), ``quality.json`` and ``quality.png``.

Everything here reads the per-dataset results of :func:`recsys.evaluation.report.quality_report`
(``{"split": dict, "notes": list, "tuning": dict, "seconds": float, "table": DataFrame}``) and
writes nothing but text and a picture.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: (column, label) of the warm table; ``{k}`` is filled in.
WARM_COLUMNS: tuple[tuple[str, str], ...] = (
    ("ndcg", "NDCG@{k}"),
    ("recall", "recall@{k}"),
    ("precision", "precision@{k}"),
    ("map", "MAP@{k}"),
    ("hit_rate", "hit@{k}"),
    ("mrr", "MRR@{k}"),
    ("coverage", "coverage"),
    ("novelty", "novelty"),
    ("personalization", "personal."),
    ("diversity", "diversity"),
    ("fit_seconds", "fit s"),
    ("n_members", "members"),
)
#: (column, label) of the cold table.
COLD_COLUMNS: tuple[tuple[str, str], ...] = tuple(
    (f"cold_{key}", label)
    for key, label in WARM_COLUMNS
    if key not in ("precision", "map", "fit_seconds", "novelty")
)
#: (column, title) of the plot's panels.
PLOT_METRICS: tuple[tuple[str, str], ...] = (
    ("ndcg", "NDCG@{k}"),
    ("recall", "recall@{k}"),
    ("coverage", "coverage"),
    ("personalization", "personalization"),
    ("fit_seconds", "fit seconds"),
    ("cold_ndcg", "cold NDCG@{k}"),
)


def fmt(value: Any) -> str:
    """A table cell: 4 decimals below 10, thousands separators for large counts, – for NaN."""
    if value is None or (isinstance(value, float | np.floating) and math.isnan(value)):
        return "–"
    if isinstance(value, float | np.floating):
        value = float(value)
        if value.is_integer() and abs(value) >= 10:
            return f"{int(value):,}"
        return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def md_table(table: pd.DataFrame, columns: Sequence[tuple[str, str]], k: int) -> list[str]:
    """Markdown lines of ``table`` (index = model) with the ``columns`` it has."""
    cols = [(key, label.format(k=k)) for key, label in columns if key in table.columns]
    lines = [
        "| model | " + " | ".join(label for _, label in cols) + " |",
        "|---|" + "---:|" * len(cols),
    ]
    for model, row in table.iterrows():
        lines.append(f"| {model} | " + " | ".join(fmt(row[key]) for key, _ in cols) + " |")
    return lines


def _clean(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, dict):
        return {key: _clean(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def to_json(meta: dict, results: dict[str, dict], skipped: dict[str, str], summary: list) -> str:
    """The whole report as indented JSON (NaN -> null)."""
    body = {
        **meta,
        "summary": summary,
        "skipped": skipped,
        "datasets": {
            name: {
                "split": r["split"],
                "notes": r["notes"],
                "tuning": _clean(r["tuning"]),
                "default_validation": _clean(r.get("default_validation", {})),
                "seconds": round(r["seconds"], 1),
                "models": {
                    model: {key: _clean(v) for key, v in row.items()}
                    for model, row in r["table"].to_dict("index").items()
                },
            }
            for name, r in results.items()
        },
    }
    return json.dumps(body, indent=2) + "\n"


def to_markdown(
    meta: dict, results: dict[str, dict], skipped: dict[str, str], notes: list[str]
) -> str:
    """The report as markdown: header, verdicts, then per dataset a warm and a cold table."""
    k = meta["k"]
    mode = "quick" if meta["quick"] else "full"
    lines = [
        "# recsys quality report",
        "",
        f"Mode: {mode}; k = {k}; seed = {meta['seed']}; up to {meta['sample']:,} sampled test "
        f"members per model; total {meta['seconds']:.0f} s. Temporal split: latest 20% of "
        "events; already-bought SKUs excluded from shelves and relevant sets; relevant = test "
        "purchases. Cold split: members held out entirely, shelves from profile tags only. "
        "`*-tuned` rows: hyperparameters chosen by `recsys.evaluation.tune` on a validation "
        "split carved out of the training part (the test part is never seen), then refitted "
        "on the whole training part.",
        "",
    ]
    if notes:
        lines += [*(f"- {n}" for n in notes), ""]
    for name, r in results.items():
        table = r["table"]
        lines += [f"## {name}", "", *(f"- {n}" for n in r["notes"])]
        lines += [f"- split: {r['split']}", f"- time: {r['seconds']:.0f} s"]
        for model, info in r["tuning"].items():
            lines.append(
                f"- {model}: best of {info['trials']} trials {info['best_params']} "
                f"(validation NDCG@{k} {info['best_score']:.4f}, {info['seconds']:.0f} s)"
            )
        lines += ["", "### Temporal split (warm members)", ""]
        lines += [*md_table(table, WARM_COLUMNS, k), ""]
        if "cold_ndcg" in table.columns:
            cold = table[table["cold_ndcg"].notna()]
            if len(cold):
                lines += ["### Cold members (profile only)", ""]
                lines += [*md_table(cold, COLD_COLUMNS, k), ""]
        if "error" in table.columns:
            lines += [f"- {model} failed: {err}" for model, err in table["error"].dropna().items()]
    for name, why in skipped.items():
        lines += [f"## {name}", "", why, ""]
    return "\n".join(lines).rstrip() + "\n"


def plot(long: pd.DataFrame, path: Path, k: int, references: Sequence[str]) -> None:
    """One row of horizontal bar panels per dataset (:data:`PLOT_METRICS`), as a PNG.

    Raises
    ------
    ImportError
        matplotlib is not installed (``pip install recsys[plot]``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(long["dataset"]))
    n_models = long.groupby("dataset").size().max()
    fig, axes = plt.subplots(
        len(names),
        len(PLOT_METRICS),
        figsize=(3.0 * len(PLOT_METRICS), (0.3 * n_models + 1.0) * len(names) + 0.8),
        squeeze=False,
        sharey="row",
    )
    for r, name in enumerate(names):
        part = long[long["dataset"] == name].set_index("model")
        models = [str(m) for m in part.index]
        colors = ["tab:gray" if m in references else "tab:blue" for m in models]
        for c, (key, label) in enumerate(PLOT_METRICS):
            ax = axes[r][c]
            values = (
                part[key].astype(float).fillna(0.0).to_numpy()
                if key in part
                else np.zeros(len(models))
            )
            ax.barh(models, values, color=colors)
            if c == 0:
                ax.invert_yaxis()  # shared by the row: first model on top
                ax.set_ylabel(name)
            if r == 0:
                ax.set_title(label.format(k=k), fontsize=10)
            ax.tick_params(labelsize=8)
    fig.suptitle("recsys quality (grey: reference rows)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
