"""`VectorIndex`: FAISS top-k search over item vectors with the filters applied inside FAISS.

Three kinds share one API:

* ``"exact"``: ``IndexFlatIP``, brute force, exact.
* ``"hnsw"``: ``IndexHNSWFlat`` (graph); its flat storage doubles as the exact index.
* ``"ivf"``: ``IndexIVFFlat`` (inverted lists) plus a separate ``IndexFlatIP``.

Filtered search on a graph or on inverted lists loses recall when few ids pass (the walk
rarely meets an allowed item), and an exact scan of a few thousand ids costs less than a
graph walk. So the approximate kinds route a search to the exact index whenever
``count <= max(exact_fraction * n, EXACT_MAX_IDS)`` ids pass the filter; a typical store
allow-list (a few hundred SKUs) is therefore always searched exactly (~25 µs inside FAISS,
~55 µs per `search` call with validation and selector set-up, whatever the catalog size).

Per-request knobs (``efSearch``, ``nprobe``) travel in ``SearchParametersHNSW`` /
``SearchParametersIVF`` with the selector; the shared index is never mutated by a search,
so concurrent searches from several threads are safe (``build`` must not run concurrently
with searches). The number of FAISS OpenMP threads is global: the recommender sets it once
with :func:`recsys.index.set_faiss_threads`; this module never changes it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeAlias

import faiss
import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from recsys.exceptions import ArtifactError, InvalidInputError, NotFittedError
from recsys.index.selectors import IdFilter, make_selector, resolve_filter

__all__ = ["EXACT_MAX_IDS", "ExcludedRows", "VectorIndex"]

#: Per-row exclusions: a CSR matrix, its ``(indptr, indices)``, or one id array per row.
ExcludedRows: TypeAlias = sp.spmatrix | tuple[ArrayLike, ArrayLike] | Sequence[ArrayLike]

#: faiss with the attributes its SWIG stubs leave out (SearchParametersHNSW, RandomGenerator)
_faiss: Any = faiss

#: An exact scan of this many 64-d vectors (~80 µs) is cheaper than an HNSW walk with
#: ``efSearch=128`` (~200 µs) and has recall 1.0, so approximate kinds route to it.
EXACT_MAX_IDS = 4096

#: Rows x allowed-items scored per block by the dense path of :meth:`VectorIndex.search_each`.
_DENSE_BLOCK = 1 << 22

_FORMAT = "recsys.index"
_FORMAT_VERSION = 1
_MANIFEST = "index.json"
_KINDS = ("exact", "hnsw", "ivf")
_METRICS = ("ip", "cosine")


class _Buffer:
    """Exposes FAISS-owned memory to NumPy while keeping the owning index alive."""

    def __init__(self, view: NDArray[np.float32], owner: Any) -> None:
        self.__array_interface__ = view.__array_interface__
        self._owner = owner


def _check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise InvalidInputError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class VectorIndex:
    """Top-k inner-product search over item vectors, filtered inside FAISS.

    Parameters
    ----------
    kind : {"exact", "hnsw", "ivf"}, default "exact"
        ``"exact"`` is brute force (best up to a few hundred thousand items with store
        allow-lists); ``"hnsw"`` / ``"ivf"`` are approximate for unfiltered or broadly
        filtered search over large catalogs.
    metric : {"ip", "cosine"}, default "ip"
        Inner product (CF factors), or cosine (vectors and queries L2-normalized).
    hnsw_m : int, default 32
        Graph degree of HNSW.
    ef_search : int, default 128
        HNSW search depth (raised to ``k`` when ``k`` is larger), passed per call.
    ivf_nlist : int or None, default None
        Number of IVF lists; ``None`` means ``4 * sqrt(n)``, at most ``n / 39`` so that
        k-means has enough training points per centroid.
    nprobe : int, default 16
        IVF lists visited per query, passed per call.
    seed : int, default 0
        Seed of IVF k-means and of HNSW level draws.
    exact_fraction : float, default 0.05
        Approximate kinds search the exact index when at most this fraction of the items
        (or at most :data:`EXACT_MAX_IDS` items) pass the filter.
    ef_construction : int, default 80
        HNSW build depth.

    Attributes
    ----------
    index_ : faiss.Index
        The index searched without (or with a broad) filter.
    exact_index_ : faiss.IndexFlat
        The exact index (``index_`` itself for ``kind="exact"``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> items = rng.standard_normal((1000, 16)).astype(np.float32)
    >>> index = VectorIndex("exact").build(items)
    >>> ids, scores = index.search(items[:2], k=3, allowed=np.arange(0, 1000, 2))
    >>> ids.shape, bool(np.all(ids % 2 == 0))
    ((2, 3), True)
    >>> int(ids[0, 0])
    0
    """

    _PARAMS: ClassVar[tuple[str, ...]] = (
        "kind",
        "metric",
        "hnsw_m",
        "ef_search",
        "ivf_nlist",
        "nprobe",
        "seed",
        "exact_fraction",
        "ef_construction",
    )

    def __init__(
        self,
        kind: str = "exact",
        metric: str = "ip",
        hnsw_m: int = 32,
        ef_search: int = 128,
        ivf_nlist: int | None = None,
        nprobe: int = 16,
        seed: int = 0,
        exact_fraction: float = 0.05,
        ef_construction: int = 80,
    ) -> None:
        self._kind = kind
        self.metric = metric
        self.hnsw_m = hnsw_m
        self.ef_search = ef_search
        self.ivf_nlist = ivf_nlist
        self.nprobe = nprobe
        self.seed = seed
        self.exact_fraction = exact_fraction
        self.ef_construction = ef_construction
        self.index_: Any = None  # faiss.Index (its SWIG stubs are partial: typed as Any)
        self.exact_index_: Any = None  # faiss.IndexFlat
        self._vectors: NDArray[np.float32] | None = None
        self._validate_params()

    # ------------------------------------------------------------------ parameters

    def _validate_params(self) -> None:
        if self._kind not in _KINDS:
            raise InvalidInputError(f"kind must be one of {_KINDS}, got {self._kind!r}")
        if self.metric not in _METRICS:
            raise InvalidInputError(f"metric must be one of {_METRICS}, got {self.metric!r}")
        _check_positive_int(self.hnsw_m, "hnsw_m")
        _check_positive_int(self.ef_search, "ef_search")
        _check_positive_int(self.nprobe, "nprobe")
        _check_positive_int(self.ef_construction, "ef_construction")
        if self.ivf_nlist is not None:
            _check_positive_int(self.ivf_nlist, "ivf_nlist")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)):
            raise InvalidInputError(f"seed must be an integer, got {self.seed!r}")
        if not (isinstance(self.exact_fraction, (int, float)) and 0 <= self.exact_fraction <= 1):
            raise InvalidInputError(
                f"exact_fraction must be a number in [0, 1], got {self.exact_fraction!r}"
            )

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters, as given (JSON-serializable).

        Examples
        --------
        >>> VectorIndex("hnsw", hnsw_m=16).get_params()["hnsw_m"]
        16
        """
        params = {name: getattr(self, name) for name in self._PARAMS}
        return {k: (int(v) if isinstance(v, np.integer) else v) for k, v in params.items()}

    # ------------------------------------------------------------------ properties

    @property
    def kind(self) -> str:
        """``"exact"``, ``"hnsw"`` or ``"ivf"``."""
        return self._kind

    @property
    def is_built(self) -> bool:
        """``True`` once :meth:`build` or :meth:`load` has run."""
        return self.exact_index_ is not None

    def _require_built(self) -> faiss.IndexFlat:
        if self.exact_index_ is None:
            raise NotFittedError("VectorIndex isn't built: call build(vectors) or load() first")
        return self.exact_index_

    @property
    def ntotal(self) -> int:
        """Number of indexed items (0 before :meth:`build`)."""
        return 0 if self.exact_index_ is None else int(self.exact_index_.ntotal)

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self._require_built().d)

    @property
    def vectors(self) -> NDArray[np.float32]:
        """Read-only ``(n, d)`` float32 view of the indexed vectors (no copy).

        For ``metric="cosine"`` these are the L2-normalized vectors. Used for item-item
        similarity (reasons); row ``i`` is item id ``i``.
        """
        self._require_built()
        assert self._vectors is not None
        return self._vectors

    def __repr__(self) -> str:
        state = f"ntotal={self.ntotal}, dim={self.dim}" if self.is_built else "not built"
        return f"VectorIndex(kind={self._kind!r}, metric={self.metric!r}, {state})"

    # ------------------------------------------------------------------ build

    def build(self, vectors: ArrayLike) -> VectorIndex:
        """Index ``vectors``; row ``i`` gets id ``i``. Rebuilding starts from scratch.

        Parameters
        ----------
        vectors : array-like of shape (n, d)
            Item vectors; copied to C-contiguous float32.

        Returns
        -------
        VectorIndex
            ``self``.

        Raises
        ------
        InvalidInputError
            If ``vectors`` is not a non-empty 2-d numeric array of finite values.

        Examples
        --------
        >>> import numpy as np
        >>> index = VectorIndex("ivf", nprobe=4).build(np.eye(64, dtype=np.float32))
        >>> index.ntotal, index.dim, index.kind
        (64, 64, 'ivf')
        """
        self._validate_params()
        x = self._as_matrix(vectors)
        n, d = x.shape
        if self.metric == "cosine":
            x = self._normalized(x)
        if self._kind == "exact":
            index: Any = faiss.IndexFlatIP(d)
            index.add(x)
            exact = index
        elif self._kind == "hnsw":
            index = faiss.IndexHNSWFlat(d, int(self.hnsw_m), faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = int(self.ef_construction)
            index.hnsw.efSearch = int(self.ef_search)
            index.hnsw.rng = _faiss.RandomGenerator(int(self.seed))  # level draws
            index.add(x)
            exact = faiss.downcast_index(index.storage)  # shares the vectors, no copy
        else:
            nlist = self._nlist(n)
            quantizer = faiss.IndexFlatIP(d)
            index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
            index.cp.seed = int(self.seed)
            index.train(x)
            index.add(x)
            index.nprobe = min(int(self.nprobe), nlist)
            exact = faiss.IndexFlatIP(d)
            exact.add(x)
        self._install(index, exact)
        return self

    def extended(self, vectors: ArrayLike) -> VectorIndex:
        """A new index holding this one's vectors, then ``vectors`` (ids ``ntotal``, ...).

        This index is left as it is (searches running on it are safe). Approximate kinds
        add to a copy of the built structure: IVF lists are not retrained and the HNSW graph
        is not rebuilt, which is what keeps adding a few SKUs cheap.

        Examples
        --------
        >>> import numpy as np
        >>> index = VectorIndex("exact").build(np.eye(4, dtype=np.float32))
        >>> grown = index.extended(np.full((1, 4), 0.5, dtype=np.float32))
        >>> index.ntotal, grown.ntotal, int(grown.search(np.ones((1, 4)), k=1)[0][0, 0])
        (4, 5, 4)
        """
        exact = self._require_built()
        x = self._as_matrix(vectors)
        if x.shape[1] != exact.d:
            raise InvalidInputError(f"vectors must have {exact.d} columns, got {x.shape[1]}")
        if self.metric == "cosine":
            x = self._normalized(x)
        out = VectorIndex(**self.get_params())
        index = faiss.clone_index(self.index_)
        index.add(x)
        if self._kind == "exact":
            grown = index
        elif self._kind == "hnsw":
            grown = faiss.downcast_index(index.storage)  # type: ignore[attr-defined]
        else:
            grown = faiss.clone_index(exact)
            grown.add(x)
        out._install(index, grown)
        return out

    def _nlist(self, n: int) -> int:
        if self.ivf_nlist is not None:
            return max(1, min(int(self.ivf_nlist), n))
        return max(1, min(round(4 * math.sqrt(n)), n // 39))

    def _install(self, index: Any, exact: Any) -> None:
        n, d = int(exact.ntotal), int(exact.d)
        raw = faiss.rev_swig_ptr(exact.get_xb(), n * d)
        # `index` owns the flat storage for HNSW; the buffer keeps it alive with the view.
        view = np.asarray(_Buffer(raw, (index, exact))).reshape(n, d)
        view.flags.writeable = False
        self.index_, self.exact_index_, self._vectors = index, exact, view

    @staticmethod
    def _normalized(x: NDArray[np.float32]) -> NDArray[np.float32]:
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return np.ascontiguousarray(x / norms, dtype=np.float32)

    @staticmethod
    def _as_matrix(vectors: ArrayLike) -> NDArray[np.float32]:
        try:
            arr = np.array(vectors, dtype=np.float32, order="C", copy=True)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"vectors must be a numeric (n, d) array: {exc}") from None
        if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
            raise InvalidInputError(f"vectors must be a non-empty (n, d) array, got {arr.shape}")
        if not np.isfinite(arr).all():
            raise InvalidInputError("vectors hold NaN or infinite values")
        return arr

    def _as_queries(self, queries: ArrayLike) -> NDArray[np.float32]:
        d = self._require_built().d
        try:
            q = np.asarray(queries, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"queries must be a numeric (m, d) array: {exc}") from None
        if q.ndim == 1:
            q = q[None, :]
        if q.ndim != 2 or q.shape[1] != d:
            raise InvalidInputError(f"queries must have shape (m, {d}), got {np.shape(queries)}")
        # One float64 reduction: finite float32 values cannot overflow it; NaN / inf propagate.
        if not math.isfinite(q.sum(dtype=np.float64)):
            raise InvalidInputError("queries hold NaN or infinite values")
        if self.metric == "cosine":
            return self._normalized(q)
        return np.ascontiguousarray(q)

    # ------------------------------------------------------------------ search

    def search(
        self,
        queries: ArrayLike,
        k: int,
        allowed: ArrayLike | None = None,
        excluded: ArrayLike | None = None,
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Top-``k`` items for each query among the ids passing one shared filter.

        One FAISS call serves all ``m`` queries; the filter is a FAISS ``IDSelector``, so
        FAISS never considers a filtered id (no over-fetching).

        Parameters
        ----------
        queries : array-like of shape (m, d) or (d,)
            Query vectors (member vectors).
        k : int
            Results per query (> 0); may exceed the number of items.
        allowed : array-like of int, optional
            Sorted ``int64`` ids that may be returned (store assortment ∩ catalog mask);
            ``None`` means all. An empty array returns no items.
        excluded : array-like of int, optional
            Ids that must not be returned (already bought, explicit excludes).

        Returns
        -------
        ids : ndarray of int64, shape (m, k)
            Item ids; ``-1`` in padding when fewer than ``k`` items pass.
        scores : ndarray of float32, shape (m, k)
            Descending per row; ``-inf`` in padding.

        Raises
        ------
        InvalidInputError
            Bad ``k``, query shape, or ids outside ``[0, ntotal)``.
        NotFittedError
            Before :meth:`build`.

        Examples
        --------
        >>> import numpy as np
        >>> index = VectorIndex().build(np.eye(4, dtype=np.float32))
        >>> ids, scores = index.search([[1.0, 0.5, 0.2, 0.0]], k=3, allowed=[0, 1, 3],
        ...                            excluded=[0])
        >>> ids.tolist(), scores[0, 2]
        ([[1, 3, -1]], np.float32(-inf))
        """
        q = self._as_queries(queries)
        k = _check_positive_int(k, "k")
        filt = resolve_filter(self.ntotal, allowed, excluded)
        return self._search(q, k, filt)

    def routes_to_exact(self, count: int) -> bool:
        """Whether a search where ``count`` ids pass the filter runs on the exact index.

        Always ``True`` for ``kind="exact"``.

        Examples
        --------
        >>> import numpy as np
        >>> index = VectorIndex("hnsw").build(np.eye(8, dtype=np.float32))
        >>> index.routes_to_exact(8)
        True
        """
        if self._kind == "exact":
            return True
        return count <= max(self.exact_fraction * self.ntotal, EXACT_MAX_IDS)

    def _search(
        self, q: NDArray[np.float32], k: int, filt: IdFilter, *, force_exact: bool = False
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        m = q.shape[0]
        if filt.count == 0:
            return _padding(m, k)
        kk = min(k, filt.count)  # FAISS keeps a k-heap: never larger than what can pass
        exact = force_exact or self.routes_to_exact(filt.count)
        selector = make_selector(filt, membership_tests=not exact)
        index: Any
        params: Any
        if exact:
            index = self.exact_index_
            params = faiss.SearchParameters() if selector.sel is not None else None
        elif self._kind == "hnsw":
            index = self.index_
            params = _faiss.SearchParametersHNSW(efSearch=max(int(self.ef_search), kk))
        else:
            index = self.index_
            params = _faiss.SearchParametersIVF(nprobe=min(int(self.nprobe), index.nlist))
        if selector.sel is not None:
            params.sel = selector.sel
        scores, ids = index.search(q, kk, params=params)
        del selector  # kept alive until FAISS returned
        missing = ids < 0
        if missing.any():
            scores[missing] = -np.inf  # FAISS fills missing results with -FLT_MAX
        if kk < k:
            pad_i, pad_s = _padding(m, k)
            pad_i[:, :kk], pad_s[:, :kk] = ids, scores
            return pad_i, pad_s
        return ids, scores

    def search_each(
        self,
        queries: ArrayLike,
        k: int,
        allowed: ArrayLike | None,
        excluded: ExcludedRows,
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Like :meth:`search`, but every query row has its own exclusions.

        Results equal calling ``search(queries[i:i+1], k, allowed, excluded row i)`` per
        row (up to ties and float rounding). When those searches are exact (``kind="exact"``,
        or an allow-list small enough to route to the exact index), one dense BLAS product
        of the queries with the allowed rows is computed in blocks, each row's exclusions
        set to ``-inf`` and the top ``k`` taken with ``argpartition``: a handful of NumPy
        calls for the whole batch instead of one FAISS call per member. Otherwise (graph /
        IVF search over a broad filter) each row is one FAISS call with its own selector.

        Parameters
        ----------
        queries : array-like of shape (m, d)
        k : int
        allowed : array-like of int or None
            Shared allow-list, as in :meth:`search`.
        excluded : CSR matrix (m, ntotal), ``(indptr, indices)`` or list of m int arrays
            Ids to exclude, per row (CSR: the column indices of each row; values ignored).

        Returns
        -------
        ids : ndarray of int64, shape (m, k)
        scores : ndarray of float32, shape (m, k)

        Examples
        --------
        >>> import numpy as np, scipy.sparse as sp
        >>> index = VectorIndex().build(np.eye(3, dtype=np.float32))
        >>> q = np.array([[3, 2, 1], [3, 2, 1]], dtype=np.float32)
        >>> index.search_each(q, 2, None, sp.csr_matrix([[1, 0, 0], [0, 0, 0]]))[0]
        array([[1, 2],
               [0, 1]])
        """
        q = self._as_queries(queries)
        k = _check_positive_int(k, "k")
        m = q.shape[0]
        n = self.ntotal
        offsets, flat_excl = _excluded_rows(excluded, m, n)
        base = resolve_filter(n, allowed, None)
        if base.count == 0:
            return _padding(m, k)
        if self.routes_to_exact(base.count):
            return self._dense_topk(q, k, base.allowed, offsets, flat_excl)
        out_i, out_s = _padding(m, k)
        for i in range(m):
            row_excl = flat_excl[offsets[i] : offsets[i + 1]]
            filt = resolve_filter(n, base.allowed, row_excl) if row_excl.size else base
            ids, scores = self._search(q[i : i + 1], k, filt)
            out_i[i], out_s[i] = ids[0], scores[0]
        return out_i, out_s

    def _dense_topk(
        self,
        q: NDArray[np.float32],
        k: int,
        allowed: NDArray[np.int64] | None,
        offsets: NDArray[np.int64],
        flat_excl: NDArray[np.int64],
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Exact top-k of every row over ``allowed`` minus the row's exclusions, in blocks."""
        m = q.shape[0]
        vecs = self.vectors if allowed is None else self.vectors[allowed]
        a = vecs.shape[0]
        kk = min(k, a)
        # Exclusions as (row, column of `vecs`) pairs; ids outside `allowed` do not matter.
        rows = np.repeat(np.arange(m), np.diff(offsets))
        cols = flat_excl
        if allowed is not None and cols.size:
            pos = np.minimum(np.searchsorted(allowed, cols), a - 1)
            hit = allowed[pos] == cols
            rows, cols = rows[hit], pos[hit]
        out_i, out_s = _padding(m, k)
        block = max(1, _DENSE_BLOCK // a)
        for start in range(0, m, block):
            stop = min(m, start + block)
            scores = q[start:stop] @ vecs.T
            lo, hi = np.searchsorted(rows, (start, stop))  # rows is sorted
            scores[rows[lo:hi] - start, cols[lo:hi]] = -np.inf
            if kk < a:
                top_cols = np.argpartition(scores, a - kk, axis=1)[:, a - kk :]
            else:
                top_cols = np.broadcast_to(np.arange(a), (stop - start, a))
            top = np.take_along_axis(scores, top_cols, axis=1)
            order = np.argsort(-top, axis=1, kind="stable")
            top = np.take_along_axis(top, order, axis=1)
            top_cols = np.take_along_axis(top_cols, order, axis=1)
            ids = top_cols if allowed is None else allowed[top_cols]
            out_s[start:stop, :kk] = top
            out_i[start:stop, :kk] = np.where(np.isneginf(top), -1, ids)
        return out_i, out_s

    # ------------------------------------------------------------------ quality

    def recall_at_k(
        self, queries: ArrayLike, k: int = 10, allowed: ArrayLike | None = None
    ) -> float:
        """Share of the exact top-``k`` that :meth:`search` returns (1.0 for ``"exact"``).

        Searches that route to the exact index count as exact, so a small ``allowed``
        gives 1.0 for every kind.

        Parameters
        ----------
        queries : array-like of shape (m, d)
        k : int, default 10
        allowed : array-like of int, optional

        Returns
        -------
        float

        Examples
        --------
        >>> import numpy as np
        >>> x = np.random.default_rng(0).standard_normal((500, 8)).astype(np.float32)
        >>> VectorIndex("hnsw").build(x).recall_at_k(x[:20], k=5, allowed=np.arange(100))
        1.0
        """
        q = self._as_queries(queries)
        k = _check_positive_int(k, "k")
        if self._kind == "exact":
            return 1.0
        filt = resolve_filter(self.ntotal, allowed, None)
        approx, _ = self._search(q, k, filt)
        truth, _ = self._search(q, k, filt, force_exact=True)
        hits = total = 0
        for got, want in zip(approx, truth, strict=True):
            want = want[want >= 0]
            total += want.size
            hits += np.intersect1d(got[got >= 0], want, assume_unique=True).size
        return 1.0 if total == 0 else hits / total

    # ------------------------------------------------------------------ persistence

    def _files(self) -> dict[str, str]:
        if self._kind == "exact":
            return {"exact": "exact.faiss"}
        if self._kind == "hnsw":
            return {"index": "hnsw.faiss"}  # holds the flat storage used as exact index
        return {"index": "ivf.faiss", "exact": "exact.faiss"}

    def save(self, directory: str | Path) -> Path:
        """Write the index to ``directory`` (created if needed).

        Files: ``index.json`` (manifest: format version, kind, dim, n, metric, params,
        files) and one or two ``*.faiss`` files written with ``faiss.write_index``.

        Parameters
        ----------
        directory : str or Path

        Returns
        -------
        Path
            The directory.

        Examples
        --------
        >>> import numpy as np, tempfile
        >>> index = VectorIndex().build(np.eye(4, dtype=np.float32))
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     _ = index.save(tmp)
        ...     VectorIndex.load(tmp).search(np.eye(4)[:1], 1)[0].tolist()
        [[0]]
        """
        exact = self._require_built()
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        files = self._files()
        for role, name in files.items():
            faiss.write_index(exact if role == "exact" else self.index_, str(path / name))
        manifest = {
            "format": _FORMAT,
            "version": _FORMAT_VERSION,
            "kind": self._kind,
            "metric": self.metric,
            "dim": self.dim,
            "n": self.ntotal,
            "params": self.get_params(),
            "files": files,
            "faiss_version": faiss.__version__,
        }
        (path / _MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory: str | Path) -> VectorIndex:
        """Restore an index written by :meth:`save`.

        Raises
        ------
        ArtifactError
            If the directory, the manifest or an index file is missing, unreadable,
            inconsistent with the manifest, or from an unknown format version.

        Examples
        --------
        >>> VectorIndex.load("/nonexistent/index")
        Traceback (most recent call last):
        ...
        recsys.exceptions.ArtifactError: no saved index at /nonexistent/index: ...
        """
        path = Path(directory)
        self, n, dim = cls._from_manifest(path)
        indexes = self._read_files(path)
        index: Any = indexes["index"] if "index" in indexes else indexes["exact"]
        exact: Any
        if self._kind == "hnsw":
            exact = faiss.downcast_index(index.storage)
        else:
            exact = indexes["exact"]
        self._check_loaded(path, index, exact, n, dim)
        self._install(index, exact)
        return self

    @classmethod
    def _from_manifest(cls, path: Path) -> tuple[VectorIndex, int, int]:
        """An unbuilt index with the parameters of the manifest in ``path``, and its (n, dim).

        Raises
        ------
        ArtifactError
            No manifest, or one that is unreadable, of another format / version, or whose
            kind and metric disagree with its parameters.
        """
        manifest_path = path / _MANIFEST
        if not manifest_path.is_file():
            raise ArtifactError(
                f"no saved index at {path}: {_MANIFEST} is missing (write one with "
                "VectorIndex.save)"
            )
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            if manifest.get("format") != _FORMAT:
                raise ArtifactError(f"{manifest_path} is not a recsys index manifest")
            if manifest.get("version") != _FORMAT_VERSION:
                raise ArtifactError(
                    f"{manifest_path} has format version {manifest.get('version')!r}; this "
                    f"recsys reads version {_FORMAT_VERSION}: rebuild and save the index again"
                )
            loaded = cls(**manifest["params"])
            n, dim = int(manifest["n"]), int(manifest["dim"])
            if manifest["kind"] != loaded.kind or manifest["metric"] != loaded.metric:
                raise ArtifactError(
                    f"corrupt index manifest {manifest_path}: says kind {manifest['kind']!r}, "
                    f"metric {manifest['metric']!r} but params say {loaded.kind!r}, "
                    f"{loaded.metric!r}"
                )
        except ArtifactError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ArtifactError(f"corrupt index manifest {manifest_path}: {exc}") from None
        return loaded, n, dim

    def _read_files(self, path: Path) -> dict[str, Any]:
        """Role (``index`` / ``exact``) -> FAISS index read from this kind's files in ``path``."""
        indexes: dict[str, Any] = {}
        for role, name in self._files().items():
            file = path / name
            if not file.is_file():
                raise ArtifactError(f"incomplete saved index at {path}: {name} is missing")
            try:
                indexes[role] = faiss.read_index(str(file))  # already downcast, owned
            except RuntimeError as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                raise ArtifactError(f"cannot read FAISS index {file}: {first}") from None
        return indexes

    def _check_loaded(self, path: Path, index: Any, exact: Any, n: int, dim: int) -> None:
        """Raise :class:`ArtifactError` unless the read indexes are this kind's, ``n x dim``."""
        expected = {"exact": faiss.IndexFlat, "hnsw": faiss.IndexHNSWFlat, "ivf": faiss.IndexIVF}
        for idx in (index, exact):
            if idx.ntotal != n or idx.d != dim:
                raise ArtifactError(
                    f"saved index at {path} does not match its manifest: "
                    f"{idx.ntotal} x {idx.d} vectors, manifest says {n} x {dim}"
                )
        if not isinstance(index, expected[self._kind]) or not isinstance(exact, faiss.IndexFlat):
            raise ArtifactError(f"saved index at {path} is not a {self._kind!r} index")


def _excluded_rows(
    excluded: ExcludedRows, m: int, n: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Per-row exclusions as CSR structure (row offsets, concatenated ids), validated once."""
    if sp.issparse(excluded):
        csr = sp.csr_matrix(excluded)
        if csr.shape != (m, n):
            raise InvalidInputError(
                f"excluded must have shape ({m}, {n}) (queries x items), got {csr.shape}"
            )
        return csr.indptr.astype(np.int64), csr.indices.astype(np.int64)
    if isinstance(excluded, tuple):
        offsets = np.asarray(excluded[0], dtype=np.int64)
        flat = np.asarray(excluded[1], dtype=np.int64)
    else:
        arrays = []
        for i, row in enumerate(excluded):
            arr = np.asarray(row)
            if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
                raise InvalidInputError(
                    f"excluded row {i} must be a 1-d array of integer item ids, "
                    f"got shape {arr.shape}, dtype {arr.dtype}"
                )
            arrays.append(arr.astype(np.int64, copy=False))
        offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
        np.cumsum([a.size for a in arrays], out=offsets[1:])
        flat = np.concatenate(arrays) if offsets[-1] else np.empty(0, dtype=np.int64)
    if len(offsets) != m + 1 or offsets[-1] != len(flat):
        raise InvalidInputError(
            f"excluded must hold one array per query: got {len(offsets) - 1} for {m} queries"
        )
    if flat.size and (int(flat.min()) < 0 or int(flat.max()) >= n):
        bad = int(flat.min()) if flat.min() < 0 else int(flat.max())
        raise InvalidInputError(f"excluded holds id {bad}, outside the index range [0, {n})")
    return offsets, flat


def _padding(m: int, k: int) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    return np.full((m, k), -1, dtype=np.int64), np.full((m, k), -np.inf, dtype=np.float32)
