"""Loader of The Complete Journey (84.51°): a year of a grocer's baskets, 2,469 households."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from recsys.columns import Columns, EventKind
from recsys.datasets._bundle import (
    TIMESTAMP_DTYPE,
    CleaningLog,
    RetailData,
    constant_str,
    counts_report,
)
from recsys.datasets._paths import resolve_dataset_path

FOLDER = "completejourney"

# ids are read as integers (fast cleaning and joins) and turned into strings at the end
_TRANSACTION_DTYPES = {
    "household_id": "int64",
    "store_id": "int64",
    "basket_id": "int64",
    "product_id": "int64",
    "quantity": "int64",
    "sales_value": "float64",
    "retail_disc": "float64",
    "coupon_disc": "float64",
    "coupon_match_disc": "float64",
    "week": "int64",
    "transaction_timestamp": "datetime64[s]",
}
_PRODUCT_DTYPES = {
    "product_id": "int64",
    "manufacturer_id": "str",
    "department": "str",
    "brand": "str",
    "product_category": "str",
    "product_type": "str",
    "package_size": "str",
}
#: Profile tag columns, as in ``demographics.csv.gz`` (all ordered bands or labels).
PROFILE_TAGS: tuple[str, ...] = (
    "age",
    "income",
    "home_ownership",
    "marital_status",
    "household_size",
    "household_comp",
    "kids_count",
)
# lines that are not merchandise: fuel (quantity is in thousandths of a gallon) and coupons
_NON_MERCHANDISE_DEPARTMENTS = ("FUEL", "COUPON")
_NON_MERCHANDISE_TYPES = ("GASOLINE-REG UNLEADED",)


def load_complete_journey(path: str | os.PathLike[str] | None = None) -> RetailData:
    """Load and clean The Complete Journey transactions as a :class:`RetailData`.

    Every kept basket line is a ``purchase`` event with ``value`` = quantity, in the store
    where it was bought. Timestamps are the package's local wall-clock time (naive).

    Cleaning rules, applied in this order (``report["removed_<rule>"]`` counts the rows
    each one removed from what the previous rules kept):

    1. ``non_positive_quantity``: quantity <= 0 (8,869 lines have 0);
    2. ``missing_product``: product id absent from ``products.csv.gz``;
    3. ``non_merchandise``: fuel (department ``FUEL`` or gasoline, whose quantity counts
       thousandths of a gallon) and ``COUPON`` lines;
    4. ``duplicates``: exact duplicate lines (all 11 columns), the first one kept.

    Parameters
    ----------
    path : str or os.PathLike, optional
        The ``completejourney`` folder holding ``transactions.csv.gz``,
        ``products.csv.gz`` and ``demographics.csv.gz``. Default: that folder inside
        :func:`~recsys.datasets.shared_data_dir`.

    Returns
    -------
    RetailData
        ``interactions`` (ids are strings: ``household_id``, ``product_id``,
        ``store_id``), ``catalog`` of the SKUs sold (``category`` = ``product_category``,
        or ``department`` when empty; ``price`` = median unit sales value of the kept
        lines with a positive value; ``season`` = ``all``; ``name`` = ``product_type``;
        ``tags`` = ``department|brand``; plus ``department``, ``brand``,
        ``manufacturer_id`` and ``package_size``), ``stores`` (store x SKU sold there),
        ``profiles`` (the 801 profiled households: ``user_id`` and the tags ``age``,
        ``income``, ``home_ownership``, ``marital_status``, ``household_size``,
        ``household_comp``, ``kids_count``; missing = unknown) and ``report``.

    Raises
    ------
    FileNotFoundError
        If the folder or one of its files does not exist (or no path is given and there
        is no shared data folder).

    Examples
    --------
    >>> from recsys.datasets import load_complete_journey, shared_data_dir
    >>> if shared_data_dir() is not None:  # the public data is not shipped with recsys
    ...     data = load_complete_journey(shared_data_dir() / "completejourney")
    ...     assert data.report["read_members"] == 2469  # households in the file
    """
    folder = resolve_dataset_path(path, FOLDER)
    raw, products, demographics = _read(folder)
    read_counts = {
        "read_members": int(raw["household_id"].nunique()),
        "read_items": int(raw["product_id"].nunique()),
        "read_stores": int(raw["store_id"].nunique()),
    }
    log = _cleaned(raw, products)
    lines = log.result()
    interactions = _interactions(lines)
    catalog = _catalog(lines, products)
    stores = _stores(lines)
    profiles = _profiles(demographics)

    report = dict(log.report)
    report.update(read_counts)
    report.update(counts_report(interactions, catalog, stores, profiles))
    return RetailData(interactions, catalog, stores, profiles, report, name="complete-journey")


def _read(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(transactions, products sorted by id without repeats, demographics) of the folder."""
    files = {
        name: folder / f"{name}.csv.gz" for name in ("transactions", "products", "demographics")
    }
    for file in files.values():
        if not file.exists():
            raise FileNotFoundError(f"{str(file)!r} does not exist")
    raw = pd.read_csv(files["transactions"], dtype=_TRANSACTION_DTYPES, engine="pyarrow")
    products = pd.read_csv(files["products"], dtype=_PRODUCT_DTYPES, engine="pyarrow")
    demographics = pd.read_csv(
        files["demographics"],
        dtype={"household_id": "str"} | dict.fromkeys(PROFILE_TAGS, "str"),
        engine="pyarrow",
    )
    products = products.drop_duplicates("product_id").sort_values("product_id", ignore_index=True)
    return raw, products, demographics


