"""Write ``quickstart.ipynb`` (outputs cleared) from the cells below.

Run ``python build_quickstart.py`` after editing a cell.

The notebook is generated so its JSON is always valid; edit the cells here, rebuild, and run
``pytest tests/test_notebook.py`` (which executes it with a real kernel). Cells that the test
checks carry a tag (``metadata.tags``).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS: list[tuple[str, str, list[str]]] = [
    (
        "markdown",
        """# recsys quickstart

A personal shelf for every member of a retail chain: train on purchases and in-store
behaviour, show three members' shelves side by side ("thousand faces"), a shelf for a
brand-new member from their profile tags alone, a shelf that changes as a member lingers in
front of items, and how the models compare. Runs in seconds on synthetic data.""",
        [],
    ),
    (
        "code",
        """import os
import warnings

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit trains faster single-threaded
warnings.filterwarnings("ignore", message="IProgress not found")  # implicit's tqdm.auto

import pandas as pd  # noqa: E402

import recsys  # noqa: E402
from recsys.datasets import synthetic_retail  # noqa: E402

pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 12)""",
        [],
    ),
    (
        "markdown",
        """## Data

`synthetic_retail` generates a fashion chain: members with tastes and tags, SKUs with a
category, price and season, stores with their own assortment, and events (views with dwell
seconds, carts, purchases, coupons). The public datasets load the same way, e.g.
`recsys.datasets.load_complete_journey("../../shared/data/completejourney")`.""",
        [],
    ),
    (
        "code",
        """data = synthetic_retail(n_users=2000, n_items=600, n_stores=5, seed=0)
print(data)
data.interactions.head()""",
        ["data"],
    ),
    (
        "markdown",
        """## Train

The default model blends item-item neighbours, EASE, ALS and popularity priors (overall,
recent, in the member's stores and segment). Its weights are learned on the latest 20% of
the training events, so it needs no tuning by hand.""",
        [],
    ),
    (
        "code",
        """rec = recsys.Recommender(factors=32, seed=0).fit(data)
print(rec.model_.weights_)
rec""",
        ["train"],
    ),
    (
        "markdown",
        """## Thousand faces: three members, one store

Each column is one member's shelf in store `s0`: only SKUs that store stocks, nothing the
member already bought, best first.""",
        [],
    ),
    (
        "code",
        """store = "s0"
catalog = data.catalog.set_index("item_id")
members = data.interactions.user_id.value_counts().index[:3].tolist()
shelves = pd.DataFrame(
    {
        m: [
            f"{r.item_id} ({catalog.at[r.item_id, 'category']})"
            for r in rec.recommend(m, 10, store_id=store)
        ]
        for m in members
    },
    index=pd.RangeIndex(1, 11, name="rank"),
)
distinct = len({cell.split()[0] for cell in shelves.to_numpy().ravel()})
print(f"{distinct} distinct SKUs on {shelves.size} shelf slots")
shelves""",
        ["shelves"],
    ),
    (
        "markdown",
        """## A brand-new member: the shelf from profile tags only

No history, only what the member gave when scanning the QR code. Each SKU comes with a
reason a shop assistant can say out loud.""",
        [],
    ),
    (
        "code",
        """profile = {"age_band": "25-34", "gender": "female", "family": "kids", "tier": "basic"}
cold = rec.recommend(None, k=8, profile=profile, store_id=store)
cold_shelf = pd.DataFrame(
    [
        (r.item_id, catalog.at[r.item_id, "category"], catalog.at[r.item_id, "price"], r.reason)
        for r in cold
    ],
    columns=["item_id", "category", "price", "reason"],
)
cold_shelf""",
        ["cold"],
    ),
    (
        "markdown",
        """## Real time: what a member does in the store changes the next shelf

A member with little history lingers in front of three bags for a minute and a half each,
then puts two of them in the basket. `rec.update` folds the events into the member's vector
at once (no retraining); the next shelf reflects them.""",
        [],
    ),
    (
        "code",
        """counts = data.interactions.user_id.value_counts()
member = counts[counts.between(5, 10)].index[0]
before = rec.recommend(member, 10, store_id=store)
stocked = set(data.stores.loc[data.stores.store_id == store, "item_id"])
on_shelf = {r.item_id for r in before}
bags = [
    i for i in catalog.index[catalog.category == "bags"] if i in stocked and i not in on_shelf
][:3]
events = [
    {"user_id": member, "item_id": sku, "kind": "view", "value": 90.0, "store_id": store}
    for sku in bags
]
events += [
    {"user_id": member, "item_id": sku, "kind": "cart", "store_id": store} for sku in bags[:2]
]
print("events applied:", rec.update(events))
after = rec.recommend(member, 10, store_id=store)
new = [r.item_id for r in after if r.item_id not in on_shelf]
new_labels = [f"{i} ({catalog.at[i, 'category']})" for i in new]
print(f"{member}: {len(new)} new SKUs on the shelf:", new_labels)


def label(r):
    return f"{r.item_id} ({catalog.at[r.item_id, 'category']})"


pd.DataFrame({"before": [label(r) for r in before], "after": [label(r) for r in after]},
             index=pd.RangeIndex(1, 11, name="rank"))""",
        ["update"],
    ),
    (
        "markdown",
        """## How good is it?

A quick run of the quality report (`python -m benchmarks.quality --quick`): every model on
a temporal split (warm members) and a cold-member split, beside raw `implicit` ALS with its
default settings and popularity. The full report on real data is
`python -m benchmarks.quality` (see `benchmarks/README.md`).""",
        [],
    ),
    (
        "code",
        """import tempfile

from recsys.evaluation.report import quality_report

out = tempfile.mkdtemp(prefix="recsys-quality-")
table = quality_report(["synthetic"], out, quick=True, log=None)
columns = ["ndcg", "recall", "coverage", "personalization", "fit_seconds", "cold_ndcg"]
table.set_index("model")[columns].round(4)""",
        ["quality"],
    ),
    (
        "code",
        """from IPython.display import Image

Image(filename=os.path.join(out, "quality.png"))""",
        ["plot"],
    ),
]


def build() -> nbformat.NotebookNode:
    """The notebook, outputs cleared."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for n, (kind, source, tags) in enumerate(CELLS):
        cell = new_markdown_cell(source) if kind == "markdown" else new_code_cell(source)
        cell.id = f"cell-{n:02d}"  # stable ids: rebuilding changes nothing
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


if __name__ == "__main__":
    path = Path(__file__).resolve().parent / "quickstart.ipynb"
    nbformat.write(build(), path)
    print(f"wrote {path}")
