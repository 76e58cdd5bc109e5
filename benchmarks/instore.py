"""The in-store loop's targets on the synthetic chain, as numbers: ``python -m benchmarks.instore``.

On 3,000 members x 5,000 SKUs x 20 stores and the default model, for members in their
usual store:

- **visit**: after three 90-second views of different SKUs of a category the shelf shows
  none of (picked among the SKUs the store can show today), the share of next shelves
  holding at least 2 *other* SKUs of it. Members whose store has fewer than 2 other showable
  SKUs of the category are counted apart: no shelf can hold them.
- **fade**: an hour later, the share of shelves within 2 slots of the long-term one.
- **rules**: the share of shelves with 4 or more SKUs of one category (the chain default
  caps at 3).

Writes ``benchmarks/results/instore.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

#: no category cap, no style de-duplication: every SKU the store can show today
FREE = {"max_per_category": None, "dedupe_groups": False}


def measure(model: str = "blend", n_members: int = 200, seed: int = 0) -> dict[str, Any]:
    """Run the in-store loop for ``n_members`` random members; returns the shares."""
    import recsys
    from recsys.datasets import synthetic_retail

    data = synthetic_retail(n_users=3000, n_items=5000, n_stores=20, seed=seed)
    started = time.perf_counter()
    rec = recsys.Recommender(model=model).fit(data)
    fit_seconds = time.perf_counter() - started
    category = data.catalog.set_index("item_id")["category"]
    rng = np.random.default_rng(seed)
    members = rng.choice(data.interactions["user_id"].unique(), n_members, replace=False)
    home = data.interactions.groupby("user_id")["store_id"].agg(lambda s: s.mode().iloc[0])
    counts = {"visit": 0, "feasible": 0, "infeasible": 0, "fade": 0, "crowded": 0}
    for member in members:
        store = str(home[member])
        now = time.time()
        before = rec.recommend(member, 10, store_id=store, at=now)
        cats = category[[r.item_id for r in before]]
        crowded = cats.value_counts().max() >= 4
        counts["crowded"] += int(crowded)
        showable = [
            r.item_id
            for r in rec.recommend(member, 500, store_id=store, at=now, rules=FREE)
            if category[r.item_id] not in set(cats)
        ]
        by_cat = category[showable]
        options = by_cat.value_counts()
        options = options[options >= 3]
        if options.empty:
            continue
        target = options.index[rng.integers(len(options))]
        pick = [s for s in showable if category[s] == target]
        views = set(rng.choice(pick, 3, replace=False).tolist())
        rec.update(
            [
                {"user_id": member, "item_id": v, "kind": "view", "value": 90.0,
                 "timestamp": now, "store_id": store}
                for v in sorted(views)
            ]
        )  # fmt: skip
        after = rec.recommend(member, 10, store_id=store, at=now + 60)
        others = [r.item_id for r in after if category[r.item_id] == target]
        others = [s for s in others if s not in views]
        if len(pick) - 3 >= 2:
            counts["feasible"] += 1
            counts["visit"] += int(len(others) >= 2)
        else:
            counts["infeasible"] += 1
        hour = [r.item_id for r in rec.recommend(member, 10, store_id=store, at=now + 3600)]
        long_term = [r.item_id for r in rec.recommend(member, 10, store_id=store, at=now + 864e3)]
        counts["fade"] += int(sum(s not in long_term for s in hour) <= 2)
    visited = counts["feasible"] + counts["infeasible"]
    return {
        "model": model,
        "members": int(n_members),
        "fit_seconds": round(fit_seconds, 1),
        "visit_two_more_share": counts["visit"] / max(counts["feasible"], 1),
        "visit_members": counts["feasible"],
        "visit_infeasible": counts["infeasible"],
        "fade_within_two_slots_share": counts["fade"] / max(visited, 1),
        "shelves_with_4_of_a_category_share": counts["crowded"] / n_members,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="blend")
    parser.add_argument("--members", type=int, default=200)
    args = parser.parse_args(argv)
    result = measure(args.model, args.members)
    out = Path(__file__).parent / "results" / "instore.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
