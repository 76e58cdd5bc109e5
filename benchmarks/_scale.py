"""Benchmark sizes and a fast retail generator for catalogs of any size.

``RECSYS_BENCH_QUICK=1`` (what ``make test`` sets) keeps only the small sizes and few
iterations so CI exercises every benchmark in seconds; ``make bench`` runs everything. Quick
mode also fits the default blend with EASE on the 3,000 busiest SKUs and 500 validation
members (about 18 s at 20k SKUs instead of 54 s): its shelves take the same code path,
but only ``make bench`` times the default as shipped.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import pandas as pd

QUICK = os.environ.get("RECSYS_BENCH_QUICK") == "1"
SIZES = [2_000, 20_000] if QUICK else [2_000, 20_000, 200_000]
N_USERS = 3_000 if QUICK else 20_000
ITERATIONS = 3 if QUICK else 10
FACTORS = 64
#: the blend's parameters beyond the defaults (none in full mode)
BLEND_PARAMS: dict[str, int] = {"max_ease_items": 3_000, "validation_members": 500} if QUICK else {}
CATEGORIES = np.array(["shirts", "jeans", "dresses", "jackets", "knitwear", "shoes", "bags"])
SEASONS = np.array(["spring", "summer", "autumn", "winter", "all"])


def scale_retail(n_items: int, n_users: int = N_USERS, n_stores: int = 20, seed: int = 0):
    """Vectorized random retail data at any catalog size (Zipf popularity, 450 SKUs a store).

    The synthetic generator of ``recsys.datasets`` models tastes and seasons; this one only
    has to be fast at 200k SKUs, which is all a latency benchmark needs.
    """
    from recsys.datasets import RetailData

    rng = np.random.default_rng(seed)
    items = np.array([f"sku{i}" for i in range(n_items)], dtype=object)
    catalog = pd.DataFrame(
        {
            "item_id": items,
            "category": rng.choice(CATEGORIES, n_items),
            "price": rng.uniform(10, 400, n_items).round(2),
            "season": rng.choice(SEASONS, n_items),
        }
    )
    per_store = rng.integers(400, 501, n_stores)
    stocked = [np.sort(rng.choice(n_items, size=s, replace=False)) for s in per_store]
    stores = pd.DataFrame(
        {
            "store_id": np.repeat([f"s{s}" for s in range(n_stores)], per_store),
            "item_id": items[np.concatenate(stocked)],
        }
    )
    n_events = n_users * 25
    users = rng.integers(0, n_users, n_events)
    store_of = rng.integers(0, n_stores, n_users)[users]
    # Zipf-like popularity inside each store's assortment
    rank = np.minimum(rng.zipf(1.3, n_events) - 1, per_store[store_of] - 1)
    item = np.array([stocked[s][r] for s, r in zip(store_of.tolist(), rank.tolist(), strict=True)])
    kind = rng.choice(["purchase", "view", "cart"], n_events, p=[0.2, 0.65, 0.15])
    interactions = pd.DataFrame(
        {
            "user_id": np.char.add("u", users.astype(str)),
            "item_id": items[item],
            "kind": kind,
            "value": np.where(kind == "view", rng.exponential(30, n_events).round(1), 1.0),
            "timestamp": pd.Timestamp("2026-01-01")
            + pd.to_timedelta(rng.integers(0, 365 * 86400, n_events), "s"),
            "store_id": np.char.add("s", store_of.astype(str)),
        }
    )
    profiles = pd.DataFrame(
        {
            "user_id": np.char.add("u", np.arange(n_users).astype(str)),
            "age_band": rng.choice(["18-24", "25-34", "35-44", "45-54", "55+"], n_users),
            "family": rng.choice(["single", "couple", "kids"], n_users),
        }
    )
    return RetailData(interactions=interactions, catalog=catalog, stores=stores, profiles=profiles)
