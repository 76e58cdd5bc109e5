"""EASE: closed-form item-item regression (Steck, "Embarrassingly Shallow Autoencoders", 2019)."""

from __future__ import annotations

import os
import warnings
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack
from threadpoolctl import threadpool_limits

from recsys.data.matrices import TrainingMatrices
from recsys.exceptions import InvalidInputError, RecsysWarning
from recsys.models.base import ItemItemModel, check_float, check_int, register
from recsys.models.popularity import members_matrix

_BLOCK = 2048  # rows mirrored at a time when symmetrising the inverse


def _spd_inverse_inplace(a: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite float32 matrix, reusing its buffer.

    Cholesky (``potrf``) then ``potri``: half the flops of an LU inverse. ``potri`` fills
    one triangle; the other is mirrored block by block so no second n² buffer is needed.
    """
    chol, info = lapack.spotrf(a, lower=False, clean=False, overwrite_a=True)
    if info != 0:
        raise InvalidInputError(
            "EASE Gram matrix is not positive definite (non-finite confidences?); "
            "check the data or raise regularization"
        )
    inv, info = lapack.spotri(chol, lower=False, overwrite_c=True)
    if info != 0:  # pragma: no cover - potrf succeeded, so the factor is invertible
        raise InvalidInputError("EASE inversion failed; raise regularization")
    n = inv.shape[0]
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        inv[start:stop, :start] = inv[:start, start:stop].T
        diag = inv[start:stop, start:stop]
        diag[...] = np.triu(diag) + np.triu(diag, 1).T
    return inv


@register
class EASEModel(ItemItemModel):
    """EASE item-item weights ``B = I - P / diag(P)``, ``P = (XᵀX + λI)⁻¹``, zero diagonal.

    A score model: a member's scores are ``history @ B``. Training is one dense
    ``n_items x n_items`` float32 Cholesky inverse done in place (memory ``4 n_items²``
    bytes, 1.6 GB at 20k SKUs, and ``n_items³ / 3`` flops twice), so it suits a chain's
    catalog, not a marketplace. Its inverse runs on ``num_threads`` BLAS threads, whatever
    ``OPENBLAS_NUM_THREADS`` says (set to 1 for ``implicit``'s sake, it would leave every
    core but one idle through the longest step of a blend's fit).
    ``X`` is 1 where a member has events with a SKU (``binary``, the default, as in Steck's
    paper: a staple rebought every week weighs as much as a SKU bought once), or the
    confidence matrix (event weights, so a purchase counts more than a view). A member's
    history is then read as ``log(1 + confidence)`` (:meth:`read`), or as the confidence.

    Parameters
    ----------
    regularization : float
        λ, added to the diagonal of the Gram matrix (> 0). Larger values smooth more.
    max_items : int
        At most this many SKUs get item-item weights (memory ``4 max_items²`` bytes: 400 MB
        at the default 10,000). A larger catalog keeps its ``max_items`` SKUs with the most
        confidence, says so with a :class:`~recsys.exceptions.RecsysWarning`, and scores
        the others 0 (a blend ranks them with its other parts).
    num_threads : int
        BLAS threads of the inverse; 0 (the default) means one per core, as ``implicit``'s
        ``num_threads`` does.
    binary : bool
        Fit on which member has events with which SKU (default), or on the confidence.

    Attributes
    ----------
    weights_ : ndarray, float32, shape (n_kept, n_kept)
        ``B``; its diagonal is zero, so an SKU never recommends itself.
    items_ : ndarray of int64
        The SKUs ``weights_`` covers (every SKU unless the catalog exceeds ``max_items``).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from recsys.data.matrices import TrainingMatrices
    >>> m = TrainingMatrices.from_confidence(sp.random(30, 20, density=0.2, random_state=0))
    >>> ease = EASEModel(regularization=10.0).fit(m)
    >>> ease.weights_.shape, float(abs(ease.weights_.diagonal()).max())
    ((20, 20), 0.0)
    """

    name: ClassVar[str] = "ease"

    weights_: np.ndarray

    def __init__(
        self,
        regularization: float = 500.0,
        max_items: int = 10_000,
        num_threads: int = 0,
        binary: bool = True,
    ) -> None:
        self.regularization = regularization
        self.max_items = max_items
        self.num_threads = num_threads
        self.binary = binary

    def _fit(self, matrices: TrainingMatrices) -> None:
        lam = check_float("regularization", self.regularization)
        limit = check_int("max_items", self.max_items)
        threads = check_int("num_threads", self.num_threads, minimum=0) or os.cpu_count() or 1
        if not isinstance(self.binary, bool):
            raise InvalidInputError(f"binary must be True or False, got {self.binary!r}")
        x = (
            members_matrix(matrices)
            if self.binary
            else sp.csr_matrix(matrices.confidence, dtype=np.float32)
        )
        self.items_ = np.arange(x.shape[1], dtype=np.int64)
        if x.shape[1] > limit:
            volume = np.asarray(x.sum(axis=0)).ravel()
            self.items_ = np.sort(np.argsort(-volume, kind="stable")[:limit]).astype(np.int64)
            warnings.warn(
                f"EASE keeps the {limit:,} SKUs with the most events of {x.shape[1]:,}: all "
                f"of them would need a dense {x.shape[1]:,}² inverse "
                f"({4 * x.shape[1] ** 2 / 1e9:.1f} GB); the others score 0 "
                "(raise max_items to keep more)",
                RecsysWarning,
                stacklevel=4,
            )
            x = sp.csr_matrix(x[:, self.items_])
        gram = np.asarray((x.T @ x).toarray(), dtype=np.float32)
        gram[np.diag_indices_from(gram)] += lam
        # the Gram matrix plus λI is SPD: a float32 inverse in place keeps one n² buffer
        # gram is symmetric, so its transpose is the same matrix in the Fortran order LAPACK
        # wants: no copy in, and the transposed result is C-ordered again
        with threadpool_limits(threads, "blas"):
            p = _spd_inverse_inplace(gram.T).T
        diag = np.diag(p).copy()
        p /= -diag[np.newaxis, :]
        np.fill_diagonal(p, 0.0)
        self.weights_ = np.ascontiguousarray(p, dtype=np.float32)

    def read(self, history: sp.csr_matrix) -> sp.csr_matrix:
        """A history as EASE weighs it: ``log(1 + confidence)`` when ``binary`` (the weights
        were fitted on 0/1; a long view or a rebuy still counts a little more than a
        glance), the confidence otherwise."""
        if not self.binary:
            return history
        out = sp.csr_matrix(history, dtype=np.float32, copy=True)
        out.data = np.log1p(np.maximum(out.data, 0.0)).astype(np.float32)
        return out
