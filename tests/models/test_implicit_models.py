"""ALS, BPR and item-kNN behave like the models they wrap."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.models import ALSModel, BPRModel, ItemKNNModel


@pytest.fixture(scope="module")
def als(shop: Any) -> ALSModel:
    return ALSModel(factors=16, iterations=10, num_threads=1).fit(shop.matrices)


def test_als_ranks_held_out_positives_above_random(als: ALSModel, shop: Any, metrics: Any) -> None:
    m = shop.matrices
    scores = als.score(np.arange(m.n_users), m.confidence)
    assert metrics.auc_of(scores, shop.held_out, m.confidence) > 0.7


def test_als_fold_in_of_own_row_is_close_to_trained_factors(
    als: ALSModel, shop: Any, metrics: Any
) -> None:
    m = shop.matrices
    folded = als.fold_in(m.confidence)
    trained = als.user_factors_
    cos = (folded * trained).sum(1) / (
        np.linalg.norm(folded, axis=1) * np.linalg.norm(trained, axis=1) + 1e-12
    )
    assert np.median(cos) > 0.98
    assert cos.min() > 0.9
    # and it ranks as well as the trained vectors
    unknown = np.full(m.n_users, -1)
    auc = metrics.auc_of(als.score(unknown, m.confidence), shop.held_out, m.confidence)
    assert auc > 0.7


def test_als_burst_on_a_category_moves_it_up(als: ALSModel, shop: Any) -> None:
    m = shop.matrices
    n_items = m.n_items
    # members and, for each, their least liked category
    users = np.arange(50)
    target = shop.taste[users].argmin(axis=1)
    in_target = shop.item_category[np.newaxis, :] == target[:, np.newaxis]
    # a burst: long views of 4 SKUs of that category
    burst = np.zeros((users.size, n_items), np.float32)
    pick = np.argsort(~in_target, axis=1, kind="stable")[:, :4]
    np.put_along_axis(burst, pick, 3.0, axis=1)
    new_hist = m.confidence[users] + sp.csr_matrix(burst)
    before = als.score(np.full(users.size, -1), m.confidence[users])
    after = als.score(np.full(users.size, -1), new_hist)
    seen = new_hist.toarray() > 0  # the shelf shows SKUs not seen yet

    def share_in_top(scores: np.ndarray, k: int = 10) -> float:
        top = np.argsort(-np.where(seen, -np.inf, scores), axis=1)[:, :k]
        return float(np.take_along_axis(in_target, top, axis=1).mean())

    assert share_in_top(before) < 1.0 / (shop.item_category.max() + 1)
    assert share_in_top(after) > share_in_top(before) + 0.2


def test_als_fold_in_works_after_load(als: ALSModel, shop: Any) -> None:
    loaded = ALSModel.from_state(als.get_params(), als.get_state())
    hist = shop.matrices.confidence[:10]
    np.testing.assert_array_equal(loaded.fold_in(hist), als.fold_in(hist))


def test_als_empty_history_folds_to_zero(als: ALSModel, shop: Any) -> None:
    vec = als.fold_in(sp.csr_matrix((2, shop.matrices.n_items)))
    assert not vec.any()


@pytest.fixture(scope="module")
def bpr(shop: Any) -> BPRModel:
    return BPRModel(factors=16, iterations=60, num_threads=1).fit(shop.matrices)


def test_bpr_keeps_implicit_bias_column(bpr: BPRModel, shop: Any) -> None:
    assert bpr.item_factors_.shape == (shop.matrices.n_items, 17)
    np.testing.assert_array_equal(bpr.user_factors_[:, -1], 1.0)


def test_bpr_fold_in_is_the_weighted_least_squares_projection(bpr: BPRModel, shop: Any) -> None:
    hist = shop.matrices.confidence[:6]
    got = bpr.fold_in(hist)
    v = bpr.item_factors_.astype(np.float64)
    lam, alpha = bpr.fold_in_regularization, bpr.alpha
    for row, vec in zip(hist.toarray(), got, strict=True):
        c = np.where(row > 0, alpha * row, 1.0)  # implicit's weights: alpha*r on SKUs, 1 elsewhere
        p = (row > 0).astype(np.float64)
        a = v.T @ (c[:, None] * v) + lam * np.eye(v.shape[1])
        expected = np.linalg.solve(a, v.T @ (c * p))
        np.testing.assert_allclose(vec, expected, rtol=1e-3, atol=1e-4)


def test_bpr_ranks_held_out_positives(bpr: BPRModel, shop: Any, metrics: Any) -> None:
    m = shop.matrices
    trained = metrics.auc_of(
        bpr.score(np.arange(m.n_users), m.confidence), shop.held_out, m.confidence
    )
    folded = metrics.auc_of(
        bpr.score(np.full(m.n_users, -1), m.confidence), shop.held_out, m.confidence
    )
    assert trained > 0.7
    assert folded > 0.65


def test_bpr_empty_history_ranks_by_item_bias(bpr: BPRModel, shop: Any) -> None:
    scores = bpr.score([-1], sp.csr_matrix((1, shop.matrices.n_items)))
    np.testing.assert_allclose(scores[0], bpr.item_factors_[:, -1], rtol=1e-6)


@pytest.mark.parametrize("similarity", ["cosine", "bm25"])
def test_itemknn_scores_are_history_times_similarity(
    similarity: str, shop: Any, metrics: Any
) -> None:
    m = shop.matrices
    knn = ItemKNNModel(K=15, similarity=similarity, num_threads=1).fit(m)
    sim = knn.similarity_
    assert sim.shape == (m.n_items, m.n_items)
    assert np.diff(sim.indptr).max() <= 15
    hist = m.confidence[:8]
    np.testing.assert_allclose(knn.score(np.arange(8), hist), (hist @ sim).toarray(), rtol=1e-6)
    assert (
        metrics.auc_of(knn.score(np.arange(m.n_users), m.confidence), shop.held_out, m.confidence)
        > 0.7
    )
