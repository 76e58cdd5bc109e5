"""Request and answer models of the ``/analytics/*`` routes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from recsys.data.events import EARLIEST, LATEST, parse_timestamp
from recsys.serving.schemas import _Request

__all__ = [
    "AttributionRequest",
    "AttributionResponse",
    "ExperimentRequest",
    "ExperimentResponse",
    "RetentionRequest",
    "RetentionResponse",
]

_TIME = "ISO 8601 time (UTC when naive), e.g. '2026-03-01' or '2026-03-01T10:00:00'."


class _Period(_Request):
    start: str | None = Field(None, min_length=4, max_length=40, description=f"From: {_TIME}")
    end: str | None = Field(
        None,
        min_length=4,
        max_length=40,
        description=f"Until (excluded; a date alone is its midnight): {_TIME}",
    )

    @field_validator("start", "end")
    @classmethod
    def _a_time(cls, value: str | None) -> str | None:
        """A time the event log can hold (its parser and bounds), or a 422 naming the field."""
        if value is None:
            return value
        try:
            ok = EARLIEST <= parse_timestamp(value) < LATEST
        except (ValueError, TypeError, OverflowError):
            ok = False
        if not ok:  # the event log's own bounds
            span = f"from {EARLIEST.year} to {LATEST.year - 1}"
            raise ValueError(f"must be an ISO 8601 time {span}, e.g. '2026-03-01'")
        return value

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: str | None, info: ValidationInfo) -> str | None:
        """``end`` not before ``start``, or a 422 at ``end``, on every analytics route."""
        start = info.data.get("start")
        if end is not None and start is not None:
            if parse_timestamp(end) < parse_timestamp(start):
                raise ValueError(f"must not be before start ({start})")
        return end


class AttributionRequest(_Period):
    """Shown shelves in [start, end) and the purchases they led to."""

    window_days: float = Field(
        7.0, ge=0.001, le=365, allow_inf_nan=False, description="Attribution window, days."
    )
    by: list[Literal["day", "store_id", "variant", "model_version"]] = Field(
        ["day", "store_id", "variant", "model_version"], description="Grouping columns."
    )
    store_id: str | None = Field(None, min_length=1, description="Only shelves of this store.")
    variant: str | None = Field(
        None,
        min_length=1,
        description="Only shelves of this variant (one no shelf was shown under: no rows).",
    )


class AttributionResponse(BaseModel):
    by: list[str]
    window_days: float
    rows: list[dict[str, Any]] = Field(
        ...,
        description=(
            "Per group: impressions, slots, members, view_through, purchases, units, "
            "revenue, converted, conversion."
        ),
    )


class ExperimentRequest(_Period):
    """Compare the experiment's variants on attributed conversion."""

    window_days: float = Field(7.0, ge=0.001, le=365, allow_inf_nan=False)
    control: str | None = Field(None, min_length=1, description="Default: the first variant.")
    confidence: float = Field(0.95, ge=0.5, le=0.999, description="Of the intervals.")


class ExperimentResponse(BaseModel):
    experiment: str | None
    window_days: float
    control: str
    confidence: float
    variants: list[dict[str, Any]] = Field(
        ...,
        description=(
            "Per variant: members, converted, conversion (and Wilson interval), "
            "revenue_per_member, lift against the control with its interval, p_value "
            "(Fisher), revenue_p_value (Welch)."
        ),
    )


class RetentionRequest(_Period):
    """New, returning and retained members per period, and cohorts."""

    end: str | None = Field(
        None,
        min_length=4,
        max_length=40,
        description=f"The last period reported is the one holding this time: {_TIME}",
    )

    period: Literal["week", "month"] = "week"
    kinds: list[Literal["purchase", "cart", "view", "coupon"]] = Field(
        ["purchase"], min_length=1, description="Event kinds that count as activity."
    )
    store_id: str | None = Field(None, min_length=1, description="One store's own view.")
    segment: str | None = Field(
        None, min_length=1, max_length=64, description="A profile tag, e.g. 'age_band'."
    )


class RetentionResponse(BaseModel):
    period: str
    kinds: list[str]
    segment: str | None
    store_id: str | None
    members: int
    totals: list[dict[str, Any]]
    by_store: list[dict[str, Any]]
    by_segment: list[dict[str, Any]]
    cohorts: list[dict[str, Any]]
