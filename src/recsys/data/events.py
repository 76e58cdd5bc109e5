"""The one event schema: what a member event is, checked the same way everywhere.

The HTTP layer (its request model is derived from :data:`EVENT_FIELDS`),
``Recommender.update``, the event log and the dataset builder all validate events with
:func:`validate_events`, so an event is accepted or refused the same way wherever it
enters. The rules:

* ``user_id``, ``item_id`` (required), ``store_id``, ``event_id`` (optional) are non-empty
  text of at most :attr:`EventField.max_length` characters. A value that is not text is
  refused: numbers lose leading zeros (``01104905`` becomes ``1104905``). A *frame column*
  of numbers is converted to text first, with a :class:`~recsys.exceptions.RecsysWarning`
  saying so (see :func:`events_frame`).
* ``kind`` is one of :data:`~recsys.columns.EventKind.ALL`, case and spaces ignored.
* ``value`` is a number from 0 to :data:`MAX_VALUE` (dwell seconds of a view, quantity of a
  purchase);
  missing (absent, ``None`` or NaN) means 1.
* ``timestamp`` is an ISO 8601 text, a datetime or epoch seconds, from :data:`EARLIEST` up
  to :data:`LATEST` (so whatever is logged can be read back); missing means "now" in the log
  and "unknown" in training data. Time zones are converted to UTC, naive times are UTC.
* Any other field is refused (a misspelt ``vaule`` is an error, not a silent default).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from recsys.columns import Columns, EventKind
from recsys.exceptions import InvalidInputError, RecsysWarning, SchemaError

__all__ = [
    "EARLIEST",
    "EVENT_FIELDS",
    "FIELD_NAMES",
    "LATEST",
    "MAX_VALUE",
    "PERSONAL_FIELDS",
    "EventColumns",
    "EventField",
    "events_frame",
    "parse_timestamp",
    "validate_events",
]

#: earliest and (exclusive) latest event time accepted anywhere
EARLIEST: Final = pd.Timestamp("1900-01-01")
LATEST: Final = pd.Timestamp("2200-01-01")
_LATEST_S: Final = LATEST.timestamp()
#: largest event value accepted (a quantity or dwell seconds): past it, weights and revenue
#: would overflow to infinity
MAX_VALUE: Final = 1e9
_KIND_INDEX: Final = {k: i for i, k in enumerate(EventKind.ALL)}


@dataclass(frozen=True)
class EventField:
    """One field of an event: its name, what it holds, and the text of the HTTP docs."""

    name: str
    kind: str  # "id", "kind", "value" or "time"
    required: bool
    description: str
    example: Any
    max_length: int | None = None


EVENT_FIELDS: Final = (
    EventField(Columns.USER, "id", True, "The member's id (card number, CRM id).", "u42", 256),
    EventField(Columns.ITEM, "id", True, "The SKU id.", "sku9", 256),
    EventField(
        Columns.KIND,
        "kind",
        True,
        f"Event kind, one of {', '.join(EventKind.ALL)}; a view carries dwell seconds in value.",
        "view",
    ),
    EventField(
        Columns.VALUE,
        "value",
        False,
        f"Quantity, or dwell seconds for a view; a number from 0 to {MAX_VALUE:.0e} (default 1).",
        35.0,
    ),
    EventField(
        Columns.TIMESTAMP,
        "time",
        False,
        f"ISO 8601 time or epoch seconds, from {EARLIEST.year} to {LATEST.year - 1} "
        "(default: now).",
        "2026-11-22T10:15:00",
    ),
    EventField(Columns.STORE, "id", False, "The store where it happened.", "s3", 256),
    EventField(
        Columns.EVENT_ID,
        "id",
        False,
        "Client-chosen unique id: a retried POST with it counts once.",
        "till-7-2026-11-22-000123",
        128,
    ),
)
FIELD_NAMES: Final = tuple(f.name for f in EVENT_FIELDS)
#: fields that identify a person: validated, never echoed in a message
PERSONAL_FIELDS: Final = frozenset({Columns.USER, Columns.EVENT_ID})


@dataclass(frozen=True, eq=False)
class EventColumns:
    """Validated events as columns; id columns factorized (``codes`` into ``uniques``).

    Attributes
    ----------
    n : int
        Number of events.
    ids : dict of str to (codes, uniques)
        Per id field present: int64 codes (``-1`` = not given) and the distinct ids (str).
    kinds : ndarray of int8
        Index into :data:`EventKind.ALL` per event.
    values : ndarray of float64
        Value per event (missing = 1.0).
    timestamps : ndarray of datetime64[ns]
        Naive-UTC time per event, ``NaT`` where not given.
    """

    n: int
    ids: dict[str, tuple[np.ndarray, np.ndarray]]
    kinds: np.ndarray
    values: np.ndarray
    timestamps: np.ndarray

    def column(self, name: str) -> np.ndarray:
        """An id field as an object array of str (``None`` where not given)."""
        if name not in self.ids:
            return np.full(self.n, None, dtype=object)
        codes, uniques = self.ids[name]
        lookup = np.empty(len(uniques) + 1, dtype=object)  # the trailing None: code -1
        lookup[:-1] = uniques
        return lookup[codes]

    @property
    def kind_names(self) -> np.ndarray:
        return np.asarray(EventKind.ALL, dtype=object)[self.kinds]


class _Source:
    """Where events came from, for error messages: a list of records or a named frame."""

    def __init__(self, frame: str | None) -> None:
        self.frame = frame

    def fail(self, name: str, rows: np.ndarray, phrase: str, noun: str) -> InvalidInputError:
        """The error for ``rows`` (positions) of field ``name``."""
        rows = np.asarray(rows)
        if self.frame is None:
            more = f" ({len(rows)} bad events)" if len(rows) > 1 else ""
            err = InvalidInputError(f"event {int(rows[0])}: field {name!r} {phrase}{more}")
            err.loc = (int(rows[0]), name)
            return err
        return SchemaError(
            f"{self.frame} column {name!r} has {len(rows)} {noun}, e.g. rows {rows[:5].tolist()}"
        )


def _record_columns(events: Sequence[Any]) -> tuple[int, dict[str, np.ndarray]]:
    if not all(type(e) is dict or isinstance(e, Mapping) for e in events):
        bad = next(i for i, e in enumerate(events) if not isinstance(e, Mapping))
        raise InvalidInputError(f"event {bad}: must be a mapping, got {type(events[bad]).__name__}")
    n = len(events)
    cols: dict[str, np.ndarray] = {}
    for name in dict.fromkeys(str(k) for e in events for k in e):
        column = np.empty(n, dtype=object)
        column[:] = [e.get(name) for e in events]
        cols[name] = column
    return n, cols


_NESTED: Final = (dict, list, tuple, set, Mapping)
_SCALARS: Final = frozenset({str, int, float, bool, type(None)})  # JSON's: never nested


def _columns(events: Any, frame: str | None) -> tuple[int, dict[str, Any], _Source]:
    if isinstance(events, pd.DataFrame):
        return len(events), {str(c): events[c] for c in events.columns}, _Source(frame or "events")
    if isinstance(events, Mapping):
        raise InvalidInputError("events must be a list of events, got a single mapping")
    if isinstance(events, str | bytes) or not isinstance(events, Sequence):
        raise InvalidInputError(
            f"events must be a list of dicts or a DataFrame, got {type(events).__name__}"
        )
    n, cols = _record_columns(events)
    src = _Source(None)
    for name, column in cols.items():  # JSON objects and lists are no field's value
        nested = [
            i
            for i, v in enumerate(column.tolist())
            if type(v) not in _SCALARS and isinstance(v, _NESTED)
        ]
        if nested:
            got = f"a {type(column[nested[0]]).__name__}"
            raise src.fail(name, np.asarray(nested), f"must be a single value, got {got}", "")
    return n, cols, src


def _missing(values: np.ndarray) -> np.ndarray:
    return np.asarray(pd.isna(values), dtype=bool)


def _factorize(col: Any, name: str, src: _Source) -> tuple[np.ndarray, np.ndarray]:
    """Codes (``-1`` = missing) and distinct values; a pandas column is factorized as is."""
    values = col.reset_index(drop=True) if isinstance(col, pd.Series) else np.asarray(col, object)
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:  # unhashable cells: JSON objects or lists in a frame
        cells = values.tolist() if isinstance(values, pd.Series) else list(values)
        nested = np.array([i for i, v in enumerate(cells) if isinstance(v, _NESTED)])
        got = f"a {type(cells[int(nested[0])]).__name__}" if len(nested) else "unhashable values"
        raise src.fail(
            name, nested if len(nested) else np.zeros(1, np.int64),
            f"must be a single value, got {got}", "nested values (lists or dicts)",
        ) from None  # fmt: skip
    return np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=object)


def _ids(name: str, col: Any, field: EventField, src: _Source) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = _factorize(col, name, src)
    if field.required and (codes < 0).any():
        raise src.fail(name, np.flatnonzero(codes < 0), "is required", "missing ids")
    ok = np.array(
        [
            isinstance(u, str) and bool(u.strip()) and len(u) <= (field.max_length or 10**9)
            for u in uniques.tolist()
        ],
        dtype=bool,
    )
    if not ok.all():
        bad = uniques[~ok][0]
        rows = np.flatnonzero(np.isin(codes, np.flatnonzero(~ok)))
        limit = f" of at most {field.max_length} characters" if field.max_length else ""
        if name in PERSONAL_FIELDS:  # a member id or event id is never repeated
            size = f" of {len(bad)} characters" if isinstance(bad, str) else ""
            got = f"a {type(bad).__name__}{size}"
        else:
            got = f"{type(bad).__name__} {bad!r}" if not isinstance(bad, str) else repr(bad[:40])
        raise src.fail(name, rows, f"must be a non-empty string{limit}, got {got}", "bad ids")
    return codes, uniques


def _kinds(col: Any, src: _Source) -> np.ndarray:
    codes, uniques = _factorize(col, Columns.KIND, src)
    if (codes < 0).any():
        raise src.fail(Columns.KIND, np.flatnonzero(codes < 0), "is required", "missing kinds")
    mapped = np.array(
        [
            _KIND_INDEX.get(str(u).strip().lower(), -1) if isinstance(u, str) else -1
            for u in uniques.tolist()
        ],
        dtype=np.int64,
    )
    if (mapped < 0).any():
        bad = [str(u) for u in uniques[mapped < 0][:5]]
        rows = np.flatnonzero(np.isin(codes, np.flatnonzero(mapped < 0)))
        valid = ", ".join(EventKind.ALL)
        raise src.fail(
            Columns.KIND,
            rows,
            f"must be one of {valid}, got {bad[0]!r}",
            f"unknown kinds {bad}; expected one of {list(EventKind.ALL)}",
        )
    return mapped[codes].astype(np.int8)


def _values(col: Any, kinds: np.ndarray, src: _Source) -> np.ndarray:
    arr = np.asarray(col)
    if arr.dtype.kind == "b" or (
        arr.dtype == object and any(isinstance(v, bool | np.bool_) for v in arr.tolist())
    ):
        rows = np.flatnonzero([isinstance(v, bool | np.bool_) for v in arr.tolist()] or [True])
        raise src.fail(Columns.VALUE, rows, "must be a number, got a boolean", "boolean values")
    values = pd.to_numeric(pd.Series(arr), errors="coerce").to_numpy(dtype=np.float64)
    if arr.dtype == object:
        text = np.array([isinstance(v, str | bytes) for v in arr.tolist()], dtype=bool)
        bad = text | (np.isnan(values) & ~_missing(arr))
        if bad.any():
            rows = np.flatnonzero(bad)
            got = arr[rows[0]]
            raise src.fail(
                Columns.VALUE, rows, f"must be a number, got {got!r}", "non-numeric values"
            )
    values = np.where(np.isnan(values), 1.0, values)
    bad = ~np.isfinite(values) | (values < 0) | (values > MAX_VALUE)
    if bad.any():
        rows = np.flatnonzero(bad)
        names = pd.unique(np.asarray(EventKind.ALL, dtype=object)[kinds[rows]]).tolist()
        raise src.fail(
            Columns.VALUE,
            rows,
            f"must be a number from 0 to {MAX_VALUE:.0e}, got {float(values[rows[0]])!r}",
            f"negative, infinite or over {MAX_VALUE:.0e} values (dwell seconds / quantity), "
            f"kinds {names}",
        )
    return values


def parse_timestamp(value: Any) -> pd.Timestamp:
    """One timestamp as a naive-UTC ``pd.Timestamp`` (numbers are epoch seconds).

    Raises ``TypeError`` / ``ValueError`` on a value that is not a time; the bounds
    :data:`EARLIEST` / :data:`LATEST` are checked by :func:`validate_events`.
    """
    if isinstance(value, bool | np.bool_):
        raise TypeError("a boolean")
    if isinstance(value, int | float | np.number):
        if not np.isfinite(value):
            raise ValueError("not finite")
        return pd.Timestamp(float(value), unit="s")
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        raise ValueError("NaT")
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts


def _parse_uniques(uniques: np.ndarray) -> np.ndarray:
    """Distinct raw timestamps -> datetime64[ns]; NaT where a value cannot be read or is
    out of bounds."""
    out = np.full(len(uniques), np.datetime64("NaT", "ns"))
    for j, value in enumerate(uniques.tolist()):
        try:
            ts = parse_timestamp(value)
        except (TypeError, ValueError, OverflowError):
            continue
        if EARLIEST <= ts < LATEST:
            out[j] = np.datetime64(ts.as_unit("ns"))
    return out


def _fast_uniques(uniques: np.ndarray) -> np.ndarray | None:
    """Vectorized parse of distinct ISO texts / datetimes (the bulk of training data)."""
    try:
        parsed = pd.to_datetime(pd.Series(uniques, dtype=object), utc=True, format="ISO8601")
    except (TypeError, ValueError, OverflowError):
        return None
    naive = parsed.dt.tz_localize(None)
    if naive.isna().any() or (naive < EARLIEST).any() or (naive >= LATEST).any():
        return None
    return naive.to_numpy().astype("datetime64[ns]")


def _fast_numbers(uniques: np.ndarray, values: list[Any]) -> np.ndarray | None:
    """Vectorized parse of distinct epoch seconds (what live producers send); ``None`` when
    any value is not a plain finite number in bounds (then each is parsed and named)."""
    if not all(type(v) in (int, float) for v in values):  # bools, texts, numpy scalars
        return None
    seconds = np.asarray(values, dtype=np.float64)
    # before 1970 (negative) pandas' rounding differs: those take the exact slow path
    if not np.isfinite(seconds).all() or (seconds < 0).any() or (seconds >= _LATEST_S).any():
        return None
    # as the per-value path does it: pandas' nanoseconds, whole microseconds kept
    nanos = pd.to_datetime(seconds, unit="s").as_unit("ns").asi8
    return ((nanos // 1000) * 1000).astype("datetime64[ns]")


def _time_error(rows: np.ndarray, got: Any, src: _Source) -> InvalidInputError:
    span = f"from {EARLIEST.year} to {LATEST.year - 1}"
    return src.fail(
        Columns.TIMESTAMP,
        rows,
        f"must be an ISO 8601 time, a datetime or epoch seconds {span}, got {got!r}",
        f"values that are not date-times {span}",
    )


def _datetime_column(series: pd.Series, src: _Source) -> np.ndarray:
    """A datetime64 column (any unit, maybe tz-aware): bounds checked, then naive-UTC ns."""
    ts = pd.DatetimeIndex(series)
    if ts.tz is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    bad = np.asarray((ts < EARLIEST) | (ts >= LATEST))
    if bad.any():
        rows = np.flatnonzero(bad)
        raise _time_error(rows, str(ts[rows[0]]), src)
    return ts.as_unit("ns").to_numpy()


def _timestamps(col: Any, src: _Source) -> np.ndarray:
    series = col if isinstance(col, pd.Series) else pd.Series(np.asarray(col, dtype=object))
    if pd.api.types.is_datetime64_any_dtype(series):
        return _datetime_column(series, src)
    codes, uniques = _factorize(series, Columns.TIMESTAMP, src)
    values = uniques.tolist()
    is_number = any(isinstance(u, int | float | np.number) for u in values)
    if is_number:
        parsed = _fast_numbers(uniques, values)
    else:
        parsed = _fast_uniques(uniques)
    if parsed is None:
        parsed = _parse_uniques(uniques)
    bad = np.isnat(parsed)
    if bad.any():
        rows = np.flatnonzero(np.isin(codes, np.flatnonzero(bad)))
        raise _time_error(rows, uniques[bad][0], src)
    return np.append(parsed, np.datetime64("NaT", "ns"))[codes]


def validate_events(events: Any, *, frame: str | None = None) -> EventColumns:
    """Check events against the schema and return them as columns.

    Parameters
    ----------
    events : list of dict or pandas.DataFrame
        Fields :data:`FIELD_NAMES` (see the module docstring for the rules).
    frame : str, optional
        Name of the frame in error messages (``"interactions"``); records are named by
        position (``event 3``).

    Returns
    -------
    EventColumns

    Raises
    ------
    InvalidInputError
        For records: the first bad event and field (``event 1: field 'value' ...``).
    SchemaError
        For frames: the column and rows at fault.

    Examples
    --------
    >>> cols = validate_events([{"user_id": "u1", "item_id": "a", "kind": "View",
    ...                          "value": float("nan")}])
    >>> cols.kind_names.tolist(), cols.values.tolist(), cols.column("user_id").tolist()
    (['view'], [1.0], ['u1'])
    >>> validate_events([{"user_id": "u1", "item_id": "a", "kind": "view", "vaule": 3}])
    Traceback (most recent call last):
    ...
    recsys.exceptions.InvalidInputError: unknown event field(s) ['vaule']; the fields are \
