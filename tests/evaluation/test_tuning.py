"""tune(): validation carved out of the training data only, a real search, reproducible."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import recsys
import recsys.evaluation.tuning as tuning
from recsys.evaluation import SEARCH_SPACES, TuningResult, temporal_split, tune
from recsys.exceptions import InvalidInputError

SMALL = {"alpha": [1.0, 10.0], "regularization": [1.0, 10.0], "iterations": [3]}


@pytest.fixture(scope="module")
def split(small_data):
    train, test = temporal_split(small_data.interactions, test_fraction=0.2)
    return small_data, train, test


def _rows(frame: pd.DataFrame) -> set[tuple]:
    cols = ["user_id", "item_id", "kind", "timestamp"]
    return set(map(tuple, frame[cols].astype(str).to_numpy()))


def test_tuning_never_sees_the_test_split(split, monkeypatch):
    data, train, test = split
    fitted: list[pd.DataFrame] = []
    scored: list[tuple[pd.DataFrame, pd.DataFrame]] = []
    real_fit, real_evaluate = recsys.Recommender.fit, tuning.evaluate

    def spy_fit(self, interactions, *args, **kwargs):
        fitted.append(interactions)
        return real_fit(self, interactions, *args, **kwargs)

    def spy_evaluate(rec, fit_part, valid, *args, **kwargs):
        scored.append((fit_part, valid))
        return real_evaluate(rec, fit_part, valid, *args, **kwargs)

    monkeypatch.setattr(recsys.Recommender, "fit", spy_fit)
    monkeypatch.setattr(tuning, "evaluate", spy_evaluate)
    result = tune(train, "als", catalog=data.catalog, stores=data.stores, space=SMALL)

    assert len(fitted) == len(scored) == len(result.trials) == 3
    train_rows, test_rows = _rows(train), _rows(test)
    for fit_part, (eval_train, valid) in zip(fitted, scored, strict=True):
        assert eval_train is fit_part
        # trained on the early part of train, validated on its late part: nothing else
        assert _rows(fit_part) | _rows(valid) == train_rows
        assert not _rows(fit_part) & _rows(valid)
        assert not (_rows(fit_part) | _rows(valid)) & test_rows
        assert fit_part.timestamp.max() < result.cutoff == valid.timestamp.min()
        assert valid.timestamp.max() < test.timestamp.min()
        # the validation period is the latest ~20% of train
        assert len(valid) / len(train) == pytest.approx(0.2, abs=0.02)


def test_best_params_are_the_best_trial_and_in_the_grid(split):
    data, train, _ = split
    space = {**SMALL, "factors": [8, 16]}
    result = tune(train, "hybrid", catalog=data.catalog, profiles=data.profiles, space=space)
    assert isinstance(result, TuningResult) and result.model == "hybrid"
    trials = result.trials
    # coordinate pass: start, then each other value of each parameter -> 1 + 1 + 1 + 0 + 1
    assert len(trials) == 4
    assert trials.loc[0, list(space)].to_dict() == {
        "alpha": 10.0,
        "regularization": 10.0,
        "iterations": 3,
        "factors": 8,  # the facade's 64 isn't in the grid: its first value
    }
    for _, row in trials.drop(index=0).iterrows():
        assert all(row[name] in values for name, values in space.items())
    assert result.best_score == trials[result.metric].max()
    best = trials.index[0]
    assert result.best_params == {name: trials.loc[best, name] for name in space}
    assert trials["ndcg"].is_monotonic_decreasing
    # the best params are plain Python values: ready for Recommender(**best_params)
    assert {type(v) for v in result.best_params.values()} <= {int, float}
    recsys.Recommender(model="hybrid", **result.best_params).fit(train, catalog=data.catalog)


def test_tuning_is_deterministic_for_a_seed(split):
    data, train, _ = split
    runs = [
        tune(train, "als", catalog=data.catalog, space=SMALL, strategy=strategy, n_trials=3)
        for strategy in ("coordinate", "coordinate", "random", "random")
    ]
    for a, b in (runs[:2], runs[2:]):
        assert a.best_params == b.best_params and a.best_score == b.best_score
        pd.testing.assert_frame_equal(
            a.trials.drop(columns="fit_seconds"), b.trials.drop(columns="fit_seconds")
        )


def test_a_bundle_is_split_like_its_interactions(split):
    data, _, _ = split
    small = {"regularization": [100.0, 1000.0]}
    from_bundle = tune(data, "ease", space=small)
    from_frame = tune(
        data.interactions, "ease", catalog=data.catalog, stores=data.stores, space=small
    )
    assert from_bundle.cutoff == from_frame.cutoff
    assert from_bundle.best_params == from_frame.best_params


@pytest.fixture
def fake_scores(monkeypatch):
    """No fitting: each trial's NDCG is a known function of its params."""

    def install(score):
        monkeypatch.setattr(recsys.Recommender, "fit", lambda self, *a, **kw: self)

        def fake_evaluate(rec, *args, **kwargs):
            value = score(rec.model_params | {"factors": rec.factors})
            return {"ndcg": value, "recall": value, "n_members": 1.0}

        monkeypatch.setattr(tuning, "evaluate", fake_evaluate)

    return install


def test_coordinate_search_walks_one_parameter_at_a_time(split, fake_scores):
    _, train, _ = split
    # separable optimum at alpha=5, regularization=1 (defaults: 10, 10)
    fake_scores(lambda p: -abs(math.log(p["alpha"] / 5)) - abs(math.log(p["regularization"])))
    space = {"alpha": [1.0, 5.0, 10.0, 40.0], "regularization": [0.1, 1.0, 10.0, 50.0]}
    result = tune(train, "als", space=space)
    assert result.best_params == {"alpha": 5.0, "regularization": 1.0}
    order = result.trials.sort_index()
    assert len(order) == 7  # defaults + 3 alphas + 3 regularizations
    assert (order.loc[1:3, "regularization"] == 10.0).all()  # alpha first, reg at default
    assert (order.loc[4:6, "alpha"] == 5.0).all()  # then reg, alpha at its best
    capped = tune(train, "als", space=space, n_trials=2)
    assert len(capped.trials) == 2


def test_random_search_covers_every_value_then_samples(split, fake_scores):
    _, train, _ = split
    fake_scores(lambda p: p["alpha"] + p["regularization"] / 100)
    space = SEARCH_SPACES["als"]
    runs = {
        seed: tune(train, "als", strategy="random", n_trials=6, seed=seed).trials.sort_index()
        for seed in (0, 1)
    }
    for trials in runs.values():
        assert len(trials) == 6
        points = trials[list(space)].drop_duplicates()
        assert len(points) == 6  # distinct
        for name, values in space.items():  # every value of every parameter tried
            assert set(trials[name]) == set(values), name
    assert not runs[0][list(space)].equals(runs[1][list(space)])  # the seed matters


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "svd"}, "no search space"),
        ({"strategy": "grid"}, "strategy"),
        ({"n_trials": 0}, "n_trials"),
        ({"metric": "auc"}, "metric"),
        ({"space": {"alpha": []}}, "non-empty list"),
        ({"space": {"alpha": "1"}}, "non-empty list"),
        ({"validation_fraction": 1.5}, "fraction"),
    ],
)
def test_tune_rejects_bad_arguments(split, kwargs, message):
    _, train, _ = split
    with pytest.raises(InvalidInputError, match=message):
        tune(train, **{"model": "als", **kwargs})
    with pytest.raises(InvalidInputError, match="RetailData"):
        tune([1, 2, 3])
