"""The contract every registered model keeps (shapes, dtypes, refit, state, errors)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.data.matrices import TrainingMatrices
from recsys.exceptions import ArtifactError, InvalidInputError, NotFittedError
from recsys.models import MODEL_REGISTRY, RecModel, ScoreModel, VectorModel, make_model

# small, fast and (with one thread) deterministic settings
FAST: dict[str, dict[str, Any]] = {
    "als": {"factors": 8, "iterations": 4, "num_threads": 1},
    "bpr": {"factors": 8, "iterations": 10, "num_threads": 1},
    "itemknn": {"K": 10, "num_threads": 1},
    "ease": {"regularization": 50.0},
    "popular": {},
    "profile": {"factors": 8, "iterations": 4, "num_threads": 1},
    "hybrid": {"factors": 8, "iterations": 4, "num_threads": 1},
    "blend": {"factors": 8, "num_threads": 1, "validation_members": 50},
}

BAD: dict[str, list[dict[str, Any]]] = {
    "als": [{"factors": 0}, {"regularization": -1.0}, {"alpha": 0}, {"iterations": 1.5},
            {"seed": -1}, {"use_gpu": "yes"}, {"num_threads": -1}],
    "bpr": [{"factors": 0}, {"learning_rate": 0.0}, {"regularization": float("nan")},
            {"iterations": 0}, {"fold_in_regularization": 0}, {"verify_negative_samples": 1}],
    "itemknn": [{"K": 0}, {"similarity": "jaccard"}, {"bm25_b": 2.0}, {"bm25_k1": -1.0}],
    "ease": [{"regularization": 0.0}, {"regularization": float("inf")}, {"regularization": "1"}],
    "popular": [{"by": "region"}, {"global_weight": -0.1}],
    "profile": [{"factors": 0}, {"profile_regularization": 0.0}, {"item_regularization": -1}],
    "hybrid": [{"shrink": 0.0}, {"factors": True}, {"profile_regularization": -1.0}],
    "blend": [{"validation_fraction": 1.0}, {"min_personalization": 1.5},
              {"max_ease_items": 0}, {"validation_members": 3}, {"show_progress": "no"}],
}  # fmt: skip

NAMES = sorted(FAST)
BAD_CASES = [(name, params) for name, cases in BAD.items() for params in cases]


def test_registry_holds_every_model() -> None:
    assert sorted(MODEL_REGISTRY) == NAMES


def test_make_model_unknown_name_lists_valid_names() -> None:
    with pytest.raises(InvalidInputError, match="als, blend, bpr, ease, hybrid, itemknn"):
        make_model("svd")
    with pytest.raises(InvalidInputError, match="accepts"):
        make_model("als", factor=3)


def test_make_model_ignores_common_params_where_meaningless() -> None:
    model = make_model("ease", factors=64, seed=0)
    assert model.get_params() == {
        "regularization": 500.0,
        "max_items": 10_000,
        "num_threads": 0,
        "binary": True,
    }
    assert make_model("als", factors=7).get_params()["factors"] == 7


@pytest.fixture(scope="module")
def small(shop_factory: Callable[..., Any]) -> Any:
    return shop_factory(n_users=120, n_items=40, seed=5)


@pytest.fixture(scope="module")
def fitted(small: Any) -> dict[str, RecModel]:
    return {name: make_model(name, **FAST[name]).fit(small.matrices) for name in NAMES}


def _batch(
    m: TrainingMatrices, rows: np.ndarray
) -> tuple[np.ndarray, sp.csr_matrix, sp.csr_matrix]:
    users = rows.copy()
    users[::2] = -1  # half unknown members, folded in from their rows
    return users, m.confidence[rows], m.user_features[rows]


def _state_equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("name", NAMES)
def test_fit_returns_self_and_score_shapes(name: str, small: Any) -> None:
    model = make_model(name, **FAST[name])
    assert model.fit(small.matrices) is model
    m = small.matrices
    users, hist, feats = _batch(m, np.arange(7))
    scores = model.score(users, hist, feats)
    assert scores.shape == (7, m.n_items)
    assert scores.dtype == np.float32
    assert np.isfinite(scores).all()
    # features are optional, an empty batch is a batch
    assert model.score(users, hist).shape == (7, m.n_items)
    empty = model.score(np.zeros(0, np.int64), sp.csr_matrix((0, m.n_items)))
    assert empty.shape == (0, m.n_items)
    assert empty.dtype == np.float32


@pytest.mark.parametrize("name", NAMES)
def test_fold_in_shapes_or_refusal(name: str, fitted: dict[str, RecModel], small: Any) -> None:
    model = fitted[name]
    m = small.matrices
    hist, feats = m.confidence[:5], m.user_features[:5]
    # a model is one kind or the other, and a type checker can see which
    assert isinstance(model, VectorModel) != isinstance(model, ScoreModel)
    if not isinstance(model, VectorModel):
        assert not hasattr(model, "fold_in") and not hasattr(model, "item_factors_")
        return
    vecs = model.fold_in(hist, feats)
    dim = model.item_factors_.shape[1]
    assert vecs.shape == (5, dim)
    assert vecs.dtype == np.float32
    assert vecs.flags.c_contiguous
    assert model.user_factors_.shape == (m.n_users, dim)
    assert model.user_factors_.dtype == np.float32
    assert model.item_factors_.shape == (m.n_items, dim)
    assert model.item_factors_.dtype == np.float32
    assert model.fold_in(sp.csr_matrix((0, m.n_items))).shape == (0, dim)
    # vector models score with a dot product
    scores = model.score(np.full(5, -1), hist, feats)
    np.testing.assert_allclose(scores, vecs @ model.item_factors_.T, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_oversized_batch(name: str, fitted: dict[str, RecModel], small: Any) -> None:
    m = small.matrices
    n = 3 * m.n_users  # more rows than the model has members
    rng = np.random.default_rng(0)
    hist = sp.random(n, m.n_items, density=0.1, format="csr", random_state=rng, dtype=np.float32)
    feats = m.user_features[rng.integers(0, m.n_users, n)]
    scores = fitted[name].score(np.full(n, -1), hist, feats)
    assert scores.shape == (n, m.n_items)
    assert np.isfinite(scores).all()


@pytest.mark.parametrize("name", NAMES)
def test_refit_starts_from_scratch(name: str, small: Any, shop_factory: Callable[..., Any]) -> None:
    other = shop_factory(n_users=90, n_items=30, seed=9).matrices
    first = make_model(name, **FAST[name]).fit(small.matrices).get_state()
    model = make_model(name, **FAST[name]).fit(small.matrices)
    model.fit(other)
    assert (model.n_users_, model.n_items_) == (90, 30)
    assert not _state_equal(model.get_state(), first)
    assert model.score(np.arange(3), other.confidence[:3]).shape == (3, 30)
    model.fit(small.matrices)
    # same seed, same data, one thread: identical, nothing left over from the other fit
    assert _state_equal(model.get_state(), first)


@pytest.mark.parametrize("name", NAMES)
def test_state_round_trip_gives_identical_scores(
    name: str, fitted: dict[str, RecModel], small: Any
) -> None:
    model = fitted[name]
    params = json.loads(json.dumps(model.get_params()))
    buf = io.BytesIO()
    np.savez(buf, **model.get_state())
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as state:
        loaded = type(model).from_state(params, state)
    m = small.matrices
    users, hist, feats = _batch(m, np.arange(9))
    for store in (-1, 1):
        np.testing.assert_array_equal(
            loaded.score(users, hist, feats, store=store), model.score(users, hist, feats, store)
        )
    if isinstance(model, VectorModel):
        np.testing.assert_array_equal(loaded.fold_in(hist, feats), model.fold_in(hist, feats))
        np.testing.assert_array_equal(loaded.item_factors_, model.item_factors_)
    assert repr(loaded) == repr(model)


@pytest.mark.parametrize("name", NAMES)
def test_from_state_missing_array(name: str, fitted: dict[str, RecModel]) -> None:
    model = fitted[name]
    state = model.get_state()
    state.pop(sorted(k for k in state if k != "_shape")[0])
    with pytest.raises(ArtifactError, match="lacks array"):
        type(model).from_state(model.get_params(), state)


@pytest.mark.parametrize(("name", "params"), BAD_CASES)
def test_bad_hyperparameters_raise_at_fit(name: str, params: dict[str, Any], small: Any) -> None:
    model = make_model(name, **{**FAST[name], **params})
    with pytest.raises(InvalidInputError):
        model.fit(small.matrices)
    with pytest.raises(NotFittedError):
        model.score(np.zeros(1, np.int64), small.matrices.confidence[:1])


@pytest.mark.parametrize("name", NAMES)
def test_use_before_fit(name: str, small: Any) -> None:
    model = make_model(name, **FAST[name])
    m = small.matrices
    with pytest.raises(NotFittedError, match="call fit"):
        model.score(np.zeros(1, np.int64), m.confidence[:1])
    if isinstance(model, VectorModel):
        with pytest.raises(NotFittedError):
            model.fold_in(m.confidence[:1])
    with pytest.raises(NotFittedError):
        model.get_state()


@pytest.mark.parametrize("name", NAMES)
def test_wrong_shapes_raise(name: str, fitted: dict[str, RecModel], small: Any) -> None:
    model = fitted[name]
    m = small.matrices
    users = np.arange(2)
    with pytest.raises(InvalidInputError, match="SKU columns"):
        model.score(users, sp.csr_matrix((2, m.n_items + 1)))
    with pytest.raises(InvalidInputError, match="profile rows"):
        model.score(users, m.confidence[:2], sp.csr_matrix((2, m.user_features.shape[1] + 2)))
    with pytest.raises(InvalidInputError, match="differ in length"):
        model.score(np.arange(3), m.confidence[:2])
    with pytest.raises(InvalidInputError, match="member ids"):
        model.score(np.array([0, m.n_users]), m.confidence[:2])
    with pytest.raises(InvalidInputError):
        model.fit("not matrices")  # type: ignore[arg-type]
    if isinstance(model, VectorModel):
        with pytest.raises(InvalidInputError, match="SKU columns"):
            model.fold_in(sp.csr_matrix((1, m.n_items - 1)))


@pytest.mark.parametrize("name", NAMES)
def test_duplicate_entries_are_summed(name: str, fitted: dict[str, RecModel], small: Any) -> None:
    m = small.matrices
    model = fitted[name]
    # a row with SKU 3 twice (not canonical): must score as the summed row
    raw = sp.csr_matrix(
        (np.array([0.5, 0.5, 1.0], np.float32), np.array([3, 3, 7]), np.array([0, 3])),
        shape=(1, m.n_items),
    )
    summed = sp.csr_matrix(raw.toarray())
    np.testing.assert_allclose(
        model.score([-1], raw), model.score([-1], summed), rtol=1e-5, atol=1e-6
    )


def _copy_of(items: list[int], n_trained: int) -> sp.csr_matrix:
    """Look-alike weights: added SKU ``j`` is exactly trained SKU ``items[j]``."""
    rows = np.arange(len(items))
    data = np.ones(len(items), np.float32)
    return sp.csr_matrix((data, (rows, items)), shape=(len(items), n_trained))


@pytest.mark.parametrize("name", NAMES)
def test_an_added_sku_scores_as_its_look_alikes(
    name: str, fitted: dict[str, RecModel], small: Any
) -> None:
    model, m = fitted[name], small.matrices
    n = m.n_items
    weights = _copy_of([3, 7], n)
    weights = sp.vstack([weights, 0.25 * _copy_of([1], n) + 0.75 * _copy_of([2], n)]).tocsr()
    grown = model.with_items(weights)
    assert (model.n_items_, grown.n_items_, grown.n_trained_items_) == (n, n + 3, n)
    users, rows, feats = _batch(m, np.arange(6))
    wide = sp.hstack([rows, sp.csr_matrix((6, 3))]).tocsr()
    before = model.score(users, rows, feats, store=0)
    after = grown.score(users, wide, feats, store=0)
    np.testing.assert_allclose(after[:, :n], before, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(after[:, n], before[:, 3], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(after[:, n + 1], before[:, 7], rtol=1e-5, atol=1e-6)
    mix = 0.25 * before[:, 1] + 0.75 * before[:, 2]
    if not isinstance(model, VectorModel) or name not in ("profile", "hybrid"):
        np.testing.assert_allclose(after[:, n + 2], mix, rtol=1e-4, atol=1e-5)
    sub = grown.score(users, wide, feats, store=0, items=np.array([2, 3, 7, n, n + 1]))
    np.testing.assert_allclose(sub[:, 3:], sub[:, 1:3], rtol=1e-5, atol=1e-6)
    if name != "blend":  # blend scales each part to its row maximum over the SKUs scored
        np.testing.assert_allclose(sub, after[:, [2, 3, 7, n, n + 1]], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_an_event_on_an_added_sku_counts_on_its_look_alike(
    name: str, fitted: dict[str, RecModel], small: Any
) -> None:
    model, m = fitted[name], small.matrices
    n = m.n_items
    grown = model.with_items(_copy_of([4], n))
    cold = -np.ones(1, dtype=np.int64)
    on_trained = sp.csr_matrix(([2.0], ([0], [4])), shape=(1, n), dtype=np.float32)
    on_added = sp.csr_matrix(([2.0], ([0], [n])), shape=(1, n + 1), dtype=np.float32)
    wide = sp.hstack([on_trained, sp.csr_matrix((1, 1))]).tocsr()
    np.testing.assert_allclose(
        grown.score(cold, on_added), grown.score(cold, wide), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("name", NAMES)
def test_added_skus_survive_the_state_round_trip(
    name: str, fitted: dict[str, RecModel], small: Any
) -> None:
    model, m = fitted[name], small.matrices
    grown = model.with_items(_copy_of([0, 9], m.n_items))
    back = type(grown).from_state(grown.get_params(), grown.get_state())
    users, rows, feats = _batch(m, np.arange(4))
    wide = sp.hstack([rows, sp.csr_matrix((4, 2))]).tocsr()
    assert back.n_items_ == m.n_items + 2
    np.testing.assert_array_equal(back.score(users, wide, feats), grown.score(users, wide, feats))


def test_added_sku_weights_must_match_the_trained_skus(fitted: dict[str, RecModel]) -> None:
    with pytest.raises(InvalidInputError, match="columns"):
        fitted["als"].with_items(sp.csr_matrix((1, 3)))
