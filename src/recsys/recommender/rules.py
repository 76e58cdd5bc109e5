"""Merchandising rules, applied inside ranking and never violated.

A shelf is ranked, then re-ranked under the rules from a pool of candidates several times
its length:

* ``boost`` multiplies the score of SKUs or of whole categories (a campaign), ``bury`` sends
  SKUs to the back (shown only when nothing else passes);
* ``pin`` puts a SKU at a slot (0 is the first) when the SKU may be on the shelf at all (in the
  store, passing the filters, not already bought);
* ``max_per_category`` caps how many SKUs of one category a shelf holds (pins count);
* ``dedupe_groups`` keeps one SKU per style group (the catalog's ``group_id``: variants of one
  style, e.g. colours).

Rules come from three places, later ones overriding earlier ones key by key: the chain's
defaults (``Recommender(rules=...)``), a store's (``store_rules``) and the request's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from recsys.data import Catalog, IdMap
from recsys.exceptions import InvalidInputError

__all__ = ["CHAIN_DEFAULT", "RULE_KEYS", "Rules", "apply_rules", "apply_rules_rows", "parse_rules"]

RULE_KEYS = ("max_per_category", "dedupe_groups", "boost", "pin", "bury")
#: the largest boost (and 1 / it the smallest): beyond, scores would overflow to infinity
MAX_MULTIPLIER = 1e6
#: the chain default when nothing else is given: no more than 3 SKUs of one category
CHAIN_DEFAULT: dict[str, Any] = {"max_per_category": 3, "dedupe_groups": True}
#: candidates per shelf slot the rules choose from
POOL_FACTOR = 5


@dataclass(frozen=True)
class Rules:
    """Validated rules in internal ids (see the module docstring)."""

    max_per_category: int | None = None
    dedupe_groups: bool = False
    boost_items: tuple[tuple[int, float], ...] = ()
    boost_categories: tuple[tuple[int, float], ...] = ()
    pin: tuple[tuple[int, int], ...] = ()  # (item, slot)
    bury: tuple[int, ...] = ()

    @property
    def is_trivial(self) -> bool:
        return (
            self.max_per_category is None
            and not self.dedupe_groups
            and not (self.boost_items or self.boost_categories or self.pin or self.bury)
        )

    def promoted(self, items: np.ndarray, codes: np.ndarray) -> frozenset[int]:
        """Those of ``items`` a boost above 1 lifts (its SKU's or its category's)."""
        if not (self.boost_items or self.boost_categories):
            return frozenset()
        skus = {i for i, f in self.boost_items if f > 1}
        cats = {c for c, f in self.boost_categories if f > 1}
        return frozenset(i for i in items.tolist() if i in skus or int(codes[i]) in cats)

    @property
    def pinned(self) -> frozenset[int]:
        return frozenset(i for i, _ in self.pin)

    def pool(self, k: int) -> int:
        """Candidates to rank before the rules pick ``k`` (pins and caps need spares)."""
        return k if self.is_trivial else k * POOL_FACTOR + len(self.pin) + len(self.bury)


NO_RULES = Rules()


def _factor(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise InvalidInputError(f"rule {name!r}: a multiplier must be a finite number")
    if value <= 0:
        raise InvalidInputError(f"rule {name!r}: a multiplier must be > 0, got {value!r}")
    if not 1 / MAX_MULTIPLIER <= value <= MAX_MULTIPLIER:
        raise InvalidInputError(
            f"rule {name!r}: a multiplier must be within [{1 / MAX_MULTIPLIER:g}, "
            f"{MAX_MULTIPLIER:g}], got {value!r} (a 'pin' puts a SKU first whatever its score)"
        )
    return float(value)


def _boosts(
    value: Any, catalog: Catalog, items: IdMap
) -> tuple[tuple[tuple[int, float], ...], tuple[tuple[int, float], ...]]:
    """``boost``: SKU or category -> multiplier, split into SKUs and categories."""
    if not isinstance(value, Mapping):
        raise InvalidInputError("rule 'boost' must map SKU ids or categories to multipliers")
    categories = {str(c): i for i, c in enumerate(catalog.categories.tolist())}
    by_item, by_category = [], []
    for key, factor in value.items():
        if not isinstance(key, str):
            raise InvalidInputError(
                f"rule 'boost': keys must be SKU ids or categories, got {key!r}"
            )
        mult = _factor("boost", factor)
        if key in items:
            by_item.append((items.index_of(key), mult))
        elif key in categories:
            by_category.append((categories[key], mult))
        else:
            raise InvalidInputError(f"rule 'boost': {key!r} is neither a SKU nor a category")
    return tuple(by_item), tuple(by_category)


def _pins(value: Any, items: IdMap) -> tuple[tuple[int, int], ...]:
    if not isinstance(value, Mapping):
        raise InvalidInputError("rule 'pin' must map SKU ids to slots (0 is the first)")
    out, slots = [], set()
    for key, slot in value.items():
        if not isinstance(key, str):
            raise InvalidInputError(f"rule 'pin': keys must be SKU ids, got {key!r}")
        if isinstance(slot, bool) or not isinstance(slot, int) or slot < 0:
            raise InvalidInputError(f"rule 'pin': slot of {key!r} must be an int >= 0")
        if slot in slots:
            raise InvalidInputError(f"rule 'pin': two SKUs pinned to slot {slot}")
        slots.add(slot)
        out.append((items.index_of(key), int(slot)))
    return tuple(sorted(out, key=lambda p: p[1]))


def parse_rules(
    rules: Mapping[str, Any] | None, catalog: Catalog, items: IdMap, base: Rules = NO_RULES
) -> Rules:
    """``rules`` (a dict of :data:`RULE_KEYS`) over ``base``, key by key.

    Raises
    ------
    InvalidInputError
        An unknown key or a malformed value, naming it.
    UnknownIdError
        A pinned or buried SKU that is not in the catalog.
    """
    if not rules:
        return base
    if not isinstance(rules, Mapping):
        raise InvalidInputError(f"rules must be a dict, got {type(rules).__name__}")
    unknown = sorted(set(rules) - set(RULE_KEYS))
    if unknown:
        raise InvalidInputError(f"unknown rule(s) {unknown}; valid rules: {list(RULE_KEYS)}")
    changes: dict[str, Any] = {}
    if "max_per_category" in rules:
        cap = rules["max_per_category"]
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
            raise InvalidInputError(f"rule 'max_per_category' must be an int >= 1, got {cap!r}")
        changes["max_per_category"] = cap
    if "dedupe_groups" in rules:
        if not isinstance(rules["dedupe_groups"], bool):
            raise InvalidInputError("rule 'dedupe_groups' must be true or false")
        changes["dedupe_groups"] = rules["dedupe_groups"]
    if "boost" in rules:
        changes["boost_items"], changes["boost_categories"] = _boosts(
            rules["boost"], catalog, items
        )
    if "pin" in rules:
        changes["pin"] = _pins(rules["pin"], items)
    if "bury" in rules:
        bury = rules["bury"]
        if isinstance(bury, str) or not isinstance(bury, list | tuple):
            raise InvalidInputError("rule 'bury' must be a list of SKU ids")
        changes["bury"] = tuple(int(i) for i in items.to_index(list(bury)))
    return _resolved(replace(base, **changes), changes)


def _resolved(rules: Rules, changes: Mapping[str, Any]) -> Rules:
    """A SKU both pinned and buried: refused within one set of rules; across levels the
    later (more specific) one wins."""
    both = {item for item, _ in rules.pin} & set(rules.bury)
    if not both:
        return rules
    if "pin" in changes and "bury" in changes:
        raise InvalidInputError(f"rules pin and bury the same SKU ({len(both)} of them)")
    if "bury" in changes:
        return replace(rules, pin=tuple(p for p in rules.pin if p[0] not in both))
    return replace(rules, bury=tuple(b for b in rules.bury if b not in both))


def _multipliers(rules: Rules, catalog: Catalog, ids: np.ndarray) -> np.ndarray | None:
    """Score multiplier of each of ``ids`` from the boosts (``None``: no boost)."""
    if not (rules.boost_items or rules.boost_categories):
        return None
    out = np.ones(ids.shape, dtype=np.float64)
    if rules.boost_categories:
        codes = catalog.category_codes[ids]
        for code, mult in rules.boost_categories:
            out[codes == code] *= mult
    for item, mult in rules.boost_items:
        out[ids == item] *= mult
    return out


def _adjusted(
    ids: np.ndarray, scores: np.ndarray, rules: Rules, catalog: Catalog
) -> tuple[np.ndarray, np.ndarray]:
    """Candidates in the order the rules see them: boosted, with buried SKUs last."""
    ok = ids >= 0
    ids, scores = ids[ok], scores[ok].astype(np.float64)
    mult = _multipliers(rules, catalog, ids)
    if mult is not None:
        # a multiplier scales positive scores up and negative ones towards zero
        scores = np.where(scores >= 0, scores * mult, scores / mult)
    order = np.argsort(-scores, kind="stable")
    ids, scores = ids[order], scores[order]
    if rules.bury:
        buried = np.isin(ids, rules.bury)
        ids = np.concatenate([ids[~buried], ids[buried]])
        scores = np.concatenate([scores[~buried], scores[buried]])
    return ids, scores


def apply_rules(
    ids: np.ndarray, scores: np.ndarray, k: int, rules: Rules, catalog: Catalog, pinned: set[int]
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` SKUs (padded with -1) the rules choose from one row of ranked candidates.

    ``pinned`` holds which pinned SKUs may be on this shelf (in the store, passing the
    filters and exclusions); a pin that may not is left out, never forced in. The other
    slots take the best candidates that fit, in order.
    """
    order, adjusted = _adjusted(ids, scores, rules, catalog)
    picker = _Picker(rules, catalog)
    if not rules.pin:  # most shelves: the picks are the shelf, padded
        chosen, values = picker.best(order, adjusted, k)
        short = k - len(chosen)
        return (
            np.array(chosen + [-1] * short, dtype=np.int64),
            np.array(values + [-np.inf] * short, dtype=np.float32),
        )
    out_ids = np.full(k, -1, dtype=np.int64)
    out_scores = np.full(k, -np.inf, dtype=np.float32)
    items, values = order.tolist(), adjusted.tolist()
    score_of = dict(zip(items, values, strict=True))
    for item, slot in rules.pin:
        if slot < k and item in pinned and picker.fits(item):
            picker.take(item)
            out_ids[slot] = item
            out_scores[slot] = score_of.get(item, values[0] if values else 0.0)
    free = np.flatnonzero(out_ids < 0)
    chosen, values = picker.best(order, adjusted, len(free))
    out_ids[free[: len(chosen)]], out_scores[free[: len(chosen)]] = chosen, values
    return _compact(out_ids, out_scores)


