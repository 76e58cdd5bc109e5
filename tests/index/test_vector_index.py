"""Behaviour of `recsys.index.VectorIndex`: filtered top-k equals brute force, never leaks."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import faiss
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import recsys.index.vector_index as vi
from recsys.exceptions import ArtifactError, InvalidInputError, NotFittedError
from recsys.index import VectorIndex, faiss_threads, set_faiss_threads

KINDS = ("exact", "hnsw", "ivf")


def random_vectors(n: int, d: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)


def clustered_vectors(n: int, d: int, seed: int = 0, clusters: int = 100) -> np.ndarray:
    """Random Gaussian mixture: the shape CF item factors have (taste clusters)."""
    rng = np.random.default_rng(seed)
    centers = 2.0 * rng.standard_normal((clusters, d))
    return (centers[rng.integers(0, clusters, n)] + rng.standard_normal((n, d))).astype(np.float32)


def brute_force(x, q, k, allowed=None, excluded=None):
    """Reference: top-k scores (desc) per row over the filtered set, padded with -inf."""
    n = x.shape[0]
    mask = np.ones(n, dtype=bool)
    if allowed is not None:
        mask[:] = False
        mask[np.asarray(allowed, dtype=np.int64)] = True
    if excluded is not None:
        mask[np.asarray(excluded, dtype=np.int64)] = False
    scores = q.astype(np.float64) @ x[mask].T.astype(np.float64)
    top = -np.sort(-scores, axis=1)[:, :k]
    out = np.full((q.shape[0], k), -np.inf)
    out[:, : top.shape[1]] = top
    return out, mask


def assert_valid(scores, ids, mask, k):
    """Shape, padding convention, no filtered id, no duplicate, descending scores."""
    assert scores.shape == ids.shape == (ids.shape[0], k)
    assert scores.dtype == np.float32 and ids.dtype == np.int64
    for s, i in zip(scores, ids, strict=True):
        valid = i >= 0
        assert np.array_equal(valid, np.isfinite(s)), "-1 ids must pair with -inf scores"
        assert not np.any(valid[np.argmin(valid) :]) or valid.all(), "padding only at the end"
        assert mask[i[valid]].all(), "returned an id that breaks the filter"
        assert np.unique(i[valid]).size == valid.sum()
        assert np.all(np.diff(s[valid]) <= 1e-6)


@cache
def small_exact() -> tuple[VectorIndex, np.ndarray]:
    x = random_vectors(300, 16, seed=1)
    return VectorIndex("exact").build(x), x


@cache
def large_data(data: str) -> tuple[np.ndarray, np.ndarray]:
    """20k x 32 items and 200 held-out queries drawn from the same distribution."""
    make = random_vectors if data == "iid" else clustered_vectors
    x = make(20_200, 32, seed=2)
    return x[:20_000], x[20_000:]


@cache
def large(kind: str, data: str = "iid", **params) -> tuple[VectorIndex, np.ndarray]:
    x, _ = large_data(data)
    return VectorIndex(kind, **params).build(x), x


# ---------------------------------------------------------------- exact equals brute force


@pytest.mark.parametrize(
    ("allowed", "excluded"),
    [
        (None, None),
        (np.arange(0, 300, 3), None),
        (None, np.arange(0, 300, 2)),
        (np.arange(0, 300, 3), np.arange(0, 300, 2)),
    ],
    ids=["none", "allowed", "excluded", "both"],
)
@pytest.mark.parametrize("k", [1, 10, 500])
def test_exact_search_equals_brute_force(allowed, excluded, k):
    index, x = small_exact()
    q = random_vectors(7, 16, seed=3)
    ids, scores = index.search(q, k, allowed=allowed, excluded=excluded)
    want, mask = brute_force(x, q, k, allowed, excluded)
    assert_valid(scores, ids, mask, k)
    np.testing.assert_allclose(scores, want, rtol=1e-5, atol=1e-5)
    valid = ids >= 0
    # The ids carry those scores (ties aside).
    np.testing.assert_allclose(
        np.einsum("md,mkd->mk", q, x[np.where(valid, ids, 0)])[valid], scores[valid], atol=1e-4
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    allowed=st.one_of(st.none(), st.sets(st.integers(0, 299), max_size=300)),
    excluded=st.one_of(st.none(), st.lists(st.integers(0, 299), max_size=80)),
    k=st.integers(1, 40),
    seed=st.integers(0, 2**16),
)
def test_property_filtered_topk_is_brute_force_topk(allowed, excluded, k, seed):
    index, x = small_exact()
    allowed_arr = None if allowed is None else np.array(sorted(allowed), dtype=np.int64)
    excluded_arr = None if excluded is None else np.array(excluded, dtype=np.int64)
    q = random_vectors(3, 16, seed=seed)
    ids, scores = index.search(q, k, allowed=allowed_arr, excluded=excluded_arr)
    want, mask = brute_force(x, q, k, allowed_arr, excluded_arr)
    assert_valid(scores, ids, mask, k)
    assert ((ids >= 0).sum(axis=1) == min(k, int(mask.sum()))).all()
    np.testing.assert_allclose(scores, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    allowed=st.one_of(st.none(), st.sets(st.integers(0, 1999), min_size=1, max_size=2000)),
    excluded=st.one_of(st.none(), st.lists(st.integers(0, 1999), max_size=300)),
    k=st.integers(1, 30),
)
def test_property_approximate_paths_never_leak(kind, allowed, excluded, k):
    index, x = approx_small(kind)
    allowed_arr = None if allowed is None else np.array(sorted(allowed), dtype=np.int64)
    excluded_arr = None if excluded is None else np.array(excluded, dtype=np.int64)
    q = random_vectors(4, 16, seed=k)
    original = vi.EXACT_MAX_IDS
    vi.EXACT_MAX_IDS = 0  # force the graph / IVF path with bitmap and NOT selectors
    try:
        assert not index.routes_to_exact(1) or index.exact_fraction > 0
        ids, scores = index.search(q, k, allowed=allowed_arr, excluded=excluded_arr)
    finally:
        vi.EXACT_MAX_IDS = original
    _, mask = brute_force(x, q, k, allowed_arr, excluded_arr)
    assert_valid(scores, ids, mask, k)


@cache
def approx_small(kind: str) -> tuple[VectorIndex, np.ndarray]:
    x = clustered_vectors(2000, 16, seed=4, clusters=20)
    return VectorIndex(kind, exact_fraction=0.0, ivf_nlist=16, nprobe=4).build(x), x


# ---------------------------------------------------------------- padding and edge cases


def test_fewer_than_k_pass_is_padded_and_never_filtered():
    index, x = small_exact()
    ids, scores = index.search(x[:2], 10, allowed=np.array([5, 6, 7, 8]), excluded=[6, 299])
    assert (ids[:, :3] >= 0).all()
    assert set(ids[0][ids[0] >= 0].tolist()) == {5, 7, 8}
    assert (ids[:, 3:] == -1).all() and np.isneginf(scores[:, 3:]).all()


@pytest.mark.parametrize("kind", KINDS)
def test_empty_allowed_and_all_excluded_return_only_padding(kind):
    index = VectorIndex(kind, ivf_nlist=4).build(random_vectors(200, 8))
    for kwargs in (
        {"allowed": np.array([], dtype=np.int64)},
        {"allowed": []},
        {"excluded": np.arange(200)},
        {"allowed": [1, 2], "excluded": [2, 1]},
    ):
        ids, scores = index.search(random_vectors(3, 8), 5, **kwargs)
        assert (ids == -1).all() and np.isneginf(scores).all()


def test_k_larger_than_ntotal_is_padded():
    index = VectorIndex().build(random_vectors(5, 4))
    ids, scores = index.search(random_vectors(2, 4), 8)
    assert ids.shape == (2, 8)
    assert (np.sort(ids[:, :5], axis=1) == np.arange(5)).all()
    assert (ids[:, 5:] == -1).all() and np.isneginf(scores[:, 5:]).all()


def test_one_dimensional_query_is_one_row_and_unsorted_allowed_is_accepted():
    index, x = small_exact()
    i1, s1 = index.search(x[10], 3, allowed=np.array([40, 10, 20, 10]))
    i2, s2 = index.search(x[10:11], 3, allowed=np.array([10, 20, 40]))
    assert i1.shape == (1, 3) and np.array_equal(i1, i2) and np.array_equal(s1, s2)
    assert i1[0, 0] == 10


def test_boolean_mask_is_accepted_as_allowed():
    index, x = small_exact()
    mask = np.zeros(300, dtype=bool)
    mask[[3, 30, 33]] = True
    ids, _ = index.search(x[:1], 5, allowed=mask)
    assert set(ids[0][ids[0] >= 0].tolist()) == {3, 30, 33}


def test_cosine_metric_scores_are_cosines():
    x = random_vectors(100, 8) * np.arange(1, 101, dtype=np.float32)[:, None]
    index = VectorIndex(metric="cosine").build(x)
    q = random_vectors(1, 8, seed=5) * 7
    _, scores = index.search(q, 3)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    cos = xn @ (q[0] / np.linalg.norm(q[0]))
    np.testing.assert_allclose(scores[0], np.sort(cos)[::-1][:3], rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(index.vectors, axis=1), 1.0, rtol=1e-5)


# ---------------------------------------------------------------- search_each


@pytest.mark.parametrize(
    ("kind", "allowed"),
    [
        ("exact", None),
        ("exact", np.arange(0, 20_000, 40)),
        ("hnsw", np.arange(0, 20_000, 40)),  # small allow-list: dense exact path
        ("hnsw", None),  # broad filter: one graph search per row
        ("ivf", np.arange(0, 20_000, 2)),
    ],
)
def test_search_each_equals_per_row_search(kind, allowed):
    index, _ = large(kind, "clustered")
    rng = np.random.default_rng(6)
    q = random_vectors(12, 32, seed=7)
    pool = np.arange(20_000) if allowed is None else allowed
    excluded_rows = [rng.choice(pool, size=int(rng.integers(0, 30)), replace=False) for _ in q]
    # make exclusions bite: exclude some of each row's true top items
    for i, row in enumerate(q):
        top, _ = index.search(row, 5, allowed=allowed)
        excluded_rows[i] = np.concatenate([excluded_rows[i], top[0, ::2]])
    excluded_rows[3] = np.array([], dtype=np.int64)
    ids, scores = index.search_each(q, 10, allowed, excluded_rows)
    for i in range(len(q)):
        i_i, s_i = index.search(q[i], 10, allowed=allowed, excluded=excluded_rows[i])
        np.testing.assert_allclose(scores[i], s_i[0], rtol=1e-5, atol=1e-5)
        assert not np.isin(ids[i], excluded_rows[i]).any()
        agree = np.intersect1d(ids[i], i_i[0]).size
        assert agree >= 9  # equal up to ties at the cut
        if allowed is not None:
            assert np.isin(ids[i][ids[i] >= 0], allowed).all()


def test_search_each_pads_and_checks_row_count():
    index, x = small_exact()
    ids, scores = index.search_each(x[:2], 4, np.array([1, 2, 3]), [np.array([2]), []])
    assert ids[0].tolist() == [1, 3, -1, -1] or ids[0].tolist() == [3, 1, -1, -1]
    assert sorted(ids[1][:3].tolist()) == [1, 2, 3] and ids[1, 3] == -1
    assert np.isneginf(scores[0, 2:]).all()
    with pytest.raises(InvalidInputError, match="one array per query"):
        index.search_each(x[:2], 4, None, [np.array([1])])
    empty = index.search_each(x[:2], 3, np.array([], dtype=np.int64), [[], []])
    assert (empty[0] == -1).all()


# ---------------------------------------------------------------- approximate kinds


def test_hnsw_recall_on_random_data():
    index, _ = large("hnsw")
    _, q = large_data("iid")
    assert index.recall_at_k(q, 10) >= 0.9
    assert index.recall_at_k(q, 10, allowed=np.arange(0, 20_000, 3)) >= 0.9


@pytest.mark.parametrize(("data", "nprobe"), [("clustered", 16), ("iid", 160)])
def test_ivf_recall_on_random_data(data, nprobe):
    # iid Gaussian has no cluster structure (IVF's worst case): default nprobe=16 of
    # 512 lists reaches ~0.5 there, so that case probes more lists.
    index, _ = large("ivf", data, nprobe=nprobe)
    _, q = large_data(data)
    assert index.recall_at_k(q, 10) >= 0.9


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_small_allow_list_routes_to_exact(kind):
    index, x = large(kind)
    store = np.sort(np.random.default_rng(10).choice(20_000, 450, replace=False))
    assert index.routes_to_exact(store.size)
    assert not index.routes_to_exact(20_000)
    q = random_vectors(50, 32, seed=11)
    assert index.recall_at_k(q, 10, allowed=store) == 1.0
    ids, scores = index.search(q, 10, allowed=store)
    want, mask = brute_force(x, q, 10, store)
    assert_valid(scores, ids, mask, 10)
    np.testing.assert_allclose(scores, want, rtol=1e-5, atol=1e-5)


def test_exact_recall_is_one():
    index, x = small_exact()
    assert index.recall_at_k(x[:5], 3) == 1.0


def test_search_does_not_mutate_shared_index_state():
    hnsw, _ = large("hnsw")
    ivf, _ = large("ivf")
    q = random_vectors(2, 32)
    ef, nprobe = hnsw.index_.hnsw.efSearch, ivf.index_.nprobe
    hnsw.search(q, 500)
    ivf.search(q, 10, excluded=[1, 2, 3])
    assert hnsw.index_.hnsw.efSearch == ef == 128
    assert ivf.index_.nprobe == nprobe == 16


def test_concurrent_searches_match_sequential():
    index, x = large("hnsw", "clustered")
    rng = np.random.default_rng(12)
    jobs = []
    for j in range(64):
        allowed = None if j % 3 == 0 else np.sort(rng.choice(20_000, 450 * (1 + j % 5), False))
        excluded = rng.choice(20_000, 20, replace=False) if j % 2 else None
        jobs.append((x[j : j + 2], allowed, excluded))
    sequential = [index.search(q, 10, a, e) for q, a, e in jobs]
    barrier = threading.Barrier(8)

    def run(job):
        q, a, e = job
        if barrier.n_waiting < 8:
            try:
                barrier.wait(timeout=0.5)
            except threading.BrokenBarrierError:
                pass
        return index.search(q, 10, a, e)

    with ThreadPoolExecutor(8) as pool:
        concurrent = list(pool.map(run, jobs))
    for (s1, i1), (s2, i2) in zip(sequential, concurrent, strict=True):
        np.testing.assert_array_equal(i1, i2)
        np.testing.assert_array_equal(s1, s2)


# ---------------------------------------------------------------- vectors, properties


def test_vectors_are_a_read_only_copy_that_outlives_the_index():
    x = random_vectors(50, 8)
    index = VectorIndex("hnsw").build(x)
    v = index.vectors
    x[:] = 0  # build copied
    assert v.shape == (50, 8) and v.dtype == np.float32 and v.flags.c_contiguous
    assert not v.flags.writeable
    with pytest.raises(ValueError):
        v[0, 0] = 1.0
    expected = random_vectors(50, 8)
    del index
    np.testing.assert_array_equal(v, expected)  # the view keeps FAISS' memory alive


@pytest.mark.parametrize("kind", KINDS)
def test_properties(kind):
    index = VectorIndex(kind, ivf_nlist=2)
    assert index.kind == kind and index.ntotal == 0 and not index.is_built
    assert "not built" in repr(index)
    index.build(random_vectors(100, 6))
    assert (index.ntotal, index.dim, index.is_built) == (100, 6, True)
    assert "ntotal=100" in repr(index)


def test_rebuild_starts_from_scratch():
    index = VectorIndex().build(random_vectors(10, 4))
    index.build(random_vectors(3, 4, seed=9))
    assert index.ntotal == 3
    np.testing.assert_array_equal(index.vectors, random_vectors(3, 4, seed=9))


def test_set_faiss_threads_round_trip():
    before = faiss_threads()
    assert set_faiss_threads(1) == before
    assert faiss_threads() == 1
    set_faiss_threads(before)
    with pytest.raises(InvalidInputError):
        set_faiss_threads(0)


# ---------------------------------------------------------------- save / load


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("metric", ["ip", "cosine"])
def test_save_load_round_trip(tmp_path, kind, metric):
    x = clustered_vectors(3000, 16, seed=13, clusters=10)
    index = VectorIndex(kind, metric=metric, hnsw_m=16, nprobe=8).build(x)
    index.save(tmp_path / "idx")
    loaded = VectorIndex.load(tmp_path / "idx")
    assert loaded.get_params() == index.get_params()
    assert (loaded.kind, loaded.ntotal, loaded.dim) == (kind, 3000, 16)
    np.testing.assert_array_equal(loaded.vectors, index.vectors)
    q = random_vectors(20, 16, seed=14)
    for kwargs in ({}, {"allowed": np.arange(0, 3000, 7)}, {"excluded": np.arange(50)}):
        for a, b in zip(index.search(q, 10, **kwargs), loaded.search(q, 10, **kwargs), strict=True):
            np.testing.assert_array_equal(a, b)
    manifest = json.loads((tmp_path / "idx" / "index.json").read_text())
    assert manifest["version"] == 1 and manifest["kind"] == kind
    assert (manifest["dim"], manifest["n"], manifest["metric"]) == (16, 3000, metric)


def test_load_errors_are_artifact_errors(tmp_path):
    with pytest.raises(ArtifactError, match=r"index\.json is missing"):
        VectorIndex.load(tmp_path / "nowhere")
    index = VectorIndex("ivf", ivf_nlist=4).build(random_vectors(100, 8))
    d = index.save(tmp_path / "ivf")
    (d / "exact.faiss").unlink()
    with pytest.raises(ArtifactError, match=r"exact\.faiss is missing"):
        VectorIndex.load(d)

    d = index.save(tmp_path / "corrupt")
    (d / "ivf.faiss").write_bytes(b"not a faiss index")
    with pytest.raises(ArtifactError, match="cannot read FAISS index"):
        VectorIndex.load(d)

    d = index.save(tmp_path / "truncated")
    data = (d / "exact.faiss").read_bytes()
    (d / "exact.faiss").write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError):
        VectorIndex.load(d)

    d = index.save(tmp_path / "badjson")
    (d / "index.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="corrupt index manifest"):
        VectorIndex.load(d)

    d = index.save(tmp_path / "version")
    manifest = json.loads((d / "index.json").read_text())
    manifest["version"] = 99
    (d / "index.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="format version 99"):
        VectorIndex.load(d)

    d = index.save(tmp_path / "mismatch")
    manifest = json.loads((d / "index.json").read_text())
    manifest["n"] = 5
    (d / "index.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="does not match its manifest"):
        VectorIndex.load(d)

    d = index.save(tmp_path / "wrongkind")
    manifest = json.loads((d / "index.json").read_text())
    manifest["params"]["kind"] = "exact"
    (d / "index.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="says kind 'ivf'"):
        VectorIndex.load(d)
    manifest["kind"] = "exact"
    (d / "index.json").write_text(json.dumps(manifest))
    faiss.write_index(index.index_, str(d / "exact.faiss"))
    with pytest.raises(ArtifactError, match="not a 'exact' index"):
        VectorIndex.load(d)


def test_save_before_build_raises(tmp_path):
    with pytest.raises(NotFittedError, match="call build"):
        VectorIndex().save(tmp_path)


# ---------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("k", [0, -1, 1.5, "3", True, None])
def test_bad_k_raises(k):
    index, x = small_exact()
    with pytest.raises(InvalidInputError, match="k must be a positive integer"):
        index.search(x[:1], k)
    with pytest.raises(InvalidInputError):
        index.search_each(x[:1], k, None, [[]])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"allowed": [0, 300]}, "outside the index range"),
        ({"allowed": [-1, 3]}, "outside the index range"),
        ({"excluded": [1000]}, "outside the index range"),
        ({"allowed": [1.0, 2.0]}, "integer item ids"),
        ({"excluded": [[1, 2]]}, "1-d"),
        ({"allowed": np.ones(7, dtype=bool)}, "boolean mask must have length 300"),
    ],
)
def test_bad_ids_raise(kwargs, match):
    index, x = small_exact()
    with pytest.raises(InvalidInputError, match=match):
        index.search(x[:1], 3, **kwargs)


def test_bad_queries_raise():
    index, _ = small_exact()
    with pytest.raises(InvalidInputError, match=r"shape \(m, 16\)"):
        index.search(np.ones((2, 15), dtype=np.float32), 3)
    with pytest.raises(InvalidInputError, match="NaN"):
        index.search(np.full((1, 16), np.nan, dtype=np.float32), 3)
    with pytest.raises(InvalidInputError, match="numeric"):
        index.search([["a"] * 16], 3)
    with pytest.raises(InvalidInputError, match="outside the index range"):
        index.search_each(np.ones((1, 16)), 3, None, [np.array([400])])


@pytest.mark.parametrize(
    ("vectors", "match"),
    [
        (np.ones(5, dtype=np.float32), "non-empty"),
        (np.ones((0, 4), dtype=np.float32), "non-empty"),
        (np.array([[1.0, np.nan]]), "NaN"),
        (np.array([[1.0, np.inf]]), "NaN"),
        ([["a", "b"]], "numeric"),
    ],
)
def test_bad_vectors_raise(vectors, match):
    with pytest.raises(InvalidInputError, match=match):
        VectorIndex().build(vectors)


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "annoy"},
        {"metric": "l2"},
        {"hnsw_m": 0},
        {"ef_search": -3},
        {"nprobe": 1.5},
        {"ivf_nlist": 0},
        {"exact_fraction": 2.0},
        {"seed": "x"},
    ],
)
def test_bad_params_raise(params):
    with pytest.raises(InvalidInputError):
        VectorIndex(**params)


def test_use_before_build_raises_not_fitted():
    index = VectorIndex()
    with pytest.raises(NotFittedError, match="call build"):
        index.search(np.ones((1, 4)), 3)
    with pytest.raises(NotFittedError):
        _ = index.vectors
    with pytest.raises(NotFittedError):
        _ = index.dim


def test_search_each_in_small_blocks_equals_one_block(monkeypatch):
    index, x = small_exact()
    rng = np.random.default_rng(15)
    q = random_vectors(9, 16, seed=16)
    allowed = np.arange(0, 300, 2)
    rows = [rng.choice(300, 40, replace=False) for _ in q]
    one = index.search_each(q, 7, allowed, rows)
    monkeypatch.setattr(vi, "_DENSE_BLOCK", 2 * allowed.size)  # two rows per block
    blocks = index.search_each(q, 7, allowed, rows)
    np.testing.assert_allclose(one[1], blocks[1], rtol=1e-5)  # BLAS rounding differs by shape
    np.testing.assert_array_equal(one[0], blocks[0])
    for i in range(len(q)):
        want, mask = brute_force(x, q[i : i + 1], 7, allowed, rows[i])
        assert_valid(blocks[1][i : i + 1], blocks[0][i : i + 1], mask, 7)
        np.testing.assert_allclose(blocks[1][i], want[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("row", [np.array([[1, 2]]), np.array([1.5]), np.array([-1])])
def test_search_each_bad_exclusion_rows_raise(row):
    index, x = small_exact()
    with pytest.raises(InvalidInputError, match="excluded"):
        index.search_each(x[:2], 3, None, [np.array([1]), row])
