"""The ``recsys`` command: ``demo``, ``train``, ``evaluate``, ``serve``, ``recommend``, ``report``.

Examples
--------
::

    recsys demo                                  # synthetic chain -> ./demo_model -> http://127.0.0.1:3000
    recsys train --data synthetic --out model/   # or --data PATH (a folder of CSV/Parquet files)
    recsys train --data PATH --out model/ --tune # hyperparameters chosen on a validation split
    recsys evaluate --data synthetic --models popular,ease,blend
    recsys evaluate --report                     # the quality report on every dataset
    recsys serve model/ --port 3000
    recsys recommend model/ --member u42 --store s3 --k 5
    recsys recommend model/ --member u42 --events model.events.sqlite  # with live events
    recsys report --events model.events.sqlite --out report/   # new / returning / retained
    recsys report --data completejourney --out report/ --period month --segment age

Errors print one line to stderr and exit with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from recsys.cli._common import EXIT_ERROR, MODELS, CLIError, done_pending
from recsys.cli.data import load_data
from recsys.cli.report import cmd_report
from recsys.cli.serve import cmd_demo, cmd_forget, cmd_recommend, cmd_serve
from recsys.cli.train import cmd_evaluate, cmd_train
from recsys.exceptions import InvalidInputError, RecsysError, one_line_warnings
from recsys.settings import read_settings

__all__ = ["CLIError", "build_parser", "load_data", "main"]


# --------------------------------------------------------------------------- parser
#: what --data takes (see recsys.cli.data.load_data)
_DATA_HELP = "'synthetic', 'completejourney', 'online_retail' (shared data sets) or a folder"


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _port(text: str) -> int:
    value = _positive(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"port must be 1..65535, got {text}")
    return value


def _add_size(p: argparse.ArgumentParser, n_users: int, n_items: int, n_stores: int) -> None:
    g = p.add_argument_group("synthetic data size")
    g.add_argument("--n-users", type=_positive, default=n_users, help="members (synthetic)")
    g.add_argument("--n-items", type=_positive, default=n_items, help="SKUs (synthetic)")
    g.add_argument("--n-stores", type=_positive, default=n_stores, help="stores (synthetic)")
    p.add_argument("--seed", type=int, default=0, help="random seed")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # exit 2 with one line, as argparse does
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``recsys`` command."""
    from recsys import __version__

    parser = _Parser(prog="recsys", description="Personal shelves for every retail member.")
    parser.add_argument("--version", action="version", version=f"recsys {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_demo(sub)
    _add_train(sub)
    _add_evaluate(sub)
    _add_serve(sub)
    _add_recommend(sub)
    _add_forget(sub)
    _add_report(sub)
    return parser


def _add_demo(sub: argparse._SubParsersAction[_Parser]) -> None:
    """``recsys demo`` and its options."""
    p = sub.add_parser("demo", help="synthetic data -> the default model -> HTTP service")
    p.add_argument("--out", default="demo_model", help="model directory (default ./demo_model)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=3000, help="port (default 3000)")
    p.add_argument("--factors", type=_positive, default=64, help="latent factors")
    p.add_argument("--no-serve", action="store_true", help="train and save, don't serve")
    _add_size(p, 5000, 2000, 20)
    p.set_defaults(func=cmd_demo)


def _add_train(sub: argparse._SubParsersAction[_Parser]) -> None:
    """``recsys train`` and its options."""
    p = sub.add_parser("train", help="train a model and save it to a directory")
    p.add_argument("--data", required=True, help=_DATA_HELP)
    p.add_argument("--out", required=True, help="model directory to write")
    p.add_argument("--model", choices=MODELS, default="blend", help="default: blend")
    p.add_argument(
        "--factors", type=_positive, default=None, help="latent factors (default 64, or tuned)"
    )
    p.add_argument(
        "--tune",
        action="store_true",
        help="choose hyperparameters by NDCG@10 on the latest 20%% of the training events",
    )
    p.add_argument(
        "--pseudonymize",
        action="store_true",
        help="hash member ids with the key in RECSYS_PSEUDONYM_KEY",
    )
    p.add_argument(
        "--events",
        help="a service's event log: its events join the training data and the model "
        "takes over its cursor (no event counted twice after the swap)",
    )
    _add_size(p, 5000, 2000, 20)
    p.set_defaults(func=cmd_train)


def _add_evaluate(sub: argparse._SubParsersAction[_Parser]) -> None:
    """``recsys evaluate`` and its options (``--report``: the quality report)."""
    p = sub.add_parser(
        "evaluate", help="compare models on a temporal split, or write the quality report"
    )
    p.add_argument("--data", default="synthetic", help=_DATA_HELP)
    p.add_argument("--models", default="popular,ease,als,blend", help="comma-separated models")
    p.add_argument("--k", type=_positive, default=10)
    p.add_argument("--factors", type=_positive, default=64)
    p.add_argument("--test-fraction", type=float, default=0.2)
    p.add_argument("--sample", type=_positive, default=None, help="test members to score")
    p.add_argument("--json", help="also write the table as JSON to this file")
    g = p.add_argument_group("quality report (--report)")
    g.add_argument(
        "--report",
        action="store_true",
        help="every model on synthetic and the public datasets: markdown, JSON, PNG",
    )
    g.add_argument(
        "--datasets",
        default="synthetic,complete_journey,online_retail",
        help="datasets of the report (public ones are skipped when absent)",
    )
    g.add_argument("--out-dir", default="benchmarks/results", help="where the report goes")
    g.add_argument("--quick", action="store_true", help="small synthetic run (seconds)")
    _add_size(p, 5000, 2000, 20)
    p.set_defaults(func=cmd_evaluate)


def _add_serve(sub: argparse._SubParsersAction[_Parser]) -> None:
    """``recsys serve`` and its options."""
    p = sub.add_parser("serve", help="serve a saved model over HTTP (bentoml serve)")
    p.add_argument("model_dir", help="directory written by `recsys train`")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=3000)
    p.set_defaults(func=cmd_serve)


def _add_recommend(sub: argparse._SubParsersAction[_Parser]) -> None:
    """``recsys recommend`` and its options."""
    p = sub.add_parser("recommend", help="print one member's shelf from a saved model")
    p.add_argument("model_dir")
    p.add_argument("--member", help="member id")
    p.add_argument("--store", help="store id")
    p.add_argument("--profile", nargs="*", metavar="TAG=VALUE", help="profile tags")
    p.add_argument("--k", type=_positive, default=10)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--events",
        metavar="LOG",
        help="the service's event log: replay the events logged since training first, "
        "as `recsys serve` does",
    )
    p.set_defaults(func=cmd_recommend)


