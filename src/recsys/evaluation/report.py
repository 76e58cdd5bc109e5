"""The quality report: every model on synthetic and public retail data, as tables, JSON and a plot.

For each dataset:

1. **cold split** — members are held out entirely (:func:`~recsys.evaluation.cold_user_split`;
   on The Complete Journey only the 801 profiled households are eligible, since a cold shelf
   needs tags); their profile rows are hidden from training;
2. **temporal split** — the remaining events are split at one point in time, the latest 20%
   going to test (:func:`~recsys.evaluation.temporal_split`);
3. **tuning** — EASE and ALS are tuned with :func:`~recsys.evaluation.tune` on a
   validation split carved out of the temporal *train* part (the test part is never seen)
   and refitted on the whole train part as the ``ease-tuned`` and ``als-tuned`` rows;
4. every model is fitted once on the train part, scored on the test part
   (:func:`~recsys.evaluation.evaluate`: warm members, already-bought SKUs excluded) and, for
   the models with a cold-start path, on the cold members from their tags alone
   (:func:`~recsys.evaluation.evaluate_cold`).

The default (``blend``) is compared with strong simple references (:data:`REFERENCES`):
popularity overall and in the member's segment, the tuned EASE and ALS, and LightFM with
member features (:class:`~recsys.evaluation.baselines.LightFMBaseline`, when ``lightfm`` is
installed). ``implicit-als-defaults`` is raw ``implicit.als.AlternatingLeastSquares()`` on the
same confidence matrix (:class:`~recsys.evaluation.baselines.ImplicitALSBaseline`).

The Complete Journey has 68k SKUs; to keep EASE (a dense SKU x SKU inverse) feasible the report
keeps the :data:`CJ_TOP_ITEMS` most purchased SKUs (counted over the whole log) for **every**
model, and drops events on the other SKUs before splitting.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from recsys.columns import Columns
from recsys.datasets import (
    load_complete_journey,
    load_online_retail,
    shared_data_dir,
    synthetic_retail,
)
from recsys.evaluation import _report_output as output
from recsys.evaluation.baselines import ImplicitALSBaseline, LightFMBaseline, lightfm_available
from recsys.evaluation.compare import compare_models
from recsys.evaluation.splitters import cold_user_split, temporal_split
from recsys.evaluation.tuning import SEARCH_SPACES, tune
from recsys.exceptions import InvalidInputError
from recsys.recommender import Recommender

__all__ = [
    "CJ_TOP_ITEMS",
    "COLD_MODELS",
    "DATASETS",
    "DEFAULT",
    "LIGHTFM",
    "MODELS",
    "REFERENCE",
    "REFERENCES",
    "ROWS",
    "TUNED",
    "quality_report",
]

#: recsys rows of every report, in table order: row name -> (registry model, parameters).
ROWS: dict[str, tuple[str, dict[str, Any]]] = {
    "blend": ("blend", {}),
    "popular": ("popular", {"by": "global", "cold_dither": 1.0}),
    "popular-segment": ("popular", {"by": "segment", "cold_dither": 1.0}),
    "itemknn": ("itemknn", {}),
    "ease": ("ease", {}),
    "als": ("als", {}),
    "bpr": ("bpr", {}),
    "profile": ("profile", {}),
    "hybrid": ("hybrid", {}),
}
MODELS: tuple[str, ...] = tuple(ROWS)
#: The row of the default model (``Recommender()``).
DEFAULT = "blend"
#: Models tuned on a validation split of train; their rows are named ``<model>-tuned``.
TUNED: tuple[str, ...] = ("ease", "als")
#: Name of the LightFM row (present when ``lightfm`` is installed).
LIGHTFM = "lightfm"
#: Name of the raw-implicit reference row.
REFERENCE = "implicit-als-defaults"
#: The strong simple references the default is measured against.
REFERENCES: tuple[str, ...] = ("popular", "popular-segment", "ease-tuned", "als-tuned", LIGHTFM)
#: Rows scored on cold members (tags only).
COLD_MODELS: tuple[str, ...] = ("blend", "popular", "popular-segment", "profile", "hybrid", LIGHTFM)
#: Datasets :func:`quality_report` knows.
DATASETS: tuple[str, ...] = ("synthetic", "complete_journey", "online_retail")
#: SKUs kept on The Complete Journey (most purchased first), for every model.
CJ_TOP_ITEMS = 10_000


# ---------------------------------------------------------------------- datasets
@dataclass
class _Setup:
    """A dataset ready for the report: data frames, how to split, model sizes."""

    name: str
    data: Any
    notes: list[str] = field(default_factory=list)
    cold_fraction: float = 0.1
    cold_profiled_only: bool = False
    params: dict[str, dict[str, Any]] = field(default_factory=dict)


def _synthetic(quick: bool, seed: int) -> _Setup:
    if quick:
        data = synthetic_retail(
            n_users=1500, n_items=500, n_stores=5, items_per_store=(200, 300), seed=seed
        )
        small = {"factors": 32, "iterations": 8}
        params = {m: dict(small) for m in ("als", "profile", "hybrid")}
        params["bpr"] = {"factors": 32, "iterations": 30}
        params["blend"] = {"factors": 32}
    else:
        data = synthetic_retail(n_users=5000, n_items=2000, n_stores=20, seed=seed)
        params = {}
    note = f"synthetic_retail({len(data.profiles):,} members, {len(data.catalog):,} SKUs)"
    return _Setup("synthetic", data, [note], params=params)


def _complete_journey(folder: Path, top_items: int) -> _Setup:
    data = load_complete_journey(folder)
    counts = data.interactions[Columns.ITEM].value_counts()
    keep = set(counts.index[:top_items])
    n_before = len(data.interactions)
    inter = data.interactions[data.interactions[Columns.ITEM].isin(keep)].reset_index(drop=True)
    catalog = data.catalog[data.catalog[Columns.ITEM].isin(keep)].reset_index(drop=True)
    stores = data.stores[data.stores[Columns.ITEM].isin(keep)].reset_index(drop=True)
    restricted = type(data)(inter, catalog, stores, data.profiles, dict(data.report))
    note = (
        f"SKUs restricted to the {len(keep):,} most purchased of {len(counts):,} "
        f"(>= {int(counts.iloc[min(top_items, len(counts)) - 1])} purchase lines each), for "
        f"every model; {len(inter):,} of {n_before:,} events kept"
    )
    return _Setup(
        "complete_journey",
        restricted,
        [note, f"cold members drawn from the {len(data.profiles):,} profiled households"],
        cold_fraction=0.3,
        cold_profiled_only=True,
    )


def _online_retail(folder: Path) -> _Setup:
    data = load_online_retail(folder)
    note = f"{len(data.catalog):,} SKUs; the only profile tag is the country"
    return _Setup("online_retail", data, [note])


def _load(name: str, quick: bool, seed: int, data_dir: Path | None) -> _Setup | str:
    """The dataset's setup, or the reason it is skipped."""
    if name == "synthetic":
        return _synthetic(quick, seed)
    if quick:
        return "skipped: quick mode uses synthetic data only"
    if data_dir is None:
        return "skipped: no shared data folder (recsys.datasets.shared_data_dir() is None)"
    folder = data_dir / ("completejourney" if name == "complete_journey" else "uci-online-retail")
    if not folder.exists():
        return f"skipped: {folder} is absent"
    if name == "complete_journey":
        return _complete_journey(folder, CJ_TOP_ITEMS)
    return _online_retail(folder)


