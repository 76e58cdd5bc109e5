"""The current visit: what a member just did moves the next shelf, then fades.

Every live event (``Recommender.update``) is remembered with its time. A shelf asked for at
time ``at`` reads the member's events of the last ``window`` seconds, each weighed by its
confidence (a long view counts more than a glance) and faded by its age (half of the window
halves it). Their categories are the member's intent: SKUs of those categories are lifted
on the next shelf, the SKUs just looked at themselves are not (the shelf shows what else
there is). After the window the shelf is the long-term one again.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import numpy as np

__all__ = ["Session", "SessionLog"]

#: events remembered per member (a visit is a few dozen at most)
_PER_MEMBER = 64


@dataclass(frozen=True)
class Session:
    """A member's events of the current visit: SKUs, their faded weights, newest first."""

    items: np.ndarray
    weights: np.ndarray
    #: per event, whether it was a purchase (a reason then says "bought", not "looked at")
    bought: np.ndarray | None = None

    def intent(self, codes: np.ndarray) -> np.ndarray:
        """Share of the visit's weight per category code (index = code + 1; 0 = no category)."""
        size = int(codes.max()) + 2 if len(codes) else 1
        share = np.bincount(codes[self.items] + 1, weights=self.weights, minlength=size)
        total = share.sum()
        return share / total if total > 0 else share


class SessionLog:
    """The recent live events of every member, bounded per member, thread-safe."""

    def __init__(self) -> None:
        self._events: dict[int, deque[tuple[int, float, float, bool]]] = {}
        self._lock = threading.Lock()

    def record(
        self,
        member: int,
        items: np.ndarray,
        weights: np.ndarray,
        seconds: np.ndarray,
        bought: np.ndarray | None = None,
    ) -> None:
        """Remember events of one member (item, weight, time in epoch seconds, whether a
        purchase; none is without ``bought``)."""
        flags = np.zeros(len(items), bool) if bought is None else np.asarray(bought, bool)
        with self._lock:
            queue = self._events.setdefault(member, deque(maxlen=_PER_MEMBER))
            for event in zip(
                items.tolist(), weights.tolist(), seconds.tolist(), flags.tolist(), strict=True
            ):
                queue.append(event)

    def session(self, member: int, at: float, window: float) -> Session | None:
        """The member's visit as of ``at`` (epoch seconds), or ``None`` without one."""
        with self._lock:
            events = list(self._events.get(member, ()))
        if not events or window <= 0:
            return None
        items = np.array([e[0] for e in events], dtype=np.int64)
        weights = np.array([e[1] for e in events], dtype=np.float64)
        age = at - np.array([e[2] for e in events], dtype=np.float64)
        recent = (age >= -window) & (age <= window)  # a clock a little ahead still counts
        if not recent.any() or not (weights[recent] > 0).any():
            return None
        faded = weights[recent] * np.exp2(-np.maximum(age[recent], 0.0) / (window / 2))
        order = np.argsort(age[recent], kind="stable")  # newest first
        bought = np.array([e[3] for e in events], dtype=bool)[recent][order]
        return Session(items[recent][order], faded[order], bought)

    def forget(self, member: int) -> None:
        with self._lock:
            self._events.pop(member, None)
