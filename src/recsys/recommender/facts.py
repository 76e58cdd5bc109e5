"""Facts about members and SKUs a page shows: tags, names, categories, prices.

A mixin of :class:`recsys.Recommender`: the methods read its fitted state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from recsys.data.catalog import Catalog
from recsys.exceptions import UnknownIdError
from recsys.recommender.state import ShelfState

__all__ = ["Facts"]


class Facts:
    """What the smart screen and the shop assistant show beside a shelf."""

    def _fitted(self) -> ShelfState:  # the facade's
        raise NotImplementedError

    def item_prices(self) -> pd.Series:
        """Every SKU's price (NaN where the catalog has none), indexed by SKU id.

        Examples
        --------
        >>> from recsys import Recommender
        >>> from recsys.datasets import synthetic_retail
        >>> data = synthetic_retail(n_users=300, n_items=200, n_stores=2, seed=0)
        >>> rec = Recommender(model="als", factors=8, iterations=3).fit(data)
        >>> sku = data.catalog.item_id.iloc[0]
        >>> bool(abs(rec.item_prices()[sku] - data.catalog.price.iloc[0]) < 1e-3)
        True
        """
        state = self._fitted()
        prices = np.asarray(state.dataset.catalog.prices, dtype=np.float64)
        return pd.Series(prices, index=state.item_names[: len(prices)], name="price")

    def item_details(self, item_ids: Sequence[str]) -> list[dict[str, Any]]:
        """What a page shows of SKUs: ``name``, ``category`` and ``price`` (``None`` where the
        catalog has none), in the order given; an unknown SKU gets ``None`` for all three.

        Examples
        --------
        >>> from recsys import Recommender
        >>> from recsys.datasets import synthetic_retail
        >>> data = synthetic_retail(n_users=300, n_items=200, n_stores=2, seed=0)
        >>> rec = Recommender(model="als", factors=8, iterations=3).fit(data)
        >>> sku = data.catalog.item_id.iloc[0]
        >>> rec.item_details([sku])[0]["name"] == data.catalog.name.iloc[0]
        True
        """
        catalog = self._fitted().dataset.catalog
        cached: tuple[Catalog, dict[str, dict[str, Any]]] | None = self.__dict__.get("_details")
        if cached is None or cached[0] is not catalog:  # a new or changed catalog
            cached = (catalog, {})
            self.__dict__["_details"] = cached
        known = cached[1]
        out: list[dict[str, Any]] = []
        for item_id in item_ids:
            details = known.get(item_id) if isinstance(item_id, str) else None
            if details is None:  # any other value is checked by the catalog's id map
                details = _details_of(catalog, item_id)
                if details["name"] is not None or details["category"] is not None:
                    known[item_id] = details  # SKUs of the catalog only: a bounded cache
            out.append(dict(details))
        return out

    def profile_of(self, member_id: str) -> dict[str, str]:
        """A member's tags by column, as the model holds them now (``{}`` when unknown).

        Examples
        --------
        >>> from recsys import Recommender
        >>> from recsys.datasets import synthetic_retail
        >>> data = synthetic_retail(n_users=300, n_items=200, n_stores=2, seed=0)
        >>> rec = Recommender(model="als", factors=8, iterations=3).fit(data)
        >>> rec.set_profiles({"qr-7": {"age_band": "25-34"}})
        1
        >>> rec.profile_of("qr-7")
        {'age_band': '25-34'}
        """
        state = self._fitted()
        u = state.members.index_of(member_id)
        if u < 0:
            return {}
        encoder = state.dataset.profile_encoder
        if encoder is None:
            return {}
        return encoder.tags_by_column(state.members.feature_columns(u))


def _details_of(catalog: Catalog, item_id: str) -> dict[str, Any]:
    """``name``, ``category`` and ``price`` of one SKU (``None`` for all three if unknown)."""
    try:
        i = catalog.items.index_of(item_id)
    except UnknownIdError:
        i = -1
    if i < 0 or i >= len(catalog.prices):
        return {"name": None, "category": None, "price": None}
    raw = catalog.names[i]
    code = int(catalog.category_codes[i])
    price = float(catalog.prices[i])
    return {
        "name": raw if isinstance(raw, str) and raw else None,
        "category": str(catalog.categories[code]) if code >= 0 else None,
        "price": None if np.isnan(price) else round(price, 2),
    }
