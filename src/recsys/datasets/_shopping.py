"""The shopping of the synthetic chain: visits, browsing and the view -> cart -> buy funnel.

Stages run in a fixed order on one random generator, so the same seed gives the same events:
:func:`_visits` (who goes where), :func:`_visit_times` (when), :func:`_visit_sizes` (how many
SKUs), :func:`_browse` (which SKUs, by Gumbel top-k over the store's assortment),
:func:`_funnel` (views, carts, purchases, coupons) and :func:`_assemble` (one sorted table).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from recsys.columns import EventKind

__all__ = ["SEASONS", "Chain", "Items", "Members", "Tastes", "simulate_events", "store_in_area"]

#: Season labels used in the catalog's ``season`` column (``all`` = all year).
SEASONS: tuple[str, ...] = ("spring", "summer", "autumn", "winter", "all")
# Meteorological seasons (northern hemisphere): month 1..12 -> index into SEASONS.
_MONTH_SEASON: Final = np.array([3, 3, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3])
_SEASON_BONUS: Final = (0.8, -1.5)  # in season, out of season ("all" = 0)
_MAX_ITEMS_PER_VISIT: Final = 8
_USER_BLOCK: Final = 1024


@dataclass(frozen=True)
class Items:
    """SKU attributes and latent vectors, in item index order."""

    category: np.ndarray
    category_names: np.ndarray
    audience: np.ndarray
    season: np.ndarray
    line: np.ndarray
    price: np.ndarray
    price_z: np.ndarray
    log_pop: np.ndarray
    vectors: np.ndarray
    names: np.ndarray
    tags: np.ndarray
    styles: np.ndarray


@dataclass(frozen=True)
class Members:
    """Member tag codes (indices into the tag value tuples) and home store."""

    age: np.ndarray
    gender: np.ndarray
    family: np.ndarray
    tier: np.ndarray
    area: np.ndarray
    primary_store: np.ndarray


@dataclass(frozen=True)
class Tastes:
    """Vectors whose dot product is a member's utility for a SKU (before season/popularity)."""

    users: np.ndarray  # (n_users, n_factors + 3): latent taste + explicit effect weights
    items: np.ndarray  # (n_items, n_factors + 3): latent vector + explicit attributes
    area_emb: np.ndarray  # (n_areas, n_factors)


@dataclass(frozen=True)
class Chain:
    """The stores and the calendar the members shop in."""

    assortment: np.ndarray  # (n_stores, n_items) bool
    store_area: np.ndarray
    n_areas: int
    n_days: int
    start: pd.Timestamp
    visits_per_member: float
    items_per_visit: float
    popularity_exponent: float


@dataclass(frozen=True)
class _Visits:
    user: np.ndarray
    store: np.ndarray
    per_member: np.ndarray  # visits of each member (visits are sorted by member)
    month: np.ndarray
    start: np.ndarray  # datetime64[s]
    size: np.ndarray  # SKUs engaged with per visit


def store_in_area(
    rng: np.random.Generator, area: np.ndarray, store_area: np.ndarray, n_areas: int
) -> np.ndarray:
    """A uniformly random store of each given area."""
    order = np.argsort(store_area, kind="stable")
    counts = np.bincount(store_area, minlength=n_areas)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pick = (rng.random(len(area)) * counts[area]).astype(np.int64)
    return order[offsets[area] + pick]


