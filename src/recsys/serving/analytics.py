"""The analytics routes' work: attribution, experiments and retention from the event log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from recsys.analytics import attribute, compare_variants, retention_report
from recsys.columns import Columns
from recsys.exceptions import InvalidInputError, UnknownIdError
from recsys.serving.experiments import Experiment
from recsys.serving.runtime import RecsysRuntime

__all__ = ["attribution_of", "experiment_of", "retention_of"]


def _attribution(
    runtime: RecsysRuntime,
    start: str | None,
    end: str | None,
    window_days: float,
    by: Sequence[str],
    store_id: str | None = None,
    variant: str | None = None,
) -> Any:
    runtime.impressions.flush()  # this worker's queued shelves count too
    shown = runtime.log.impressions(start, end)
    if store_id is not None:
        stores = runtime.recommender.store_ids
        if store_id not in stores:  # as retention answers, and every shelf route
            raise UnknownIdError("store", [store_id], known=len(stores))
        shown = shown[shown[Columns.STORE] == store_id]
    if variant is not None:
        shown = shown[shown["variant"] == variant]
    events = runtime.log.since(start)
    prices = runtime.recommender.item_prices()
    return attribute(shown, events, window_days=window_days, prices=prices, by=by)


def attribution_of(runtime: RecsysRuntime, **query: Any) -> dict[str, Any]:
    """``POST /analytics/attribution``: see :func:`recsys.analytics.attribute`."""
    return dict(_attribution(runtime, **query).to_dict())


def experiment_of(
    runtime: RecsysRuntime,
    experiment: Experiment,
    *,
    start: str | None,
    end: str | None,
    window_days: float,
    control: str | None,
    confidence: float,
) -> dict[str, Any]:
    """``POST /analytics/experiments``: attributed conversion per variant, compared."""
    report = _attribution(runtime, start, end, window_days, by=("variant",))
    compared = compare_variants(
        report.by_member, control=control, confidence=confidence, variants=experiment.variants
    )
    return {"experiment": experiment.name, "window_days": window_days, **compared.to_dict()}


def retention_of(
    runtime: RecsysRuntime,
    *,
    period: str,
    kinds: Sequence[str],
    start: str | None,
    end: str | None,
    store_id: str | None,
    segment: str | None,
) -> dict[str, Any]:
    """``POST /analytics/retention``: see :func:`recsys.analytics.retention_report`; the
    segment is a profile tag as the model holds it."""
    events = runtime.log.since()
    profiles = None
    if segment is not None:
        rec = runtime.recommender
        encoder = rec.dataset_.profile_encoder
        tags = sorted({*encoder.tag_columns, *encoder.numeric_columns})
        if segment not in tags:
            error = InvalidInputError(f"no profile tag {segment!r}; the tags are {tags}")
            error.loc = ("segment",)
            raise error
        members = pd.unique(events[Columns.USER])
        profiles = pd.DataFrame([{Columns.USER: m, **rec.profile_of(str(m))} for m in members])
        if segment not in profiles:
            profiles[segment] = None
    report = retention_report(
        events,
        period=period,
        kinds=kinds,
        profiles=profiles,
        segment=segment,
        start=start,
        end=end,
        store_id=store_id,
        stores=runtime.recommender.store_ids,
    )
    return report.to_dict()
