"""A synthetic fashion chain: members with tags, SKUs, store assortments and a year of events.

The generator is the embedded default for demos and tests. Its structure is what the rest of
recsys relies on:

* members carry tags (``age_band``, ``gender``, ``family``, ``tier``, ``home_area``) and a
  latent taste built from them (sum of one embedding per tag value, plus noise, plus explicit
  gender / kids / price-tier effects), so a profile alone predicts what a member likes;
* SKUs have a fashion category, a tiered price, a season and a Zipf-like popularity;
* every store stocks ``items_per_store`` SKUs chosen with a regional bias, and members mostly
  visit the stores of their home area;
* a visit browses a few stocked SKUs (Gumbel top-k sampling over the store's assortment, with
  in-season SKUs favoured by month); each browsed SKU gives a ``view`` (dwell seconds), maybe a
  ``cart`` add, maybe a ``purchase`` (quantity 1 or 2), rarely a ``coupon``.

Everything is vectorized over blocks of members; the same seed gives the same frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys.columns import Columns, EventKind
from recsys.datasets._bundle import TIMESTAMP_DTYPE, RetailData, counts_report
from recsys.exceptions import InvalidInputError

#: Season labels used in the catalog's ``season`` column (``all`` = all year).
SEASONS: tuple[str, ...] = ("spring", "summer", "autumn", "winter", "all")
# Meteorological seasons (northern hemisphere): month 1..12 -> index into SEASONS.
_MONTH_SEASON = np.array([3, 3, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3])

# category: (catalog weight, base price, P(women, men, unisex), P(season) over SEASONS, noun)
_CATEGORIES: dict[str, tuple[float, float, tuple[float, ...], tuple[float, ...], str]] = {
    "t-shirts": (10, 19, (0.45, 0.40, 0.15), (0.20, 0.40, 0.05, 0.00, 0.35), "T-Shirt"),
    "shirts": (9, 39, (0.40, 0.50, 0.10), (0.25, 0.20, 0.20, 0.05, 0.30), "Shirt"),
    "jeans": (8, 59, (0.50, 0.45, 0.05), (0.10, 0.05, 0.15, 0.05, 0.65), "Jeans"),
    "trousers": (7, 49, (0.50, 0.50, 0.00), (0.20, 0.15, 0.20, 0.10, 0.35), "Trousers"),
    "dresses": (8, 59, (1.00, 0.00, 0.00), (0.30, 0.40, 0.10, 0.05, 0.15), "Dress"),
    "skirts": (4, 39, (1.00, 0.00, 0.00), (0.30, 0.35, 0.15, 0.05, 0.15), "Skirt"),
    "jackets": (6, 89, (0.45, 0.45, 0.10), (0.35, 0.05, 0.40, 0.10, 0.10), "Jacket"),
    "coats": (4, 149, (0.50, 0.45, 0.05), (0.00, 0.00, 0.35, 0.60, 0.05), "Coat"),
    "knitwear": (7, 55, (0.55, 0.40, 0.05), (0.10, 0.00, 0.40, 0.45, 0.05), "Sweater"),
    "shoes": (7, 79, (0.50, 0.40, 0.10), (0.20, 0.15, 0.20, 0.15, 0.30), "Shoes"),
    "sneakers": (5, 89, (0.35, 0.35, 0.30), (0.15, 0.15, 0.10, 0.05, 0.55), "Sneakers"),
    "accessories": (8, 19, (0.50, 0.20, 0.30), (0.10, 0.20, 0.15, 0.25, 0.30), "Scarf"),
    "bags": (4, 49, (0.70, 0.10, 0.20), (0.10, 0.10, 0.10, 0.10, 0.60), "Bag"),
    "kids": (8, 25, (0.00, 0.00, 1.00), (0.20, 0.25, 0.20, 0.20, 0.15), "Kids Set"),
    "sportswear": (5, 39, (0.45, 0.45, 0.10), (0.20, 0.25, 0.15, 0.05, 0.35), "Track Top"),
    "swimwear": (3, 29, (0.60, 0.40, 0.00), (0.05, 0.90, 0.00, 0.00, 0.05), "Swimsuit"),
    "underwear": (4, 15, (0.50, 0.50, 0.00), (0.00, 0.00, 0.00, 0.00, 1.00), "Briefs"),
}
_AUDIENCES = ("women", "men", "unisex")
_LINES = ("basic", "mid", "premium")
_LINE_P = (0.5, 0.35, 0.15)
_LINE_MULT = (1.0, 1.6, 2.6)
_COLORS = ("Black", "White", "Navy", "Grey", "Beige", "Olive", "Red", "Blue", "Pink", "Brown")
_FITS = ("Slim", "Relaxed", "Classic", "Cropped", "Oversized", "Soft", "Linen", "Wool")

# member tags: column -> (values, probabilities); family depends on age (see _member_tags)
AGE_BANDS: tuple[str, ...] = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
_AGE_P = (0.14, 0.24, 0.22, 0.18, 0.13, 0.09)
GENDERS: tuple[str, ...] = ("female", "male", "unspecified")
_GENDER_P = (0.56, 0.40, 0.04)
FAMILIES: tuple[str, ...] = ("single", "couple", "kids")
_P_KIDS_BY_AGE = np.array([0.05, 0.30, 0.55, 0.45, 0.15, 0.05])
TIERS: tuple[str, ...] = ("basic", "silver", "gold")
_TIER_P = (0.6, 0.3, 0.1)
_AREA_NAMES = ("north", "south", "east", "west", "central", "coast", "metro", "valley")
#: Tag columns of the synthetic ``profiles`` frame.
PROFILE_TAGS: tuple[str, ...] = ("age_band", "gender", "family", "tier", "home_area")

# strengths of the explicit tag effects on the utility of a SKU (logit scale)
_GENDER_EFFECT = 1.5  # female x women's SKU: +1.5, male x women's SKU: -1.5
_KIDS_EFFECT = 2.0  # family=kids x kids SKU: +2.0, other families: -1.0
_TIER_PRICE_EFFECT = (-0.6, 0.0, 0.6)  # x standardized log price
_SEASON_BONUS = (0.8, -1.5)  # in season, out of season ("all" = 0)
_MAX_ITEMS_PER_VISIT = 8
_USER_BLOCK = 1024


def synthetic_retail(
    n_users: int = 5000,
    n_items: int = 2000,
    n_stores: int = 20,
    seed: int = 0,
    items_per_store: tuple[int, int] = (400, 500),
    n_days: int = 365,
    start: str | pd.Timestamp = "2025-11-23",
    *,
    visits_per_member: float = 8.0,
    items_per_visit: float = 2.5,
    n_factors: int = 16,
    taste_noise: float = 0.5,
    popularity_exponent: float = 0.7,
    regional_bias: float = 1.0,
) -> RetailData:
    """Generate a fashion chain's members, SKUs, store assortments and a year of events.

    Parameters
    ----------
    n_users, n_items, n_stores : int
        Members (``u0`` ...), SKUs (``sku0`` ...) and stores (``s0`` ...).
    seed : int
        Seed of the single random generator: the same arguments give identical frames.
    items_per_store : (int, int)
        Inclusive range of each store's assortment size (clipped to ``n_items``).
    n_days, start : int, str or pandas.Timestamp
        Length in days and first day of the event period: ``[start, start + n_days)``.
    visits_per_member, items_per_visit : float
        Mean store visits per member over the period (activity is Gamma distributed, so some
        members only have a profile) and mean SKUs engaged with per visit (1 to 8).
    n_factors, taste_noise : int, float
        Dimension of the latent taste space; standard deviation of a taste's personal part
        relative to its tag part (0 = members with equal tags have equal tastes).
    popularity_exponent, regional_bias : float
        Exponent of the Zipf-like item popularity, and how strongly a store's assortment
        follows its area's taste (0: no bias of either kind).

    Returns
    -------
    RetailData
        ``interactions`` (about 30 events per member with the defaults: views with dwell
        seconds, cart adds, purchases with quantity 1 or 2, rare coupons), ``catalog``
        (``item_id, category, price, season, name, tags, audience, line``), ``stores``
        (``store_id, item_id, area``: the assortment), ``profiles`` (``user_id`` and
        the tags ``age_band, gender, family, tier, home_area``) and ``report`` (counts).

    Raises
    ------
    InvalidInputError
        If a size is not positive or ``items_per_store`` is not an increasing pair.

    Examples
    --------
    >>> from recsys.datasets import synthetic_retail
    >>> data = synthetic_retail(n_users=300, n_items=400, n_stores=5, seed=1,
    ...                         items_per_store=(150, 200))
    >>> sorted(data.interactions["kind"].unique())
    ['cart', 'coupon', 'purchase', 'view']
    >>> list(data.profiles.columns)
    ['user_id', 'age_band', 'gender', 'family', 'tier', 'home_area']
    >>> data.stores.groupby("store_id").size().between(150, 200).all()
    np.True_
    """
    lo, hi = _validate(n_users, n_items, n_stores, items_per_store, n_days, n_factors)
    for name, value in (("visits_per_member", visits_per_member), ("taste_noise", taste_noise)):
        if not value >= 0:
            raise InvalidInputError(f"{name} must be >= 0, got {value!r}")
    if not items_per_visit >= 1:
        raise InvalidInputError(f"items_per_visit must be >= 1, got {items_per_visit!r}")
    start_ts = pd.Timestamp(start).normalize()
    rng = np.random.default_rng(seed)

    n_areas = int(np.clip(n_stores // 4, 1, 8))
    area_names = [
        _AREA_NAMES[a] if a < len(_AREA_NAMES) else f"area{a + 1}" for a in range(n_areas)
    ]
    store_area = np.arange(n_stores) % n_areas

    items = _items(rng, n_items, n_factors)
    members = _member_tags(rng, n_users, store_area, n_areas)
    tastes = _tastes(rng, members, items, n_areas, n_factors, taste_noise)
    assortment = _assortment(
        rng, items, tastes.area_emb, store_area, lo, hi, popularity_exponent, regional_bias
    )
    events = _events(
        rng,
        members,
        items,
        tastes,
        assortment,
        store_area,
        n_areas,
        n_days,
        start_ts,
        visits_per_member,
        items_per_visit,
        popularity_exponent,
    )

    user_ids = _labels("u", n_users)
    item_ids = _labels("sku", n_items)
    store_ids = _labels("s", n_stores)
    interactions = pd.DataFrame(
        {
            Columns.USER: _str_series(user_ids[events["user"]]),
            Columns.ITEM: _str_series(item_ids[events["item"]]),
            Columns.KIND: _str_series(np.asarray(EventKind.ALL, dtype=object)[events["kind"]]),
            Columns.VALUE: events["value"],
            Columns.TIMESTAMP: pd.to_datetime(events["timestamp"]).astype(TIMESTAMP_DTYPE),
            Columns.STORE: _str_series(store_ids[events["store"]]),
        }
    )
    catalog = pd.DataFrame(
        {
            Columns.ITEM: _str_series(item_ids),
            Columns.CATEGORY: _str_series(items.category_names[items.category]),
            Columns.PRICE: items.price,
            Columns.SEASON: _str_series(np.asarray(SEASONS, dtype=object)[items.season]),
            Columns.NAME: _str_series(items.names),
            Columns.TAGS: _str_series(items.tags),
            "audience": _str_series(np.asarray(_AUDIENCES, dtype=object)[items.audience]),
            "line": _str_series(np.asarray(_LINES, dtype=object)[items.line]),
        }
    )
    store_of_row, item_of_row = assortment.nonzero()
    stores = pd.DataFrame(
        {
            Columns.STORE: _str_series(store_ids[store_of_row]),
            Columns.ITEM: _str_series(item_ids[item_of_row]),
            "area": _str_series(np.asarray(area_names, dtype=object)[store_area[store_of_row]]),
        }
    )
    profiles = pd.DataFrame({Columns.USER: _str_series(user_ids)})
    for column, values, codes in (
        ("age_band", AGE_BANDS, members.age),
        ("gender", GENDERS, members.gender),
        ("family", FAMILIES, members.family),
        ("tier", TIERS, members.tier),
        ("home_area", area_names, members.area),
    ):
        profiles[column] = _str_series(np.asarray(values, dtype=object)[codes])

    report = {"rows_read": len(interactions)}
    report.update(counts_report(interactions, catalog, stores, profiles))
    kind_counts = np.bincount(events["kind"], minlength=len(EventKind.ALL))
    report.update({f"n_{kind}": int(c) for kind, c in zip(EventKind.ALL, kind_counts, strict=True)})
    return RetailData(interactions, catalog, stores, profiles, report, name="synthetic")


# --------------------------------------------------------------------------- building blocks


@dataclass(frozen=True)
class _Items:
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


@dataclass(frozen=True)
class _Members:
    """Member tag codes (indices into the tag value tuples) and home store."""

    age: np.ndarray
    gender: np.ndarray
    family: np.ndarray
    tier: np.ndarray
    area: np.ndarray
    primary_store: np.ndarray


@dataclass(frozen=True)
class _Tastes:
    """Vectors whose dot product is a member's utility for a SKU (before season/popularity)."""

    users: np.ndarray  # (n_users, n_factors + 3): latent taste + explicit effect weights
    items: np.ndarray  # (n_items, n_factors + 3): latent vector + explicit attributes
    area_emb: np.ndarray  # (n_areas, n_factors)


