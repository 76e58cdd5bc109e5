"""Metrics against hand-computed values and independent implementations."""

from __future__ import annotations

import doctest
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import ndcg_score

import recsys.evaluation.metrics as metrics
from recsys.evaluation import (
    RANKING_METRICS,
    average_precision_at_k,
    catalog_coverage,
    hit_rate_at_k,
    intra_list_diversity,
    map_at_k,
    mean_hit_rate_at_k,
    mean_ndcg_at_k,
    mean_precision_at_k,
    mean_recall_at_k,
    mrr_at_k,
    ndcg_at_k,
    novelty,
    personalization,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
    reciprocal_rank_at_k,
)
from recsys.exceptions import InvalidInputError, UnknownIdError

SINGLE = {
    "precision": precision_at_k,
    "recall": recall_at_k,
    "ndcg": ndcg_at_k,
    "map": average_precision_at_k,
    "hit_rate": hit_rate_at_k,
    "mrr": reciprocal_rank_at_k,
}
MEAN = {
    "precision": mean_precision_at_k,
    "recall": mean_recall_at_k,
    "ndcg": mean_ndcg_at_k,
    "map": map_at_k,
    "hit_rate": mean_hit_rate_at_k,
    "mrr": mrr_at_k,
}
D = [1 / math.log2(i + 1) for i in range(1, 12)]  # discount at rank i (1-based) = D[i - 1]


def test_docstring_examples() -> None:
    result = doctest.testmod(metrics)
    assert result.failed == 0 and result.attempted > 0


# ---------------------------------------------------------------------- hand-computed
# recommended a b c d e, relevant {b, d, x}: hits at ranks 2 and 4
REC = ["a", "b", "c", "d", "e"]
REL = {"b", "d", "x"}


@pytest.mark.parametrize(
    ("name", "k", "expected"),
    [
        ("precision", 1, 0.0),
        ("precision", 4, 2 / 4),
        ("precision", 5, 2 / 5),
        ("precision", 10, 2 / 10),  # denominator stays k for short lists
        ("recall", 1, 0.0),
        ("recall", 2, 1 / 3),
        ("recall", 5, 2 / 3),
        ("ndcg", 1, 0.0),
        ("ndcg", 2, D[1] / (D[0] + D[1])),
        ("ndcg", 4, (D[1] + D[3]) / (D[0] + D[1] + D[2])),
        ("ndcg", 10, (D[1] + D[3]) / (D[0] + D[1] + D[2])),
        ("map", 2, (1 / 2) / 2),  # min(|R|, k) = 2
        ("map", 4, (1 / 2 + 2 / 4) / 3),
        ("map", 10, (1 / 2 + 2 / 4) / 3),
        ("hit_rate", 1, 0.0),
        ("hit_rate", 2, 1.0),
        ("mrr", 1, 0.0),
        ("mrr", 5, 1 / 2),
    ],
)
def test_single_member_metrics_by_hand(name: str, k: int, expected: float) -> None:
    assert SINGLE[name](REC, REL, k) == pytest.approx(expected)


def test_perfect_and_empty_lists() -> None:
    for name, fn in SINGLE.items():
        assert fn(["b", "d", "x"], REL, 3) == pytest.approx(1.0), name
        assert fn([], REL, 3) == 0.0, name
        assert fn(REC, set(), 3) == 0.0, name  # nothing relevant: 0 (means skip such members)


def test_repeated_ids_count_once() -> None:
    assert precision_at_k(["b", "b", "b"], {"b"}, 3) == pytest.approx(1 / 3)
    assert recall_at_k(["b", "b"], {"b", "c"}, 2) == pytest.approx(1 / 2)
    assert ndcg_at_k(["b", "b"], {"b", "c"}, 2) == pytest.approx(D[0] / (D[0] + D[1]))
    assert average_precision_at_k(["b", "b"], {"b", "c"}, 2) == pytest.approx(1 / 2)


