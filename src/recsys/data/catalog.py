"""SKU attributes as arrays in internal item order: category, price, season, availability, tags."""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.columns import Columns
from recsys.data.idmap import IdMap, normalize_ids
from recsys.exceptions import InvalidInputError, RecsysWarning, SchemaError, UnknownIdError

ALL_YEAR = 0xFFF  # bits 0..11 = January..December

_MONTHS = {
    m: 1 << i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
    )
}


def _months(*ms: int) -> int:
    return sum(1 << (m - 1) for m in ms)


SEASON_LABELS: dict[str, int] = {
    "spring": _months(3, 4, 5),
    "summer": _months(6, 7, 8),
    "autumn": _months(9, 10, 11),
    "fall": _months(9, 10, 11),
    "winter": _months(12, 1, 2),
    "ss": _months(3, 4, 5, 6, 7, 8),  # spring/summer collection
    "aw": _months(9, 10, 11, 12, 1, 2),  # autumn/winter collection
    "all": ALL_YEAR,
    **_MONTHS,
}
_RANGE = re.compile(r"^(\d{1,2})\s*-\s*(\d{1,2})$")
N_PRICE_TIERS = 4
#: largest price accepted (prices are kept as float32; revenue is units x price)
MAX_PRICE = 1e12


def parse_season(value: Any) -> int:
    """Month bit mask of one season value (bit ``m-1`` set = in season in month ``m``).

    Accepts a label (``spring summer autumn winter SS AW all``, month names ``jan``...),
    a month number ``1..12``, a month range ``"11-2"`` (wraps over the new year), or several
    of those joined by ``|``. Case-insensitive. Missing (None/NaN/"") means all year.

    Raises
    ------
    SchemaError
        If a part is not a known label, month or range.

    Examples
    --------
    >>> bin(parse_season("summer"))
    '0b11100000'
    >>> parse_season("12|jan") == parse_season("winter") - parse_season("feb")
    True
    >>> parse_season("11-2") == parse_season("nov|dec|jan|feb")
    True
    >>> parse_season(None) == parse_season("all")
    True
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ALL_YEAR
    if isinstance(value, (int, np.integer, float, np.floating)):
        value = str(int(value)) if float(value).is_integer() else str(value)
    text = str(value).strip().lower()
    if not text:
        return ALL_YEAR
    mask = 0
    for part in text.split("|"):
        part = part.strip()
        if part in SEASON_LABELS:
            mask |= SEASON_LABELS[part]
        elif part.isdigit() and 1 <= int(part) <= 12:
            mask |= 1 << (int(part) - 1)
        elif (r := _RANGE.match(part)) and all(1 <= int(g) <= 12 for g in r.groups()):
            a, b = (int(g) for g in r.groups())
            span = range(a, b + 1) if a <= b else [*range(a, 13), *range(1, b + 1)]
            mask |= _months(*span)
        else:
            raise SchemaError(
                f"season {value!r}: {part!r} is not a label ({', '.join(sorted(SEASON_LABELS))}), "
                "a month 1-12 or a range like '11-2'"
            )
    return mask


def parse_date(value: Any) -> np.datetime64:
    """A date, datetime, ``pd.Timestamp`` or ISO string as ``datetime64[D]``.

    Raises
    ------
    InvalidInputError
        If the value is not a date.

    Examples
    --------
    >>> parse_date("2026-11-22")
    np.datetime64('2026-11-22')
    """
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"not a date: {value!r} (use an ISO date like 2026-11-22)") from exc
    if pd.isna(ts):
        raise InvalidInputError(f"not a date: {value!r}")
    return np.datetime64(ts.date(), "D")


def _split_tags(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(t.strip() for t in value.split("|") if t.strip())
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray, pd.Series)):
        return tuple(str(t) for t in value if not pd.isna(t))
    return () if pd.isna(value) else (str(value),)


def _column(df: pd.DataFrame, name: str) -> pd.Series | None:
    return df[name] if name in df.columns else None


def _dates(col: pd.Series | None, n: int, name: str) -> np.ndarray:
    if col is None:
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    try:
        parsed = pd.to_datetime(col.reset_index(drop=True))
    except (ValueError, TypeError) as exc:
        raise SchemaError(
            f"catalog column {name!r} holds values that are not dates: {exc}"
        ) from exc
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed.to_numpy().astype("datetime64[D]")


def catalog_ids(df: pd.DataFrame) -> np.ndarray:
    """The SKU ids of a catalog frame, as text: none missing, each SKU once.

    Raises
    ------
    SchemaError
        Missing or repeated SKU ids, naming a few.
    """
    if df[Columns.ITEM].isna().any():
        rows = np.flatnonzero(df[Columns.ITEM].isna().to_numpy())
        raise SchemaError(
            f"catalog column {Columns.ITEM!r} has {rows.size} missing ids "
            f"(rows {rows[:5].tolist()})"
        )
    ids = normalize_ids(df[Columns.ITEM], what=Columns.ITEM)
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    if dup.any():
        examples = pd.unique(ids[dup])
        raise SchemaError(
            f"catalog has {examples.size} duplicate SKUs in {Columns.ITEM!r} "
            f"(e.g. {examples[:5].tolist()}): one row per SKU"
        )
    return ids


def _catalog_rows(df: Any, items: IdMap) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The checked frame, its SKU ids, and each row's internal item id."""
    if df is None:
        df = pd.DataFrame({Columns.ITEM: pd.Series([], dtype=object)})
    if not isinstance(df, pd.DataFrame):
        raise InvalidInputError(f"catalog must be a pandas DataFrame, got {type(df).__name__}")
    if Columns.ITEM not in df.columns:
        raise SchemaError(
            f"catalog misses required column {Columns.ITEM!r} (has {list(df.columns)})"
        )
    df = df.reset_index(drop=True)
    ids = catalog_ids(df)
    row = items.to_index(ids, strict=False)
    if (row < 0).any():
        err = UnknownIdError("item", pd.unique(ids[row < 0]).tolist(), known=len(items))
        err.args = (f"{err.args[0]}: catalog rows for SKUs outside the item map",)
        raise err
    return df, ids, row