def _validate(
    n_users: int,
    n_items: int,
    n_stores: int,
    items_per_store: Sequence[int],
    n_days: int,
    n_factors: int,
) -> tuple[int, int]:
    for name, value in (
        ("n_users", n_users),
        ("n_items", n_items),
        ("n_stores", n_stores),
        ("n_days", n_days),
        ("n_factors", n_factors),
    ):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise InvalidInputError(f"{name} must be a positive integer, got {value!r}")
    try:
        lo, hi = (int(v) for v in items_per_store)
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"items_per_store must be a pair (min, max), got {items_per_store!r}"
        ) from None
    if not 1 <= lo <= hi:
        raise InvalidInputError(f"items_per_store must satisfy 1 <= min <= max, got {(lo, hi)}")
    return min(lo, n_items), min(hi, n_items)


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probs`` (rows sum to 1), vectorized."""
    cum = np.cumsum(probs, axis=1)
    r = rng.random((probs.shape[0], 1)) * cum[:, -1:]
    return np.minimum((r >= cum).sum(axis=1), probs.shape[1] - 1)


def _items(rng: np.random.Generator, n_items: int, n_factors: int) -> _Items:
    """The SKUs: attributes, popularity, latent vectors and labels, drawn in that order."""
    names = list(_CATEGORIES)
    category, audience, season, line, price = _item_attributes(rng, n_items)
    log_price = np.log(price)
    price_z = (log_price - log_price.mean()) / (log_price.std() or 1.0)

    # Zipf-like popularity: a random item order, weight 1 / rank^a (a applied later)
    rank = rng.permutation(n_items) + 1
    log_pop = -np.log(rank)

    cat_emb = rng.normal(0.0, 1.0, (len(names), n_factors))
    vectors = cat_emb[category] + 0.6 * rng.normal(0.0, 1.0, (n_items, n_factors))

    item_names, tags = _item_labels(rng, category, audience, line)
    return _Items(
        category=category,
        category_names=np.asarray(names, dtype=object),
        audience=audience,
        season=season,
        line=line,
        price=price.astype(np.float64),
        price_z=price_z,
        log_pop=log_pop,
        vectors=vectors,
        names=item_names,
        tags=tags,
    )


def _item_attributes(rng: np.random.Generator, n_items: int) -> tuple[np.ndarray, ...]:
    """(category, audience, season, line, price) codes and values of each SKU."""
    spec = list(_CATEGORIES.values())
    weights = np.array([s[0] for s in spec], dtype=float)
    base_price = np.array([s[1] for s in spec])
    audience_p = np.array([s[2] for s in spec])
    season_p = np.array([s[3] for s in spec])

    category = rng.choice(len(spec), size=n_items, p=weights / weights.sum())
    audience = _choice_rows(rng, audience_p[category])
    season = _choice_rows(rng, season_p[category])
    line = rng.choice(len(_LINES), size=n_items, p=_LINE_P)
    price = base_price[category] * np.asarray(_LINE_MULT)[line] * rng.lognormal(0, 0.12, n_items)
    price = np.maximum(np.floor(price), 4.0) + 0.95
    return category, audience, season, line, price


def _item_labels(
    rng: np.random.Generator, category: np.ndarray, audience: np.ndarray, line: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(display name, ``audience|colour|line`` tags) of each SKU, with a drawn colour and fit."""
    n_items = len(category)
    nouns = np.array([s[4] for s in _CATEGORIES.values()], dtype=object)
    color = rng.integers(0, len(_COLORS), n_items)
    fit = rng.integers(0, len(_FITS), n_items)
    colors = np.asarray(_COLORS, dtype=object)[color]
    fits = np.asarray(_FITS, dtype=object)[fit]
    prefix = np.where(audience == 0, "Women's ", np.where(audience == 1, "Men's ", "")).astype(
        object
    )
    item_names = prefix + fits + " " + colors + " " + nouns[category]
    tags = (
        np.asarray(_AUDIENCES, dtype=object)[audience]
        + "|"
        + np.char.lower(colors.astype(str)).astype(object)
        + "|"
        + np.asarray(_LINES, dtype=object)[line]
    )
    return item_names, tags


