"""Train/test splits of an interactions DataFrame for offline evaluation.

Every splitter takes a frame with the columns of :data:`Columns.INTERACTIONS
<recsys.columns.Columns.INTERACTIONS>` (``user_id, item_id, kind, value, timestamp,
store_id``; only the ones a splitter needs are required), never modifies it, and returns new
frames with a fresh ``RangeIndex`` whose rows keep their input order. Splits are
deterministic: the same input (and seed) gives the same split, whatever the row order.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from recsys.columns import Columns
from recsys.exceptions import InvalidInputError, SchemaError

__all__ = ["cold_user_split", "leave_last_out", "temporal_split"]


def temporal_split(
    df: pd.DataFrame,
    test_fraction: float | None = None,
    cutoff: str | datetime | pd.Timestamp | np.datetime64 | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split at one global point in time: the past trains, the future tests.

    Give exactly one of ``test_fraction`` and ``cutoff``. Events at or after the cutoff go to
    test, so every train event is strictly earlier than every test event (no leakage through
    ties). With ``test_fraction``, the cutoff is the timestamp of the event at position
    ``n - round(test_fraction * n)`` in time order (at least one test event); events tied
    with it also go to test, so the test share can be slightly above the fraction.

    Members and SKUs that appear only in test (new members, new SKUs) are **kept** in test:
    that is what production sees. The evaluation step decides how to treat them (cold-start
    recommendations for new members; unknown SKUs can't be hit by any model).

    Parameters
    ----------
    df : pandas.DataFrame
        Interactions with at least ``Columns.TIMESTAMP``.
    test_fraction : float in (0, 1), optional
        Share of the latest events to put in test.
    cutoff : str, datetime-like, optional
        Events with ``timestamp >= cutoff`` go to test.

    Returns
    -------
    train, test : pandas.DataFrame
        Non-empty frames with the input's columns.

    Raises
    ------
    InvalidInputError
        Both or neither of ``test_fraction`` and ``cutoff``; fraction outside (0, 1); empty
        frame; a cutoff that leaves train or test empty; all timestamps equal.
    SchemaError
        Missing or unparsable timestamps.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "user_id": ["u1", "u1", "u2", "u2", "u3"],
    ...     "item_id": ["a", "b", "a", "c", "b"],
    ...     "timestamp": pd.to_datetime(["2026-01-01", "2026-01-05", "2026-01-02",
    ...                                  "2026-01-09", "2026-01-10"]),
    ... })
    >>> train, test = temporal_split(df, test_fraction=0.4)
    >>> list(test["item_id"])
    ['c', 'b']
    >>> train, test = temporal_split(df, cutoff="2026-01-05")
    >>> len(train), len(test)
    (2, 3)
    """
    if (test_fraction is None) == (cutoff is None):
        raise InvalidInputError("give exactly one of test_fraction and cutoff")
    _check_frame(df, (Columns.TIMESTAMP,))
    times = _timestamps(df)
    if test_fraction is not None:
        _check_fraction(test_fraction, "test_fraction")
        n = len(df)
        n_test = min(max(1, round(test_fraction * n)), n)
        ordered = np.sort(times.to_numpy())
        boundary = pd.Timestamp(ordered[n - n_test])
        if boundary == pd.Timestamp(ordered[0]):
            raise InvalidInputError(
                f"test_fraction={test_fraction} puts every event in test: the latest "
                f"{n_test} events share the earliest timestamp {boundary}"
            )
    else:
        boundary = _as_timestamp(cutoff)
    is_test = (times >= boundary).to_numpy()
    if is_test.all() or not is_test.any():
        raise InvalidInputError(
            f"cutoff {boundary} leaves {'train' if is_test.all() else 'test'} empty "
            f"(timestamps range from {times.min()} to {times.max()})"
        )
    return _take(df, ~is_test), _take(df, is_test)


