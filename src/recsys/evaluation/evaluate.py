"""Offline evaluation of fitted recommenders: shelves for test members, scored against the future.

:func:`evaluate` scores a recommender fitted on ``train`` on the test members that have
training history (warm members), :func:`evaluate_by_store` does the same store by store;
:func:`~recsys.evaluation.evaluate_cold` scores members the recommender has never seen, from
their profile tags only, and :func:`~recsys.evaluation.compare_models` fits several models on
one split and tabulates these scores. What counts as relevant is
:func:`~recsys.evaluation.relevant_items`'s business: by default the SKUs bought in the test
period and not before, against shelves that leave out what the member already bought.

Duck typing
-----------
Anything with ``dataset_`` (a :class:`~recsys.data.RetailDataset`) and the facade's array
core, ``recommend_arrays(users, k, store=..., filter_purchased=..., profiles=...)`` returning
``(ids, scores)``, can be evaluated, e.g. a baseline wrapping a raw library
(:class:`~recsys.evaluation.baselines.ImplicitALSBaseline`). Evaluation never builds a
reason string.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from recsys.columns import Columns
from recsys.evaluation.metrics import (
    RANKING_METRICS,
    catalog_coverage,
    intra_list_diversity,
    novelty,
    personalization,
    ranking_metrics,
)
from recsys.evaluation.relevance import _check_frame, relevant_items
from recsys.exceptions import InvalidInputError, NotFittedError

__all__ = ["BEYOND_ACCURACY", "METRICS", "evaluate", "evaluate_by_store"]

#: Beyond-accuracy keys returned by :func:`evaluate`, after :data:`RANKING_METRICS`.
BEYOND_ACCURACY: tuple[str, ...] = ("coverage", "novelty", "personalization", "diversity")
#: Every metric key of :func:`evaluate` (it also returns ``n_members``).
METRICS: tuple[str, ...] = (*RANKING_METRICS, *BEYOND_ACCURACY)

_BATCH = 2048  # members per recommend_batch call: bounds the (members x k) work per call
_PERSONALIZATION_SAMPLE = 2000  # pairs grow as members²


# ---------------------------------------------------------------------- scoring
def _item_popularity(train: pd.DataFrame | None, recommender: Any) -> tuple[dict[str, int], int]:
    """Members per SKU and member count of the training data (for novelty)."""
    if train is not None and len(train):
        pairs = train[[Columns.USER, Columns.ITEM]].astype(str).drop_duplicates()
        counts = pairs[Columns.ITEM].value_counts()
        return counts.to_dict(), int(pairs[Columns.USER].nunique())
    conf = recommender.dataset_.matrices.confidence.tocsc()
    counts = np.diff(conf.indptr)
    ids = recommender.dataset_.items.ids
    return dict(zip(ids.tolist(), counts.tolist(), strict=True)), max(1, conf.shape[0])


def _category_lookup(recommender: Any) -> Callable[[str], int]:
    dataset = recommender.dataset_
    codes = np.asarray(dataset.catalog.category_codes)
    items = dataset.items

    def category(item_id: str) -> int:
        return int(codes[items.index_of(item_id)])

    return category


def _score(
    shelves: Mapping[str, list[str]],
    relevant: Mapping[str, set[str]],
    k: int,
    *,
    n_items: int,
    popularity: tuple[dict[str, int], int],
    category: Callable[[str], int],
    seed: int,
) -> dict[str, float]:
    """Ranking and beyond-accuracy metrics of shelves against relevant sets."""
    out: dict[str, float] = dict(ranking_metrics(shelves, relevant, k))
    lists = [shelf for shelf in shelves.values() if shelf]
    out["coverage"] = catalog_coverage(lists, n_items) if lists else 0.0
    out["novelty"] = novelty(lists, *popularity) if lists else math.nan
    try:
        out["personalization"] = personalization(lists, sample=_PERSONALIZATION_SAMPLE, seed=seed)
    except InvalidInputError:  # fewer than two members with a shelf
        out["personalization"] = math.nan
    try:
        out["diversity"] = intra_list_diversity(lists, category)
    except InvalidInputError:  # no shelf with two items
        out["diversity"] = math.nan
    out["n_members"] = float(len(relevant))
    return out


def _batched(
    recommender: Any,
    members: list[str],
    k: int,
    *,
    exclude_purchased: bool,
    batch_size: int,
    store_id: str | None = None,
) -> dict[str, list[str]]:
    """Member -> shelf (SKU ids) from the array core, ``batch_size`` members per call.

    Shelves of the whole catalog unless ``store_id`` is given. No reason strings: evaluation
    reads SKU ids only.
    """
    dataset = recommender.dataset_
    users = dataset.users.to_index(members)
    store = -1 if store_id is None else dataset.stores.index_of(store_id)
    names = dataset.items.ids
    shelves: dict[str, list[str]] = {}
    for start in range(0, len(members), batch_size):
        ids, _ = recommender.recommend_arrays(
            users[start : start + batch_size], k, store=store, filter_purchased=exclude_purchased
        )
        for member, row in zip(members[start : start + batch_size], ids, strict=True):
            shelves[member] = names[row[row >= 0]].tolist()
    return shelves


def _check_sample(sample: Any) -> int | None:
    if sample is None:
        return None
    if isinstance(sample, bool) or not isinstance(sample, int | np.integer) or sample < 1:
        raise InvalidInputError(f"sample must be a positive int or None, got {sample!r}")
    return int(sample)


def _sample(members: list[str], sample: int | None, seed: int) -> list[str]:
    """A seeded uniform sample of ``members`` (kept in order); all of them if few enough."""
    if sample is None or len(members) <= sample:
        return members
    chosen = np.random.default_rng(seed).choice(len(members), size=sample, replace=False)
    return [members[i] for i in np.sort(chosen)]


def _check_args(recommender: Any, k: Any, sample: Any, batch_size: Any) -> int:
    try:
        recommender.dataset_  # noqa: B018 - fitted check
    except (AttributeError, NotFittedError):
        raise InvalidInputError(
            "evaluation needs a fitted recommender (trained on train): call fit() first"
        ) from None
    for name, value in (("k", k), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
            raise InvalidInputError(f"{name} must be a positive int, got {value!r}")
    _check_sample(sample)
    return int(k)


def _warm_relevant(
    recommender: Any,
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    exclude_train: bool,
    relevant_kinds: str | Sequence[str] | None,
    sample: int | None,
    seed: int,
) -> dict[str, set[str]]:
    """Relevant sets of the (sampled) warm members: in ``train`` and known to the model."""
    _check_frame(train, "train", (Columns.USER, Columns.ITEM))
    dataset = recommender.dataset_
    relevant = relevant_items(
        test,
        train,
        relevant_kinds=relevant_kinds,
        exclude_train=exclude_train,
        known_items=set(dataset.items.ids.tolist()),
    )
    in_train = set(train[Columns.USER].astype(str).unique())
    members = [m for m in relevant if m in in_train and m in dataset.users]
    members = _sample(members, sample, seed)
    if not members:
        raise InvalidInputError(
            "no test member has training history and a relevant SKU: nothing to evaluate "
            "(members without history: use evaluate_cold)"
        )
    return {m: relevant[m] for m in members}


def _scored(
    recommender: Any,
    shelves: Mapping[str, list[str]],
    relevant: Mapping[str, set[str]],
    k: int,
    train: pd.DataFrame | None,
    seed: int,
) -> dict[str, float]:
    """:func:`_score` against the recommender's catalog (size, categories) and ``train``."""
    return _score(
        shelves,
        relevant,
        k,
        n_items=len(recommender.dataset_.items),
        popularity=_item_popularity(train, recommender),
        category=_category_lookup(recommender),
        seed=seed,
    )