class _Picker:
    """What a shelf holds so far, against the cap and the style groups."""

    def __init__(self, rules: Rules, catalog: Catalog) -> None:
        self.cap, self.dedupe, self.catalog = rules.max_per_category, rules.dedupe_groups, catalog
        self.taken: set[int] = set()
        self.per_category: dict[int, int] = {}
        self.groups: set[int] = set()

    def fits(self, item: int) -> bool:
        if item in self.taken:
            return False
        code, group = int(self.catalog.category_codes[item]), int(self.catalog.group_codes[item])
        if self.cap is not None and code >= 0 and self.per_category.get(code, 0) >= self.cap:
            return False
        return not (self.dedupe and group >= 0 and group in self.groups)

    def take(self, item: int) -> None:
        self.taken.add(item)
        code, group = int(self.catalog.category_codes[item]), int(self.catalog.group_codes[item])
        self.per_category[code] = self.per_category.get(code, 0) + 1
        if self.dedupe and group >= 0:
            self.groups.add(group)

    def best(
        self, order: np.ndarray, adjusted: np.ndarray, n: int
    ) -> tuple[list[int], list[float]]:
        """The first ``n`` of ``order`` that fit, taken, with their scores (most shelves
        stop a few candidates past ``n``)."""
        items: list[int] = []
        values: list[float] = []
        if n <= 0:
            return items, values
        # fits() and take() inlined: this loop is on every shelf's path
        cap = -1 if self.cap is None else self.cap
        codes = self.catalog.category_codes[order].tolist() if cap >= 0 else None
        groups = self.catalog.group_codes[order].tolist() if self.dedupe else None
        taken, per_category, seen = self.taken, self.per_category, self.groups
        scores = adjusted.tolist()
        for j, item in enumerate(order.tolist()):
            if item in taken:
                continue
            if codes is not None:
                code = codes[j]
                if code >= 0 and per_category.get(code, 0) >= cap:
                    continue
            if groups is not None:
                group = groups[j]
                if group >= 0:
                    if group in seen:
                        continue
                    seen.add(group)
            if codes is not None:
                per_category[code] = per_category.get(code, 0) + 1
            taken.add(item)
            items.append(item)
            values.append(scores[j])
            if len(items) == n:
                break
        return items, values