# ---------------------------------------------------------------------- running
def _splits(setup: _Setup, seed: int) -> tuple[Any, ...]:
    """(train, test, cold_test, cold_profiles, fit_profiles) of a dataset."""
    interactions, profiles = setup.data.interactions, setup.data.profiles
    if setup.cold_profiled_only and profiles is not None:
        profiled = interactions[Columns.USER].isin(set(profiles[Columns.USER].astype(str)))
        _, cold_test, cold_profiles = cold_user_split(
            interactions[profiled], profiles, setup.cold_fraction, seed=seed
        )
        held_out = set(cold_test[Columns.USER])
        rest = interactions[~interactions[Columns.USER].isin(held_out)].reset_index(drop=True)
    else:
        rest, cold_test, cold_profiles = cold_user_split(
            interactions, profiles, setup.cold_fraction, seed=seed
        )
    fit_profiles = profiles
    if profiles is not None and cold_profiles is not None:
        hidden = profiles[Columns.USER].astype(str).isin(set(cold_profiles[Columns.USER]))
        fit_profiles = profiles[~hidden]
    train, test = temporal_split(rest, test_fraction=0.2)
    return train, test, cold_test, cold_profiles, fit_profiles


def _tuned(
    setup: _Setup,
    train: pd.DataFrame,
    fit_profiles: pd.DataFrame | None,
    trials: int | None,
    sample: int,
    seed: int,
    log: Callable[[str], None],
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Tuned models (unfitted) and what tuning found, per ``<model>-tuned`` row."""
    models: dict[str, Any] = {}
    info: dict[str, dict[str, Any]] = {}
    if trials == 0:
        return models, info
    data = setup.data
    for name in TUNED:
        fixed = setup.params.get(name, {})  # quick mode: keep the small sizes
        space = {p: v for p, v in SEARCH_SPACES[name].items() if p not in fixed}
        start = time.perf_counter()
        result = tune(
            train,
            name,
            catalog=data.catalog,
            stores=data.stores,
            profiles=fit_profiles,
            n_trials=trials,
            seed=seed,
            sample=sample,
            space=space,
            params=fixed,
        )
        params = result.best_params
        models[f"{name}-tuned"] = Recommender(model=name, seed=seed, **params)
        info[f"{name}-tuned"] = {
            "best_params": params,
            "best_score": result.best_score,
            "trials": len(result.trials),
            "seconds": time.perf_counter() - start,
        }
        log(f"  tuned {name}: {params} (validation NDCG {result.best_score:.4f})")
    return models, info


def _run(
    setup: _Setup, k: int, sample: int, seed: int, trials: int | None, log: Callable[[str], None]
) -> dict[str, Any]:
    data = setup.data
    train, test, cold_test, cold_profiles, fit_profiles = _splits(setup, seed)
    split = {
        "train_events": len(train),
        "test_events": len(test),
        "cutoff": str(test[Columns.TIMESTAMP].min()),
        "cold_members": int(cold_test[Columns.USER].nunique()),
        "sample": sample,
    }
    log(f"{setup.name}: {split}")
    for note in setup.notes:
        log(f"  note: {note}")
    models: dict[str, Any] = {
        name: Recommender(model=model, seed=seed, **params, **setup.params.get(name, {}))
        for name, (model, params) in ROWS.items()
    }
    tuned, tuning = _tuned(setup, train, fit_profiles, trials, sample, seed, log)
    models.update(tuned)
    if lightfm_available():
        models[LIGHTFM] = LightFMBaseline(epochs=5 if setup.params else 30, random_state=seed)
    models[REFERENCE] = ImplicitALSBaseline(random_state=seed)
    table = compare_models(
        models,
        train,
        test,
        k,
        catalog=data.catalog,
        stores=data.stores,
        profiles=fit_profiles,
        cold=(cold_test, cold_profiles) if cold_profiles is not None else None,
        cold_models=COLD_MODELS,
        sample=sample,
        seed=seed,
        on_error="nan",
        log=log,
    )
    validation = _default_validation(models[DEFAULT], log)
    return {
        "split": split,
        "notes": setup.notes,
        "tuning": tuning,
        "default_validation": validation,
        "table": table,
    }


def _default_validation(model: Any, log: Callable[[str], None]) -> dict[str, Any]:
    """What the default learned on its own validation slice of train (weights, variants,
    the second stage's decision); empty when it did not fit."""
    fitted = getattr(model, "is_fitted", False) and getattr(model.model_, "validation_", None)
    if not fitted:
        return {}
    blend = model.model_
    report = {
        **blend.validation_,
        "weights": dict(blend.weights_),
        "cold_weights": dict(blend.cold_weights_),
    }
    ranker = report.get("ranker")
    if isinstance(ranker, dict) and "ndcg@10_sum" in ranker:
        log(
            f"  {DEFAULT}'s second stage: {'kept' if ranker['kept'] else 'dropped'} "
            f"(a slice earlier: weighted sum {ranker['ndcg@10_sum']:.4f}, "
            f"ranker {ranker['ndcg@10_ranker']:.4f})"
        )
    return report


def _checked(
    datasets: Iterable[str], quick: bool, sample: int | None, tune_trials: int | None
) -> tuple[list[str], int, int | None]:
    """(datasets, sample, tune trials) of :func:`quality_report`, defaults filled in."""
    datasets = list(datasets)
    unknown = [d for d in datasets if d not in DATASETS]
    if unknown or not datasets:
        raise InvalidInputError(f"datasets must be among {DATASETS}, got {datasets}")
    sample = sample if sample is not None else (500 if quick else 2000)
    trials = tune_trials if tune_trials is not None else (4 if quick else None)
    if trials is not None and (
        isinstance(trials, bool) or not isinstance(trials, int) or trials < 0
    ):
        raise InvalidInputError(f"tune_trials must be an int >= 0 or None, got {tune_trials!r}")
    return datasets, sample, trials


def _run_all(
    datasets: list[str],
    quick: bool,
    folder: Path | None,
    k: int,
    sample: int,
    seed: int,
    trials: int | None,
    say: Callable[[str], None],
) -> tuple[dict[str, dict], dict[str, str]]:
    """(results, reasons for skipping) of each dataset, run one after the other."""
    results: dict[str, dict] = {}
    skipped: dict[str, str] = {}
    for name in datasets:
        t0 = time.perf_counter()
        setup = _load(name, quick, seed, folder)
        if isinstance(setup, str):
            skipped[name] = setup
            say(f"{name}: {setup}")
            continue
        results[name] = _run(setup, k, sample, seed, trials, say)
        results[name]["seconds"] = time.perf_counter() - t0
        say(f"{name}: done in {results[name]['seconds']:.0f}s")
    return results, skipped


def _long_table(results: dict[str, dict]) -> pd.DataFrame:
    """Every dataset's table stacked, ``dataset`` first (empty when every one was skipped)."""
    frames = [r["table"].reset_index().assign(dataset=n) for n, r in results.items()]
    long = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if len(long):
        long = long[["dataset", *[c for c in long.columns if c != "dataset"]]]
    return long


def _write(
    out: Path,
    meta: dict[str, Any],
    results: dict[str, dict],
    skipped: dict[str, str],
    long: pd.DataFrame,
    plot: bool,
    say: Callable[[str], None],
) -> None:
    """Write ``quality.json``, the plot and ``quality.md`` to ``out``; log the verdicts."""
    summary = verdicts(results, meta["k"])
    (out / "quality.json").write_text(output.to_json(meta, results, skipped, summary))
    notes = list(summary)
    if plot and len(long):
        try:
            output.plot(long, out / "quality.png", meta["k"], (*REFERENCES, REFERENCE))
        except ImportError:
            notes.append("plot skipped: matplotlib is not installed (pip install recsys[plot])")
    (out / "quality.md").write_text(output.to_markdown(meta, results, skipped, notes))
    for line in notes:
        say(line)
    say(f"wrote {out / 'quality.md'}, quality.json, quality.png in {meta['seconds']:.0f}s")


def quality_report(
    datasets: Iterable[str] = DATASETS,
    out_dir: str | Path = "benchmarks/results",
    quick: bool = False,
    *,
    k: int = 10,
    sample: int | None = None,
    tune_trials: int | None = None,
    seed: int = 0,
    data_dir: str | Path | None = None,
    plot: bool = True,
    log: Callable[[str], None] | None = print,
) -> pd.DataFrame:
    """Train every model on each dataset's splits; write ``quality.{md,json,png}``.

    Parameters
    ----------
    datasets : iterable of str
        Among :data:`DATASETS`. Real datasets come from ``data_dir`` (default
        :func:`~recsys.datasets.shared_data_dir`) and are skipped, with a note, when absent.
    out_dir : str or Path
        Where ``quality.md``, ``quality.json`` and ``quality.png`` are written (created).
    quick : bool
        Synthetic data only, small sizes (seconds): what tests and the notebook run.
    k, seed : int
        Shelf length of every metric; seed of data generation, splits, models, tuning, samples.
    sample : int, optional
        Test members evaluated per model, the same for every model (seeded). Default 2,000,
        or 500 in quick mode.
    tune_trials : int, optional
        At most this many trials in each :data:`TUNED` model's coordinate search (0: no
        ``-tuned`` rows). Default: the whole pass (6 trials for EASE, 10 for ALS), or 4 in
        quick mode.
    data_dir : str or Path, optional
        Folder holding ``completejourney/`` and ``uci-online-retail/``.
    plot : bool
        Write the PNG (needs matplotlib; skipped with a note if it is missing).
    log : callable or None
        Progress lines (default ``print``).

    Returns
    -------
    pandas.DataFrame
        One row per (dataset, model): ``dataset``, ``model``, ``fit_seconds``,
        ``eval_seconds``, the metrics of :func:`~recsys.evaluation.evaluate` and their
        ``cold_`` counterparts (NaN for models without a cold-start path).

    Raises
    ------
    InvalidInputError
        No dataset, or one not in :data:`DATASETS`.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as out:  # doctest: +SKIP
    ...     table = quality_report(["synthetic"], out, quick=True, log=None)
    >>> sorted(set(table.model)) >= sorted([*MODELS, "ease-tuned", "als-tuned", REFERENCE])
    ... # doctest: +SKIP
    True
    """
    datasets, sample, trials = _checked(datasets, quick, sample, tune_trials)
    say = log or (lambda _: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    folder = Path(data_dir) if data_dir is not None else shared_data_dir()
    started = time.perf_counter()
    results, skipped = _run_all(datasets, quick, folder, k, sample, seed, trials, say)
    long = _long_table(results)
    meta = {
        "k": k,
        "quick": quick,
        "seed": seed,
        "sample": sample,
        "tune_trials": trials,
        "seconds": round(time.perf_counter() - started, 1),
    }
    _write(out, meta, results, skipped, long, plot, say)
    return long


def verdicts(results: dict[str, dict], k: int) -> list[str]:
    """One line per dataset and target: the default against its references.

    Members with history: the default's NDCG@k against the best of :data:`REFERENCES`
    (target 1.05 x, personalization >= 0.8). Cold members: against popularity in the segment
    (1.05 x) and against LightFM (1 x), personalization >= 0.7. ``results`` maps a dataset
    name to a dict with a ``table`` (index = model) as
    :func:`~recsys.evaluation.compare_models` returns it.
    """
    lines = []
    for name, result in results.items():
        table = result["table"]
        if DEFAULT not in table.index:
            continue
        warm = {r: 1.05 for r in REFERENCES}
        lines += _verdict(name, table, k, "", warm, min_pers=0.8, best_only=True)
        if "cold_ndcg" in table.columns:
            cold = {"popular-segment": 1.05, LIGHTFM: 1.0}
            lines += _verdict(name, table, k, "cold_", cold, min_pers=0.7, best_only=False)
    return lines


def _verdict(
    name: str,
    table: pd.DataFrame,
    k: int,
    prefix: str,
    targets: dict[str, float],
    min_pers: float,
    best_only: bool,
) -> list[str]:
    """Lines comparing the default's ``{prefix}ndcg`` with references and their targets."""

    def value(row: str, column: str) -> float:
        if row not in table.index or column not in table.columns:
            return math.nan
        cell: Any = table.loc[row, column]
        return float(cell) if isinstance(cell, int | float) else math.nan

    ours, pers = value(DEFAULT, f"{prefix}ndcg"), value(DEFAULT, f"{prefix}personalization")
    refs = {r: value(r, f"{prefix}ndcg") for r in targets}
    refs = {r: v for r, v in refs.items() if not math.isnan(v)}
    if math.isnan(ours) or not refs:
        return []
    if best_only:
        best = max(refs, key=lambda r: refs[r])
        refs = {best: refs[best]}
    who = "cold members" if prefix else "members with history"
    lines = []
    for ref, theirs in refs.items():
        ratio = ours / theirs if theirs > 0 else math.inf
        met = ratio >= targets[ref] and pers >= min_pers
        lines.append(
            f"{name}, {who}: the default (NDCG@{k} {ours:.4f}, personalization {pers:.3f}) is "
            f"{ratio:.2f} x {ref} ({theirs:.4f}): {'meets' if met else 'MISSES'} the target "
            f"({targets[ref]:.2f} x, personalization >= {min_pers})"
        )
    return lines
