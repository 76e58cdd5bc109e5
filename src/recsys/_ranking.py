"""Top-k over dense score rows with the same filter semantics as the FAISS search.

Score-only models (EASE, item-kNN, popularity) give a dense row per member; the shelf is the
best ``k`` among the allowed SKUs minus that member's excluded ones. Excluded entries are set
to ``-inf`` before selection, so nothing is fetched and then dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def top_k_dense(
    scores: np.ndarray,
    k: int,
    allowed: np.ndarray | None,
    excluded: Sequence[np.ndarray | None],
) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` ids per row among ``allowed`` minus ``excluded[row]``.

    Parameters
    ----------
    scores : ndarray, shape (n, n_items)
    k : int
    allowed : sorted ndarray of int or None
        Candidate ids shared by all rows; ``None`` means every id.
    excluded : sequence of ndarray or None, length n
        Ids each row must not return.

    Returns
    -------
    ids : ndarray of int64, shape (n, k), padded with -1
    values : ndarray of float32, shape (n, k), padded with -inf

    Examples
    --------
    >>> s = np.array([[0.1, 0.9, 0.5, 0.7]], dtype=np.float32)
    >>> ids, vals = top_k_dense(s, 3, np.array([0, 2, 3]), [np.array([3])])
    >>> ids.tolist()
    [[2, 0, -1]]
    """
    scores = np.asarray(scores, dtype=np.float32)
    n = scores.shape[0]
    cand = (
        np.arange(scores.shape[1], dtype=np.int64)
        if allowed is None
        else np.asarray(allowed, np.int64)
    )
    sub = scores[:, cand] if allowed is not None else scores.copy()
    for row, ex in enumerate(excluded):
        if ex is None or not len(ex):
            continue
        ex = np.asarray(ex, dtype=np.int64)
        if allowed is None:
            sub[row, ex] = -np.inf
            continue
        pos = np.searchsorted(cand, ex)
        valid = pos < len(cand)
        pos, ex = pos[valid], ex[valid]
        sub[row, pos[cand[pos] == ex]] = -np.inf
    ids = np.full((n, k), -1, dtype=np.int64)
    vals = np.full((n, k), -np.inf, dtype=np.float32)
    m = sub.shape[1]
    if m == 0:
        return ids, vals
    kk = min(k, m)
    part = (
        np.argpartition(-sub, kk - 1, axis=1)[:, :kk] if kk < m else np.tile(np.arange(m), (n, 1))
    )
    part_vals = np.take_along_axis(sub, part, axis=1)
    order = np.argsort(-part_vals, axis=1, kind="stable")
    top = np.take_along_axis(part, order, axis=1)
    top_vals = np.take_along_axis(part_vals, order, axis=1)
    ok = np.isfinite(top_vals)
    ids[:, :kk] = np.where(ok, cand[top], -1)
    vals[:, :kk] = np.where(ok, top_vals, -np.inf)
    return ids, vals
