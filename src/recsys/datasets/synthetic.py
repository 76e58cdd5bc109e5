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

import numpy as np
import pandas as pd

from recsys.columns import Columns, EventKind
from recsys.datasets._bundle import TIMESTAMP_DTYPE, RetailData, counts_report
from recsys.datasets._shopping import (
    SEASONS,
    Chain,
    Items,
    Members,
    Tastes,
    simulate_events,
    store_in_area,
)
from recsys.exceptions import InvalidInputError

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
    _validate_rates(visits_per_member, taste_noise, items_per_visit)
    rng = np.random.default_rng(seed)
    n_areas = int(np.clip(n_stores // 4, 1, 8))
    store_area = np.arange(n_stores) % n_areas
    items = _items(rng, n_items, n_factors)
    members = _member_tags(rng, n_users, store_area, n_areas)
    tastes = _tastes(rng, members, items, n_areas, n_factors, taste_noise)
    assortment = _assortment(
        rng, items, tastes.area_emb, store_area, lo, hi, popularity_exponent, regional_bias
    )
    rates = (visits_per_member, items_per_visit, popularity_exponent)
    chain = Chain(assortment, store_area, n_areas, n_days, pd.Timestamp(start).normalize(), *rates)
    events = simulate_events(rng, members, items, tastes, chain)
    names = [_AREA_NAMES[a] if a < len(_AREA_NAMES) else f"area{a + 1}" for a in range(n_areas)]
    return _bundle(events, items, members, chain, names)


# --------------------------------------------------------------------------- frames


def _bundle(
    events: dict[str, np.ndarray],
    items: Items,
    members: Members,
    chain: Chain,
    area_names: list[str],
) -> RetailData:
    """The generated arrays as the four frames of a :class:`RetailData`, plus counts."""
    n_stores, n_items = chain.assortment.shape
    user_ids = _labels("u", len(members.age))
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
    store_of_row, item_of_row = chain.assortment.nonzero()
    areas = np.asarray(area_names, dtype=object)
    stores = pd.DataFrame(
        {
            Columns.STORE: _str_series(store_ids[store_of_row]),
            Columns.ITEM: _str_series(item_ids[item_of_row]),
            "area": _str_series(areas[chain.store_area[store_of_row]]),
        }
    )
    catalog = _catalog(items, item_ids)
    profiles = _profiles(members, user_ids, area_names)
    report = {"rows_read": len(interactions)}
    report.update(counts_report(interactions, catalog, stores, profiles))
    kind_counts = np.bincount(events["kind"], minlength=len(EventKind.ALL))
    report.update({f"n_{kind}": int(c) for kind, c in zip(EventKind.ALL, kind_counts, strict=True)})
    return RetailData(interactions, catalog, stores, profiles, report, name="synthetic")


def _catalog(items: Items, item_ids: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            Columns.ITEM: _str_series(item_ids),
            Columns.CATEGORY: _str_series(items.category_names[items.category]),
            Columns.PRICE: items.price,
            Columns.SEASON: _str_series(np.asarray(SEASONS, dtype=object)[items.season]),
            Columns.NAME: _str_series(items.names),
            Columns.TAGS: _str_series(items.tags),
            Columns.GROUP: _str_series(items.styles),
            "audience": _str_series(np.asarray(_AUDIENCES, dtype=object)[items.audience]),
            "line": _str_series(np.asarray(_LINES, dtype=object)[items.line]),
        }
    )


def _profiles(members: Members, user_ids: np.ndarray, area_names: list[str]) -> pd.DataFrame:
    profiles = pd.DataFrame({Columns.USER: _str_series(user_ids)})
    for column, values, codes in (
        ("age_band", AGE_BANDS, members.age),
        ("gender", GENDERS, members.gender),
        ("family", FAMILIES, members.family),
        ("tier", TIERS, members.tier),
        ("home_area", area_names, members.area),
    ):
        profiles[column] = _str_series(np.asarray(values, dtype=object)[codes])
    return profiles


# --------------------------------------------------------------------------- building blocks


def _validate_rates(visits_per_member: float, taste_noise: float, items_per_visit: float) -> None:
    for name, value in (("visits_per_member", visits_per_member), ("taste_noise", taste_noise)):
        if not value >= 0:
            raise InvalidInputError(f"{name} must be >= 0, got {value!r}")
    if not items_per_visit >= 1:
        raise InvalidInputError(f"items_per_visit must be >= 1, got {items_per_visit!r}")


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


def _items(rng: np.random.Generator, n_items: int, n_factors: int) -> Items:
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

    item_names, tags, styles = _item_labels(rng, category, audience, line)
    return Items(
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
        styles=styles,
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
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(display name, ``audience|colour|line`` tags, style) of each SKU, with a drawn colour
    and fit; the colours of one style are its variants."""
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
    # a style: the same cut of the same garment for the same audience, in any colour
    styles = prefix + fits + " " + nouns[category]
    tags = (
        np.asarray(_AUDIENCES, dtype=object)[audience]
        + "|"
        + np.char.lower(colors.astype(str)).astype(object)
        + "|"
        + np.asarray(_LINES, dtype=object)[line]
    )
    return item_names, tags, styles


def _member_tags(
    rng: np.random.Generator, n_users: int, store_area: np.ndarray, n_areas: int
) -> Members:
    age = rng.choice(len(AGE_BANDS), size=n_users, p=_AGE_P)
    gender = rng.choice(len(GENDERS), size=n_users, p=_GENDER_P)
    p_kids = _P_KIDS_BY_AGE[age]
    p_couple = (1.0 - p_kids) * 0.45
    family = _choice_rows(rng, np.column_stack([1.0 - p_kids - p_couple, p_couple, p_kids]))
    tier = rng.choice(len(TIERS), size=n_users, p=_TIER_P)
    stores_per_area = np.bincount(store_area, minlength=n_areas)
    area = rng.choice(n_areas, size=n_users, p=stores_per_area / stores_per_area.sum())
    primary_store = store_in_area(rng, area, store_area, n_areas)
    return Members(
        age=age, gender=gender, family=family, tier=tier, area=area, primary_store=primary_store
    )


def _tastes(
    rng: np.random.Generator,
    members: Members,
    items: Items,
    n_areas: int,
    n_factors: int,
    taste_noise: float,
) -> Tastes:
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
    return Tastes(
        users=users.astype(np.float32),
        items=item_vecs.astype(np.float32),
        area_emb=area_emb,
    )


def _assortment(
    rng: np.random.Generator,
    items: Items,
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


def _labels(prefix: str, n: int) -> np.ndarray:
    return np.array([f"{prefix}{i}" for i in range(n)], dtype=object)


def _str_series(values: np.ndarray) -> pd.Series:
    return pd.Series(values, dtype="str")
