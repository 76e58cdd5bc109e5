"""Member profiles (categorical tags, numeric attributes) -> sparse features, stable vocabulary."""

from __future__ import annotations

import difflib
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.columns import Columns
from recsys.data.idmap import IdMap, _one_id
from recsys.exceptions import InvalidInputError, NotFittedError, RecsysWarning, SchemaError

Records = pd.DataFrame | Mapping[str, Any] | Sequence[Mapping[str, Any]]


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def _as_frame(data: Records) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data.reset_index(drop=True)
    if isinstance(data, Mapping):
        return pd.DataFrame([dict(data)])
    if isinstance(data, Sequence) and not isinstance(data, str):
        return pd.DataFrame([dict(r) for r in data])
    raise InvalidInputError(
        f"profiles must be a DataFrame, a dict or a list of dicts, got {type(data).__name__}"
    )


def _is_numeric(col: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)


#: (rows, feature columns, values) of some non-zero entries of an encoded matrix.
_Entries = tuple[np.ndarray, np.ndarray, np.ndarray]


def _stacked(entries: list[_Entries]) -> _Entries:
    """All ``entries`` as one (rows, columns, values) triple."""
    if entries:
        rows, cols, vals = zip(*entries, strict=True)
        return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    empty = np.zeros(0, dtype=np.int64)
    return empty, empty, np.zeros(0)


def _member_rows(df: pd.DataFrame, users: IdMap, rows: np.ndarray) -> np.ndarray:
    """Rows of ``df`` (by its ``user_id``) mapped to member rows of ``users``.

    Raises
    ------
    SchemaError
        No ``user_id`` column, missing ids or repeated members.
    """
    if Columns.USER not in df.columns:
        raise SchemaError(f"profiles miss column {Columns.USER!r} needed to align rows")
    if df[Columns.USER].isna().any():
        raise SchemaError(
            f"profiles column {Columns.USER!r} has {int(df[Columns.USER].isna().sum())} missing ids"
        )
    dup = df[Columns.USER].duplicated(keep=False)
    if dup.any():
        examples = df.loc[dup, Columns.USER].astype(str).unique()[:5].tolist()
        raise SchemaError(
            f"profiles have {int(dup.sum())} rows for repeated members {examples}: "
            "one row per member"
        )
    member_row = users.to_index(df[Columns.USER])
    return member_row[rows] if rows.size else rows