def _compact(ids: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slots left empty (no candidate fits) move to the end: padding only ever trails."""
    keep = ids >= 0
    if keep.all():
        return ids, scores
    return (
        np.concatenate([ids[keep], ids[~keep]]),
        np.concatenate([scores[keep], scores[~keep]]),
    )


def apply_rules_rows(
    ids: np.ndarray, scores: np.ndarray, k: int, rules: Rules, catalog: Catalog
) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`apply_rules` on every row of ``ids`` / ``scores`` (n, pool) at once.

    The same shelves as row by row, in a few array passes instead of a Python loop per
    member. ``None`` where that cannot hold: rules with pins, or style groups that span
    categories under ``dedupe_groups`` (a SKU refused by the cap would then leave its group
    open to a SKU of another category, which only the sequential pass sees).
    """
    if rules.pin or (rules.dedupe_groups and not catalog.groups_within_categories):
        return None
    n = len(ids)
    valid = ids >= 0
    adjusted = scores.astype(np.float64)
    mult = _multipliers(rules, catalog, ids)
    if mult is not None:
        adjusted = np.where(adjusted >= 0, adjusted * mult, adjusted / mult)
    klass = np.where(valid, 0, 2)  # candidates, then buried ones, then padding
    if rules.bury:
        klass[valid & np.isin(ids, rules.bury)] = 1
    order = np.lexsort((-adjusted, klass), axis=-1)
    rows = np.arange(n)[:, None]
    ids, adjusted, valid = ids[rows, order], adjusted[rows, order], valid[rows, order]
    keep = valid & _first(ids, valid)
    if rules.dedupe_groups:
        groups = np.where(valid, catalog.group_codes[np.maximum(ids, 0)], -1)
        grouped = keep & (groups >= 0)
        keep &= ~grouped | _first(groups, grouped)
    if rules.max_per_category is not None:
        codes = np.where(valid, catalog.category_codes[np.maximum(ids, 0)], -1)
        capped = keep & (codes >= 0)
        keep &= ~capped | (_earlier(codes, capped) < rules.max_per_category)
    slot = np.cumsum(keep, axis=1) - 1
    keep &= slot < k
    out_ids = np.full((n, k), -1, dtype=np.int64)
    out_scores = np.full((n, k), -np.inf, dtype=np.float32)
    r, c = np.nonzero(keep)
    out_ids[r, slot[r, c]] = ids[r, c]
    out_scores[r, slot[r, c]] = adjusted[r, c]
    return out_ids, out_scores


def _row_keys(values: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat positions of the ``mask`` ed entries and a key unique to (row, value)."""
    flat = np.flatnonzero(mask)
    width = int(values.max(initial=0)) + 1
    return flat, (flat // values.shape[1]) * width + values.ravel()[flat]


def _first(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Whether each ``mask`` ed entry is the first of its value in its row."""
    flat, keys = _row_keys(values, mask)
    out = np.zeros(values.size, dtype=bool)
    out[flat[np.unique(keys, return_index=True)[1]]] = True
    return out.reshape(values.shape)


def _earlier(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """How many ``mask`` ed entries before each one in its row hold the same value."""
    flat, keys = _row_keys(values, mask)
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    at = np.arange(len(keys))
    starts = np.r_[True, ordered[1:] != ordered[:-1]] if len(keys) else np.zeros(0, bool)
    out = np.zeros(values.size, dtype=np.int64)
    out[flat[order]] = at - np.maximum.accumulate(np.where(starts, at, 0))
    return out.reshape(values.shape)
