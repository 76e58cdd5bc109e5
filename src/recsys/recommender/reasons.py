"""Reasons a shop assistant can say out loud, one per shelf item.

In order of preference: a merchandising rule put it there ("on promotion" for a boost,
"featured" for a pin); the member just looked at (or bought) its category in this visit; it is new
(launched, by its ``available_from`` or the day it was added to the catalog, at most
:data:`NEW_DAYS` before the shelf's day: an old slow seller is never new); it sits close,
in the model's item space, to something the member bought or looked at ("goes with the
slim jeans you bought"), or, for an item-item model, is a neighbour the model scored it
through ("often bought with the slim jeans you bought"); it shares a category the member
keeps choosing; it is popular with members who share this member's tags; it is popular in
the store.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.data import Catalog
from recsys.recommender.session import Session

#: cosine similarity above which "goes with X" is said rather than a generic reason
SIMILARITY_FOR_REASON = 0.25
#: a SKU launched at most this many days before the shelf's day is "new"
NEW_DAYS = 30
#: history entries compared per block in :meth:`ReasonBuilder.references` (memory bound)
_BLOCK = 65_536


class ReasonBuilder:
    """Builds reasons from catalog names, item vectors and the member's history."""

    def __init__(
        self,
        catalog: Catalog,
        item_vectors: np.ndarray | None,
        launched: np.ndarray,
        neighbours: sp.spmatrix | None = None,
    ) -> None:
        self._names = np.asarray(catalog.names, dtype=object)
        self._category_names = np.asarray(catalog.categories, dtype=object)
        self._codes = np.asarray(catalog.category_codes)
        # plain lists: a shelf reads ten entries, and list indexing beats NumPy scalars
        self._codes_list: list[int] = self._codes.tolist()
        self._names_list: list[str] = self._names.astype(str).tolist()
        # launch day per SKU in days since the epoch; NaT reads as the lowest int64, a
        # launch so long ago that it is never "new"
        days = np.asarray(launched, dtype="datetime64[D]")
        self._launched: list[int] = days.astype(np.int64).tolist()
        lookup = np.append(self._category_names.astype(str), "")  # code -1 -> ""
        self._category_of: list[str] = lookup[self._codes].tolist()
        self._unit = None
        if item_vectors is not None:
            # one extra zero row: the padding index of :meth:`references`
            unit = np.zeros((len(item_vectors) + 1, item_vectors.shape[1]), np.float32)
            norms = np.linalg.norm(item_vectors, axis=1, keepdims=True)
            np.divide(item_vectors, np.maximum(norms, 1e-12), out=unit[:-1])
            self._unit = unit
        # item-item weights, by column: which history SKUs raise SKU i (vector models: none)
        self._neighbours = (
            None if neighbours is None or item_vectors is not None else sp.csc_matrix(neighbours)
        )
        self.together = self._neighbours is not None
        self._neighbour_keys = np.zeros(0, dtype=np.int64)
        if self._neighbours is not None:
            if not self._neighbours.has_sorted_indices:  # a sorted copy: the model's is read
                self._neighbours = self._neighbours.sorted_indices()
            s = self._neighbours
            cols = np.repeat(np.arange(s.shape[1], dtype=np.int64), np.diff(s.indptr))
            # sorted: columns in order, rows in order within each column
            self._neighbour_keys = cols * s.shape[0] + s.indices

    def category(self, item: int) -> str:
        """Category name of a SKU ("" when unknown)."""
        return self._category_of[item]

    def references(self, items: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        """For each shelf item, the history SKU it is closest to, ``-1`` when none is close.

        Vectorized over a whole batch: histories are padded to one length (with an index
        whose unit vector is zero) and compared in blocks of about 64k history entries.

        Parameters
        ----------
        items : ndarray of int, shape (n, k)
            Shelf SKU ids per member; ``-1`` marks padding.
        histories : list of n ndarrays of int
            SKU ids in each member's history.

        Returns
        -------
        ndarray of int64, shape (n, k)
        """
        items = np.asarray(items, dtype=np.int64).reshape(len(histories), -1)
        out = np.full(items.shape, -1, dtype=np.int64)
        if self._neighbours is not None:
            return self._neighbours_of(items, histories)
        if self._unit is None or not items.size:
            return out
        pad_id = len(self._unit) - 1
        start = 0
        while start < len(histories):
            longest = max(len(histories[start]), 1)
            stop = start + 1
            while (
                stop < len(histories)
                and max(longest, len(histories[stop])) * (stop + 1 - start) <= _BLOCK
            ):
                longest = max(longest, len(histories[stop]))
                stop += 1
            hist = np.full((stop - start, longest), pad_id, dtype=np.int64)
            for j, h in enumerate(histories[start:stop]):
                hist[j, : len(h)] = h
            shelf = items[start:stop]
            sims = np.matmul(self._unit[np.maximum(shelf, 0)], self._unit[hist].transpose(0, 2, 1))
            sims[shelf[:, :, None] == hist[:, None, :]] = -1.0
            arg = sims.argmax(axis=2)
            top = np.take_along_axis(sims, arg[:, :, None], axis=2)[:, :, 0]
            ok = (top >= SIMILARITY_FOR_REASON) & (shelf >= 0)
            out[start:stop][ok] = np.take_along_axis(hist, arg, axis=1)[ok]
            start = stop
        return out

    def _neighbour_of(self, items: np.ndarray, history: np.ndarray) -> np.ndarray:
        """Per shelf SKU, the history SKU with the largest item-item weight towards it."""
        return self._neighbours_of(items[None, :], [history])[0]

    def _neighbours_of(self, items: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        """:meth:`_neighbour_of` of every shelf of a batch at once (``items``: (n, k)): each
        (shelf SKU, history SKU) pair of a member looks its weight up among the sorted
        ``column x rows + row`` keys of the weights' entries."""
        out = np.full(items.shape, -1, dtype=np.int64)
        s = self._neighbours
        if s is None or not items.size:
            return out
        n_rows, n_cols = s.shape
        k = items.shape[1]
        lens = np.array([len(h) for h in histories], dtype=np.int64)
        if not lens.sum():
            return out
        history = np.concatenate([np.asarray(h, np.int64) for h in histories])
        owner = np.repeat(np.arange(len(histories)), lens)
        slot = (owner[:, None] * k + np.arange(k)[None, :]).ravel()  # every pair's shelf slot
        row = np.repeat(history, k)
        item = items.ravel()[slot]
        ok = (item >= 0) & (item < n_cols) & (row >= 0) & (row < n_rows) & (item != row)
        slot, row, item = slot[ok], row[ok], item[ok]
        key = item * n_rows + row
        keys = self._neighbour_keys
        if not len(keys):
            return out
        pos = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
        weight = np.where(keys[pos] == key, s.data[pos], 0.0)
        hit = weight > 0
        if not hit.any():
            return out
        slot, row, weight = slot[hit], row[hit], weight[hit]
        order = np.lexsort((row, -weight, slot))  # per slot, the heaviest (lowest SKU on ties)
        first = np.r_[True, slot[order][1:] != slot[order][:-1]]
        np.put(out, slot[order][first], row[order][first])
        return out

    def _references_one(self, items: np.ndarray, history: np.ndarray) -> np.ndarray:
        """:meth:`references` of one shelf: one plain matrix product, no padding."""
        if self._neighbours is not None:
            return self._neighbour_of(items, history)
        if self._unit is None or not len(items) or not len(history):
            return np.full(len(items), -1, dtype=np.int64)
        sims = self._unit[items] @ self._unit[history].T
        sims[items[:, None] == history] = -1.0  # a SKU never "goes with" itself
        arg = sims.argmax(axis=1)
        return np.where(sims.max(axis=1) >= SIMILARITY_FOR_REASON, history[arg], -1)

    def reasons(
        self,
        items: np.ndarray,
        history: np.ndarray,
        bought: np.ndarray,
        tags: list[str] | None,
        in_store: bool,
        references: np.ndarray | None = None,
        session: Session | None = None,
        *,
        day: int | None = None,
        promoted: frozenset[int] = frozenset(),
        pinned: frozenset[int] = frozenset(),
    ) -> list[str]:
        """One reason per recommended SKU.

        Parameters
        ----------
        items : ndarray of int
            Recommended SKU ids.
        history : ndarray of int
            SKU ids in the member's history (bought, carted or viewed).
        bought : ndarray of int
            SKU ids the member bought.
        tags : list of str or None
            The member's readable profile tags.
        in_store : bool
            Whether the shelf is for a store.
        references : ndarray of int, optional
            :meth:`references` of these items, when already computed for a batch.
        session : Session, optional
            The member's current visit: a SKU of a category just looked at says so.
        day : int, optional
            The shelf's day, in days since 1970-01-01 (no SKU is "new" without it).
        promoted, pinned : frozenset of int
            SKUs a ``boost`` above 1 or a ``pin`` of the request's rules put on the shelf.
        """
        items = np.asarray(items, dtype=np.int64)
        if references is None:
            references = self._references_one(items, np.asarray(history, dtype=np.int64))
        codes, names, launched = self._codes_list, self._names_list, self._launched
        history_codes = {codes[h] for h in history.tolist()}
        bought_set = set(bought.tolist())
        just_seen: dict[int, int] = {}  # category -> the newest SKU of it in the visit
        just_bought: set[int] = set()  # those of them bought
        if session is not None:
            n = len(session.items)
            flags = np.zeros(n, bool) if session.bought is None else session.bought
            for seen, was_bought in zip(
                session.items.tolist()[::-1], flags.tolist()[::-1], strict=True
            ):
                just_seen[codes[seen]] = seen
                if was_bought:  # the newest event of a SKU says what the member did
                    just_bought.add(seen)
                else:
                    just_bought.discard(seen)
        out = []
        for item, ref in zip(items.tolist(), references.tolist(), strict=True):
            start = launched[item]
            if item in promoted:
                out.append("on promotion")
            elif item in pinned:
                out.append("featured in this store" if in_store else "featured")
            elif codes[item] in just_seen and just_seen[codes[item]] != item:
                seen = just_seen[codes[item]]
                did = "bought" if seen in just_bought else "looked at"
                out.append(f"because you just {did} the {names[seen]}")
            elif day is not None and 0 <= day - start <= NEW_DAYS:
                out.append("new in your store" if in_store else "new in the collection")
            elif ref >= 0:
                verb = "bought" if ref in bought_set else "looked at"
                lead = "often bought with" if self.together else "goes with"
                out.append(f"{lead} the {names[ref]} you {verb}")
            elif codes[item] in history_codes:
                out.append(f"you often choose {self.category(item)}")
            elif tags:
                out.append("popular with members like you: " + ", ".join(tags))
            else:
                out.append("popular in this store" if in_store else "popular right now")
        return out