def _member_tags(
    rng: np.random.Generator, n_users: int, store_area: np.ndarray, n_areas: int
) -> _Members:
    age = rng.choice(len(AGE_BANDS), size=n_users, p=_AGE_P)
    gender = rng.choice(len(GENDERS), size=n_users, p=_GENDER_P)
    p_kids = _P_KIDS_BY_AGE[age]
    p_couple = (1.0 - p_kids) * 0.45
    family = _choice_rows(rng, np.column_stack([1.0 - p_kids - p_couple, p_couple, p_kids]))
    tier = rng.choice(len(TIERS), size=n_users, p=_TIER_P)
    stores_per_area = np.bincount(store_area, minlength=n_areas)
    area = rng.choice(n_areas, size=n_users, p=stores_per_area / stores_per_area.sum())
    primary_store = _store_in_area(rng, area, store_area, n_areas)
    return _Members(
        age=age, gender=gender, family=family, tier=tier, area=area, primary_store=primary_store
    )


def _store_in_area(
    rng: np.random.Generator, area: np.ndarray, store_area: np.ndarray, n_areas: int
) -> np.ndarray:
    """A uniformly random store of each given area."""
    order = np.argsort(store_area, kind="stable")
    counts = np.bincount(store_area, minlength=n_areas)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pick = (rng.random(len(area)) * counts[area]).astype(np.int64)
    return order[offsets[area] + pick]


