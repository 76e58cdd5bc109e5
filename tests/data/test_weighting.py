from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recsys.data import EventWeights, confidence_matrix
from recsys.exceptions import InvalidInputError, SchemaError

dwell = st.floats(min_value=0, max_value=1e6, allow_nan=False)


@given(dwell, dwell)
def test_more_dwell_never_lowers_weight(a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    w = EventWeights().weights(["view", "view"], [lo, hi])
    assert w[0] <= w[1]


@given(dwell)
def test_dwell_saturates_below_a_purchase(d: float) -> None:
    ew = EventWeights()
    w = ew.weights(["view", "purchase"], [d, 1])
    assert 0 <= w[0] <= ew.view < w[1] == ew.purchase


@given(st.floats(min_value=0.5, max_value=1000), st.floats(min_value=0, max_value=3000))
def test_decay_halves_at_half_life(half_life: float, extra_days: float) -> None:
    ew = EventWeights(half_life_days=half_life)
    now = pd.Timestamp("2030-01-01")
    ts = [now - pd.Timedelta(days=half_life), now, now - pd.Timedelta(days=extra_days)]
    w = ew.weights(["purchase"] * 3, [1, 1, 1], ts, now=now)
    assert w[0] == pytest.approx(w[1] / 2, rel=1e-5)
    assert w[2] <= w[1]


def test_kind_weights_quantity_log_and_defaults() -> None:
    ew = EventWeights(purchase=2.0, cart=0.5, coupon=0.1)
    w = ew.weights(["purchase", "purchase", "purchase", "cart", "coupon"], [1, np.e, 0.2, 9, 9])
    assert w.dtype == np.float32
    np.testing.assert_allclose(w, [2.0, 4.0, 2.0, 0.5, 0.1], rtol=1e-6)
    flat = EventWeights(purchase_quantity_log=False).weights(["purchase"], [10])
    assert flat.tolist() == [1.0]
    # NaN value counts as 1.0; no values means 1.0 everywhere
    assert EventWeights().weights(["purchase", "view"], [np.nan, np.nan]).tolist() == (
        EventWeights().weights(["purchase", "view"]).tolist()
    )


def test_decay_defaults_to_latest_event_and_skips_missing_times() -> None:
    ew = EventWeights(half_life_days=1)
    w = ew.weights(["cart", "cart", "cart"], None, ["2024-01-01", "2024-01-03", None])
    np.testing.assert_allclose(w, [0.1, 0.4, 0.4], rtol=1e-6)


def test_invalid_inputs() -> None:
    with pytest.raises(InvalidInputError, match="'like'"):
        EventWeights().weights(["purchase", "like"])
    with pytest.raises(SchemaError, match="negative"):
        EventWeights().weights(["view"], [-3])
    with pytest.raises(InvalidInputError):
        EventWeights(view=-1)
    with pytest.raises(InvalidInputError):
        EventWeights(dwell_saturation=0)
    with pytest.raises(InvalidInputError):
        EventWeights(half_life_days=0)


def test_confidence_matrix_sums_duplicates() -> None:
    m = confidence_matrix([0, 0, 1, 1], [1, 1, 0, 2], [1.0, 0.5, 0.25, 0.0], 3, 3)
    assert m.dtype == np.float32 and m.shape == (3, 3) and m.has_sorted_indices
    np.testing.assert_allclose(m.toarray(), [[0, 1.5, 0], [0.25, 0, 0], [0, 0, 0]])
    assert m.nnz == 2  # the zero-weight event is not stored
    assert EventWeights.confidence_matrix([0], [0], [1.0], 1, 1).toarray().tolist() == [[1.0]]
    with pytest.raises(InvalidInputError):
        confidence_matrix([3], [0], [1.0], 3, 3)
