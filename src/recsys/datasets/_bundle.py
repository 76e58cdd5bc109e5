"""The :class:`RetailData` bundle every dataset function returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from recsys.columns import Columns

#: dtype of every timestamp column the dataset functions produce (naive local time).
TIMESTAMP_DTYPE: Final = "datetime64[ns]"


@dataclass(frozen=True, eq=False, repr=False)
class RetailData:
    """A retail data set as four DataFrames plus a cleaning report.

    The frames are ready for :meth:`recsys.data.RetailDataset.build` and
    :meth:`recsys.Recommender.fit`. Every id (member, SKU, store) is a string.

    Attributes
    ----------
    interactions : pandas.DataFrame
        One row per event, columns :data:`Columns.INTERACTIONS <recsys.columns.Columns>`:
        ``user_id`` (str), ``item_id`` (str), ``kind`` (str, one of
        :class:`~recsys.columns.EventKind`), ``value`` (float64: quantity for purchases,
        dwell seconds for views, 1 for cart adds and coupons), ``timestamp``
        (``datetime64[ns]``, naive local time) and ``store_id`` (str).
    catalog : pandas.DataFrame
        One row per SKU: ``item_id``, ``category``, ``price`` (float64, NaN = unknown),
        ``season`` (``spring``, ``summer``, ``autumn``, ``winter`` or ``all``), ``name``,
        ``tags`` (``|``-separated labels) and data-set specific extra columns.
    stores : pandas.DataFrame
        The assortment: one row per (``store_id``, ``item_id``) pair a store stocks.
    profiles : pandas.DataFrame
        One row per profiled member: ``user_id`` and one column per tag (str; missing = unknown).
    report : dict of str to int
        ``rows_read``, then ``removed_<rule>`` for each cleaning rule in the order they were
        applied (rows that rule removed from what the earlier rules kept), then for real
        data ``read_members``, ``read_items``, ``read_stores`` (distinct ids in the raw
        file), then the ``n_*`` counts of what was kept (``n_interactions``, ``n_members``,
        ``n_members_with_events``, ``n_items``, ``n_stores``, ``n_assortment_rows``,
        ``n_profiles``; the synthetic data adds ``n_<kind>`` per event kind).

    Examples
    --------
    >>> from recsys.datasets import synthetic_retail
    >>> data = synthetic_retail(n_users=200, n_items=300, n_stores=4, items_per_store=(100, 150))
    >>> data.report["n_members"], data.report["n_items"], data.report["n_stores"]
    (200, 300, 4)
    >>> print(data.summary().splitlines()[0])
    RetailData 'synthetic'
    """

    interactions: pd.DataFrame
    catalog: pd.DataFrame
    stores: pd.DataFrame
    profiles: pd.DataFrame
    report: dict[str, int] = field(default_factory=dict)
    name: str = "retail"
    """Short label of the source (``"synthetic"``, ``"online-retail"``, ``"complete-journey"``)."""

    @property
    def n_members(self) -> int:
        """Distinct members in ``interactions`` or ``profiles``."""
        users = pd.concat([self.interactions[Columns.USER], self.profiles[Columns.USER]])
        return int(users.nunique())

    @property
    def n_items(self) -> int:
        """SKUs in the catalog."""
        return len(self.catalog)

    @property
    def n_stores(self) -> int:
        """Stores with an assortment."""
        return int(self.stores[Columns.STORE].nunique())

    def summary(self) -> str:
        """Describe the data set in a few readable lines: sizes, event kinds, time range, report.

        Returns
        -------
        str
            A multi-line text, for logs and notebooks.

        Examples
        --------
        >>> from recsys.datasets import synthetic_retail
        >>> data = synthetic_retail(n_users=100, n_items=200, n_stores=2, items_per_store=(80, 90))
        >>> "interactions" in data.summary()
        True
        """
        inter = self.interactions
        lines = [f"RetailData {self.name!r}"]
        kinds = inter[Columns.KIND].value_counts()
        kinds_text = ", ".join(f"{k} {v:,}" for k, v in kinds.items())
        lines.append(f"  interactions: {len(inter):,} rows ({kinds_text})")
        n_active = inter[Columns.USER].nunique()
        per_member = len(inter) / n_active if n_active else 0.0
        lines.append(
            f"  members: {self.n_members:,} ({n_active:,} with events, "
            f"{per_member:.1f} events each); profiles: {len(self.profiles):,}"
        )
        n_cat = self.catalog[Columns.CATEGORY].nunique() if Columns.CATEGORY in self.catalog else 0
        lines.append(f"  SKUs: {self.n_items:,} in {n_cat:,} categories")
        sizes = self.stores.groupby(Columns.STORE, sort=False).size()
        if len(sizes):
            low, high = int(sizes.min()), int(sizes.max())
            lines.append(f"  stores: {len(sizes):,} (assortment {low:,}-{high:,} SKUs)")
        if len(inter):
            ts = inter[Columns.TIMESTAMP]
            lines.append(f"  time: {ts.min()} to {ts.max()}")
        removed = {k: v for k, v in self.report.items() if k.startswith("removed_")}
        if removed:
            lines.append(f"  cleaning (rows read {self.report.get('rows_read', 0):,}):")
            lines.extend(f"    {k[len('removed_') :]}: {v:,}" for k, v in removed.items())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"RetailData(name={self.name!r}, interactions={len(self.interactions):,}, "
            f"members={self.n_members:,}, items={self.n_items:,}, stores={self.n_stores:,}, "
            f"profiles={len(self.profiles):,})"
        )


def counts_report(
    interactions: pd.DataFrame,
    catalog: pd.DataFrame,
    stores: pd.DataFrame,
    profiles: pd.DataFrame,
) -> dict[str, int]:
    """The ``n_*`` entries of a :attr:`RetailData.report`."""
    members = pd.concat([interactions[Columns.USER], profiles[Columns.USER]]).nunique()
    return {
        "n_interactions": len(interactions),
        "n_members": int(members),
        "n_members_with_events": int(interactions[Columns.USER].nunique()),
        "n_items": len(catalog),
        "n_stores": int(stores[Columns.STORE].nunique()),
        "n_assortment_rows": len(stores),
        "n_profiles": len(profiles),
    }


class CleaningLog:
    """Apply cleaning rules in order to a frame and count the rows each one removes.

    Each rule only counts rows still kept, so the ``removed_*`` counts add up to
    ``rows_read`` minus the rows kept.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.keep = np.ones(len(frame), dtype=bool)
        self.report: dict[str, int] = {"rows_read": len(frame)}

    def drop(self, rule: str, mask: pd.Series | np.ndarray) -> None:
        """Remove the kept rows where ``mask`` is True (NA counts as False)."""
        hit = np.asarray(pd.Series(mask).fillna(False), dtype=bool) & self.keep
        self.report[f"removed_{rule}"] = int(hit.sum())
        self.keep &= ~hit

    def drop_duplicates(self, rule: str = "duplicates") -> None:
        """Remove exact duplicate lines (all columns) among the kept rows, keeping the first."""
        kept = np.flatnonzero(self.keep)
        frame = self.frame.iloc[kept]
        # equal rows have equal hashes: compare exactly only the rows whose hash repeats
        hashes = pd.util.hash_pandas_object(frame, index=False)
        candidates = hashes.duplicated(keep=False).to_numpy()
        dup = np.zeros(len(kept), dtype=bool)
        if candidates.any():
            dup[candidates] = frame.iloc[candidates].duplicated(keep="first").to_numpy()
        self.report[f"removed_{rule}"] = int(dup.sum())
        self.keep[kept[dup]] = False

    def result(self) -> pd.DataFrame:
        """The kept rows, with a fresh index."""
        return self.frame.loc[self.keep].reset_index(drop=True)


def constant_str(value: str, n: int) -> pd.Series:
    """A ``str`` Series of ``n`` times ``value`` (without building ``n`` Python objects)."""
    return pd.Series([value], dtype="str").repeat(n).reset_index(drop=True)
