"""The hybrid: collaborative and profile vectors blended by history length."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.data.matrices import TrainingMatrices
from recsys.models import HybridModel

PARAMS = {"factors": 16, "iterations": 10, "num_threads": 1}


@pytest.fixture(scope="module")
def hybrid(shop: Any) -> HybridModel:
    m = shop.matrices
    conf = m.confidence.tolil()
    conf[:20] = 0  # 20 members with tags but no history yet
    conf = sp.csr_matrix(conf)
    conf.eliminate_zeros()
    matrices = TrainingMatrices(
        confidence=conf,
        purchased=(conf > 0).astype(np.float32),
        user_features=m.user_features,
        item_features=m.item_features,
        store_items=m.store_items,
        user_stores=m.user_stores,
    )
    return HybridModel(**PARAMS).fit(matrices)


def test_weight_is_monotone_without_a_cliff(hybrid: HybridModel) -> None:
    n = np.arange(61)
    rows = sp.csr_matrix((np.arange(60)[np.newaxis, :] < n[:, np.newaxis]).astype(np.float32))
    w = hybrid.history_weight(rows)
    assert w[0] == 0.0
    assert np.all(np.diff(w) > 0)
    assert w[1] < 0.5 < w[50]
    assert np.diff(w).max() <= 1.0 / (1.0 + hybrid.shrink) + 1e-6
    np.testing.assert_allclose(w, n / (n + 5.0), rtol=1e-6)


def test_no_history_is_the_pure_profile(hybrid: HybridModel, shop: Any) -> None:
    m = shop.matrices
    feats = m.user_features[:30]
    empty = sp.csr_matrix((30, m.n_items))
    np.testing.assert_array_equal(
        hybrid.fold_in(empty, feats), hybrid.profile_.fold_in(empty, feats)
    )
    # training members without history, too
    np.testing.assert_allclose(hybrid.user_factors_[:20], hybrid.profile_.user_factors_[:20])


def test_fold_in_blends_als_and_profile(hybrid: HybridModel, shop: Any) -> None:
    m = shop.matrices
    hist, feats = m.confidence[20:40], m.user_features[20:40]
    n = np.diff(hist.indptr)
    w = (n / (n + 5.0))[:, np.newaxis]
    expected = w * hybrid.profile_.als_.fold_in(hist) + (1 - w) * hybrid.profile_.fold_in(
        hist, feats
    )
    np.testing.assert_allclose(hybrid.fold_in(hist, feats), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(hybrid.item_factors_, hybrid.profile_.item_factors_)


def test_hybrid_ranks_held_out_positives(hybrid: HybridModel, shop: Any, metrics: Any) -> None:
    m = shop.matrices
    users = np.arange(20, m.n_users)
    scores = hybrid.score(users, m.confidence[users], m.user_features[users])
    assert metrics.auc_of(scores, shop.held_out[users], m.confidence[users]) > 0.75