def _categories(col: pd.Series | None, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted category names and each row's code (-1: none): stable whatever the order."""
    codes = np.full(n_rows, -1, dtype=np.int32)
    if col is None or not col.notna().any():
        return np.array([], dtype=object), codes
    present = col.notna().to_numpy()
    text = np.full(n_rows, None, dtype=object)
    text[present] = normalize_ids(col[present], what=Columns.CATEGORY)
    categories = np.array(sorted(set(text[present].tolist())), dtype=object)
    codes[present] = np.searchsorted(categories, text[present]).astype(np.int32)
    return categories, codes


def _prices(col: pd.Series | None, ids: np.ndarray) -> np.ndarray:
    if col is None:
        return np.full(len(ids), np.nan)
    price = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(price) & col.notna().to_numpy()
    if bad.any():
        raise SchemaError(
            f"catalog column {Columns.PRICE!r} has {int(bad.sum())} non-numeric values "
            f"(SKUs {ids[bad][:5].tolist()})"
        )
    infinite = np.isinf(price) | (price > MAX_PRICE)
    if infinite.any():
        raise SchemaError(
            f"catalog column {Columns.PRICE!r} has {int(infinite.sum())} infinite prices or "
            f"prices over {MAX_PRICE:.0e} (SKUs {ids[infinite][:5].tolist()}); leave a price "
            "empty when it is unknown"
        )
    if (price < 0).any():
        raise SchemaError(
            f"catalog column {Columns.PRICE!r} has {int((price < 0).sum())} negative "
            f"prices (SKUs {ids[price < 0][:5].tolist()})"
        )
    return price


def _groups(col: pd.Series | None, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Style group names and each row's code (``-1``: none)."""
    if col is None or not col.notna().any():
        return np.array([], dtype=object), np.full(n_rows, -1, dtype=np.int64)
    present = col.notna().to_numpy()
    text = np.full(n_rows, None, dtype=object)
    text[present] = normalize_ids(col[present], what=Columns.GROUP)
    codes, names = pd.factorize(pd.Series(text, dtype=object), use_na_sentinel=True)
    return np.asarray(names, dtype=object), codes.astype(np.int64)


def _names_of(names: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Name per code (``None`` for ``-1``)."""
    lookup = np.empty(len(names) + 1, dtype=object)  # code -1 -> None
    lookup[:-1] = names
    return lookup[codes]


def _merged_names(old: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``old`` names plus the names of ``new`` it lacks (appended), and each ``new`` name's
    code in the result: codes of known names never change."""
    index = {name: code for code, name in enumerate(old.tolist())}
    merged = list(old.tolist())
    for name in new.tolist():
        if name not in index:
            index[name] = len(merged)
            merged.append(name)
    codes = np.array([index[name] for name in new.tolist()], dtype=np.int64)
    return np.array(merged, dtype=object), codes


def _seasons(col: pd.Series | None, n_rows: int) -> np.ndarray:
    if col is None:
        return np.full(n_rows, ALL_YEAR, dtype=np.uint16)
    # few distinct labels: parse each once
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    masks = np.array([parse_season(u) for u in uniques] + [ALL_YEAR], dtype=np.uint16)
    return masks[codes]  # -1 (missing) picks the trailing ALL_YEAR


@dataclass(frozen=True, eq=False)
class Catalog:
    """SKU attributes as arrays in internal item order (row ``i`` = item ``i`` of ``items``).

    Build with :meth:`from_frame`. Arrays are read-only.

    Attributes
    ----------
    items : IdMap
        The SKUs, internal order.
    categories : ndarray of str
        Category name of each category code (sorted at build; categories of SKUs added
        later by :meth:`updated` follow, so no code ever changes).
    category_codes : ndarray of int32
        Code into ``categories`` per SKU, ``-1`` if unknown.
    prices : ndarray of float32
        Price per SKU, NaN if unknown.
    season_months : ndarray of uint16
        Bit ``m-1`` set = in season in month ``m`` (see :func:`parse_season`).
    available_from, available_to : ndarray of datetime64[D]
        Sale window per SKU; NaT = open-ended.
    names : ndarray of str
        Display name per SKU (the item id if the frame has no ``name``).
    group_codes : ndarray of int64
        Style group of each SKU (variants of one style share one), ``-1`` for none; from the
        frame's ``group_id`` column.
    groups : ndarray of str
        Style group id of each group code.
    tags : tuple of tuple of str
        Free tags per SKU (``"a|b"`` strings or lists in the frame).
    price_edges : ndarray of float64, shape (3,)
        Price quartile edges used for the price-tier features (NaN if no prices).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"item_id": ["a", "b", "c"], "category": ["shirts", "jeans", "shirts"],
    ...                    "price": [20.0, 80.0, None], "season": ["SS", "all", "winter"]})
    >>> cat = Catalog.from_frame(df, IdMap.from_values(df["item_id"]))
    >>> cat.categories.tolist(), cat.category_codes.tolist()
    (['jeans', 'shirts'], [1, 0, 1])
    >>> cat.mask(category="shirts", in_season="2026-07-01").tolist()
    [True, False, False]
    >>> cat.mask(max_price=50).tolist()
    [True, False, False]
    >>> cat.category_of(1)
    'jeans'
    """

    items: IdMap
    categories: np.ndarray
    category_codes: np.ndarray
    prices: np.ndarray
    season_months: np.ndarray
    available_from: np.ndarray
    available_to: np.ndarray
    names: np.ndarray
    tags: tuple[tuple[str, ...], ...]
    price_edges: np.ndarray
    group_codes: np.ndarray
    groups: np.ndarray

    #: the array fields, read-only once built
    _ARRAYS: ClassVar[tuple[str, ...]] = (
        "categories",
        "category_codes",
        "prices",
        "season_months",
        "available_from",
        "available_to",
        "names",
        "price_edges",
        "group_codes",
        "groups",
    )

    def __post_init__(self) -> None:
        for name in self._ARRAYS:
            getattr(self, name).flags.writeable = False

    # ------------------------------------------------------------ construction
    @classmethod
    def from_frame(cls, df: pd.DataFrame | None, items: IdMap) -> Catalog:
        """Catalog of ``items`` from a frame with ``item_id`` and optional attribute columns.

        Optional columns: ``category``, ``price``, ``season``, ``available_from``,
        ``available_to``, ``name``, ``tags``. SKUs of ``items`` absent from the frame get
        unknown attributes (no category, NaN price, all year).

        Raises
        ------
        SchemaError
            Missing ``item_id`` column, missing/duplicate SKU ids, negative or non-numeric
            prices, unknown season labels, unparsable dates.
        UnknownIdError
            If the frame lists SKUs that are not in ``items``.
        """
        n = len(items)
        df, ids, row = _catalog_rows(df, items)

        def place(values: np.ndarray, fill: Any, dtype: Any) -> np.ndarray:
            out = np.full(n, fill, dtype=dtype)
            out[row] = values
            return out

        categories, codes = _categories(_column(df, Columns.CATEGORY), len(df))
        groups, group_codes = _groups(_column(df, Columns.GROUP), len(df))
        prices = place(_prices(_column(df, Columns.PRICE), ids), np.nan, np.float32)
        known = prices[~np.isnan(prices)].astype(np.float64)
        edges = np.quantile(known, [0.25, 0.5, 0.75]) if known.size else np.full(3, np.nan)
        names = np.array(items.ids, dtype=object)  # SKUs without a name show their id
        name_col = _column(df, Columns.NAME)
        if name_col is not None:
            has = name_col.notna().to_numpy()
            names[row[has]] = name_col[has].astype(str).to_numpy(dtype=object)
        tag_rows: list[tuple[str, ...]] = [()] * n
        tag_col = _column(df, Columns.TAGS)
        if tag_col is not None:
            for r, v in zip(row.tolist(), tag_col.tolist(), strict=True):
                tag_rows[r] = _split_tags(v)
        dates = {
            name: place(
                _dates(_column(df, name), len(df), name), np.datetime64("NaT"), "datetime64[D]"
            )
            for name in (Columns.AVAILABLE_FROM, Columns.AVAILABLE_TO)
        }
        start, stop = dates[Columns.AVAILABLE_FROM], dates[Columns.AVAILABLE_TO]
        backwards = ~np.isnat(start) & ~np.isnat(stop) & (stop < start)
        if backwards.any():
            raise SchemaError(
                f"catalog: {int(backwards.sum())} SKU(s) end their sale before it starts "
                f"({Columns.AVAILABLE_TO!r} < {Columns.AVAILABLE_FROM!r}), e.g. "
                f"{items.ids[np.flatnonzero(backwards)[0]]!r}"
            )
        return cls(
            items=items,
            categories=categories,
            category_codes=place(codes, -1, np.int32),
            prices=prices,
            season_months=place(
                _seasons(_column(df, Columns.SEASON), len(df)), ALL_YEAR, np.uint16
            ),
            available_from=dates[Columns.AVAILABLE_FROM],
            available_to=dates[Columns.AVAILABLE_TO],
            names=names,
            tags=tuple(tag_rows),
            price_edges=edges,
            group_codes=place(group_codes, -1, np.int64),
            groups=groups,
        )

    # ----------------------------------------------------------------- queries
    @property
    def n_items(self) -> int:
        return len(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @cached_property
    def groups_within_categories(self) -> bool:
        """Whether every style group's SKUs share one category (unknown counts as one)."""
        grouped = self.group_codes >= 0
        pairs = np.unique(
            np.stack([self.group_codes[grouped], self.category_codes[grouped]]), axis=1
        )
        return pairs.shape[1] == len(np.unique(pairs[0]))

    def category_of(self, idx: int | np.ndarray | Sequence[int]) -> Any:
        """Category name of one SKU (``None`` if unknown) or an object array for many.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"item_id": ["a", "b"], "category": ["tops", None]})
        >>> cat = Catalog.from_frame(df, IdMap.from_values(df["item_id"]))
        >>> cat.category_of([0, 1]).tolist()
        ['tops', None]
        """
        lookup = np.empty(len(self.categories) + 1, dtype=object)  # code -1 -> None
        lookup[:-1] = self.categories
        if isinstance(idx, int | np.integer):
            return lookup[self.category_codes[int(idx)]]
        return lookup[self.category_codes[np.asarray(idx, dtype=np.int64)]]

    def category_codes_of(self, category: str | Sequence[str]) -> np.ndarray:
        """Codes of category names; unknown names raise :class:`UnknownIdError`."""
        wanted = normalize_ids([category] if isinstance(category, str) else list(category))
        index = {c: k for k, c in enumerate(self.categories.tolist())}
        pos = np.array([index.get(w, -1) for w in wanted], dtype=np.int64)
        if (pos < 0).any():
            missing = pd.unique(wanted[pos < 0]).tolist()
            raise UnknownIdError("category", missing, known=len(self.categories))
        return pos.astype(np.int32)

    def in_season_mask(self, when: Any) -> np.ndarray:
        """SKUs in season on a date: month bit set and inside the availability window."""
        day = parse_date(when)
        month = int(str(day)[5:7])
        ok = (self.season_months & np.uint16(1 << (month - 1))) != 0
        # NaT comparisons are False, so open ends need the isnat escape
        ok &= np.isnat(self.available_from) | (self.available_from <= day)
        ok &= np.isnat(self.available_to) | (self.available_to >= day)
        return ok

    def mask(
        self,
        category: str | Sequence[str] | None = None,
        min_price: float | None = None,
        max_price: float | None = None,
        in_season: str | dt.date | Any | None = None,
    ) -> np.ndarray:
        """Boolean (n_items,) mask of SKUs passing every given filter.

        Parameters
        ----------
        category : str or list of str, optional
            Keep these categories (unknown names raise :class:`UnknownIdError`).
        min_price, max_price : float, optional
            Inclusive price bounds; SKUs with unknown price fail any price filter.
        in_season : date, datetime or ISO string, optional
            Keep SKUs in season that day (season months and availability window).

        Raises
        ------
        InvalidInputError
            On ``min_price > max_price``, a negative bound or a bad date.
        UnknownIdError
            On an unknown category.
        """
        ok = np.ones(self.n_items, dtype=bool)
        if category is not None:
            codes = self.category_codes_of(category)
            ok &= np.isin(self.category_codes, codes)
        for name, bound in (("min_price", min_price), ("max_price", max_price)):
            if bound is not None and (not np.isfinite(float(bound)) or float(bound) < 0):
                raise InvalidInputError(f"{name}={bound!r} must be a finite number >= 0")
        if min_price is not None and max_price is not None and float(min_price) > float(max_price):
            raise InvalidInputError(f"min_price={min_price} is above max_price={max_price}")
        if min_price is not None:
            ok &= self.prices >= np.float32(min_price)  # NaN >= x is False
        if max_price is not None:
            ok &= self.prices <= np.float32(max_price)
        if in_season is not None:
            ok &= self.in_season_mask(in_season)
        return ok

    # ---------------------------------------------------------------- features
    @property
    def feature_names(self) -> list[str]:
        """Names of the :meth:`item_features` columns."""
        return (
            [f"category={c}" for c in self.categories.tolist()]
            + [f"price_tier={t + 1}" for t in range(N_PRICE_TIERS)]
            + [f"month={m}" for m in range(1, 13)]
        )

    def _feature_rows(
        self,
        codes: np.ndarray,
        prices: np.ndarray,
        seasons: np.ndarray,
        n_categories: int | None = None,
    ) -> sp.csr_matrix:
        n = codes.shape[0]
        n_cat = len(self.categories) if n_categories is None else n_categories
        codes = np.where(codes < n_cat, codes, -1)  # a category the layout lacks: no feature
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        has_cat = codes >= 0
        rows.append(np.flatnonzero(has_cat))
        cols.append(codes[has_cat].astype(np.int64))
        has_price = ~np.isnan(prices) & ~np.isnan(self.price_edges).any()
        tiers = np.searchsorted(self.price_edges, prices[has_price], side="right")
        rows.append(np.flatnonzero(has_price))
        cols.append(n_cat + tiers.astype(np.int64))
        bits = ((seasons[:, None].astype(np.int64) >> np.arange(12)) & 1).astype(bool)
        r, m = np.nonzero(bits)
        rows.append(r)
        cols.append(n_cat + N_PRICE_TIERS + m)
        row = np.concatenate(rows)
        col = np.concatenate(cols)
        data = np.ones(row.shape[0], dtype=np.float32)
        out = sp.csr_matrix(
            (data, (row, col)), shape=(n, n_cat + N_PRICE_TIERS + 12), dtype=np.float32
        )
        out.sort_indices()
        return out

    def item_features(
        self, items: np.ndarray | None = None, n_categories: int | None = None
    ) -> sp.csr_matrix:
        """Binary SKU features: one-hot category, price tier (quartile), in-season months.

        Unknown category or price gives no feature in that block. Columns are
        :attr:`feature_names`.

        Parameters
        ----------
        items : ndarray of int, optional
            Rows of these SKUs only (default: every SKU, in order).
        n_categories : int, optional
            Lay the columns out for the first this many categories (those a model was
            trained with): categories added since get no category feature.

        Returns
        -------
        scipy.sparse.csr_matrix of float32, shape (n_items, n_categories + 4 + 12)

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"item_id": ["a", "b"], "category": ["x", "y"],
        ...                    "price": [1.0, 9.0], "season": ["1", "2"]})
        >>> Catalog.from_frame(df, IdMap.from_values(df["item_id"])).item_features().shape
        (2, 18)
        """
        rows = slice(None) if items is None else np.asarray(items, dtype=np.int64)
        return self._feature_rows(
            self.category_codes[rows], self.prices[rows], self.season_months[rows], n_categories
        )

    def features_for(
        self, attributes: pd.DataFrame | Mapping[str, Any] | Sequence[Mapping[str, Any]]
    ) -> sp.csr_matrix:
        """:meth:`item_features` rows of SKUs described by their attributes alone.

        Used to place a new SKU before anyone bought it. An unseen category gives no
        category feature (with a :class:`~recsys.exceptions.RecsysWarning`).

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"item_id": ["a", "b"], "category": ["x", "y"], "price": [1.0, 9.0]})
        >>> cat = Catalog.from_frame(df, IdMap.from_values(df["item_id"]))
        >>> new = cat.features_for({"category": "y", "price": 9.0, "season": "all"})
        >>> bool((new != cat.item_features()[1]).nnz == 0)
        True
        """
        if isinstance(attributes, Mapping):
            frame = pd.DataFrame([dict(attributes)])
        elif isinstance(attributes, pd.DataFrame):
            frame = attributes.reset_index(drop=True)
        else:
            frame = pd.DataFrame([dict(a) for a in attributes])
        n = len(frame)
        codes = np.full(n, -1, dtype=np.int32)
        if Columns.CATEGORY in frame.columns:
            present = frame[Columns.CATEGORY].notna().to_numpy()
            names = normalize_ids(frame[Columns.CATEGORY][present], what=Columns.CATEGORY)
            known = pd.Index(self.categories, dtype=object).get_indexer(names)
            if (known < 0).any():
                warnings.warn(
                    f"unseen categories {pd.unique(names[known < 0])[:5].tolist()} get no "
                    "category feature",
                    RecsysWarning,
                    stacklevel=2,
                )
            codes[present] = known
        prices = np.full(n, np.nan, dtype=np.float32)
        if Columns.PRICE in frame.columns:
            prices = pd.to_numeric(frame[Columns.PRICE], errors="coerce").to_numpy(np.float32)
        seasons = np.full(n, ALL_YEAR, dtype=np.uint16)
        if Columns.SEASON in frame.columns:
            seasons = np.array(
                [parse_season(v) for v in frame[Columns.SEASON].tolist()], dtype=np.uint16
            )
        return self._feature_rows(codes, prices, seasons)

    def updated(self, df: pd.DataFrame, items: IdMap) -> Catalog:
        """This catalog over ``items`` (its SKUs, then new ones) with the rows of ``df`` applied.

        A SKU in ``df`` takes its values for the columns ``df`` has and keeps the others; a
        SKU new in ``items`` starts unknown (no category, NaN price, all year). Codes of known
        categories and style groups never change (new names get the next codes) and the
        price-tier edges stay, so features keep the meaning a model learned them with.

        Raises
        ------
        SchemaError, UnknownIdError
            As :meth:`from_frame`, for the rows of ``df``.
        InvalidInputError
            If ``items`` does not start with this catalog's SKUs.

        Examples
        --------
        >>> import pandas as pd
        >>> before = pd.DataFrame({"item_id": ["a", "b"], "category": ["tops", "jeans"]})
        >>> cat = Catalog.from_frame(before, IdMap(["a", "b"]))
        >>> change = pd.DataFrame({"item_id": ["c", "a"], "category": ["bags", "jeans"]})
        >>> grown = cat.updated(change, cat.items.add(["c"]))
        >>> grown.categories.tolist(), grown.category_of([0, 1, 2]).tolist()
        (['jeans', 'tops', 'bags'], ['jeans', 'jeans', 'bags'])
        """
        n_old, n = self.n_items, len(items)
        if n < n_old or not np.array_equal(items.ids[:n_old], self.items.ids):
            raise InvalidInputError("the grown item map must start with the catalog's SKUs")
        part = Catalog.from_frame(df, IdMap(catalog_ids(df)))
        row = items.to_index(part.items.ids)
        has = set(df.columns)
        fields: dict[str, Any] = {
            "categories": self.categories,
            "price_edges": self.price_edges,
            "groups": self.groups,
        }
        fills = {
            "category_codes": -1,
            "prices": np.nan,
            "season_months": ALL_YEAR,
            "available_from": np.datetime64("NaT"),
            "available_to": np.datetime64("NaT"),
            "names": None,
            "group_codes": -1,
        }
        for name, fill in fills.items():
            old = getattr(self, name)
            fields[name] = np.concatenate([old, np.full(n - n_old, fill, dtype=old.dtype)])
        fields["names"][n_old:] = items.ids[n_old:]
        for name, column in (("categories", Columns.CATEGORY), ("groups", Columns.GROUP)):
            if column in has:
                codes_name = "category_codes" if name == "categories" else "group_codes"
                merged, code_of = _merged_names(fields[name], getattr(part, name))
                codes = getattr(part, codes_name)
                fields[name] = merged
                fields[codes_name][row] = np.where(codes >= 0, code_of[np.maximum(codes, 0)], -1)
        for name, column in (
            ("prices", Columns.PRICE),
            ("season_months", Columns.SEASON),
            ("available_from", Columns.AVAILABLE_FROM),
            ("available_to", Columns.AVAILABLE_TO),
            ("names", Columns.NAME),
        ):
            if column in has:
                fields[name][row] = getattr(part, name)
        tags = list(self.tags) + [()] * (n - n_old)
        if Columns.TAGS in has:
            for r, t in zip(row.tolist(), part.tags, strict=True):
                tags[r] = t
        return Catalog(items=items, tags=tuple(tags), **fields)

    def to_frame(self) -> pd.DataFrame:
        """The catalog back as a frame (``from_frame(to_frame(), items)`` round-trips)."""
        months = [
            "|".join(str(m) for m in range(1, 13) if s >> (m - 1) & 1)
            for s in self.season_months.tolist()
        ]
        return pd.DataFrame(
            {
                Columns.ITEM: self.items.ids,
                Columns.CATEGORY: self.category_of(np.arange(self.n_items)),
                Columns.PRICE: self.prices,
                Columns.SEASON: months,
                Columns.AVAILABLE_FROM: self.available_from,
                Columns.AVAILABLE_TO: self.available_to,
                Columns.NAME: self.names,
                Columns.TAGS: ["|".join(t) for t in self.tags],
                Columns.GROUP: _names_of(self.groups, self.group_codes),
            }
        )

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The catalog as plain arrays (``np.savez`` without pickles); see :meth:`from_arrays`."""
        out = {}
        for name in self._ARRAYS:
            arr = getattr(self, name)
            out[name] = arr.astype(str) if arr.dtype == object else arr
        lengths = np.array([len(t) for t in self.tags], dtype=np.int64)
        out["tags.indptr"] = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        out["tags.values"] = np.array([t for row in self.tags for t in row], dtype=str)
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], items: IdMap) -> Catalog:
        """Inverse of :meth:`to_arrays`: the same catalog, without parsing a frame again.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"item_id": ["a", "b"], "category": ["tops", "jeans"],
        ...                    "tags": ["red|cotton", None]})
        >>> cat = Catalog.from_frame(df, IdMap(["a", "b"]))
        >>> back = Catalog.from_arrays(cat.to_arrays(), cat.items)
        >>> back.tags, back.category_of(0), back.names.tolist()
        ((('red', 'cotton'), ()), 'tops', ['a', 'b'])
        """
        fields = {}
        if "groups" not in arrays:  # written before group names were kept
            n_groups = int(np.asarray(arrays["group_codes"]).max(initial=-1)) + 1
            arrays = {**arrays, "groups": np.arange(n_groups).astype(str)}
        for name in cls._ARRAYS:
            arr = np.asarray(arrays[name])
            fields[name] = arr.astype(object) if arr.dtype.kind == "U" else arr.copy()
        ptr, values = arrays["tags.indptr"], arrays["tags.values"].tolist()
        tags = tuple(tuple(values[ptr[i] : ptr[i + 1]]) for i in range(len(ptr) - 1))
        if len(tags) != len(items) or len(fields["names"]) != len(items):
            raise InvalidInputError(
                f"catalog arrays hold {len(tags)} SKUs, the item map {len(items)}"
            )
        return cls(items=items, tags=tags, **fields)

    def __repr__(self) -> str:
        return (
            f"Catalog(n_items={self.n_items}, n_categories={len(self.categories)}, "
            f"priced={int((~np.isnan(self.prices)).sum())})"
        )
