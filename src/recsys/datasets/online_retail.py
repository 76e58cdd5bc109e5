"""Loader of the UCI Online Retail data set (a UK gift-ware web shop, 2010-12 to 2011-12)."""

from __future__ import annotations

import os
import re

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

FOLDER = "uci-online-retail"
FILE = "online_retail.csv.gz"

_DTYPES = {
    "InvoiceNo": "str",
    "StockCode": "str",
    "Description": "str",
    "Quantity": "int64",
    "InvoiceDate": "datetime64[s]",
    "UnitPrice": "float64",
    "CustomerID": "str",  # integers in the file, kept as their digits: "17850"
    "Country": "str",
}
# Product codes are 5 digits, sometimes followed by letters (85123A); everything else
# (POST, DOT, M, C2, BANK CHARGES, AMAZONFEE, DCGS..., gift_0001_...) is a fee or an adjustment.
_PRODUCT_CODE = r"^\d{5}[A-Za-z]*$"

# coarse category from keywords of the description, first match wins
_CATEGORY_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("christmas", ("CHRISTMAS", "XMAS", "ADVENT", "SANTA", "REINDEER", "SNOWMAN", "NOEL")),
    ("bags", ("BAG", "HANDBAG", "WASHBAG", "PURSE", "TOTE", "SHOPPER", "RUCKSACK", "WALLET")),
    (
        "textiles",
        ("CUSHION", "TOWEL", "BLANKET", "THROW", "HOT WATER BOTTLE", "APRON", "QUILT", "DOORMAT"),
    ),
    (
        "lights & candles",
        ("LIGHT", "LANTERN", "CANDLE", "CANDLEPOT", "LAMP", "T-LIGHT", "TEALIGHT", "MATCHES"),
    ),
    (
        "jewellery & accessories",
        (
            "NECKLACE",
            "BRACELET",
            "EARRING",
            "RING",
            "HAIR",
            "CHARM",
            "BEAD",
            "DIAMANTE",
            "BROOCH",
            "JEWEL",
            "JEWELLERY",
            "JEWELLED",
            "KEY-CHAIN",
            "SLIPPER",
            "SCARF",
            "GLOVE",
            "UMBRELLA",
            "KEYRING",
        ),
    ),
    (
        "kitchen & dining",
        (
            "MUG",
            "CUP",
            "SAUCER",
            "PLATE",
            "BOWL",
            "JUG",
            "TEAPOT",
            "TEA",
            "CAKE",
            "CAKESTAND",
            "BAKING",
            "LUNCH",
            "BOTTLE",
            "SPOON",
            "NAPKIN",
            "JAR",
            "TRAY",
            "CUTLERY",
            "COASTER",
            "COFFEE",
            "RECIPE",
            "KITCHEN",
            "GLASS",
            "TUMBLER",
            "TIN",
            "CHOPSTICK",
            "PANTRY",
            "JELLY",
            "BISCUIT",
            "STRAW",
            "PICNIC",
            "EGG",
        ),
    ),
    (
        "stationery & cards",
        (
            "CARD",
            "WRAP",
            "PAPER",
            "NOTEBOOK",
            "PENCIL",
            "PEN",
            "STICKER",
            "CALENDAR",
            "ENVELOPE",
            "TAPE",
            "BOOK",
            "DIARY",
            "ERASER",
            "STAMP",
            "TAG",
        ),
    ),
    (
        "party",
        ("PARTY", "BUNTING", "BIRTHDAY", "CONFETTI", "BALLOON", "GARLAND", "CRACKER", "RIBBON"),
    ),
    (
        "toys & games",
        (
            "TOY",
            "GAME",
            "DOLL",
            "PUZZLE",
            "SPACEBOY",
            "DOMINO",
            "SKITTLES",
            "PLAYHOUSE",
            "JIGSAW",
            "CHILDREN",
            "CHILDS",
            "KIDS",
            "BABY",
            "TEDDY",
            "CRAYON",
            "SOLDIER",
        ),
    ),
    ("garden", ("GARDEN", "PLANT", "FLOWER POT", "WATERING", "BIRD", "HERB", "SEED", "TRELLIS")),
    (
        "home decor",
        (
            "SIGN",
            "FRAME",
            "PHOTOFRAME",
            "FLOWER",
            "MAT",
            "CLOCK",
            "MIRROR",
            "HANGER",
            "HOOK",
            "VASE",
            "ORNAMENT",
            "DECORATION",
            "HEART",
            "WALL",
            "DOOR",
            "DRAWER",
            "CABINET",
            "BOX",
            "HOLDER",
            "STORAGE",
            "BASKET",
            "WREATH",
            "BELL",
            "SHELF",
        ),
    ),
)
#: Category of SKUs whose description matches no keyword.
OTHER_CATEGORY = "other"
_TAG_WORDS = (
    "RED",
    "PINK",
    "BLUE",
    "GREEN",
    "WHITE",
    "BLACK",
    "IVORY",
    "CREAM",
    "GOLD",
    "SILVER",
    "VINTAGE",
    "RETRO",
    "FLORAL",
    "POLKADOT",
    "HEART",
    "CHRISTMAS",
)


