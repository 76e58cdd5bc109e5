"""New, returning and retained members per week or month, and the cohort retention table.

Definitions (every count is of distinct members):

- **activity**: a member is *active in period P* when they have at least one event of the
  chosen ``kinds`` (default: purchases) whose timestamp falls in P;
- **periods**: calendar weeks (ISO weeks, Monday 00:00 to Sunday 23:59:59.999...) or
  calendar months, named by the date of their first day. Naive timestamps are taken as
  they are (the event log stores UTC, the datasets local time); tz-aware ones are
  converted to UTC first, as everywhere in the event schema;
- **new** in P: P is the member's first-ever active period;
- **retained** in P: active in P and in the period immediately before P (P-1);
- **returning** in P: active in P, not in P-1, but in some period before P-1 (back after
  an absence);
- **active** = new + returning + retained (each active member has exactly one status);
- **lapsed** in P: active in P-1 but not in P (= active of P-1 minus retained of P);
- **retention rate** of P: retained in P / active in P-1 (missing when P-1 had no one).

Per store, a member's status is their status in the whole chain, counted once in *each*
store where they were active in that period: a member shopping in two stores in one week
counts in both, so store rows can add up to more than the chain's. For a store's own view
(first-ever period *in that store*, back *to that store*), pass ``store_id``: the events of
the other stores are then left out before anything is counted. Per segment, a member counts
under their value of one profile tag (missing profile or tag: ``"unknown"``); segment rows
add up to the chain's.

The cohort of a member is their first active period. The cohort table has one row per
cohort and one column per number of periods since it (0, 1, 2, ...): how many of the
cohort's members were active then, and which share of the cohort that is (1.0 at 0).
Periods after the last reported one are missing, not zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeAlias

import numpy as np
import pandas as pd

from recsys.columns import Columns, EventKind
from recsys.data.events import events_frame, parse_timestamp, validate_events
from recsys.data.frames import as_pandas
from recsys.exceptions import InvalidInputError, SchemaError, UnknownIdError

__all__ = ["PERIODS", "STATUSES", "UNKNOWN", "RetentionReport", "retention_report"]

#: the period lengths :func:`retention_report` knows
PERIODS: Final = ("week", "month")
#: a member's status in an active period, in the order of the count columns
STATUSES: Final = ("new", "returning", "retained")
#: the label of a missing store or segment value
UNKNOWN: Final = "unknown"

_NEW, _RETURNING, _RETAINED = range(3)
_COUNTS: Final = (*STATUSES, "active")
_Time: TypeAlias = "str | datetime | pd.Timestamp | np.datetime64 | None"


@dataclass(frozen=True, eq=False)
class RetentionReport:
    """Member counts per period (chain, store, segment) and the cohort table.

    Attributes
    ----------
    period : {"week", "month"}
    kinds : tuple of str
        The event kinds that make a member active.
    segment : str or None
        The profile tag of ``by_segment`` (None: no segment breakdown).
    store_id : str or None
        The store the events were limited to (None: the whole chain).
    totals : pandas.DataFrame
        One row per period, oldest first (gaps included, as zeros): ``period`` (start day,
        ``datetime64``), ``new``, ``returning``, ``retained``, ``active``, ``lapsed``,
        ``retention_rate`` (float, NaN when the period before had no active member).
    by_store : pandas.DataFrame
        ``period``, ``store_id`` and the four counts, for each store with an active member
        that period (missing store: ``"unknown"``), sorted by period then store.
    by_segment : pandas.DataFrame
        ``period``, the segment tag's column and the four counts, likewise (empty without
        a segment).
    cohorts : pandas.DataFrame
        Members of each cohort (rows, indexed by the cohort's first day) active ``n``
        periods after it (columns ``0, 1, ...``), nullable ``Int64``: ``<NA>`` past the
        last reported period.
    cohort_shares : pandas.DataFrame
        ``cohorts`` divided by each cohort's size (column 0), NaN past the last period.
    members : int
        Distinct members active in the reported periods.
    """

    period: str
    kinds: tuple[str, ...]
    segment: str | None
    store_id: str | None
    totals: pd.DataFrame
    by_store: pd.DataFrame
    by_segment: pd.DataFrame
    cohorts: pd.DataFrame
    cohort_shares: pd.DataFrame
    members: int

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready lists of records; periods as ISO dates of their first day.

        ``cohorts`` is a list of ``{"cohort", "size", "active": [...], "share": [...]}``
        with one entry per period since the cohort's first, up to the last reported one;
        a missing retention rate is ``None``.
        """
        return {
            "period": self.period,
            "kinds": list(self.kinds),
            "segment": self.segment,
            "store_id": self.store_id,
            "members": self.members,
            "totals": _records(self.totals),
            "by_store": _records(self.by_store),
            "by_segment": _records(self.by_segment),
            "cohorts": [
                {
                    "cohort": _day(cohort),
                    "size": int(counts[0]),
                    "active": [int(n) for n in counts.dropna()],
                    "share": [float(s) for s in shares.dropna()],
                }
                for (cohort, counts), (_, shares) in zip(
                    self.cohorts.iterrows(), self.cohort_shares.iterrows(), strict=True
                )
            ],
        }


def retention_report(
    events: Any,
    *,
    period: str = "week",
    kinds: Sequence[str] = (EventKind.PURCHASE,),
    profiles: Any = None,
    segment: str | None = None,
    start: _Time = None,
    end: _Time = None,
    store_id: str | None = None,
    stores: Sequence[str] | None = None,
) -> RetentionReport:
    """New, returning and retained members per period, by store and segment, and cohorts.

    The definitions are in the module docstring (:mod:`recsys.analytics.retention`).

    Parameters
    ----------
    events : DataFrame
        Columns of :data:`Columns.INTERACTIONS <recsys.columns.Columns>` (what
        :meth:`EventLog.since <recsys.events.EventLog.since>` returns; its ``seq`` is
        ignored), checked by the one event schema; ``timestamp`` is required here.
    period : {"week", "month"}, default "week"
    kinds : sequence of str, default ("purchase",)
        The event kinds that make a member active.
    profiles : DataFrame, optional
        ``user_id`` and tag columns (later rows win for a repeated member).
    segment : str, optional
        The tag column of ``profiles`` to break the counts down by.
    start, end : str or datetime-like, optional
        Report the periods from the one containing ``start`` to the one containing ``end``
        (both inclusive). Events before ``start`` still count as history: a member active
        earlier is never new. Outside the first and last active periods nothing is reported.
    store_id : str, optional
        Count only this store's events (the store's own view: new to the store, back to it).
    stores : sequence of str, optional
        The chain's stores: a ``store_id`` among them that no event names gets a report
        with no member in it. Without it, only the stores the events name are known.

    Returns
    -------
    RetentionReport

    Raises
    ------
    InvalidInputError
        An unknown ``period`` or kind, empty ``kinds``, ``segment`` without ``profiles`` or
        not one of its columns, an unreadable ``start``/``end`` or ``end`` before ``start``.
    SchemaError
        ``events`` or ``profiles`` lack a required column, or events lack a timestamp.
    UnknownIdError
        ``store_id`` appears in no event and is not one of ``stores``.

    Examples
    --------
    Member ``a`` buys in the weeks of March 2 and 9, ``b`` in those of March 2 and 16:

    >>> import pandas as pd
    >>> events = pd.DataFrame({
    ...     "user_id": ["a", "a", "b", "b"], "item_id": "sku1", "kind": "purchase",
    ...     "timestamp": pd.to_datetime(["2026-03-02", "2026-03-10", "2026-03-03",
    ...                                  "2026-03-18"]),
    ...     "store_id": "s1"})
    >>> report = retention_report(events)
    >>> report.totals[["new", "returning", "retained", "active", "lapsed"]].to_numpy().tolist()
    [[2, 0, 0, 2, 0], [0, 0, 1, 1, 1], [0, 1, 0, 1, 1]]
    >>> report.to_dict()["cohorts"]
    [{'cohort': '2026-03-02', 'size': 2, 'active': [2, 1, 1], 'share': [1.0, 0.5, 0.5]}]
    """
    unit = _period(period)
    wanted = _kinds(kinds)
    tags = _segments(profiles, segment)
    first, last = _bound("start", start), _bound("end", end)
    if first is not None and last is not None and last < first:
        raise InvalidInputError(f"end ({last}) is before start ({first})")
    if isinstance(stores, str):
        raise InvalidInputError(f"stores must be a list of store ids, got the string {stores!r}")
    users, user_ids, times, in_store, store_ids = _active_events(
        events, wanted, store_id, () if stores is None else stores
    )
    ordinal = _ordinals(times, unit)
    lo, hi = _reported(ordinal, first, last, unit)

    act = _Activity.of(users, ordinal)
    shown = (act.when >= lo) & (act.when <= hi)
    by_segment = pd.DataFrame(columns=["period", segment or "segment", *_COUNTS])
    if tags is not None and segment is not None:
        labels, codes = _segment_codes(tags, user_ids)
        by_segment = _tally(
            act.when[shown], codes[act.member[shown]], act.status[shown], labels, unit, segment
        )
    store_when, store_codes, store_status = act.per_store(users, ordinal, in_store)
    in_range = (store_when >= lo) & (store_when <= hi)
    by_store = _tally(
        store_when[in_range],
        store_codes[in_range],
        store_status[in_range],
        store_ids,
        unit,
        Columns.STORE,
    )
    cohorts = _cohorts(act.when[shown], act.cohort[shown], lo, hi, unit)
    sizes = cohorts[0].astype("float64") if len(cohorts) else 1.0
    return RetentionReport(
        period=unit,
        kinds=wanted,
        segment=segment,
        store_id=store_id,
        totals=_totals(act.when, act.status, lo, hi, unit),
        by_store=by_store,
        by_segment=by_segment,
        cohorts=cohorts,
        cohort_shares=cohorts.astype("float64").div(sizes, axis=0),
        members=int(np.unique(act.member[shown]).size),
    )


@dataclass(frozen=True, eq=False)
class _Activity:
    """The distinct (member, period) pairs with activity, sorted by member then period."""

    keys: np.ndarray  # member * span + (period - base), sorted
    base: int
    span: int
    member: np.ndarray  # member code per pair
    when: np.ndarray  # period ordinal per pair
    status: np.ndarray  # _NEW, _RETURNING or _RETAINED per pair
    cohort: np.ndarray  # the member's first period, per pair

    @classmethod
    def of(cls, users: np.ndarray, ordinal: np.ndarray) -> _Activity:
        base = int(ordinal.min(initial=0))
        span = int(ordinal.max(initial=0)) - base + 1
        keys = np.unique(users * span + (ordinal - base))
        member, when = keys // span, keys % span + base
        # a member's first pair is new; a pair right after the member's previous one is
        # retained; any other pair comes after a gap: returning
        first = np.ones(len(keys), dtype=bool)
        first[1:] = member[1:] != member[:-1]
        follows = np.zeros(len(keys), dtype=bool)
        follows[1:] = ~first[1:] & (when[1:] == when[:-1] + 1)
        status = np.where(first, _NEW, np.where(follows, _RETAINED, _RETURNING))
        cohort = when[first][np.cumsum(first) - 1]
        return cls(keys, base, span, member, when, status, cohort)

    def per_store(
        self, users: np.ndarray, ordinal: np.ndarray, stores: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(period, store, chain status) of each distinct (member, period, store) triple."""
        n_stores = int(stores.max(initial=0)) + 1
        pair_keys = users * self.span + (ordinal - self.base)
        triples = np.unique(pair_keys * n_stores + stores)
        pair = np.searchsorted(self.keys, triples // n_stores)
        return self.when[pair], triples % n_stores, self.status[pair]


# ---------------------------------------------------------------------- checks
def _period(period: str) -> str:
    if period not in PERIODS:
        raise InvalidInputError(f"period must be 'week' or 'month', got {period!r}")
    return period


def _kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    if isinstance(kinds, str):
        kinds = [k for k in kinds.split(",") if k.strip()]
    wanted = tuple(dict.fromkeys(str(k).strip().lower() for k in kinds))
    if not wanted:
        raise InvalidInputError(f"kinds must name at least one of {', '.join(EventKind.ALL)}")
    unknown = [k for k in wanted if k not in EventKind.ALL]
    if unknown:
        raise InvalidInputError(
            f"kinds: unknown event kind(s) {unknown}; the kinds are {', '.join(EventKind.ALL)}"
        )
    return wanted


def _bound(name: str, value: _Time) -> np.datetime64 | None:
    if value is None:
        return None
    try:
        return np.datetime64(parse_timestamp(value).as_unit("ns"))
    except (TypeError, ValueError, OverflowError):
        raise InvalidInputError(
            f"{name} must be an ISO 8601 time or a datetime, got {value!r}"
        ) from None


def _segments(profiles: Any, segment: str | None) -> pd.Series | None:
    """Each profiled member's segment label (index: member id as text), or None."""
    if segment is None:
        return None
    frame = as_pandas(profiles, "profiles")
    if frame is None:
        raise InvalidInputError(f"segment={segment!r} needs profiles (user_id and tag columns)")
    if Columns.USER not in frame.columns:
        raise SchemaError(
            f"profiles misses the column {Columns.USER!r} (has {list(frame.columns)})"
        )
    tags = [str(c) for c in frame.columns if c != Columns.USER]
    if segment == Columns.USER or segment not in frame.columns:
        raise InvalidInputError(f"segment: no profile tag {segment!r}; the tags are {tags}")
    values = frame[segment]
    text = values.astype(str).str.strip()
    labels = text.where(values.notna() & (text != ""), UNKNOWN)
    tags = pd.Series(labels.to_numpy(dtype=object), index=frame[Columns.USER].astype(str))
    return tags[~tags.index.duplicated(keep="last")]


def _active_events(
    events: Any, kinds: tuple[str, ...], store_id: str | None, stores: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(member codes, member ids, times, store codes, store labels) of the active events."""
    frame = as_pandas(events, "events")
    if frame is None:
        raise InvalidInputError("events must be a DataFrame, got None")
    needed = (*Columns.INTERACTIONS_REQUIRED, Columns.TIMESTAMP)
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise SchemaError(f"events misses required columns {missing} (has {list(frame.columns)})")
    fields = [c for c in Columns.INTERACTIONS if c in frame.columns]  # seq etc. are not events
    if len(frame):
        cols = validate_events(events_frame(frame[fields], "events"), frame="events")
        users, user_ids = cols.ids[Columns.USER]
        store_codes, store_ids = cols.ids.get(
            Columns.STORE, (np.full(cols.n, -1, np.int64), np.array([], dtype=object))
        )
        kind_codes, times = cols.kinds, cols.timestamps
    else:
        users = store_codes = np.zeros(0, np.int64)
        user_ids = store_ids = np.array([], dtype=object)
        kind_codes, times = np.zeros(0, np.int8), np.zeros(0, "datetime64[ns]")
    undated = np.isnat(times)
    if undated.any():
        rows = np.flatnonzero(undated)
        raise SchemaError(
            f"events column 'timestamp' has {len(rows)} missing values, e.g. rows "
            f"{rows[:5].tolist()}: every event needs a time to fall in a period"
        )
    store_labels = np.append(np.asarray(store_ids, dtype=object), UNKNOWN)
    store_codes = np.where(store_codes < 0, len(store_ids), store_codes)
    keep = np.isin(kind_codes, [EventKind.ALL.index(k) for k in kinds])
    if store_id is not None:
        found = np.flatnonzero(store_labels[:-1] == str(store_id))
        if not len(found) and str(store_id) not in {str(s) for s in stores}:
            known = len(set(map(str, stores)) | set(map(str, store_ids)))
            raise UnknownIdError("store", [str(store_id)], known=known)
        keep &= store_codes == (found[0] if len(found) else -2)
    return users[keep], np.asarray(user_ids), times[keep], store_codes[keep], store_labels


# ---------------------------------------------------------------------- periods
def _ordinals(times: np.ndarray, unit: str) -> np.ndarray:
    """Period number of each time: weeks since Monday 1969-12-29, or months since 1970-01."""
    if unit == "month":
        return times.astype("datetime64[M]").astype(np.int64)
    days = times.astype("datetime64[D]").astype(np.int64)
    return (days + 3) // 7  # 1970-01-01 was a Thursday


def _starts(ordinals: np.ndarray, unit: str) -> np.ndarray:
    """The first day of each period number, as ``datetime64[ns]``."""
    ordinals = np.asarray(ordinals, dtype=np.int64)
    if unit == "month":
        return ordinals.astype("datetime64[M]").astype("datetime64[ns]")
    return (ordinals * 7 - 3).astype("datetime64[D]").astype("datetime64[ns]")


def _reported(
    ordinal: np.ndarray, first: np.datetime64 | None, last: np.datetime64 | None, unit: str
) -> tuple[int, int]:
    """The first and last reported period: the active ones, narrowed to [start, end]."""
    lo = int(ordinal.min(initial=np.iinfo(np.int64).max))
    hi = int(ordinal.max(initial=np.iinfo(np.int64).min))
    if first is not None:
        lo = max(lo, int(_ordinals(np.array([first]), unit)[0]))
    if last is not None:
        hi = min(hi, int(_ordinals(np.array([last]), unit)[0]))
    return (lo, hi) if lo <= hi else (0, -1)  # nothing to report


# ---------------------------------------------------------------------- tables
def _segment_codes(tags: pd.Series, user_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(labels, label code of each member code); members without a profile: unknown."""
    per_member = tags.reindex(pd.Index(user_ids.astype(str))).fillna(UNKNOWN)
    codes, labels = pd.factorize(per_member.to_numpy(dtype=object), sort=True)
    return np.asarray(labels, dtype=object), codes.astype(np.int64)


def _tally(
    when: np.ndarray,
    groups: np.ndarray,
    status: np.ndarray,
    labels: np.ndarray,
    unit: str,
    name: str,
) -> pd.DataFrame:
    """Counts per (period, group) cell with an active member, sorted by period then label."""
    n = max(len(labels), 1)
    cells, inverse = np.unique(when * n + groups, return_inverse=True)
    counts = np.bincount(inverse * 3 + status, minlength=3 * len(cells)).reshape(-1, 3)
    frame = pd.DataFrame({"period": _starts(cells // n, unit), name: labels[cells % n].astype(str)})
    frame[list(STATUSES)] = counts[:, [_NEW, _RETURNING, _RETAINED]]
    frame["active"] = counts.sum(axis=1)
    return frame.sort_values(["period", name], ignore_index=True)


def _totals(when: np.ndarray, status: np.ndarray, lo: int, hi: int, unit: str) -> pd.DataFrame:
    """One row per period from ``lo`` to ``hi``; the period before ``lo`` feeds ``lapsed``."""
    n = max(hi - lo + 2, 1)  # slot 0: the period before lo
    inside = (when >= lo - 1) & (when <= hi)
    slot = (when[inside] - lo + 1) * 3 + status[inside]
    counts = np.bincount(slot, minlength=3 * n).reshape(-1, 3)
    active = counts.sum(axis=1)
    retained = counts[1:, _RETAINED]
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(active[:-1] > 0, retained / active[:-1], np.nan)
    return pd.DataFrame(
        {
            "period": _starts(np.arange(lo, hi + 1), unit),
            "new": counts[1:, _NEW],
            "returning": counts[1:, _RETURNING],
            "retained": retained,
            "active": active[1:],
            "lapsed": active[:-1] - retained,
            "retention_rate": rate,
        }
    )


def _cohorts(when: np.ndarray, cohort: np.ndarray, lo: int, hi: int, unit: str) -> pd.DataFrame:
    """Members of each cohort (first period >= lo) active n periods later, up to ``hi``."""
    own = cohort >= lo
    when, cohort = when[own], cohort[own]
    firsts = np.unique(cohort)
    width = max(hi - lo + 1, 0)
    row = np.searchsorted(firsts, cohort)
    counts = np.bincount(row * width + (when - cohort), minlength=len(firsts) * width)
    table = pd.DataFrame(
        counts.reshape(len(firsts), width),
        index=pd.DatetimeIndex(_starts(firsts, unit), name="cohort"),
        columns=pd.RangeIndex(width, name="periods_since"),
    ).astype("Int64")
    past_end = firsts[:, None] + np.arange(width)[None, :] > hi
    return table.mask(past_end)


# ---------------------------------------------------------------------- JSON
def _day(value: Any) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values: dates as ISO days, NaN as None."""
    return [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp | np.datetime64):
        return _day(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value
