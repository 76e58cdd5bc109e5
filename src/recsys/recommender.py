"""The facade users import and the service calls: model + index + catalog + rules.

>>> import recsys
>>> from recsys.datasets import synthetic_retail
>>> data = synthetic_retail(n_users=300, n_items=200, n_stores=3, items_per_store=(80, 120), seed=0)
>>> rec = recsys.Recommender(model="als", factors=16, iterations=5).fit(data)
>>> member, store = data.interactions.user_id.iloc[0], data.stores.store_id.iloc[0]
>>> shelf = rec.recommend(member, k=5, store_id=store)
>>> len(shelf), sorted(shelf[0].to_dict())
(5, ['item_id', 'reason', 'score'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys._filters import AllowedItems, ShelfFilter, parse_filters
from recsys._members import MemberState
from recsys._ranking import top_k_dense
from recsys._reasons import ReasonBuilder
from recsys._updates import EventBatch, prepare_events
from recsys.data import EventWeights, RetailDataset
from recsys.exceptions import InvalidInputError, NotFittedError, UnknownIdError
from recsys.index import VectorIndex
from recsys.models import MODEL_REGISTRY, PopularityModel, RecModel, make_model

ON_UNKNOWN = ("fallback", "raise")
_EMPTY = np.empty(0, dtype=np.int64)
INDEX_KINDS = ("exact", "hnsw", "ivf")


class Recommendation(NamedTuple):
    """One shelf entry: a SKU, its score (higher is better) and a reason to say out loud.

    A named tuple: a batch of 1,000 shelves builds 10,000 of them, and a tuple is built
    several times faster than a frozen dataclass.
    """

    item_id: str
    score: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "score": self.score, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class MemberScore:
    """One audience entry: a member and how likely they are to want the SKU."""

    member_id: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"member_id": self.member_id, "score": self.score}


def check_k(k: Any, name: str = "k") -> int:
    """``k`` must be a positive int (bools and floats are refused)."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise InvalidInputError(f"{name} must be a positive integer, got {k!r}")
    if k <= 0:
        raise InvalidInputError(f"{name} must be > 0, got {k}")
    return int(k)


