"""A/B tests of shelves: sticky variant assignment and the comparison of variants.

Assignment hashes the member id with a keyed BLAKE2b (key: the experiment's name), maps the
first 8 bytes to a number in [0, 1) and cuts that range by the variants' weights: the same
member always lands in the same variant of the same experiment, members spread uniformly,
and renaming the experiment reshuffles everyone.

The comparison counts members (the unit that was randomized): a member converts when at
least one purchase is attributed to a shelf they were shown (:func:`attribute`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recsys.columns import Columns
from recsys.exceptions import InvalidInputError

__all__ = ["ExperimentReport", "VariantSplit", "compare_variants"]


class VariantSplit:
    """Sticky, uniform assignment of members to named variants.

    Parameters
    ----------
    name : str
        The experiment's name: the hash key.
    weights : dict of variant name -> weight
        Relative traffic shares (> 0), e.g. ``{"control": 1, "new-blend": 1}``.

    Examples
    --------
    >>> split = VariantSplit("spring-shelf", {"control": 1, "blend": 1})
    >>> split.assign("u42") == split.assign("u42")
    True
    >>> counts = pd.Series([split.assign(f"u{i}") for i in range(10_000)]).value_counts()
    >>> bool(abs(counts["control"] - 5_000) < 200)
    True
    """

    def __init__(self, name: str, weights: Mapping[str, float]) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidInputError("the experiment needs a non-empty name")
        if not isinstance(weights, Mapping) or not weights:
            raise InvalidInputError("an experiment needs at least one variant")
        for variant, w in weights.items():
            if not isinstance(variant, str) or not variant:
                raise InvalidInputError(f"variant names must be non-empty strings: {variant!r}")
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not w > 0:
                raise InvalidInputError(f"variant {variant!r}: weight must be > 0, got {w!r}")
            if not math.isfinite(float(w)):
                raise InvalidInputError(f"variant {variant!r}: weight must be finite")
        self.name = name
        self.variants = list(weights)
        total = float(sum(weights.values()))
        self._cuts = np.cumsum([float(weights[v]) / total for v in self.variants])
        self._cuts[-1] = 1.0
        self._key = hashlib.blake2b(name.encode("utf-8"), digest_size=32).digest()

    def position(self, member_id: str) -> float:
        """The member's point in [0, 1)."""
        digest = hashlib.blake2b(member_id.encode("utf-8"), key=self._key, digest_size=8)
        return int.from_bytes(digest.digest(), "big") / 2.0**64

    def assign(self, member_id: str) -> str:
        """The member's variant."""
        j = int(np.searchsorted(self._cuts, self.position(member_id), side="right"))
        return self.variants[min(j, len(self.variants) - 1)]

    def __repr__(self) -> str:
        return f"VariantSplit({self.name!r}, variants={self.variants})"


@dataclass(frozen=True)
class ExperimentReport:
    """Per-variant conversion and revenue, and each variant against the control.

    Attributes
    ----------
    variants : pandas.DataFrame
        ``variant, members, converted, conversion, conversion_low, conversion_high`` (Wilson
        interval), ``revenue_per_member``, and against the control: ``lift`` (difference in
        conversion), ``lift_low``, ``lift_high`` (normal interval), ``p_value`` (Fisher's
        exact test on members converted / not), ``revenue_p_value`` (Welch's t-test on
        revenue per member). The control's own row: lift 0 with a zero-width interval and
        p-values of 1 (it is compared with itself).
    control : str
    confidence : float
    """

    variants: pd.DataFrame
    control: str
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        rows = self.variants.astype(object).where(self.variants.notna(), None)
        return {
            "control": self.control,
            "confidence": self.confidence,
            "variants": rows.to_dict("records"),
        }