user_id, item_id, kind, value, timestamp, store_id, event_id
    """
    n, cols, src = _columns(events, frame)
    if n == 0:
        raise InvalidInputError("no events given")
    unknown = [c for c in cols if c not in FIELD_NAMES]
    if unknown:
        error = SchemaError if src.frame else InvalidInputError
        err = error(f"unknown event field(s) {unknown}; the fields are {', '.join(FIELD_NAMES)}")
        if src.frame is None:  # the first event holding the first unknown field
            err.loc = (next(i for i, e in enumerate(events) if unknown[0] in e), unknown[0])
        raise err
    missing = [f.name for f in EVENT_FIELDS if f.required and f.name not in cols]
    if missing:
        if src.frame is None:
            raise src.fail(missing[0], np.zeros(1, np.int64), "is required", "missing values")
        raise SchemaError(f"{src.frame} misses required columns {missing} (has {list(cols)})")
    ids = {
        f.name: _ids(f.name, cols[f.name], f, src)
        for f in EVENT_FIELDS
        if f.kind == "id" and f.name in cols
    }
    kinds = _kinds(cols[Columns.KIND], src)
    values = _values(cols[Columns.VALUE], kinds, src) if Columns.VALUE in cols else np.ones(n)
    timestamps = (
        _timestamps(cols[Columns.TIMESTAMP], src)
        if Columns.TIMESTAMP in cols
        else np.full(n, np.datetime64("NaT", "ns"))
    )
    return EventColumns(n=n, ids=ids, kinds=kinds, values=values, timestamps=timestamps)


def events_frame(frame: pd.DataFrame, name: str = "interactions") -> pd.DataFrame:
    """A frame's id columns of numbers turned to text, with a warning about leading zeros.

    A column read from a file without ``dtype=str`` holds numbers; its ids are kept as the
    text of those numbers (integral floats lose their ``.0``), and a
    :class:`~recsys.exceptions.RecsysWarning` says that leading zeros are already gone.
    """
    out = frame
    for field in EVENT_FIELDS:
        if field.kind != "id" or field.name not in frame.columns:
            continue
        col = frame[field.name]
        if not (pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)):
            continue
        warnings.warn(
            f"{name} column {field.name!r} holds numbers: ids are kept as their text, but "
            "leading zeros are already lost ('01104905' read as 1104905); read files with "
            "dtype=str",
            RecsysWarning,
            stacklevel=3,
        )
        as_int = col.dropna()
        integral = bool((as_int == np.floor(as_int)).all()) if len(as_int) else True
        text = col.astype("Int64").astype(str) if integral else col.astype(str)
        out = out.assign(**{field.name: text.where(col.notna(), None).astype(object)})
    return out
