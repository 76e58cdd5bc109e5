"""Coupon campaigns: who was issued what and when, frequency caps, per-store budgets.

The ledger lives in the member state (saved with the model, erased with the member); the
service logs every issue durably and replays it on every worker.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys.exceptions import InvalidInputError

__all__ = ["CouponCaps", "CouponLedger", "assign_budgets"]

_DAY = 86_400.0


@dataclass(frozen=True)
class CouponCaps:
    """At most ``per_member`` coupons per member in any ``days``-day window.

    Examples
    --------
    >>> CouponCaps.parse({"per_member": 2, "days": 7})
    CouponCaps(per_member=2, days=7.0)
    >>> CouponCaps.parse({"per_member": 0})
    Traceback (most recent call last):
    ...
    recsys.exceptions.InvalidInputError: caps.per_member must be an int >= 1, got 0
    """

    per_member: int = 1
    days: float = 30.0

    @classmethod
    def parse(cls, caps: CouponCaps | Mapping[str, Any]) -> CouponCaps:
        """Caps from a ``CouponCaps`` or a dict with ``per_member`` and/or ``days``."""
        if isinstance(caps, CouponCaps):
            return caps
        if not isinstance(caps, Mapping):
            raise InvalidInputError(
                f"caps must be a dict like {{'per_member': 1, 'days': 30}}, got {caps!r}"
            )
        unknown = sorted(set(caps) - {"per_member", "days"})
        if unknown:
            raise InvalidInputError(f"caps: unknown field(s) {unknown}; use per_member, days")
        per = caps.get("per_member", cls.per_member)
        days = caps.get("days", cls.days)
        if isinstance(per, bool) or not isinstance(per, (int, np.integer)) or per < 1:
            raise InvalidInputError(f"caps.per_member must be an int >= 1, got {per!r}")
        if (
            isinstance(days, bool)
            or not isinstance(days, (int, float))
            or not math.isfinite(days)
            or days <= 0
        ):
            raise InvalidInputError(f"caps.days must be a number > 0, got {days!r}")
        return cls(int(per), float(days))


class CouponLedger:
    """Every coupon issued: (member, SKU, time in epoch seconds), append-only but erasable."""

    def __init__(self) -> None:
        self._members: list[int] = []
        self._items: list[int] = []
        self._at: list[float] = []

    def __len__(self) -> int:
        return len(self._members)

    def record(self, members: np.ndarray, item: int, at: float) -> None:
        for u in np.asarray(members, dtype=np.int64).tolist():
            self._members.append(int(u))
            self._items.append(int(item))
            self._at.append(float(at))

    def capped(self, caps: CouponCaps, at: float) -> np.ndarray:
        """Sorted members who already hold ``caps.per_member`` coupons issued in the
        ``caps.days`` days up to ``at``."""
        if not self._members:
            return np.empty(0, dtype=np.int64)
        members = np.asarray(self._members, dtype=np.int64)
        times = np.asarray(self._at, dtype=np.float64)
        recent = members[(times > at - caps.days * _DAY) & (times <= at)]
        ids, counts = np.unique(recent, return_counts=True)
        return ids[counts >= caps.per_member].astype(np.int64)

    def issued(self, u: int) -> list[tuple[int, float]]:
        """(SKU, time) of every coupon member ``u`` was issued, oldest first."""
        return [
            (i, t) for m, i, t in zip(self._members, self._items, self._at, strict=True) if m == u
        ]

    def forget(self, u: int) -> None:
        keep = [j for j, m in enumerate(self._members) if m != u]
        self._members = [self._members[j] for j in keep]
        self._items = [self._items[j] for j in keep]
        self._at = [self._at[j] for j in keep]

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "coupons.members": np.asarray(self._members, dtype=np.int64),
            "coupons.items": np.asarray(self._items, dtype=np.int64),
            "coupons.at": np.asarray(self._at, dtype=np.float64),
        }

    def replay(self, arrays: Mapping[str, np.ndarray]) -> None:
        if "coupons.members" not in arrays:
            return  # saved before coupon campaigns existed
        self._members += np.asarray(arrays["coupons.members"], dtype=np.int64).tolist()
        self._items += np.asarray(arrays["coupons.items"], dtype=np.int64).tolist()
        self._at += np.asarray(arrays["coupons.at"], dtype=np.float64).tolist()


def assign_budgets(
    ranked: np.ndarray,
    budgets: Mapping[int, int],
    visits: sp.csr_matrix,
    k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Fill per-store budgets from members in rank order; returns (positions, stores).

    Each member counts against the budgeted store where they have the most events
    (``visits``, members x stores, rows in ``ranked`` order), ties to the lower store id;
    a member with no events in any budgeted store is skipped, and so is one whose store's
    budget is spent. At most ``k`` members in all.

    Examples
    --------
    >>> visits = sp.csr_matrix(np.array([[3, 1], [0, 2], [5, 0], [1, 4]], dtype=np.float32))
    >>> assign_budgets(np.arange(4), {0: 1, 1: 2}, visits, k=10)
    (array([0, 1, 3]), array([0, 1, 1]))
    """
    stores = np.array(sorted(budgets), dtype=np.int64)
    if not len(ranked) or not len(stores):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    counts = np.asarray(visits[:, stores].todense(), dtype=np.float64)
    best = counts.argmax(axis=1)
    has = counts.max(axis=1) > 0
    left = {int(s): int(budgets[int(s)]) for s in stores}
    positions: list[int] = []
    chosen: list[int] = []
    for pos in np.flatnonzero(has).tolist():
        store = int(stores[best[pos]])
        if left[store] <= 0:
            continue
        left[store] -= 1
        positions.append(pos)
        chosen.append(store)
        if len(positions) >= k:
            break
    return np.asarray(positions, dtype=np.int64), np.asarray(chosen, dtype=np.int64)
