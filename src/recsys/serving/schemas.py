"""Pydantic request and response models of the HTTP routes (they make the OpenAPI docs)."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from recsys.columns import Columns, EventKind
from recsys.data.catalog import MAX_PRICE, parse_season
from recsys.data.events import EVENT_FIELDS, MAX_VALUE
from recsys.exceptions import SchemaError

__all__ = [
    "AudienceRequest",
    "AudienceResponse",
    "BatchRequest",
    "BatchResponse",
    "CapsIn",
    "CatalogItem",
    "CatalogRequest",
    "CatalogResponse",
    "EventIn",
    "EventsRequest",
    "EventsResponse",
    "Filters",
    "MemberRequest",
    "MemberResponse",
    "RecommendRequest",
    "RecommendResponse",
    "Rules",
    "SimilarRequest",
    "SimilarResponse",
    "StockRequest",
    "StockResponse",
]

MAX_K: Final = 1000
MAX_AUDIENCE: Final = 100_000


class _Request(BaseModel):
    # strict: "10" is not an int, 1 is not a string; forbid: a misspelt field is an error,
    # not a silently ignored option.
    model_config = ConfigDict(extra="forbid", strict=True)


class Filters(_Request):
    """Constraints every SKU on the shelf must satisfy (all optional, combined with AND)."""

    category: str | list[str] | None = Field(
        None, description="Category name or names to keep.", examples=[["shirts", "jeans"]]
    )
    min_price: float | None = Field(
        None, ge=0, allow_inf_nan=False, description="Lowest price to keep.", examples=[20]
    )
    max_price: float | None = Field(
        None, ge=0, allow_inf_nan=False, description="Highest price to keep.", examples=[300]
    )
    in_season: Literal[False] | dt.date | None = Field(
        None,
        description=(
            "ISO date: keep SKUs in season and available on that day; false: every season "
            "(a store's shelf keeps the shelf's day by default)."
        ),
        examples=["2026-11-22", False],
    )
    include: list[str] | None = Field(
        None, description="Only these SKU ids may appear.", examples=[["sku1", "sku7"]]
    )
    exclude: list[str] | None = Field(
        None, description="These SKU ids never appear.", examples=[["sku3"]]
    )

    def as_dict(self) -> dict[str, Any] | None:
        out = self.model_dump(exclude_none=True)
        return out or None


class Rules(_Request):
    """Merchandising rules of this request, over the store's and the chain's (each optional)."""

    max_per_category: int | None = Field(
        None,
        ge=1,
        description="At most this many SKUs of one category (null: no cap).",
        examples=[3],
    )
    dedupe_groups: bool | None = Field(
        None, description="One SKU per style group (the catalog's group_id)."
    )
    boost: dict[str, float] | None = Field(
        None,
        description="SKU id or category -> score multiplier (> 0), e.g. a campaign.",
        examples=[{"sku5": 2.0, "jackets": 1.5}],
    )
    pin: dict[str, int] | None = Field(
        None,
        description=(
            "SKU id -> slot (0 is the first). A pin places only a SKU the shelf may show "
            "(stocked in the store, in season, passing the filters, not bought already); "
            "any other pin is left out."
        ),
        examples=[{"sku8": 0}],
    )
    bury: list[str] | None = Field(
        None, description="SKU ids shown only when nothing else passes.", examples=[["sku3"]]
    )

    def as_dict(self) -> dict[str, Any] | None:
        out = self.model_dump(exclude_unset=True)
        return out or None


_RULES = Field(None, description="Merchandising rules (over the store's and the chain's).")

_K = Field(10, ge=1, le=MAX_K, description=f"Shelf length, 1..{MAX_K}.", examples=[10])
_STORE = Field(
    None, min_length=1, max_length=256, description="Only SKUs stocked in this store.",
    examples=["s3"],
)  # fmt: skip
#: an id as a dict key (member ids of profiles): the length every id field has
_IdKey = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class RecommendRequest(_Request):
    """One member's shelf. Give ``member_id``, ``profile`` (a new member's tags) or both."""

    member_id: str | None = Field(
        None,
        min_length=1,
        max_length=256,
        description="The member's id (card number, CRM id).",
        examples=["u42"],
    )
    profile: dict[str, str | int | float] | None = Field(
        None,
        description="Profile tags, used for members with little or no history.",
        examples=[{"age_band": "25-34", "family": "kids"}],
    )
    store_id: str | None = _STORE
    k: int = _K
    filters: Filters | None = Field(None, description="Extra constraints on the SKUs.")
    exclude_purchased: bool = Field(True, description="Leave out SKUs the member already bought.")
    rules: Rules | None = _RULES


class BatchRequest(_Request):
    """Shelves of many members at once (at most 1,000 per call)."""

    member_ids: list[Annotated[str, Field(min_length=1, max_length=256)]] = Field(
        ..., description="Member ids, at most 1,000 (413 beyond).", examples=[["u1", "u2"]]
    )
    store_id: str | None = _STORE
    k: int = _K
    filters: Filters | None = Field(None, description="Extra constraints on the SKUs.")
    exclude_purchased: bool = Field(True, description="Leave out SKUs each member bought.")
    rules: Rules | None = _RULES


class SimilarRequest(_Request):
    """SKUs most similar to one SKU ("goes with", "more like this")."""

    item_id: str = Field(
        ..., min_length=1, max_length=256, description="The SKU id.", examples=["sku7"]
    )
    store_id: str | None = _STORE
    k: int = _K
    filters: Filters | None = Field(None, description="Extra constraints on the SKUs.")


class CapsIn(_Request):
    """At most ``per_member`` coupons per member in any ``days``-day window."""

    per_member: int = Field(1, ge=1, le=1000, description="Coupons per member per window.")
    days: float = Field(
        30.0, ge=0.001, le=3660, allow_inf_nan=False, description="Window, days (> 0)."
    )


class AudienceRequest(_Request):
    """Members most likely to want a SKU, e.g. who should get its coupon."""

    item_id: str = Field(
        ..., min_length=1, max_length=256, description="The SKU id.", examples=["sku7"]
    )
    k: int = Field(
        1000, ge=1, le=MAX_AUDIENCE, description="Audience size, 1..100,000.", examples=[1000]
    )
    store_id: str | None = Field(
        None, min_length=1, description="Only regular customers of this store.", examples=["s3"]
    )
    exclude_purchased: bool = Field(True, description="Leave out members who bought the SKU.")
    min_score: float | None = Field(
        None, allow_inf_nan=False, description="Only members scoring above this (default: 0)."
    )
    caps: CapsIn | None = Field(
        None, description="Frequency cap: leave out members already issued that many coupons."
    )
    budgets: dict[str, Annotated[int, Field(ge=0)]] | None = Field(
        None,
        description=(
            "At most this many members per store (store id -> count), each counted against "
            "the budgeted store where they have the most events."
        ),
        examples=[{"s1": 100, "s2": 50}],
    )
    issue: bool = Field(
        False,
        description=(
            "Record a coupon for every member answered, durably (caps count it from then "
            "on, on every worker)."
        ),
    )


_FIELDS = {f.name: f for f in EVENT_FIELDS}


def _event_field(name: str) -> Any:
    """The ``Field`` of one schema field: default, docs and length from
    :data:`recsys.data.events.EVENT_FIELDS`. The rules themselves are checked by
    :func:`recsys.data.events.validate_events`, as at every other entry point."""
    field = _FIELDS[name]
    extra: dict[str, Any] = {"description": field.description, "examples": [field.example]}
    if field.kind == "id":
        extra.update(min_length=1, max_length=field.max_length)
    if field.kind == "kind":
        extra["json_schema_extra"] = {"enum": list(EventKind.ALL)}
    if field.kind == "value":
        extra.update(ge=0, le=MAX_VALUE)
    return Field(... if field.required else None, **extra)


class EventIn(_Request):
    """One member event (the fields of :data:`recsys.data.events.EVENT_FIELDS`)."""

    user_id: str = _event_field(Columns.USER)
    item_id: str = _event_field(Columns.ITEM)
    kind: str = _event_field(Columns.KIND)
    value: float | None = _event_field(Columns.VALUE)
    timestamp: str | float | None = _event_field(Columns.TIMESTAMP)
    store_id: str | None = _event_field(Columns.STORE)
    event_id: str | None = _event_field(Columns.EVENT_ID)


def _events_schema() -> dict[str, Any]:
    """The documented shape of ``events``: a list of :class:`EventIn`."""
    return {"type": "array", "items": EventIn.model_json_schema()}


class EventsRequest(_Request):
    """A batch of member events (at most 10,000 per call)."""

    # parsed as plain objects, documented as EventIn: the event schema proper is checked by
    # the route on a worker thread (recsys.data.events.validate_events, the one schema),
    # because BentoML parses the body on the event loop, where building 10,000 models would
    # hold up every shelf behind it
    events: Annotated[list[dict[str, Any]], WithJsonSchema(_events_schema())] = Field(
        default_factory=list,
        description="The events, at most 10,000 (413 beyond); none with 'profiles' alone.",
    )
    profiles: dict[_IdKey, dict[str, str | int | float | None]] | None = Field(
        None,
        description=(
            "Profile tags by member id, set before the events (a QR-code sign-up, a new "
            "tier); logged durably with them. A profile changes only the fields it names "
            "(null clears one); a field the model does not know is a 422. A member's shelf "
            "hands over from the profile to their history gradually."
        ),
        examples=[{"u42": {"age_band": "25-34", "family": "kids"}}],
    )

    def records(self) -> list[dict[str, Any]]:
        """The events, fields sent as ``null`` left out (the schema's "not given")."""
        return [{k: v for k, v in e.items() if v is not None} for e in self.events]


_SKU = Field(..., min_length=1, max_length=256, description="The SKU id.", examples=["sku-new"])


class CatalogItem(_Request):
    """One SKU with its attributes; a known SKU keeps the attributes left out."""

    item_id: str = _SKU
    category: str | None = Field(None, min_length=1, examples=["jackets"])
    price: float | None = Field(None, ge=0, le=MAX_PRICE, allow_inf_nan=False, examples=[89.95])
    season: str | None = Field(
        None, description="Season label or months ('winter', 'SS', '1|2|12', 'all').",
        examples=["winter"],
    )  # fmt: skip
    available_from: dt.date | None = Field(
        None, description="First day on sale (a SKU is 'new' for 30 days from it).",
        examples=["2026-12-01"],
    )  # fmt: skip
    available_to: dt.date | None = Field(None, description="Last day on sale.")
    name: str | None = Field(None, min_length=1, examples=["Wool Parka, Navy"])
    tags: list[str] | str | None = Field(
        None,
        description="Free tags: a list, or one string of tags separated by '|' (as in a CSV).",
        examples=[["wool", "navy"], "wool|navy"],
    )
    group_id: str | None = Field(
        None, min_length=1, description="Style of the SKU (its variants share it).",
        examples=["Wool Parka"],
    )  # fmt: skip

    @field_validator("season")
    @classmethod
    def _season(cls, season: str | None) -> str | None:
        """A season the catalog can read, or a 422 at ``season`` (the library's message)."""
        try:
            parse_season(season)
        except SchemaError as exc:
            raise ValueError(str(exc)) from None
        return season

    @field_validator("available_to")
    @classmethod
    def _sale_ends_after_it_starts(
        cls, end: dt.date | None, info: ValidationInfo
    ) -> dt.date | None:
        """``available_to`` on or after ``available_from``, or a 422 at ``available_to``."""
        start = info.data.get("available_from")
        if end is not None and start is not None and end < start:
            raise ValueError(f"the last day on sale ({end}) is before the first ({start})")
        return end


class CatalogRequest(_Request):
    """SKUs added or changed without retraining (at most 10,000 per call)."""

    items: list[CatalogItem] = Field(..., description="The SKUs, at most 10,000 (413 beyond).")
    stores: dict[str, list[str]] | None = Field(
        None,
        description="Store id -> SKU ids it stocks from now on.",
        examples=[{"s3": ["sku-new"]}],
    )

    @field_validator("items")
    @classmethod
    def _each_sku_once(cls, items: list[CatalogItem]) -> list[CatalogItem]:
        """Each SKU at most once, or a 422 at ``items`` naming the SKUs sent twice."""
        counts = Counter(i.item_id for i in items)
        twice = [sku for sku, n in counts.items() if n > 1]
        if twice:
            raise ValueError(f"items list SKUs {twice[:5]} twice: send each SKU once")
        return items


class CatalogResponse(BaseModel):
    applied: int = Field(..., description="SKUs added or changed.")
    added: int = Field(..., description="SKUs new to the catalog.")
    change_seq: int = Field(..., description="The change's position in the durable log.")


class StockRequest(_Request):
    """A store's stock: a SKU at 0 is never shown there; above 0 it joins the assortment."""

    store_id: str = Field(..., min_length=1, examples=["s3"])
    stock: dict[str, float] = Field(
        ..., description="SKU id -> quantity (>= 0).", examples=[{"sku9": 0, "sku12": 4}]
    )

    @field_validator("stock")
    @classmethod
    def _quantities(cls, stock: dict[str, float]) -> dict[str, float]:
        """Finite quantities >= 0, or a 422 at ``stock`` (a field validator names the field)."""
        bad = [sku for sku, qty in stock.items() if not 0 <= qty < math.inf]
        if bad:
            raise ValueError(f"stock quantities must be finite numbers >= 0 (SKUs {bad[:5]})")
        return stock


class StockResponse(BaseModel):
    applied: int = Field(..., description="SKUs whose stock was set.")
    change_seq: int = Field(..., description="The change's position in the durable log.")


class ShelfItem(BaseModel):
    item_id: str
    score: float
    reason: str
    name: str | None = Field(None, description="The SKU's name in the catalog.")
    category: str | None = None
    price: float | None = None


class RecommendResponse(BaseModel):
    items: list[ShelfItem]
    shelf_id: str = Field(
        ..., description="This answer's id: the shown shelf is logged under it (attribution)."
    )
    variant: str = Field(..., description="The experiment variant that answered.")
    model_version: str
    fallback: str | None = Field(
        None,
        description=(
            "Set when the shelf is not personal: 'popular-in-store' or 'popular' (nothing "
            "known about the member), 'popular-in-segment' (tags the model cannot read)."
        ),
    )


class MemberShelf(BaseModel):
    member_id: str
    items: list[ShelfItem]
    shelf_id: str = Field(..., description="The shown shelf's id in the event log.")
    variant: str = Field(..., description="The experiment variant that answered.")
    model_version: str = Field(..., description="The version of the variant's model.")
    fallback: str | None = Field(
        None,
        description=(
            "Set when the shelf is not personal: 'popular-in-store' or 'popular' (nothing "
            "known about the member), 'popular-in-segment' (tags the model cannot read)."
        ),
    )


class BatchResponse(BaseModel):
    results: list[MemberShelf]
    model_version: str = Field(
        ..., description="The served model's (the control's); each result gives its own."
    )


class SimilarResponse(BaseModel):
    items: list[ShelfItem]
    model_version: str


class AudienceMember(BaseModel):
    member_id: str
    score: float
    reason: str = Field(..., description="Why, for the marketer: 'bought 3 jackets so far'.")


class AudienceResponse(BaseModel):
    members: list[AudienceMember]
    model_version: str
    issued: int = Field(0, description="Coupons recorded by this call (with issue=true).")
    change_seq: int | None = Field(None, description="The issue's position in the event log.")


class MemberRequest(_Request):
    """What a shop assistant sees of a member: tags, today's events, a coupon to offer."""

    member_id: str = Field(
        ..., min_length=1, max_length=256, description="The member's id.", examples=["u42"]
    )
    store_id: str | None = Field(
        None, min_length=1, description="The store the member is in.", examples=["s3"]
    )


class TodayEvent(BaseModel):
    item_id: str
    kind: str
    value: float
    timestamp: str
    store_id: str | None = None


class CouponOffer(BaseModel):
    item_id: str
    reason: str
    name: str | None = None


class MemberResponse(BaseModel):
    member_id: str
    known: bool = Field(
        ..., description="Whether the model knows anything of the member: history or a profile tag."
    )
    profile: dict[str, Any] = Field(..., description="The member's tags.")
    today: list[TodayEvent] = Field(..., description="The member's events since midnight UTC.")
    coupon: CouponOffer | None = Field(
        None,
        description=(
            "The shelf's best SKU the member may get a coupon for (none when opted out or "
            "at the default cap)."
        ),
    )
    model_version: str


class EventsResponse(BaseModel):
    accepted: int = Field(..., description="Events newly written to the log and applied.")
    duplicates: int = Field(..., description="Events whose event_id was already logged.")
    last_seq: int = Field(..., description="Highest log sequence number after the call.")


class ForgetRequest(_Request):
    """A member to erase everywhere: model, event log, saved artifact, every worker."""

    member_id: str = Field(
        ..., min_length=1, max_length=256, description="The member's id.", examples=["u42"]
    )


class ForgetResponse(BaseModel):
    forgotten: bool = Field(..., description="Whether the model knew the member.")
    change_seq: int = Field(..., description="The erasure's position in the event log.")


class ReloadRequest(_Request):
    """Swap in a saved model without dropping a request (default: the served directory)."""

    model_dir: str | None = Field(
        None, min_length=1, description="A directory written by Recommender.save()."
    )


class ReloadResponse(BaseModel):
    previous: str = Field(..., description="The model_version served before.")
    model_version: str = Field(..., description="The model_version served from now on.")


class OptOutRequest(_Request):
    """A member who withdrew consent: never in an audience (coupon targeting) again."""

    member_id: str = Field(
        ..., min_length=1, max_length=256, description="The member's id.", examples=["u42"]
    )


class OptOutResponse(BaseModel):
    known: bool = Field(
        ...,
        description="Whether the model knew anything of the member (history or a tag).",
    )
    change_seq: int = Field(..., description="The opt-out's position in the event log.")