def _tastes(
    rng: np.random.Generator,
    members: _Members,
    items: _Items,
    n_areas: int,
    n_factors: int,
    taste_noise: float,
) -> _Tastes:
    # taste = sum of one embedding per tag value + personal noise (then scaled)
    area_emb = rng.normal(0.0, 1.0, (n_areas, n_factors))
    taste = (
        rng.normal(0.0, 1.0, (len(AGE_BANDS), n_factors))[members.age]
        + rng.normal(0.0, 1.0, (len(GENDERS), n_factors))[members.gender]
        + rng.normal(0.0, 1.0, (len(FAMILIES), n_factors))[members.family]
        + rng.normal(0.0, 0.5, (len(TIERS), n_factors))[members.tier]
        + area_emb[members.area]
    )
    taste = taste + taste_noise * np.sqrt(5.0) * rng.normal(0.0, 1.0, taste.shape)
    # scale so the latent part of the utility has unit standard deviation
    latent_sd = (
        np.linalg.norm(taste, axis=1).mean()
        * np.linalg.norm(items.vectors, axis=1).mean()
        / np.sqrt(n_factors)
    )
    taste = taste / latent_sd

    gender_sign = np.array([1.0, -1.0, 0.0])[members.gender]  # female +, male -
    audience_sign = np.array([1.0, -1.0, 0.0])[items.audience]  # women's +, men's -
    kids_weight = np.where(members.family == 2, _KIDS_EFFECT, -_KIDS_EFFECT / 2)
    is_kids = (items.category_names[items.category] == "kids").astype(float)
    tier_weight = np.asarray(_TIER_PRICE_EFFECT)[members.tier]
    users = np.column_stack([taste, _GENDER_EFFECT * gender_sign, kids_weight, tier_weight])
    item_vecs = np.column_stack([items.vectors, audience_sign, is_kids, items.price_z])
    return _Tastes(
        users=users.astype(np.float32),
        items=item_vecs.astype(np.float32),
        area_emb=area_emb,
    )