def _cleaned(raw: pd.DataFrame, products: pd.DataFrame) -> CleaningLog:
    """The cleaning rules of :func:`load_complete_journey` applied to ``raw``, in order."""
    # row of each line's product in `products` (-1 = unknown product)
    product_ids = products["product_id"].to_numpy()
    pos = np.searchsorted(product_ids, raw["product_id"].to_numpy())
    pos = np.minimum(pos, len(product_ids) - 1)
    product_row = np.where(product_ids[pos] == raw["product_id"].to_numpy(), pos, -1)
    known = product_row >= 0
    product_is_other = (
        products["department"].isin(_NON_MERCHANDISE_DEPARTMENTS)
        | products["product_type"].isin(_NON_MERCHANDISE_TYPES)
    ).to_numpy()
    non_merchandise = known & product_is_other[product_row]

    log = CleaningLog(raw)
    log.drop("non_positive_quantity", raw["quantity"] <= 0)
    log.drop("missing_product", ~known)
    log.drop("non_merchandise", non_merchandise)
    log.drop_duplicates("duplicates")
    return log


def _interactions(lines: pd.DataFrame) -> pd.DataFrame:
    """One ``purchase`` event per kept line, ids as strings."""
    return pd.DataFrame(
        {
            Columns.USER: lines["household_id"].astype("str"),
            Columns.ITEM: lines["product_id"].astype("str"),
            Columns.KIND: constant_str(EventKind.PURCHASE, len(lines)),
            Columns.VALUE: lines["quantity"].astype(np.float64),
            Columns.TIMESTAMP: lines["transaction_timestamp"].astype(TIMESTAMP_DTYPE),
            Columns.STORE: lines["store_id"].astype("str"),
        }
    )


def _stores(lines: pd.DataFrame) -> pd.DataFrame:
    """Store x SKU pairs sold there, sorted by store then SKU."""
    pairs = (
        lines[["store_id", "product_id"]]
        .drop_duplicates()
        .sort_values(["store_id", "product_id"], ignore_index=True)
    )
    return pd.DataFrame(
        {
            Columns.STORE: pairs["store_id"].astype("str"),
            Columns.ITEM: pairs["product_id"].astype("str"),
        }
    )


def _profiles(demographics: pd.DataFrame) -> pd.DataFrame:
    """``user_id`` and the :data:`PROFILE_TAGS`, one row per household."""
    profiles = demographics.rename(columns={"household_id": Columns.USER})[
        [Columns.USER, *PROFILE_TAGS]
    ].astype("str")
    return profiles.drop_duplicates(Columns.USER, ignore_index=True)


def _catalog(lines: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    positive = lines["sales_value"] > 0
    unit_value = (lines["sales_value"] / lines["quantity"]).where(positive)
    price = unit_value.groupby(lines["product_id"], sort=True).median()
    sold = products.set_index("product_id").reindex(price.index)
    item_ids = pd.Series(price.index.astype("str"), index=price.index)
    category = sold["product_category"].fillna(sold["department"])
    name = sold["product_type"].fillna(category).fillna(item_ids)
    tags = (
        sold["department"].fillna("").str.replace("|", "/", regex=False)
        + "|"
        + sold["brand"].fillna("").str.replace("|", "/", regex=False)
    ).str.strip("|")
    frame = pd.DataFrame(
        {
            Columns.ITEM: item_ids.to_numpy(),
            Columns.CATEGORY: category.to_numpy(),
            Columns.PRICE: price.to_numpy(dtype=np.float64),
            Columns.SEASON: "all",
            Columns.NAME: name.to_numpy(),
            Columns.TAGS: tags.to_numpy(),
            "department": sold["department"].to_numpy(),
            "brand": sold["brand"].to_numpy(),
            "manufacturer_id": sold["manufacturer_id"].to_numpy(),
            "package_size": sold["package_size"].to_numpy(),
        }
    )
    return frame.astype({c: "str" for c in frame.columns if c != Columns.PRICE})
