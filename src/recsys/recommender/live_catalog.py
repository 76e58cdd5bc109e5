"""SKUs, attributes and stock that change after training, without retraining.

Each change builds a new :class:`~recsys.recommender.state.ShelfState` from the current one
and leaves that one untouched, so a shelf being computed while the change lands finishes on
a consistent state; the facade swaps the new state in with one assignment.

* :func:`with_items` adds SKUs (or changes the attributes of known ones). A new SKU is
  placed among its look-alikes (:mod:`recsys.data.lookalikes`): the model scores it as their
  weighted mean, a vector model gives it their mean vector (``profile`` and ``hybrid`` embed
  its attributes), the FAISS indexes are extended, and it joins the stores named for it.
* :func:`with_stock` changes one store's stock: a SKU at quantity 0 leaves the store's
  assortment (it is never shown there), a SKU above 0 joins it.

A :class:`PendingChange` holds a checked change before it is in effect: the service writes
it to its durable log in between, so nothing is logged that cannot be applied, and nothing
is applied that is not logged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.columns import Columns
from recsys.data import Assortment, IdMap
from recsys.data.catalog import N_PRICE_TIERS, catalog_ids
from recsys.data.frames import as_pandas
from recsys.data.lookalikes import lookalike_weights
from recsys.exceptions import InvalidInputError, SchemaError, UnknownIdError
from recsys.models import VectorModel
from recsys.recommender.audience import AudienceIndex
from recsys.recommender.filters import AllowedItems
from recsys.recommender.ranking import ItemRanker
from recsys.recommender.reasons import ReasonBuilder
from recsys.recommender.state import ShelfState, launch_days, unit_rows

__all__ = ["PendingChange", "with_items", "with_stock"]


@dataclass(frozen=True, eq=False)
class PendingChange:
    """A checked catalog or stock change, not yet in effect (see
    :meth:`Recommender.prepare_items`): the state it leads to, and how to make it again
    from a newer state should one land first.

    Attributes
    ----------
    kind : {"items", "stock"}
    added : int
        SKUs new to the catalog.
    """

    kind: str
    added: int
    base: ShelfState
    base_version: int
    state: ShelfState
    redo: Callable[[ShelfState], tuple[ShelfState, int]]

    def on(self, state: ShelfState) -> ShelfState:
        """The changed state, made from ``state`` (the one it was prepared on, if unchanged)."""
        if state is self.base and state.members.version == self.base_version:
            return self.state
        return self.redo(state)[0]


def with_items(
    state: ShelfState,
    items: Any,
    stores: Mapping[str, Sequence[str]] | None,
    day: np.datetime64,
) -> tuple[ShelfState, int]:
    """The state with the SKUs of ``items`` added or changed; and how many are new.

    Parameters
    ----------
    state : ShelfState
    items : DataFrame or list of dict
        One row per SKU: ``item_id`` and any catalog columns (``category``, ``price``,
        ``season``, ``available_from``, ``available_to``, ``name``, ``tags``, ``group_id``).
        A known SKU takes the given values (a dict's missing or None keys keep theirs); a
        new SKU starts unknown in the others.
    stores : dict of store id to list of SKU ids, optional
        Stores that stock these SKUs from now on (known SKUs or SKUs of ``items``).
    day : numpy.datetime64
        Today: a new SKU without ``available_from`` is "new" for 30 days from it.
    """
    data = state.dataset
    frames = _frames(items)
    ids = np.concatenate([catalog_ids(f) for f in frames])
    fresh = [i for i in ids.tolist() if i not in data.items]
    grown = data.items.add(fresh) if fresh else data.items
    pairs = _store_pairs(stores, data.stores, grown)
    catalog = data.catalog
    for frame in frames:  # validates every attribute before anything changes
        catalog = catalog.updated(frame, grown)
    items = grown
    n_trained, n_old, n_all = state.model.n_trained_items_, len(data.items), len(items)
    placed = items.to_index(ids)
    replaced = np.sort(placed[(placed >= n_trained) & (placed < n_old)])
    redo = np.union1d(replaced, np.arange(n_old, n_all)).astype(np.int64)

    model, fallback, members = state.model, state.fallback, state.members
    if len(redo):
        n_categories = data.matrices.item_features.shape[1] - N_PRICE_TIERS - 12
        placed_rows = lookalike_weights(
            catalog,
            redo,
            np.flatnonzero(state.sold > 0),
            n_trained,
            popularity=fallback.overall()[:n_trained],
            n_categories=n_categories,
        )
        weights = _weights(
            model.added_, n_trained, n_all - n_trained, redo - n_trained, placed_rows
        )
        added = np.arange(n_trained, n_all)
        model = model.with_items(weights, catalog.item_features(added, n_categories))
        fallback = fallback.with_items(weights)
    if n_all != n_old:
        members = members.with_items(n_all)
    assortment = _with_pairs(data.assortment, pairs, n_all)
    added_on = np.concatenate([state.added_on, np.full(n_all - n_old, day, dtype="datetime64[D]")])
    dataset = dataclasses.replace(data, items=items, catalog=catalog, assortment=assortment)
    ranker, similar, vectors = state.items, state.similar, None
    if isinstance(model, VectorModel) and ranker is not None and similar is not None:
        vectors = model.item_vectors
        if len(replaced):  # re-placed SKUs moved: index everything again
            index = type(ranker.index)(**ranker.index.get_params()).build(vectors)
            similar = type(similar)(**similar.get_params()).build(unit_rows(vectors))
        else:
            index = ranker.index.extended(vectors[n_old:]) if n_all > n_old else ranker.index
            similar = similar.extended(unit_rows(vectors[n_old:])) if n_all > n_old else similar
        ranker = ItemRanker(vectors, index, assortment)
    out = dataclasses.replace(
        state,
        dataset=dataset,
        model=model,
        fallback=fallback,
        members=members,
        allowed=AllowedItems(catalog, assortment, n_all),
        items=ranker,
        similar=similar,
        reasons=ReasonBuilder(
            catalog, vectors, launch_days(catalog, added_on), model.item_neighbours()
        ),
        audiences=state.audiences if members is state.members else AudienceIndex(members),
        item_names=state.item_names + fresh,
        added_on=added_on,
    )
    return out, len(fresh)


def with_stock(state: ShelfState, store_id: Any, stock: Any) -> ShelfState:
    """The state with one store's stock changed: quantity 0 hides a SKU there, above 0
    stocks it.

    Raises
    ------
    UnknownIdError
        An unknown store or SKU.
    InvalidInputError
        A quantity that is not a finite number >= 0.
    """
    data = state.dataset
    if not isinstance(store_id, str):
        raise InvalidInputError(f"store_id must be a string, got {store_id!r}")
    store = data.stores.index_of(store_id)
    if not isinstance(stock, Mapping) or not all(isinstance(k, str) for k in stock):
        raise InvalidInputError("stock must be a dict of SKU id -> quantity")
    for sku, qty in stock.items():
        if isinstance(qty, bool) or not isinstance(qty, int | float) or not np.isfinite(qty):
            raise InvalidInputError(f"stock of {sku!r} must be a number, got {qty!r}")
        if qty < 0:
            raise InvalidInputError(f"stock of {sku!r} must be >= 0, got {qty!r}")
    skus = data.items.to_index(list(stock))
    qty = np.array(list(stock.values()), dtype=np.float64)
    keep = np.setdiff1d(data.assortment.items_of(store), skus[qty <= 0])
    row = np.union1d(keep, skus[qty > 0]).astype(np.int64)
    matrix = data.assortment.matrix.tolil()
    matrix[store, :] = False
    matrix[store, row] = True
    assortment = Assortment(matrix)
    dataset = dataclasses.replace(data, assortment=assortment)
    ranker = state.items
    if ranker is not None:
        ranker = ItemRanker(ranker.vectors, ranker.index, assortment)
    return dataclasses.replace(
        state,
        dataset=dataset,
        allowed=AllowedItems(data.catalog, assortment, len(data.items)),
        items=ranker,
    )


def _frames(items: Any) -> list[pd.DataFrame]:
    """``items`` as pandas frames: one for a frame (pandas, polars, pyarrow), one per set of
    keys for a list of SKU dicts (a key a dict leaves out, or sets to None, is kept as it is).
    """
    if isinstance(items, Sequence) and not isinstance(items, str | bytes):
        if not all(isinstance(row, Mapping) for row in items):
            raise InvalidInputError("items must be a frame or a list of SKU dicts")
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in items:
            given = {k: v for k, v in row.items() if v is not None}
            groups.setdefault(tuple(sorted(given)), []).append(given)
        frames = [pd.DataFrame(rows, columns=list(keys)) for keys, rows in groups.items()]
    else:
        frame = as_pandas(items, "items")
        if frame is None:
            raise InvalidInputError("add_items() needs a frame of SKUs with an item_id column")
        frames = [frame.reset_index(drop=True)]
    if not frames or all(f.empty for f in frames):
        raise InvalidInputError("add_items() got no SKUs")
    for frame in frames:
        if Columns.ITEM not in frame.columns:
            raise SchemaError(
                f"items frame misses column {Columns.ITEM!r} (has {list(frame.columns)})"
            )
    ids = pd.Series(np.concatenate([catalog_ids(f) for f in frames]))
    if ids.duplicated().any():
        raise SchemaError(f"items list SKUs {ids[ids.duplicated()].unique()[:5].tolist()} twice")
    return frames


def _store_pairs(
    stores: Mapping[str, Sequence[str]] | None, store_ids: IdMap, items: IdMap
) -> tuple[np.ndarray, np.ndarray]:
    """(store, SKU) internal id pairs of ``stores`` (every id checked)."""
    if stores is None:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    if not isinstance(stores, Mapping):
        raise InvalidInputError("stores must be a dict of store id -> list of SKU ids")
    rows, cols = [], []
    for store_id, skus in stores.items():
        if not isinstance(store_id, str):
            raise InvalidInputError(f"store ids must be strings, got {store_id!r}")
        if isinstance(skus, str) or not isinstance(skus, Sequence):
            raise InvalidInputError(f"stores[{store_id!r}] must be a list of SKU ids")
        if not all(isinstance(s, str) for s in skus):
            raise InvalidInputError(f"stores[{store_id!r}] must hold SKU id strings")
        store = store_ids.index_of(store_id)
        found = items.to_index(list(skus), strict=False)
        if (found < 0).any():
            missing = [s for s, f in zip(skus, found, strict=True) if f < 0]
            raise UnknownIdError("item", missing, known=len(items))
        rows.append(np.full(len(found), store, dtype=np.int64))
        cols.append(found.astype(np.int64))
    if not rows:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(rows), np.concatenate(cols)


def _with_pairs(
    assortment: Assortment, pairs: tuple[np.ndarray, np.ndarray], n_items: int
) -> Assortment:
    """``assortment`` over ``n_items`` SKUs, with the (store, SKU) ``pairs`` stocked."""
    if not len(pairs[0]) and n_items == assortment.n_items:
        return assortment
    old = assortment.matrix.tocoo()
    rows = np.concatenate([old.row, pairs[0]])
    cols = np.concatenate([old.col, pairs[1]])
    data = np.ones(len(rows), dtype=bool)
    return Assortment(sp.csr_matrix((data, (rows, cols)), shape=(assortment.n_stores, n_items)))


def _weights(
    previous: sp.csr_matrix | None,
    n_trained: int,
    n_added: int,
    rows: np.ndarray,
    placed: sp.csr_matrix,
) -> sp.csr_matrix:
    """Look-alike weights of ``n_added`` added SKUs: the ``previous`` ones, with ``rows``
    (positions among the added SKUs) replaced by ``placed``."""
    old = sp.csr_matrix((n_added, n_trained), dtype=np.float32)
    if previous is not None:
        pad = sp.csr_matrix((n_added - previous.shape[0], n_trained), dtype=np.float32)
        old = sp.csr_matrix(sp.vstack([previous, pad]), dtype=np.float32)
    keep = np.ones(n_added, dtype=np.float32)
    keep[rows] = 0.0
    put = sp.csr_matrix(
        (np.ones(len(rows), np.float32), (rows, np.arange(len(rows)))), shape=(n_added, len(rows))
    )
    return sp.csr_matrix(sp.diags(keep) @ old + put @ placed, dtype=np.float32)
