"""Cold evaluation: shelves of brand-new members, built from their profile tags only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.columns import Columns
from recsys.evaluation.evaluate import (
    _BATCH,
    _check_args,
    _check_sample,
    _sample,
    _scored,
)
from recsys.evaluation.relevance import _check_frame, relevant_items
from recsys.exceptions import InvalidInputError
from recsys.models.dither import member_seeds

__all__ = ["evaluate_cold"]


def _profile_dicts(test_profiles: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Member -> tag dict (missing tags left out) of a profiles frame."""
    _check_frame(test_profiles, "test_profiles", (Columns.USER,))
    out: dict[str, dict[str, Any]] = {}
    for record in test_profiles.drop_duplicates(Columns.USER).to_dict("records"):
        member = str(record.pop(Columns.USER))
        out[member] = {
            str(tag): (value.item() if isinstance(value, np.generic) else value)
            for tag, value in record.items()
            if not _missing(value)
        }
    return out


def _missing(value: Any) -> bool:
    """A scalar NaN / None / NA tag (list-valued tags are never missing)."""
    if isinstance(value, list | tuple | set | frozenset | np.ndarray):
        return False
    return bool(pd.isna(value))


def _cold_shelves(
    recommender: Any, members: list[str], profiles: dict[str, dict[str, Any]], k: int
) -> dict[str, list[str]]:
    """Profile-only shelves from the array core, ``_BATCH`` members per call."""
    dataset = recommender.dataset_
    encoder, names = dataset.profile_encoder, dataset.items.ids
    shelves: dict[str, list[str]] = {}
    for start in range(0, len(members), _BATCH):
        chunk = members[start : start + _BATCH]
        rows = sp.vstack([encoder.transform_one(profiles[m]) for m in chunk], format="csr")
        users = np.full(len(chunk), -1, dtype=np.int64)
        seeds = {"seeds": member_seeds(chunk)} if _dithers(recommender) else {}
        ids, _ = recommender.recommend_arrays(users, k, profiles=rows, **seeds)
        shelves.update(
            (m, names[row[row >= 0]].tolist()) for m, row in zip(chunk, ids, strict=True)
        )
    return shelves


def _dithers(recommender: Any) -> bool:
    """Whether a recommender dithers cold shelves by member (as :meth:`recommend` does)."""
    strength = getattr(recommender, "cold_dither", 1.0)
    return strength == "auto" or float(strength) > 1.0


def _cold_relevant(
    recommender: Any,
    test: pd.DataFrame,
    profiles: dict[str, dict[str, Any]],
    *,
    relevant_kinds: str | Sequence[str] | None,
    sample: int | None,
    seed: int,
) -> dict[str, set[str]]:
    """Relevant sets of the (sampled) test members with a profile, all unknown to the model."""
    dataset = recommender.dataset_
    relevant = relevant_items(
        test,
        None,
        relevant_kinds=relevant_kinds,
        exclude_train=False,
        known_items=set(dataset.items.ids.tolist()),
    )
    members = [m for m in relevant if m in profiles]
    known = [m for m in members if m in dataset.users]
    if known:
        raise InvalidInputError(
            f"{len(known)} cold test members are known to the recommender (e.g. {known[:3]}): "
            "fit without their events and profile rows (see cold_user_split)"
        )
    members = _sample(members, _check_sample(sample), seed)
    if not members:
        raise InvalidInputError(
            "no test member has both a profile row and a relevant SKU: nothing to evaluate"
        )
    return {m: relevant[m] for m in members}


def evaluate_cold(
    recommender: Any,
    test: pd.DataFrame,
    test_profiles: pd.DataFrame,
    k: int = 10,
    *,
    train: pd.DataFrame | None = None,
    sample: int | None = None,
    seed: int = 0,
    relevant_kinds: str | Sequence[str] | None = "auto",
) -> dict[str, float]:
    """Score shelves of brand-new members built from their profile tags only.

    Each member of ``test`` with a row in ``test_profiles`` gets
    ``recommend_arrays`` with their encoded tags (no store) and, for a recommender that
    dithers cold shelves (``cold_dither``), the seeds of their ids, as their own
    :meth:`~recsys.recommender.Recommender.recommend` would; their relevant SKUs are all their test
    events of ``relevant_kinds`` (there is no history to exclude). Use a split where these
    members are absent from training, e.g. :func:`~recsys.evaluation.cold_user_split`, and fit
    without their profile rows.

    Parameters
    ----------
    recommender : Recommender
        Fitted without these members (nor their profile rows).
    test : pandas.DataFrame
        Events of the held-out members.
    test_profiles : pandas.DataFrame
        ``user_id`` and tag columns of the held-out members.
    k : int
        Shelf length.
    train : pandas.DataFrame, optional
        Training events for novelty's item popularity (default: the recommender's matrix).
    sample, seed, relevant_kinds
        As in :func:`evaluate`.

    Returns
    -------
    dict of str to float
        The keys of :func:`evaluate`.

    Raises
    ------
    InvalidInputError
        Unfitted recommender, bad ``k`` or ``sample``, a test member the recommender already
        knows (not cold: the split leaked), or no member with a profile row and a relevant
        SKU.

    Examples
    --------
    >>> import recsys
    >>> from recsys.datasets import synthetic_retail
    >>> from recsys.evaluation import cold_user_split
    >>> data = synthetic_retail(n_users=300, n_items=200, n_stores=3, items_per_store=(80, 120))
    >>> train, test, test_profiles = cold_user_split(data.interactions, data.profiles, 0.2)
    >>> warm_profiles = data.profiles[~data.profiles.user_id.isin(test_profiles.user_id)]
    >>> rec = recsys.Recommender(model="profile", factors=8, iterations=3).fit(
    ...     train, catalog=data.catalog, stores=data.stores, profiles=warm_profiles)
    >>> report = evaluate_cold(rec, test, test_profiles, k=5)
    >>> report["n_members"] > 0
    True
    """
    k = _check_args(recommender, k, sample, _BATCH)
    profiles = _profile_dicts(test_profiles)
    relevant = _cold_relevant(
        recommender, test, profiles, relevant_kinds=relevant_kinds, sample=sample, seed=seed
    )
    shelves = _cold_shelves(recommender, list(relevant), profiles, k)
    return _scored(recommender, shelves, relevant, k, train, seed)
