"""``recsys train`` (optionally ``--tune``) and ``recsys evaluate`` (optionally ``--report``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recsys.cli._common import MODELS, CLIError, step, table
from recsys.cli.data import load_args_data, mark_pseudonyms, pseudonymized

if TYPE_CHECKING:
    import pandas as pd

    from recsys.datasets import RetailData
    from recsys.recommender import Recommender

__all__ = ["cmd_evaluate", "cmd_train", "fit"]


def fit(data: RetailData, model: str, factors: int, seed: int, **params: Any) -> Recommender:
    """A fitted Recommender (models limit BLAS threads themselves while they train).

    The default blend shows a progress bar over its stages (validation, refit) on stderr.
    """
    from recsys.recommender import Recommender

    if model == "blend":
        params.setdefault("show_progress", sys.stderr.isatty())
    return Recommender(model=model, factors=factors, seed=seed, **params).fit(data)


def _load(args: argparse.Namespace) -> RetailData:
    data = load_args_data(args)
    print(repr(data))
    return data


def _tuned_params(data: RetailData, model: str, factors: int | None, seed: int) -> dict[str, Any]:
    """Hyperparameters from :func:`recsys.evaluation.tune` on a validation split of ``data``.

    The latest 20 % of events validate; a given ``--factors`` is kept, not searched.
    """
    from recsys.evaluation import SEARCH_SPACES, tune

    space = dict(SEARCH_SPACES[model])
    fixed: dict[str, Any] = {}
    if factors is not None:
        space.pop("factors", None)
        fixed["factors"] = factors
    print(f"tuning {model} on the latest 20% of events (NDCG@10), one parameter at a time:")
    result = tune(data, model, seed=seed, space=space, params=fixed, log=print)
    print(f"best: {result.best_params} (validation NDCG@10 {result.best_score:.4f})")
    return dict(result.best_params)


def cmd_train(args: argparse.Namespace) -> int:
    data = _load(args)
    pseudo = None
    if args.pseudonymize:
        done = step("pseudonymizing member ids")
        data, pseudo = pseudonymized(data)
        done()
    cursor = None
    if args.events:
        data, cursor = _with_logged_events(data, Path(args.events))
    params: dict[str, Any] = {}
    if args.tune:
        params = _tuned_params(data, args.model, args.factors, args.seed)
    factors = int(params.pop("factors", args.factors or 64))
    settings = "".join(f", {k}={v}" for k, v in params.items())
    done = step(f"training {args.model} (factors={factors}{settings})")
    rec = fit(data, args.model, factors, args.seed, **params)
    done()
    out = Path(args.out)
    if cursor is not None:
        _fold_changes(rec, out, Path(args.events), cursor, pseudo)
    done = step(f"saving to {out}")
    rec.save(out)
    mark_pseudonyms(out, pseudo)
    done()
    print(f"{rec!r}, model_version {rec.model_version}")
    return 0


def _with_logged_events(data: RetailData, log_path: Path) -> tuple[RetailData, int]:
    """The training data plus every event of a service's log; returns the log's last seq
    (the cursor the new model hands to the service: nothing is counted twice)."""
    from dataclasses import replace

    import pandas as pd

    from recsys.columns import Columns
    from recsys.events import SEQ, EventLog

    if not log_path.is_file():
        raise CLIError(f"--events {log_path}: no event log there")
    done = step(f"reading the event log {log_path.name}")
    with EventLog(log_path) as log:
        logged = log.since(after_seq=0)
        last = log.last_seq()
    known = set(data.catalog[Columns.ITEM].astype(str)) if len(data.catalog) else None
    events = logged.drop(columns=[SEQ, Columns.EVENT_ID])
    if known is not None:
        events = events[events[Columns.ITEM].isin(known)]
    done()
    dropped = len(logged) - len(events)
    print(
        f"{len(events):,} logged events join the training data"
        + (f" ({dropped:,} on SKUs the catalog lacks left out)" if dropped else "")
    )
    merged = pd.concat([data.interactions, events], ignore_index=True)
    return replace(data, interactions=merged), last


def _fold_changes(rec: Recommender, out: Path, log_path: Path, cursor: int, pseudo: Any) -> None:
    """Apply the log's catalog, stock, profile changes and erasures to the new model (its
    events are in the training data), leaving its cursors at the log's end."""
    from recsys.serving.runtime import RecsysRuntime
    from recsys.serving.settings import ServiceSettings

    rec.event_seq, rec.change_seq = cursor, 0
    done = step("applying the log's catalog changes and erasures")
    runtime = RecsysRuntime(
        ServiceSettings(model_dir=out.resolve(), event_log=log_path, pseudonymizer=pseudo),
        recommender=rec,
    )
    runtime.close()
    done()


def _split(data: RetailData, test_fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    from recsys.evaluation import temporal_split

    if not 0 < test_fraction < 1:
        raise CLIError(f"--test-fraction must be in (0, 1), got {test_fraction}")
    return temporal_split(data.interactions, test_fraction=test_fraction)


def cmd_evaluate(args: argparse.Namespace) -> int:
    if args.report:
        return _report(args)
    from recsys.evaluation import compare_models
    from recsys.recommender import Recommender

    models = _model_names(args.models)
    data = _load(args)
    train, test = _split(data, args.test_fraction)
    recs = {m: Recommender(model=m, factors=args.factors, seed=args.seed) for m in models}
    start = time.perf_counter()
    frame = compare_models(
        recs,
        train,
        test,
        args.k,
        catalog=data.catalog,
        stores=data.stores,
        profiles=data.profiles,
        sample=args.sample,
        seed=args.seed,
        log=print,
    )
    print(_scores_table(frame, args.k))
    print(
        f"({time.perf_counter() - start:.0f} s; latest {args.test_fraction:.0%} of events as test)"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(json.loads(frame.reset_index().to_json(orient="records")), indent=2) + "\n",
            encoding="utf-8",
        )
        print(f"wrote {args.json}")
    return 0


def _model_names(text: str) -> list[str]:
    """The models of ``--models`` (comma-separated), all known."""
    models = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        raise CLIError(f"unknown model(s) {unknown}; choose from {', '.join(MODELS)}")
    return models


def _scores_table(frame: pd.DataFrame, k: int) -> str:
    """The main columns of a :func:`~recsys.evaluation.compare_models` table, as text."""
    columns = ["ndcg", "recall", "precision", "hit_rate", "coverage", "personalization"]
    shown = frame[[c for c in [*columns, "fit_seconds"] if c in frame.columns]]
    rows = [
        {
            "model": name,
            **{f"{c}@{k}" if c in columns[:4] else c: float(v) for c, v in r.items()},
        }
        for name, r in shown.iterrows()
    ]
    return table(rows)


def _report(args: argparse.Namespace) -> int:
    from recsys.evaluation.report import DATASETS, quality_report

    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    bad = [d for d in datasets if d not in DATASETS]
    if bad or not datasets:
        raise CLIError(f"unknown dataset(s) {bad}; choose from {', '.join(DATASETS)}")
    quality_report(datasets, args.out_dir, quick=args.quick, k=args.k, seed=args.seed, log=print)
    return 0