def _assortment(
    rng: np.random.Generator,
    items: _Items,
    area_emb: np.ndarray,
    store_area: np.ndarray,
    lo: int,
    hi: int,
    popularity_exponent: float,
    regional_bias: float,
) -> np.ndarray:
    """Boolean (n_stores, n_items): each store stocks lo..hi SKUs (Gumbel top-k, no loop)."""
    n_stores, n_items = len(store_area), len(items.price)
    sizes = rng.integers(lo, hi + 1, n_stores)
    affinity = area_emb @ items.vectors.T / np.sqrt(area_emb.shape[1])
    area_sd = affinity.std() or 1.0
    key = (
        0.6 * popularity_exponent * items.log_pop[None, :]
        + regional_bias * (affinity / area_sd)[store_area]
        + rng.gumbel(size=(n_stores, n_items))
    )
    rank = np.argsort(np.argsort(-key, axis=1), axis=1)
    return rank < sizes[:, None]


def _events(
    rng: np.random.Generator,
    members: _Members,
    items: _Items,
    tastes: _Tastes,
    assortment: np.ndarray,
    store_area: np.ndarray,
    n_areas: int,
    n_days: int,
    start: pd.Timestamp,
    visits_per_member: float,
    items_per_visit: float,
    popularity_exponent: float,
) -> dict[str, np.ndarray]:
    n_users = len(members.age)
    n_stores = assortment.shape[0]

    # store assortments as padded index rows
    stock_size = assortment.sum(axis=1)
    width = int(stock_size.max())
    stock = np.zeros((n_stores, width), dtype=np.int64)
    stock_valid = np.arange(width)[None, :] < stock_size[:, None]
    stock[stock_valid] = np.nonzero(assortment)[1]

    # visits: Gamma-distributed activity, Poisson count per member (sorted by member)
    shape = 1.2
    activity = rng.gamma(shape, visits_per_member / shape, n_users)
    n_visits = rng.poisson(activity)
    visit_user = np.repeat(np.arange(n_users), n_visits)
    n_v = len(visit_user)

    # where: primary store, another store of the home area, or anywhere
    r = rng.random(n_v)
    other_home = _store_in_area(rng, members.area[visit_user], store_area, n_areas)
    anywhere = rng.integers(0, n_stores, n_v)
    visit_store = np.where(
        r < 0.65, members.primary_store[visit_user], np.where(r < 0.9, other_home, anywhere)
    )

    # when: weekends busier, a December peak; 09:00-20:00 opening hours
    days = start + pd.to_timedelta(np.arange(n_days), unit="D")
    weekday = days.day_of_week.to_numpy()
    day_weight = np.where(weekday == 5, 1.6, np.where(weekday == 6, 1.2, 1.0))
    doy = days.day_of_year.to_numpy()
    day_weight = day_weight * (1.0 + 0.5 * np.exp(-(((doy - 352) / 10.0) ** 2)))
    visit_day = rng.choice(n_days, size=n_v, p=day_weight / day_weight.sum())
    visit_month = days.month.to_numpy()[visit_day] - 1
    visit_start = start.to_datetime64().astype("datetime64[s]") + (
        visit_day * 86_400 + rng.integers(9 * 3600, 20 * 3600, n_v)
    ).astype("timedelta64[s]")

    # how many SKUs each visit engages with (1..8, never more than the store stocks)
    k_visit = 1 + rng.poisson(items_per_visit - 1.0, n_v)
    k_visit = np.minimum(k_visit, np.minimum(_MAX_ITEMS_PER_VISIT, stock_size[visit_store]))
    k_max = int(min(_MAX_ITEMS_PER_VISIT, width))

    # season bonus per month and item
    season_of_month = _MONTH_SEASON[:, None]
    in_season = items.season[None, :] == season_of_month
    all_year = (items.season == SEASONS.index("all"))[None, :]
    season_bonus = np.where(
        all_year, 0.0, np.where(in_season, _SEASON_BONUS[0], _SEASON_BONUS[1])
    ).astype(np.float32)
    base = (popularity_exponent * items.log_pop).astype(np.float32)

    # browse: Gumbel top-k over the store's assortment, one block of members at a time
    chosen = np.empty((n_v, k_max), dtype=np.int64)
    affinity_z = np.empty((n_v, k_max), dtype=np.float32)
    visit_bounds = np.concatenate([[0], np.cumsum(n_visits)])
    for b0 in range(0, n_users, _USER_BLOCK):
        b1 = min(b0 + _USER_BLOCK, n_users)
        v0, v1 = visit_bounds[b0], visit_bounds[b1]
        if v0 == v1:
            continue
        utility = tastes.users[b0:b1] @ tastes.items.T  # (block users, n_items)
        cand = stock[visit_store[v0:v1]]  # (visits, width)
        util = np.take_along_axis(utility[visit_user[v0:v1] - b0], cand, axis=1)
        valid = stock_valid[visit_store[v0:v1]]
        logit = util + base[cand] + season_bonus[visit_month[v0:v1, None], cand]
        u = rng.random(logit.shape, dtype=np.float32)
        key = np.where(valid, logit - np.log(-np.log(np.maximum(u, 1e-12))), -np.inf)
        top = np.argpartition(-key, k_max - 1, axis=1)[:, :k_max]
        order = np.argsort(-np.take_along_axis(key, top, axis=1), axis=1)
        top = np.take_along_axis(top, order, axis=1)
        chosen[v0:v1] = np.take_along_axis(cand, top, axis=1)
        # how much the member likes the SKU compared with the rest of the store
        mean = np.where(valid, util, 0.0).sum(axis=1) / valid.sum(axis=1)
        affinity_z[v0:v1] = np.take_along_axis(util, top, axis=1) - mean[:, None]

    keep = np.arange(k_max)[None, :] < k_visit[:, None]
    visit_of = np.nonzero(keep)[0]
    slot = np.nonzero(keep)[1]
    item = chosen[keep]
    z = affinity_z[keep].astype(np.float64)
    z = (z - z.mean()) / (z.std() or 1.0) if len(z) else z
    n_b = len(item)

    # the funnel: every browsed SKU is viewed; some go to the cart; some are bought
    dwell = np.clip(np.round(np.exp(rng.normal(2.6 + 0.35 * z, 0.6)), 1), 2.0, 600.0)
    carted = rng.random(n_b) < _sigmoid(-1.2 + 0.8 * z)
    bought = np.where(carted, rng.random(n_b) < 0.6, rng.random(n_b) < _sigmoid(-2.8 + 0.8 * z))
    quantity = 1.0 + (rng.random(n_b) < 0.12)
    coupon = bought & (rng.random(n_b) < 0.04)

    view_t = visit_start[visit_of] + (slot * 90 + rng.integers(0, 60, n_b)).astype("timedelta64[s]")
    cart_t = view_t + (np.ceil(dwell).astype(np.int64) + rng.integers(5, 60, n_b)).astype(
        "timedelta64[s]"
    )
    till_t = visit_start[visit_of] + (
        k_max * 90 + 600 + rng.integers(0, 600, n_v)[visit_of]
    ).astype("timedelta64[s]")

    kind_code = {kind: i for i, kind in enumerate(EventKind.ALL)}
    parts = [
        (np.ones(n_b, bool), kind_code[EventKind.VIEW], dwell, view_t),
        (carted, kind_code[EventKind.CART], np.ones(n_b), cart_t),
        (bought, kind_code[EventKind.PURCHASE], quantity, till_t),
        (coupon, kind_code[EventKind.COUPON], np.ones(n_b), till_t),
    ]
    user = np.concatenate([visit_user[visit_of][m] for m, *_ in parts])
    store = np.concatenate([visit_store[visit_of][m] for m, *_ in parts])
    item_all = np.concatenate([item[m] for m, *_ in parts])
    kind = np.concatenate([np.full(int(m.sum()), k, dtype=np.int64) for m, k, *_ in parts])
    value = np.concatenate([v[m] for m, _, v, _ in parts]).astype(np.float64)
    timestamp = np.concatenate([t[m] for m, _, _, t in parts])
    order = np.lexsort((kind, item_all, user, timestamp))
    return {
        "user": user[order],
        "store": store[order],
        "item": item_all[order],
        "kind": kind[order],
        "value": value[order],
        "timestamp": timestamp[order],
    }


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _labels(prefix: str, n: int) -> np.ndarray:
    return np.array([f"{prefix}{i}" for i in range(n)], dtype=object)


def _str_series(values: np.ndarray) -> pd.Series:
    return pd.Series(values, dtype="str")
