"""Model quality comparison: ``python -m benchmarks.quality [--quick] [--out DIR] ...``.

A thin command line over :func:`recsys.evaluation.report.quality_report`, which does the work
(and is what ``recsys evaluate --report`` calls). Writes ``quality.md``, ``quality.json`` and
``quality.png`` into ``--out`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit warns and slows down otherwise

from recsys.evaluation.report import DATASETS, quality_report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.quality",
        description="Train every model on synthetic and public retail data; write tables, "
        "JSON and a plot.",
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        choices=DATASETS,
        default=list(DATASETS),
        help="datasets to run (real ones are skipped when the shared data folder is absent)",
    )
    parser.add_argument("--out", default="benchmarks/results", help="output folder")
    parser.add_argument("--quick", action="store_true", help="synthetic only, small sizes")
    parser.add_argument("-k", type=int, default=10, help="shelf length (default 10)")
    parser.add_argument(
        "--sample", type=int, default=None, help="test members per model (default 2000, 500 quick)"
    )
    parser.add_argument(
        "--tune-trials",
        type=int,
        default=None,
        help="trials of each ALS / hybrid search (0: no -tuned rows; default: a full "
        "coordinate pass, 4 in quick mode)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None, help="folder with the public datasets")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the report; returns the process exit code (0)."""
    args = build_parser().parse_args(argv)
    quality_report(
        args.datasets,
        args.out,
        quick=args.quick,
        k=args.k,
        sample=args.sample,
        tune_trials=args.tune_trials,
        seed=args.seed,
        data_dir=args.data_dir,
        plot=not args.no_plot,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
