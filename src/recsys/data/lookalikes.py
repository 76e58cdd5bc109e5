"""Look-alikes: the trained SKUs a SKU added after training is placed among, by attributes.

A SKU nobody has bought yet has no behaviour to learn from, only attributes. Its look-alikes
are trained SKUs with sales that share them: the variants of its style (same ``group_id``)
when there are any, else the SKUs of its category closest in price tier, season and tags.
A model then scores the new SKU as the weighted mean of its look-alikes' scores (a vector
model gives it the weighted mean of their vectors), so it can reach a shelf, and
``similar_items`` finds it next to them, before its first sale.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.data.catalog import Catalog

__all__ = ["N_LOOKALIKES", "lookalike_weights"]

#: look-alikes per new SKU
N_LOOKALIKES = 20
#: weight of shared tags (Jaccard) next to the feature cosine
_TAG_WEIGHT = 0.5


def lookalike_weights(
    catalog: Catalog,
    new: np.ndarray,
    candidates: np.ndarray,
    n_base: int,
    *,
    popularity: np.ndarray | None = None,
    n_categories: int | None = None,
    n: int = N_LOOKALIKES,
) -> sp.csr_matrix:
    """Each new SKU's look-alikes among ``candidates``, as weights that sum to 1 per row.

    Parameters
    ----------
    catalog : Catalog
        Attributes of every SKU (trained ones and the new ones).
    new : ndarray of int
        Internal ids of the SKUs to place.
    candidates : ndarray of int
        Internal ids (all ``< n_base``) of the trained SKUs that may be look-alikes: those
        with sales.
    n_base : int
        Number of trained SKUs: the width of the result.
    popularity : ndarray, shape (n_base,), optional
        Breaks ties between equally close look-alikes (the more sold first).
    n_categories : int, optional
        Categories known at training (feature layout; see :meth:`Catalog.item_features`).
    n : int
        Look-alikes per SKU at most.

    Returns
    -------
    scipy.sparse.csr_matrix of float32, shape (len(new), n_base)
        Row ``j`` holds the look-alikes of ``new[j]``; an empty row when there are none.

    Examples
    --------
    >>> import pandas as pd
    >>> from recsys.data import IdMap
    >>> df = pd.DataFrame({"item_id": ["a", "b", "c", "d"],
    ...                    "category": ["bags", "bags", "hats", "bags"],
    ...                    "price": [10.0, 90.0, 12.0, 11.0]})
    >>> cat = Catalog.from_frame(df, IdMap(df.item_id))
    >>> w = lookalike_weights(cat, np.array([3]), np.array([0, 1, 2]), 3, n=1)
    >>> w.toarray().tolist()
    [[1.0, 0.0, 0.0]]
    """
    new = np.asarray(new, dtype=np.int64)
    candidates = np.asarray(candidates, dtype=np.int64)
    rows, cols, vals = [], [], []
    if len(candidates):
        tie = np.zeros(n_base) if popularity is None else np.asarray(popularity, dtype=float)
        tie = 1e-6 * tie / max(float(np.max(tie, initial=0.0)), 1e-12)
        codes, groups = catalog.category_codes, catalog.group_codes
        for j, item in enumerate(new.tolist()):
            pool = candidates[(groups[candidates] == groups[item]) & (groups[item] >= 0)]
            if not len(pool):
                pool = candidates[(codes[candidates] == codes[item]) & (codes[item] >= 0)]
            if not len(pool):
                pool = candidates
            score = _similarity(catalog, item, pool, n_categories) + tie[pool]
            top = np.argsort(-score, kind="stable")[:n]
            weight = np.maximum(score[top], 1e-3)
            rows.append(np.full(len(top), j))
            cols.append(pool[top])
            vals.append(weight / weight.sum())
    if not rows:
        return sp.csr_matrix((len(new), n_base), dtype=np.float32)
    parts = (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols)))
    return sp.csr_matrix(parts, shape=(len(new), n_base), dtype=np.float32)


def _similarity(
    catalog: Catalog, item: int, pool: np.ndarray, n_categories: int | None
) -> np.ndarray:
    """Feature cosine plus weighted tag Jaccard of one SKU with each SKU of ``pool``."""
    feats = _unit_rows(catalog.item_features(pool, n_categories))
    mine = _unit_rows(catalog.item_features(np.array([item]), n_categories))
    score = np.asarray((feats @ mine.T).todense()).ravel()
    tags = set(catalog.tags[item])
    if tags:
        overlap = np.array(
            [len(tags & set(catalog.tags[p])) / len(tags | set(catalog.tags[p])) for p in pool]
        )
        score = score + _TAG_WEIGHT * overlap
    return score


def _unit_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    return sp.csr_matrix(sp.diags(1.0 / np.maximum(norms, 1e-12)) @ m, dtype=np.float32)
