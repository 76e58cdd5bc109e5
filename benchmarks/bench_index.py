"""Latency of one member's filtered search: `VectorIndex.search` vs NumPy brute force.

One query (64-d), k=10, a 450-SKU store allow-list, catalogs of 2k / 20k / 200k items;
FAISS runs on one thread, as in the service. ``RECSYS_BENCH_QUICK=1`` skips 200k.

    .venv/bin/python -m pytest benchmarks/bench_index.py --benchmark-only -q
"""

from __future__ import annotations

import os
from functools import cache

import numpy as np
import pytest

from recsys.index import VectorIndex, set_faiss_threads

DIM, K, STORE_SIZE = 64, 10, 450
SIZES = [2_000, 20_000] if os.environ.get("RECSYS_BENCH_QUICK") == "1" else [2_000, 20_000, 200_000]


@pytest.fixture(scope="module", autouse=True)
def one_faiss_thread():
    previous = set_faiss_threads(1)
    yield
    set_faiss_threads(previous)


@cache
def setup(n: int) -> tuple[VectorIndex, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(n)
    items = rng.standard_normal((n, DIM)).astype(np.float32)
    store = np.sort(rng.choice(n, STORE_SIZE, replace=False)).astype(np.int64)
    query = rng.standard_normal((1, DIM)).astype(np.float32)
    return VectorIndex("exact").build(items), items, store, query


def numpy_topk(items: np.ndarray, allowed: np.ndarray, query: np.ndarray, k: int):
    scores = items[allowed] @ query[0]
    top = np.argpartition(scores, scores.size - k)[scores.size - k :]
    top = top[np.argsort(-scores[top])]
    return scores[top], allowed[top]


@pytest.mark.parametrize("n", SIZES)
def test_vector_index_search(benchmark, n):
    index, items, store, query = setup(n)
    benchmark.group = f"one query, {STORE_SIZE}-item allow-list, n={n}"
    ids, scores = benchmark(index.search, query, K, store)
    want_scores, want_ids = numpy_topk(items, store, query, K)
    np.testing.assert_allclose(scores[0], want_scores, rtol=1e-5)
    assert set(ids[0].tolist()) == set(want_ids.tolist())


@pytest.mark.parametrize("n", SIZES)
def test_numpy_brute_force(benchmark, n):
    _, items, store, query = setup(n)
    benchmark.group = f"one query, {STORE_SIZE}-item allow-list, n={n}"
    benchmark(numpy_topk, items, store, query, K)