class Recommender:
    """Personal shelves for every member: train, recommend in a store, update in real time.

    Parameters
    ----------
    model : str
        ``"als"``, ``"bpr"``, ``"itemknn"``, ``"ease"``, ``"popular"``, ``"profile"`` or
        ``"hybrid"`` (collaborative vectors blended with profile vectors by history length).
    factors : int
        Latent dimensions of factor models.
    seed : int
        Random seed of training and of approximate indexes.
    on_unknown : {"fallback", "raise"}
        An unknown member without a profile gets popular-in-store, or ``UnknownIdError``.
    index : {"exact", "hnsw", "ivf"}
        FAISS index over item vectors; approximate kinds are for very large catalogs.
    weights : EventWeights, optional
        How purchases, carts, views (dwell) and coupons turn into confidence.
    live_boost : float
        Events given to :meth:`update` (since training) weigh this many times their usual
        weight: raise it when today's behaviour should count for more than history. On the
        synthetic chain, five 90-second views of one category change on average 1.4 of ten
        shelf slots (none for 15 % of members) with ``1.0``, and 2.8 (none for 5 %) with
        ``3.0``. The next retraining takes the events at their usual weight.
    **model_params
        Passed to the model (e.g. ``iterations=15``, ``regularization=0.05``).

    Examples
    --------
    >>> from recsys.datasets import synthetic_retail
    >>> data = synthetic_retail(n_users=300, n_items=200, n_stores=3, items_per_store=(80, 120))
    >>> rec = Recommender(model="hybrid", factors=16, iterations=5).fit(data)
    >>> member, store = data.interactions.user_id.iloc[0], data.stores.store_id.iloc[0]
    >>> [r.item_id for r in rec.recommend(member, k=3, store_id=store)] != []
    True
    >>> cold = rec.recommend(None, k=3, profile={"age_band": "25-34", "family": "kids"})
    >>> len(cold)
    3
    """

    def __init__(
        self,
        model: str = "hybrid",
        factors: int = 64,
        seed: int = 0,
        *,
        on_unknown: str = "fallback",
        index: str = "exact",
        weights: EventWeights | None = None,
        live_boost: float = 1.0,
        **model_params: Any,
    ) -> None:
        self.model = model
        self.factors = factors
        self.seed = seed
        self.on_unknown = on_unknown
        self.index = index
        self.weights = weights
        self.live_boost = live_boost
        self.model_params = dict(model_params)
        self._member_index_lock = Lock()

    # ------------------------------------------------------------------ training
    def _validate_params(self) -> None:
        if self.model not in MODEL_REGISTRY:
            raise InvalidInputError(
                f"unknown model {self.model!r}; choose one of {sorted(MODEL_REGISTRY)}"
            )
        check_k(self.factors, "factors")
        if self.on_unknown not in ON_UNKNOWN:
            raise InvalidInputError(
                f"on_unknown must be one of {ON_UNKNOWN}, got {self.on_unknown!r}"
            )
        if self.index not in INDEX_KINDS:
            raise InvalidInputError(f"index must be one of {INDEX_KINDS}, got {self.index!r}")
        if (
            isinstance(self.live_boost, bool)
            or not isinstance(self.live_boost, int | float)
            or not self.live_boost > 0
        ):
            raise InvalidInputError(f"live_boost must be a number > 0, got {self.live_boost!r}")
        if self.weights is not None and not isinstance(self.weights, EventWeights):
            raise InvalidInputError("weights must be an EventWeights")

    def _make_model(self) -> RecModel:
        return make_model(self.model, factors=self.factors, seed=self.seed, **self.model_params)

    def fit(
        self,
        interactions: Any,
        catalog: pd.DataFrame | None = None,
        stores: pd.DataFrame | None = None,
        profiles: pd.DataFrame | None = None,
        *,
        unknown_items: str = "raise",
    ) -> Recommender:
        """Learn from events (and catalog, store assortments, member profiles); returns ``self``.

        ``interactions`` may also be a :class:`recsys.datasets.RetailData` bundle (its frames
        are used for arguments left as ``None``) or a ready :class:`recsys.data.RetailDataset`.
        Refitting starts from scratch.
        """
        self._validate_params()
        if isinstance(interactions, RetailDataset):
            dataset = interactions
        else:
            if all(
                hasattr(interactions, a) for a in ("interactions", "catalog", "stores", "profiles")
            ):
                bundle = interactions
                interactions = bundle.interactions
                catalog = bundle.catalog if catalog is None else catalog
                stores = bundle.stores if stores is None else stores
                profiles = bundle.profiles if profiles is None else profiles
            dataset = RetailDataset.build(
                interactions,
                catalog=catalog,
                stores=stores,
                profiles=profiles,
                weights=self.weights or EventWeights(),
                unknown_items=unknown_items,
            )
        model = self._make_model().fit(dataset.matrices)
        self._install(dataset, model)
        return self

    def _install(
        self,
        dataset: RetailDataset,
        model: RecModel,
        event_seq: int = 0,
        item_index: VectorIndex | None = None,
    ) -> None:
        m = dataset.matrices
        self.dataset_ = dataset
        self.model_ = model
        self.fallback_ = PopularityModel(by="auto").fit(m)
        vectors = model.user_factors_ if model.supports_vectors else None
        self.members_ = MemberState(
            dataset.users, m.confidence, m.purchased, m.user_features, vectors
        )
        self.allowed_ = AllowedItems(dataset.catalog, dataset.assortment, m.n_items)
        item_vectors = model.item_factors_ if model.supports_vectors else None
        if item_vectors is not None:
            self.item_index_ = item_index or VectorIndex(kind=self.index, seed=self.seed).build(
                item_vectors
            )
            norms = np.linalg.norm(item_vectors, axis=1, keepdims=True)
            self.similar_index_ = VectorIndex(kind=self.index, seed=self.seed).build(
                item_vectors / np.maximum(norms, 1e-12)
            )
        self.item_interactions_ = np.diff(m.confidence.tocsc().indptr)
        self.reasons_ = ReasonBuilder(dataset.catalog, item_vectors, self.item_interactions_)
        self.regulars_ = m.user_stores.tocsc()
        self._item_names: list[str] = [str(i) for i in dataset.items.ids]
        self.event_seq = event_seq
        self.model_version_ = model_version(model)
        self._member_index: VectorIndex | None = None

    # ---------------------------------------------------------------- properties
    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "model_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError("Recommender isn't fitted: call fit() or Recommender.load() first")

    @property
    def model_version(self) -> str:
        """Stable id of the trained artifact (a hash of the learned state)."""
        self._check_fitted()
        return self.model_version_

    @property
    def cutoff(self) -> pd.Timestamp | None:
        """Timestamp of the latest training event."""
        self._check_fitted()
        return self.dataset_.cutoff

    @property
    def n_members(self) -> int:
        self._check_fitted()
        return len(self.members_)

    @property
    def n_items(self) -> int:
        self._check_fitted()
        return len(self.dataset_.items)

    @property
    def store_ids(self) -> list[str]:
        self._check_fitted()
        return [str(s) for s in self.dataset_.stores.ids]

    # -------------------------------------------------------------- boundary ids
    def _store(self, store_id: Any) -> int:
        if store_id is None:
            return -1
        if not isinstance(store_id, str):
            raise InvalidInputError(f"store_id must be a string, got {store_id!r}")
        return self.dataset_.stores.index_of(store_id)

    def _item(self, item_id: Any) -> int:
        if not isinstance(item_id, str):
            raise InvalidInputError(f"item_id must be a string, got {item_id!r}")
        return self.dataset_.items.index_of(item_id)

    def _profile_row(self, profile: Any) -> sp.csr_matrix:
        if not isinstance(profile, Mapping) or not all(isinstance(k, str) for k in profile):
            raise InvalidInputError(f"profile must be a dict of tag name -> value, got {profile!r}")
        return self.dataset_.profile_encoder.transform_one(dict(profile))

    def _member(self, member_id: Any, profile: Any) -> tuple[int, sp.csr_matrix | None, list[str]]:
        """(internal id or -1, profile row or None, readable tags) of a request's member.

        The profile row is ``None`` for a known member whose stored profile applies.
        """
        if member_id is None and profile is None:
            raise InvalidInputError("give a member_id, a profile, or both")
        if member_id is not None and not isinstance(member_id, str):
            raise InvalidInputError(f"member_id must be a string, got {member_id!r}")
        encoder = self.dataset_.profile_encoder
        if member_id is not None:
            u = self.members_.index_of(member_id)
            if u >= 0:
                columns = self.members_.feature_columns(u)
                if not len(columns) and profile is not None:
                    row = self._profile_row(profile)
                    return u, row, encoder.describe(row)
                return u, None, encoder.tags_of_columns(columns)
        if profile is not None:
            row = self._profile_row(profile)
            return -1, row, encoder.describe(row)
        if self.on_unknown == "raise":
            raise UnknownIdError("member", [member_id], known=len(self.members_))
        return -1, None, []

    # ---------------------------------------------------------------- shelves
    def recommend(
        self,
        member_id: str | None,
        k: int = 10,
        *,
        store_id: str | None = None,
        profile: Mapping[str, Any] | None = None,
        filters: Mapping[str, Any] | None = None,
        exclude_purchased: bool = True,
    ) -> list[Recommendation]:
        """A member's shelf: at most ``k`` SKUs passing every filter, best first.

        Parameters
        ----------
        member_id : str or None
            External member id; ``None`` (or an unknown id) with ``profile`` is a cold start.
        k : int
            Shelf length (fewer are returned when fewer SKUs pass the filters).
        store_id : str, optional
            Only SKUs this store stocks.
        profile : dict, optional
            Tags of a member without history, e.g. ``{"age_band": "25-34", "family": "kids"}``.
        filters : dict, optional
            ``category``, ``min_price``, ``max_price``, ``in_season``, ``include``, ``exclude``.
        exclude_purchased : bool
            Leave out SKUs the member already bought.

        Returns
        -------
        list of Recommendation
        """
        self._check_fitted()
        k = check_k(k)
        store = self._store(store_id)
        flt = parse_filters(filters, self.dataset_.catalog, self.dataset_.items)
        allowed = self.allowed_.allowed(store, flt)
        u, features, tags = self._member(member_id, profile)
        bought = self.members_.bought(u)
        excluded = self._excluded(bought if exclude_purchased else None, flt)
        if u < 0 and features is None:
            scores = self.fallback_.score(np.array([-1]), self._empty_rows(1), None, store)
            ids, vals = top_k_dense(scores, k, allowed, [excluded])
        elif self.model_.supports_vectors:
            if u >= 0:
                vec = self.members_.vectors(np.array([u]))
            else:
                vec = self.model_.fold_in(self._empty_rows(1), features)
            vals, ids = self.item_index_.search(vec, k, allowed=allowed, excluded=excluded)
        else:
            users = np.array([u])
            history = self.members_.history(users) if u >= 0 else self._empty_rows(1)
            if features is None and u >= 0:
                features = self.members_.features(users)
            scores = self.model_.score(users, history, features, store)
            ids, vals = top_k_dense(scores, k, allowed, [excluded])
        return self._shelf(ids[0], vals[0], self._history(u, bought), bought, tags, store >= 0)

    def recommend_batch(
        self,
        member_ids: Sequence[str],
        k: int = 10,
        *,
        store_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        exclude_purchased: bool = True,
    ) -> list[list[Recommendation]]:
        """Shelves for many members at once (one vectorized search), in input order."""
        self._check_fitted()
        k = check_k(k)
        if isinstance(member_ids, str) or not isinstance(member_ids, Sequence) or not member_ids:
            raise InvalidInputError("member_ids must be a non-empty list of member id strings")
        if not all(isinstance(m, str) for m in member_ids):
            raise InvalidInputError("member_ids must all be strings")
        store = self._store(store_id)
        flt = parse_filters(filters, self.dataset_.catalog, self.dataset_.items)
        allowed = self.allowed_.allowed(store, flt)
        users = self.members_.to_index(list(member_ids), strict=self.on_unknown == "raise")
        boughts = [self.members_.bought(u) for u in users.tolist()]
        excluded = [self._excluded(b if exclude_purchased else None, flt) for b in boughts]
        n = len(users)
        ids = np.full((n, k), -1, dtype=np.int64)
        vals = np.full((n, k), -np.inf, dtype=np.float32)
        known = np.flatnonzero(users >= 0)
        unknown = np.flatnonzero(users < 0)
        if len(known):
            ku = users[known]
            if self.model_.supports_vectors:
                q = self.members_.vectors(ku)
                rows = [_EMPTY if excluded[j] is None else excluded[j] for j in known]
                kv, ki = self.item_index_.search_each(q, k, allowed, rows)
            else:
                scores = self.model_.score(
                    ku, self.members_.history(ku), self.members_.features(ku), store
                )
                ki, kv = top_k_dense(scores, k, allowed, [excluded[j] for j in known])
            ids[known], vals[known] = ki, kv
        if len(unknown):
            scores = self.fallback_.score(
                np.full(len(unknown), -1), self._empty_rows(len(unknown)), None, store
            )
            ui, uv = top_k_dense(scores, k, allowed, [excluded[j] for j in unknown])
            ids[unknown], vals[unknown] = ui, uv
        encoder = self.dataset_.profile_encoder
        histories = [self._history(u, b) for u, b in zip(users.tolist(), boughts, strict=True)]
        refs = self.reasons_.references(ids, histories)
        out = []
        for j, u in enumerate(users.tolist()):
            tags = encoder.tags_of_columns(self.members_.feature_columns(u)) if u >= 0 else []
            out.append(
                self._shelf(ids[j], vals[j], histories[j], boughts[j], tags, store >= 0, refs[j])
            )
        return out

    def similar_items(
        self,
        item_id: str,
        k: int = 10,
        *,
        store_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> list[Recommendation]:
        """SKUs most like ``item_id`` (cosine in the model's item space), itself excluded."""
        self._check_fitted()
        k = check_k(k)
        item = self._item(item_id)
        store = self._store(store_id)
        flt = parse_filters(filters, self.dataset_.catalog, self.dataset_.items)
        allowed = self.allowed_.allowed(store, flt)
        excluded = np.union1d(np.asarray(flt.exclude, dtype=np.int64), [item]).astype(np.int64)
        if self.model_.supports_vectors:
            q = self.similar_index_.vectors[item : item + 1]
            vals, ids = self.similar_index_.search(q, k, allowed=allowed, excluded=excluded)
        else:
            row = sp.csr_matrix(([1.0], ([0], [item])), shape=(1, self.n_items), dtype=np.float32)
            scores = self.model_.score(np.array([-1]), row, None, store)
            ids, vals = top_k_dense(scores, k, allowed, [excluded])
        name = self.dataset_.catalog.names[item]
        keep = ids[0] >= 0
        return [
            Recommendation(str(self.dataset_.items.ids[i]), float(v), f"similar to {name}")
            for i, v in zip(ids[0][keep].tolist(), vals[0][keep].tolist(), strict=True)
        ]

    def audience(
        self,
        item_id: str,
        k: int = 1000,
        *,
        store_id: str | None = None,
        exclude_purchased: bool = True,
    ) -> list[MemberScore]:
        """Members most likely to want ``item_id`` (e.g. who should get its coupon).

        With ``store_id``, only that store's regular customers (members with events there).
        Members who already bought the SKU are left out unless ``exclude_purchased=False``.
        """
        self._check_fitted()
        k = check_k(k)
        item = self._item(item_id)
        store = self._store(store_id)
        allowed = None
        if store >= 0:
            col = self.regulars_
            allowed = np.sort(col.indices[col.indptr[store] : col.indptr[store + 1]]).astype(
                np.int64
            )
        excluded = self._buyers(item) if exclude_purchased else None
        if self.model_.supports_vectors:
            index = self._members_index()
            q = self.model_.item_factors_[item : item + 1]
            vals, ids = index.search(q, k, allowed=allowed, excluded=excluded)
            ids, vals = ids[0], vals[0]
        else:
            scores = self._item_column_scores(item)
            ids, vals = top_k_dense(scores[None, :], k, allowed, [excluded])
            ids, vals = ids[0], vals[0]
        keep = ids >= 0
        names = self.members_.id_of(ids[keep])
        return [MemberScore(m, float(v)) for m, v in zip(names, vals[keep].tolist(), strict=True)]

    # ------------------------------------------------------------------ updates
    def check_events(
        self, events: Any, profiles: Mapping[str, Mapping[str, Any]] | None = None
    ) -> int:
        """Validate events as :meth:`update` would, changing nothing; returns their count."""
        self._check_fitted()
        return prepare_events(self, events, profiles).n_events

    def update(self, events: Any, profiles: Mapping[str, Mapping[str, Any]] | None = None) -> int:
        """Fold new events into the members' vectors; the next shelf reflects them.

        All-or-nothing: every event is validated (member id string, known SKU and store,
        kind, value >= 0) before any state changes. A member first seen here becomes known,
        with a vector from these events plus ``profiles[member_id]`` when given.

        Returns
        -------
        int
            Number of events applied.
        """
        self._check_fitted()
        batch = prepare_events(self, events, profiles)
        self._apply(batch)
        return batch.n_events

    def _apply(self, batch: EventBatch) -> None:
        members = self.members_
        with members.lock:
            new_ids = (
                members.add_members(batch.new_members, batch.new_features)
                if batch.new_members
                else None
            )
            users = batch.users.copy()
            if new_ids is not None:
                users[users < 0] = new_ids[batch.new_slot[users < 0]]
            vectors = None
            if self.model_.supports_vectors:
                features = members.features(users)
                vectors = self.model_.fold_in(batch.rows, features)
            members.set_rows(users, batch.rows, batch.bought, vectors)
        self._member_index = None

    # ---------------------------------------------------------------- explain
    def explain(self, member_id: str, item_id: str) -> str:
        """The reason that would be shown for ``item_id`` on ``member_id``'s shelf."""
        self._check_fitted()
        item = self._item(item_id)
        u, _, tags = self._member(member_id, None)
        return self._reasons(u, np.array([item]), self.members_.bought(u), tags, False)[0]

    # ---------------------------------------------------------------- helpers
    def _empty_rows(self, n: int) -> sp.csr_matrix:
        return sp.csr_matrix((n, self.n_items), dtype=np.float32)

    @staticmethod
    def _excluded(bought: np.ndarray | None, flt: ShelfFilter) -> np.ndarray | None:
        if flt.exclude:
            extra = np.asarray(flt.exclude, dtype=np.int64)
            return extra if bought is None or not len(bought) else np.union1d(bought, extra)
        return bought if bought is not None and len(bought) else None

    def _history(self, u: int, bought: np.ndarray) -> np.ndarray:
        return self.members_.history_items(u) if u >= 0 else bought

    def _reasons(
        self, u: int, items: np.ndarray, bought: np.ndarray, tags: list[str], in_store: bool
    ) -> list[str]:
        return self.reasons_.reasons(items, self._history(u, bought), bought, tags, in_store)

    def _shelf(
        self,
        ids: np.ndarray,
        vals: np.ndarray,
        history: np.ndarray,
        bought: np.ndarray,
        tags: list[str],
        in_store: bool,
        references: np.ndarray | None = None,
    ) -> list[Recommendation]:
        keep = ids >= 0
        ids, vals = ids[keep], vals[keep]
        if references is not None:
            references = references[keep]
        reasons = self.reasons_.reasons(ids, history, bought, tags, in_store, references)
        names = self._item_names
        return [
            Recommendation(names[i], v, r)
            for i, v, r in zip(ids.tolist(), vals.tolist(), reasons, strict=True)
        ]

    def _buyers(self, item: int) -> np.ndarray | None:
        members = self.members_
        bought = self.dataset_.matrices.purchased.tocsc()
        buyers = set(bought.indices[bought.indptr[item] : bought.indptr[item + 1]].tolist())
        for u, row in list(members._bought_rows.items()):
            if np.isin(item, row):
                buyers.add(u)
            else:
                buyers.discard(u)
        return np.array(sorted(buyers), dtype=np.int64) if buyers else None

    def _members_index(self) -> VectorIndex:
        with self._member_index_lock:
            if self._member_index is None:
                self._member_index = VectorIndex(kind="exact").build(self.members_.all_vectors())
            return self._member_index

    def _item_column_scores(self, item: int, chunk: int = 2048) -> np.ndarray:
        n = len(self.members_)
        out = np.empty(n, dtype=np.float32)
        for start in range(0, n, chunk):
            users = np.arange(start, min(n, start + chunk), dtype=np.int64)
            scores = self.model_.score(
                users, self.members_.history(users), self.members_.features(users)
            )
            out[start : start + len(users)] = scores[:, item]
        return out

    # ------------------------------------------------------------- persistence
    def save(self, path: str | Path) -> Path:
        """Write the fitted recommender to a directory (npz, FAISS files, JSON manifest)."""
        from recsys._artifact import save_recommender

        self._check_fitted()
        return save_recommender(self, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> Recommender:
        """Read a directory written by :meth:`save`; the shelves are identical."""
        from recsys._artifact import load_recommender

        return load_recommender(cls, Path(path))

    def __repr__(self) -> str:
        state = (
            f"{self.n_members} members x {self.n_items} SKUs" if self.is_fitted else "not fitted"
        )
        return f"Recommender(model={self.model!r}, factors={self.factors}, {state})"


def model_version(model: RecModel) -> str:
    """Short content hash of a fitted model's parameters and learned arrays."""
    import hashlib
    import json

    h = hashlib.sha256(
        json.dumps({"name": model.name, **model.get_params()}, sort_keys=True, default=str).encode()
    )
    for key, arr in sorted(model.get_state().items()):
        h.update(key.encode())
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()[:12]