def compare_variants(
    by_member: pd.DataFrame,
    *,
    control: str | None = None,
    confidence: float = 0.95,
    variants: Sequence[str] | None = None,
) -> ExperimentReport:
    """Compare variants on attributed conversion (``AttributionReport.by_member``).

    Parameters
    ----------
    by_member : pandas.DataFrame
        One row per member and variant: ``user_id, variant, purchases, revenue``.
    control : str, optional
        The reference variant (default: the first in ``variants`` or in the data).
    confidence : float, default 0.95
    variants : sequence of str, optional
        Report these, in this order (a variant nobody was shown reports 0 members).

    Examples
    --------
    >>> members = pd.DataFrame({
    ...     "user_id": [f"u{i}" for i in range(400)],
    ...     "variant": ["A"] * 200 + ["B"] * 200,
    ...     "purchases": [1] * 20 + [0] * 180 + [1] * 50 + [0] * 150,
    ...     "revenue": 0.0})
    >>> report = compare_variants(members, control="A")
    >>> report.variants[["variant", "members", "converted", "conversion", "lift"]]
      variant  members  converted  conversion  lift
    0       A      200         20        0.10  0.00
    1       B      200         50        0.25  0.15
    >>> bool(report.variants["p_value"].iloc[1] < 0.001)
    True
    """
    if not 0 < confidence < 1:
        raise InvalidInputError(f"confidence must be in (0, 1), got {confidence!r}")
    missing = [c for c in (Columns.USER, "variant", "purchases", "revenue") if c not in by_member]
    if missing:
        raise InvalidInputError(f"by_member lacks column(s) {missing}")
    names = list(variants) if variants is not None else list(dict.fromkeys(by_member["variant"]))
    if not names:
        raise InvalidInputError("no variant was shown to anyone yet: nothing to compare")
    control = names[0] if control is None else control
    if control not in names:
        raise InvalidInputError(f"control {control!r} is not a variant (variants: {names})")
    groups = {v: by_member[by_member["variant"] == v] for v in names}
    from scipy import stats  # here: scipy.stats takes a second to import, at every start-up

    z = float(stats.norm.ppf(0.5 + confidence / 2))
    base = groups[control]
    n0, x0 = len(base), int((base["purchases"] > 0).sum())
    rows = []
    for v in names:
        g = groups[v]
        n, x = len(g), int((g["purchases"] > 0).sum())
        rate = x / n if n else math.nan
        low, high = _wilson(x, n, confidence)
        lift, lift_low, lift_high, p, rev_p = (math.nan,) * 5
        if v == control:  # the same members on both sides: no difference, exactly
            lift, lift_low, lift_high, p, rev_p = 0.0, 0.0, 0.0, 1.0, 1.0
        elif n and n0:
            p0 = x0 / n0
            lift = rate - p0
            se = math.sqrt(rate * (1 - rate) / n + p0 * (1 - p0) / n0)
            lift_low, lift_high = lift - z * se, lift + z * se
            p = float(stats.fisher_exact([[x, n - x], [x0, n0 - x0]])[1])
            rev_p = _welch(g["revenue"].to_numpy(float), base["revenue"].to_numpy(float))
        rows.append(
            {
                "variant": v,
                "members": n,
                "converted": x,
                "conversion": rate,
                "conversion_low": low,
                "conversion_high": high,
                "revenue_per_member": float(g["revenue"].mean()) if n else math.nan,
                "lift": lift,
                "lift_low": lift_low,
                "lift_high": lift_high,
                "p_value": p,
                "revenue_p_value": rev_p,
            }
        )
    return ExperimentReport(pd.DataFrame(rows), control, float(confidence))


def _wilson(x: int, n: int, confidence: float) -> tuple[float, float]:
    if not n:
        return math.nan, math.nan
    from scipy import stats

    ci = stats.binomtest(x, n).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def _welch(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2 or len(b) < 2 or (a.std() == 0 and b.std() == 0):
        return 1.0 if np.mean(a) == np.mean(b) else math.nan
    from scipy import stats

    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)