def _add_forget(sub: argparse._SubParsersAction[_Parser]) -> None:
    """``recsys forget`` and its options."""
    p = sub.add_parser(
        "forget", help="erase a member from a saved model and its event log (GDPR, PIPL)"
    )
    p.add_argument("model_dir", help="the served model directory (rewritten in place)")
    p.add_argument("member", help="the member's id (raw: RECSYS_PSEUDONYM_KEY applies)")
    p.add_argument("--events", help="event log (default <model dir>.events.sqlite)")
    p.set_defaults(func=cmd_forget)


def _add_report(sub: argparse._SubParsersAction[_Parser]) -> None:
    """``recsys report`` and its options."""
    p = sub.add_parser(
        "report", help="new, returning and retained members and cohorts: HTML, JSON, PNG"
    )
    src = p.add_argument_group("events (one of)")
    src.add_argument("--events", metavar="LOG", help="a service's event log (SQLite file)")
    src.add_argument("--data", help=_DATA_HELP)
    p.add_argument("--out", required=True, metavar="DIR", help="folder for index.html & co.")
    p.add_argument("--period", choices=("week", "month"), default="week")
    p.add_argument(
        "--kinds", default="purchase", help="event kinds that make a member active (a,b)"
    )
    p.add_argument("--segment", metavar="TAG", help="profile tag to break counts down by")
    p.add_argument(
        "--profiles", metavar="FILE", help="profiles CSV/Parquet (default: those of --data)"
    )
    p.add_argument("--store", help="only this store's events (the store's own view)")
    p.add_argument("--start", help="first period: the one holding this time (ISO 8601)")
    p.add_argument("--end", help="last period: the one holding this time (ISO 8601)")
    _add_size(p, 5000, 2000, 20)
    p.set_defaults(func=cmd_report)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``recsys`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    one_line_warnings()
    try:
        return int(args.func(args))
    except (CLIError, RecsysError, InvalidInputError, OSError) as exc:
        done_pending()
        print(f"recsys {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not a user error: still one line unless debugging
        if _debug():
            raise
        done_pending()
        print(
            f"recsys {args.command}: unexpected {type(exc).__name__}: {exc} "
            "(set RECSYS_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())


def _debug() -> bool:
    try:
        return read_settings().debug
    except RecsysError:
        return False
