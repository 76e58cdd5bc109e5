"""Ranking and beyond-accuracy metrics on plain Python / NumPy data.

Ids may be anything hashable (internal ``int`` ids or external strings), as long as the
recommended lists and the relevant sets use the same kind.

Ranking metrics come in two forms:

- per member: ``metric(recommended, relevant, k)`` with ``recommended`` a ranked sequence
  of ids and ``relevant`` a collection of ids; binary relevance. When ``relevant`` is empty,
  every metric returns 0.0.
- aggregate: ``mean_metric(recommendations, relevant, k)`` with dicts member -> ranked list
  and member -> relevant ids: the mean over members with at least one relevant item (a
  member missing from ``recommendations`` got an empty list and scores 0).
  :func:`ranking_metrics` computes all of them in one pass.

A repeated id in a ranked list counts only at its first position, so no metric can be
inflated by recommending the same SKU twice. ``k <= 0`` raises
:class:`~recsys.exceptions.InvalidInputError`.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import scipy.sparse as sp

from recsys.exceptions import InvalidInputError, UnknownIdError

__all__ = [
    "RANKING_METRICS",
    "average_precision_at_k",
    "catalog_coverage",
    "hit_rate_at_k",
    "intra_list_diversity",
    "map_at_k",
    "mean_hit_rate_at_k",
    "mean_ndcg_at_k",
    "mean_precision_at_k",
    "mean_recall_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "novelty",
    "personalization",
    "precision_at_k",
    "ranking_metrics",
    "recall_at_k",
    "reciprocal_rank_at_k",
]

Ranked: TypeAlias = Sequence[Hashable] | np.ndarray
"""One member's recommended ids, best first."""
Lists: TypeAlias = Mapping[Any, Ranked] | Sequence[Ranked] | np.ndarray
"""Several members' lists: a dict member -> list, a list of lists, or a 2-D array."""

RANKING_METRICS: tuple[str, ...] = ("precision", "recall", "ndcg", "map", "hit_rate", "mrr")
"""Keys of :func:`ranking_metrics`, in order."""

_PERSONALIZATION_BLOCK_NNZ = 20_000_000  # bound on the nonzeros of one M[block] @ M.T


# ---------------------------------------------------------------------- core
def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise InvalidInputError(f"k must be a positive int, got {k!r}")
    if k <= 0:
        raise InvalidInputError(f"k must be a positive int, got {k}")
    return int(k)


def _hit_row(recommended: Ranked, relevant: Collection[Hashable], k: int) -> np.ndarray:
    """Bool (k,): position i holds a relevant id seen there for the first time."""
    row = np.zeros(k, dtype=bool)
    if not relevant:
        return row
    relevant = relevant if isinstance(relevant, (set, frozenset)) else set(relevant)
    seen: set[Hashable] = set()
    for i, item in enumerate(itertools.islice(recommended, k)):
        key = item.item() if isinstance(item, np.generic) else item
        if key in relevant and key not in seen:
            row[i] = True
        seen.add(key)
    return row


def _relevant_set(relevant: Any) -> set[Hashable]:
    if isinstance(relevant, (str, bytes)) or not isinstance(relevant, Collection):
        raise InvalidInputError(
            f"relevant must be a collection of ids, got {type(relevant).__name__}"
        )
    return {r.item() if isinstance(r, np.generic) else r for r in relevant}


