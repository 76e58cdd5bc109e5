"""Layer 3: FAISS search over item vectors with store and business filters inside the search.

:class:`VectorIndex` is the entry point; :mod:`recsys.index.selectors` builds the FAISS id
selectors. FAISS' OpenMP thread count is process-global: the serving process sets it once
(one thread per request is best for single-member latency) with :func:`set_faiss_threads`;
nothing else in this package changes it.
"""

from __future__ import annotations

import faiss

from recsys.exceptions import InvalidInputError
from recsys.index.selectors import IdFilter, Selector, make_selector, resolve_filter
from recsys.index.vector_index import EXACT_MAX_IDS, VectorIndex

__all__ = [
    "EXACT_MAX_IDS",
    "IdFilter",
    "Selector",
    "VectorIndex",
    "faiss_threads",
    "make_selector",
    "resolve_filter",
    "set_faiss_threads",
]


def set_faiss_threads(n: int) -> int:
    """Set the number of OpenMP threads FAISS uses in this process; returns the previous value.

    Process-global: call it once at start-up (the recommender does), not per request.

    Parameters
    ----------
    n : int
        Threads, >= 1.

    Returns
    -------
    int
        The previous setting.

    Examples
    --------
    >>> previous = set_faiss_threads(1)
    >>> faiss_threads()
    1
    >>> _ = set_faiss_threads(previous)
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidInputError(f"FAISS threads must be a positive integer, got {n!r}")
    previous = faiss_threads()
    faiss.omp_set_num_threads(n)
    return previous


def faiss_threads() -> int:
    """The number of OpenMP threads FAISS currently uses.

    Examples
    --------
    >>> faiss_threads() >= 1
    True
    """
    return int(faiss.omp_get_max_threads())
