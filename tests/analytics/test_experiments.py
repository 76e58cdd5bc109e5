"""Variant assignment (sticky, uniform, reproducible) and the comparison of variants."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from recsys.analytics import VariantSplit, compare_variants
from recsys.exceptions import InvalidInputError

N = 100_000


def test_assignment_is_uniform_within_one_percent_and_sticky() -> None:
    split = VariantSplit("spring-shelf", {"control": 1, "blend": 1, "rules": 2})
    members = [f"member-{i:06d}" for i in range(N)]
    assigned = [split.assign(m) for m in members]
    shares = pd.Series(assigned).value_counts(normalize=True)
    assert shares["control"] == pytest.approx(0.25, abs=0.01)
    assert shares["blend"] == pytest.approx(0.25, abs=0.01)
    assert shares["rules"] == pytest.approx(0.50, abs=0.01)
    # sticky and reproducible: a new object with the same name gives the same answers
    again = VariantSplit("spring-shelf", {"control": 1, "blend": 1, "rules": 2})
    assert [again.assign(m) for m in members[:2000]] == assigned[:2000]
    # another experiment reshuffles members independently of this one
    other = VariantSplit("autumn-shelf", {"control": 1, "blend": 1, "rules": 2})
    same = sum(other.assign(m) == a for m, a in zip(members[:20_000], assigned, strict=False))
    assert same / 20_000 == pytest.approx(0.25**2 + 0.25**2 + 0.5**2, abs=0.015)


def test_bad_splits_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="name"):
        VariantSplit("", {"a": 1})
    with pytest.raises(InvalidInputError, match="weight"):
        VariantSplit("x", {"a": 1, "b": 0})
    with pytest.raises(InvalidInputError, match="at least one"):
        VariantSplit("x", {})


def _members(groups: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """(members, converted) per variant; a converted member spent 10."""
    rows = []
    for variant, (n, x) in groups.items():
        for i in range(n):
            bought = int(i < x)
            rows.append((f"{variant}-{i}", variant, bought, 10.0 * bought))
    return pd.DataFrame(rows, columns=["user_id", "variant", "purchases", "revenue"])


def test_numbers_match_the_formulas_worked_by_hand() -> None:
    report = compare_variants(_members({"A": (200, 20), "B": (100, 25)}), control="A")
    a, b = report.variants.set_index("variant").loc[["A", "B"]].to_dict("records")
    assert (a["conversion"], b["conversion"]) == (0.10, 0.25)
    # Wilson interval of 25 / 100 at 95 %: (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)
    z, p, n = 1.959963984540054, 0.25, 100
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert b["conversion_low"] == pytest.approx((centre - half) / (1 + z * z / n))
    assert b["conversion_high"] == pytest.approx((centre + half) / (1 + z * z / n))
    # lift 0.15 ± z·sqrt(.25·.75/100 + .1·.9/200)
    se = math.sqrt(0.25 * 0.75 / 100 + 0.1 * 0.9 / 200)
    assert b["lift"] == pytest.approx(0.15)
    assert (b["lift_low"], b["lift_high"]) == pytest.approx((0.15 - z * se, 0.15 + z * se))
    assert a["lift"] == 0.0 and a["p_value"] == 1.0 and a["revenue_p_value"] == 1.0
    assert (a["lift_low"], a["lift_high"]) == (0.0, 0.0)  # the control against itself
    assert b["p_value"] < 0.01 and b["revenue_per_member"] == 2.5


def test_fisher_p_value_on_a_table_counted_by_hand() -> None:
    # 3 of 3 converted against 0 of 3: of the C(6,3) = 20 ways to place 3 conversions, the
    # two extremes (all in one arm) are as unlikely as this one, so p = 2 / 20
    report = compare_variants(_members({"A": (3, 0), "B": (3, 3)}))
    assert report.variants["p_value"].iloc[1] == pytest.approx(0.1)
    assert report.control == "A"
    same = compare_variants(_members({"A": (100, 10), "B": (100, 10)}))
    assert same.variants["p_value"].iloc[1] == 1.0
    assert same.to_dict()["variants"][1]["lift"] == 0.0


def test_comparison_input_is_checked() -> None:
    members = _members({"A": (10, 1)})
    with pytest.raises(InvalidInputError, match="control"):
        compare_variants(members, control="Z")
    with pytest.raises(InvalidInputError, match="confidence"):
        compare_variants(members, confidence=1.5)
    with pytest.raises(InvalidInputError, match="revenue"):
        compare_variants(members.drop(columns="revenue"))
    with pytest.raises(InvalidInputError, match="nothing to compare"):
        compare_variants(members.iloc[:0])
    empty_arm = compare_variants(members, variants=["A", "B"]).variants.set_index("variant")
    assert empty_arm.loc["B", "members"] == 0 and math.isnan(empty_arm.loc["B", "lift"])
