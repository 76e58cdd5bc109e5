"""``recsys report``: the member retention report of an event log or a data set, as HTML."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from recsys.cli._common import CLIError, step
from recsys.cli.data import load_args_data

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["cmd_report"]


def cmd_report(args: argparse.Namespace) -> int:
    from recsys.analytics import retention_report, write_report

    if (args.events is None) == (args.data is None):
        raise CLIError("give --events LOG or --data PATH|synthetic|completejourney, not both")
    if args.events is not None:
        events, profiles, name = _logged(Path(args.events)), None, Path(args.events).name
        stores = None
    else:
        data = load_args_data(args)
        events, profiles, name = data.interactions, data.profiles, data.name
        stores = sorted(set(data.stores["store_id"].astype(str)))  # the assortment's stores
    if args.profiles is not None:
        profiles = _profiles(Path(args.profiles))
    done = step(f"counting members per {args.period}")
    report = retention_report(
        events,
        period=args.period,
        kinds=[k for k in args.kinds.split(",") if k.strip()],
        profiles=profiles if args.segment else None,
        segment=args.segment,
        start=args.start,
        end=args.end,
        store_id=args.store,
        stores=stores,
    )
    done()
    done = step(f"writing the report to {args.out}")
    page = write_report(report, args.out, title=f"Data: {name}")
    done()
    totals = report.totals
    span = (
        f" from {totals['period'].iloc[0]:%Y-%m-%d} to {totals['period'].iloc[-1]:%Y-%m-%d}"
        if len(totals)
        else ""
    )
    print(f"{report.members:,} active members in {len(totals)} {args.period}s{span}")
    print(f"report: {page}")
    return 0


def _logged(path: Path) -> pd.DataFrame:
    """Every event of a service's log (opening a missing path would create a log: refused)."""
    from recsys.events import EventLog

    if not path.is_file():
        raise CLIError(f"--events {path}: no event log there")
    done = step(f"reading the event log {path.name}")
    with EventLog(path) as log:
        events = log.since()
    done()
    return events


def _profiles(path: Path) -> pd.DataFrame:
    """A profiles file (CSV or Parquet), member ids as text."""
    import pandas as pd

    from recsys.columns import Columns

    if not path.is_file():
        raise CLIError(f"--profiles {path}: no such file")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype={Columns.USER: str})
