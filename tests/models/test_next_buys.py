"""Next buys: what members take up after what they had, worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.data.matrices import ModelEvents, TrainingMatrices, matrices_of_events
from recsys.exceptions import InvalidInputError
from recsys.models.next_buys import NextBuysModel

_DAY = 86_400
_VIEW = 1  # EventKind.ALL index of a view; 0 is a purchase


def _matrices(rows: list[tuple[int, int, int, int]], n_items: int = 4) -> TrainingMatrices:
    """Events of (member, SKU, day, kind)."""
    users, items, days, kinds = (np.asarray(c) for c in zip(*rows, strict=True))
    events = ModelEvents(
        users.astype(np.int32),
        items.astype(np.int32),
        np.full(len(rows), -1, np.int32),
        kinds.astype(np.int8),
        np.ones(len(rows), np.float32),
        days.astype(np.int64) * _DAY,
    )
    shape = (int(users.max()) + 1, n_items)
    base = TrainingMatrices.from_confidence(sp.csr_matrix(shape, dtype=np.float32))
    return matrices_of_events(events, base)


# days 0..100; two periods of 0.2: cuts at day 60 (period 60-80) and day 80 (period 80-100)
_LOG = [
    (0, 0, 0, 0),  # member 0 had SKU 0 ...
    (0, 1, 85, 0),  # ... and took up SKU 1 in the second period
    (1, 3, 10, 0),  # member 1 had SKU 3 ...
    (1, 2, 65, 0),  # ... took up SKU 2 in the first period
    (1, 3, 70, 0),  # a rebuy of what they had: not a take-up
    (2, 0, 100, 0),  # the log's last instant (in no period)
]


def test_the_weights_are_the_ridge_solution_worked_out_by_hand():
    m = _matrices(_LOG)
    model = NextBuysModel(periods=2, period=0.2, regularization=0.5).fit(m)
    # X at day 60: 0->{0}, 1->{3}; at day 80: 0->{0}, 1->{3, 2}
    # Σ XᵀX: diag (2, 0, 1, 2), (2, 3) = (3, 2) = 1; λ = 0.5 x mean diag = 0.625
    # Σ XᵀY: (0 -> 1) = 1 (member 0, second period); (3 -> 2) = 1 (member 1, first period)
    gram = np.diag([2.0, 0.0, 1.0, 2.0])
    gram[2, 3] = gram[3, 2] = 1.0
    cross = np.zeros((4, 4))
    cross[0, 1] = cross[3, 2] = 1.0
    expected = np.linalg.solve(gram + 0.625 * np.eye(4), cross)
    np.testing.assert_allclose(model.weights_, expected, rtol=1e-5, atol=1e-7)
    assert model.weights_[0, 1] == pytest.approx(1 / 2.625, rel=1e-5)


def test_it_learns_the_direction_of_time_where_co_occurrence_cannot():
    # ten members take up SKU 1 after SKU 0; none ever goes the other way
    rows = [(u, 0, 5, 0) for u in range(10)] + [(u, 1, 90, 0) for u in range(10)]
    rows += [(10, 0, 100, 0), (11, 1, 100, 0)]  # who has SKU 0 now, who has SKU 1 now
    m = _matrices(rows)
    model = NextBuysModel(periods=2, period=0.2, regularization=0.1).fit(m)
    scores = model.score(np.array([10, 11]), m.confidence[[10, 11]])
    # at both cuts the ten have SKU 0; they take SKU 1 up in the second period only:
    # 10 / (20 + λ), λ = 0.1 x mean diag (20, 0, 0, 0) = 0.5
    assert scores[0, 1] == pytest.approx(10 / 20.5, rel=1e-5)  # SKU 0 now: SKU 1 comes next
    assert scores[1, 0] == 0.0  # SKU 1 now: SKU 0 does not follow it


def test_views_count_as_having_a_sku_and_purchases_as_taking_one_up():
    rows = [(0, 0, 0, _VIEW), (0, 1, 85, _VIEW), (0, 2, 90, 0), (1, 0, 100, 0)]
    m = _matrices(rows)
    model = NextBuysModel(periods=2, period=0.2, regularization=0.1).fit(m)
    scores = model.score(np.array([1]), m.confidence[[1]])[0]
    assert scores[2] > 0 and scores[1] == 0.0  # viewed SKU 1 was not taken up, SKU 2 was


def test_without_times_or_take_ups_it_scores_nothing():
    bare = TrainingMatrices.from_confidence(sp.csr_matrix(np.eye(3, dtype=np.float32)))
    model = NextBuysModel().fit(bare)
    assert not model.score(np.arange(3), bare.confidence).any()
    same_day = _matrices([(0, 0, 0, 0), (1, 1, 0, 0), (0, 1, 0, 0)])
    assert not NextBuysModel().fit(same_day).weights_.any()


def test_at_most_max_items_skus_get_weights_the_ones_most_members_have():
    rows = [(u, 0, 0, 0) for u in range(5)] + [(u, 2, 0, 0) for u in range(3)]
    rows += [(0, 1, 0, 0), (0, 3, 90, 0), (6, 0, 100, 0)]
    model = NextBuysModel(periods=2, period=0.2, max_items=2).fit(_matrices(rows))
    assert model.items_.tolist() == [0, 2]
    assert model.weights_.shape == (2, 2)
    assert model.score(np.array([0]), _matrices(rows).confidence[[0]])[0, [1, 3]].tolist() == [0, 0]


def test_its_state_round_trips_exactly():
    m = _matrices(_LOG)
    model = NextBuysModel(periods=2, period=0.2).fit(m)
    again = NextBuysModel.from_state(model.get_params(), model.get_state())
    users = np.arange(3)
    np.testing.assert_array_equal(
        again.score(users, m.confidence[users]), model.score(users, m.confidence[users])
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"periods": 5, "period": 0.3}, "must not exceed 1"),
        ({"regularization": -1.0}, "regularization"),
        ({"periods": 0}, "periods"),
        ({"max_items": 0}, "max_items"),
    ],
)
def test_bad_parameters_are_refused(params, message):
    with pytest.raises(InvalidInputError, match=message):
        NextBuysModel(**params).fit(_matrices(_LOG))
