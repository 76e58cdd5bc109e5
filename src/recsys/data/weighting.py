"""Event weighting: turn (kind, value, timestamp) events into implicit-feedback confidence."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.columns import EventKind
from recsys.exceptions import InvalidInputError, SchemaError

_KINDS = pd.Index(EventKind.ALL, dtype=object)
_DAY = pd.Timedelta(days=1)
#: live events weigh at most 2**this times an event at the training cutoff
_MAX_DOUBLINGS = 10.0


def _naive_utc(ts: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Drop the time zone after converting to UTC, so aware and naive times compare."""
    return ts.tz_convert("UTC").tz_localize(None) if ts.tz is not None else ts


def to_datetime_index(values: Any, what: str = "timestamp") -> pd.DatetimeIndex:
    """Parse strings / datetimes / epoch-free values into a naive (UTC) DatetimeIndex.

    Raises
    ------
    SchemaError
        If a value cannot be parsed as a date-time; the message names ``what``.
    """
    if isinstance(values, pd.DatetimeIndex):
        return _naive_utc(values)
    col = pd.Series(values).reset_index(drop=True)
    try:
        if pd.api.types.is_datetime64_any_dtype(col):
            ts = pd.DatetimeIndex(col)
        else:
            # event logs repeat times (one per basket): parse each distinct value once
            codes, uniques = pd.factorize(col, use_na_sentinel=True)
            parsed = pd.DatetimeIndex(pd.to_datetime(pd.Series(uniques, dtype=object)))
            ts = parsed.take(codes, allow_fill=True, fill_value=pd.NaT)
    except (ValueError, TypeError, OverflowError) as exc:
        raise SchemaError(f"column {what!r} holds values that are not date-times: {exc}") from exc
    return _naive_utc(ts)


@dataclass(frozen=True)
class EventWeights:
    """How much each kind of event says about a member's taste (implicit confidence).

    Parameters
    ----------
    purchase, cart, view, coupon : float
        Weight of one event of that kind (non-negative).
    dwell_saturation : float
        Seconds: a view with dwell ``d`` weighs ``view * (1 - exp(-d / dwell_saturation))``,
        so long stares saturate at ``view`` and never outweigh a purchase by default.
    purchase_quantity_log : bool
        Weigh a purchase of quantity ``q >= 1`` as ``purchase * (1 + log(q))`` (diminishing
        returns on bulk buys); quantities below 1 count as one purchase. If ``False`` every
        purchase weighs ``purchase``.
    half_life_days : float or None
        If set, an event ``a`` days older than ``now`` is multiplied by ``0.5 ** (a / half_life)``.

    Notes
    -----
    ``value`` is the dwell in seconds for views and the quantity for purchases; cart and
    coupon events ignore it. A missing value (NaN) counts as ``1.0``.

    Examples
    --------
    >>> w = EventWeights()
    >>> w.weights(["purchase", "cart", "view", "coupon"], [1, 1, 600, 1]).round(3)
    array([1.  , 0.4 , 0.15, 0.3 ], dtype=float32)
    >>> EventWeights(half_life_days=7).weights(
    ...     ["purchase", "purchase"], [1, 1], ["2024-01-01", "2024-01-08"]).tolist()
    [0.5, 1.0]
    """

    purchase: float = 1.0
    cart: float = 0.4
    view: float = 0.15
    coupon: float = 0.3
    dwell_saturation: float = 60.0
    purchase_quantity_log: bool = True
    half_life_days: float | None = None

    def __post_init__(self) -> None:
        for name in EventKind.ALL:
            w = getattr(self, name)
            if not (isinstance(w, (int, float)) and math.isfinite(w) and w >= 0):
                raise InvalidInputError(f"weight {name}={w!r} must be a finite number >= 0")
        if not (math.isfinite(self.dwell_saturation) and self.dwell_saturation > 0):
            raise InvalidInputError(f"dwell_saturation={self.dwell_saturation!r} must be > 0")
        if self.half_life_days is not None and not (
            math.isfinite(self.half_life_days) and self.half_life_days > 0
        ):
            raise InvalidInputError(
                f"half_life_days={self.half_life_days!r} must be > 0 (or None for no decay)"
            )

    def kind_codes(self, kinds: Any) -> np.ndarray:
        """Position of each kind in ``EventKind.ALL`` (int8); unknown kinds raise.

        Raises
        ------
        InvalidInputError
            Naming the unknown kinds.
        """
        arr = np.asarray(kinds.to_numpy() if hasattr(kinds, "to_numpy") else kinds, dtype=object)
        codes = _KINDS.get_indexer(arr.reshape(-1))
        if (codes < 0).any():
            bad = pd.unique(arr.reshape(-1)[codes < 0])[:5].tolist()
            raise InvalidInputError(
                f"unknown event kind(s) {bad}; expected one of {list(EventKind.ALL)}"
            )
        return codes.astype(np.int8)

    def weights(
        self,
        kinds: Any,
        values: Any = None,
        timestamps: Any = None,
        now: Any = None,
    ) -> np.ndarray:
        """Confidence of each event, vectorized.

        Parameters
        ----------
        kinds : array-like of str
            Event kinds (``EventKind.ALL``).
        values : array-like of float, optional
            Dwell seconds (views) or quantity (purchases); ``None`` means all ``1.0``.
        timestamps : array-like of datetime, optional
            Event times, needed only for time decay (NaT = no decay for that event).
        now : datetime-like, optional
            Reference time for decay; default is the latest timestamp.

        Returns
        -------
        ndarray of float32, shape (n,)

        Raises
        ------
        InvalidInputError
            On an unknown kind or mismatched lengths.
        SchemaError
            On a negative value (dwell or quantity).
        """
        codes = self.kind_codes(kinds)
        n = codes.shape[0]
        if values is None:
            val = np.ones(n)
        else:
            try:
                val = np.asarray(values, dtype=np.float64).reshape(-1)
            except (TypeError, ValueError) as exc:
                raise SchemaError(f"event values must be numbers: {exc}") from exc
            if val.shape[0] != n:
                raise InvalidInputError(f"{n} kinds but {val.shape[0]} values")
        ts = None
        if self.half_life_days is not None and timestamps is not None:
            ts = to_datetime_index(timestamps)
            if ts.shape[0] != n:
                raise InvalidInputError(f"{n} kinds but {ts.shape[0]} timestamps")
        return self._weigh(codes, val, ts, now)

    def growth(self, seconds: np.ndarray, reference: pd.Timestamp | None) -> np.ndarray:
        """Multiplier of events at ``seconds`` (epoch) against ones at ``reference``.

        Training decays every event by its age at the training cutoff; an event after it
        weighs ``2 ** (days_after / half_life_days)`` instead, so the ratio between any two
        events is the decay of the time between them, whenever each arrived. The multiplier
        is at most ``2 ** 10`` (retrain long before that); without a half-life it is 1.

        Examples
        --------
        >>> w = EventWeights(half_life_days=7)
        >>> day = 86400.0
        >>> w.growth(np.array([0.0, 7 * day, -7 * day]), pd.Timestamp(0, unit="s")).tolist()
        [1.0, 2.0, 0.5]
        """
        seconds = np.asarray(seconds, dtype=np.float64)
        if self.half_life_days is None or reference is None or pd.isna(reference):
            return np.ones(len(seconds), dtype=np.float32)
        ref = pd.Timestamp(reference).timestamp()
        days = (seconds - ref) / _DAY.total_seconds()
        return np.exp2(np.minimum(days / self.half_life_days, _MAX_DOUBLINGS)).astype(np.float32)

    def _weigh(
        self, codes: np.ndarray, val: np.ndarray, ts: pd.DatetimeIndex | None, now: Any
    ) -> np.ndarray:
        """Weights from kind codes (``kind_codes``), float values and parsed times."""
        val = np.where(np.isnan(val), 1.0, val)
        if (val < 0).any():
            neg = val < 0
            kinds_neg = pd.unique(np.asarray(EventKind.ALL, dtype=object)[codes[neg]])
            raise SchemaError(
                f"{int(neg.sum())} events have a negative 'value' (dwell seconds or "
                f"quantity), kinds {kinds_neg.tolist()}: values must be >= 0"
            )

        per_kind = np.array([getattr(self, k) for k in EventKind.ALL], dtype=np.float64)
        w = per_kind[codes]
        is_view = codes == EventKind.ALL.index(EventKind.VIEW)
        # saturating dwell: -expm1(-x) = 1 - exp(-x), accurate for short dwells
        w[is_view] *= -np.expm1(-val[is_view] / self.dwell_saturation)
        if self.purchase_quantity_log:
            is_buy = codes == EventKind.ALL.index(EventKind.PURCHASE)
            w[is_buy] *= 1.0 + np.log(np.maximum(val[is_buy], 1.0))

        if self.half_life_days is not None and ts is not None:
            ref = ts.max() if now is None else to_datetime_index([now], "now")[0]
            if ref is not pd.NaT and not pd.isna(ref):
                age = np.asarray((ref - ts) / _DAY, dtype=np.float64)
                # future events and unknown times are not decayed
                age = np.where(np.isnan(age), 0.0, np.maximum(age, 0.0))
                w *= np.exp2(-age / self.half_life_days)
        return w.astype(np.float32)

    @staticmethod
    def confidence_matrix(
        users: Any, items: Any, weights: Any, n_users: int, n_items: int
    ) -> sp.csr_matrix:
        """Same as :func:`confidence_matrix`."""
        return confidence_matrix(users, items, weights, n_users, n_items)


