"""The top-k primitives of the array core, against NumPy brute force and worked examples."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.recommender.ranking import Rows, top_k


def test_rows_take_gather_and_plus_by_hand():
    rows = Rows.from_lists([np.array([4, 1]), np.array([], np.int64), np.array([7])])
    taken = rows.take(np.array([2, 0]))
    assert taken.indptr.tolist() == [0, 1, 3] and taken.indices.tolist() == [7, 4, 1]
    csr = sp.csr_matrix(([1, 1, 1], ([0, 0, 2], [4, 1, 7])), shape=(3, 9))
    gathered = Rows.gather(csr.indptr, csr.indices, np.array([1, 2]))
    assert gathered.indptr.tolist() == [0, 0, 1] and gathered.indices.tolist() == [7]
    plus = rows.plus(np.array([3]))
    bounds = plus.indptr.tolist()
    got = [plus.indices[a:b].tolist() for a, b in itertools.pairwise(bounds)]
    assert got == [[4, 1, 3], [3], [7, 3]]


@pytest.mark.parametrize("n_rows", [1, 5])
@pytest.mark.parametrize("k", [1, 3, 12])
def test_top_k_equals_brute_force(n_rows, k):
    rng = np.random.default_rng(n_rows * 100 + k)
    columns = np.sort(rng.choice(50, 10, replace=False))
    scores = rng.standard_normal((n_rows, 10)).astype(np.float32)
    excluded = [rng.choice(columns, 2, replace=False) for _ in range(n_rows)]
    ids, vals = top_k(scores.copy(), k, columns, Rows.from_lists(excluded))
    for r in range(n_rows):
        keep = ~np.isin(columns, excluded[r])
        order = np.argsort(-scores[r][keep], kind="stable")[:k]
        want = columns[keep][order]
        assert ids[r][: len(want)].tolist() == want.tolist()
        assert (ids[r][len(want) :] == -1).all() and np.isneginf(vals[r][len(want) :]).all()
        np.testing.assert_allclose(vals[r][: len(want)], scores[r][keep][order])
