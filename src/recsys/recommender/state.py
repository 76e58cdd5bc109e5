"""Everything a fitted recommender answers from, built once by ``fit`` or ``load``.

The facade holds one :class:`ShelfState` and passes it (or the pieces a helper needs) to the
helpers of this package; no helper reads another object's private attributes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recsys.data import Catalog, RetailDataset
from recsys.index import VectorIndex
from recsys.models import PopularityModel, RecModel, VectorModel
from recsys.recommender.audience import AudienceIndex
from recsys.recommender.filters import AllowedItems
from recsys.recommender.members import MemberState
from recsys.recommender.ranking import ItemRanker
from recsys.recommender.reasons import ReasonBuilder
from recsys.recommender.session import SessionLog

__all__ = ["ShelfState", "build_state", "model_version"]


@dataclass(frozen=True, eq=False)
class ShelfState:
    """The fitted pieces: data (ids, catalog, matrices), model, indexes and member state.

    Attributes
    ----------
    dataset : RetailDataset
        Ids, catalog, assortment, profile encoder and training matrices (no event table).
    model : RecModel
        The fitted model.
    fallback : PopularityModel
        Popular-in-store (or in the member's segment) for members nothing is known about.
    members : MemberState
        Every member's current history, purchases, profile row and vector.
    allowed : AllowedItems
        Store and catalog filters turned into allowed SKU ids.
    items : ItemRanker or None
        Item vectors, store blocks and the FAISS index (vector models only).
    similar : VectorIndex or None
        Unit item vectors for ``similar_items`` (vector models only).
    reasons : ReasonBuilder
        Reasons for the shelves people read.
    audiences : AudienceIndex
        Members by vector, for ``audience``.
    regulars : scipy.sparse.csc_matrix, shape (n_members, n_stores)
        Members with events in each store at training time.
    item_names : list of str
        External SKU ids in internal order.
    model_version : str
        Content hash of the fitted model.
    sessions : SessionLog
        Every member's live events of the current visit (not saved: replayed from the log).
    sold : ndarray of int64, shape (n_trained_items,)
        Members with events on each trained SKU (look-alikes are chosen among sold SKUs).
    added_on : ndarray of datetime64[D], shape (n_items,)
        The day each SKU was added after training (:mod:`recsys.recommender.live_catalog`),
        NaT for the SKUs known at training.
    """

    dataset: RetailDataset
    model: RecModel
    fallback: PopularityModel
    members: MemberState
    allowed: AllowedItems
    items: ItemRanker | None
    similar: VectorIndex | None
    reasons: ReasonBuilder
    audiences: AudienceIndex
    regulars: sp.csc_matrix
    item_names: list[str]
    model_version: str
    sessions: SessionLog
    sold: np.ndarray
    added_on: np.ndarray


def launch_days(catalog: Catalog, added_on: np.ndarray) -> np.ndarray:
    """The day each SKU came to the shelves: its ``available_from``, else the day it was
    added after training (NaT for a trained SKU without a sale window: never "new")."""
    return np.where(np.isnat(catalog.available_from), added_on, catalog.available_from)


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


def build_state(
    dataset: RetailDataset,
    model: RecModel,
    *,
    index_kind: str,
    seed: int,
    item_index: VectorIndex | None = None,
    version: str | None = None,
    added_on: np.ndarray | None = None,
) -> ShelfState:
    """Assemble the state of a model fitted on ``dataset`` (indexes built unless given).

    ``dataset`` and ``model`` may hold SKUs added after training (a saved grown state):
    the model's ``added_`` weights extend the popularity fallback the same way.
    """
    m = dataset.matrices
    n_items = len(dataset.items)
    vectors = model.user_factors_ if isinstance(model, VectorModel) else None
    members = MemberState(dataset.users, m.confidence, m.purchased, m.user_features, vectors)
    if n_items != members.n_items:
        members = members.with_items(n_items)
    fallback = PopularityModel(by="auto").fit(m)
    if model.added_ is not None:
        fallback = fallback.with_items(model.added_)
    items = similar = None
    item_vectors = None
    if isinstance(model, VectorModel):
        item_vectors = model.item_vectors
        index = item_index or VectorIndex(kind=index_kind, seed=seed).build(item_vectors)
        items = ItemRanker(item_vectors, index, dataset.assortment)
        similar = VectorIndex(kind=index_kind, seed=seed).build(unit_rows(item_vectors))
    if added_on is None:
        added_on = np.full(n_items, np.datetime64("NaT"), dtype="datetime64[D]")
    return ShelfState(
        dataset=dataset,
        model=model,
        fallback=fallback,
        members=members,
        allowed=AllowedItems(dataset.catalog, dataset.assortment, n_items),
        items=items,
        similar=similar,
        reasons=ReasonBuilder(
            dataset.catalog,
            item_vectors,
            launch_days(dataset.catalog, added_on),
            model.item_neighbours(),
        ),
        audiences=AudienceIndex(members),
        regulars=m.user_stores.tocsc(),
        item_names=[str(i) for i in dataset.items.ids],
        model_version=version or model_version(model, dataset),
        sessions=SessionLog(),
        sold=np.diff(m.confidence.tocsc().indptr).astype(np.int64),
        added_on=added_on,
    )


def model_version(model: RecModel, dataset: RetailDataset | None = None) -> str:
    """Short content hash of a fitted model's parameters and learned arrays, and of the
    ids its rows and columns stand for (members, SKUs, stores): the same arrays over other
    ids (pseudonymized members, renamed stores) are another model."""
    params = json.dumps({"name": model.name, **model.get_params()}, sort_keys=True, default=str)
    h = hashlib.sha256(params.encode())
    for key, arr in sorted(model.get_state().items()):
        h.update(key.encode())
        h.update(np.ascontiguousarray(arr).tobytes())
    if dataset is not None:
        for kind, ids in (
            ("members", dataset.users),
            ("items", dataset.items),
            ("stores", dataset.stores),
        ):
            h.update(kind.encode())
            h.update("\x1f".join(map(str, ids.ids.tolist())).encode())
    return h.hexdigest()[:12]