def test_accepts_arrays_and_numpy_ids() -> None:
    rec = np.array([4, 7, 1, 9], dtype=np.int64)
    rel = np.array([9, 1])
    assert precision_at_k(rec, rel, 4) == 0.5
    assert reciprocal_rank_at_k(rec, [np.int32(1)], 4) == pytest.approx(1 / 3)
    assert ndcg_at_k(rec, {1, 9}, 4) == pytest.approx((D[2] + D[3]) / (D[0] + D[1]))


@pytest.mark.parametrize("fn", [*SINGLE.values()])
@pytest.mark.parametrize("k", [0, -1, 2.0, True, None, "3"])
def test_bad_k_raises(fn, k) -> None:
    with pytest.raises(InvalidInputError, match="k must be"):
        fn(REC, REL, k)


@pytest.mark.parametrize("fn", [*MEAN.values(), ranking_metrics])
def test_bad_k_raises_aggregate(fn) -> None:
    with pytest.raises(InvalidInputError, match="k must be"):
        fn({"u": REC}, {"u": REL}, 0)


def test_relevant_must_be_a_collection() -> None:
    with pytest.raises(InvalidInputError, match="relevant"):
        precision_at_k(REC, "bd", 3)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- independent checks
def _brute_ap(rec: list, rel: set, k: int) -> float:
    hits, total, seen = 0, 0.0, set()
    for i, item in enumerate(rec[:k], start=1):
        if item in rel and item not in seen:
            hits += 1
            total += hits / i
        seen.add(item)
    return total / min(len(rel), k) if rel else 0.0


@st.composite
def ranking_case(draw):
    n_items = draw(st.integers(2, 30))
    order = draw(st.permutations(range(n_items)))
    relevant = draw(st.sets(st.integers(0, n_items - 1), min_size=1))
    k = draw(st.integers(1, n_items + 3))
    return list(order), relevant, k


@given(case=ranking_case())
@settings(max_examples=200, deadline=None)
def test_ndcg_matches_sklearn(case) -> None:
    order, relevant, k = case
    n_items = len(order)
    y_true = np.zeros((1, n_items))
    y_true[0, list(relevant)] = 1.0
    y_score = np.zeros((1, n_items))
    y_score[0, order] = np.arange(n_items, 0, -1)  # distinct scores: no ties
    expected = ndcg_score(y_true, y_score, k=k)
    assert ndcg_at_k(order, relevant, k) == pytest.approx(expected)


@given(case=ranking_case())
@settings(max_examples=200, deadline=None)
def test_metrics_match_brute_force(case) -> None:
    order, relevant, k = case
    top = order[:k]
    hits = [item in relevant for item in top]
    assert precision_at_k(order, relevant, k) == pytest.approx(sum(hits) / k)
    assert recall_at_k(order, relevant, k) == pytest.approx(sum(hits) / len(relevant))
    assert average_precision_at_k(order, relevant, k) == pytest.approx(
        _brute_ap(order, relevant, k)
    )
    assert hit_rate_at_k(order, relevant, k) == float(any(hits))
    first = next((i for i, hit in enumerate(hits, start=1) if hit), None)
    assert reciprocal_rank_at_k(order, relevant, k) == pytest.approx(1 / first if first else 0.0)


# ---------------------------------------------------------------------- aggregates
def test_aggregates_are_means_over_members_with_relevant_items() -> None:
    recs = {"u1": REC, "u2": ["x", "y", "z"], "u3": ["a"], "u5": ["q"]}
    truth = {"u1": REL, "u2": {"z"}, "u3": set(), "u4": {"a"}}  # u3 skipped, u4 gets nothing
    members = ["u1", "u2", "u4"]
    report = ranking_metrics(recs, truth, k=3)
    assert tuple(report) == RANKING_METRICS
    for name, fn in SINGLE.items():
        expected = np.mean([fn(recs.get(m, []), truth[m], 3) for m in members])
        assert report[name] == pytest.approx(expected), name
        assert MEAN[name](recs, truth, 3) == pytest.approx(expected), name
    assert report["hit_rate"] == pytest.approx(2 / 3)
    assert report["mrr"] == pytest.approx((1 / 2 + 1 / 3 + 0) / 3)


