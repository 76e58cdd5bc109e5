"""Next buys: what members first buy in a period, regressed on what they had before it."""

from __future__ import annotations

import os
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from scipy.linalg import LinAlgError, solve
from threadpoolctl import threadpool_limits

from recsys.data.matrices import TrainingMatrices, matrices_of_events, purchases_after
from recsys.exceptions import InvalidInputError
from recsys.models.base import ItemItemModel, check_float, check_int
from recsys.models.popularity import members_matrix

__all__ = ["NextBuysModel"]


class NextBuysModel(ItemItemModel):
    """Ridge regression from the SKUs a member has to the SKUs they take up next.

    Item-kNN and EASE learn which SKUs go together over whole histories. This model learns
    the direction of time: what members who had these SKUs went on to buy for the first
    time in the period after (the season's turn, the range members move on to). The log is
    cut at ``periods`` instants, one ``period`` (a share of its time span) apart, the last
    one a ``period`` before its end. At each cut, ``X`` is 1 where a member had events with
    a SKU before it, and ``Y`` is 1 where they bought a SKU in the period after it that
    ``X`` does not hold. The weights are ``W = (Σ XᵀX + λI)⁻¹ Σ XᵀY``, with ``λ`` =
    ``regularization`` × the mean diagonal of ``Σ XᵀX``, and a member's scores are
    ``x @ W``, ``x`` being 1 where they have events with a SKU.

    ``W`` is dense over the ``max_items`` SKUs the most members have (memory
    ``4 max_items²`` bytes; the others score 0). Without event times, or without a
    purchase in any period, it learns nothing and scores 0. The blend validates it like
    any other part (:class:`~recsys.models.BlendModel`).

    Parameters
    ----------
    regularization : float
        ``λ`` as a multiple of the mean diagonal of ``Σ XᵀX``.
    periods : int
        Cuts of the log (training pairs of what members had, and what they took up next).
    period : float in (0, 1)
        Length of each period, as a share of the log's time span (``periods * period``
        must not exceed 1).
    max_items : int
        At most this many SKUs get weights.
    num_threads : int
        BLAS threads of the solve; 0 means one per core.

    Attributes
    ----------
    weights_ : ndarray of float32, shape (len(items_), len(items_))
        ``W``: row ``h``, what having SKU ``items_[h]`` adds to each SKU.
    items_ : ndarray of int64
        The SKUs ``weights_`` covers.

    Examples
    --------
    A member who had SKU 0 took up SKU 1 the next month, another took up SKU 2 after SKU 3:

    >>> from recsys.data import RetailDataset
    >>> import pandas as pd
    >>> events = pd.DataFrame({
    ...     "user_id": ["a", "a", "b", "b", "c"],
    ...     "item_id": ["s0", "s1", "s3", "s2", "s0"],
    ...     "timestamp": pd.to_datetime(["2025-01-05", "2025-11-20", "2025-01-06",
    ...                                  "2025-11-21", "2025-12-30"]),
    ...     "kind": "purchase",
    ... })
    >>> ds = RetailDataset.build(events)
    >>> model = NextBuysModel(periods=2, period=0.2, regularization=0.1).fit(ds.matrices)
    >>> c = ds.users.index_of("c")  # c has SKU s0
    >>> scores = model.score([c], ds.matrices.confidence[[c]])
    >>> str(ds.items.to_ids(scores.argmax(axis=1))[0])
    's1'
    """

    name: ClassVar[str] = "next_buys"

    def __init__(
        self,
        regularization: float = 5.0,
        periods: int = 4,
        period: float = 0.1,
        max_items: int = 3_000,
        num_threads: int = 0,
    ) -> None:
        self.regularization = regularization
        self.periods = periods
        self.period = period
        self.max_items = max_items
        self.num_threads = num_threads

    def _fit(self, matrices: TrainingMatrices) -> None:
        scale = check_float("regularization", self.regularization)
        periods = check_int("periods", self.periods)
        period = check_float("period", self.period)
        if periods * period > 1:
            raise InvalidInputError(
                f"periods x period must not exceed 1 (the log's span), got {periods} x {period}"
            )
        limit = check_int("max_items", self.max_items)
        threads = check_int("num_threads", self.num_threads, minimum=0) or os.cpu_count() or 1
        members = np.asarray(members_matrix(matrices).sum(axis=0)).ravel()
        keep = min(limit, matrices.n_items)
        self.items_ = np.sort(np.argsort(-members, kind="stable")[:keep]).astype(np.int64)
        self.weights_ = np.zeros((keep, keep), dtype=np.float32)
        events = matrices.events
        if events is None or not events.has_times or not len(events):
            return
        shape = (matrices.n_users, matrices.n_items)
        first, last = int(events.seconds.min()), int(events.seconds.max())
        step = period * (last - first)
        gram = np.zeros((keep, keep))
        cross = np.zeros((keep, keep))
        for k in range(periods, 0, -1):
            cut = last - k * step
            before = matrices_of_events(events.subset(events.seconds < cut), matrices)
            x = members_matrix(before)[:, self.items_]
            after = events.subset((events.seconds >= cut) & (events.seconds < cut + step))
            y = purchases_after(after, *shape)[:, self.items_]
            y = sp.csr_matrix(y - y.multiply(x))
            y.eliminate_zeros()
            gram += (x.T @ x).toarray()
            cross += (x.T @ y).toarray()
        if not cross.any():
            return
        gram[np.diag_indices_from(gram)] += scale * max(float(np.diag(gram).mean()), 1.0)
        try:
            with threadpool_limits(threads, "blas"):
                weights = solve(gram, cross, assume_a="pos", overwrite_a=True, check_finite=False)
        except LinAlgError as exc:  # pragma: no cover - λ > 0 keeps the matrix definite
            message = f"next-buys solve failed ({exc}); raise regularization"
            raise InvalidInputError(message) from exc
        self.weights_ = np.ascontiguousarray(weights, dtype=np.float32)

    def read(self, history: sp.csr_matrix) -> sp.csr_matrix:
        """A history as the weights read it: 1 where the member has events with a SKU."""
        out = sp.csr_matrix(history, dtype=np.float32, copy=True)
        out.data = (out.data > 0).astype(np.float32)
        return out
