"""`RetailDataset`: validated, id-mapped, model-ready retail data, built once from DataFrames."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.columns import Columns, EventKind
from recsys.data.assortment import Assortment
from recsys.data.catalog import Catalog, catalog_ids
from recsys.data.events import EventColumns, events_frame, validate_events
from recsys.data.idmap import IdMap, normalize_ids
from recsys.data.matrices import ModelEvents, TrainingMatrices
from recsys.data.profiles import ProfileEncoder
from recsys.data.weighting import EventWeights, confidence_matrix
from recsys.exceptions import InvalidInputError, SchemaError, UnknownIdError

_KIND_NAMES = np.asarray(EventKind.ALL, dtype=object)
_PURCHASE = EventKind.ALL.index(EventKind.PURCHASE)


def _frame(df: Any, name: str, required: tuple[str, ...]) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise InvalidInputError(f"{name} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise SchemaError(f"{name} misses required columns {missing} (has {list(df.columns)})")
    return df.reset_index(drop=True)


def _no_missing(codes: np.ndarray, name: str, column: str) -> None:
    """``codes`` from ``pd.factorize``: -1 marks a missing id."""
    bad = np.flatnonzero(codes < 0)
    if bad.size:
        raise SchemaError(
            f"{name} column {column!r} has {bad.size} missing (NaN/None) ids, "
            f"e.g. rows {bad[:5].tolist()}"
        )


def _ids(col: pd.Series, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Factorized ids: (codes with -1 for missing, distinct ids as str)."""
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    return codes.astype(np.int64), normalize_ids(np.asarray(uniques, dtype=object), what=name)


def _unknown_items(ids: list[str], known: int, n_rows: int, where: str) -> UnknownIdError:
    err = UnknownIdError("item", ids, known=known)
    err.args = (
        f"{err.args[0]}: {n_rows} {where} rows name {len(ids)} SKUs missing from the catalog; "
        "fix the catalog or pass unknown_items='drop'",
    )
    return err


# ------------------------------------------------------------------ build stages
def _parse_events(interactions: Any) -> EventColumns:
    """Validate the interactions frame against the one event schema."""
    df = _frame(interactions, "interactions", Columns.INTERACTIONS_REQUIRED)
    if len(df) == 0:
        raise SchemaError("interactions is empty: nothing to learn from")
    return validate_events(events_frame(df), frame="interactions")


def _member_map(events: EventColumns, profiles: Any) -> tuple[IdMap, pd.DataFrame | None]:
    """Members of the interactions (first seen), then profile-only members."""
    users = IdMap.from_values(events.ids[Columns.USER][1], kind="member")
    if profiles is None:
        return users, None
    prof = _frame(profiles, "profiles", Columns.PROFILES_REQUIRED)
    p_codes, p_ids = _ids(prof[Columns.USER], Columns.USER)
    _no_missing(p_codes, "profiles", Columns.USER)
    dup = pd.Series(p_ids[p_codes]).duplicated(keep=False).to_numpy()
    if dup.any():
        examples = pd.unique(p_ids[p_codes][dup])[:5].tolist()
        raise SchemaError(
            f"profiles have {int(dup.sum())} rows for repeated members "
            f"(e.g. {examples}): one row per {Columns.USER!r}"
        )
    return users.add(p_ids), prof


def _item_map(events: EventColumns, catalog: Any) -> tuple[IdMap, pd.DataFrame | None]:
    """The catalog's SKUs when there is a catalog, else the SKUs of the interactions."""
    if catalog is None:
        return IdMap.from_values(events.ids[Columns.ITEM][1], kind="item"), None
    cat = _frame(catalog, "catalog", Columns.CATALOG_REQUIRED)
    return IdMap(catalog_ids(cat), kind="item"), cat


