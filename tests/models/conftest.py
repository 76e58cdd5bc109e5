"""Synthetic members whose tastes depend on their tags, and helpers, for the model tests.

The suite runs with ``--import-mode=importlib``, so test modules cannot import a sibling
helper module: the helpers are handed out as fixtures instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.data.matrices import TrainingMatrices

N_CATEGORIES = 6
TAG_GROUPS = (4, 2, 3)  # age band, family, home area: one-hot each


@dataclass(frozen=True)
class Shop:
    """A small synthetic chain: matrices plus the ground truth that generated them."""

    matrices: TrainingMatrices
    item_category: np.ndarray  # (n_items,)
    taste: np.ndarray  # (n_users, N_CATEGORIES) category probabilities
    held_out: np.ndarray  # (n_users,) one SKU per member removed from confidence


def make_shop(n_users: int = 400, n_items: int = 120, n_stores: int = 3, seed: int = 0) -> Shop:
    rng = np.random.default_rng(seed)
    item_category = np.arange(n_items) % N_CATEGORIES
    item_pop = rng.gamma(2.0, 1.0, n_items)

    # tags: one value per group, one-hot; each value shifts the category preferences strongly
    tag_values = np.column_stack([rng.integers(0, g, n_users) for g in TAG_GROUPS])
    offsets = np.cumsum((0, *TAG_GROUPS[:-1]))
    n_tags = sum(TAG_GROUPS)
    cols = (tag_values + offsets).ravel()
    rows = np.repeat(np.arange(n_users), len(TAG_GROUPS))
    user_features = sp.csr_matrix(
        (np.ones(cols.size, np.float32), (rows, cols)), shape=(n_users, n_tags)
    )
    effects = rng.normal(0.0, 1.6, (n_tags, N_CATEGORIES))
    logits = user_features @ effects + rng.normal(0.0, 0.3, (n_users, N_CATEGORIES))
    taste = np.exp(logits)
    taste /= taste.sum(axis=1, keepdims=True)

    # each member picks 6..20 distinct SKUs, category by taste, SKU by popularity
    probs = taste[:, item_category] * item_pop
    probs /= probs.sum(axis=1, keepdims=True)
    n_picks = rng.integers(6, 21, n_users)
    gumbel = np.log(probs) - np.log(-np.log(rng.random(probs.shape)))
    order = np.argsort(-gumbel, axis=1)
    picked = np.arange(n_items)[np.newaxis, :] < n_picks[:, np.newaxis]
    dense = np.zeros((n_users, n_items), np.float32)
    weights = rng.choice(np.array([1.0, 0.4, 0.15], np.float32), size=(n_users, n_items))
    np.put_along_axis(dense, order, np.where(picked, weights, 0.0), axis=1)

    # hold out the first pick of every member (a positive never seen in training)
    held_out = order[:, 0].copy()
    dense[np.arange(n_users), held_out] = 0.0
    conf = sp.csr_matrix(dense)

    item_features = sp.csr_matrix(np.eye(N_CATEGORIES, dtype=np.float32)[item_category])
    home = rng.integers(0, n_stores, n_users)
    user_stores = sp.csr_matrix(
        (np.ones(n_users, np.float32), (np.arange(n_users), home)), shape=(n_users, n_stores)
    )
    store_items = sp.csr_matrix(user_stores.T @ conf, dtype=np.float32)
    purchased = conf.copy()
    purchased.data = (purchased.data > 0).astype(np.float32)
    matrices = TrainingMatrices(
        confidence=conf,
        purchased=purchased,
        user_features=user_features,
        item_features=item_features,
        store_items=store_items,
        user_stores=user_stores,
    )
    return Shop(matrices, item_category, taste, held_out)


def subset_users(m: TrainingMatrices, rows: np.ndarray) -> TrainingMatrices:
    """The same chain seen through a subset of members (store sales recomputed)."""
    conf = m.confidence[rows]
    stores = m.user_stores[rows]
    return TrainingMatrices(
        confidence=conf,
        purchased=m.purchased[rows],
        user_features=m.user_features[rows],
        item_features=m.item_features,
        store_items=sp.csr_matrix(stores.T @ conf, dtype=np.float32),
        user_stores=stores,
    )


def auc_of(scores: np.ndarray, positives: np.ndarray, exclude: sp.csr_matrix) -> float:
    """Mean over rows of P(score of the held-out SKU > score of a random unseen SKU)."""
    n, n_items = scores.shape
    pos = scores[np.arange(n), positives][:, np.newaxis]
    negative = np.ones((n, n_items), bool)
    negative[np.arange(n), positives] = False
    negative[exclude.nonzero()] = False
    wins = ((scores < pos) & negative).sum(axis=1) + 0.5 * ((scores == pos) & negative).sum(axis=1)
    return float(np.mean(wins / negative.sum(axis=1)))


def row_auc(scores: np.ndarray, positives: np.ndarray) -> float:
    """Mean over rows of the AUC of all positive SKUs (bool mask) against all the others."""
    from scipy.stats import rankdata

    ranks = rankdata(scores, axis=1)
    n_pos = positives.sum(axis=1)
    n_neg = positives.shape[1] - n_pos
    keep = (n_pos > 0) & (n_neg > 0)
    pos_rank_sum = np.where(positives, ranks, 0.0).sum(axis=1)
    auc = (pos_rank_sum - n_pos * (n_pos + 1) / 2) / np.maximum(n_pos * n_neg, 1)
    return float(auc[keep].mean())


@pytest.fixture(scope="session")
def shop() -> Shop:
    """400 members with tags, 120 SKUs in 6 categories, 3 stores, one held-out SKU each."""
    return make_shop()


@pytest.fixture(scope="session")
def shop_factory() -> Callable[..., Shop]:
    """:func:`make_shop`, for tests that need another chain."""
    return make_shop


@pytest.fixture(scope="session")
def metrics() -> Any:
    """The ranking helpers: ``metrics.auc_of``, ``metrics.row_auc``, ``metrics.subset_users``."""
    import types

    return types.SimpleNamespace(auc_of=auc_of, row_auc=row_auc, subset_users=subset_users)