def test_aggregate_errors() -> None:
    with pytest.raises(InvalidInputError, match="no member"):
        ranking_metrics({"u": ["a"]}, {"u": set()}, 3)
    with pytest.raises(InvalidInputError, match="recommendations"):
        ranking_metrics([["a"]], {"u": {"a"}}, 3)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="relevant"):
        ranking_metrics({"u": ["a"]}, [{"a"}], 3)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- coverage
def test_catalog_coverage() -> None:
    assert catalog_coverage({"u1": ["a", "b"], "u2": ["b", "c"], "u3": []}, 4) == 0.75
    assert catalog_coverage(np.array([[0, 1], [1, 2]]), n_items=6) == 0.5
    assert catalog_coverage([], 5) == 0.0
    for bad in (0, -3, 2.0, True):
        with pytest.raises(InvalidInputError, match="n_items"):
            catalog_coverage([["a"]], bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="distinct items"):
        catalog_coverage([["a", "b", "c"]], 2)
    with pytest.raises(InvalidInputError):
        catalog_coverage("abc", 3)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        catalog_coverage([{"a"}], 3)  # type: ignore[list-item]


# ---------------------------------------------------------------------- novelty
def test_novelty_by_hand() -> None:
    pop = {"a": 1, "b": 4, "c": 8}
    # u1: (log2 8 + log2 2) / 2 = 2;  u2: log2 1 = 0;  empty list skipped
    assert novelty({"u1": ["a", "b"], "u2": ["c"], "u3": []}, pop, 8) == pytest.approx(1.0)
    # array popularity indexed by internal id; 0 clipped to 1, 20 clipped to n_users
    array = np.array([0, 20, 2])
    expected = np.mean([math.log2(8 / 1), math.log2(8 / 8), math.log2(8 / 2)])
    assert novelty([[0, 1, 2]], array, 8) == pytest.approx(expected)
    assert novelty([["zzz"]], pop, 8) == pytest.approx(3.0)  # unseen item: count 1


def test_novelty_errors() -> None:
    with pytest.raises(InvalidInputError, match="n_users"):
        novelty([["a"]], {"a": 1}, 0)
    with pytest.raises(InvalidInputError, match="non-empty"):
        novelty([[], []], {"a": 1}, 5)
    with pytest.raises(UnknownIdError, match="unknown item '7'"):
        novelty([[0, 7]], np.array([1, 2, 3]), 5)
    with pytest.raises(UnknownIdError):
        novelty([["a"]], np.array([1, 2, 3]), 5)
    with pytest.raises(InvalidInputError, match=">= 0"):
        novelty([["a"]], {"a": -1}, 5)


# ---------------------------------------------------------------------- personalization
def _brute_personalization(lists: list[list]) -> float:
    sets = [set(x) for x in lists if x]
    pairs = list(itertools.combinations(sets, 2))
    return 1 - sum(len(a & b) / len(a | b) for a, b in pairs) / len(pairs)


def test_personalization_by_hand() -> None:
    same = {"u1": ["a", "b"], "u2": ["b", "a"], "u3": ["a", "b"]}
    assert personalization(same) == pytest.approx(0.0)
    assert personalization([["a"], ["b"], ["c", "d"]]) == pytest.approx(1.0)
    # pairs: (ab, bc) 1/3, (ab, cd) 0, (bc, cd) 1/3 -> 1 - (2/3)/3
    assert personalization([["a", "b"], ["b", "c"], ["c", "d"]]) == pytest.approx(7 / 9)
    assert personalization([["a", "a", "b"], ["b"], []]) == pytest.approx(1 - 1 / 2)