def _store_truth(
    recommender: Any,
    train: pd.DataFrame,
    test: pd.DataFrame,
    warm: Mapping[str, set[str]],
    *,
    exclude_train: bool,
    relevant_kinds: str | Sequence[str] | None,
) -> dict[str, dict[str, set[str]]]:
    """Store -> warm member -> SKUs relevant in that store, for the stores the model knows."""
    dataset = recommender.dataset_
    relevant = relevant_items(
        test,
        train,
        relevant_kinds=relevant_kinds,
        exclude_train=exclude_train,
        known_items=set(dataset.items.ids.tolist()),
        by_store=True,
    )
    per_store: dict[str, dict[str, set[str]]] = {}
    for (store, member), items in relevant.items():
        if member in warm and store in dataset.stores:
            per_store.setdefault(store, {})[member] = items
    return per_store


def _store_row(
    recommender: Any,
    store: str,
    truth: Mapping[str, set[str]],
    k: int,
    *,
    exclude_train: bool,
    batch_size: int,
) -> dict[str, Any]:
    """One row of :func:`evaluate_by_store`: the store's shelves against ``truth``."""
    dataset = recommender.dataset_
    shelves = _batched(
        recommender,
        list(truth),
        k,
        store_id=store,
        exclude_purchased=exclude_train,
        batch_size=batch_size,
    )
    row: dict[str, Any] = {Columns.STORE: store, **ranking_metrics(shelves, truth, k)}
    stocked = len(dataset.assortment.items_of(dataset.stores.index_of(store)))
    lists = [s for s in shelves.values() if s]
    row["coverage"] = catalog_coverage(lists, stocked) if lists and stocked else math.nan
    row["n_members"] = len(truth)
    return row


