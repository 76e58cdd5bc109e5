"""Tie purchases back to the shelves that showed them: impressions, view-through, revenue.

Rules, pinned by tests on a hand-built log:

- A shown SKU is one slot of one logged shelf (``EventLog.impressions``), with the member,
  store, model version, variant and time shown. Profile-only shelves (no member) are counted
  as impressions and never attributed.
- A purchase is attributed to a shelf when the same member bought a SKU that shelf showed,
  at or after the time shown and within ``window_days`` (default 7). When several shelves
  showed it, the latest one before the purchase takes it (last touch); each purchase counts
  once.
- A view is a *view-through* of a shelf by the same rule (a ``view`` event of a shown SKU).
- Units are the purchase's ``value`` (quantity); revenue is units x the SKU's price when
  ``prices`` are given, else 0.
- A shelf converts when at least one purchase is attributed to it.

Everything is grouped by the shelf's ``day`` (UTC date shown), ``store_id``, ``variant``
and ``model_version``, or by any subset of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from recsys.columns import Columns, EventKind
from recsys.exceptions import InvalidInputError, SchemaError

__all__ = ["ATTRIBUTION_GROUPS", "AttributionReport", "attribute", "shown_slots"]

ATTRIBUTION_GROUPS: Final = ("day", Columns.STORE, "variant", "model_version")
_IMPRESSION_NEEDS: Final = ("shelf_id", Columns.USER, Columns.STORE, "items", "model_version",
                            "variant", "shown_at")  # fmt: skip
_EVENT_NEEDS: Final = (Columns.USER, Columns.ITEM, Columns.KIND, Columns.VALUE, Columns.TIMESTAMP)
_METRICS: Final = ("impressions", "slots", "members", "view_through", "purchases", "units",
                   "revenue", "converted", "conversion")  # fmt: skip


@dataclass(frozen=True)
class AttributionReport:
    """Attribution tables.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per group: ``impressions`` (shelves shown), ``slots`` (SKUs shown),
        ``members`` (distinct members shown a shelf), ``view_through``, ``purchases``,
        ``units``, ``revenue``, ``converted`` (shelves with a purchase attributed) and
        ``conversion`` (converted / impressions).
    purchases : pandas.DataFrame
        Every attributed purchase with the shelf it went to (``shelf_id``, ``slot``).
    by_member : pandas.DataFrame
        Per member and variant: shelves shown, attributed purchases, units and revenue
        (the units of an experiment, :func:`recsys.analytics.compare_variants`).
    window_days : float
    by : tuple of str
    """

    table: pd.DataFrame
    purchases: pd.DataFrame
    by_member: pd.DataFrame
    window_days: float
    by: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the grouping, the window and the rows of :attr:`table` (counts only,
        no member ids)."""
        rows = self.table.copy()
        if "day" in rows:
            rows["day"] = rows["day"].astype(str)
        records = rows.astype(object).where(rows.notna(), None).to_dict("records")
        return {"by": list(self.by), "window_days": self.window_days, "rows": records}


def shown_slots(impressions: pd.DataFrame) -> pd.DataFrame:
    """One row per shown SKU: the impression's columns plus ``item_id`` and ``slot`` (0 = the
    first)."""
    _need(impressions, _IMPRESSION_NEEDS, "impressions")
    slots = impressions.explode("items", ignore_index=True)
    slots = slots[slots["items"].notna()].rename(columns={"items": Columns.ITEM})
    slots["slot"] = slots.groupby("shelf_id").cumcount()
    slots["shown_at"] = pd.to_datetime(slots["shown_at"]).astype("datetime64[ns]")
    return slots.reset_index(drop=True)


def attribute(
    impressions: pd.DataFrame,
    events: pd.DataFrame,
    *,
    window_days: float = 7.0,
    prices: Mapping[str, float] | pd.Series | None = None,
    by: Sequence[str] = ATTRIBUTION_GROUPS,
) -> AttributionReport:
    """Attribute purchases (and views) to the shelves that showed them (rules: module doc).

    Parameters
    ----------
    impressions : pandas.DataFrame
        As :meth:`recsys.events.EventLog.impressions` returns them.
    events : pandas.DataFrame
        As :meth:`recsys.events.EventLog.since` returns them.
    window_days : float, default 7
    prices : dict or Series of SKU id -> price, optional
    by : sequence of str
        Grouping columns, a subset of ``("day", "store_id", "variant", "model_version")``.

    Examples
    --------
    >>> shown = pd.DataFrame({
    ...     "shelf_id": ["a", "b"], "user_id": ["u1", "u2"], "store_id": ["s1", "s1"],
    ...     "items": [["sku1", "sku2"], ["sku2"]], "model_version": "m1",
    ...     "variant": ["A", "B"],
    ...     "shown_at": pd.to_datetime(["2026-03-02 10:00", "2026-03-02 11:00"])})
    >>> bought = pd.DataFrame({
    ...     "user_id": ["u1", "u1", "u2"], "item_id": ["sku2", "sku2", "sku2"],
    ...     "kind": "purchase", "value": [1.0, 2.0, 1.0],
    ...     "timestamp": pd.to_datetime(["2026-03-03", "2026-03-20", "2026-03-01"])})
    >>> report = attribute(shown, bought, prices={"sku2": 10.0}, by=["variant"])
    >>> report.table[["variant", "impressions", "purchases", "units", "revenue"]]
      variant  impressions  purchases  units  revenue
    0       A            1          1    1.0     10.0
    1       B            1          0    0.0      0.0
    """
    window = float(window_days)
    if not np.isfinite(window) or window <= 0:
        raise InvalidInputError(f"window_days must be a number > 0, got {window_days!r}")
    groups = tuple(dict.fromkeys(by))  # a repeated group is the same group
    unknown = sorted(set(groups) - set(ATTRIBUTION_GROUPS))
    if unknown:
        raise InvalidInputError(f"by: unknown group(s) {unknown}; use {list(ATTRIBUTION_GROUPS)}")
    _need(events, _EVENT_NEEDS, "events")
    slots = shown_slots(impressions)
    slots["day"] = slots["shown_at"].dt.normalize()
    tolerance = pd.Timedelta(days=window)
    bought = _touch(slots, events, EventKind.PURCHASE, tolerance)
    viewed = _touch(slots, events, EventKind.VIEW, tolerance)
    price = pd.Series(dict(prices) if isinstance(prices, Mapping) else prices, dtype=float)
    bought["units"] = bought[Columns.VALUE].astype(float)
    bought["revenue"] = bought["units"] * bought[Columns.ITEM].map(price).fillna(0.0).to_numpy()
    shelves = impressions.drop_duplicates("shelf_id").copy()
    shelves["day"] = pd.to_datetime(shelves["shown_at"]).dt.normalize()
    table = _table(shelves, slots, bought, viewed, groups)
    return AttributionReport(table, bought, _by_member(shelves, bought), window, groups)


