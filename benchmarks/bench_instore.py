"""The in-store loop at 20k SKUs: a shelf under rules and a live visit, a SKU added live.

Each group holds the plain store shelf next to the loop's shelf on the same model in the
same run, so the relative column is the cost of the rules and the visit. The recommender is
a loaded copy of the shared fitted one: adding SKUs must not change the other benchmarks.
"""

from __future__ import annotations

import itertools
import time

import pytest

from benchmarks._scale import SIZES

STORE = "s3"
N_ITEMS = SIZES[1]  # 20k SKUs


@pytest.fixture(scope="module")
def copies(fitted_at, tmp_path_factory):
    import recsys

    made = {}

    def get(model: str):
        if model not in made:
            path = tmp_path_factory.mktemp(f"instore-{model}") / "model"
            made[model] = recsys.Recommender.load(fitted_at(N_ITEMS, model).save(path))
        return made[model]

    return get


def _visit(rec):
    """A member of the store with three long views of one category just now."""
    member = str(rec.members_.ids()[0])
    store = rec.dataset_.stores.index_of(STORE)
    stocked = rec.dataset_.assortment.items_of(store)
    catalog = rec.dataset_.catalog
    category = catalog.category_codes[stocked[0]]
    seen = stocked[catalog.category_codes[stocked] == category][:3]
    now = time.time()
    rec.update(
        [
            {"user_id": member, "item_id": str(rec.dataset_.items.ids[i]), "kind": "view",
             "value": 90.0, "timestamp": now, "store_id": STORE}
            for i in seen
        ]
    )  # fmt: skip
    other = next(c for c in range(len(catalog.categories)) if c != category)
    rules = {
        "boost": {str(catalog.categories[other]): 1.5},
        "pin": {str(rec.dataset_.items.ids[stocked[-1]]): 2},
    }
    return member, rules


@pytest.mark.parametrize("loop", ["plain shelf", "rules + visit"])
def test_shelf_with_rules_and_visit(benchmark, copies, loop):
    rec = copies("blend")
    member, rules = _visit(rec)
    benchmark.group = f"default blend, store shelf, rules and a live visit, {N_ITEMS} SKUs"
    if loop == "plain shelf":
        shelf = benchmark(rec.recommend, member, k=10, store_id=STORE)
    else:
        shelf = benchmark(rec.recommend, member, k=10, store_id=STORE, rules=rules)
        assert any(r.reason.startswith("because you just looked at") for r in shelf)
    assert len(shelf) == 10


@pytest.mark.parametrize("model", ["als", "blend"])
def test_add_a_sku_then_its_shelf(benchmark, copies, model):
    """add_items of one SKU stocked in the store, then a shelf that shows it."""
    rec = copies(model)
    member = str(rec.members_.ids()[1])
    counter = itertools.count()
    benchmark.group = f"a SKU added live, then a shelf holding it, {N_ITEMS} SKUs"

    def add_and_show():
        sku = f"sku-live-{model}-{next(counter)}"
        item = {"item_id": sku, "category": "jackets", "price": 120.0, "season": "all"}
        rec.add_items([item], stores={STORE: [sku]})
        return sku, rec.recommend(member, k=10, store_id=STORE, rules={"pin": {sku: 0}})

    sku, shelf = benchmark.pedantic(add_and_show, rounds=15, iterations=1, warmup_rounds=1)
    assert shelf[0].item_id == sku
