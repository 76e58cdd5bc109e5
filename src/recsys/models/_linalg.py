"""Small numerical helpers shared by the models (ridge regression, sparse state, counts)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse as sp


def ridge(
    features: sp.spmatrix, targets: np.ndarray, regularization: float
) -> tuple[np.ndarray, np.ndarray]:
    """Ridge regression with an unpenalised intercept: ``targets ~ features @ W + b``.

    Solved by the normal equations on ``[features, 1]``, which stay small (one row and
    column per feature) however many rows there are, and keep ``features`` sparse.

    Parameters
    ----------
    features : sparse matrix, shape (n, f)
        Inputs; ``f`` may be 0 (then ``W`` is empty and ``b`` is the mean target).
    targets : ndarray, shape (n, k)
        What to predict.
    regularization : float
        L2 penalty on ``W`` (not on ``b``).

    Returns
    -------
    W : ndarray, float32, shape (f, k)
    b : ndarray, float32, shape (k,)

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> X = sp.csr_matrix(np.eye(2).repeat(3, axis=0))
    >>> W, b = ridge(X, np.array([[1.0], [1.0], [1.0], [3.0], [3.0], [3.0]]), 1e-6)
    >>> np.round(X @ W + b, 3).ravel().tolist()
    [1.0, 1.0, 1.0, 3.0, 3.0, 3.0]
    """
    x = sp.csr_matrix(features, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    n, f = x.shape
    if n == 0:
        return np.zeros((f, y.shape[1]), np.float32), np.zeros(y.shape[1], np.float32)
    xa = sp.hstack([x, np.ones((n, 1))], format="csr")
    gram = (xa.T @ xa).toarray()
    gram[np.arange(f), np.arange(f)] += regularization
    rhs = np.asarray(xa.T @ y)
    # the intercept row is unpenalised; a tiny jitter keeps all-zero feature columns solvable
    gram[np.arange(f + 1), np.arange(f + 1)] += 1e-9 * max(1.0, float(np.trace(gram)) / (f + 1))
    coef = scipy.linalg.solve(gram, rhs, assume_a="pos")
    return coef[:f].astype(np.float32), coef[f].astype(np.float32)


def as_csr(matrix: Any) -> sp.csr_matrix:
    """``matrix`` as a CSR matrix: itself when it is one (no copy, no format check)."""
    return matrix if type(matrix) is sp.csr_matrix else sp.csr_matrix(matrix)


def positive_counts(history: sp.csr_matrix) -> np.ndarray:
    """Number of distinct SKUs with positive confidence in each row (duplicates summed)."""
    h = as_csr(history)
    if not h.has_canonical_format:
        h = h.copy()
        h.sum_duplicates()
    rows = np.repeat(np.arange(h.shape[0]), np.diff(h.indptr))
    return np.bincount(rows, weights=h.data > 0, minlength=h.shape[0]).astype(np.float32)


def scale_rows_to_max(scores: np.ndarray) -> np.ndarray:
    """Divide each row by its maximum absolute value (rows of zeros stay zero), in place."""
    peak = np.abs(scores).max(axis=1, keepdims=True) if scores.shape[1] else None
    if peak is not None:
        np.divide(scores, peak, out=scores, where=peak > 0)
    return scores


def sparse_to_state(prefix: str, matrix: sp.spmatrix) -> dict[str, np.ndarray]:
    """A CSR matrix as plain arrays (``np.savez(..., allow_pickle=False)`` safe)."""
    m = sp.csr_matrix(matrix)
    return {
        f"{prefix}_data": np.asarray(m.data),
        f"{prefix}_indices": np.asarray(m.indices),
        f"{prefix}_indptr": np.asarray(m.indptr),
        f"{prefix}_shape": np.asarray(m.shape, dtype=np.int64),
    }


def sparse_from_state(prefix: str, state: dict[str, np.ndarray]) -> sp.csr_matrix:
    """Inverse of :func:`sparse_to_state`."""
    shape = tuple(int(v) for v in state[f"{prefix}_shape"])
    return sp.csr_matrix(
        (state[f"{prefix}_data"], state[f"{prefix}_indices"], state[f"{prefix}_indptr"]),
        shape=shape,
    )


def prefixed(prefix: str, state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Namespace a nested model's state (``als__user_factors``...)."""
    return {f"{prefix}__{k}": v for k, v in state.items()}


def unprefixed(prefix: str, state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Inverse of :func:`prefixed`: the arrays of one nested model."""
    head = f"{prefix}__"
    return {k[len(head) :]: v for k, v in state.items() if k.startswith(head)}
