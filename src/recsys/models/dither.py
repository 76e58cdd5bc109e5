"""Rank dithering of cold shelves: members who share their tags still see their own shelf.

A shelf built from tags alone is the same for every member with those tags (on a chain
whose only tag is the home country, a few dozen shelves for all new members). Dithering
(Dunning and Friedman, *Practical Machine Learning: Innovations in Recommendation*, 2014)
re-ranks the candidates by ``log(rank) + noise`` with noise drawn from
``N(0, sqrt(log(epsilon)))``: the first :data:`DITHER_HEAD` slots stay as ranked, the rest
mix with candidates a little further down. The noise is seeded by a stable hash of the
member id, so a member sees the same shelf on every refresh, and a different one from
their neighbour's. ``epsilon = 1`` turns it off. The default model chooses its strength on
its validation slice (``BlendModel.cold_dither_``); other models use
:data:`DEFAULT_DITHER`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

__all__ = ["DEFAULT_DITHER", "DITHER_HEAD", "DITHER_POOL", "dither", "member_seeds"]

#: strength of a model that does not choose its own on validation (the blend does)
DEFAULT_DITHER = 3.0
#: slots at the top of a cold shelf that keep their rank
DITHER_HEAD = 3
#: candidates a dithered shelf is drawn from (at least)
DITHER_POOL = 50


def member_seeds(member_ids: Sequence[str | None]) -> np.ndarray:
    """A stable non-negative seed per member id (``-1`` for ``None``: no dithering).

    The seed is a BLAKE2b hash of the id, so it is the same in every process and run.

    Examples
    --------
    >>> seeds = member_seeds(["m1", "m2", None])
    >>> bool(seeds[0] != seeds[1]), int(seeds[2]), bool((member_seeds(["m1"]) == seeds[0]).all())
    (True, -1, True)
    """
    out = np.full(len(member_ids), -1, dtype=np.int64)
    for j, member in enumerate(member_ids):
        if member is not None:
            digest = hashlib.blake2b(member.encode("utf-8"), digest_size=8).digest()
            out[j] = int.from_bytes(digest, "little") >> 1
    return out


def dither(
    ids: np.ndarray, scores: np.ndarray, seed: int, epsilon: float
) -> tuple[np.ndarray, np.ndarray]:
    """One ranked row of candidates, re-ranked by ``log(rank)`` plus seeded noise.

    The candidates keep the scores of the slots they move to, so scores stay sorted (rules
    that sort by score see the dithered order). Padding (``-1``) stays at the end.

    Parameters
    ----------
    ids, scores : ndarray, shape (n,)
        Candidates best first, padded with ``-1`` / ``-inf``.
    seed : int
        The member's seed (:func:`member_seeds`).
    epsilon : float
        Dithering strength, ``>= 1``; 1 returns the row as it is.

    Examples
    --------
    >>> ids, scores = np.arange(20), np.linspace(1.0, 0.0, 20)
    >>> a, s = dither(ids, scores, seed=7, epsilon=3.0)
    >>> a[:DITHER_HEAD].tolist(), sorted(a.tolist()) == ids.tolist(), bool((s == scores).all())
    ([0, 1, 2], True, True)
    >>> bool((dither(ids, scores, seed=8, epsilon=3.0)[0] != a).any())
    True
    """
    valid = ids >= 0
    n = int(valid.sum())
    if epsilon <= 1.0 or n <= DITHER_HEAD + 1:
        return ids, scores
    rng = np.random.default_rng(seed)
    key = np.log(np.arange(1, n + 1, dtype=np.float64))
    key += rng.normal(0.0, np.sqrt(np.log(epsilon)), n)
    key[:DITHER_HEAD] = -np.inf  # the head keeps its order (a stable sort)
    order = np.argsort(key, kind="stable")
    out_ids, out_scores = ids.copy(), scores.copy()
    out_ids[:n] = ids[valid][order]
    out_scores[:n] = -np.sort(-scores[valid])
    out_ids[n:], out_scores[n:] = -1, -np.inf
    return out_ids, out_scores
