"""The facade users import and the service calls: model + index + catalog + member state.

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

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recsys.data import EventWeights, RetailDataset
from recsys.data.frames import as_pandas
from recsys.exceptions import InvalidInputError, NotFittedError
from recsys.models import MODEL_REGISTRY, RecModel, make_model
from recsys.models.dither import DEFAULT_DITHER, member_seeds
from recsys.params import Params
from recsys.recommender.campaigns import Campaigns
from recsys.recommender.core import rank_category, rank_shelves, rank_similar
from recsys.recommender.erasure import forget_member
from recsys.recommender.facts import Facts
from recsys.recommender.filters import ShelfFilter
from recsys.recommender.live_catalog import PendingChange, with_items, with_stock
from recsys.recommender.members import MemberState
from recsys.recommender.persistence import load_state, save_state
from recsys.recommender.ranking import Allowed, Rows
from recsys.recommender.requests import (
    Request,
    check_csr,
    check_ids,
    check_index,
    check_rows,
    check_seeds,
    day_of,
    epoch_seconds,
    in_season,
    merge_rows,
)
from recsys.recommender.results import Recommendation, check_k
from recsys.recommender.rules import Rules, parse_rules
from recsys.recommender.session import Session
from recsys.recommender.state import ShelfState, build_state
from recsys.recommender.updates import (
    PendingEvents,
    apply_events,
    apply_profiles,
    prepare_events,
    prepare_profiles,
)

__all__ = ["Recommender"]

ON_UNKNOWN = ("fallback", "raise")
INDEX_KINDS = ("exact", "hnsw", "ivf")
_EMPTY = np.empty(0, dtype=np.int64)
_EMPTY.setflags(write=False)


def _seeds(
    state: ShelfState, users: np.ndarray, member_ids: Sequence[str | None]
) -> np.ndarray | None:
    """Dithering seeds of the members who may have a shelf of tags alone (unknown, or first
    seen after training); ``None`` when no one may (a trained member's shelf: the hot path)."""
    maybe = (users < 0) | (users >= state.members.n_trained)
    if not maybe.any():
        return None
    seeds = np.full(len(users), -1, dtype=np.int64)
    rows = np.flatnonzero(maybe)
    seeds[rows] = member_seeds([member_ids[j] for j in rows.tolist()])
    return seeds


class Recommender(Campaigns, Facts, Params):
    """Personal shelves for every member: train, recommend in a store, update in real time.

    Parameters
    ----------
    model : str
        ``"blend"`` (the default: item-item neighbours, EASE, ALS and popularity priors,
        weighted on a validation slice of the training data; see
        :class:`~recsys.models.BlendModel`), or one model: ``"als"``, ``"bpr"``,
        ``"itemknn"``, ``"ease"``, ``"popular"``, ``"profile"`` or ``"hybrid"``.
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
    rules : dict, optional
        The chain's merchandising rules (:mod:`recsys.recommender.rules`); default
        ``{"max_per_category": 3, "dedupe_groups": True}``. ``{}`` means none.
    store_rules : dict of store id to dict, optional
        Rules of single stores, over the chain's (a request's rules go over both).
    session_minutes : float
        A member's live events of the last this many minutes are the current visit; their
        categories lift the next shelf, fading over the window (0: no visits).
    session_weight : float
        How strongly a visit lifts its categories (scores are scaled to [0, 1] first).
    profile_handoff : float
        How long a member's profile keeps a say after their first events: with ``n`` SKUs
        in the history, the profile's share of the score is ``h / (h + n)`` (below 5 % it
        is dropped). It applies to a request's ``profile`` and to the stored profile of a
        member first seen after training; 0 turns it off (the history alone decides).
    cold_dither : float or "auto"
        How much the shelves of members known by tags alone differ from one another
        (:mod:`recsys.models.dither`): their candidates below the top three are re-ranked
        by ``log(rank)`` plus noise of spread ``sqrt(log(cold_dither))``, seeded by the
        member id, so members who share their tags do not share a shelf and a member sees
        the same one on every refresh. 1 turns it off; ``"auto"`` takes the strength the
        default model chose on its validation slice (``model_.cold_dither_``), else 3.
    **model_params
        Passed to the model (e.g. ``iterations=15``, ``regularization=0.05``); a name the
        model does not take is an :class:`InvalidInputError` at ``fit``.

    Attributes
    ----------
    state_ : ShelfState
        The fitted pieces (after ``fit`` or ``load``); ``dataset_``, ``model_`` and
        ``members_`` are its data, model and member state.
    event_seq : int
        Last event-log sequence number folded in (0 for a fresh model).
    change_seq : int
        Last catalog or stock change of the event log applied (0 for a fresh model).

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
    >>> sorted(rec.get_params())[:4]
    ['cold_dither', 'factors', 'index', 'iterations']
    """

    state_: ShelfState

    def __init__(
        self,
        model: str = "blend",
        factors: int = 64,
        seed: int = 0,
        *,
        on_unknown: str = "fallback",
        index: str = "exact",
        weights: EventWeights | None = None,
        live_boost: float = 1.0,
        rules: Mapping[str, Any] | None = None,
        store_rules: Mapping[str, Mapping[str, Any]] | None = None,
        session_minutes: float = 30.0,
        session_weight: float = 1.0,
        profile_handoff: float = 3.0,
        cold_dither: float | str = "auto",
        **model_params: Any,
    ) -> None:
        self.model = model
        self.factors = factors
        self.seed = seed
        self.on_unknown = on_unknown
        self.index = index
        self.weights = weights
        self.live_boost = live_boost
        self.rules = rules
        self.store_rules = store_rules
        self.session_minutes = session_minutes
        self.session_weight = session_weight
        self.profile_handoff = profile_handoff
        self.cold_dither = cold_dither
        self.model_params = dict(model_params)
        self.event_seq = 0
        self.change_seq = 0
        self._writing = threading.RLock()  # updates and catalog changes, one at a time

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
        boost = self.live_boost
        if isinstance(boost, bool) or not isinstance(boost, int | float) or not boost > 0:
            raise InvalidInputError(f"live_boost must be a number > 0, got {boost!r}")
        if self.weights is not None and not isinstance(self.weights, EventWeights):
            raise InvalidInputError("weights must be an EventWeights")
        for name in ("session_minutes", "session_weight", "profile_handoff"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise InvalidInputError(f"{name} must be a number >= 0, got {value!r}")
        dither = self.cold_dither
        number = isinstance(dither, int | float) and not isinstance(dither, bool)
        if dither != "auto" and not (number and float(dither) >= 1):
            raise InvalidInputError(f"cold_dither must be 'auto' or a number >= 1, got {dither!r}")
        if self.rules is not None and not isinstance(self.rules, Mapping):
            raise InvalidInputError("rules must be a dict of merchandising rules")
        if self.store_rules is not None and not (
            isinstance(self.store_rules, Mapping)
            and all(isinstance(v, Mapping) for v in self.store_rules.values())
        ):
            raise InvalidInputError("store_rules must be a dict of store id -> rules")

    def _make_model(self) -> RecModel:
        return make_model(self.model, factors=self.factors, seed=self.seed, **self.model_params)

    def fit(
        self,
        interactions: Any,
        catalog: Any = None,
        stores: Any = None,
        profiles: Any = None,
        *,
        unknown_items: str = "raise",
    ) -> Recommender:
        """Learn from events (and catalog, store assortments, member profiles); returns ``self``.

        Frames may be pandas, polars or pyarrow tables (anything Arrow-compatible).
        ``interactions`` may also be a :class:`recsys.datasets.RetailData` bundle (its frames
        are used for arguments left as ``None``) or a ready :class:`recsys.data.RetailDataset`.
        Refitting starts from scratch.
        """
        self._validate_params()
        model = self._make_model()
        dataset = self._dataset(interactions, catalog, stores, profiles, unknown_items)
        model.fit(dataset.matrices)
        state = build_state(dataset.without_events(), model, index_kind=self.index, seed=self.seed)
        self._install(state, {"event_seq": 0, "change_seq": 0})
        return self

    def _dataset(
        self, interactions: Any, catalog: Any, stores: Any, profiles: Any, unknown_items: str
    ) -> RetailDataset:
        if isinstance(interactions, RetailDataset):
            return interactions
        if all(hasattr(interactions, a) for a in ("interactions", "catalog", "stores")):
            bundle = interactions
            interactions = bundle.interactions
            catalog = bundle.catalog if catalog is None else catalog
            stores = bundle.stores if stores is None else stores
            profiles = getattr(bundle, "profiles", None) if profiles is None else profiles
        events = as_pandas(interactions, "interactions")
        if events is None:
            raise InvalidInputError("fit() needs interactions: a frame of member events")
        return RetailDataset.build(
            events,
            catalog=as_pandas(catalog, "catalog"),
            stores=as_pandas(stores, "stores"),
            profiles=as_pandas(profiles, "profiles"),
            weights=self.weights or EventWeights(),
            unknown_items=unknown_items,  # type: ignore[arg-type]
        )

    def _install(self, state: ShelfState, cursors: dict[str, int]) -> None:
        self.state_ = state
        self.event_seq = cursors["event_seq"]
        self.change_seq = cursors["change_seq"]

    # ---------------------------------------------------------------- properties
    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "state_")

    def _fitted(self) -> ShelfState:
        if not self.is_fitted:
            raise NotFittedError("Recommender isn't fitted: call fit() or Recommender.load() first")
        return self.state_

    @property
    def dataset_(self) -> RetailDataset:
        """Ids, catalog, assortment, profile encoder and training matrices."""
        return self._fitted().dataset

    @property
    def model_(self) -> RecModel:
        return self._fitted().model

    @property
    def members_(self) -> MemberState:
        """Every member's current history, purchases, profile row and vector."""
        return self._fitted().members

    @property
    def model_version(self) -> str:
        """Stable id of the trained artifact (a hash of the learned state)."""
        return self._fitted().model_version

    @property
    def cutoff(self) -> pd.Timestamp | None:
        """Timestamp of the latest training event."""
        return self._fitted().dataset.cutoff

    @property
    def n_members(self) -> int:
        return len(self._fitted().members)

    @property
    def n_items(self) -> int:
        return len(self._fitted().dataset.items)

    @property
    def store_ids(self) -> list[str]:
        return [str(s) for s in self._fitted().dataset.stores.ids]

    def _request(self) -> Request:
        """A parser of one request's arguments, bound to the current state."""
        return Request(
            self._fitted(),
            on_unknown=self.on_unknown,
            rules=self.rules,
            store_rules=self.store_rules,
        )

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
        rules: Mapping[str, Any] | None = None,
        at: Any = None,
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
            A store's shelf holds only SKUs in season on the day of ``at`` unless
            ``in_season`` is given (``False``: every season).
        exclude_purchased : bool
            Leave out SKUs the member already bought.
        rules : dict, optional
            Merchandising rules of this request (``max_per_category``, ``dedupe_groups``,
            ``boost``, ``pin``, ``bury``), over the store's and the chain's.
        at : datetime-like or epoch seconds, optional
            When the shelf is shown (default now): the member's live events of the
            ``session_minutes`` before it are the current visit.

        Returns
        -------
        list of Recommendation
        """
        req = self._request()
        state = req.state
        k = check_k(k, most=len(state.dataset.items))
        now = epoch_seconds(at)
        store = req.store(store_id)
        flt = req.filters(in_season(filters, store_id, now))
        merch = req.rules(store_id, rules, flt, k)
        u, features, tags = req.member(member_id, profile)
        bought = state.members.bought(u)
        excluded = bought if exclude_purchased else _EMPTY
        if flt.exclude:
            excluded = np.union1d(excluded, np.asarray(flt.exclude, dtype=np.int64))
        visit = self._visit(state, u, now)
        ids, vals = rank_shelves(
            state,
            np.array([u], dtype=np.int64),
            k,
            store=store,
            allowed=state.allowed.allowed(store, flt),
            exclude=Rows.one(excluded),
            rules=merch,
            profiles=features,
            sessions=[visit],
            session_weight=float(self.session_weight),
            handoff=float(self.profile_handoff),
            seeds=_seeds(state, np.array([u]), [member_id]),
            cold_dither=self._dither(state),
        )
        history = state.members.history_items(u) if u >= 0 else bought
        shelf = _Shelf(state, store >= 0, day_of(now), merch)
        return shelf.one(ids[0], vals[0], history, bought, tags, session=visit)

    def fallback_of(
        self,
        member_id: str | None,
        *,
        profile: Mapping[str, Any] | None = None,
        store_id: str | None = None,
    ) -> str | None:
        """What a shelf of :meth:`recommend` falls back to, ``None`` when it is personal:
        ``"popular-in-store"`` or ``"popular"`` for a member nothing is known about (no
        profile, or none of its tags known), ``"popular-in-segment"`` for known tags the
        model cannot read.

        Examples
        --------
        >>> from recsys.datasets import synthetic_retail
        >>> data = synthetic_retail(n_users=300, n_items=200, n_stores=2, seed=0)
        >>> rec = Recommender(model="als", factors=8, iterations=3).fit(data)
        >>> rec.fallback_of("ghost", store_id="s0"), rec.fallback_of(data.interactions.user_id[0])
        ('popular-in-store', None)
        """
        state = self._fitted()
        if member_id is not None and state.members.known(member_id):
            return None
        if profile and state.dataset.profile_encoder.readable(profile):
            return None if state.model.uses_profiles else "popular-in-segment"
        # no tag the model knows: the shelf is the popular one
        return "popular-in-store" if store_id is not None else "popular"

    def recommend_batch(
        self,
        member_ids: Sequence[str],
        k: int = 10,
        *,
        store_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        exclude_purchased: bool = True,
        rules: Mapping[str, Any] | None = None,
        at: Any = None,
    ) -> list[list[Recommendation]]:
        """Shelves for many members at once (one vectorized search), in input order.

        Arguments as in :meth:`recommend`; every shelf follows the same rules.
        """
        req = self._request()
        state = req.state
        k = check_k(k, most=len(state.dataset.items))
        if isinstance(member_ids, str) or not isinstance(member_ids, Sequence) or not member_ids:
            raise InvalidInputError("member_ids must be a non-empty list of member id strings")
        if not all(isinstance(m, str) for m in member_ids):
            raise InvalidInputError("member_ids must all be strings")
        now = epoch_seconds(at)
        store = req.store(store_id)
        flt = req.filters(in_season(filters, store_id, now))
        merch = req.rules(store_id, rules, flt, k)
        members = state.members
        users = members.to_index(list(member_ids), strict=self.on_unknown == "raise")
        users[members.blank(users)] = -1  # nothing known of them: an unknown member's shelf
        visits = [self._visit(state, u, now) for u in users.tolist()]
        ids, vals = self._rank(
            state, users, k, store, flt, exclude_purchased, merch, visits, member_ids
        )
        boughts = [members.bought(u) for u in users.tolist()]
        histories = [
            members.history_items(u) if u >= 0 else b for u, b in zip(users, boughts, strict=True)
        ]
        refs = state.reasons.references(ids, histories)
        encoder = state.dataset.profile_encoder
        shelf = _Shelf(state, store >= 0, day_of(now), merch)
        out = []
        for j, u in enumerate(users.tolist()):
            tags = encoder.tags_of_columns(members.feature_columns(u)) if u >= 0 else []
            out.append(
                shelf.one(ids[j], vals[j], histories[j], boughts[j], tags, refs[j], visits[j])
            )
        return out

    def _rank(
        self,
        state: ShelfState,
        users: np.ndarray,
        k: int,
        store: int,
        flt: ShelfFilter,
        exclude_purchased: bool,
        rules: Rules,
        visits: list[Session | None],
        member_ids: Sequence[str],
    ) -> tuple[np.ndarray, np.ndarray]:
        exclude = state.members.purchased(users) if exclude_purchased else Rows.empty(len(users))
        exclude = exclude.plus(np.asarray(flt.exclude, dtype=np.int64))
        allowed = state.allowed.allowed(store, flt)
        return rank_shelves(
            state,
            users,
            k,
            store=store,
            allowed=allowed,
            exclude=exclude,
            rules=rules,
            sessions=visits,
            session_weight=float(self.session_weight),
            handoff=float(self.profile_handoff),
            seeds=_seeds(state, users, member_ids),
            cold_dither=self._dither(state),
        )

    def _dither(self, state: ShelfState) -> float:
        """The strength of ``cold_dither`` (``"auto"``: the model's choice, else the default)."""
        if self.cold_dither == "auto":
            return float(getattr(state.model, "cold_dither_", DEFAULT_DITHER))
        return float(self.cold_dither)

    def _visit(self, state: ShelfState, member: int, now: float) -> Session | None:
        """The member's current visit as of ``now`` (epoch seconds)."""
        if member < 0 or not self.session_minutes:
            return None
        return state.sessions.session(member, now, 60.0 * self.session_minutes)

    def recommend_arrays(
        self,
        users: Any,
        k: int = 10,
        *,
        store: int = -1,
        items: Any = None,
        filter_items: Any = None,
        filter_purchased: bool = True,
        profiles: Any = None,
        rules: Mapping[str, Any] | None = None,
        seeds: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The array core: internal ids in, ``(ids, scores)`` out, no reason strings.

        In the spirit of implicit's ``recommend(userids, user_items, N, filter_items,
        items)``; the string-id methods, audiences and evaluation use the same path.

        Parameters
        ----------
        users : array-like of int, shape (n,)
            Internal member ids (``members_.index_of``); ``-1`` is a member nothing is known
            about (popular-in-store, or their ``profiles`` row).
        k : int
            Results per member.
        store : int
            Internal store id (``dataset_.stores.index_of``); ``-1`` means no store.
        items : array-like of int, optional
            Only these SKU ids (within the store's assortment when a store is given).
        filter_items : csr_matrix, shape (n, n_items), optional
            Per-row SKUs to leave out (their column indices; values are ignored).
        filter_purchased : bool
            Leave out what each member bought.
        profiles : csr_matrix, shape (n, n_profile_features), optional
            Encoded profile rows (``dataset_.profile_encoder``) for members without one.
        rules : dict, optional
            Merchandising rules to apply (only these: the array core applies no chain or
            store defaults, so evaluation measures the model).
        seeds : array-like of int, shape (n,), optional
            Per-member dithering seeds (:func:`~recsys.models.dither.member_seeds` of
            the member ids; negative: none) for the shelves of members known by tags alone
            (see ``cold_dither``); without them no row is dithered.

        Returns
        -------
        ids : ndarray of int64, shape (n, k)
            SKU ids, best first, ``-1`` where fewer than ``k`` pass.
        scores : ndarray of float32, shape (n, k)
            Their scores, ``-inf`` in padding.

        Examples
        --------
        >>> from recsys.datasets import synthetic_retail
        >>> data = synthetic_retail(n_users=200, n_items=150, n_stores=2, seed=1)
        >>> rec = Recommender(model="ease").fit(data)
        >>> ids, scores = rec.recommend_arrays([0, 1, -1], k=4, store=0)
        >>> ids.shape, bool((scores[:, :-1] >= scores[:, 1:]).all())
        ((3, 4), True)
        """
        state = self._fitted()
        k = check_k(k, most=len(state.dataset.items))
        ids = check_ids(users, len(state.members), "users", allow_unknown=True)
        store = check_index(store, len(state.dataset.stores), "store")
        allowed = _allowed_arrays(state, store, items)
        n_items = len(state.dataset.items)
        exclude = state.members.purchased(ids) if filter_purchased else Rows.empty(len(ids))
        if filter_items is not None:
            exclude = merge_rows(exclude, check_rows(filter_items, len(ids), n_items))
        rows = None
        if profiles is not None:
            width = state.dataset.matrices.user_features.shape[1]
            rows = check_csr(profiles, (len(ids), width), "profiles")
        data = state.dataset
        merch = parse_rules(rules, data.catalog, data.items)
        seed_of = None if seeds is None else check_seeds(seeds, len(ids))
        return rank_shelves(
            state,
            ids,
            k,
            store=store,
            allowed=allowed,
            exclude=exclude,
            rules=merch,
            profiles=rows,
            seeds=seed_of,
            cold_dither=self._dither(state),
        )

    def similar_items(
        self,
        item_id: str,
        k: int = 10,
        *,
        store_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> list[Recommendation]:
        """SKUs most like ``item_id`` (cosine in the model's item space), itself excluded.

        Only SKUs the model finds similar (a positive similarity) are "similar to" it; when
        there are fewer than ``k`` (a SKU nobody bought yet has no neighbours), the shelf is
        filled with popular SKUs of its category, saying so.
        """
        req = self._request()
        state = req.state
        k = check_k(k, most=len(state.dataset.items))
        item = req.item(item_id)
        store = req.store(store_id)
        flt = req.filters(in_season(filters, store_id, None))
        allowed = state.allowed.allowed(store, flt).ids
        excluded = np.union1d(np.asarray(flt.exclude, dtype=np.int64), [item]).astype(np.int64)
        ids, vals = rank_similar(state, item, k, store, allowed, excluded)
        catalog, names = state.dataset.catalog, state.item_names
        like = [
            Recommendation(names[i], float(v), f"similar to {catalog.names[item]}")
            for i, v in zip(ids.tolist(), vals.tolist(), strict=True)
        ]
        if len(like) >= k:
            return like
        more = rank_category(state, item, k - len(like), store, allowed, np.union1d(excluded, ids))
        category = catalog.category_of(item) or "the collection"
        return like + [
            Recommendation(names[i], float(v), f"more {category}, popular")
            for i, v in zip(more[0].tolist(), more[1].tolist(), strict=True)
        ]

    # ------------------------------------------------------------------ updates
    def check_events(
        self, events: Any, profiles: Mapping[str, Mapping[str, Any]] | None = None
    ) -> int:
        """Validate events (and profiles) as :meth:`update` would, changing nothing;
        returns the number of events. No events at all is valid with ``profiles`` (what
        :meth:`set_profiles` takes)."""
        state = self._fitted()
        prepare_profiles(profiles, data=state.dataset, members=state.members)
        if profiles and isinstance(events, list) and not events:
            return 0
        batch = prepare_events(events, data=state.dataset, members=state.members, live_boost=1.0)
        return batch.n_events

    def update(self, events: Any, profiles: Mapping[str, Mapping[str, Any]] | None = None) -> int:
        """Fold new events into the members' vectors; the next shelf reflects them.

        All-or-nothing: every event is validated (member id string, known SKU and store,
        kind, value >= 0) and every profile encoded before any state changes. A member first
        seen here becomes known. ``profiles`` are set first, as by :meth:`set_profiles`.

        With ``weights=EventWeights(half_life_days=h)``, an event ``d`` days after the
        training cutoff weighs ``2 ** (d / h)`` times the same event at the cutoff: every
        event keeps the weight training's decay would give it against the others.

        Returns
        -------
        int
            Number of events applied.

        Examples
        --------
        >>> from recsys.datasets import synthetic_retail
        >>> data = synthetic_retail(n_users=300, n_items=200, n_stores=2, seed=0)
        >>> rec = Recommender(model="als", factors=8, iterations=3).fit(data)
        >>> sku = data.catalog.item_id.iloc[0]
        >>> rec.update([{"user_id": "qr-1", "item_id": sku, "kind": "view", "value": 90}],
        ...            profiles={"qr-1": {"age_band": "25-34"}})
        1
        """
        with self._writing:
            state = self._fitted()
            members = state.members
            pending = prepare_profiles(profiles, data=state.dataset, members=members)
            if pending.member_ids:  # checked first; then new members register by profile
                prepare_events(events, data=state.dataset, members=members, live_boost=1.0)
                apply_profiles(pending, members, state.model)
            batch = prepare_events(
                events, data=state.dataset, members=members, live_boost=float(self.live_boost)
            )
            apply_events(batch, members, state.model, state.sessions)
            return batch.n_events

    def prepare_update(self, events: Any) -> PendingEvents:
        """Check events as :meth:`update` would and compute the rows they produce, changing
        nothing; :meth:`commit_update` puts them in effect (the service logs them durably in
        between, so a batch is validated and prepared once)."""
        with self._writing:
            state = self._fitted()
            version = state.members.version
            batch = prepare_events(
                events, data=state.dataset, members=state.members, live_boost=float(self.live_boost)
            )
        return PendingEvents(batch.n_events, state, version, batch, events)

    def commit_update(self, pending: PendingEvents) -> int:
        """Put prepared events in effect (prepared again if the members changed since);
        returns the number of events applied."""
        with self._writing:
            state = self._fitted()
            batch = pending.batch
            if state is not pending.base or state.members.version != pending.base_version:
                batch = prepare_events(
                    pending.events,
                    data=state.dataset,
                    members=state.members,
                    live_boost=float(self.live_boost),
                )
            apply_events(batch, state.members, state.model, state.sessions)
            return batch.n_events

    def set_profiles(self, profiles: Mapping[str, Mapping[str, Any]]) -> int:
        """Give members their profile tags (a new member who scanned a QR code, a member
        who changed tier); a member not known yet is registered, with no history.

        A profile changes only the fields it names: ``{"tier": "gold"}`` keeps the member's
        other tags, and ``None`` clears a field. Every field must be a tag or number the
        model knows (a misspelt field is an error, not a silent loss); a value the model
        has not seen (a tier newer than the training data) is left out, with a warning.
        A member's shelf hands over from their profile to their history gradually: with
        ``n`` SKUs in the history, the profile's share of the score is
        ``profile_handoff / (profile_handoff + n)`` (see :class:`Recommender`).
        All-or-nothing: an unknown field or a bad value changes nothing.

        Returns
        -------
        int
            Members registered by this call.

        Examples
        --------
        >>> from recsys.datasets import synthetic_retail
        >>> data = synthetic_retail(n_users=300, n_items=200, n_stores=2, seed=0)
        >>> rec = Recommender(model="als", factors=8, iterations=3).fit(data)
        >>> rec.set_profiles({"qr-7": {"age_band": "25-34", "family": "kids"}})
        1
        >>> len(rec.recommend("qr-7", k=3))
        3
        >>> rec.set_profiles({"qr-7": {"family": None}})  # known now: one field cleared
        0
        """
        if not isinstance(profiles, Mapping) or not profiles:
            raise InvalidInputError("profiles must be a non-empty dict of member id -> tags")
        with self._writing:
            state = self._fitted()
            pending = prepare_profiles(profiles, data=state.dataset, members=state.members)
            return apply_profiles(pending, state.members, state.model)

    # ------------------------------------------------------------------ erasure
    def forget(self, member_id: str) -> bool:
        """Erase a member: their id, history, purchases, profile, vector, stores and visit.

        Afterwards the member is unknown (a new event makes them a new member), audiences
        and the popularity fallback no longer count them, and :meth:`save` writes no byte
        of them. Item-level weights learned from everyone keep their share until the next
        training. The service (``POST /forget``, ``recsys forget``) also deletes them from
        the event log and rewrites the saved model.

        Returns
        -------
        bool
            Whether the member was known.

        Examples
        --------
        >>> from recsys.datasets import synthetic_retail
        >>> data = synthetic_retail(n_users=300, n_items=200, n_stores=2, seed=0)
        >>> rec = Recommender(model="als", factors=8, iterations=3).fit(data)
        >>> member = data.interactions.user_id.iloc[0]
        >>> rec.forget(member), rec.forget(member)
        (True, False)
        >>> member in set(rec.members_.ids())
        False
        """
        if not isinstance(member_id, str) or not member_id:
            raise InvalidInputError("member_id must be a non-empty string")
        with self._writing:
            state = self._fitted()
            u = state.members.index_of(member_id)
            if u < 0:
                return False
            self.state_ = forget_member(state, u)
            return True

    # ------------------------------------------------------------ live catalog
    def add_items(
        self, items: Any, stores: Mapping[str, Sequence[str]] | None = None, *, at: Any = None
    ) -> int:
        """Add SKUs to the catalog, or change known ones, without retraining.

        A new SKU is placed among its look-alikes: trained SKUs with sales of its style
        (``group_id``) or else of its category, closest in price tier, season and tags. The
        model scores it as their weighted mean (a vector model gives it their mean vector;
        ``profile`` and ``hybrid`` embed its attributes), so it can reach shelves,
        ``similar_items`` and audiences before its first sale; events on it are taken at
        once. It is "new" on shelves for 30 days from ``available_from``, or from ``at``.

        All-or-nothing: every row and store is checked before anything changes.

        Parameters
        ----------
        items : DataFrame or list of dict
            One row per SKU: ``item_id`` plus any catalog columns (``category``, ``price``,
            ``season``, ``available_from``, ``available_to``, ``name``, ``tags``,
            ``group_id``). A known SKU takes the given columns' values and keeps the rest.
        stores : dict of store id to list of SKU ids, optional
            Stores that stock these SKUs from now on.
        at : datetime-like or epoch seconds, optional
            When the SKUs arrive (default now).

        Returns
        -------
        int
            SKUs new to the catalog.

        Examples
        --------
        >>> from recsys.datasets import synthetic_retail
        >>> data = synthetic_retail(n_users=300, n_items=200, n_stores=2, seed=0)
        >>> rec = Recommender(model="als", factors=8, iterations=3).fit(data)
        >>> rec.add_items([{"item_id": "sku-new", "category": "bags", "price": 40.0}],
        ...               stores={"s0": ["sku-new"]})
        1
        >>> rec.n_items
        201
        """
        return self.commit(self.prepare_items(items, stores, at=at))

    def prepare_items(
        self, items: Any, stores: Mapping[str, Sequence[str]] | None = None, *, at: Any = None
    ) -> PendingChange:
        """Check :meth:`add_items` arguments and prepare the change, changing nothing yet.

        :meth:`commit` puts it in effect; in between, the service logs it durably.
        """
        day = np.datetime64(day_of(epoch_seconds(at)), "D")

        def make(state: ShelfState) -> tuple[ShelfState, int]:
            return with_items(state, items, stores, day)

        return self._prepare("items", make)

    def prepare_stock(self, store_id: str, stock: Mapping[str, float]) -> PendingChange:
        """Check :meth:`set_stock` arguments and prepare the change, changing nothing yet."""

        def make(state: ShelfState) -> tuple[ShelfState, int]:
            return with_stock(state, store_id, stock), 0

        return self._prepare("stock", make)

    def _prepare(
        self, kind: str, make: Callable[[ShelfState], tuple[ShelfState, int]]
    ) -> PendingChange:
        with self._writing:
            base = self._fitted()
            version = base.members.version
            state, added = make(base)
        return PendingChange(kind, added, base, version, state, make)

    def commit(self, change: PendingChange) -> int:
        """Put a prepared change in effect (made again if an update landed since); returns
        the number of SKUs it added."""
        with self._writing:
            self.state_ = change.on(self._fitted())
        return change.added

    def set_stock(self, store_id: str, stock: Mapping[str, float]) -> None:
        """Change a store's stock: a SKU at 0 is never shown there, one above 0 can be.

        A SKU the store did not stock joins its assortment when given a quantity above 0.
        All-or-nothing: an unknown store or SKU, or a quantity that is not a number >= 0,
        changes nothing.

        Examples
        --------
        >>> from recsys.datasets import synthetic_retail
        >>> data = synthetic_retail(n_users=300, n_items=200, n_stores=2, seed=0)
        >>> rec = Recommender(model="als", factors=8, iterations=3).fit(data)
        >>> member = data.interactions.user_id.iloc[0]
        >>> top = rec.recommend(member, k=1, store_id="s0")[0].item_id
        >>> rec.set_stock("s0", {top: 0})
        >>> top in [r.item_id for r in rec.recommend(member, k=10, store_id="s0")]
        False
        """
        self.commit(self.prepare_stock(store_id, stock))

    # ---------------------------------------------------------------- explain
    def explain(self, member_id: str, item_id: str) -> str:
        """The reason that would be shown for ``item_id`` on ``member_id``'s shelf."""
        req = self._request()
        state = req.state
        item = req.item(item_id)
        u, _, tags = req.member(member_id, None)
        bought = state.members.bought(u)
        history = state.members.history_items(u) if u >= 0 else bought
        day = day_of(time.time())
        return state.reasons.reasons(np.array([item]), history, bought, tags, False, day=day)[0]

    # ------------------------------------------------------------- persistence
    def save(self, path: str | Path) -> Path:
        """Write the fitted recommender to a directory (npz, FAISS files, JSON manifest).

        The directory holds the built matrices, id maps and vectors, never the raw events.
        Saving over a saved model replaces it atomically; a directory holding anything else
        (an event log, say) is refused with :class:`~recsys.exceptions.ArtifactError`.
        """
        state = self._fitted()
        params = {k: v for k, v in self.get_params().items() if k != "weights"}
        cursors = {"event_seq": self.event_seq, "change_seq": self.change_seq}
        return save_state(state, params, cursors, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> Recommender:
        """Read a directory written by :meth:`save`; the shelves are identical."""
        params, state, cursors = load_state(Path(path))
        rec = cls(weights=state.dataset.weights, **params)
        rec._install(state, cursors)
        return rec

    def __repr__(self) -> str:
        state = (
            f"{self.n_members} members x {self.n_items} SKUs" if self.is_fitted else "not fitted"
        )
        return f"Recommender(model={self.model!r}, factors={self.factors}, {state})"


def _allowed_arrays(state: ShelfState, store: int, items: Any) -> Allowed:
    """The allow-list of :meth:`Recommender.recommend_arrays`."""
    assortment = state.dataset.assortment
    if items is None:
        if store < 0:
            return Allowed(None)
        return Allowed(assortment.items_of(store), ("store", store))
    n_items = len(state.dataset.items)
    wanted = np.unique(check_ids(items, n_items, "items", allow_unknown=False))
    if store >= 0:
        wanted = np.intersect1d(assortment.items_of(store), wanted, assume_unique=True)
    return Allowed(wanted)


class _Shelf:
    """Turns ranked ids into the :class:`Recommendation` s of one request."""

    def __init__(self, state: ShelfState, in_store: bool, day: int, rules: Rules) -> None:
        self.state, self.in_store, self.day, self.rules = state, in_store, day, rules

    def one(
        self,
        ids: np.ndarray,
        vals: np.ndarray,
        history: np.ndarray,
        bought: np.ndarray,
        tags: list[str],
        references: np.ndarray | None = None,
        session: Session | None = None,
    ) -> list[Recommendation]:
        if len(ids) and ids[-1] < 0:  # padding (-1) only ever trails a short shelf
            keep = ids >= 0
            ids, vals = ids[keep], vals[keep]
            if references is not None:
                references = references[keep]
        state, rules = self.state, self.rules
        reasons = state.reasons.reasons(
            ids,
            history,
            bought,
            tags,
            self.in_store,
            references,
            session,
            day=self.day,
            promoted=rules.promoted(ids, state.dataset.catalog.category_codes),
            pinned=rules.pinned,
        )
        names = state.item_names
        return [
            Recommendation(names[i], v, r)
            for i, v, r in zip(ids.tolist(), vals.tolist(), reasons, strict=True)
        ]
