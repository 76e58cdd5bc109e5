"""A :class:`~recsys.analytics.RetentionReport` as files: an HTML page, its JSON and PNG plots.

The page needs no network: its images are PNG files beside it, its style is inline.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from recsys.analytics.retention import STATUSES, RetentionReport
from recsys.columns import Columns
from recsys.exceptions import RecsysError

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["FILES", "write_report"]

#: what :func:`write_report` writes into its folder (``segments.png`` only with a segment)
FILES: Final = ("index.html", "retention.json", "members.png", "cohorts.png", "segments.png")
#: stores shown on the page (the busiest); retention.json holds every store
TOP_STORES: Final = 20
_COLORS: Final = {"new": "#4c78a8", "returning": "#f58518", "retained": "#54a24b"}
_STYLE: Final = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 80em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; } .note { color: #666; font-size: 0.9em; }
"""


def write_report(report: RetentionReport, out: str | Path, *, title: str = "") -> Path:
    """Write ``index.html``, ``retention.json`` and the PNG plots of ``report`` into ``out``.

    Plots: ``members.png`` (new, returning and retained members per period, stacked),
    ``cohorts.png`` (the cohort table's shares as a heatmap) and, with a segment,
    ``segments.png`` (active members per segment value). The page shows the totals, the
    cohort table, the segments and the :data:`TOP_STORES` busiest stores; ``retention.json``
    is :meth:`RetentionReport.to_dict` with every store.

    Parameters
    ----------
    report : RetentionReport
    out : str or pathlib.Path
        The folder (created if missing; the files above are replaced).
    title : str, optional
        A line under the page's heading (e.g. the data's name).

    Returns
    -------
    pathlib.Path
        The path of ``index.html``.

    Raises
    ------
    RecsysError
        matplotlib is not installed (``pip install 'recsys[plot]'``); nothing is written.

    Examples
    --------
    >>> import pandas as pd, tempfile
    >>> from recsys.analytics import retention_report
    >>> events = pd.DataFrame({"user_id": ["a", "a", "b"], "item_id": "sku1",
    ...                        "kind": "purchase", "store_id": "s1",
    ...                        "timestamp": pd.to_datetime(["2026-03-02", "2026-03-09",
    ...                                                     "2026-03-09"])})
    >>> page = write_report(retention_report(events), tempfile.mkdtemp())
    >>> sorted(p.name for p in page.parent.iterdir())
    ['cohorts.png', 'index.html', 'members.png', 'retention.json']
    """
    plt = _pyplot()
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    data = report.to_dict()
    (folder / "retention.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    images = [_members_plot(plt, report, folder / "members.png")]
    images.append(_cohort_plot(plt, report, folder / "cohorts.png"))
    (folder / "segments.png").unlink(missing_ok=True)
    if report.segment is not None and len(report.by_segment):
        images.append(_segment_plot(plt, report, folder / "segments.png"))
    page = folder / "index.html"
    page.write_text(_page(report, title, images), encoding="utf-8")
    return page


def _pyplot() -> ModuleType:
    try:
        import matplotlib
    except ImportError:
        raise RecsysError(
            "the report's plots need matplotlib: pip install 'recsys[plot]'"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# ---------------------------------------------------------------------- plots
def _labels(periods: pd.Series | pd.Index, unit: str) -> list[str]:
    fmt = "%Y-%m" if unit == "month" else "%Y-%m-%d"
    return [pd.Timestamp(p).strftime(fmt) for p in periods]


def _ticks(ax: Any, labels: list[str], axis: str = "x") -> None:
    """At most ~20 labelled ticks, so a year of weeks stays readable."""
    step = max(1, int(np.ceil(len(labels) / 20)))
    where = np.arange(0, len(labels), step)
    if axis == "x":
        ax.set_xticks(where, [labels[i] for i in where], rotation=60, ha="right", fontsize=8)
    else:
        ax.set_yticks(where, [labels[i] for i in where], fontsize=8)


def _members_plot(plt: Any, report: RetentionReport, path: Path) -> str:
    totals = report.totals
    fig, ax = plt.subplots(figsize=(10, 4))
    x = np.arange(len(totals))
    bottom = np.zeros(len(totals))
    for status in STATUSES:
        values = totals[status].to_numpy(dtype=float)
        ax.bar(x, values, bottom=bottom, color=_COLORS[status], label=status, width=0.85)
        bottom += values
    _ticks(ax, _labels(totals["period"], report.period))
    ax.set_ylabel("members")
    ax.set_title(f"Active members per {report.period}")
    ax.legend(loc="upper left", fontsize=8)
    _save(plt, fig, path)
    return path.name


def _cohort_plot(plt: Any, report: RetentionReport, path: Path) -> str:
    shares = report.cohort_shares
    fig, ax = plt.subplots(figsize=(10, max(3.0, 0.18 * len(shares) + 1.5)))
    grid = np.ma.masked_invalid(shares.to_numpy(dtype=float))
    image = ax.imshow(grid, aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0)
    if 0 < grid.shape[0] * grid.shape[1] <= 150:  # small tables: the share in each cell
        for (r, c), value in np.ndenumerate(grid.filled(np.nan)):
            if not np.isnan(value):
                ax.text(c, r, f"{value:.0%}", ha="center", va="center", fontsize=7, color="w")
    _ticks(ax, _labels(shares.index, report.period), axis="y")
    _ticks(ax, [str(c) for c in shares.columns])
    ax.set_xlabel(f"{report.period}s since the first active {report.period}")
    ax.set_ylabel("cohort (first active period)")
    ax.set_title("Share of each cohort active")
    fig.colorbar(image, ax=ax, fraction=0.03)
    _save(plt, fig, path)
    return path.name


def _segment_plot(plt: Any, report: RetentionReport, path: Path) -> str:
    name = str(report.segment)
    wide = report.by_segment.pivot_table(
        index="period", columns=name, values="active", aggfunc="sum", fill_value=0
    ).reindex(report.totals["period"], fill_value=0)
    fig, ax = plt.subplots(figsize=(10, 4))
    for label in wide.columns:
        ax.plot(np.arange(len(wide)), wide[label].to_numpy(), marker=".", label=str(label))
    _ticks(ax, _labels(wide.index, report.period))
    ax.set_ylabel("active members")
    ax.set_title(f"Active members per {report.period} by {name}")
    ax.legend(fontsize=8, ncol=2)
    _save(plt, fig, path)
    return path.name


def _save(plt: Any, fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ---------------------------------------------------------------------- page
def _page(report: RetentionReport, title: str, images: list[str]) -> str:
    unit = report.period
    scope = f"store {report.store_id}" if report.store_id else "the whole chain"
    totals = report.totals.assign(period=_labels(report.totals["period"], unit))
    cohorts = _cohort_cells(report)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8"><title>Member retention</title>',
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Member retention</h1>",
        f"<p>{html.escape(title)}</p>" if title else "",
        f"<p>{report.members:,} members active in {len(totals)} {unit}s, in {scope}; active "
        f"= an event of kind {html.escape(', '.join(report.kinds))}.</p>",
        '<p class="note">New: first active period. Retained: active in the period before '
        "too. Returning: back after at least one period without activity. Lapsed: active in "
        "the period before but not in this one. Per store, a member counts (with their "
        "status in the chain) in each store where they were active that period.</p>",
        *(f'<img src="{name}" alt="{name}">' for name in images[:1]),
        f"<h2>Members per {unit}</h2>",
        _table(totals),
        "<h2>Cohorts</h2>",
        *(f'<img src="{name}" alt="{name}">' for name in images[1:2]),
        f'<p class="note">Rows: the {unit} of a member\'s first activity; columns: {unit}s '
        "since; cells: share of the cohort active (members).</p>",
        _table(cohorts),
    ]
    if report.segment is not None:
        parts += [f"<h2>By {html.escape(report.segment)}</h2>", *_segment_parts(report, images)]
    parts += [
        "<h2>Stores</h2>",
        f'<p class="note">The {TOP_STORES} stores with the most active member-{unit}s; '
        "retention.json has every store and period.</p>",
        _table(_store_summary(report)),
        '<p class="note">Data: <a href="retention.json">retention.json</a></p>',
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def _cohort_cells(report: RetentionReport) -> pd.DataFrame:
    counts, shares = report.cohorts, report.cohort_shares
    cells = pd.DataFrame(
        [
            [
                "" if pd.isna(n) else f"{s:.0%} ({int(n)})"
                for n, s in zip(counts.loc[i], shares.loc[i], strict=True)
            ]
            for i in counts.index
        ],
        columns=[str(c) for c in counts.columns],
    )
    cells.insert(0, "cohort", _labels(counts.index, report.period))
    return cells


def _segment_parts(report: RetentionReport, images: list[str]) -> list[str]:
    name = str(report.segment)
    frame = report.by_segment
    summary = frame.groupby(name, sort=True)[[*STATUSES, "active"]].sum().reset_index()
    return [
        *(f'<img src="{img}" alt="{img}">' for img in images[2:3]),
        f'<p class="note">Sums over the {report.period}s (member-{report.period}s); members '
        "without that tag are 'unknown'.</p>",
        _table(summary),
    ]


def _store_summary(report: RetentionReport) -> pd.DataFrame:
    frame = report.by_store
    summary = frame.groupby(Columns.STORE, sort=False)[[*STATUSES, "active"]].sum()
    periods = frame.groupby(Columns.STORE, sort=False)["period"].nunique()
    summary.insert(0, f"{report.period}s", periods)
    top = summary.sort_values(["active", f"{report.period}s"], ascending=False).head(TOP_STORES)
    return top.rename(columns={"active": f"active member-{report.period}s"}).reset_index()


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if np.isnan(value) else f"{value:.1%}"
    return html.escape(str(value))