def load_online_retail(path: str | os.PathLike[str] | None = None) -> RetailData:
    """Load and clean the UCI Online Retail transactions as a :class:`RetailData`.

    The shop has no physical stores: **the customer's country is used as the store**
    (``store_id`` = ``Country``, e.g. ``"United Kingdom"``), so the assortment of a "store"
    is every SKU sold to that country. Every kept line is a ``purchase`` event with
    ``value`` = quantity.

    Cleaning rules, applied in this order (``report["removed_<rule>"]`` counts the rows
    each one removed from what the previous rules kept):

    1. ``cancellations``: invoice number starting with ``C`` (9,288 rows);
    2. ``adjustments``: invoice number starting with ``A`` (bad-debt adjustments);
    3. ``non_positive_quantity``: quantity <= 0 (returns and stock corrections);
    4. ``missing_customer``: no ``CustomerID`` (guest checkouts);
    5. ``non_product_codes``: stock codes that are not 5 digits + optional letters
       (``POST``, ``DOT``, ``M``, ``C2``, ``BANK CHARGES``, ``PADS`` ...);
    6. ``non_positive_price``: unit price <= 0 (free samples, corrections);
    7. ``duplicates``: exact duplicate lines (all 8 columns), the first one kept.

    Parameters
    ----------
    path : str or os.PathLike, optional
        The ``uci-online-retail`` folder (or the ``online_retail.csv.gz`` file itself).
        Default: that folder inside :func:`~recsys.datasets.shared_data_dir`.

    Returns
    -------
    RetailData
        ``interactions`` (one purchase per kept line; ids are strings: ``CustomerID``
        digits, ``StockCode``, ``Country``), ``catalog`` (``item_id``, ``category``:
        a coarse category from keywords of the description, ``price``: median unit
        price in GBP, ``season`` = ``all``, ``name``: the most frequent description,
        ``tags``: colour and style words of the description), ``stores`` (country x
        SKU sold there), ``profiles`` (``user_id``, ``country``: the country of most of
        the customer's lines) and ``report``.

    Raises
    ------
    FileNotFoundError
        If the folder or the file does not exist (or no path is given and there is no
        shared data folder).

    Examples
    --------
    >>> from recsys.datasets import load_online_retail, shared_data_dir
    >>> if shared_data_dir() is not None:  # the public data is not shipped with recsys
    ...     data = load_online_retail(shared_data_dir() / "uci-online-retail")
    ...     assert data.report["removed_cancellations"] == 9288
    """
    folder = resolve_dataset_path(path, FOLDER)
    file = folder if folder.is_file() else folder / FILE
    if not file.exists():
        raise FileNotFoundError(f"{str(file)!r} does not exist")
    raw = pd.read_csv(file, dtype=_DTYPES, engine="pyarrow")

    read_counts = {
        "read_members": int(raw["CustomerID"].nunique()),
        "read_items": int(raw["StockCode"].nunique()),
        "read_stores": int(raw["Country"].nunique()),
    }
    log = _cleaned(raw)
    lines = log.result()
    interactions = _interactions(lines)
    catalog = _catalog(lines)
    stores = (
        interactions[[Columns.STORE, Columns.ITEM]]
        .drop_duplicates()
        .sort_values([Columns.STORE, Columns.ITEM], ignore_index=True)
    )
    profiles = _profiles(lines)

    report = dict(log.report)
    report.update(read_counts)
    report.update(counts_report(interactions, catalog, stores, profiles))
    return RetailData(interactions, catalog, stores, profiles, report, name="online-retail")