class ProfileEncoder:
    """One-hot member tags and standardized numeric attributes, with a stable vocabulary.

    Parameters
    ----------
    tag_columns : list of str, optional
        Categorical columns; default: every non-numeric column but ``user_id``.
    numeric_columns : list of str, optional
        Numeric columns, standardized with the training mean and standard deviation;
        default: every numeric column but ``user_id`` that is not a tag column.

    Attributes
    ----------
    tag_columns, numeric_columns : list of str
        The columns used, once fitted.
    vocabulary : dict of str to list of str
        Known values of each tag column (sorted, so the order does not depend on row order).
    feature_names : list of str
        ``"column=value"`` for tags, then the numeric column names.

    Notes
    -----
    A missing value (NaN/None) gives no feature for that column; a tag value never seen
    in ``fit`` is ignored with a :class:`~recsys.exceptions.RecsysWarning`.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"user_id": ["u1", "u2"], "age_band": ["25-34", "35-44"],
    ...                    "family": ["kids", None], "spend": [100.0, 300.0]})
    >>> enc = ProfileEncoder().fit(df)
    >>> enc.feature_names
    ['age_band=25-34', 'age_band=35-44', 'family=kids', 'spend']
    >>> enc.transform(df).toarray().tolist()
    [[1.0, 0.0, 1.0, -1.0], [0.0, 1.0, 0.0, 1.0]]
    >>> enc.transform_one({"age_band": "25-34", "family": "kids"}).toarray().tolist()
    [[1.0, 0.0, 1.0, 0.0]]
    >>> enc.describe({"age_band": "25-34", "family": "kids"})
    ['25-34', 'kids']
    """

    def __init__(
        self,
        tag_columns: Sequence[str] | None = None,
        numeric_columns: Sequence[str] | None = None,
    ):
        self._tag_request = None if tag_columns is None else list(tag_columns)
        self._numeric_request = None if numeric_columns is None else list(numeric_columns)
        self.is_fitted_ = False

    # ------------------------------------------------------------------- fit
    def fit(self, profiles: Records) -> ProfileEncoder:
        """Learn the vocabulary and numeric scales from ``profiles``; returns ``self``.

        Raises
        ------
        SchemaError
            If a requested column is absent or a numeric column holds non-numbers.
        """
        df = _as_frame(profiles)
        candidates = [c for c in df.columns if c != Columns.USER]
        for req in (self._tag_request, self._numeric_request):
            absent = [c for c in (req or []) if c not in df.columns]
            if absent:
                raise SchemaError(f"profiles miss columns {absent} (has {list(df.columns)})")
        if self._tag_request is not None:
            tags = list(self._tag_request)
        else:
            skip = set(self._numeric_request or [])
            tags = [c for c in candidates if c not in skip and not _is_numeric(df[c])]
        if self._numeric_request is not None:
            numeric = list(self._numeric_request)
        else:
            numeric = [c for c in candidates if c not in tags and _is_numeric(df[c])]
        overlap = set(tags) & set(numeric)
        if overlap:
            raise InvalidInputError(f"columns {sorted(overlap)} are both tag and numeric")

        vocabulary: dict[str, list[str]] = {}
        for col in tags:
            values = df[col].dropna().unique()
            vocabulary[col] = sorted({_one_id(v) for v in values})
        means: list[float] = []
        scales: list[float] = []
        for col in numeric:
            x = self._numbers(df[col], col)
            finite = x[~np.isnan(x)]
            mean = float(finite.mean()) if finite.size else 0.0
            std = float(finite.std()) if finite.size else 0.0
            means.append(mean)
            scales.append(std if std > 0 else 1.0)  # a constant column stays at 0, not inf
        self._set_learned(tags, numeric, vocabulary, means, scales)
        return self

    def _set_learned(
        self,
        tags: list[str],
        numeric: list[str],
        vocabulary: dict[str, list[str]],
        means: list[float],
        scales: list[float],
    ) -> None:
        self.tag_columns = list(tags)
        self.numeric_columns = list(numeric)
        self.vocabulary = {c: list(vocabulary[c]) for c in tags}
        self.means_ = np.asarray(means, dtype=np.float64)
        self.scales_ = np.asarray(scales, dtype=np.float64)
        # column -> value -> feature number: the dict the per-request path uses
        self._index: dict[str, dict[str, int]] = {}
        names: list[str] = []
        for col in tags:
            self._index[col] = {v: len(names) + k for k, v in enumerate(self.vocabulary[col])}
            names.extend(f"{col}={v}" for v in self.vocabulary[col])
        self._numeric_offset = len(names)
        names.extend(numeric)
        self.feature_names = names
        self._tag_of_feature = [n.split("=", 1)[1] for n in names[: self._numeric_offset]]
        self.is_fitted_ = True

    def fit_transform(self, profiles: Records, users: IdMap | None = None) -> sp.csr_matrix:
        """:meth:`fit` then :meth:`transform`."""
        return self.fit(profiles).transform(profiles, users=users)

    @property
    def n_features(self) -> int:
        self._check_fitted()
        return len(self.feature_names)

    def _check_fitted(self) -> None:
        if not self.is_fitted_:
            raise NotFittedError("ProfileEncoder isn't fitted: call fit() first")

    @staticmethod
    def _numbers(col: pd.Series, name: str) -> np.ndarray:
        x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.isnan(x) & col.notna().to_numpy()
        if bad.any():
            examples = col[bad].astype(str).unique()[:5].tolist()
            raise SchemaError(f"profile column {name!r} must be numeric, got {examples}")
        return x

    # ------------------------------------------------------------- transform
    def transform(self, profiles: Records, users: IdMap | None = None) -> sp.csr_matrix:
        """Encode profiles into a sparse (n, n_features) float32 matrix.

        Parameters
        ----------
        profiles : DataFrame, dict or list of dicts
            Profile rows; absent columns and missing values give no feature.
        users : IdMap, optional
            If given, row ``i`` of the output is member ``i`` of ``users`` (members without a
            profile get an empty row) and ``profiles`` needs a ``user_id`` column; otherwise
            rows follow ``profiles``.

        Returns
        -------
        scipy.sparse.csr_matrix of float32

        Raises
        ------
        SchemaError
            Missing ``user_id`` / duplicate members when ``users`` is given, non-numeric values.
        UnknownIdError
            A profile's member is not in ``users``.
        """
        self._check_fitted()
        df = _as_frame(profiles)
        # the warnings are raised here, not in a helper, so that stacklevel=3 names the caller
        self._warn_unknown_columns(df.columns)
        entries, unseen = self._tag_entries(df)
        entries += self._numeric_entries(df)
        if unseen:
            self._warn_unseen(unseen)

        r, c, v = _stacked(entries)
        n_out = len(df)
        if users is not None:
            r = _member_rows(df, users, r)
            n_out = len(users)
        out = sp.csr_matrix(
            (v, (r, c)), shape=(n_out, len(self.feature_names)), dtype=np.float64
        ).astype(np.float32)
        out.sort_indices()
        return out

    def _tag_entries(self, df: pd.DataFrame) -> tuple[list[_Entries], dict[str, list[str]]]:
        """One-hot entries of the tag columns in ``df``, and the values never seen in ``fit``."""
        entries: list[_Entries] = []
        unseen: dict[str, list[str]] = {}
        for col in self.tag_columns:
            if col not in df.columns:
                continue
            codes, uniques = pd.factorize(df[col], use_na_sentinel=True)
            index = self._index[col]
            keys = [_one_id(u) for u in uniques]
            feat_of = np.array([index.get(k, -1) for k in keys] + [-1], dtype=np.int64)
            if (feat_of[:-1] < 0).any():
                unseen[col] = [k for k, f in zip(keys, feat_of[:-1].tolist(), strict=True) if f < 0]
            feat = feat_of[codes]  # missing (-1) picks the trailing -1
            hit = feat >= 0
            entries.append(
                (np.flatnonzero(hit), feat[hit], np.ones(int(hit.sum()), dtype=np.float64))
            )
        return entries, unseen

    def _numeric_entries(self, df: pd.DataFrame) -> list[_Entries]:
        """Standardized entries of the numeric columns in ``df`` (zeros and NaN left out)."""
        entries: list[_Entries] = []
        for j, col in enumerate(self.numeric_columns):
            if col not in df.columns:
                continue
            x = (self._numbers(df[col], col) - self.means_[j]) / self.scales_[j]
            hit = ~np.isnan(x) & (x != 0)
            feature = np.full(int(hit.sum()), self._numeric_offset + j, dtype=np.int64)
            entries.append((np.flatnonzero(hit), feature, x[hit]))
        return entries

    def readable(self, profile: Mapping[str, Any]) -> bool:
        """Whether any field of ``profile`` encodes to a feature (a tag value seen in fit, a
        number off the mean), i.e. :meth:`transform_one` gives a non-empty row. Quiet:
        unknown fields and values are not warned about here.

        Examples
        --------
        >>> import pandas as pd
        >>> enc = ProfileEncoder().fit(pd.DataFrame({"tier": ["gold", "silver"]}))
        >>> enc.readable({"tier": "gold"}), enc.readable({"tier": "bronze", "zzz": "1"})
        (True, False)
        """
        self._check_fitted()
        if not isinstance(profile, Mapping):
            raise InvalidInputError(f"profile must be a dict, got {type(profile).__name__}")
        for col in self.tag_columns:
            value = profile.get(col)
            if not _is_missing(value) and self._index[col].get(_one_id(value)) is not None:
                return True
        return bool(self._numbers_of(profile, strict=False))

    def _numbers_of(self, profile: Mapping[str, Any], strict: bool) -> list[tuple[int, float]]:
        """(feature, standardized value) of the profile's numeric fields off the mean; a
        value that is no number raises (``strict``) or is left out."""
        out = []
        for j, col in enumerate(self.numeric_columns):
            value = profile.get(col)
            if _is_missing(value):
                continue
            try:
                x = (float(value) - self.means_[j]) / self.scales_[j]  # type: ignore[arg-type]
            except (TypeError, ValueError) as exc:
                if not strict:
                    continue
                raise InvalidInputError(  # the value is the member's: not repeated
                    f"profile field {col!r} must be a number, got a {type(value).__name__}"
                ) from exc
            if x != 0 and math.isfinite(x):
                out.append((self._numeric_offset + j, x))
        return out

    def transform_one(self, profile: Mapping[str, Any]) -> sp.csr_matrix:
        """Encode one profile dict into a (1, n_features) row; the per-request fast path.

        Examples
        --------
        >>> import pandas as pd
        >>> enc = ProfileEncoder().fit(pd.DataFrame({"tier": ["gold", "silver"]}))
        >>> enc.transform_one({"tier": "gold"}).indices.tolist()
        [0]
        """
        self._check_fitted()
        if not isinstance(profile, Mapping):
            raise InvalidInputError(f"profile must be a dict, got {type(profile).__name__}")
        self._warn_unknown_columns(profile.keys())
        cols: list[int] = []
        vals: list[float] = []
        unseen: dict[str, list[str]] = {}
        for col in self.tag_columns:
            value = profile.get(col)
            if _is_missing(value):
                continue
            key = _one_id(value)
            feat = self._index[col].get(key)
            if feat is None:
                unseen[col] = [key]
                continue
            cols.append(feat)
            vals.append(1.0)
        for feat, x in self._numbers_of(profile, strict=True):
            cols.append(feat)
            vals.append(x)
        if unseen:
            self._warn_unseen(unseen)
        order = np.argsort(cols, kind="stable")
        return sp.csr_matrix(
            (
                np.asarray(vals, dtype=np.float32)[order],
                np.asarray(cols, dtype=np.int32)[order],
                np.array([0, len(cols)], dtype=np.int32),
            ),
            shape=(1, len(self.feature_names)),
        )

    def columns_of(self, fields: Iterable[str]) -> np.ndarray:
        """Feature columns of these profile fields: a tag's whole one-hot block, a number's
        one column (fields the encoder does not know have none); sorted.

        Examples
        --------
        >>> import pandas as pd
        >>> enc = ProfileEncoder().fit(pd.DataFrame({"tier": ["gold", "silver"], "age": [20, 40]}))
        >>> enc.feature_names, enc.columns_of(["tier"]).tolist(), enc.columns_of(["age"]).tolist()
        (['tier=gold', 'tier=silver', 'age'], [0, 1], [2])
        """
        self._check_fitted()
        wanted = set(fields)
        cols = [f for c in self.tag_columns if c in wanted for f in self._index[c].values()]
        cols += [
            self._numeric_offset + j for j, c in enumerate(self.numeric_columns) if c in wanted
        ]
        return np.sort(np.asarray(cols, dtype=np.int64))

    def unknown_fields(self, profile: Mapping[str, Any]) -> int:
        """How many fields of ``profile`` are neither a tag nor a number the encoder knows."""
        known = self._known_fields()
        return sum(1 for c in profile if c not in known)

    def _known_fields(self) -> set[str]:
        return {Columns.USER, *self.tag_columns, *self.numeric_columns}

    def describe(self, row_or_dict: Mapping[str, Any] | sp.spmatrix | np.ndarray) -> list[str]:
        """Readable tags of a member (for reasons), e.g. ``["25-34", "kids"]``.

        Parameters
        ----------
        row_or_dict : dict, sparse row or 1-D array
            A raw profile, or one encoded row (from :meth:`transform`).

        Returns
        -------
        list of str
            Known tag values in column order; unseen values and numeric columns are left out.
        """
        self._check_fitted()
        if isinstance(row_or_dict, Mapping):
            out = []
            for col in self.tag_columns:
                value = row_or_dict.get(col)
                if not _is_missing(value) and _one_id(value) in self._index[col]:
                    out.append(_one_id(value))
            return out
        if sp.issparse(row_or_dict):
            row = sp.csr_matrix(row_or_dict)
            if row.shape[0] != 1:
                raise InvalidInputError(f"describe() takes one row, got {row.shape[0]}")
            feats = np.sort(row.indices[row.data != 0])
        else:
            feats = np.flatnonzero(np.asarray(row_or_dict).reshape(-1))
        return self.tags_of_columns(feats)

    def tags_of_columns(self, columns: np.ndarray) -> list[str]:
        """Readable tags of sorted non-zero feature columns (numeric columns left out).

        Examples
        --------
        >>> import pandas as pd
        >>> enc = ProfileEncoder().fit(pd.DataFrame({"user_id": ["a"], "tier": ["gold"]}))
        >>> enc.tags_of_columns(enc.transform_one({"tier": "gold"}).indices)
        ['gold']
        """
        offset = self._numeric_offset
        names = self._tag_of_feature
        return [names[f] for f in np.asarray(columns).tolist() if f < offset]

    def tags_by_column(self, columns: np.ndarray) -> dict[str, str]:
        """Tag column -> value of sorted non-zero feature columns (numeric columns left out).

        Examples
        --------
        >>> import pandas as pd
        >>> enc = ProfileEncoder().fit(pd.DataFrame({"user_id": ["a"], "tier": ["gold"]}))
        >>> enc.tags_by_column(enc.transform_one({"tier": "gold"}).indices)
        {'tier': 'gold'}
        """
        names = self.feature_names
        out: dict[str, str] = {}
        for f in np.asarray(columns).tolist():
            if f < self._numeric_offset:
                column, _, value = names[f].partition("=")
                out[column] = value
        return out

    # ------------------------------------------------------------------ state
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable learned state (see :meth:`from_dict`)."""
        self._check_fitted()
        return {
            "tag_columns": self.tag_columns,
            "numeric_columns": self.numeric_columns,
            "vocabulary": self.vocabulary,
            "means": self.means_.tolist(),
            "scales": self.scales_.tolist(),
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> ProfileEncoder:
        """Rebuild a fitted encoder from :meth:`to_dict`.

        Examples
        --------
        >>> import pandas as pd
        >>> enc = ProfileEncoder().fit(pd.DataFrame({"tier": ["gold"], "age": [30.0]}))
        >>> ProfileEncoder.from_dict(enc.to_dict()).feature_names == enc.feature_names
        True
        """
        enc = cls(state["tag_columns"], state["numeric_columns"])
        enc._set_learned(
            list(state["tag_columns"]),
            list(state["numeric_columns"]),
            {k: list(v) for k, v in state["vocabulary"].items()},
            list(state["means"]),
            list(state["scales"]),
        )
        return enc

    # ----------------------------------------------------------------- warnings
    def _warn_unknown_columns(self, columns: Any) -> None:
        known = self._known_fields()
        extra = [c for c in columns if c not in known]
        if extra:  # not named: a client may send anything as a field name (an id, a card)
            names = sorted(known - {Columns.USER})
            close = sorted(
                {m for c in extra for m in difflib.get_close_matches(str(c), names, 1, 0.8)}
            )
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            warnings.warn(
                f"{len(extra)} profile field(s) not known to the encoder are ignored "
                f"(known: {names}){hint}",
                RecsysWarning,
                stacklevel=3,
            )

    @staticmethod
    def _warn_unseen(unseen: dict[str, list[str]]) -> None:
        # values are not repeated: a tag field misused for an id would leak it into logs
        detail = "; ".join(f"{c}: {len(v)} value(s)" for c, v in unseen.items())
        warnings.warn(
            f"profile tag values never seen in training are ignored ({detail})",
            RecsysWarning,
            stacklevel=3,
        )

    def __repr__(self) -> str:
        if not self.is_fitted_:
            return "ProfileEncoder(unfitted)"
        return (
            f"ProfileEncoder(tags={self.tag_columns}, numeric={self.numeric_columns}, "
            f"n_features={len(self.feature_names)})"
        )
