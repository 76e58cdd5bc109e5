"""Shared benchmark fixtures: retail data at several catalog sizes and models fitted on it."""

from __future__ import annotations

import pytest

from benchmarks._scale import BLEND_PARAMS, FACTORS, ITERATIONS, scale_retail

_DATA: dict[int, object] = {}
_RECS: dict[tuple[int, str], object] = {}


@pytest.fixture(scope="session")
def retail_at():
    def get(n_items: int):
        if n_items not in _DATA:
            _DATA[n_items] = scale_retail(n_items)
        return _DATA[n_items]

    return get


@pytest.fixture(scope="session")
def fitted_at(retail_at):
    import recsys

    def get(n_items: int, model: str = "als"):
        key = (n_items, model)
        if key not in _RECS:
            params = BLEND_PARAMS if model == "blend" else {"iterations": ITERATIONS}
            _RECS[key] = recsys.Recommender(model=model, factors=FACTORS, seed=0, **params).fit(
                retail_at(n_items)
            )
        return _RECS[key]

    return get
