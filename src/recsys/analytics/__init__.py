"""Member analytics from the event log: new, returning and retained members, cohorts.

:func:`retention_report` counts them per week or month, per store and per segment and
returns a :class:`RetentionReport` (``to_dict()`` is the JSON of
``POST /analytics/retention``); :func:`write_report` renders one as an HTML page with PNG
plots (``recsys report``).
"""

from __future__ import annotations

from recsys.analytics.report import write_report
from recsys.analytics.retention import PERIODS, STATUSES, RetentionReport, retention_report

__all__ = ["PERIODS", "STATUSES", "RetentionReport", "retention_report", "write_report"]
