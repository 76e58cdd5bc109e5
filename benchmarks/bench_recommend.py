"""One member's shelf, batches, fold-in and fit: recsys beside raw implicit and NumPy.

Each group holds the contenders on the same vectors in the same run, so pytest-benchmark's
relative column is the number to read (machines here are shared and noisy).
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks._scale import FACTORS, ITERATIONS, QUICK, SIZES

STORE = "s3"


def _member_store(rec, n: int = 1):
    members = rec.members_.ids()[:n].tolist()
    store = rec.dataset_.stores.index_of(STORE)
    return members, store, rec.dataset_.assortment.items_of(store)


def _raw_implicit(rec):
    """implicit's own ALS object holding exactly our factors, for an apples-to-apples call."""
    from implicit.cpu.als import AlternatingLeastSquares

    raw = AlternatingLeastSquares(factors=FACTORS, dtype=np.float32)
    raw.user_factors = np.ascontiguousarray(rec.model_.user_factors_)
    raw.item_factors = np.ascontiguousarray(rec.model_.item_factors_)
    return raw


@pytest.mark.parametrize("n_items", SIZES)
def test_recommend_store_recsys(benchmark, fitted_at, n_items):
    rec = fitted_at(n_items)
    (member,), _, stocked = _member_store(rec)
    benchmark.group = f"recommend one member, store filter, {n_items} SKUs"
    shelf = benchmark(rec.recommend, member, k=10, store_id=STORE)
    assert len(shelf) == 10 and {r.item_id for r in shelf} <= set(rec.dataset_.items.ids[stocked])


@pytest.mark.parametrize("n_items", SIZES)
def test_recommend_store_raw_implicit(benchmark, fitted_at, n_items):
    rec = fitted_at(n_items)
    (member,), _, stocked = _member_store(rec)
    raw = _raw_implicit(rec)
    u = rec.members_.index_of(member)
    liked = rec.dataset_.matrices.purchased[u]
    benchmark.group = f"recommend one member, store filter, {n_items} SKUs"
    ids, _ = benchmark(
        raw.recommend, u, liked, N=10, items=stocked, filter_already_liked_items=True
    )
    free = {
        "max_per_category": None,
        "dedupe_groups": False,
    }  # the same ranking, without merchandising caps
    every = {"in_season": False}  # and every season
    ours = [
        r.item_id for r in rec.recommend(member, k=10, store_id=STORE, rules=free, filters=every)
    ]
    assert list(rec.dataset_.items.ids[ids]) == ours


@pytest.mark.parametrize("n_items", SIZES)
def test_recommend_store_numpy(benchmark, fitted_at, n_items):
    rec = fitted_at(n_items)
    (member,), _, stocked = _member_store(rec)
    u = rec.members_.index_of(member)
    vec = rec.model_.user_factors_[u]
    items = rec.model_.item_factors_
    bought = rec.members_.bought(u)

    def brute():
        allowed = np.setdiff1d(stocked, bought, assume_unique=True)
        scores = items[allowed] @ vec
        top = np.argpartition(-scores, 10)[:10]
        return allowed[top[np.argsort(-scores[top])]]

    benchmark.group = f"recommend one member, store filter, {n_items} SKUs"
    ids = benchmark(brute)
    assert len(ids) == 10


@pytest.mark.parametrize("n_items", SIZES[:2])
def test_recommend_batch_1000(benchmark, fitted_at, n_items):
    rec = fitted_at(n_items)
    members, _, _ = _member_store(rec, 1000)
    benchmark.group = f"recommend_batch 1000 members, store filter, {n_items} SKUs"
    shelves = benchmark(rec.recommend_batch, members, k=10, store_id=STORE)
    assert len(shelves) == 1000


@pytest.mark.parametrize("n_items", SIZES[:2])
def test_recommend_batch_1000_raw_implicit(benchmark, fitted_at, n_items):
    rec = fitted_at(n_items)
    members, _, stocked = _member_store(rec, 1000)
    raw = _raw_implicit(rec)
    users = np.array([rec.members_.index_of(m) for m in members])
    liked = rec.dataset_.matrices.purchased[users]
    benchmark.group = f"recommend_batch 1000 members, store filter, {n_items} SKUs"
    ids, _ = benchmark(raw.recommend, users, liked, N=10, items=stocked)
    assert ids.shape == (1000, 10)


def test_update_fold_in(benchmark, fitted_at):
    rec = fitted_at(SIZES[1])
    (member,), _, stocked = _member_store(rec)
    item = str(rec.dataset_.items.ids[stocked[0]])
    event = [{"user_id": member, "item_id": item, "kind": "view", "value": 40.0}]
    benchmark.group = "update: one view event folded into a member"
    assert benchmark(rec.update, event) == 1


@pytest.mark.parametrize("contender", ["recsys", "raw implicit"])
def test_fit_als(benchmark, retail_at, contender):
    from implicit.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    import recsys

    data = retail_at(SIZES[0] if QUICK else SIZES[1])
    ds = recsys.Recommender(model="als").fit(data).dataset_  # the matrix both train on
    benchmark.group = "fit ALS on the same matrix"

    def ours():
        return recsys.models.ALSModel(factors=FACTORS, iterations=ITERATIONS).fit(ds.matrices)

    def theirs():
        with threadpool_limits(1, "blas"):
            m = AlternatingLeastSquares(factors=FACTORS, iterations=ITERATIONS, random_state=0)
            m.fit(ds.matrices.confidence, show_progress=False)
        return m

    benchmark.pedantic(ours if contender == "recsys" else theirs, rounds=3, iterations=1)


@pytest.mark.parametrize("n_items", SIZES[:2])
def test_recommend_store_default(benchmark, fitted_at, n_items):
    """The default blend (a score model): one shelf in a store, reasons included."""
    rec = fitted_at(n_items, "blend")
    (member,), _, stocked = _member_store(rec)
    benchmark.group = f"default blend, one member, store filter, {n_items} SKUs"
    shelf = benchmark(rec.recommend, member, k=10, store_id=STORE)
    assert len(shelf) == 10 and {r.item_id for r in shelf} <= set(rec.dataset_.items.ids[stocked])


@pytest.mark.parametrize("n_items", SIZES[:2])
def test_recommend_batch_1000_default(benchmark, fitted_at, n_items):
    rec = fitted_at(n_items, "blend")
    members, _, _ = _member_store(rec, 1000)
    benchmark.group = f"default blend, recommend_batch 1000 members, store filter, {n_items} SKUs"
    shelves = benchmark(rec.recommend_batch, members, k=10, store_id=STORE)
    assert len(shelves) == 1000
