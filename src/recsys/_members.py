"""Every member's *current* state: history row, purchases, profile row and vector.

Training leaves an immutable snapshot (CSR matrices and factor arrays). Real-time events
change a handful of members, so their rows live in small override dictionaries instead of
rewriting a CSR matrix per event; members first seen in an event get ids after the training
members. One lock guards writes and the vector reads that must not see a half-written row.
"""

from __future__ import annotations

from threading import RLock

import numpy as np
import scipy.sparse as sp

from recsys.data import IdMap
from recsys.exceptions import UnknownIdError


class MemberState:
    """Current member rows over a training snapshot; ids of new members follow the trained ones."""

    def __init__(
        self,
        users: IdMap,
        confidence: sp.csr_matrix,
        purchased: sp.csr_matrix,
        features: sp.csr_matrix,
        vectors: np.ndarray | None,
    ) -> None:
        self.users = users
        self.n_trained = len(users)
        self.n_items = int(confidence.shape[1])
        self._conf = confidence
        self._bought = purchased
        self._features = features
        self._new_ids: list[str] = []
        self._new_index: dict[str, int] = {}
        self._rows: dict[int, sp.csr_matrix] = {}
        self._bought_rows: dict[int, np.ndarray] = {}
        self._feature_rows: dict[int, sp.csr_matrix] = {}
        self._vectors = None if vectors is None else np.array(vectors, dtype=np.float32, order="C")
        self._n_vectors = 0 if vectors is None else len(vectors)
        self.lock = RLock()

    # ------------------------------------------------------------------ ids
    def __len__(self) -> int:
        return self.n_trained + len(self._new_ids)

    def index_of(self, member_id: str) -> int:
        """Internal id of a member, ``-1`` when unknown."""
        if member_id in self.users:
            return self.users.index_of(member_id)
        return self._new_index.get(member_id, -1)

    def to_index(self, member_ids: list[str], strict: bool) -> np.ndarray:
        out = np.fromiter(
            (self.index_of(m) for m in member_ids), dtype=np.int64, count=len(member_ids)
        )
        if strict and (out < 0).any():
            missing = [m for m, i in zip(member_ids, out, strict=True) if i < 0]
            raise UnknownIdError("member", missing, known=len(self))
        return out

    def ids(self) -> np.ndarray:
        """External ids of every member, in internal order."""
        return np.concatenate([self.users.ids, np.asarray(self._new_ids, dtype=object)])

    def id_of(self, idx: np.ndarray) -> list[str]:
        trained = self.users.ids
        return [
            str(trained[i]) if i < self.n_trained else self._new_ids[i - self.n_trained]
            for i in np.asarray(idx).tolist()
        ]

    # ----------------------------------------------------------------- reads
    def history(self, users: np.ndarray) -> sp.csr_matrix:
        """Current confidence rows (n, n_items) of members (``-1`` gives an empty row)."""
        users = np.asarray(users, dtype=np.int64)
        if not self._rows and (users >= 0).all() and (users < self.n_trained).all():
            return self._conf[users]
        return sp.vstack([self._row(u) for u in users.tolist()], format="csr", dtype=np.float32)

    def _row(self, u: int) -> sp.csr_matrix:
        row = self._rows.get(u)
        if row is not None:
            return row
        if 0 <= u < self.n_trained:
            return self._conf[u]
        return sp.csr_matrix((1, self.n_items), dtype=np.float32)

    def history_items(self, u: int) -> np.ndarray:
        """SKU ids in a member's current history row (empty for ``-1``), without a CSR copy."""
        row = self._rows.get(u)
        if row is not None:
            return row.indices.astype(np.int64)
        if 0 <= u < self.n_trained:
            c = self._conf
            return c.indices[c.indptr[u] : c.indptr[u + 1]].astype(np.int64)
        return np.empty(0, dtype=np.int64)

    def feature_columns(self, u: int) -> np.ndarray:
        """Sorted non-zero profile feature columns of a member (empty for ``-1``)."""
        row = self._feature_rows.get(u)
        if row is not None:
            return np.sort(row.indices[row.data != 0])
        if 0 <= u < self.n_trained:
            f = self._features
            lo, hi = f.indptr[u], f.indptr[u + 1]
            return np.sort(f.indices[lo:hi][f.data[lo:hi] != 0])
        return np.empty(0, dtype=np.int32)

    def bought(self, u: int) -> np.ndarray:
        """Sorted SKU ids the member bought (empty for ``-1``)."""
        row = self._bought_rows.get(u)
        if row is not None:
            return row
        if 0 <= u < self.n_trained:
            b = self._bought
            return b.indices[b.indptr[u] : b.indptr[u + 1]].astype(np.int64)
        return np.empty(0, dtype=np.int64)

    def features(self, users: np.ndarray) -> sp.csr_matrix:
        users = np.asarray(users, dtype=np.int64)
        if not self._feature_rows and (users >= 0).all() and (users < self.n_trained).all():
            return self._features[users]
        empty = sp.csr_matrix((1, self._features.shape[1]), dtype=np.float32)
        rows = [
            self._feature_rows.get(u, self._features[u] if 0 <= u < self.n_trained else empty)
            for u in users.tolist()
        ]
        return sp.vstack(rows, format="csr", dtype=np.float32)

    def vectors(self, users: np.ndarray) -> np.ndarray:
        assert self._vectors is not None
        with self.lock:
            return self._vectors[np.asarray(users, dtype=np.int64)]

    def all_vectors(self) -> np.ndarray:
        assert self._vectors is not None
        with self.lock:
            return self._vectors[: len(self)].copy()

    # ---------------------------------------------------------------- writes
    def add_members(self, member_ids: list[str], features: sp.csr_matrix) -> np.ndarray:
        """Register members first seen in events; returns their new internal ids."""
        with self.lock:
            start = len(self)
            for j, m in enumerate(member_ids):
                self._new_index[m] = start + j
                self._new_ids.append(m)
                self._feature_rows[start + j] = features[j]
            if self._vectors is not None and len(self) > len(self._vectors):
                grown = np.zeros(
                    (max(len(self), 2 * len(self._vectors)), self._vectors.shape[1]), np.float32
                )
                grown[: len(self._vectors)] = self._vectors
                self._vectors = grown
            return np.arange(start, len(self), dtype=np.int64)

    def set_rows(
        self,
        users: np.ndarray,
        rows: sp.csr_matrix,
        bought: list[np.ndarray],
        vectors: np.ndarray | None,
    ) -> None:
        """Replace members' history rows, purchases and vectors in one locked step."""
        with self.lock:
            for j, u in enumerate(np.asarray(users).tolist()):
                self._rows[u] = rows[j]
                self._bought_rows[u] = bought[j]
            if vectors is not None and self._vectors is not None:
                self._vectors[users] = vectors

    def set_vectors(self, vectors: np.ndarray) -> None:
        with self.lock:
            self._vectors = np.array(vectors, dtype=np.float32, order="C")

    # ------------------------------------------------------------ snapshot
    def snapshot(self) -> dict[str, sp.csr_matrix | np.ndarray]:
        """Full current matrices of every member (for saving)."""
        with self.lock:
            n = len(self)
            users = np.arange(n, dtype=np.int64)
            conf = self.history(users)
            bought_rows = [self.bought(u) for u in range(n)]
            indptr = np.zeros(n + 1, dtype=np.int64)
            indptr[1:] = np.cumsum([len(b) for b in bought_rows])
            indices = np.concatenate(bought_rows) if n else np.empty(0, np.int64)
            bought = sp.csr_matrix(
                (np.ones(len(indices), np.float32), indices, indptr), shape=(n, self.n_items)
            )
            out: dict[str, sp.csr_matrix | np.ndarray] = {
                "confidence": conf,
                "purchased": bought,
                "features": self.features(users),
                "new_ids": np.asarray(self._new_ids, dtype=str),
            }
            if self._vectors is not None:
                out["vectors"] = self._vectors[:n].copy()
            return out
