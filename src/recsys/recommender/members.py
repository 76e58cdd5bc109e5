"""Every member's *current* state: history row, purchases, profile row and vector.

Training leaves an immutable snapshot (CSR matrices and factor arrays). Real-time events
change a handful of members, so their rows live in small override dictionaries (SKU ids and
weights, no width) instead of rewriting a CSR matrix per event; members first seen in an
event get ids after the training members. One lock guards writes and the vector reads that
must not see a half-written row. SKUs added to the catalog widen the rows
(:meth:`MemberState.with_items`) without copying the snapshot.
"""

from __future__ import annotations

import copy
from threading import RLock
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys.data import IdMap
from recsys.exceptions import UnknownIdError
from recsys.recommender.coupons import CouponCaps, CouponLedger
from recsys.recommender.ranking import Rows


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
        # canonical profile rows (sorted, no stored zeros): a member's tags are a slice
        self._features = sp.csr_matrix(features, dtype=np.float32, copy=True)
        self._features.eliminate_zeros()
        self._features.sort_indices()
        self._new_ids: list[str] = []
        self._new_index: dict[str, int] = {}
        self._rows: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # (SKU ids, weights)
        self._bought_rows: dict[int, np.ndarray] = {}
        self._feature_rows: dict[int, sp.csr_matrix] = {}
        self._visits: dict[int, set[int]] = {}  # store -> members with live events there
        self._opted_out: set[int] = set()  # members who never appear in an audience
        self.coupons = CouponLedger()  # coupons issued, for frequency caps
        self._vectors = None if vectors is None else np.array(vectors, dtype=np.float32, order="C")
        self._buyers = purchased.tocsc()
        self.lock = RLock()
        #: bumped by every write, so caches built from the members (audiences) know they are stale
        self.version = 0

    def with_items(self, n_items: int) -> MemberState:
        """The same members over ``n_items`` SKU columns (SKUs added after training have none
        yet); this state is left as it is, so reads running on it stay consistent."""
        with self.lock:
            out = copy.copy(self)
            out.n_items = int(n_items)
            out._conf = _wider(self._conf, n_items)
            out._bought = _wider(self._bought, n_items)
            out._buyers = _wider(self._buyers, n_items)
            out._new_ids = list(self._new_ids)
            out._new_index = dict(self._new_index)
            out._rows = dict(self._rows)
            out._bought_rows = dict(self._bought_rows)
            out._feature_rows = dict(self._feature_rows)
            out._visits = {store: set(m) for store, m in self._visits.items()}
            out._opted_out = set(self._opted_out)
            out.coupons = copy.deepcopy(self.coupons)
            # vectors are shared: a write after the swap is only ever newer, never torn
            out.lock = RLock()
            return out

    # ------------------------------------------------------------------ ids
    def __len__(self) -> int:
        return self.n_trained + len(self._new_ids)

    def index_of(self, member_id: str) -> int:
        """Internal id of a member, ``-1`` when unknown."""
        if member_id in self.users:
            return self.users.index_of(member_id)
        return self._new_index.get(member_id, -1)

    def blank(self, users: np.ndarray) -> np.ndarray:
        """Whether each member is registered but nothing is known of them: no history and
        no profile tag (e.g. registered by an opt-out before any event). Their shelves are
        an unknown member's; ``-1`` is not blank."""
        users = np.asarray(users, dtype=np.int64)
        out = np.zeros(len(users), dtype=bool)
        plain = (users >= 0) & (users < self.n_trained)
        if self._rows or self._feature_rows:
            rows, features = self._rows, self._feature_rows
            plain &= np.fromiter(
                (u not in rows and u not in features for u in users.tolist()), bool, len(users)
            )
        t = users[plain]
        c, f = self._conf.indptr, self._features.indptr
        out[plain] = (c[t + 1] == c[t]) & (f[t + 1] == f[t])
        for j in np.flatnonzero(~plain & (users >= 0)).tolist():
            out[j] = self.is_blank(int(users[j]))
        return out

    def is_blank(self, u: int) -> bool:
        """:meth:`blank` of one member."""
        return u >= 0 and not len(self._row(u)[0]) and not len(self.feature_columns(u))

    def known(self, member_id: str) -> bool:
        """Whether a member is registered and something is known of them (:meth:`blank`)."""
        u = self.index_of(member_id)
        return u >= 0 and not self.is_blank(u)

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
        if (
            len(users) > 1
            and not self._rows
            and (users >= 0).all()
            and (users < self.n_trained).all()
        ):
            return self._conf[users]
        parts = [self._row(u) for u in users.tolist()]  # one member: no fancy indexing
        indptr = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([len(ids) for ids, _ in parts], out=indptr[1:])
        if not indptr[-1]:
            return sp.csr_matrix((len(parts), self.n_items), dtype=np.float32)
        indices = np.concatenate([ids for ids, _ in parts]).astype(np.int32, copy=False)
        data = np.concatenate([w for _, w in parts]).astype(np.float32, copy=False)
        return sp.csr_matrix((data, indices, indptr), shape=(len(parts), self.n_items))

    def _row(self, u: int) -> tuple[np.ndarray, np.ndarray]:
        """A member's current (SKU ids, weights), sorted by SKU."""
        row = self._rows.get(u)
        if row is not None:
            return row
        if 0 <= u < self.n_trained:
            c = self._conf
            a, b = c.indptr[u], c.indptr[u + 1]
            return c.indices[a:b], c.data[a:b]
        return _EMPTY_IDS, _EMPTY_WEIGHTS

    def history_items(self, u: int) -> np.ndarray:
        """SKU ids in a member's current history row (empty for ``-1``), without a CSR copy."""
        row = self._rows.get(u)
        if row is not None:
            return row[0].astype(np.int64)
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
            return f.indices[f.indptr[u] : f.indptr[u + 1]]
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

    def purchased(self, users: np.ndarray) -> Rows:
        """SKU ids each member bought, as CSR structure (``-1`` gives an empty row)."""
        users = np.asarray(users, dtype=np.int64)
        if not self._bought_rows and (users >= 0).all() and (users < self.n_trained).all():
            return Rows.gather(self._bought.indptr, self._bought.indices, users)
        return Rows.from_lists([self.bought(u) for u in users.tolist()])

    def buyers_of(self, item: int) -> np.ndarray:
        """Sorted internal ids of the members who bought ``item`` (training and live events)."""
        col = self._buyers
        buyers = set(col.indices[col.indptr[item] : col.indptr[item + 1]].tolist())
        with self.lock:
            changed = list(self._bought_rows.items())
        for u, row in changed:
            pos = min(int(np.searchsorted(row, item)), len(row) - 1)
            if len(row) and row[pos] == item:
                buyers.add(u)
            else:
                buyers.discard(u)
        return np.array(sorted(buyers), dtype=np.int64)

    def regulars(self, store: int, trained: sp.csc_matrix) -> np.ndarray:
        """Sorted internal ids of a store's regulars: members with events there in training
        (column ``store`` of ``trained``) or since."""
        found = trained.indices[trained.indptr[store] : trained.indptr[store + 1]]
        with self.lock:
            live = self._visits.get(store)
            extra = np.fromiter(live, dtype=np.int64, count=len(live)) if live else None
        if extra is None:
            return np.sort(found).astype(np.int64)
        return np.union1d(found, extra).astype(np.int64)

    def features(self, users: np.ndarray) -> sp.csr_matrix:
        users = np.asarray(users, dtype=np.int64)
        if len(users) == 1:  # one member: a slice, no fancy indexing
            u = int(users[0])
            if u in self._feature_rows:
                return self._feature_rows[u]
            f = self._features
            a, b = (f.indptr[u], f.indptr[u + 1]) if 0 <= u < self.n_trained else (0, 0)
            indptr = np.array([0, b - a], dtype=f.indptr.dtype)
            return sp.csr_matrix((f.data[a:b], f.indices[a:b], indptr), shape=(1, f.shape[1]))
        if not len(users) or (
            not self._feature_rows and (users >= 0).all() and (users < self.n_trained).all()
        ):
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
            self.version += 1
            return np.arange(start, len(self), dtype=np.int64)

    def set_rows(
        self,
        users: np.ndarray,
        rows: sp.csr_matrix,
        bought: list[np.ndarray],
        vectors: np.ndarray | None,
    ) -> None:
        """Replace members' history rows, purchases and vectors in one locked step."""
        rows = sp.csr_matrix(rows, dtype=np.float32)
        rows.sort_indices()
        with self.lock:
            for j, u in enumerate(np.asarray(users).tolist()):
                a, b = rows.indptr[j], rows.indptr[j + 1]
                self._rows[u] = (rows.indices[a:b].copy(), rows.data[a:b].copy())
                self._bought_rows[u] = bought[j]
            if vectors is not None and self._vectors is not None:
                self._vectors[users] = vectors
            self.version += 1

    def opt_out(self, u: int) -> None:
        """Keep member ``u`` out of every audience from now on (consent withdrawn)."""
        with self.lock:
            self._opted_out.add(int(u))
            self.version += 1

    def opted_out(self) -> np.ndarray:
        """Sorted internal ids of the members who opted out of audiences."""
        with self.lock:
            return np.array(sorted(self._opted_out), dtype=np.int64)

    def issue_coupons(self, users: np.ndarray, item: int, at: float) -> None:
        """Record that members were issued a coupon for ``item`` at ``at`` (epoch seconds)."""
        with self.lock:
            self.coupons.record(users, item, at)
            self.version += 1

    def capped(self, caps: CouponCaps, at: float) -> np.ndarray:
        """Sorted members who reached their coupon cap at ``at``."""
        with self.lock:
            return self.coupons.capped(caps, at)

    def store_counts(self, users: np.ndarray, trained: sp.csc_matrix) -> sp.csr_matrix:
        """Events per member (rows in ``users`` order) and store: training's counts, plus
        one for a store with live events."""
        users = np.asarray(users, dtype=np.int64)
        n_stores = int(trained.shape[1])
        rows = np.where(users < trained.shape[0], users, 0)
        counts = sp.csr_matrix(trained.tocsr()[rows], dtype=np.float64)
        counts = sp.csr_matrix(counts.multiply((users < trained.shape[0])[:, None]))
        where = {int(u): j for j, u in enumerate(users.tolist())}
        r: list[int] = []
        c: list[int] = []
        with self.lock:
            for store, members in self._visits.items():
                for u in members & where.keys():
                    r.append(where[u])
                    c.append(store)
        live = sp.csr_matrix(
            (np.ones(len(r)), (r, c)), shape=(len(users), n_stores), dtype=np.float64
        )
        return sp.csr_matrix(counts + live)

    def add_visits(self, users: np.ndarray, stores: np.ndarray) -> None:
        """Record that members had events in stores (pairwise), making them regulars."""
        with self.lock:
            for u, store in zip(
                np.asarray(users).tolist(), np.asarray(stores).tolist(), strict=True
            ):
                self._visits.setdefault(store, set()).add(u)
            self.version += 1

    def set_features(
        self, users: np.ndarray, rows: sp.csr_matrix, vectors: np.ndarray | None
    ) -> None:
        """Replace members' profile rows (and vectors refolded with them) in one locked step."""
        rows = sp.csr_matrix(rows, dtype=np.float32, copy=True)
        rows.eliminate_zeros()
        rows.sort_indices()
        with self.lock:
            for j, u in enumerate(np.asarray(users).tolist()):
                self._feature_rows[u] = rows[j]
            if vectors is not None and self._vectors is not None:
                self._vectors[users] = vectors
            self.version += 1

    def forget(self, u: int, placeholder: str, snapshot: dict[str, sp.csr_matrix]) -> None:
        """Erase member ``u``: their id becomes ``placeholder``, their rows, purchases,
        profile, vector and stores are gone. ``snapshot`` holds the training matrices
        without the member's row (``confidence``, ``purchased``, ``user_features``)."""
        with self.lock:
            if u < self.n_trained:
                self.users = self.users.renamed(u, placeholder)
                self._conf = _wider(snapshot["confidence"], self.n_items)
                self._bought = _wider(snapshot["purchased"], self.n_items)
                self._buyers = self._bought.tocsc()
                self._features = sp.csr_matrix(snapshot["user_features"], dtype=np.float32)
            else:
                old = self._new_ids[u - self.n_trained]
                del self._new_index[old]
                self._new_ids[u - self.n_trained] = placeholder
                self._new_index[placeholder] = u
            self._rows[u] = (_EMPTY_IDS, _EMPTY_WEIGHTS)
            self._bought_rows[u] = np.empty(0, dtype=np.int64)
            self._feature_rows[u] = sp.csr_matrix((1, self._features.shape[1]), dtype=np.float32)
            for members in self._visits.values():
                members.discard(u)
            self._opted_out.discard(u)  # nothing of them is kept, their choice neither
            self.coupons.forget(u)
            if self._vectors is not None:
                self._vectors[u] = 0.0
            self.version += 1

    # ------------------------------------------------------------ persistence
    def changes(self) -> dict[str, np.ndarray]:
        """What live events changed since training, as plain arrays (for saving).

        ``new_ids`` (members first seen in events), ``new_features`` (their profile rows),
        ``changed`` (sorted internal ids with a new history row), their ``rows`` and
        ``bought`` (CSR parts), ``profiled`` (members whose profile was set live) and
        their ``profiles``, and, for vector models, the ``vectors`` of both.
        """
        with self.lock:
            changed = np.array(sorted(self._rows), dtype=np.int64)
            rows = self.history(changed) if len(changed) else sp.csr_matrix((0, self.n_items))
            bought = Rows.from_lists([self.bought(u) for u in changed.tolist()])
            new = np.arange(self.n_trained, len(self), dtype=np.int64)
            profiled = np.array(sorted(self._feature_rows), dtype=np.int64)
            out = {
                "new_ids": np.asarray(self._new_ids, dtype=str),
                "changed": changed,
                "bought.indptr": bought.indptr,
                "bought.indices": bought.indices,
                **_csr_arrays("rows", sp.csr_matrix(rows, dtype=np.float32)),
                **_csr_arrays("new_features", self.features(new)),
                "profiled": profiled,
                **self._visit_arrays(),
                "opted_out": np.array(sorted(self._opted_out), dtype=np.int64),
                **self.coupons.arrays(),
                **_csr_arrays("profiles", self._profile_rows(profiled)),
            }
            if self._vectors is not None:
                out["vectors"] = self._vectors[changed].copy()
                out["profiled.vectors"] = self._vectors[profiled].copy()
            return out

    def _visit_arrays(self) -> dict[str, np.ndarray]:
        pairs = [(u, store) for store, us in sorted(self._visits.items()) for u in sorted(us)]
        arr = np.array(pairs, dtype=np.int64).reshape(-1, 2)
        return {"visits.members": arr[:, 0].copy(), "visits.stores": arr[:, 1].copy()}

    def _profile_rows(self, users: np.ndarray) -> sp.csr_matrix:
        if not len(users):
            return sp.csr_matrix((0, self._features.shape[1]), dtype=np.float32)
        return sp.csr_matrix(sp.vstack([self._feature_rows[u] for u in users.tolist()]))

    def replay_changes(self, arrays: dict[str, np.ndarray]) -> None:
        """Re-apply :meth:`changes` saved from a member state over the same training data."""
        new_ids = [str(m) for m in arrays["new_ids"].tolist()]
        if new_ids:
            self.add_members(new_ids, _csr_from("new_features", arrays))
        changed = np.asarray(arrays["changed"], dtype=np.int64)
        if len(changed):
            ptr, idx = arrays["bought.indptr"], arrays["bought.indices"]
            bought = [idx[ptr[j] : ptr[j + 1]].astype(np.int64) for j in range(len(changed))]
            rows = _csr_from("rows", arrays)
            self.set_rows(changed, rows, bought, arrays.get("vectors"))
        for u in np.asarray(arrays.get("opted_out", np.zeros(0)), dtype=np.int64).tolist():
            self.opt_out(u)
        self.coupons.replay(arrays)
        if "visits.members" in arrays:
            self.add_visits(arrays["visits.members"], arrays["visits.stores"])
        profiled = np.asarray(arrays.get("profiled", np.zeros(0)), dtype=np.int64)
        if len(profiled):
            rows = _csr_from("profiles", arrays)
            self.set_features(profiled, rows, arrays.get("profiled.vectors"))