def confidence_matrix(
    users: Any, items: Any, weights: Any, n_users: int, n_items: int
) -> sp.csr_matrix:
    """Sparse (n_users, n_items) float32 matrix of summed event weights.

    Duplicate (user, item) pairs are summed; zero sums are dropped.

    Parameters
    ----------
    users, items : array-like of int
        Internal ids of each event.
    weights : array-like of float
        Event weights (see :meth:`EventWeights.weights`).
    n_users, n_items : int
        Matrix shape.

    Returns
    -------
    scipy.sparse.csr_matrix of float32 with sorted indices

    Examples
    --------
    >>> m = confidence_matrix([0, 0, 1], [2, 2, 0], [1.0, 0.5, 0.4], 2, 3)
    >>> m.toarray().tolist()
    [[0.0, 0.0, 1.5], [0.4000000059604645, 0.0, 0.0]]
    """
    u = np.asarray(users, dtype=np.int64).reshape(-1)
    i = np.asarray(items, dtype=np.int64).reshape(-1)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if not (u.shape == i.shape == w.shape):
        raise InvalidInputError(
            f"users, items and weights differ in length: {u.shape[0]}, {i.shape[0]}, {w.shape[0]}"
        )
    for name, idx, n in (("user", u, n_users), ("item", i, n_items)):
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise InvalidInputError(f"internal {name} ids out of range [0, {n})")
    # sum in float64 (many small weights), store float32
    m = sp.csr_matrix((w, (u, i)), shape=(int(n_users), int(n_items)), dtype=np.float64)
    m.sum_duplicates()  # sorts the indices too
    m.eliminate_zeros()
    out = sp.csr_matrix((m.data.astype(np.float32), m.indices, m.indptr), shape=m.shape)
    out.has_sorted_indices = True
    return out
