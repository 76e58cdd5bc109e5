"""The rules applied to many rows at once choose exactly what the row-by-row pass chooses."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from recsys.data import Catalog, IdMap
from recsys.recommender.rules import Rules, apply_rules, apply_rules_rows


def _catalog(categories: list[int], groups: list[int]) -> Catalog:
    df = pd.DataFrame(
        {
            "item_id": [f"i{j}" for j in range(len(categories))],
            "category": [None if c < 0 else f"c{c}" for c in categories],
            "group_id": [None if g < 0 else f"g{g}" for g in groups],
        }
    )
    return Catalog.from_frame(df, IdMap.from_values(df["item_id"]))


def _random_case(rng: np.random.Generator):
    n_items = int(rng.integers(5, 60))
    n_categories, n_groups = int(rng.integers(1, 5)), int(rng.integers(1, 20))
    category_of_group = rng.integers(-1, n_categories, n_groups)
    groups = rng.integers(-1, n_groups, n_items)
    own = rng.integers(-1, n_categories, n_items)
    categories = np.where(groups >= 0, category_of_group[np.maximum(groups, 0)], own)
    catalog = _catalog(categories.tolist(), groups.tolist())
    some = lambda m: rng.choice(n_items, m).tolist()  # noqa: E731
    rules = Rules(
        max_per_category=int(rng.integers(1, 4)) if rng.random() < 0.8 else None,
        dedupe_groups=bool(rng.random() < 0.7),
        boost_items=tuple((i, float(rng.uniform(0.5, 3))) for i in some(2))
        if rng.random() < 0.4
        else (),
        boost_categories=((0, 2.0),) if rng.random() < 0.3 else (),
        bury=tuple(some(3)) if rng.random() < 0.3 else (),
    )
    n, width = int(rng.integers(1, 8)), int(rng.integers(1, 30))
    ids = rng.integers(-1, n_items, (n, width))  # repeats and padding (-1) included
    scores = rng.normal(size=(n, width)).astype(np.float32)
    scores[rng.random((n, width)) < 0.2] = 0.5  # ties keep the candidates' order
    scores[rng.random((n, width)) < 0.1] *= -1
    scores[ids < 0] = -np.inf
    return catalog, rules, ids, scores, int(rng.integers(1, 12))


def test_all_rows_at_once_pick_what_row_by_row_picks():
    rng = np.random.default_rng(0)
    compared = 0
    for _ in range(300):
        catalog, rules, ids, scores, k = _random_case(rng)
        got = apply_rules_rows(ids, scores, k, rules, catalog)
        assert got is not None
        for row in range(len(ids)):
            want = apply_rules(ids[row], scores[row], k, rules, catalog, set())
            np.testing.assert_array_equal(got[0][row], want[0])
            np.testing.assert_array_equal(got[1][row], want[1])
            compared += 1
    assert compared > 1000


def test_without_pins_the_short_pass_picks_what_the_pinning_pass_picks():
    # a pin whose SKU may not be on the shelf (not in ``pinned``) is left out: the pass
    # that places pins then chooses as if there were none
    rng = np.random.default_rng(1)
    for _ in range(300):
        catalog, rules, ids, scores, k = _random_case(rng)
        pinning = replace(rules, pin=((0, 0),))
        for row in range(len(ids)):
            want = apply_rules(ids[row], scores[row], k, pinning, catalog, set())
            got = apply_rules(ids[row], scores[row], k, rules, catalog, set())
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])


def test_a_group_across_categories_is_left_to_the_row_by_row_pass():
    # i0 and i1 are jackets (c0), i2 is a bag (c1) of i1's style group; one jacket a shelf.
    # Row by row: i0 is taken, i1 is refused by the cap and leaves its group open, so i2 is
    # taken. Deduping the group first would have refused i2.
    catalog = _catalog([0, 0, 1], [-1, 0, 0])
    assert not catalog.groups_within_categories
    rules = Rules(max_per_category=1, dedupe_groups=True)
    ids, scores = np.array([[0, 1, 2]]), np.array([[3.0, 2.0, 1.0]], dtype=np.float32)
    assert apply_rules_rows(ids, scores, 3, rules, catalog) is None
    assert apply_rules(ids[0], scores[0], 3, rules, catalog, set())[0].tolist() == [0, 2, -1]
    # without deduping, the rows can be done at once
    no_groups = Rules(max_per_category=1)
    out = apply_rules_rows(ids, scores, 3, no_groups, catalog)
    assert out is not None and out[0].tolist() == [[0, 2, -1]]


def test_pins_are_left_to_the_row_by_row_pass():
    catalog = _catalog([0, 1], [-1, -1])
    ids, scores = np.array([[0, 1]]), np.array([[2.0, 1.0]], dtype=np.float32)
    assert apply_rules_rows(ids, scores, 2, Rules(pin=((1, 0),)), catalog) is None


@pytest.mark.parametrize("width", [0, 1])
def test_rows_without_candidates_are_all_padding(width):
    catalog = _catalog([0], [-1])
    ids = np.full((3, width), -1, dtype=np.int64)
    scores = np.full((3, width), -np.inf, dtype=np.float32)
    out = apply_rules_rows(ids, scores, 2, Rules(max_per_category=1), catalog)
    assert out is not None
    assert out[0].tolist() == [[-1, -1]] * 3 and np.isneginf(out[1]).all()
