"""Column names shared by every layer: the schema of the DataFrames recsys reads.

Use these constants instead of string literals so a rename is one edit.
"""

from __future__ import annotations

from typing import Final


class Columns:
    """Names of the columns recsys expects in its input DataFrames."""

    # interactions
    USER: Final = "user_id"
    ITEM: Final = "item_id"
    KIND: Final = "kind"
    VALUE: Final = "value"
    TIMESTAMP: Final = "timestamp"
    STORE: Final = "store_id"
    EVENT_ID: Final = "event_id"
    # catalog
    CATEGORY: Final = "category"
    PRICE: Final = "price"
    SEASON: Final = "season"
    AVAILABLE_FROM: Final = "available_from"
    AVAILABLE_TO: Final = "available_to"
    NAME: Final = "name"
    TAGS: Final = "tags"
    GROUP: Final = "group_id"

    INTERACTIONS: Final = (USER, ITEM, KIND, VALUE, TIMESTAMP, STORE)
    INTERACTIONS_REQUIRED: Final = (USER, ITEM, KIND)
    CATALOG_REQUIRED: Final = (ITEM,)
    STORES_REQUIRED: Final = (STORE, ITEM)
    PROFILES_REQUIRED: Final = (USER,)


class EventKind:
    """Kinds of member events. ``view`` carries dwell seconds in ``value``."""

    PURCHASE: Final = "purchase"
    CART: Final = "cart"
    VIEW: Final = "view"
    COUPON: Final = "coupon"

    ALL: Final = (PURCHASE, CART, VIEW, COUPON)
