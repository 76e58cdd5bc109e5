"""What the string-id API answers: shelf entries and audience entries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from recsys.exceptions import InvalidInputError

__all__ = ["MemberScore", "Recommendation", "check_k"]


class Recommendation(NamedTuple):
    """One shelf entry: a SKU, its score (higher is better) and a reason to say out loud.

    A named tuple: a batch of 1,000 shelves builds 10,000 of them, and a tuple is built
    several times faster than a frozen dataclass.
    """

    item_id: str
    score: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "score": self.score, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class MemberScore:
    """One audience entry: a member, how likely they are to want the SKU, and a reason a
    marketer can read ("bought 3 jackets so far")."""

    member_id: str
    score: float
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"member_id": self.member_id, "score": self.score, "reason": self.reason}


def check_k(k: Any, name: str = "k", most: int | None = None) -> int:
    """``k`` must be a positive int (bools and floats are refused); at most ``most`` (a
    shelf holds no more SKUs than the catalog has, nor an audience more members than
    there are).

    Examples
    --------
    >>> check_k(5), check_k(10**9, most=300)
    (5, 300)
    >>> check_k(0)
    Traceback (most recent call last):
    ...
    recsys.exceptions.InvalidInputError: k must be > 0, got 0
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise InvalidInputError(f"{name} must be a positive integer, got {k!r}")
    if k <= 0:
        raise InvalidInputError(f"{name} must be > 0, got {k}")
    return int(k) if most is None else min(int(k), max(int(most), 1))
