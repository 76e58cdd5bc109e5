"""'Often bought with X': the history SKU with the heaviest item-item weight, batch or one."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.data import RetailDataset
from recsys.datasets import synthetic_retail
from recsys.recommender.reasons import ReasonBuilder


def test_a_batch_names_the_heaviest_history_neighbour_of_each_shelf_sku():
    data = synthetic_retail(n_users=50, n_items=60, n_stores=2, items_per_store=(30, 40))
    catalog = RetailDataset.build(data.interactions, data.catalog, data.stores).catalog
    n = len(catalog.names)
    rng = np.random.default_rng(0)
    weights = sp.random(n, n, density=0.15, random_state=1, format="csr", dtype=np.float64)
    weights.data -= 0.3  # some negative weights: never a reason
    builder = ReasonBuilder(catalog, None, np.full(n, np.datetime64("NaT")), neighbours=weights)
    dense = weights.toarray()
    shelves = rng.integers(-1, n, (40, 8))  # -1: padding
    histories = [rng.choice(n, rng.integers(0, 12), replace=False) for _ in range(40)]
    got = builder.references(shelves, histories)
    named = 0
    for shelf, history, row in zip(shelves, histories, got, strict=True):
        for item, ref in zip(shelf, row, strict=True):
            # by hand: the history SKU (not the SKU itself) with the largest positive weight
            pool = [h for h in history if h != item and item >= 0 and dense[h, item] > 0]
            want = max(pool, key=lambda h: dense[h, item]) if pool else -1
            assert ref == want
            named += ref >= 0
        one = builder.references(shelf[None, :], [history])[0]
        assert one.tolist() == row.tolist()
    assert named > 20  # the check above saw many named neighbours, not only -1
