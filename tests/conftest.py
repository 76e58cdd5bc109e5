"""Fixtures shared across the test tree: small synthetic retail data and fitted recommenders."""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest


@pytest.fixture(scope="session")
def small_data():
    """300 members x 200 SKUs x 3 stores: fast enough to fit every model in a second."""
    from recsys.datasets import synthetic_retail

    return synthetic_retail(n_users=300, n_items=200, n_stores=3, items_per_store=(80, 120), seed=0)


@pytest.fixture(scope="session")
def fitted(small_data):
    """One fitted Recommender per model name, shared by read-only tests."""
    import recsys

    cache: dict[str, recsys.Recommender] = {}

    def get(model: str) -> recsys.Recommender:
        if model not in cache:
            params = {"iterations": 8} if model in ("als", "profile", "hybrid") else {}
            cache[model] = recsys.Recommender(model=model, factors=16, seed=0, **params).fit(
                small_data
            )
        return cache[model]

    return get


def _same_shelf(a, b, atol: float = 1e-5) -> None:
    """Two shelves agree: same scores in order, and ids differ only where two SKUs tie.

    Scored by two paths (one member, a batch), SKUs a float rounding apart can swap; when
    a rule lets only one of them on the shelf, each shelf holds a different one of the
    pair at the same score, and the rest follows the same."""
    import numpy as np

    sa, sb = [r.score for r in a], [r.score for r in b]
    assert len(sa) == len(sb), (a, b)
    np.testing.assert_allclose(sa, sb, atol=atol, rtol=1e-5)
    for ra, rb in zip(a, b, strict=True):
        assert ra.item_id == rb.item_id or abs(ra.score - rb.score) <= atol, (a, b)


@pytest.fixture
def assert_same_shelf():
    return _same_shelf
