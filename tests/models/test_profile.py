"""The profile model: tags (and SKU attributes) into the ALS space."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.data.matrices import TrainingMatrices
from recsys.exceptions import InvalidInputError
from recsys.models import PopularityModel, ProfileModel

PARAMS = {"factors": 16, "iterations": 10, "num_threads": 1}


@pytest.fixture(scope="module")
def split(shop: Any) -> tuple[np.ndarray, np.ndarray]:
    perm = np.random.default_rng(1).permutation(shop.matrices.n_users)
    return perm[:300], perm[300:]


def test_different_profiles_get_different_vectors_and_shelves(shop: Any) -> None:
    m = shop.matrices
    model = ProfileModel(**PARAMS).fit(m)
    empty = sp.csr_matrix((m.n_users, m.n_items))
    vecs = model.fold_in(empty, m.user_features)
    np.testing.assert_allclose(vecs, model.user_factors_, rtol=1e-5, atol=1e-6)
    distinct_vecs = np.unique(vecs.round(5), axis=0)
    distinct_tags = np.unique(m.user_features.toarray(), axis=0)
    assert len(distinct_vecs) == len(distinct_tags)
    tops = np.argsort(-model.score(np.full(m.n_users, -1), empty, m.user_features), axis=1)
    assert len({tuple(t) for t in tops[:, :5]}) > 10
    # history is ignored: the profile model answers from tags alone
    np.testing.assert_array_equal(model.fold_in(m.confidence, m.user_features), vecs)


def test_profile_beats_global_popularity_on_cold_members(
    shop: Any, split: tuple[np.ndarray, np.ndarray], metrics: Any
) -> None:
    m = shop.matrices
    train_rows, cold_rows = split
    train = metrics.subset_users(m, train_rows)
    profile = ProfileModel(**PARAMS).fit(train)
    popular = PopularityModel(by="global").fit(train)

    truth = m.confidence[cold_rows].toarray() > 0
    truth[np.arange(cold_rows.size), shop.held_out[cold_rows]] = True
    unknown = np.full(cold_rows.size, -1)
    no_history = sp.csr_matrix((cold_rows.size, m.n_items))
    tags = m.user_features[cold_rows]
    auc_profile = metrics.row_auc(profile.score(unknown, no_history, tags), truth)
    auc_popular = metrics.row_auc(popular.score(unknown, no_history, tags), truth)
    assert auc_profile > auc_popular + 0.03
    assert auc_profile > 0.8


def _without_item_sales(m: TrainingMatrices, cold: np.ndarray) -> TrainingMatrices:
    conf = m.confidence.tolil()
    conf[:, cold] = 0
    conf = sp.csr_matrix(conf)
    conf.eliminate_zeros()
    return TrainingMatrices(
        confidence=conf,
        purchased=(conf > 0).astype(np.float32),
        user_features=m.user_features,
        item_features=m.item_features,
        store_items=m.store_items,
        user_stores=m.user_stores,
    )


def test_new_sku_reaches_the_members_who_like_its_category(shop: Any) -> None:
    m = shop.matrices
    cat = shop.item_category
    c = int(np.percentile(shop.taste, 90, axis=0).argmax())  # a category some members love
    cold = np.flatnonzero(cat == c)[:3]  # three SKUs of it nobody bought yet
    train = _without_item_sales(m, cold)
    model = ProfileModel(**PARAMS).fit(train)

    warm_same = np.setdiff1d(np.flatnonzero(cat == c), cold)
    assert np.abs(model.item_factors_[cold]).sum() > 0
    assert np.abs(model.als_.item_factors_[cold]).max() < 1e-3  # ALS alone knows nothing
    mean_same = model.item_factors_[warm_same].mean(axis=0)
    for v in model.item_factors_[cold]:
        assert np.dot(v, mean_same) / (np.linalg.norm(v) * np.linalg.norm(mean_same)) > 0.9

    # members who love the category get the new SKUs higher than members who avoid it
    order = np.argsort(shop.taste[:, c])
    fans, others = order[-40:], order[:40]
    scores = model.score(np.arange(m.n_users), m.confidence)
    pct = scores.argsort(axis=1).argsort(axis=1) / (m.n_items - 1)
    assert pct[np.ix_(fans, cold)].mean() > pct[np.ix_(others, cold)].mean() + 0.3

    # embed_items does the same for SKUs added after fit
    np.testing.assert_allclose(
        model.embed_items(m.item_features[cold]), model.item_factors_[cold], rtol=1e-5
    )
    with pytest.raises(InvalidInputError, match="columns"):
        model.embed_items(sp.csr_matrix((1, m.item_features.shape[1] + 1)))


def test_without_item_features_cold_skus_keep_als_factors(shop: Any) -> None:
    m = shop.matrices
    bare = TrainingMatrices.from_confidence(
        _without_item_sales(m, np.array([0, 1])).confidence, user_features=m.user_features
    )
    model = ProfileModel(**PARAMS).fit(bare)
    np.testing.assert_array_equal(model.item_factors_, model.als_.item_factors_)
    assert model.embed_items(sp.csr_matrix((2, 0))).shape == (2, PARAMS["factors"])


def test_without_tags_everyone_gets_the_mean_vector(shop: Any) -> None:
    model = ProfileModel(**PARAMS).fit(TrainingMatrices.from_confidence(shop.matrices.confidence))
    assert model.user_weights_.shape == (0, PARAMS["factors"])
    np.testing.assert_allclose(model.user_factors_, model.user_factors_[:1].repeat(400, 0))
    assert np.abs(model.user_factors_).sum() > 0
