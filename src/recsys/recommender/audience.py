"""Members by vector, for ``audience``: a FAISS index over member vectors, rebuilt when stale.

Live events move member vectors, so the index is rebuilt on the first audience after a
change (the member state's ``version`` says when); shelves never pay for it.
"""

from __future__ import annotations

import threading

from recsys.index import VectorIndex
from recsys.recommender.members import MemberState

__all__ = ["AudienceIndex"]


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
