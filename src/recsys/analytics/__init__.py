"""Member analytics from the event log: new, returning and retained members, cohorts.

:func:`retention_report` counts them per week or month, per store and per segment and
returns a :class:`RetentionReport` (``to_dict()`` is the JSON of
``POST /analytics/retention``); :func:`write_report` renders one as an HTML page with PNG
plots (``recsys report``). :func:`attribute` ties purchases to the shelves that showed them
(``POST /analytics/attribution``); :class:`VariantSplit` assigns members to experiment
variants and :func:`compare_variants` compares them (``POST /analytics/experiments``).
"""

from __future__ import annotations

from recsys.analytics.attribution import ATTRIBUTION_GROUPS, AttributionReport, attribute
from recsys.analytics.experiments import ExperimentReport, VariantSplit, compare_variants
from recsys.analytics.report import write_report
from recsys.analytics.retention import PERIODS, STATUSES, RetentionReport, retention_report

__all__ = [
    "ATTRIBUTION_GROUPS",
    "PERIODS",
    "STATUSES",
    "AttributionReport",
    "ExperimentReport",
    "RetentionReport",
    "VariantSplit",
    "attribute",
    "compare_variants",
    "retention_report",
    "write_report",
]