def _stock(assortment: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Store assortments as padded index rows: (stock, valid mask, size per store)."""
    size = assortment.sum(axis=1)
    width = int(size.max())
    stock = np.zeros((assortment.shape[0], width), dtype=np.int64)
    valid = np.arange(width)[None, :] < size[:, None]
    stock[valid] = np.nonzero(assortment)[1]
    return stock, valid, size


def _visits(
    rng: np.random.Generator, members: Members, chain: Chain
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gamma-distributed activity, a Poisson count of visits per member, and where each
    visit goes: the primary store, another store of the home area, or anywhere."""
    n_users, n_stores = len(members.age), chain.assortment.shape[0]
    shape = 1.2
    activity = rng.gamma(shape, chain.visits_per_member / shape, n_users)
    n_visits = rng.poisson(activity)
    user = np.repeat(np.arange(n_users), n_visits)
    r = rng.random(len(user))
    other_home = store_in_area(rng, members.area[user], chain.store_area, chain.n_areas)
    anywhere = rng.integers(0, n_stores, len(user))
    store = np.where(r < 0.65, members.primary_store[user], np.where(r < 0.9, other_home, anywhere))
    return user, store, n_visits


def _visit_times(rng: np.random.Generator, chain: Chain, n_v: int) -> tuple[np.ndarray, ...]:
    """Month and start of each visit: weekends busier, a December peak, 09:00-20:00."""
    days = chain.start + pd.to_timedelta(np.arange(chain.n_days), unit="D")
    weekday = days.day_of_week.to_numpy()
    day_weight = np.where(weekday == 5, 1.6, np.where(weekday == 6, 1.2, 1.0))
    doy = days.day_of_year.to_numpy()
    day_weight = day_weight * (1.0 + 0.5 * np.exp(-(((doy - 352) / 10.0) ** 2)))
    day = rng.choice(chain.n_days, size=n_v, p=day_weight / day_weight.sum())
    month = days.month.to_numpy()[day] - 1
    start = chain.start.to_datetime64().astype("datetime64[s]") + (
        day * 86_400 + rng.integers(9 * 3600, 20 * 3600, n_v)
    ).astype("timedelta64[s]")
    return month, start


def _season_logits(items: Items, popularity_exponent: float) -> tuple[np.ndarray, np.ndarray]:
    """Season bonus per (month, SKU) and the popularity part of every SKU's logit."""
    in_season = items.season[None, :] == _MONTH_SEASON[:, None]
    all_year = (items.season == SEASONS.index("all"))[None, :]
    bonus = np.where(all_year, 0.0, np.where(in_season, _SEASON_BONUS[0], _SEASON_BONUS[1])).astype(
        np.float32
    )
    return bonus, (popularity_exponent * items.log_pop).astype(np.float32)


def _browse(
    rng: np.random.Generator,
    visits: _Visits,
    tastes: Tastes,
    stocked: tuple[np.ndarray, np.ndarray],
    logits: tuple[np.ndarray, np.ndarray],
    k_max: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Gumbel top-k over each visit's store, one block of members at a time: the SKUs
    browsed, and how much the member likes each compared with the rest of the store."""
    stock, stock_valid = stocked
    season_bonus, base = logits
    n_v, n_users = len(visits.user), len(visits.per_member)
    chosen = np.empty((n_v, k_max), dtype=np.int64)
    affinity_z = np.empty((n_v, k_max), dtype=np.float32)
    bounds = np.concatenate([[0], np.cumsum(visits.per_member)])
    for b0 in range(0, n_users, _USER_BLOCK):
        b1 = min(b0 + _USER_BLOCK, n_users)
        v0, v1 = bounds[b0], bounds[b1]
        if v0 == v1:
            continue
        utility = tastes.users[b0:b1] @ tastes.items.T  # (block users, n_items)
        cand = stock[visits.store[v0:v1]]  # (visits, width)
        util = np.take_along_axis(utility[visits.user[v0:v1] - b0], cand, axis=1)
        valid = stock_valid[visits.store[v0:v1]]
        logit = util + base[cand] + season_bonus[visits.month[v0:v1, None], cand]
        u = rng.random(logit.shape, dtype=np.float32)
        key = np.where(valid, logit - np.log(-np.log(np.maximum(u, 1e-12))), -np.inf)
        top = np.argpartition(-key, k_max - 1, axis=1)[:, :k_max]
        order = np.argsort(-np.take_along_axis(key, top, axis=1), axis=1)
        top = np.take_along_axis(top, order, axis=1)
        chosen[v0:v1] = np.take_along_axis(cand, top, axis=1)
        mean = np.where(valid, util, 0.0).sum(axis=1) / valid.sum(axis=1)
        affinity_z[v0:v1] = np.take_along_axis(util, top, axis=1) - mean[:, None]
    return chosen, affinity_z


def _funnel(
    rng: np.random.Generator, visits: _Visits, chosen: np.ndarray, affinity: np.ndarray
) -> list[tuple[np.ndarray, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Every browsed SKU is viewed; some go to the cart; some are bought (rarely with a
    coupon). One part per kind: (mask, kind code, value, time, visit of, SKU)."""
    k_max = chosen.shape[1]
    keep = np.arange(k_max)[None, :] < visits.size[:, None]
    visit_of, slot = np.nonzero(keep)
    item = chosen[keep]
    z = affinity[keep].astype(np.float64)
    z = (z - z.mean()) / (z.std() or 1.0) if len(z) else z
    n_b = len(item)
    dwell = np.clip(np.round(np.exp(rng.normal(2.6 + 0.35 * z, 0.6)), 1), 2.0, 600.0)
    carted = rng.random(n_b) < _sigmoid(-1.2 + 0.8 * z)
    bought = np.where(carted, rng.random(n_b) < 0.6, rng.random(n_b) < _sigmoid(-2.8 + 0.8 * z))
    quantity = 1.0 + (rng.random(n_b) < 0.12)
    coupon = bought & (rng.random(n_b) < 0.04)
    start = visits.start[visit_of]
    view_t = start + (slot * 90 + rng.integers(0, 60, n_b)).astype("timedelta64[s]")
    cart_t = view_t + (np.ceil(dwell).astype(np.int64) + rng.integers(5, 60, n_b)).astype(
        "timedelta64[s]"
    )
    till_t = start + (k_max * 90 + 600 + rng.integers(0, 600, len(visits.user))[visit_of]).astype(
        "timedelta64[s]"
    )
    code = {kind: i for i, kind in enumerate(EventKind.ALL)}
    return [
        (np.ones(n_b, bool), code[EventKind.VIEW], dwell, view_t, visit_of, item),
        (carted, code[EventKind.CART], np.ones(n_b), cart_t, visit_of, item),
        (bought, code[EventKind.PURCHASE], quantity, till_t, visit_of, item),
        (coupon, code[EventKind.COUPON], np.ones(n_b), till_t, visit_of, item),
    ]


def _assemble(
    visits: _Visits,
    parts: list[tuple[np.ndarray, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
) -> dict[str, np.ndarray]:
    """One table of every event, sorted by time, member, SKU and kind."""
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("user", "store", "item", "kind")}
    cols.update(value=[], timestamp=[])
    for mask, kind, value, time, visit_of, item in parts:
        cols["user"].append(visits.user[visit_of][mask])
        cols["store"].append(visits.store[visit_of][mask])
        cols["item"].append(item[mask])
        cols["kind"].append(np.full(int(mask.sum()), kind, dtype=np.int64))
        cols["value"].append(value[mask].astype(np.float64))
        cols["timestamp"].append(time[mask])
    out = {name: np.concatenate(arrays) for name, arrays in cols.items()}
    order = np.lexsort((out["kind"], out["item"], out["user"], out["timestamp"]))
    return {name: values[order] for name, values in out.items()}


def simulate_events(
    rng: np.random.Generator, members: Members, items: Items, tastes: Tastes, chain: Chain
) -> dict[str, np.ndarray]:
    """A year of events of the chain: ``user, store, item, kind, value, timestamp`` arrays."""
    stock, stock_valid, stock_size = _stock(chain.assortment)
    user, store, per_member = _visits(rng, members, chain)
    month, start = _visit_times(rng, chain, len(user))
    size = 1 + rng.poisson(chain.items_per_visit - 1.0, len(user))
    size = np.minimum(size, np.minimum(_MAX_ITEMS_PER_VISIT, stock_size[store]))
    visits = _Visits(user, store, per_member, month, start, size)
    k_max = int(min(_MAX_ITEMS_PER_VISIT, stock.shape[1]))
    logits = _season_logits(items, chain.popularity_exponent)
    chosen, affinity = _browse(rng, visits, tastes, (stock, stock_valid), logits, k_max)
    return _assemble(visits, _funnel(rng, visits, chosen, affinity))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))
