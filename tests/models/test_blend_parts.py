"""The blend's priors, worked out by hand on a few events."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.data.matrices import ModelEvents, TrainingMatrices, matrices_of_events
from recsys.models.blend_parts import PART_NAMES, Parts, adoptions, recent_popularity

_DAY = 86_400


def _matrices(users, items, days, features=None) -> TrainingMatrices:
    n = len(users)
    events = ModelEvents(
        np.asarray(users, np.int32),
        np.asarray(items, np.int32),
        np.full(n, -1, np.int32),
        np.zeros(n, np.int8),  # purchases
        np.ones(n, np.float32),
        np.asarray(days, np.int64) * _DAY,
    )
    shape = (max(users) + 1, max(items) + 1)
    base = TrainingMatrices.from_confidence(sp.csr_matrix(shape, dtype=np.float32), features)
    return matrices_of_events(events, base)


def _parts(m: TrainingMatrices, half_life: float = 7.0) -> Parts:
    return Parts(
        knn_k=10,
        ease_lambda=1.0,
        half_life_days=half_life,
        adoption_half_life_days=half_life,
        als_regularization=1.0,
        factors=2,
        seed=0,
        max_ease_items=10,
        num_threads=1,
        needed=frozenset(),
    ).fit(m)


def test_take_up_counts_each_member_once_at_their_first_event():
    # member 0 takes SKU 0 up on day 0 and buys it again on day 10; member 1 takes SKU 0
    # up on day 14 (the latest event) and SKU 1 on day 7; half-life 7 days
    m = _matrices([0, 0, 1, 1], [0, 0, 0, 1], [0, 10, 14, 7])
    assert adoptions(m, 7.0) == pytest.approx([2**-2 + 1.0, 2**-1])
    # recent popularity weighs every event, repeats too
    assert recent_popularity(m, 7.0) == pytest.approx([2**-2 + 2 ** (-4 / 7) + 1.0, 2**-1])


def test_take_up_without_times_is_the_members_who_ever_took_each_sku_up():
    m = TrainingMatrices.from_confidence(sp.csr_matrix([[5.0, 0, 1], [1.0, 0, 0]]))
    assert adoptions(m, 7.0).tolist() == [2, 0, 1]


def test_priors_count_members_not_events():
    # member 0 buys SKU 0 five times; members 1 and 2 buy SKU 1 once each
    m = _matrices([0, 0, 0, 0, 0, 1, 2], [0, 0, 0, 0, 0, 1, 1], [0, 1, 2, 3, 4, 4, 4])
    parts = _parts(m)
    assert parts.popular.tolist() == [0.5, 1.0]
    # SKU 0: one member, 4 days before the latest event; SKU 1: two members on that day
    assert parts.adopted.tolist() == pytest.approx([2 ** (-4 / 7) / 2, 1.0])


def test_segment_popularity_counts_the_members_with_each_tag():
    # tag 0: member 0 buys SKU 0 four times, member 1 buys SKU 1 once; tag 1: member 2 buys SKU 1
    features = sp.csr_matrix([[1.0, 0], [1.0, 0], [0, 1.0]])
    m = _matrices([0, 0, 0, 0, 1, 2], [0, 0, 0, 0, 1, 1], [0, 1, 2, 3, 3, 3], features)
    parts = _parts(m)
    assert parts.segment.tolist() == [[0.5, 0.5], [0.0, 1.0]]
    scores = parts.scores("segment", np.array([-1]), sp.csr_matrix((1, 2)), features[:1], -1)
    assert scores.tolist() == [[0.5, 0.5]]


def test_every_part_scores_a_store_s_skus_as_its_full_scores_one_member_or_a_batch():
    from recsys.data import RetailDataset
    from recsys.datasets import synthetic_retail

    data = synthetic_retail(n_users=120, n_items=90, n_stores=2, items_per_store=(40, 60))
    m = RetailDataset.build(data.interactions, data.catalog, data.stores, data.profiles).matrices
    parts = Parts(
        knn_k=20,
        ease_lambda=50.0,
        half_life_days=21.0,
        adoption_half_life_days=21.0,
        als_regularization=10.0,
        factors=4,
        seed=0,
        max_ease_items=60,  # EASE covers some SKUs only: the others score 0
        num_threads=1,
    ).fit(m)
    items = np.flatnonzero(m.store_items[1].toarray()[0] > 0)
    for rows in (np.arange(40), np.array([7])):  # a batch (one product) and one shelf (gather)
        history = sp.csr_matrix(m.confidence[rows])
        features = sp.csr_matrix(m.user_features[rows])
        for part in PART_NAMES:
            full = parts.scores(part, rows, history, features, 1)
            assert full[:, items].any(), part  # a part scoring nothing would pass unseen
            at = parts.scores(part, rows, history, features, 1, items)
            np.testing.assert_allclose(at, full[:, items], rtol=1e-5, atol=1e-6, err_msg=part)


def test_every_part_round_trips_through_its_state_exactly():
    from recsys.data import RetailDataset
    from recsys.datasets import synthetic_retail

    data = synthetic_retail(n_users=120, n_items=90, n_stores=2, items_per_store=(40, 60))
    m = RetailDataset.build(data.interactions, data.catalog, data.stores, data.profiles).matrices
    params: dict[str, Any] = {
        "knn_k": 20,
        "ease_lambda": 50.0,
        "half_life_days": 21.0,
        "adoption_half_life_days": 7.0,
        "als_regularization": 10.0,
        "factors": 4,
        "seed": 0,
        "max_ease_items": 90,
        "num_threads": 1,
    }
    parts = Parts(**params).fit(m)
    again = Parts(**params)
    again.set_state(parts.get_state())
    rows = np.arange(30)
    history, features = sp.csr_matrix(m.confidence[rows]), sp.csr_matrix(m.user_features[rows])
    for part in PART_NAMES:
        before = parts.scores(part, rows, history, features, -1)
        assert before.any(), part
        np.testing.assert_array_equal(again.scores(part, rows, history, features, -1), before, part)