_EMPTY_IDS = np.empty(0, dtype=np.int32)
_EMPTY_WEIGHTS = np.empty(0, dtype=np.float32)


def _wider(m: sp.spmatrix, n_items: int) -> Any:
    """``m`` with ``n_items`` SKU columns (no copy of its entries)."""
    if isinstance(m, sp.csc_matrix):
        extra = n_items - m.shape[1]
        indptr = np.concatenate([m.indptr, np.full(extra, m.indptr[-1], m.indptr.dtype)])
        return sp.csc_matrix((m.data, m.indices, indptr), shape=(m.shape[0], n_items))
    return sp.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], n_items))


def _csr_arrays(name: str, m: sp.csr_matrix) -> dict[str, np.ndarray]:
    return {
        f"{name}.data": m.data,
        f"{name}.indices": m.indices,
        f"{name}.indptr": m.indptr,
        f"{name}.shape": np.asarray(m.shape, dtype=np.int64),
    }


def _csr_from(name: str, arrays: dict[str, np.ndarray]) -> sp.csr_matrix:
    shape = tuple(int(v) for v in arrays[f"{name}.shape"])
    parts = (arrays[f"{name}.data"], arrays[f"{name}.indices"], arrays[f"{name}.indptr"])
    return sp.csr_matrix(parts, shape=shape, dtype=np.float32)
