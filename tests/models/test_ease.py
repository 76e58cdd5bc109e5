"""EASE against a dense NumPy reference."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.data.matrices import TrainingMatrices
from recsys.exceptions import InvalidInputError
from recsys.models import EASEModel


def _dense_ease(x: np.ndarray, lam: float) -> np.ndarray:
    p = np.linalg.inv(x.T @ x + lam * np.eye(x.shape[1]))
    b = np.eye(x.shape[1]) - p / np.diag(p)[np.newaxis, :]
    np.fill_diagonal(b, 0.0)
    return b


@pytest.mark.parametrize("binary", [True, False])
def test_ease_matches_dense_reference(binary: bool) -> None:
    rng = np.random.default_rng(0)
    x = (rng.random((12, 7)) < 0.4) * rng.integers(1, 4, (12, 7)).astype(np.float64)
    lam = 3.0
    fitted = (x > 0).astype(np.float64) if binary else x  # a count of 3 is 1 when binary
    b = _dense_ease(fitted, lam)
    read = np.log1p(x) if binary else x  # a history counts log(1 + confidence) when binary

    m = TrainingMatrices.from_confidence(sp.csr_matrix(x))
    model = EASEModel(regularization=lam, binary=binary).fit(m)
    assert model.weights_.dtype == np.float32
    np.testing.assert_allclose(model.weights_, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        model.score(np.arange(12), sp.csr_matrix(x)), read @ b, rtol=1e-4, atol=1e-4
    )


def test_binary_is_steck_s_ease_and_refuses_a_non_bool() -> None:
    x = sp.csr_matrix(np.array([[5.0, 1.0, 0], [1.0, 0, 1.0], [0, 1.0, 1.0]]))
    m = TrainingMatrices.from_confidence(x)
    binary, counted = EASEModel(regularization=1.0).fit(m), EASEModel(1.0, binary=False).fit(m)
    assert not np.allclose(binary.weights_, counted.weights_)
    np.testing.assert_allclose(
        binary.weights_, _dense_ease((x > 0).toarray() * 1.0, 1.0), atol=1e-5
    )
    with pytest.raises(InvalidInputError, match="binary must be True or False"):
        EASEModel(binary="yes").fit(m)  # type: ignore[arg-type]


def test_ease_diagonal_is_zero_and_ranks_well(shop: Any, metrics: Any) -> None:
    m = shop.matrices
    model = EASEModel(regularization=50.0).fit(m)
    assert not np.diag(model.weights_).any()
    assert (
        metrics.auc_of(model.score(np.arange(m.n_users), m.confidence), shop.held_out, m.confidence)
        > 0.7
    )


def test_a_catalog_over_max_items_keeps_the_busiest_skus_and_says_so(shop) -> None:
    import pytest

    from recsys.exceptions import RecsysWarning

    m = shop.matrices
    volume = np.asarray(m.confidence.sum(axis=0)).ravel()
    with pytest.warns(RecsysWarning, match=r"keeps the 30 SKUs with the most events of 120"):
        model = EASEModel(regularization=10.0, max_items=30).fit(m)
    assert model.weights_.shape == (30, 30)
    assert set(model.items_) == set(np.argsort(-volume, kind="stable")[:30])
    scores = model.score(np.arange(5), m.confidence[:5])
    others = np.setdiff1d(np.arange(m.n_items), model.items_)
    assert (scores[:, others] == 0).all() and (scores[:, model.items_] != 0).any()
    # the kept SKUs score exactly as EASE fitted on those SKUs alone
    sub = type(m).from_confidence(m.confidence[:, model.items_])
    alone = EASEModel(regularization=10.0).fit(sub).score(np.arange(5), sub.confidence[:5])
    np.testing.assert_allclose(scores[:, model.items_], alone, rtol=1e-4, atol=1e-6)


def test_the_inverse_runs_on_num_threads_blas_threads_whatever_the_environment(
    shop: Any, monkeypatch: Any
) -> None:
    """OPENBLAS_NUM_THREADS=1 (set for implicit) must not leave EASE's inverse, the longest
    step of a blend's fit, on one core; the weights are the same on any number of threads."""
    import pytest
    from threadpoolctl import threadpool_info

    from recsys.exceptions import InvalidInputError
    from recsys.models import ease

    seen: list[int] = []
    real = ease._spd_inverse_inplace

    def counted(a: np.ndarray) -> np.ndarray:
        seen.append(max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"))
        return real(a)

    monkeypatch.setattr(ease, "_spd_inverse_inplace", counted)
    one = EASEModel(regularization=50.0, num_threads=1).fit(shop.matrices)
    two = EASEModel(regularization=50.0, num_threads=2).fit(shop.matrices)
    assert seen == [1, 2]
    np.testing.assert_allclose(one.weights_, two.weights_, rtol=1e-4, atol=1e-6)
    with pytest.raises(InvalidInputError, match="num_threads"):
        EASEModel(num_threads=-1).fit(shop.matrices)