def _touch(
    slots: pd.DataFrame, events: pd.DataFrame, kind: str, tolerance: pd.Timedelta
) -> pd.DataFrame:
    """Events of ``kind`` joined to the latest shelf that showed their SKU to their member
    within ``tolerance`` before them (rows without such a shelf are dropped)."""
    chosen = events[events[Columns.KIND] == kind]
    chosen = chosen[[Columns.USER, Columns.ITEM, Columns.VALUE, Columns.TIMESTAMP]].copy()
    chosen[Columns.TIMESTAMP] = pd.to_datetime(chosen[Columns.TIMESTAMP]).astype("datetime64[ns]")
    chosen = chosen.dropna(subset=[Columns.TIMESTAMP]).sort_values(Columns.TIMESTAMP)
    known = slots[slots[Columns.USER].notna()]
    cols = ["shelf_id", "slot", "shown_at", Columns.USER, Columns.ITEM]
    right = known[cols].sort_values("shown_at")
    if chosen.empty or right.empty:
        return chosen.iloc[:0].assign(shelf_id=pd.Series(dtype=object), slot=0, shown_at=pd.NaT)
    joined = pd.merge_asof(
        chosen.astype({Columns.USER: object, Columns.ITEM: object}),
        right.astype({Columns.USER: object, Columns.ITEM: object}),
        left_on=Columns.TIMESTAMP,
        right_on="shown_at",
        by=[Columns.USER, Columns.ITEM],
        direction="backward",
        tolerance=tolerance,
    )
    return joined[joined["shelf_id"].notna()].reset_index(drop=True)


def _table(
    shelves: pd.DataFrame,
    slots: pd.DataFrame,
    bought: pd.DataFrame,
    viewed: pd.DataFrame,
    groups: tuple[str, ...],
) -> pd.DataFrame:
    keys = list(groups)
    shelf_keys = shelves.set_index("shelf_id")[keys] if keys else None
    shelves = shelves.assign(_all=0)
    keys_or_all = keys or ["_all"]
    base = shelves.groupby(keys_or_all, dropna=False).agg(
        impressions=("shelf_id", "size"), members=(Columns.USER, "nunique")
    )
    base["slots"] = slots.assign(_all=0).groupby(keys_or_all, dropna=False).size()

    def per_group(rows: pd.DataFrame) -> pd.DataFrame:
        if shelf_keys is None:
            return rows.assign(_all=0)
        return rows.join(shelf_keys, on="shelf_id")

    b = per_group(bought)
    base["purchases"] = b.groupby(keys_or_all, dropna=False).size()
    base["units"] = b.groupby(keys_or_all, dropna=False)["units"].sum()
    base["revenue"] = b.groupby(keys_or_all, dropna=False)["revenue"].sum()
    base["converted"] = b.groupby(keys_or_all, dropna=False)["shelf_id"].nunique()
    base["view_through"] = per_group(viewed).groupby(keys_or_all, dropna=False).size()
    counts = ["slots", "purchases", "converted", "view_through"]
    base[counts] = base[counts].fillna(0).astype(np.int64)
    base[["units", "revenue"]] = base[["units", "revenue"]].fillna(0.0).astype(float)
    base["conversion"] = base["converted"] / base["impressions"]
    out = base.reset_index()
    if not keys:
        out = out.drop(columns="_all")
    return out[[*keys, *_METRICS]].reset_index(drop=True)


def _by_member(shelves: pd.DataFrame, bought: pd.DataFrame) -> pd.DataFrame:
    known = shelves[shelves[Columns.USER].notna()]
    shown = known.groupby([Columns.USER, "variant"]).size().rename("impressions")
    variant_of = known.set_index("shelf_id")["variant"]
    b = bought.assign(variant=bought["shelf_id"].map(variant_of))
    agg = b.groupby([Columns.USER, "variant"]).agg(
        purchases=("shelf_id", "size"), units=("units", "sum"), revenue=("revenue", "sum")
    )
    out = pd.concat([shown, agg], axis=1).fillna(0)
    out[["impressions", "purchases"]] = out[["impressions", "purchases"]].astype(np.int64)
    return out.reset_index()


def _need(frame: Any, columns: Sequence[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInputError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(f"{what} lack column(s) {missing}")
