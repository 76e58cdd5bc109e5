"""`RetailDataset`: validated, id-mapped, model-ready retail data, built once from DataFrames."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.columns import Columns, EventKind
from recsys.data.assortment import Assortment
from recsys.data.catalog import Catalog
from recsys.data.idmap import IdMap, normalize_ids
from recsys.data.matrices import TrainingMatrices
from recsys.data.profiles import ProfileEncoder
from recsys.data.weighting import EventWeights, confidence_matrix, to_datetime_index
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
            ``user_id, item_id, kind`` and optionally ``value`` (default 1.0; dwell seconds
            for views, quantity for purchases), ``timestamp`` (default NaT), ``store_id``.
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
            Missing columns, missing ids, unknown kinds, negative or non-numeric values,
            unparsable timestamps, duplicate SKUs in the catalog, duplicate profile rows.
        UnknownIdError
            Events on SKUs missing from the catalog with ``unknown_items="raise"``.
        InvalidInputError
            Bad arguments (not DataFrames, unknown policy).
        """
        weights = EventWeights() if weights is None else weights
        if not isinstance(weights, EventWeights):
            raise InvalidInputError(f"weights must be EventWeights, got {type(weights).__name__}")
        if unknown_items not in ("raise", "drop"):
            raise InvalidInputError(f"unknown_items={unknown_items!r}: use 'raise' or 'drop'")
        df = _frame(interactions, "interactions", Columns.INTERACTIONS_REQUIRED)
        if len(df) == 0:
            raise SchemaError("interactions is empty: nothing to learn from")
        report = {"unknown_items": 0, "unknown_assortment_items": 0}
        n_rows = len(df)

        # ids: factorize once, convert only the distinct values to str
        u_codes, u_ids = _ids(df[Columns.USER], Columns.USER)
        _no_missing(u_codes, "interactions", Columns.USER)
        i_codes, i_ids = _ids(df[Columns.ITEM], Columns.ITEM)
        _no_missing(i_codes, "interactions", Columns.ITEM)

        k_codes, k_uniques = pd.factorize(df[Columns.KIND], use_na_sentinel=True)
        _no_missing(k_codes, "interactions", Columns.KIND)
        k_norm = [str(k).strip().lower() for k in k_uniques]
        k_map = np.array([EventKind.ALL.index(k) if k in EventKind.ALL else -1 for k in k_norm])
        if (k_map < 0).any():
            bad = [k for k, c in zip(k_uniques, k_map, strict=True) if c < 0]
            n_bad = int(np.isin(k_codes, np.flatnonzero(k_map < 0)).sum())
            raise SchemaError(
                f"interactions column {Columns.KIND!r} has {n_bad} rows with unknown kinds "
                f"{[str(b) for b in bad[:5]]}; expected one of {list(EventKind.ALL)}"
            )
        kinds = k_map[k_codes].astype(np.int8)

        if Columns.VALUE in df.columns:
            raw_val = df[Columns.VALUE]
            value = pd.to_numeric(raw_val, errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
            bad = np.isnan(value) & raw_val.notna().to_numpy()
            if bad.any():
                rows = np.flatnonzero(bad)
                raise SchemaError(
                    f"interactions column {Columns.VALUE!r} has {rows.size} non-numeric values, "
                    f"e.g. rows {rows[:5].tolist()}"
                )
            value = np.where(np.isnan(value), 1.0, value)
            neg = value < 0
            if neg.any():
                rows = np.flatnonzero(neg)
                neg_kinds = pd.unique(_KIND_NAMES[kinds[neg]]).tolist()
                raise SchemaError(
                    f"interactions column {Columns.VALUE!r} has {rows.size} negative values "
                    f"(dwell seconds / quantity must be >= 0), kinds {neg_kinds}, "
                    f"e.g. rows {rows[:5].tolist()}"
                )
        else:
            value = np.ones(n_rows)

        if Columns.TIMESTAMP in df.columns:
            ts = to_datetime_index(df[Columns.TIMESTAMP], Columns.TIMESTAMP).as_unit("ns")
        else:
            ts = pd.DatetimeIndex(np.full(n_rows, np.datetime64("NaT", "ns")))

        if Columns.STORE in df.columns:
            s_codes, s_ids = _ids(df[Columns.STORE], Columns.STORE)
        else:
            s_codes, s_ids = np.full(n_rows, -1, dtype=np.int64), np.array([], dtype=object)

        # members: interactions (first seen) then profile-only members
        users = IdMap.from_values(u_ids, kind="member")
        prof_df = None
        if profiles is not None:
            prof_df = _frame(profiles, "profiles", Columns.PROFILES_REQUIRED)
            p_codes, p_ids = _ids(prof_df[Columns.USER], Columns.USER)
            _no_missing(p_codes, "profiles", Columns.USER)
            dup = pd.Series(p_ids[p_codes]).duplicated(keep=False).to_numpy()
            if dup.any():
                examples = pd.unique(p_ids[p_codes][dup])[:5].tolist()
                raise SchemaError(
                    f"profiles have {int(dup.sum())} rows for repeated members "
                    f"(e.g. {examples}): one row per {Columns.USER!r}"
                )
            users = users.add(p_ids)

        # items: the catalog's SKUs when there is a catalog
        cat_df = None
        if catalog is not None:
            cat_df = _frame(catalog, "catalog", Columns.CATALOG_REQUIRED)
            c_codes, c_ids = _ids(cat_df[Columns.ITEM], Columns.ITEM)
            _no_missing(c_codes, "catalog", Columns.ITEM)
            all_ids = c_ids[c_codes]
            dup = pd.Series(all_ids).duplicated(keep=False).to_numpy()
            if dup.any():
                examples = pd.unique(all_ids[dup])
                raise SchemaError(
                    f"catalog has {examples.size} duplicate SKUs in {Columns.ITEM!r} "
                    f"(e.g. {examples[:5].tolist()}): one row per SKU"
                )
            items = IdMap(all_ids, kind="item")
        else:
            items = IdMap.from_values(i_ids, kind="item")

        item_of_unique = items.to_index(i_ids, strict=False)
        item_idx = item_of_unique[i_codes]
        keep = item_idx >= 0
        if not keep.all():
            unknown = pd.unique(i_ids[item_of_unique < 0]).tolist()
            n_unknown = int((~keep).sum())
            if unknown_items == "raise":
                raise _unknown_items(unknown, len(items), n_unknown, "interactions")
            report["unknown_items"] = n_unknown
            if not keep.any():
                raise SchemaError(
                    f"all {n_rows} interactions are on SKUs missing from the catalog "
                    f"(e.g. {unknown[:5]}): nothing left"
                )

        user_idx = users.to_index(u_ids)[u_codes]
        stores_map = IdMap.from_values(s_ids, kind="store")
        if stores is not None:
            st_df = _frame(stores, "stores", Columns.STORES_REQUIRED)
            a_codes, a_ids = _ids(st_df[Columns.STORE], Columns.STORE)
            _no_missing(a_codes, "stores", Columns.STORE)
            ai_codes, ai_ids = _ids(st_df[Columns.ITEM], Columns.ITEM)
            _no_missing(ai_codes, "stores", Columns.ITEM)
            # stores of the assortment first, so their ints do not depend on the events
            stores_map = IdMap.from_values(a_ids, kind="store").add(s_ids)
        # events without a store have code -1, which picks the trailing -1
        store_idx = np.append(stores_map.to_index(s_ids), -1)[s_codes]
        if stores is not None:
            a_item_of_unique = items.to_index(ai_ids, strict=False)
            a_items = a_item_of_unique[ai_codes]
            a_keep = a_items >= 0
            if not a_keep.all():
                unknown = pd.unique(ai_ids[a_item_of_unique < 0]).tolist()
                if unknown_items == "raise":
                    raise _unknown_items(unknown, len(items), int((~a_keep).sum()), "stores")
                report["unknown_assortment_items"] = int((~a_keep).sum())
            a_stores = stores_map.to_index(a_ids)[a_codes]
            assortment = Assortment.from_indices(
                a_stores[a_keep], a_items[a_keep], len(stores_map), len(items)
            )
        else:
            # no assortment given: a store stocks what was seen there
            seen = keep & (store_idx >= 0)
            assortment = Assortment.from_indices(
                store_idx[seen], item_idx[seen], len(stores_map), len(items)
            )

        # drop rows on unknown SKUs from here on
        if not keep.all():
            u_codes, i_codes, s_codes = u_codes[keep], i_codes[keep], s_codes[keep]
            user_idx, item_idx, store_idx = user_idx[keep], item_idx[keep], store_idx[keep]
            kinds, value, ts = kinds[keep], value[keep], ts[keep]

        cutoff = ts.max()
        cutoff = None if pd.isna(cutoff) else pd.Timestamp(cutoff)
        decay_now = now if now is not None else cutoff
        w = weights._weigh(
            kinds, value, ts if weights.half_life_days is not None else None, decay_now
        )

        n_users, n_items, n_stores = len(users), len(items), len(stores_map)
        confidence = confidence_matrix(user_idx, item_idx, w, n_users, n_items)
        buy = kinds == _PURCHASE
        purchased = sp.csr_matrix(
            (np.ones(int(buy.sum()), dtype=np.float32), (user_idx[buy], item_idx[buy])),
            shape=(n_users, n_items),
        )
        purchased.sum_duplicates()
        purchased.data[:] = 1.0
        purchased.sort_indices()
        if (w > 0).all():
            history_counts = np.diff(confidence.indptr).astype(np.int64)
        else:  # zero-weight events (views with no dwell) still count as history
            touched = sp.csr_matrix(
                (np.ones(user_idx.shape[0], dtype=np.int32), (user_idx, item_idx)),
                shape=(n_users, n_items),
            )
            touched.sum_duplicates()  # one stored entry per distinct (member, SKU)
            history_counts = np.diff(touched.indptr).astype(np.int64)
        history_counts.flags.writeable = False

        at_store = store_idx >= 0
        store_items = confidence_matrix(
            store_idx[at_store], item_idx[at_store], w[at_store], n_stores, n_items
        )
        user_stores = sp.csr_matrix(
            (
                np.ones(int(at_store.sum()), dtype=np.float32),
                (user_idx[at_store], store_idx[at_store]),
            ),
            shape=(n_users, n_stores),
        )
        user_stores.sum_duplicates()
        user_stores.sort_indices()

        cat = Catalog.from_frame(cat_df, items)
        if prof_df is not None:
            encoder = ProfileEncoder().fit(prof_df)
            user_features = encoder.transform(prof_df, users=users)
        else:
            encoder = ProfileEncoder().fit(
                pd.DataFrame({Columns.USER: pd.Series([], dtype=object)})
            )
            user_features = sp.csr_matrix((n_users, 0), dtype=np.float32)

        matrices = TrainingMatrices(
            confidence=confidence,
            purchased=purchased,
            user_features=user_features,
            item_features=cat.item_features(),
            store_items=store_items,
            user_stores=user_stores,
        )

        # clean frame: gather str arrays from the distinct ids (arrow take, no per-row str work)
        def id_column(codes: np.ndarray, ids: np.ndarray) -> Any:
            return pd.array(ids, dtype="str").take(codes, allow_fill=True)

        clean = pd.DataFrame(
            {
                Columns.USER: id_column(u_codes, u_ids),
                Columns.ITEM: id_column(i_codes, i_ids),
                Columns.KIND: id_column(kinds.astype(np.int64), _KIND_NAMES),
                Columns.VALUE: value,
                Columns.TIMESTAMP: ts,
                Columns.STORE: id_column(s_codes, s_ids),
            }
        )

        return cls(
            users=users,
            items=items,
            stores=stores_map,
            catalog=cat,
            assortment=assortment,
            profile_encoder=encoder,
            matrices=matrices,
            interactions=clean,
            weights=weights,
            cutoff=cutoff,
            report=report,
            history_counts=history_counts,
            profiles=prof_df,
            now=now,
        )

    # --------------------------------------------------------------- queries
    def without_events(self) -> RetailDataset:
        """This dataset without the event table and profile frame: what a model keeps.

        Ids, catalog, assortment, encoder and matrices stay; the raw rows (personal data,
        and the bulk of the memory) go.
        """
        return replace(self, interactions=None, profiles=None)

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
