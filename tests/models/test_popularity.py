"""Popularity: global, per store, per segment, auto."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.data.matrices import TrainingMatrices
from recsys.exceptions import InvalidInputError
from recsys.models import PopularityModel


def _chain() -> TrainingMatrices:
    """4 members, 4 SKUs, 2 stores; store 1 sells what the chain sells least."""
    conf = sp.csr_matrix(
        np.array([[3, 1, 0, 0], [2, 1, 0, 0], [1, 0, 0, 1], [0, 0, 1, 0]], np.float32)
    )
    user_features = sp.csr_matrix(np.array([[1, 0], [1, 0], [0, 1], [0, 1]], np.float32))
    user_stores = sp.csr_matrix(np.array([[1, 0], [1, 0], [0, 1], [0, 1]], np.float32))
    store_items = sp.csr_matrix(user_stores.T @ conf)
    return TrainingMatrices(
        confidence=conf,
        purchased=(conf > 0).astype(np.float32),
        user_features=user_features,
        item_features=sp.csr_matrix((4, 0), dtype=np.float32),
        store_items=store_items,
        user_stores=user_stores,
    )


def _top(scores: np.ndarray) -> list[int]:
    return np.argsort(-scores, axis=1, kind="stable")[:, 0].tolist()


def test_global_counts_members_or_events() -> None:
    m = _chain()
    model = PopularityModel(by="global").fit(m)
    scores = model.score([0, -1], m.confidence[:2])
    # SKU 0: 3 members (6 events), SKU 1: 2 members, SKUs 2 and 3: 1 member each
    np.testing.assert_allclose(scores[0], np.array([3, 2, 1, 1]) / 3, rtol=1e-6)
    np.testing.assert_array_equal(scores[0], scores[1])
    events = PopularityModel(by="global", count="events").fit(m)
    np.testing.assert_allclose(events.global_, np.array([6, 2, 1, 1]) / 6, rtol=1e-6)
    with pytest.raises(InvalidInputError, match="count must be one of"):
        PopularityModel(count="baskets").fit(m)


def test_store_uses_the_store_row_and_falls_back_to_global() -> None:
    m = _chain()
    model = PopularityModel(by="store").fit(m)
    empty = sp.csr_matrix((1, 4))
    s1 = model.score([-1], empty, store=1)[0]
    expected = m.store_items[1].toarray()[0]
    assert np.argsort(-s1)[:3].tolist() == [0, 2, 3] or s1[2] == s1[3]
    np.testing.assert_allclose(s1 - 0.05 * model.global_, expected / expected.max(), atol=1e-6)
    assert s1[1] < s1[2]  # the chain's no. 2 isn't sold in store 1
    np.testing.assert_array_equal(model.score([-1], empty, store=-1)[0], model.global_)
    with pytest.raises(InvalidInputError, match="store"):
        model.score([-1], empty, store=2)


def test_segment_shares_popularity_among_tag_mates() -> None:
    m = _chain()
    model = PopularityModel(by="segment").fit(m)
    feats = sp.csr_matrix(np.array([[1, 0], [0, 1], [0, 0]], np.float32))
    scores = model.score([-1, -1, -1], sp.csr_matrix((3, 4)), feats)
    assert scores[0, 1] > scores[1, 1]  # SKU 1: bought only by tag 0 members
    assert scores[1, 3] > scores[0, 3]  # SKU 3: tag 1 only
    np.testing.assert_array_equal(scores[2], model.global_)  # no tags: global


def test_auto_blends_segment_store_and_global() -> None:
    m = _chain()
    model = PopularityModel().fit(m)
    assert model.by == "auto"
    hist = sp.csr_matrix((2, 4))
    feats = sp.csr_matrix(np.array([[0, 1], [0, 0]], np.float32))
    s = model.score([-1, -1], hist, feats, store=1)
    plain = model.score([-1, -1], hist, None, store=-1)
    # nothing known: global order; segment and store move SKUs 2 and 3 up
    assert _top(plain) == [0, 0]
    assert s[0, 2] > plain[0, 2] and s[0, 3] > plain[0, 3]
    assert not np.array_equal(s[0], s[1])


def test_segment_popularity_differs_by_tags(shop: Any) -> None:
    m = shop.matrices
    model = PopularityModel(by="segment").fit(m)
    scores = model.score(np.arange(m.n_users), m.confidence, m.user_features)
    tops = {tuple(row) for row in np.argsort(-scores, axis=1)[:, :5]}
    assert len(tops) > 10