def _scores(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Every ranking metric per row of a (members, k) hit matrix."""
    positions = np.arange(1, k + 1)
    n_hits = hits.sum(axis=1)
    capped = np.minimum(n_relevant, k)
    has_relevant = n_relevant > 0
    safe_relevant = np.where(has_relevant, n_relevant, 1)
    safe_capped = np.where(has_relevant, capped, 1)

    discounts = 1.0 / np.log2(positions + 1)
    dcg = hits @ discounts
    ideal = np.cumsum(discounts)[safe_capped - 1]

    precision_at_i = np.cumsum(hits, axis=1) / positions
    any_hit = hits.any(axis=1)
    first = hits.argmax(axis=1)
    return {
        "precision": n_hits / k,
        "recall": np.where(has_relevant, n_hits / safe_relevant, 0.0),
        "ndcg": np.where(has_relevant, dcg / ideal, 0.0),
        "map": np.where(has_relevant, (precision_at_i * hits).sum(axis=1) / safe_capped, 0.0),
        "hit_rate": any_hit.astype(np.float64),
        "mrr": np.where(any_hit, 1.0 / (first + 1), 0.0),
    }


def _single(name: str, recommended: Ranked, relevant: Collection[Hashable], k: int) -> float:
    k = _check_k(k)
    rel = _relevant_set(relevant)
    hits = _hit_row(recommended, rel, k)[None, :]
    return float(_scores(hits, np.array([len(rel)]), k)[name][0])


# ---------------------------------------------------------------------- per member
def precision_at_k(recommended: Ranked, relevant: Collection[Hashable], k: int) -> float:
    """Share of the top ``k`` positions holding a relevant id: ``hits@k / k``.

    The denominator is ``k`` even when fewer than ``k`` ids were recommended.

    Examples
    --------
    >>> precision_at_k(["a", "b", "c", "d"], {"b", "d", "z"}, k=3)
    0.3333333333333333
    """
    return _single("precision", recommended, relevant, k)


def recall_at_k(recommended: Ranked, relevant: Collection[Hashable], k: int) -> float:
    """Share of the relevant ids found in the top ``k``: ``hits@k / |relevant|``.

    Examples
    --------
    >>> recall_at_k(["a", "b", "c", "d"], {"b", "d", "z"}, k=3)
    0.3333333333333333
    """
    return _single("recall", recommended, relevant, k)


def ndcg_at_k(recommended: Ranked, relevant: Collection[Hashable], k: int) -> float:
    r"""Normalised discounted cumulative gain with binary relevance.

    .. math::

        \mathrm{DCG@k} = \sum_{i=1}^{k} \frac{\mathrm{rel}_i}{\log_2(i + 1)}, \qquad
        \mathrm{IDCG@k} = \sum_{i=1}^{\min(|R|, k)} \frac{1}{\log_2(i + 1)}

    and ``NDCG@k = DCG@k / IDCG@k`` (the ideal list puts all relevant ids first).
    Equals ``sklearn.metrics.ndcg_score`` on 0/1 relevance without ties.

    Examples
    --------
    >>> round(ndcg_at_k(["a", "b", "c"], {"b", "z"}, k=3), 6)  # (1/log2 3) / (1 + 1/log2 3)
    0.386853
    """
    return _single("ndcg", recommended, relevant, k)


def average_precision_at_k(recommended: Ranked, relevant: Collection[Hashable], k: int) -> float:
    """Average precision at ``k``, normalised by ``min(|relevant|, k)``.

    ``AP@k = sum_{i <= k} P@i * rel_i / min(|relevant|, k)``: 1.0 when the top
    ``min(|relevant|, k)`` positions are all relevant. Its mean over members is MAP@k.

    Examples
    --------
    >>> average_precision_at_k(["a", "b", "c", "d"], {"a", "c", "z"}, k=4)  # (1 + 2/3) / 3
    0.5555555555555555
    """
    return _single("map", recommended, relevant, k)


def hit_rate_at_k(recommended: Ranked, relevant: Collection[Hashable], k: int) -> float:
    """1.0 if any of the top ``k`` ids is relevant, else 0.0.

    Examples
    --------
    >>> hit_rate_at_k(["a", "b", "c"], {"c"}, k=2), hit_rate_at_k(["a", "b", "c"], {"c"}, k=3)
    (0.0, 1.0)
    """
    return _single("hit_rate", recommended, relevant, k)


def reciprocal_rank_at_k(recommended: Ranked, relevant: Collection[Hashable], k: int) -> float:
    """``1 / rank`` of the first relevant id within the top ``k`` (ranks from 1), else 0.0.

    Examples
    --------
    >>> reciprocal_rank_at_k(["a", "b", "c"], {"c", "b"}, k=3)
    0.5
    """
    return _single("mrr", recommended, relevant, k)


# ---------------------------------------------------------------------- aggregate
def ranking_metrics(
    recommendations: Mapping[Any, Ranked],
    relevant: Mapping[Any, Collection[Hashable]],
    k: int,
) -> dict[str, float]:
    """Mean of every ranking metric over the members with at least one relevant id.

    Parameters
    ----------
    recommendations : dict
        Member -> ranked ids. Members absent here count as an empty list (score 0);
        members absent from ``relevant`` are ignored.
    relevant : dict
        Member -> relevant ids (e.g. the SKUs they bought in the test period).
    k : int
        Cut-off, > 0.

    Returns
    -------
    dict
        Keys :data:`RANKING_METRICS`: ``precision``, ``recall``, ``ndcg``, ``map`` (MAP@k),
        ``hit_rate``, ``mrr``; values are floats.

    Raises
    ------
    InvalidInputError
        ``k <= 0``, wrong argument types, or no member has a relevant id.

    Examples
    --------
    >>> recs = {"u1": ["a", "b", "c"], "u2": ["c", "d", "e"], "u3": ["a"]}
    >>> truth = {"u1": {"a"}, "u2": {"e", "f"}, "u3": set()}
    >>> for name, value in ranking_metrics(recs, truth, k=3).items():
    ...     print(f"{name}: {value:.4f}")
    precision: 0.3333
    recall: 0.7500
    ndcg: 0.6533
    map: 0.5833
    hit_rate: 1.0000
    mrr: 0.6667

    (``u3`` has nothing relevant and is skipped; ``u2`` finds ``e`` at rank 3, so its NDCG
    is ``(1/log2 4) / (1 + 1/log2 3)`` and its AP ``(1/3) / 2``.)
    """
    k = _check_k(k)
    if not isinstance(recommendations, Mapping):
        raise InvalidInputError(
            f"recommendations must be a dict member -> list, got {type(recommendations).__name__}"
        )
    if not isinstance(relevant, Mapping):
        raise InvalidInputError(
            f"relevant must be a dict member -> ids, got {type(relevant).__name__}"
        )
    truth = {member: _relevant_set(ids) for member, ids in relevant.items()}
    members = [member for member, ids in truth.items() if ids]
    if not members:
        raise InvalidInputError("no member has a relevant item: nothing to evaluate")
    hits = np.zeros((len(members), k), dtype=bool)
    for row, member in enumerate(members):
        hits[row] = _hit_row(recommendations.get(member, ()), truth[member], k)
    n_relevant = np.fromiter((len(truth[m]) for m in members), dtype=np.int64, count=len(members))
    return {name: float(values.mean()) for name, values in _scores(hits, n_relevant, k).items()}


def mean_precision_at_k(
    recommendations: Mapping[Any, Ranked],
    relevant: Mapping[Any, Collection[Hashable]],
    k: int,
) -> float:
    """Mean :func:`precision_at_k` over members with a relevant id (see :func:`ranking_metrics`).

    Examples
    --------
    >>> mean_precision_at_k({"u1": ["a", "b"], "u2": ["c", "d"]}, {"u1": {"a"}, "u2": {"x"}}, k=2)
    0.25
    """
    return ranking_metrics(recommendations, relevant, k)["precision"]


def mean_recall_at_k(
    recommendations: Mapping[Any, Ranked],
    relevant: Mapping[Any, Collection[Hashable]],
    k: int,
) -> float:
    """Mean :func:`recall_at_k` over members with a relevant id (see :func:`ranking_metrics`).

    Examples
    --------
    >>> mean_recall_at_k({"u1": ["a", "b"]}, {"u1": {"a", "x"}, "u2": {"c"}}, k=2)
    0.25
    """
    return ranking_metrics(recommendations, relevant, k)["recall"]


def mean_ndcg_at_k(
    recommendations: Mapping[Any, Ranked],
    relevant: Mapping[Any, Collection[Hashable]],
    k: int,
) -> float:
    """Mean :func:`ndcg_at_k` over members with a relevant id (see :func:`ranking_metrics`).

    Examples
    --------
    >>> mean_ndcg_at_k({"u1": ["a", "b"], "u2": ["c", "d"]}, {"u1": {"a"}, "u2": {"x"}}, k=2)
    0.5
    """
    return ranking_metrics(recommendations, relevant, k)["ndcg"]


def map_at_k(
    recommendations: Mapping[Any, Ranked],
    relevant: Mapping[Any, Collection[Hashable]],
    k: int,
) -> float:
    """MAP@k: mean :func:`average_precision_at_k` over members with a relevant id.

    Examples
    --------
    >>> map_at_k({"u1": ["a", "b"], "u2": ["c", "d"]}, {"u1": {"b"}, "u2": {"c"}}, k=2)
    0.75
    """
    return ranking_metrics(recommendations, relevant, k)["map"]


def mean_hit_rate_at_k(
    recommendations: Mapping[Any, Ranked],
    relevant: Mapping[Any, Collection[Hashable]],
    k: int,
) -> float:
    """Share of members (with a relevant id) who got at least one hit in their top ``k``.

    Examples
    --------
    >>> mean_hit_rate_at_k({"u1": ["a", "b"], "u2": ["c", "d"]}, {"u1": {"b"}, "u2": {"x"}}, k=2)
    0.5
    """
    return ranking_metrics(recommendations, relevant, k)["hit_rate"]


def mrr_at_k(
    recommendations: Mapping[Any, Ranked],
    relevant: Mapping[Any, Collection[Hashable]],
    k: int,
) -> float:
    """Mean :func:`reciprocal_rank_at_k` over members with a relevant id.

    Examples
    --------
    >>> mrr_at_k({"u1": ["a", "b"], "u2": ["c", "d"]}, {"u1": {"b"}, "u2": {"c"}}, k=2)
    0.75
    """
    return ranking_metrics(recommendations, relevant, k)["mrr"]


# ---------------------------------------------------------------------- beyond accuracy
def _as_lists(lists: Any) -> list[list[Hashable]]:
    """Normalise member lists to a list of lists of plain ids (order kept)."""
    if isinstance(lists, Mapping):
        values: Any = lists.values()
    elif isinstance(lists, np.ndarray):
        if lists.ndim != 2:
            raise InvalidInputError(f"an array of lists must be 2-D, got shape {lists.shape}")
        values = lists.tolist()
    elif isinstance(lists, (str, bytes)) or not isinstance(lists, Sequence):
        raise InvalidInputError(
            f"lists must be a dict member -> ids or a list of lists, got {type(lists).__name__}"
        )
    else:
        values = lists
    out: list[list[Hashable]] = []
    for ranked in values:
        if isinstance(ranked, np.ndarray):
            out.append(ranked.tolist())
        elif isinstance(ranked, (str, bytes)) or not isinstance(ranked, Sequence):
            raise InvalidInputError(
                f"each list must be a sequence of ids, got {type(ranked).__name__}"
            )
        else:
            out.append([i.item() if isinstance(i, np.generic) else i for i in ranked])
    return out


def catalog_coverage(lists: Lists, n_items: int) -> float:
    """Share of the catalog recommended to at least one member.

    Parameters
    ----------
    lists : dict member -> ids, list of lists or 2-D array
        Recommended ids per member (already cut at k).
    n_items : int
        Catalog size, > 0.

    Returns
    -------
    float
        ``|union of lists| / n_items`` in [0, 1].

    Examples
    --------
    >>> catalog_coverage({"u1": ["a", "b"], "u2": ["b", "c"]}, n_items=10)
    0.3
    """
    if isinstance(n_items, bool) or not isinstance(n_items, (int, np.integer)) or n_items <= 0:
        raise InvalidInputError(f"n_items must be a positive int, got {n_items!r}")
    distinct = set(itertools.chain.from_iterable(_as_lists(lists)))
    if len(distinct) > n_items:
        raise InvalidInputError(
            f"lists hold {len(distinct)} distinct items but n_items is {n_items}"
        )
    return len(distinct) / int(n_items)


def novelty(
    lists: Lists,
    item_popularity: Mapping[Any, float] | Sequence[float] | np.ndarray,
    n_users: int,
) -> float:
    """Mean self-information of the recommended items, in bits.

    For item ``i`` with popularity ``pop(i)`` (the number of members who interacted with it),
    its self-information is ``-log2(pop(i) / n_users)``: rare items are novel. A list scores
    the mean over its items; the result is the mean over non-empty lists (each member
    weighs the same).

    Parameters
    ----------
    lists : dict member -> ids, list of lists or 2-D array
        Recommended ids per member.
    item_popularity : dict item -> count, or array indexed by integer item id
        Members per item in the training data. Counts are clipped to ``[1, n_users]`` so the
        value is finite and non-negative: an item never seen counts as seen once, and raw
        interaction counts above ``n_users`` count as "everyone". Items missing from a dict
        count as 0.
    n_users : int
        Members in the training data, > 0.

    Returns
    -------
    float
        Between 0 (only items everyone has) and ``log2(n_users)``.

    Raises
    ------
    InvalidInputError
        Bad ``n_users``, no non-empty list, negative popularity.
    UnknownIdError
        An id outside an array ``item_popularity`` (non-int or out of range).

    Examples
    --------
    >>> novelty([["a", "b"], ["b"]], {"a": 1, "b": 4}, n_users=8)  # ((3 + 1) / 2 + 1) / 2
    1.5
    """
    if isinstance(n_users, bool) or not isinstance(n_users, (int, np.integer)) or n_users <= 0:
        raise InvalidInputError(f"n_users must be a positive int, got {n_users!r}")
    members = [ranked for ranked in _as_lists(lists) if ranked]
    if not members:
        raise InvalidInputError("novelty needs at least one non-empty list")
    flat = list(itertools.chain.from_iterable(members))
    if isinstance(item_popularity, Mapping):
        counts = np.array([item_popularity.get(i, 0) for i in flat], dtype=np.float64)
    else:
        table = np.asarray(item_popularity, dtype=np.float64)
        if table.ndim != 1:
            raise InvalidInputError("item_popularity must be 1-D when it is an array")
        bad = [i for i in flat if not _is_index(i, len(table))]
        if bad:
            raise UnknownIdError("item", [str(i) for i in dict.fromkeys(bad)], len(table))
        counts = table[np.asarray(flat, dtype=np.int64)]
    if (counts < 0).any() or np.isnan(counts).any():
        raise InvalidInputError("item_popularity must hold counts >= 0")
    information = -np.log2(np.clip(counts, 1.0, float(n_users)) / float(n_users))
    lengths = np.array([len(ranked) for ranked in members])
    per_list = np.add.reduceat(information, np.concatenate(([0], np.cumsum(lengths)[:-1])))
    return float(np.mean(per_list / lengths))


def personalization(lists: Lists, sample: int | None = None, seed: int = 0) -> float:
    """One minus the mean pairwise Jaccard similarity of members' lists.

    ``1 - mean_{a < b} |L_a ∩ L_b| / |L_a ∪ L_b|`` over all pairs of members with a
    non-empty list (lists as sets). 1.0: no two members share an item ("thousand faces");
    0.0: everyone sees the same shelf. Computed with a sparse member x item matrix ``M``:
    the intersections are ``M @ M.T``, evaluated by row blocks to bound memory.

    Parameters
    ----------
    lists : dict member -> ids, list of lists or 2-D array
        Recommended ids per member.
    sample : int, optional
        Use a uniform random sample of this many members (without replacement); pairs grow
        as members², so sample for large populations (e.g. 2,000 members). ``None``: all.
    seed : int, default 0
        Seed of the sample (the sample depends on the order of ``lists``).

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    InvalidInputError
        Fewer than two non-empty lists, or ``sample < 2``.

    Examples
    --------
    >>> personalization({"u1": ["a", "b"], "u2": ["b", "c"], "u3": ["d", "e"]})  # 1 - (1/3)/3
    0.8888888888888888
    """
    members = [ranked for ranked in _as_lists(lists) if ranked]
    if sample is not None:
        if isinstance(sample, bool) or not isinstance(sample, (int, np.integer)) or sample < 2:
            raise InvalidInputError(f"sample must be an int >= 2, got {sample!r}")
        if sample < len(members):
            chosen = np.random.default_rng(seed).choice(len(members), size=sample, replace=False)
            members = [members[i] for i in np.sort(chosen)]
    m = len(members)
    if m < 2:
        raise InvalidInputError(f"personalization needs at least two non-empty lists, got {m}")
    matrix = _binary_matrix(members)
    sizes = np.asarray(matrix.sum(axis=1)).ravel()
    transposed = matrix.T.tocsc()
    block = max(1, _PERSONALIZATION_BLOCK_NNZ // m)
    total = 0.0
    for start in range(0, m, block):
        product = (matrix[start : start + block] @ transposed).tocoo()
        rows = product.row + start
        upper = product.col > rows
        inter = product.data[upper]
        union = sizes[rows[upper]] + sizes[product.col[upper]] - inter
        total += float(np.sum(inter / union))
    return 1.0 - total / (m * (m - 1) / 2)


def _is_index(item: Any, n: int) -> bool:
    """Whether ``item`` is an integer id in ``range(n)``."""
    return bool(
        not isinstance(item, bool) and isinstance(item, (int, np.integer)) and 0 <= item < n
    )


def _binary_matrix(members: list[list[Hashable]]) -> sp.csr_matrix:
    codes: dict[Hashable, int] = {}
    indices = np.fromiter(
        (codes.setdefault(item, len(codes)) for ranked in members for item in ranked),
        dtype=np.int64,
    )
    indptr = np.concatenate(([0], np.cumsum([len(ranked) for ranked in members])))
    data = np.ones(len(indices), dtype=np.float64)
    matrix = sp.csr_matrix((data, indices, indptr), shape=(len(members), len(codes)))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0  # a repeated id counts once
    return matrix


def intra_list_diversity(
    lists: Lists,
    category_of: Mapping[Any, Hashable] | Sequence[Hashable] | np.ndarray | Callable[..., Any],
) -> float:
    """Mean share of item pairs within a list that belong to different categories.

    For a list with ``L >= 2`` distinct items (repeats dropped) and ``n_c`` of them in
    category ``c``::

        ILD(list) = #{pairs i < j : cat(i) != cat(j)} / (L (L - 1) / 2)
                  = 1 - sum_c n_c (n_c - 1) / (L (L - 1))

    0.0: every item from one category; 1.0: all categories different. The result is the
    mean over lists with at least two distinct items.

    Parameters
    ----------
    lists : dict member -> ids, list of lists or 2-D array
        Recommended ids per member.
    category_of : dict item -> category, array indexed by integer item id, or callable
        The category of each item (e.g. ``catalog.category_codes`` for internal ids).

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    InvalidInputError
        No list has two distinct items.
    UnknownIdError
        An item without a category.

    Examples
    --------
    >>> cats = {"a": "shirts", "b": "shirts", "c": "jeans", "d": "shoes"}
    >>> round(intra_list_diversity({"u1": ["a", "b", "c"], "u2": ["c", "d"]}, cats), 6)
    0.833333

    (``u1``: 2 of its 3 pairs differ; ``u2``: 1 of 1; mean of 2/3 and 1.)
    """
    lookup = _category_lookup(category_of)
    scores: list[float] = []
    missing: list[Hashable] = []
    for ranked in _as_lists(lists):
        distinct = list(dict.fromkeys(ranked))
        n = len(distinct)
        if n < 2:
            continue
        categories = []
        for item in distinct:
            try:
                categories.append(lookup(item))
            except (KeyError, IndexError, TypeError):
                missing.append(item)
        if missing:
            continue
        same = sum(c * (c - 1) for c in Counter(categories).values())
        scores.append(1.0 - same / (n * (n - 1)))
    if missing:
        raise UnknownIdError("item", [str(i) for i in dict.fromkeys(missing)])
    if not scores:
        raise InvalidInputError("intra_list_diversity needs a list with two distinct items")
    return math.fsum(scores) / len(scores)


def _category_lookup(category_of: Any) -> Callable[[Hashable], Hashable]:
    if isinstance(category_of, Mapping):
        return category_of.__getitem__
    if callable(category_of):
        return category_of
    if isinstance(category_of, (str, bytes)) or not isinstance(category_of, (Sequence, np.ndarray)):
        raise InvalidInputError(
            "category_of must be a dict item -> category, an array indexed by item id or a "
            f"callable, got {type(category_of).__name__}"
        )
    table = np.asarray(category_of)
    n = len(table)

    def by_index(item: Hashable) -> Hashable:
        if not _is_index(item, n):
            raise KeyError(item)
        value: Any = table[int(item)]  # type: ignore[call-overload]  # _is_index checked it
        return value.item() if isinstance(value, np.generic) else value

    return by_index
