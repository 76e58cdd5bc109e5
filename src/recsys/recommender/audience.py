"""Members by vector, for ``audience``: a FAISS index over member vectors, rebuilt when stale.

Live events move member vectors, so the index is rebuilt on the first audience after a
change (the member state's ``version`` says when); shelves never pay for it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np

from recsys.index import VectorIndex
from recsys.recommender.members import MemberState

if TYPE_CHECKING:
    from recsys.recommender.state import ShelfState

__all__ = ["AudienceIndex", "audience_reasons"]


class AudienceIndex:
    """An exact FAISS index over every member's current vector, built on demand."""

    def __init__(self, members: MemberState) -> None:
        self._members = members
        self._lock = threading.Lock()
        self._index: VectorIndex | None = None
        self._version = -1

    def index(self) -> VectorIndex:
        """The index of the members' vectors as they are now."""
        with self._lock:
            version = self._members.version
            if self._index is None or version != self._version:
                self._index = VectorIndex(kind="exact").build(self._members.all_vectors())
                self._version = version
            return self._index


def audience_reasons(state: ShelfState, item: int, members: np.ndarray) -> list[str]:
    """Why each member is in the SKU's audience, for the marketer: how many SKUs of its
    category they bought, or that members like them bought it."""
    catalog = state.dataset.catalog
    codes = catalog.category_codes
    code = int(codes[item])
    name = str(catalog.categories[code]) if code >= 0 else ""
    out = []
    for u in np.asarray(members).tolist():
        bought = state.members.bought(u)
        n = int((codes[bought[bought < len(codes)]] == code).sum()) if code >= 0 else 0
        out.append(_bought(n, name))
    return out


def _bought(n: int, category: str) -> str:
    """What a marketer reads of a member who bought ``n`` SKUs of ``category`` (a plural
    category name, as catalogs name them: "jackets")."""
    if not n:
        return "members like you bought it"
    return f"bought {category} once so far" if n == 1 else f"bought {n} {category} so far"
