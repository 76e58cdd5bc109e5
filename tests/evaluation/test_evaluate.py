"""evaluate / evaluate_by_store / evaluate_cold / compare_models.

Hand-computed cases use a recommender with fixed shelves over the ``tiny`` split (see
conftest): u1 bought ``a`` and viewed ``b`` in train, u2 bought ``c`` and viewed ``a``, u3
viewed ``d``. In test, u1 buys ``b`` (store s1), ``e`` (s2) and ``a`` again; u2 buys ``d`` and
views ``f``; u3 views ``f``; u4 (new) buys ``a``. So with the defaults the warm relevant sets
are u1 -> {b, e} and u2 -> {d}.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from recsys.evaluation import (
    METRICS,
    RANKING_METRICS,
    compare_models,
    evaluate,
    evaluate_by_store,
    evaluate_cold,
    ranking_metrics,
    relevant_items,
)
from recsys.evaluation.baselines import ImplicitALSBaseline
from recsys.exceptions import InvalidInputError

LOG2 = math.log2


# ---------------------------------------------------------------------- hand-computed
def test_relevant_items_follow_the_documented_rules(tiny):
    assert relevant_items(tiny["test"], tiny["train"]) == {
        "u1": {"b", "e"},
        "u2": {"d"},
        "u4": {"a"},
    }
    # without excluding train purchases, u1's repeat purchase of "a" counts
    assert relevant_items(tiny["test"], tiny["train"], exclude_train=False)["u1"] == {
        "a",
        "b",
        "e",
    }
    # every kind: views count too
    every = relevant_items(tiny["test"], tiny["train"], relevant_kinds=None)
    assert every["u2"] == {"d", "f"} and every["u3"] == {"f"}
    # SKUs the model can't show are dropped; per store keys are (store, member)
    assert relevant_items(tiny["test"], tiny["train"], known_items={"b"}) == {"u1": {"b"}}
    assert relevant_items(tiny["test"], tiny["train"], by_store=True) == {
        ("s1", "u1"): {"b"},
        ("s1", "u2"): {"d"},
        ("s1", "u4"): {"a"},
        ("s2", "u1"): {"e"},
    }


def test_evaluate_matches_hand_computed_metrics(tiny, fixed_shelves):
    rec = fixed_shelves(tiny["dataset"], {None: {"u1": ["b", "c", "e"], "u2": ["a", "b", "c"]}})
    got = evaluate(rec, tiny["train"], tiny["test"], k=3)

    # u1: hits at ranks 1 and 3 of {b, e}; u2: no hit on {d}
    ndcg_u1 = (1 + 1 / LOG2(4)) / (1 + 1 / LOG2(3))
    ap_u1 = (1 / 1 + 2 / 3) / 2
    expected = {
        "precision": (2 / 3 + 0) / 2,
        "recall": (1 + 0) / 2,
        "ndcg": (ndcg_u1 + 0) / 2,
        "map": (ap_u1 + 0) / 2,
        "hit_rate": 0.5,
        "mrr": 0.5,
        # {a, b, c, e} of 6 SKUs
        "coverage": 4 / 6,
        # one pair, Jaccard |{b, c}| / |{a, b, c, e}|
        "personalization": 1 - 2 / 4,
        # u1: tops, shoes, bags -> 1; u2: tops, tops, shoes -> 2 of 3 pairs differ
        "diversity": (1 + 2 / 3) / 2,
        # train members per SKU: a 2 (u1, u2), b 1, c 1, e 0 -> clipped to 1; 3 members
        "novelty": (LOG2(3) + (LOG2(3 / 2) + 2 * LOG2(3)) / 3) / 2,
        "n_members": 2.0,
    }
    assert set(got) == {*METRICS, "n_members"}
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-12), key
    # warm members only (u4 has no train history, u3 nothing relevant), one batch, no store,
    # already-bought SKUs left off the shelves
    assert rec.calls == [{"members": ["u1", "u2"], "k": 3, "store_id": None, "exclude": True}]


def test_evaluate_options_change_what_is_relevant(tiny, fixed_shelves):
    rec = fixed_shelves(tiny["dataset"], {None: {"u1": ["a", "b", "c"], "u2": ["f", "d", "c"]}})
    # exclude_train=False: u1's repeat purchase "a" is relevant and shelves may hold it
    got = evaluate(rec, tiny["train"], tiny["test"], k=3, exclude_train=False)
    assert rec.calls[-1]["exclude"] is False
    assert got["recall"] == pytest.approx((2 / 3 + 1) / 2)
    # every kind relevant: u2 -> {d, f} (both on the shelf), u3 -> {f} (no shelf: scores 0)
    rec.shelves[None]["u3"] = []
    got = evaluate(rec, tiny["train"], tiny["test"], k=3, relevant_kinds=None)
    assert got["n_members"] == 3
    assert got["recall"] == pytest.approx((1 / 2 + 1 + 0) / 3)
    assert got["hit_rate"] == pytest.approx(2 / 3)
    # views only: u2 and u3 viewed f
    got = evaluate(rec, tiny["train"], tiny["test"], k=3, relevant_kinds="view")
    assert rec.calls[-1]["members"] == ["u2", "u3"]
    assert got["hit_rate"] == pytest.approx(1 / 2)


def test_evaluate_samples_members_reproducibly_and_batches(tiny, fixed_shelves):
    rec = fixed_shelves(tiny["dataset"], {None: {"u1": ["b"], "u2": ["d"]}})
    one = evaluate(rec, tiny["train"], tiny["test"], k=2, sample=1, seed=3)
    again = evaluate(rec, tiny["train"], tiny["test"], k=2, sample=1, seed=3)
    assert one["n_members"] == again["n_members"] == 1
    assert one["ndcg"] == again["ndcg"]
    assert rec.calls[0]["members"] == rec.calls[1]["members"]
    evaluate(rec, tiny["train"], tiny["test"], k=2, batch_size=1)
    assert [c["members"] for c in rec.calls[2:]] == [["u1"], ["u2"]]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0}, "k must be a positive int"),
        ({"k": True}, "k must be a positive int"),
        ({"sample": 0}, "sample must be a positive int"),
        ({"batch_size": -1}, "batch_size must be a positive int"),
    ],
)
def test_evaluate_rejects_bad_arguments(tiny, fixed_shelves, kwargs, message):
    rec = fixed_shelves(tiny["dataset"], {None: {}})
    with pytest.raises(InvalidInputError, match=message):
        evaluate(rec, tiny["train"], tiny["test"], **kwargs)


def test_evaluate_refuses_unfitted_models_and_empty_splits(tiny, fixed_shelves):
    import recsys

    with pytest.raises(InvalidInputError, match="fitted recommender"):
        evaluate(recsys.Recommender(), tiny["train"], tiny["test"])
    rec = fixed_shelves(tiny["dataset"], {None: {}})
    only_new = tiny["test"][tiny["test"].user_id == "u4"]
    with pytest.raises(InvalidInputError, match="use evaluate_cold"):
        evaluate(rec, tiny["train"], only_new)
    with pytest.raises(InvalidInputError, match="test misses columns"):
        evaluate(rec, tiny["train"], tiny["test"].drop(columns="item_id"))


def test_evaluate_by_store_scores_each_store_on_its_own_shelf(tiny, fixed_shelves):
    rec = fixed_shelves(
        tiny["dataset"],
        {
            None: {"u1": ["b"], "u2": ["d"]},
            "s1": {"u1": ["b", "a"], "u2": ["d", "c"]},
            "s2": {"u1": ["c", "e"]},
        },
    )
    table = evaluate_by_store(rec, tiny["train"], tiny["test"], k=2)
    assert table.index.tolist() == ["s1", "s2"]
    assert list(table.columns) == [*RANKING_METRICS, "coverage", "n_members"]
    s1, s2 = table.loc["s1"], table.loc["s2"]
    # s1: u1 -> {b} hit at 1, u2 -> {d} hit at 1 (u4 is not warm)
    assert (s1["ndcg"], s1["precision"], s1["n_members"]) == (1.0, 0.5, 2)
    assert s1["coverage"] == 1.0  # {a, b, c, d}: the whole s1 assortment
    # s2: u1 -> {e} hit at 2
    assert s2["ndcg"] == pytest.approx(1 / LOG2(3))
    assert (s2["mrr"], s2["n_members"]) == (0.5, 1)
    assert s2["coverage"] == pytest.approx(2 / 3)  # {c, e} of {c, e, f}
    asked = {c["store_id"]: c["members"] for c in rec.calls}
    assert asked == {"s1": ["u1", "u2"], "s2": ["u1"]}

    with pytest.raises(InvalidInputError, match="store_id"):
        evaluate_by_store(rec, tiny["train"], tiny["test"].drop(columns="store_id"))


def test_evaluate_cold_uses_profile_tags_only(tiny, fixed_shelves):
    test = pd.DataFrame(
        {
            "user_id": ["n1", "n1", "n2", "n3"],
            "item_id": ["a", "c", "e", "a"],
            "kind": "purchase",
        }
    )
    profiles = pd.DataFrame(
        {"user_id": ["n1", "n2"], "age_band": ["25-34", "55-64"], "family": ["kids", np.nan]}
    )
    rec = fixed_shelves(tiny["dataset"], {}, cold={"25-34": ["a", "b"], "55-64": ["f", "e"]})
    got = evaluate_cold(rec, test, profiles, k=2, train=tiny["train"])
    # n1: {a, c}, a at 1 -> recall 1/2, ndcg 1/(1 + 1/log2 3); n2: {e} at 2; n3: no profile
    assert got["n_members"] == 2
    assert got["recall"] == pytest.approx((1 / 2 + 1) / 2)
    assert got["ndcg"] == pytest.approx((1 / (1 + 1 / LOG2(3)) + 1 / LOG2(3)) / 2)
    assert got["personalization"] == 1.0
    # no member id is passed, only tags, and a missing tag is left out
    assert [(c["member"], c["profile"]) for c in rec.calls] == [
        (None, {"age_band": "25-34", "family": "kids"}),
        (None, {"age_band": "55-64"}),
    ]


def test_evaluate_cold_refuses_members_the_model_knows(tiny, fixed_shelves):
    rec = fixed_shelves(tiny["dataset"], {}, cold={})
    leaked = pd.DataFrame({"user_id": ["u1"], "item_id": ["b"], "kind": ["purchase"]})
    profiles = pd.DataFrame({"user_id": ["u1"], "age_band": ["25-34"]})
    with pytest.raises(InvalidInputError, match="known to the recommender"):
        evaluate_cold(rec, leaked, profiles)
    with pytest.raises(InvalidInputError, match="profile row"):
        evaluate_cold(rec, leaked.assign(user_id="n9"), profiles)


# ---------------------------------------------------------------------- synthetic data
def test_evaluate_agrees_with_the_facades_own_shelves(synthetic_split, fit_on_split):
    split, rec = synthetic_split, fit_on_split("als")
    train, test = split["train"], split["test"]
    got = evaluate(rec, train, test, k=10)

    truth = relevant_items(test, train, known_items=set(rec.dataset_.items.ids))
    warm = [m for m in truth if m in set(train.user_id)]
    assert got["n_members"] == len(warm) > 20
    # evaluation measures the model: no merchandising rules on either side
    free = {"max_per_category": None, "dedupe_groups": False}
    shelves = rec.recommend_batch(warm, k=10, rules=free)
    direct = ranking_metrics(
        {m: [r.item_id for r in s] for m, s in zip(warm, shelves, strict=True)},
        {m: truth[m] for m in warm},
        10,
    )
    for key in RANKING_METRICS:
        assert got[key] == pytest.approx(direct[key]), key
    # no shelf repeats a train purchase, so relevant sets without them are fair
    bought = train[train.kind == "purchase"].groupby("user_id").item_id.agg(set)
    for member, shelf in zip(warm, shelves, strict=True):
        assert not {r.item_id for r in shelf} & bought.get(member, set())


def test_personal_models_beat_one_shelf_for_everyone(synthetic_split, fit_on_split):
    split = synthetic_split
    pop = evaluate(fit_on_split("popular"), split["train"], split["test"], k=10)
    als = evaluate(fit_on_split("als"), split["train"], split["test"], k=10)
    for report in (pop, als):
        assert all(0.0 <= report[key] <= 1.0 for key in (*RANKING_METRICS, "coverage"))
    # popularity shows (nearly) the same SKUs to everyone: "thousand faces" needs CF
    assert als["personalization"] > pop["personalization"] + 0.2
    assert als["coverage"] > 2 * pop["coverage"]


def test_evaluate_by_store_on_synthetic_data(synthetic_split, fit_on_split):
    split, rec = synthetic_split, fit_on_split("hybrid")
    table = evaluate_by_store(rec, split["train"], split["test"], k=10)
    stores = set(split["test"].store_id.dropna()) & set(rec.store_ids)
    assert set(table.index) == stores
    assert table[[*RANKING_METRICS, "coverage"]].stack().between(0, 1).all()
    assert (table.n_members > 0).all()
    # a store's shelves only hold SKUs it stocks
    store = table.index[0]
    stocked = set(split["data"].stores.query("store_id == @store").item_id)
    member = split["train"].user_id.iloc[0]
    assert {r.item_id for r in rec.recommend(member, 10, store_id=store)} <= stocked


def test_hybrid_cold_shelves_beat_segment_popularity(synthetic_split, fit_on_split):
    split = synthetic_split
    scores = {
        model: evaluate_cold(fit_on_split(model), split["cold_test"], split["cold_profiles"], k=10)
        for model in ("popular", "hybrid")
    }
    n_cold = len(relevant_items(split["cold_test"], None, exclude_train=False))
    assert scores["hybrid"]["n_members"] == scores["popular"]["n_members"] == n_cold > 10
    assert scores["hybrid"]["ndcg"] > scores["popular"]["ndcg"]
    assert scores["hybrid"]["personalization"] > scores["popular"]["personalization"]


def test_compare_models_tabulates_fits_and_cold_scores(synthetic_split):
    import recsys

    split = synthetic_split
    data = split["data"]
    models = {
        "popular": recsys.Recommender(model="popular"),
        "hybrid": recsys.Recommender(model="hybrid", factors=16, iterations=5),
        "raw-als": ImplicitALSBaseline(factors=16, iterations=5),
        "broken": recsys.Recommender(model="ease", regularization=-1.0),
    }
    table = compare_models(
        models,
        split["train"],
        split["test"],
        k=10,
        catalog=data.catalog,
        stores=data.stores,
        profiles=data.profiles,  # the cold members' rows are removed before fitting
        cold=(split["cold_test"], split["cold_profiles"]),
        cold_models=("popular", "hybrid"),
        sample=50,
        on_error="nan",
    )
    assert table.index.tolist() == list(models)
    assert table.columns[:3].tolist() == ["fit_seconds", "eval_seconds", "precision"]
    ok = ["popular", "hybrid", "raw-als"]
    assert (table.loc[ok, "fit_seconds"] > 0).all()
    assert (table.loc[ok, "n_members"] == 50).all()
    assert table.loc[["popular", "hybrid"], "cold_ndcg"].notna().all()
    assert np.isnan(table.loc["raw-als", "cold_ndcg"])  # no cold-start path
    assert table.loc["broken", "error"].startswith("InvalidInputError")
    assert table.loc["broken", list(METRICS)].isna().all()
    cold = set(split["cold_profiles"].user_id)
    assert not cold & set(models["hybrid"].dataset_.users.ids)
    # same sample for every model: the same evaluate call reproduces a row
    again = evaluate(models["hybrid"], split["train"], split["test"], k=10, sample=50)
    assert again["ndcg"] == table.loc["hybrid", "ndcg"]


def test_compare_models_from_names_and_errors(synthetic_split):
    split = synthetic_split
    table = compare_models(["popular", "ease"], split["train"], split["test"], k=5)
    assert table.index.tolist() == ["popular", "ease"]
    assert "cold_ndcg" not in table.columns and "error" not in table.columns
    with pytest.raises(InvalidInputError, match="regularization"):
        compare_models(
            {"bad": __import__("recsys").Recommender(model="ease", regularization=-1.0)},
            split["train"],
            split["test"],
        )
    for models, message in [
        ([], "empty"),
        ("als", "list of names"),
        (["als", "als"], "unique"),
    ]:
        with pytest.raises(InvalidInputError, match=message):
            compare_models(models, split["train"], split["test"])
    with pytest.raises(InvalidInputError, match="on_error"):
        compare_models(["popular"], split["train"], split["test"], on_error="ignore")


@pytest.mark.slow
def test_evaluate_on_online_retail(online_retail_folder):
    import recsys
    from recsys.datasets import load_online_retail
    from recsys.evaluation import temporal_split

    data = load_online_retail(online_retail_folder)
    train, test = temporal_split(data.interactions, test_fraction=0.2)
    scores = {}
    for model in ("popular", "ease"):
        rec = recsys.Recommender(model=model).fit(
            train, catalog=data.catalog, stores=data.stores, profiles=data.profiles
        )
        scores[model] = evaluate(rec, train, test, k=10, sample=500)
        assert scores[model]["n_members"] == 500
    assert scores["ease"]["ndcg"] > scores["popular"]["ndcg"]