# ---------------------------------------------------------------------- public API
def evaluate(
    recommender: Any,
    train: pd.DataFrame,
    test: pd.DataFrame,
    k: int = 10,
    *,
    exclude_train: bool = True,
    sample: int | None = None,
    seed: int = 0,
    relevant_kinds: str | Sequence[str] | None = "auto",
    batch_size: int = _BATCH,
) -> dict[str, float]:
    """Score a fitted recommender's shelves for the test members with training history.

    A test member is evaluated when they have an event in ``train``, are known to the
    recommender and have a relevant SKU (new members: :func:`evaluate_cold`); their shelves
    come from ``recommend_arrays``, without a store.

    Parameters
    ----------
    recommender : Recommender
        Fitted on ``train`` (not refitted here).
    train, test : pandas.DataFrame
        The split (e.g. from :func:`~recsys.evaluation.temporal_split`). ``train`` tells
        which members are warm, the item popularity of ``novelty`` and the purchases that
        ``exclude_train`` drops from the relevant sets.
    k, batch_size : int
        Shelf length; members per ``recommend_arrays`` call.
    exclude_train : bool
        Leave already-bought SKUs off shelves and out of the relevant sets.
    sample, seed : int or None, int
        Evaluate a uniform sample of this many members (``None``: all), drawn with ``seed``,
        which also draws the personalization sample.
    relevant_kinds : "auto", str, list of str or None
        Event kinds that are relevant (see the module docstring).

    Returns
    -------
    dict of str to float
        ``precision, recall, ndcg, map, hit_rate, mrr`` (means over members, at ``k``),
        ``coverage`` (share of the catalog on some shelf), ``novelty`` (mean self-information
        in bits), ``personalization`` (1 - mean pairwise Jaccard overlap of shelves, on at most
        2,000 sampled shelves), ``diversity`` (intra-list category diversity) and
        ``n_members`` (members evaluated).

    Raises
    ------
    InvalidInputError
        Unfitted recommender, bad ``k`` / ``sample`` / ``batch_size``, or no warm test member
        with a relevant SKU.

    Examples
    --------
    >>> import recsys
    >>> from recsys.datasets import synthetic_retail
    >>> from recsys.evaluation import temporal_split
    >>> data = synthetic_retail(n_users=300, n_items=200, n_stores=3, items_per_store=(80, 120))
    >>> train, test = temporal_split(data.interactions, test_fraction=0.2)
    >>> rec = recsys.Recommender(model="popular").fit(
    ...     train, catalog=data.catalog, stores=data.stores, profiles=data.profiles)
    >>> report = evaluate(rec, train, test, k=10)
    >>> sorted(report)[:4], 0.0 <= report["ndcg"] <= 1.0
    (['coverage', 'diversity', 'hit_rate', 'map'], True)
    """
    k = _check_args(recommender, k, sample, batch_size)
    relevant = _warm_relevant(
        recommender,
        train,
        test,
        exclude_train=exclude_train,
        relevant_kinds=relevant_kinds,
        sample=sample,
        seed=seed,
    )
    shelves = _batched(
        recommender, list(relevant), k, exclude_purchased=exclude_train, batch_size=batch_size
    )
    return _scored(recommender, shelves, relevant, k, train, seed)


