"""EASE against a dense NumPy reference."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys.data.matrices import TrainingMatrices
from recsys.models import EASEModel


def test_ease_matches_dense_reference() -> None:
    rng = np.random.default_rng(0)
    x = (rng.random((12, 7)) < 0.4) * rng.integers(1, 4, (12, 7)).astype(np.float64)
    lam = 3.0
    p = np.linalg.inv(x.T @ x + lam * np.eye(7))
    b = np.eye(7) - p / np.diag(p)[np.newaxis, :]
    np.fill_diagonal(b, 0.0)

    model = EASEModel(regularization=lam).fit(TrainingMatrices.from_confidence(sp.csr_matrix(x)))
    assert model.weights_.dtype == np.float32
    np.testing.assert_allclose(model.weights_, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        model.score(np.arange(12), sp.csr_matrix(x)), x @ b, rtol=1e-4, atol=1e-4
    )


def test_ease_diagonal_is_zero_and_ranks_well(shop: Any, metrics: Any) -> None:
    m = shop.matrices
    model = EASEModel(regularization=50.0).fit(m)
    assert not np.diag(model.weights_).any()
    assert (
        metrics.auc_of(model.score(np.arange(m.n_users), m.confidence), shop.held_out, m.confidence)
        > 0.7
    )
