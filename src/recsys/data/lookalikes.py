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
_CHUNK = 256


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
    out = sp.lil_matrix((len(new), n_base), dtype=np.float32)
    if not len(new) or not len(candidates):
        return sp.csr_matrix(out)
    tie = np.zeros(len(candidates)) if popularity is None else np.asarray(popularity)[candidates]
    tie = 1e-6 * tie / max(float(np.max(tie, initial=0.0)), 1e-12)
    feats = _unit_rows(catalog.item_features(candidates, n_categories))
    tags = _tag_rows(catalog, candidates)
    codes, groups = catalog.category_codes, catalog.group_codes
    for start in range(0, len(new), _CHUNK):
        block = new[start : start + _CHUNK]
        sims = np.asarray(
            (_unit_rows(catalog.item_features(block, n_categories)) @ feats.T).todense()
        )
        sims += _TAG_WEIGHT * _jaccard(_tag_rows(catalog, block, tags[1])[0], tags[0])
        for j, item in enumerate(block.tolist()):
            row = sims[j] + tie
            same_style = (groups[candidates] == groups[item]) & (groups[item] >= 0)
            same_kind = (codes[candidates] == codes[item]) & (codes[item] >= 0)
            pool = same_style if same_style.any() else same_kind if same_kind.any() else None
            score = np.where(pool, row, -np.inf) if pool is not None else row
            top = np.argsort(-score, kind="stable")[:n]
            top = top[np.isfinite(score[top])]
            weight = np.maximum(score[top], 1e-3)
            out[start + j, candidates[top]] = (weight / weight.sum()).astype(np.float32)
    return sp.csr_matrix(out, dtype=np.float32)


def _unit_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    return sp.csr_matrix(sp.diags(1.0 / np.maximum(norms, 1e-12)) @ m, dtype=np.float32)


def _tag_rows(
    catalog: Catalog, items: np.ndarray, vocabulary: dict[str, int] | None = None
) -> tuple[sp.csr_matrix, dict[str, int]]:
    """Binary SKU x tag rows (tags outside a given ``vocabulary`` are dropped)."""
    vocab = {} if vocabulary is None else vocabulary
    rows, cols = [], []
    for r, item in enumerate(items.tolist()):
        for tag in set(catalog.tags[item]):
            col = vocab.get(tag)
            if col is None and vocabulary is None:
                col = vocab[tag] = len(vocab)
            if col is not None:
                rows.append(r)
                cols.append(col)
    data = np.ones(len(rows), dtype=np.float32)
    shape = (len(items), max(len(vocab), 1))
    return sp.csr_matrix((data, (rows, cols)), shape=shape), vocab


def _jaccard(a: sp.csr_matrix, b: sp.csr_matrix) -> np.ndarray:
    """Jaccard similarity of every row of ``a`` with every row of ``b`` (dense)."""
    both = np.asarray((a @ b.T).todense())
    sizes_a = np.asarray(a.sum(axis=1)).ravel()[:, None]
    sizes_b = np.asarray(b.sum(axis=1)).ravel()[None, :]
    union = sizes_a + sizes_b - both
    return np.divide(both, union, out=np.zeros_like(both), where=union > 0)