def evaluate_by_store(
    recommender: Any,
    train: pd.DataFrame,
    test: pd.DataFrame,
    k: int = 10,
    *,
    exclude_train: bool = True,
    sample: int | None = None,
    seed: int = 0,
    relevant_kinds: str | Sequence[str] | None = "auto",
    batch_size: int = _BATCH,
) -> pd.DataFrame:
    """Per-store breakdown: each store's shoppers, scored on that store's shelf.

    For every store known to the recommender with test events, the warm members (as in
    :func:`evaluate`, the same ``sample``) who have relevant SKUs *bought in that store* get
    a shelf from ``recommend_arrays(..., store=store)`` — restricted to the store's assortment —
    and it is scored against those SKUs only. A member who shops in two stores counts once
    in each.

    Parameters
    ----------
    recommender, train, test, k, exclude_train, sample, seed, relevant_kinds, batch_size
        As in :func:`evaluate`; ``test`` needs a ``store_id`` column.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``store_id`` (sorted): the ranking metrics of
        :data:`~recsys.evaluation.RANKING_METRICS`, ``coverage`` (share of the store's
        assortment on some shelf) and ``n_members``.

    Raises
    ------
    InvalidInputError
        As :func:`evaluate`, or ``test`` has no ``store_id`` column.

    Examples
    --------
    >>> import recsys
    >>> from recsys.datasets import synthetic_retail
    >>> from recsys.evaluation import temporal_split
    >>> data = synthetic_retail(n_users=300, n_items=200, n_stores=3, items_per_store=(80, 120))
    >>> train, test = temporal_split(data.interactions, test_fraction=0.2)
    >>> rec = recsys.Recommender(model="popular").fit(
    ...     train, catalog=data.catalog, stores=data.stores, profiles=data.profiles)
    >>> table = evaluate_by_store(rec, train, test, k=10)
    >>> table.index.tolist(), list(table.columns[:3])
    (['s0', 's1', 's2'], ['precision', 'recall', 'ndcg'])
    """
    k = _check_args(recommender, k, sample, batch_size)
    _check_frame(test, "test", (Columns.USER, Columns.ITEM, Columns.STORE))
    warm = _warm_relevant(
        recommender,
        train,
        test,
        exclude_train=exclude_train,
        relevant_kinds=relevant_kinds,
        sample=sample,
        seed=seed,
    )
    per_store = _store_truth(
        recommender, train, test, warm, exclude_train=exclude_train, relevant_kinds=relevant_kinds
    )
    rows = [
        _store_row(recommender, store, truth, k, exclude_train=exclude_train, batch_size=batch_size)
        for store, truth in sorted(per_store.items())
    ]
    columns = [Columns.STORE, *RANKING_METRICS, "coverage", "n_members"]
    return pd.DataFrame(rows, columns=columns).set_index(Columns.STORE)