def _cleaned(raw: pd.DataFrame) -> CleaningLog:
    """The cleaning rules of :func:`load_online_retail` applied to ``raw``, in order."""
    log = CleaningLog(raw)
    invoice = raw["InvoiceNo"]
    log.drop("cancellations", invoice.str.startswith("C"))
    log.drop("adjustments", invoice.str.startswith("A"))
    log.drop("non_positive_quantity", raw["Quantity"] <= 0)
    log.drop("missing_customer", raw["CustomerID"].isna())
    log.drop("non_product_codes", ~raw["StockCode"].str.match(_PRODUCT_CODE))
    log.drop("non_positive_price", raw["UnitPrice"] <= 0)
    log.drop_duplicates("duplicates")
    return log


def _interactions(lines: pd.DataFrame) -> pd.DataFrame:
    """One ``purchase`` event per kept line; the country is the store."""
    return pd.DataFrame(
        {
            Columns.USER: lines["CustomerID"],
            Columns.ITEM: lines["StockCode"],
            Columns.KIND: constant_str(EventKind.PURCHASE, len(lines)),
            Columns.VALUE: lines["Quantity"].astype(np.float64),
            Columns.TIMESTAMP: lines["InvoiceDate"].astype(TIMESTAMP_DTYPE),
            Columns.STORE: lines["Country"],
        }
    )


def _catalog(lines: pd.DataFrame) -> pd.DataFrame:
    by_code = lines.groupby("StockCode", sort=True)
    price = by_code["UnitPrice"].median()
    # most frequent description per code (ties: alphabetical), the code itself if none
    counts = (
        lines.groupby(["StockCode", "Description"], sort=True)
        .size()
        .rename("n")
        .reset_index()
        .sort_values(["StockCode", "n"], ascending=[True, False], kind="stable")
        .drop_duplicates("StockCode")
        .set_index("StockCode")["Description"]
    )
    names = counts.reindex(price.index)
    names = names.fillna(pd.Series(price.index, index=price.index)).str.strip()
    upper = names.str.upper()
    return pd.DataFrame(
        {
            Columns.ITEM: pd.Series(price.index, dtype="str"),
            Columns.CATEGORY: _categories(upper).to_numpy(),
            Columns.PRICE: price.to_numpy(dtype=np.float64),
            Columns.SEASON: "all",
            Columns.NAME: names.to_numpy(),
            Columns.TAGS: _tags(upper).to_numpy(),
        }
    ).astype({Columns.SEASON: "str", Columns.NAME: "str", Columns.TAGS: "str"})


def _keyword_pattern(words: tuple[str, ...], capture: bool = False) -> str:
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    group = "(" if capture else "(?:"
    return rf"\b{group}{alternatives})S?\b"


def _categories(upper_names: pd.Series) -> pd.Series:
    category = pd.Series(OTHER_CATEGORY, index=upper_names.index, dtype="str")
    unset = np.ones(len(upper_names), dtype=bool)
    for label, words in _CATEGORY_KEYWORDS:
        hit = upper_names.str.contains(_keyword_pattern(words), regex=True).to_numpy() & unset
        category[hit] = label
        unset &= ~hit
    return category


def _tags(upper_names: pd.Series) -> pd.Series:
    found = upper_names.str.findall(_keyword_pattern(_TAG_WORDS, capture=True))
    return found.map(lambda words: "|".join(dict.fromkeys(w.lower() for w in words)))


def _profiles(lines: pd.DataFrame) -> pd.DataFrame:
    # a few customers order from two countries: keep the one with most lines
    country = (
        lines.groupby(["CustomerID", "Country"], sort=True)
        .size()
        .rename("n")
        .reset_index()
        .sort_values(["CustomerID", "n"], ascending=[True, False], kind="stable")
        .drop_duplicates("CustomerID")
    )
    return pd.DataFrame(
        {
            Columns.USER: country["CustomerID"].to_numpy(),
            "country": country["Country"].to_numpy(),
        }
    ).astype("str")