def _event_items(
    events: EventColumns, items: IdMap, policy: str, report: dict[str, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Internal SKU per event and the mask of events on known SKUs (policy for the rest)."""
    codes, ids = events.ids[Columns.ITEM]
    of_unique = items.to_index(ids, strict=False)
    item_idx = of_unique[codes]
    keep = item_idx >= 0
    if not keep.all():
        unknown = pd.unique(ids[of_unique < 0]).tolist()
        n_unknown = int((~keep).sum())
        if policy == "raise":
            raise _unknown_items(unknown, len(items), n_unknown, "interactions")
        report["unknown_items"] = n_unknown
        if not keep.any():
            raise SchemaError(
                f"all {events.n} interactions are on SKUs missing from the catalog "
                f"(e.g. {unknown[:5]}): nothing left"
            )
    return item_idx, keep


def _store_map(events: EventColumns, stores: Any) -> tuple[IdMap, np.ndarray, Any]:
    """Stores (the assortment frame's first, so their ids do not depend on the events),
    the internal store per event (``-1``: none) and the checked assortment frame."""
    s_codes, s_ids = events.ids.get(Columns.STORE, (np.full(events.n, -1), np.array([], object)))
    stores_map = IdMap.from_values(s_ids, kind="store")
    frame = None
    if stores is not None:
        frame = _frame(stores, "stores", Columns.STORES_REQUIRED)
        a_codes, a_ids = _ids(frame[Columns.STORE], Columns.STORE)
        _no_missing(a_codes, "stores", Columns.STORE)
        stores_map = IdMap.from_values(a_ids, kind="store").add(s_ids)
    # events without a store have code -1, which picks the trailing -1
    store_idx = np.append(stores_map.to_index(s_ids), -1)[s_codes]
    return stores_map, store_idx, frame


def _assortment(
    frame: pd.DataFrame | None,
    stores: IdMap,
    items: IdMap,
    seen: tuple[np.ndarray, np.ndarray],
    policy: str,
    report: dict[str, int],
) -> Assortment:
    """Each store's SKUs: the stores frame's, else where SKUs were seen in the events."""
    if frame is None:
        return Assortment.from_indices(seen[0], seen[1], len(stores), len(items))
    ai_codes, ai_ids = _ids(frame[Columns.ITEM], Columns.ITEM)
    _no_missing(ai_codes, "stores", Columns.ITEM)
    a_codes, a_ids = _ids(frame[Columns.STORE], Columns.STORE)
    of_unique = items.to_index(ai_ids, strict=False)
    a_items = of_unique[ai_codes]
    keep = a_items >= 0
    if not keep.all():
        unknown = pd.unique(ai_ids[of_unique < 0]).tolist()
        if policy == "raise":
            raise _unknown_items(unknown, len(items), int((~keep).sum()), "stores")
        report["unknown_assortment_items"] = int((~keep).sum())
    a_stores = stores.to_index(a_ids)[a_codes]
    return Assortment.from_indices(a_stores[keep], a_items[keep], len(stores), len(items))


def _history_counts(
    confidence: sp.csr_matrix, w: np.ndarray, user_idx: np.ndarray, item_idx: np.ndarray
) -> np.ndarray:
    """Distinct SKUs per member; zero-weight events (views with no dwell) still count."""
    if (w > 0).all():
        counts = np.diff(confidence.indptr).astype(np.int64)
    else:
        touched = sp.csr_matrix(
            (np.ones(user_idx.shape[0], dtype=np.int32), (user_idx, item_idx)),
            shape=confidence.shape,
        )
        touched.sum_duplicates()  # one stored entry per distinct (member, SKU)
        counts = np.diff(touched.indptr).astype(np.int64)
    counts.flags.writeable = False
    return counts


def _binary(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """0/1 matrix of (row, col) pairs, duplicates collapsed, indices sorted."""
    m = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=shape)
    m.sum_duplicates()
    m.data[:] = 1.0
    m.sort_indices()
    return m


def _check_build_args(weights: Any, unknown_items: Any) -> EventWeights:
    weights = EventWeights() if weights is None else weights
    if not isinstance(weights, EventWeights):
        raise InvalidInputError(f"weights must be EventWeights, got {type(weights).__name__}")
    if unknown_items not in ("raise", "drop"):
        raise InvalidInputError(f"unknown_items={unknown_items!r}: use 'raise' or 'drop'")
    return weights


def _training_matrices(
    idx: tuple[np.ndarray, np.ndarray, np.ndarray],
    kinds: np.ndarray,
    w: np.ndarray,
    shape: tuple[int, int, int],
    user_features: sp.csr_matrix,
    catalog: Catalog,
) -> TrainingMatrices:
    """Confidence, purchased, store x SKU popularity and member x store matrices, with the
    encoded profiles and SKU attributes."""
    user_idx, item_idx, store_idx = idx
    n_users, n_items, n_stores = shape
    confidence = confidence_matrix(user_idx, item_idx, w, n_users, n_items)
    buy = kinds == _PURCHASE
    purchased = _binary(user_idx[buy], item_idx[buy], (n_users, n_items))
    at = store_idx >= 0
    store_items = confidence_matrix(store_idx[at], item_idx[at], w[at], n_stores, n_items)
    user_stores = sp.csr_matrix(
        (np.ones(int(at.sum()), dtype=np.float32), (user_idx[at], store_idx[at])),
        shape=(n_users, n_stores),
    )
    user_stores.sum_duplicates()
    user_stores.sort_indices()
    return TrainingMatrices(
        confidence=confidence,
        purchased=purchased,
        user_features=user_features,
        item_features=catalog.item_features(),
        store_items=store_items,
        user_stores=user_stores,
    )


def _model_events(
    idx: tuple[np.ndarray, np.ndarray, np.ndarray],
    kinds: np.ndarray,
    w: np.ndarray,
    ts: pd.DatetimeIndex,
) -> ModelEvents:
    """The events in internal ids with times in epoch seconds (``-1``: unknown)."""
    seconds = ts.as_unit("s").asi8.astype(np.int64)
    seconds[np.asarray(ts.isna())] = -1
    user_idx, item_idx, store_idx = idx
    return ModelEvents(
        users=user_idx.astype(np.int32),
        items=item_idx.astype(np.int32),
        stores=store_idx.astype(np.int32),
        kinds=kinds.astype(np.int8),
        weights=np.asarray(w, dtype=np.float32),
        seconds=seconds,
    )


def _profiles(prof: pd.DataFrame | None, users: IdMap) -> tuple[ProfileEncoder, sp.csr_matrix]:
    if prof is None:
        empty = pd.DataFrame({Columns.USER: pd.Series([], dtype=object)})
        return ProfileEncoder().fit(empty), sp.csr_matrix((len(users), 0), dtype=np.float32)
    encoder = ProfileEncoder().fit(prof)
    return encoder, encoder.transform(prof, users=users)


def _clean_frame(events: EventColumns, keep: np.ndarray) -> pd.DataFrame:
    """The validated events as a frame (ids gathered from the distinct values, no per-row
    string work)."""

    def id_column(name: str) -> Any:
        codes, ids = events.ids.get(name, (np.full(events.n, -1), np.array([], dtype=object)))
        return pd.array(ids.astype(str) if len(ids) else ids, dtype="str").take(
            codes[keep], allow_fill=True
        )

    return pd.DataFrame(
        {
            Columns.USER: id_column(Columns.USER),
            Columns.ITEM: id_column(Columns.ITEM),
            Columns.KIND: pd.array(_KIND_NAMES[events.kinds[keep]].astype(str), dtype="str"),
            Columns.VALUE: events.values[keep],
            Columns.TIMESTAMP: pd.DatetimeIndex(events.timestamps[keep]),
            Columns.STORE: id_column(Columns.STORE),
        }
    )


@dataclass(frozen=True, eq=False, repr=False)
class RetailDataset:
    """Immutable, validated retail data in internal ids; build with :meth:`build`.

    Attributes
    ----------
    users, items, stores : IdMap
        Members (interactions ∪ profiles), SKUs (the catalog's, else the interactions'),
        stores (the stores frame's ∪ the interactions').
    catalog : Catalog
        SKU attributes (unknown attributes if no catalog frame was given).
    assortment : Assortment
        SKUs per store: from the stores frame, else from where SKUs were seen in interactions.
    profile_encoder : ProfileEncoder
        Fitted on the profiles (0 features without profiles).
    matrices : TrainingMatrices
        What models train on.
    interactions : DataFrame or None
        The clean events (columns ``Columns.INTERACTIONS``; ids as str, timestamps parsed);
        ``None`` in a dataset kept by a fitted recommender (see :meth:`without_events`).
    weights : EventWeights
        Weighting used for ``matrices.confidence`` (reuse it to weigh new events).
    cutoff : pandas.Timestamp or None
        Latest event time (None if events have no times).
    report : dict of str to int
        Rows removed per rule (``unknown_items``, ``unknown_assortment_items``).
    history_counts : ndarray of int64, shape (n_users,)
        Distinct SKUs each member has an event on.

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({"user_id": ["u1", "u1", "u2"], "item_id": ["a", "b", "a"],
    ...                        "kind": ["purchase", "view", "cart"], "value": [1, 30, 1]})
    >>> profiles = pd.DataFrame({"user_id": ["u3"], "tier": ["gold"]})
    >>> ds = RetailDataset.build(events, profiles=profiles)
    >>> ds
    RetailDataset(members=3, items=2, stores=0, events=3, profile_features=1, item_features=16)
    >>> ds.history_counts.tolist()
    [2, 1, 0]
    >>> ds.matrices.purchased.toarray().tolist()
    [[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]]
    """

    users: IdMap
    items: IdMap
    stores: IdMap
    catalog: Catalog
    assortment: Assortment
    profile_encoder: ProfileEncoder
    matrices: TrainingMatrices
    interactions: pd.DataFrame | None
    weights: EventWeights
    cutoff: pd.Timestamp | None
    report: dict[str, int] = field(default_factory=dict)
    history_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    profiles: pd.DataFrame | None = None
    now: Any = None

    # ----------------------------------------------------------------- build
    @classmethod
    def build(
        cls,
        interactions: pd.DataFrame,
        catalog: pd.DataFrame | None = None,
        stores: pd.DataFrame | None = None,
        profiles: pd.DataFrame | None = None,
        *,
        weights: EventWeights | None = None,
        unknown_items: Literal["raise", "drop"] = "raise",
        now: Any = None,
    ) -> RetailDataset:
        """Validate the frames, map ids and build every matrix (vectorized).

        Parameters
        ----------
        interactions : DataFrame
            Events of the one schema (:mod:`recsys.data.events`); no timestamp means NaT.
        catalog : DataFrame, optional
            ``item_id`` and optional SKU attributes (see :meth:`Catalog.from_frame`).
        stores : DataFrame, optional
            ``store_id, item_id`` rows: the assortment of each store.
        profiles : DataFrame, optional
            ``user_id`` and tag / numeric columns (see :class:`ProfileEncoder`).
        weights : EventWeights, optional
            Event weighting; default ``EventWeights()``.
        unknown_items : {"raise", "drop"}
            What to do with events (and assortment rows) on SKUs missing from the catalog:
            raise :class:`UnknownIdError`, or drop them and count them in ``report``.
        now : datetime-like, optional
            Reference time for time decay; default the latest event.

        Raises
        ------
        SchemaError
            Events breaking the schema; duplicate SKUs in the catalog or profile rows.
        UnknownIdError
            Events on SKUs missing from the catalog with ``unknown_items="raise"``.
        InvalidInputError
            Bad arguments (not DataFrames, unknown policy).
        """
        weights = _check_build_args(weights, unknown_items)
        report = {"unknown_items": 0, "unknown_assortment_items": 0}
        events = _parse_events(interactions)
        users, prof = _member_map(events, profiles)
        items, cat = _item_map(events, catalog)
        item_idx, keep = _event_items(events, items, unknown_items, report)
        stores_map, store_idx, store_frame = _store_map(events, stores)
        seen = keep & (store_idx >= 0)
        assortment = _assortment(
            store_frame, stores_map, items, (store_idx[seen], item_idx[seen]), unknown_items, report
        )
        user_idx = users.to_index(events.ids[Columns.USER][1])[events.ids[Columns.USER][0]]
        idx = (user_idx[keep], item_idx[keep], store_idx[keep])
        ts = pd.DatetimeIndex(events.timestamps[keep])
        cutoff = None if ts.isna().all() else pd.Timestamp(ts.max())
        decay = ts if weights.half_life_days is not None else None
        w = weights._weigh(
            events.kinds[keep], events.values[keep], decay, now if now is not None else cutoff
        )
        catalog_ = Catalog.from_frame(cat, items)
        encoder, user_features = _profiles(prof, users)
        shape = (len(users), len(items), len(stores_map))
        matrices = _training_matrices(idx, events.kinds[keep], w, shape, user_features, catalog_)
        matrices = replace(matrices, events=_model_events(idx, events.kinds[keep], w, ts))
        return cls(
            users=users,
            items=items,
            stores=stores_map,
            catalog=catalog_,
            assortment=assortment,
            profile_encoder=encoder,
            matrices=matrices,
            interactions=_clean_frame(events, keep),
            weights=weights,
            cutoff=cutoff,
            report=report,
            history_counts=_history_counts(matrices.confidence, w, idx[0], idx[1]),
            profiles=prof,
            now=now,
        )

    # --------------------------------------------------------------- queries
    def without_events(self) -> RetailDataset:
        """This dataset without the event table and profile frame: what a model keeps.

        Ids, catalog, assortment, encoder and matrices stay; the raw rows (personal data,
        and the bulk of the memory) go.
        """
        matrices = replace(self.matrices, events=None)
        return replace(self, interactions=None, profiles=None, matrices=matrices)

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_stores(self) -> int:
        return len(self.stores)

    def profile_rows(self, user_idx: np.ndarray | list[int]) -> sp.csr_matrix:
        """Encoded profile rows of members by internal id (``-1`` gives an empty row).

        Examples
        --------
        >>> import pandas as pd
        >>> ds = RetailDataset.build(
        ...     pd.DataFrame({"user_id": ["u1"], "item_id": ["a"], "kind": ["purchase"]}),
        ...     profiles=pd.DataFrame({"user_id": ["u1"], "tier": ["gold"]}))
        >>> ds.profile_rows([0, -1]).toarray().tolist()
        [[1.0], [0.0]]
        """
        idx = np.asarray(user_idx, dtype=np.int64).reshape(-1)
        feats = self.matrices.user_features
        if idx.size and (idx.min() < -1 or idx.max() >= feats.shape[0]):
            raise InvalidInputError(
                f"internal member ids out of range [-1, {feats.shape[0]}): "
                f"{idx[(idx < -1) | (idx >= feats.shape[0])][:5].tolist()}"
            )
        known = idx >= 0
        rows = feats[np.where(known, idx, 0)]
        if not known.all():
            rows = sp.diags(known.astype(np.float32)) @ rows
            rows = sp.csr_matrix(rows, dtype=np.float32)
            rows.eliminate_zeros()
        return sp.csr_matrix(rows, dtype=np.float32)

    def __repr__(self) -> str:
        return (
            f"RetailDataset(members={self.n_users}, items={self.n_items}, "
            f"stores={self.n_stores}, "
            f"events={'not kept' if self.interactions is None else len(self.interactions)}, "
            f"profile_features={self.matrices.user_features.shape[1]}, "
            f"item_features={self.matrices.item_features.shape[1]})"
        )