@given(
    lists=st.lists(st.lists(st.integers(0, 15), max_size=6), min_size=2, max_size=25).filter(
        lambda ls: sum(1 for x in ls if x) >= 2
    )
)
@settings(max_examples=150, deadline=None)
def test_personalization_matches_double_loop(lists: list[list[int]]) -> None:
    assert personalization(lists) == pytest.approx(_brute_personalization(lists))


def test_personalization_blocks_and_sampling(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    lists = [list(rng.choice(200, size=10, replace=False)) for _ in range(300)]
    full = personalization(lists)
    assert full == pytest.approx(_brute_personalization(lists))
    monkeypatch.setattr(metrics, "_PERSONALIZATION_BLOCK_NNZ", 1000)  # ~3 rows per block
    assert personalization(lists) == pytest.approx(full)
    sampled = personalization(lists, sample=100, seed=1)
    assert sampled == personalization(lists, sample=100, seed=1)
    assert sampled != personalization(lists, sample=100, seed=2)
    assert abs(sampled - full) < 0.02
    assert personalization(lists, sample=1000) == pytest.approx(full)


def test_personalization_errors() -> None:
    with pytest.raises(InvalidInputError, match="two non-empty"):
        personalization([["a"], []])
    with pytest.raises(InvalidInputError, match="sample"):
        personalization([["a"], ["b"]], sample=1)


# ---------------------------------------------------------------------- diversity
def _brute_ild(lists: list[list], cat: dict) -> float:
    scores = []
    for ranked in lists:
        distinct = list(dict.fromkeys(ranked))
        pairs = list(itertools.combinations(distinct, 2))
        if pairs:
            scores.append(sum(cat[a] != cat[b] for a, b in pairs) / len(pairs))
    return sum(scores) / len(scores)


def test_intra_list_diversity_by_hand() -> None:
    cat = {"a": "shirts", "b": "shirts", "c": "jeans", "d": "shoes", "e": "shirts"}
    assert intra_list_diversity([["a", "b", "e"]], cat) == 0.0
    assert intra_list_diversity([["a", "c", "d"]], cat) == 1.0
    # a b c d: 6 pairs, only (a, b) shares a category -> 5/6; single-item list skipped
    assert intra_list_diversity({"u1": ["a", "b", "c", "d"], "u2": ["a"]}, cat) == pytest.approx(
        5 / 6
    )
    assert intra_list_diversity([["a", "a", "c"]], cat) == 1.0  # repeats dropped


def test_intra_list_diversity_matches_pair_loop() -> None:
    rng = np.random.default_rng(3)
    cat = {i: int(rng.integers(0, 4)) for i in range(30)}
    lists = [list(rng.integers(0, 30, size=rng.integers(1, 10))) for _ in range(50)]
    expected = _brute_ild([[int(i) for i in x] for x in lists], cat)
    assert intra_list_diversity(lists, cat) == pytest.approx(expected)
    codes = np.array([cat[i] for i in range(30)], dtype=np.int32)  # Catalog.category_codes
    assert intra_list_diversity(lists, codes) == pytest.approx(expected)
    assert intra_list_diversity(lists, cat.__getitem__) == pytest.approx(expected)


def test_intra_list_diversity_errors() -> None:
    with pytest.raises(UnknownIdError, match="'z'"):
        intra_list_diversity([["a", "z"]], {"a": "x"})
    with pytest.raises(UnknownIdError):
        intra_list_diversity([[0, 5]], np.array(["x", "y"]))
    with pytest.raises(InvalidInputError, match="two distinct"):
        intra_list_diversity([["a"], ["a", "a"]], {"a": "x"})
    with pytest.raises(InvalidInputError, match="category_of"):
        intra_list_diversity([["a", "b"]], 3)  # type: ignore[arg-type]
