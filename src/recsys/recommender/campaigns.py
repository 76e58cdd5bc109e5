"""Campaigns on the facade: audiences (caps, budgets, consent), coupons issued, opt-outs.

A mixin of :class:`recsys.Recommender`: the methods use its fitted state and write lock.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys.exceptions import InvalidInputError
from recsys.recommender.audience import audience_reasons
from recsys.recommender.core import rank_audience
from recsys.recommender.coupons import CouponCaps, assign_budgets
from recsys.recommender.requests import Request, epoch_seconds
from recsys.recommender.results import MemberScore, check_k
from recsys.recommender.state import ShelfState

__all__ = ["Campaigns"]

_EMPTY = np.empty(0, dtype=np.int64)
_EMPTY.setflags(write=False)


class Campaigns:
    """Who should get a SKU's coupon, and the records that keep campaigns fair."""

    _writing: threading.RLock  # the facade's write lock

    def _request(self) -> Request:  # the facade's
        raise NotImplementedError

    def _fitted(self) -> ShelfState:  # the facade's
        raise NotImplementedError

    def audience(
        self,
        item_id: str,
        k: int = 1000,
        *,
        store_id: str | None = None,
        exclude_purchased: bool = True,
        min_score: float | None = None,
        caps: CouponCaps | Mapping[str, Any] | None = None,
        budgets: Mapping[str, int] | None = None,
        at: Any = None,
    ) -> list[MemberScore]:
        """Members most likely to want ``item_id`` (e.g. who should get its coupon).

        With ``store_id``, only that store's regular customers: members with events there,
        in training or since (live events with that ``store_id``). Members who opted out
        (:meth:`opt_out`) are never in it.
        Members who already bought the SKU are left out unless ``exclude_purchased=False``.
        Only members the model gives a positive affinity are in it (none for a SKU it knows
        nothing about), and above ``min_score`` when given. Each comes with a reason:
        "bought 3 jackets so far", or "members like you bought it".

        Parameters
        ----------
        caps : CouponCaps or dict, optional
            Frequency cap, e.g. ``{"per_member": 1, "days": 30}``: members issued that many
            coupons (:meth:`issue_coupons`) in the ``days`` days up to ``at`` are left out.
        budgets : dict of store id to int, optional
            At most that many members per store, counting each member against the budgeted
            store where they have the most events; members of no budgeted store are left
            out. ``k`` still caps the total.
        at : datetime-like or float, optional
            The campaign's time for the caps (default: now).

        Examples
        --------
        >>> from recsys import Recommender
        >>> from recsys.datasets import synthetic_retail
        >>> data = synthetic_retail(n_users=300, n_items=200, n_stores=2, seed=0)
        >>> rec = Recommender(model="als", factors=8, iterations=3).fit(data)
        >>> sku = data.catalog.item_id.iloc[0]
        >>> first = rec.audience(sku, k=5, caps={"per_member": 1, "days": 30})
        >>> rec.issue_coupons(sku, [m.member_id for m in first])
        5
        >>> again = rec.audience(sku, k=5, caps={"per_member": 1, "days": 30})
        >>> {m.member_id for m in first} & {m.member_id for m in again}
        set()
        >>> per_store = rec.audience(sku, k=50, budgets={"s0": 2, "s1": 1})
        >>> len(per_store)
        3
        """
        req = self._request()
        state = req.state
        k = check_k(k, most=len(state.members))
        item = req.item(item_id)
        store = req.store(store_id)
        floor = 0.0 if min_score is None else float(min_score)
        if not np.isfinite(floor):
            raise InvalidInputError(f"min_score must be a finite number, got {min_score!r}")
        cap = None if caps is None else CouponCaps.parse(caps)
        limits = None if budgets is None else self._budgets(req, budgets)
        now = epoch_seconds(at)
        members = state.members
        allowed = None
        if store >= 0:
            allowed = members.regulars(store, state.regulars)
        if limits is not None:
            pools = [members.regulars(s, state.regulars) for s in limits]
            pool = np.unique(np.concatenate(pools)) if pools else _EMPTY
            allowed = pool if allowed is None else np.intersect1d(allowed, pool)
        excluded = [members.opted_out()]
        if exclude_purchased:
            excluded.append(members.buyers_of(item))
        if cap is not None:
            excluded.append(members.capped(cap, now))
        exclude = np.unique(np.concatenate(excluded)).astype(np.int64)
        depth = k if limits is None else max(k, len(allowed) if allowed is not None else k)
        ids, vals = rank_audience(
            state, item, depth, allowed=allowed, exclude=exclude if len(exclude) else None
        )
        # no affinity (a SKU without a vector): no audience; below the floor: not targeted
        keep = (ids >= 0) & (vals > max(floor, 0.0))
        ids, vals = ids[keep], vals[keep]
        if limits is not None:
            counts = members.store_counts(ids, state.regulars)
            positions, _ = assign_budgets(ids, limits, counts, k)
            ids, vals = ids[positions], vals[positions]
        names = members.id_of(ids)
        reasons = audience_reasons(state, item, ids)
        return [
            MemberScore(m, float(v), r)
            for m, v, r in zip(names, vals.tolist(), reasons, strict=True)
        ]

    @staticmethod
    def _budgets(req: Request, budgets: Mapping[str, int]) -> dict[int, int]:
        if not isinstance(budgets, Mapping) or not budgets:
            raise InvalidInputError("budgets must be a non-empty dict of store id -> count")
        out: dict[int, int] = {}
        for store_id, n in budgets.items():
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
                raise InvalidInputError(f"budgets[{store_id!r}] must be an int >= 0, got {n!r}")
            out[req.store(store_id)] = int(n)
        return out

    def may_get_coupon(
        self, member_id: str, caps: CouponCaps | Mapping[str, Any] | None = None, at: Any = None
    ) -> bool:
        """Whether a known member may be issued a coupon now: not opted out, and under
        ``caps`` (default :class:`CouponCaps`: one per 30 days)."""
        members = self._fitted().members
        u = members.index_of(member_id)
        if u < 0:
            return False
        cap = CouponCaps() if caps is None else CouponCaps.parse(caps)
        blocked = np.union1d(members.opted_out(), members.capped(cap, epoch_seconds(at)))
        return u not in set(blocked.tolist())

    def issue_coupons(self, item_id: str, member_ids: Sequence[str], *, at: Any = None) -> int:
        """Record that members were issued a coupon for ``item_id`` (default: now), so the
        ``caps`` of later :meth:`audience` calls count it. Saved with the model and erased
        with the member. All-or-nothing: an unknown member or SKU changes nothing.

        Returns
        -------
        int
            Coupons recorded.

        Examples
        --------
        >>> from recsys import Recommender
        >>> from recsys.datasets import synthetic_retail
        >>> data = synthetic_retail(n_users=300, n_items=200, n_stores=2, seed=0)
        >>> rec = Recommender(model="als", factors=8, iterations=3).fit(data)
        >>> rec.issue_coupons(data.catalog.item_id.iloc[0], ["nobody"])
        Traceback (most recent call last):
        ...
        recsys.exceptions.UnknownIdError: unknown member: 1 id not found (known: 300 members)
        """
        if isinstance(member_ids, str) or not isinstance(member_ids, Sequence):
            raise InvalidInputError("member_ids must be a list of member ids")
        with self._writing:
            req = self._request()
            item = req.item(item_id)
            users = req.state.members.to_index([str(m) for m in member_ids], strict=True)
            req.state.members.issue_coupons(users, item, epoch_seconds(at))
            return len(users)

    # ------------------------------------------------------------------ consent
    def opt_out(self, member_id: str) -> bool:
        """Keep a member out of every :meth:`audience` (coupons, campaigns) from now on;
        their shelves stay personal. A member not known yet is registered, so the choice
        holds when their first event arrives. Returns whether the member was known.

        Examples
        --------
        >>> from recsys import Recommender
        >>> from recsys.datasets import synthetic_retail
        >>> data = synthetic_retail(n_users=300, n_items=200, n_stores=2, seed=0)
        >>> rec = Recommender(model="als", factors=8, iterations=3).fit(data)
        >>> member = data.interactions.user_id.iloc[0]
        >>> sku = rec.recommend(member, k=1)[0].item_id
        >>> rec.opt_out(member)
        True
        >>> member in [m.member_id for m in rec.audience(sku, k=300, exclude_purchased=False)]
        False
        """
        if not isinstance(member_id, str) or not member_id:
            raise InvalidInputError("member_id must be a non-empty string")
        with self._writing:
            members = self._fitted().members
            u = members.index_of(member_id)
            known = members.known(member_id)
            if u < 0:
                width = self._fitted().dataset.matrices.user_features.shape[1]
                empty = sp.csr_matrix((1, width), dtype=np.float32)
                u = int(members.add_members([member_id], empty)[0])
            members.opt_out(u)
            return known