def leave_last_out(
    df: pd.DataFrame, n: int = 1, min_history: int = 2
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out each member's ``n`` latest events.

    Only members with at least ``min_history`` events are split; the others stay entirely in
    train. Ties in time are broken by row order (a later row counts as later).

    Parameters
    ----------
    df : pandas.DataFrame
        Interactions with at least ``Columns.USER`` and ``Columns.TIMESTAMP``.
    n : int, default 1
        Events held out per member.
    min_history : int, default 2
        Minimum events a member needs to be split; must exceed ``n`` so every split member
        keeps history in train.

    Returns
    -------
    train, test : pandas.DataFrame
        Frames with the input's columns, rows in input order.

    Raises
    ------
    InvalidInputError
        ``n < 1``, ``min_history <= n``, empty frame, or no member has ``min_history``
        events.
    SchemaError
        Missing columns or unparsable timestamps.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "user_id": ["u1", "u1", "u1", "u2"],
    ...     "item_id": ["a", "b", "c", "a"],
    ...     "timestamp": pd.to_datetime(["2026-01-03", "2026-01-01", "2026-01-02",
    ...                                  "2026-01-01"]),
    ... })
    >>> train, test = leave_last_out(df)
    >>> list(test["item_id"]), list(train["item_id"])
    (['a'], ['b', 'c', 'a'])
    """
    n = _check_int(n, "n", minimum=1)
    min_history = _check_int(min_history, "min_history", minimum=1)
    if min_history <= n:
        raise InvalidInputError(
            f"min_history ({min_history}) must be greater than n ({n}) so split members "
            "keep history in train"
        )
    _check_frame(df, (Columns.USER, Columns.TIMESTAMP))
    times = _timestamps(df).to_numpy()
    users = df[Columns.USER].to_numpy()
    # Stable sort by (member, time); position breaks ties, so a later row counts as later.
    codes, _ = pd.factorize(users)
    order = np.lexsort((np.arange(len(df)), times, codes))
    sorted_codes = codes[order]
    sizes = np.bincount(codes)
    # rank from the end within each member: 0 = latest
    ends = np.cumsum(sizes)[sorted_codes]
    from_end = ends - 1 - np.arange(len(df))
    test_sorted = (from_end < n) & (sizes[sorted_codes] >= min_history)
    is_test = np.empty(len(df), dtype=bool)
    is_test[order] = test_sorted
    if not is_test.any():
        raise InvalidInputError(
            f"no member has min_history={min_history} events (largest history: {int(sizes.max())})"
        )
    return _take(df, ~is_test), _take(df, is_test)


def cold_user_split(
    df: pd.DataFrame,
    profiles: pd.DataFrame | None = None,
    fraction: float = 0.1,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """Hold members out entirely, to evaluate recommendations for brand-new members.

    ``round(fraction * n_members)`` members (at least one, at most all but one) are drawn
    uniformly with ``numpy.random.default_rng(seed)`` from the sorted distinct member ids, so
    the draw depends on the seed and the set of members, not on row order. All their events
    go to test; their profile rows are returned as ``test_profiles``, the only thing a model
    may see about them.

    Parameters
    ----------
    df : pandas.DataFrame
        Interactions with at least ``Columns.USER``.
    profiles : pandas.DataFrame, optional
        Member profiles with ``Columns.USER``.
    fraction : float in (0, 1), default 0.1
        Share of members to hold out.
    seed : int, default 0
        Seed of the draw.

    Returns
    -------
    train, test : pandas.DataFrame
        Interactions of the kept and of the held-out members.
    test_profiles : pandas.DataFrame or None
        Profile rows of the held-out members (``None`` when ``profiles`` is ``None``;
        members without a profile row are simply absent). When fitting on ``train``, pass
        ``profiles`` without these rows, or the held-out members become known members.

    Raises
    ------
    InvalidInputError
        Fraction outside (0, 1), fewer than two members, empty frame, bad seed.
    SchemaError
        Missing ``user_id`` column in ``df`` or ``profiles``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"user_id": ["u1", "u1", "u2", "u3", "u4"],
    ...                    "item_id": ["a", "b", "a", "c", "b"]})
    >>> profiles = pd.DataFrame({"user_id": ["u1", "u2", "u3", "u4"],
    ...                          "age_band": ["25-34", "35-44", "25-34", "18-24"]})
    >>> train, test, test_profiles = cold_user_split(df, profiles, fraction=0.25, seed=0)
    >>> len(test_profiles), set(test["user_id"]) == set(test_profiles["user_id"])
    (1, True)
    >>> set(train["user_id"]) & set(test["user_id"])
    set()
    """
    _check_fraction(fraction, "fraction")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InvalidInputError(f"seed must be an int, got {seed!r}")
    _check_frame(df, (Columns.USER,))
    if profiles is not None:
        _check_frame(profiles, (Columns.USER,), name="profiles", allow_empty=True)
    users = df[Columns.USER]
    if users.isna().any():
        raise SchemaError(f"{int(users.isna().sum())} rows have a missing {Columns.USER}")
    members = np.sort(pd.unique(users.to_numpy()).astype(str))
    if len(members) < 2:
        raise InvalidInputError(f"cold_user_split needs at least two members, got {len(members)}")
    n_test = min(max(1, round(fraction * len(members))), len(members) - 1)
    rng = np.random.default_rng(int(seed))
    held_out = np.sort(members[rng.choice(len(members), size=n_test, replace=False)])
    is_test = users.astype(str).isin(held_out).to_numpy()
    test_profiles = None
    if profiles is not None:
        keep = profiles[Columns.USER].astype(str).isin(held_out).to_numpy()
        test_profiles = _take(profiles, keep)
    return _take(df, ~is_test), _take(df, is_test), test_profiles


# ---------------------------------------------------------------------- helpers
def _check_frame(
    df: Any, required: tuple[str, ...], name: str = "df", *, allow_empty: bool = False
) -> None:
    if not isinstance(df, pd.DataFrame):
        raise InvalidInputError(f"{name} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{name} misses column(s) {', '.join(map(repr, missing))} "
            f"(has: {', '.join(map(str, df.columns))})"
        )
    if not allow_empty and df.empty:
        raise InvalidInputError(f"{name} is empty: nothing to split")


def _check_fraction(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise InvalidInputError(f"{name} must be a number in (0, 1), got {value!r}")
    if not (math.isfinite(float(value)) and 0.0 < float(value) < 1.0):
        raise InvalidInputError(f"{name} must be in (0, 1), got {value!r}")


def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidInputError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise InvalidInputError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _timestamps(df: pd.DataFrame) -> pd.Series:
    """The timestamp column as naive datetime64 (UTC if it was tz-aware).

    Numbers are read as seconds since the Unix epoch, text as ISO 8601.
    """
    column = df[Columns.TIMESTAMP]
    try:
        if pd.api.types.is_bool_dtype(column):
            raise TypeError("booleans are not timestamps")
        if pd.api.types.is_numeric_dtype(column):
            times = pd.to_datetime(column, unit="s")
        elif pd.api.types.is_datetime64_any_dtype(column):
            times = column
        else:
            times = pd.to_datetime(column, format="ISO8601")
    except (TypeError, ValueError, OverflowError) as err:
        raise SchemaError(
            f"column {Columns.TIMESTAMP!r} can't be read as datetimes: {err}"
        ) from None
    if isinstance(times.dtype, pd.DatetimeTZDtype):
        times = times.dt.tz_convert("UTC").dt.tz_localize(None)
    if times.isna().any():
        raise SchemaError(f"{int(times.isna().sum())} rows have a missing {Columns.TIMESTAMP!r}")
    return times


def _as_timestamp(value: Any) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"cutoff must be a date or datetime, got {value!r}") from None
    if ts is pd.NaT:
        raise InvalidInputError("cutoff must not be NaT")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


def _take(df: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    return df.loc[mask].reset_index(drop=True)
