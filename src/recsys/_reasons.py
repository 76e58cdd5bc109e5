"""Reasons a shop assistant can say out loud, one per shelf item.

In order of preference: the SKU is new (nobody bought it at training time); it sits close,
in the model's item space, to something the member bought or looked at ("goes with the
slim jeans you bought"); it shares a category the member keeps choosing; it is popular with
members who share this member's tags; it is popular in the store.
"""

from __future__ import annotations

import numpy as np

from recsys.data import Catalog

#: cosine similarity above which "goes with X" is said rather than a generic reason
SIMILARITY_FOR_REASON = 0.25


class ReasonBuilder:
    """Builds reasons from catalog names, item vectors and the member's history."""

    def __init__(
        self,
        catalog: Catalog,
        item_vectors: np.ndarray | None,
        item_interactions: np.ndarray,
    ) -> None:
        self._names = np.asarray(catalog.names, dtype=object)
        self._category_names = np.asarray(catalog.categories, dtype=object)
        self._codes = np.asarray(catalog.category_codes)
        self._new = np.asarray(item_interactions) == 0
        self._unit = None
        if item_vectors is not None:
            norms = np.linalg.norm(item_vectors, axis=1, keepdims=True)
            self._unit = (item_vectors / np.maximum(norms, 1e-12)).astype(np.float32)

    def category(self, item: int) -> str:
        return str(self._category_names[self._codes[item]]) if len(self._category_names) else ""

    def reasons(
        self,
        items: np.ndarray,
        history: np.ndarray,
        bought: np.ndarray,
        tags: list[str] | None,
        in_store: bool,
    ) -> list[str]:
        """One reason per recommended SKU.

        Parameters
        ----------
        items : ndarray of int
            Recommended SKU ids.
        history : ndarray of int
            SKU ids in the member's history (bought, carted or viewed).
        bought : ndarray of int
            Sorted SKU ids the member bought.
        tags : list of str or None
            The member's readable profile tags.
        in_store : bool
            Whether the shelf is for a store.
        """
        items = np.asarray(items, dtype=np.int64)
        out = ["" for _ in range(len(items))]
        best = np.full(len(items), -1, dtype=np.int64)
        if len(history) and self._unit is not None:
            sims = self._unit[items] @ self._unit[history].T
            sims[items[:, None] == history[None, :]] = -1.0
            arg = sims.argmax(axis=1)
            hit = sims[np.arange(len(items)), arg] >= SIMILARITY_FOR_REASON
            best[hit] = history[arg[hit]]
        history_codes = set(self._codes[history].tolist()) if len(history) else set()
        for j, item in enumerate(items.tolist()):
            if self._new[item]:
                out[j] = "new in your store" if in_store else "new in the collection"
            elif best[j] >= 0:
                ref = int(best[j])
                verb = (
                    "bought"
                    if np.searchsorted(bought, ref) < len(bought)
                    and bought[np.searchsorted(bought, ref)] == ref
                    else "looked at"
                )
                out[j] = f"goes with the {self._names[ref]} you {verb}"
            elif self._codes[item] in history_codes:
                out[j] = f"you often choose {self.category(item)}"
            elif tags:
                out[j] = "popular with members like you: " + ", ".join(tags)
            else:
                out[j] = "popular in this store" if in_store else "popular right now"
        return out
