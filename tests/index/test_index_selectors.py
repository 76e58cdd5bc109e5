"""Selector choice and filter folding in `recsys.index.selectors`."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.exceptions import InvalidInputError
from recsys.index.selectors import bitmap_of, make_selector, resolve_filter


def test_allow_list_minus_exclusions_is_one_sorted_array():
    f = resolve_filter(100, allowed=np.array([2, 4, 6, 8]), excluded=np.array([8, 4, 4, 99]))
    assert f.allowed.tolist() == [2, 6] and f.excluded is None and f.count == 2
    assert f.allowed.dtype == np.int64


def test_exclusions_only_are_deduplicated_and_counted():
    f = resolve_filter(10, excluded=[3, 3, 1])
    assert f.allowed is None and f.excluded.tolist() == [1, 3] and f.count == 8
    assert not f.is_trivial
    assert resolve_filter(10).is_trivial and resolve_filter(10, excluded=[]).is_trivial


def test_unsorted_allowed_is_sorted_and_deduplicated():
    assert resolve_filter(10, allowed=[5, 1, 5, 3]).allowed.tolist() == [1, 3, 5]


def test_sorted_allowed_is_not_copied():
    ids = np.arange(0, 100, 3, dtype=np.int64)
    assert resolve_filter(100, allowed=ids).allowed is ids


@pytest.mark.parametrize(
    ("membership_tests", "allowed", "excluded", "kind"),
    [
        (False, [1, 2], None, "array"),
        (True, [1, 2], None, "bitmap"),
        (False, None, [1], "not_batch"),
        (True, None, [1], "not_batch"),
        (False, None, None, "none"),
        (False, [1, 2], [1], "array"),
    ],
)
def test_selector_kind(membership_tests, allowed, excluded, kind):
    sel = make_selector(resolve_filter(64, allowed, excluded), membership_tests=membership_tests)
    assert sel.kind == kind
    assert (sel.sel is None) == (kind == "none")


@pytest.mark.parametrize("membership_tests", [False, True])
def test_selectors_select_exactly_the_filtered_ids(membership_tests):
    rng = np.random.default_rng(0)
    allowed = np.sort(rng.choice(1000, 100, replace=False))
    excluded = rng.choice(1000, 50, replace=False)
    for a, e in ((allowed, None), (None, excluded), (allowed, excluded)):
        f = resolve_filter(1000, a, e)
        sel = make_selector(f, membership_tests=membership_tests)
        members = np.array([sel.sel.is_member(i) for i in range(1000)])
        expected = np.ones(1000, dtype=bool)
        if a is not None:
            expected[:] = False
            expected[a] = True
        if e is not None:
            expected[e] = False
        np.testing.assert_array_equal(members, expected)


def test_bitmap_is_little_endian():
    bits = bitmap_of(np.array([0, 9, 15]), 16)
    assert bits.tolist() == [0b00000001, 0b10000010]


def test_out_of_range_raises():
    with pytest.raises(InvalidInputError, match="outside"):
        resolve_filter(5, allowed=[5])
