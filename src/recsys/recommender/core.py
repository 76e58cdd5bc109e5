"""The array core under the string-id facade: internal ids in, ``(ids, scores)`` out.

:func:`rank_members` ranks SKUs for a batch of members (one member is a batch of one) and
:func:`rank_audience` ranks members for one SKU. Shelves, batches, audiences and evaluation
all come through here; no reason string is built in this module.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from recsys.data import Catalog
from recsys.models import VectorModel
from recsys.models.dither import DITHER_POOL, dither
from recsys.recommender.ranking import Allowed, Rows, top_k
from recsys.recommender.rules import POOL_FACTOR, Rules, apply_rules, apply_rules_rows
from recsys.recommender.scoring import RowScorer, handoff_share
from recsys.recommender.session import Session
from recsys.recommender.state import ShelfState

__all__ = ["rank_audience", "rank_category", "rank_members", "rank_shelves", "rank_similar"]

#: members scored at once by a score model's audience (memory bound)
_SCORE_CHUNK = 2048
#: SKUs of a visit's categories added to a shelf's candidates (the most popular ones)
VISIT_CANDIDATES = 500
#: a visiting member's allow-list up to this size is scored whole (a store's assortment)
_SCORE_WHOLE = 5000
#: a visit's lift scales scores against the member's best this many (and the visit's SKUs),
#: whatever the shelf's length: a longer shelf starts with the shorter one
_SPAN_RANKS = 50
#: plain rows from which the rules run on all rows at once (fewer: row by row is cheaper)
_RULES_AT_ONCE = 4


def rank_members(
    state: ShelfState,
    users: np.ndarray,
    k: int,
    *,
    store: int,
    allowed: Allowed,
    exclude: Rows | None,
    profiles: sp.csr_matrix | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` SKU ids and scores per member, padded with ``-1`` / ``-inf``.

    Parameters
    ----------
    state : ShelfState
    users : ndarray of int64, shape (n,)
        Internal member ids; ``-1`` is a member nothing is known about.
    k : int
    store : int
        Internal store id of the shelf (``-1``: none); per-store popularity uses it.
    allowed : Allowed
        The SKUs the shelves may hold.
    exclude : Rows, optional
        SKUs each member's shelf must not hold.
    profiles : csr_matrix, shape (n, n_features), optional
        Encoded profile rows given with the request; an empty row means "use the stored
        profile". A ``-1`` member without a profile row gets the popularity fallback.
    """
    n = len(users)
    if profiles is None and n == 1 and users[0] >= 0:  # one known member: the common shelf
        if allowed.key is not None and state.items is not None and exclude is not None:
            query = state.members.vectors(users)[0]
            return state.items.store_shelf(query, k, allowed, exclude.indices)
        return _rank_model(state, users, k, store, allowed, exclude, None, None)
    has_profile = np.zeros(n, bool) if profiles is None else np.diff(profiles.indptr) > 0
    # nothing known, or tags a model cannot read: popularity (in the member's segment)
    fallback = (users < 0) & (~has_profile | (not state.model.uses_profiles))
    if not fallback.any():
        return _rank_model(state, users, k, store, allowed, exclude, profiles, has_profile)
    if fallback.all():
        return _rank_fallback(state, n, k, store, allowed, exclude, profiles)
    ids = np.full((n, k), -1, dtype=np.int64)
    vals = np.full((n, k), -np.inf, dtype=np.float32)
    back, rest = np.flatnonzero(fallback), np.flatnonzero(~fallback)
    part = None if exclude is None else exclude.take(back)
    tags = None if profiles is None else profiles[back]
    ids[back], vals[back] = _rank_fallback(state, len(back), k, store, allowed, part, tags)
    part = None if exclude is None else exclude.take(rest)
    rows = None if profiles is None else profiles[rest]
    ids[rest], vals[rest] = _rank_model(
        state, users[rest], k, store, allowed, part, rows, has_profile[rest]
    )
    return ids, vals


def rank_shelves(
    state: ShelfState,
    users: np.ndarray,
    k: int,
    *,
    store: int,
    allowed: Allowed,
    exclude: Rows,
    rules: Rules,
    profiles: sp.csr_matrix | None = None,
    sessions: Sequence[Session | None] | None = None,
    session_weight: float = 1.0,
    handoff: float = 0.0,
    seeds: np.ndarray | None = None,
    cold_dither: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`rank_members`, then each member's current visit and the merchandising ``rules``.

    The rules pick from a pool of candidates several times ``k`` (see :meth:`Rules.pool`);
    a pinned SKU that is not in the pool but may be on the shelf (in the allow-list, not
    excluded for that member) is added to it. A member with a visit in ``sessions`` also gets
    the allowed SKUs of the visit's categories into the pool, and every candidate's score
    (scaled to [0, 1] in the pool) gains ``session_weight`` x the visit's share of its
    category (see :mod:`recsys.recommender.session`). A known member with a profile and a
    thin history is scored by the ``handoff`` blend of :mod:`recsys.recommender.scoring`.
    A member known by tags alone (no history, no visit) whose ``seeds`` entry is ``>= 0``
    gets candidates re-ranked by :func:`~recsys.models.dither.dither` with
    ``cold_dither`` before the rules.
    """
    n = len(users)
    visits = list(sessions) if sessions is not None else [None] * n
    given = np.zeros(n, bool) if profiles is None else np.diff(profiles.indptr) > 0
    rows = [profiles[j] if given[j] and users[j] >= 0 else None for j in range(n)]  # type: ignore[index]
    shares = [handoff_share(state, int(u), r, handoff) for u, r in zip(users, rows, strict=True)]
    special = [v is not None or c is not None for v, (c, _) in zip(visits, shares, strict=True)]
    if seeds is None:
        dithered = np.zeros(n, dtype=bool)
    else:
        seeds = np.asarray(seeds)
        dithered = _dithered(state, users, given, visits, seeds, cold_dither)
    if rules.is_trivial and not any(special) and not dithered.any():
        return rank_members(
            state, users, k, store=store, allowed=allowed, exclude=exclude, profiles=profiles
        )
    pool = max(rules.pool(k), k * POOL_FACTOR if any(special) else k)
    pool = max(pool, DITHER_POOL) if dithered.any() else pool
    plain = np.flatnonzero(~np.asarray(special, dtype=bool))
    if len(plain) == n:  # every row ranked as it is (a shelf without a visit, most often)
        ids, vals = rank_members(
            state, users, pool, store=store, allowed=allowed, exclude=exclude, profiles=profiles
        )
    else:
        ids = np.full((n, pool), -1, dtype=np.int64)
        vals = np.full((n, pool), -np.inf, dtype=np.float32)
    if 0 < len(plain) < n:
        ids[plain], vals[plain] = rank_members(
            state,
            users[plain],
            pool,
            store=store,
            allowed=allowed,
            exclude=exclude.take(plain),
            profiles=None if profiles is None else profiles[plain],
        )
    pins = np.array([item for item, _ in rules.pin], dtype=np.int64)
    if len(pins) and allowed.ids is not None:
        pins = pins[_contains(allowed.ids, pins)]
    catalog = state.dataset.catalog
    out_ids = np.full((n, k), -1, dtype=np.int64)
    out_vals = np.full((n, k), -np.inf, dtype=np.float32)
    todo = np.arange(n)
    if len(plain) >= _RULES_AT_ONCE:  # rows ranked as they are: at once where rules allow
        plain = plain[~dithered[plain]]
        done = apply_rules_rows(ids[plain], vals[plain], k, rules, catalog)
        if done is not None:
            out_ids[plain], out_vals[plain] = done
            todo = np.setdiff1d(todo, plain, assume_unique=True)
    for row in todo.tolist():
        banned = exclude.indices[exclude.indptr[row] : exclude.indptr[row + 1]]
        row_ids, row_vals = ids[row], vals[row]
        if special[row]:
            cold, share = shares[row]
            scorer = RowScorer(state, int(users[row]), store, rows[row], cold, share)
            session = visits[row]
            candidates, base, span = _candidates(scorer, session, pool, allowed, banned)
            if session is not None:
                lift = (catalog, session, session_weight)
                row_ids, row_vals = _lifted(*lift, candidates, base, span)
            else:
                order = np.argsort(-base, kind="stable")
                row_ids, row_vals = candidates[order], base[order]
        if dithered[row] and seeds is not None:  # the best ``pool`` (by tags)
            seed = int(seeds[row])
            row_ids, row_vals = dither(row_ids[:pool], row_vals[:pool], seed, cold_dither)
        pinned = set(pins[~np.isin(pins, banned)].tolist()) if len(pins) else set()
        out_ids[row], out_vals[row] = apply_rules(row_ids, row_vals, k, rules, catalog, pinned)
    return out_ids, out_vals


def _dithered(
    state: ShelfState,
    users: np.ndarray,
    given: np.ndarray,
    visits: Sequence[Session | None],
    seeds: np.ndarray,
    cold_dither: float,
) -> np.ndarray:
    """Which rows are shelves of tags alone to dither (with a seed, no visit): an unknown
    member with a profile row, or one first seen after training with tags and no history."""
    out = (seeds >= 0) & np.array([v is None for v in visits], dtype=bool)
    if cold_dither <= 1.0 or not out.any():
        return np.zeros(len(users), dtype=bool)
    members = state.members
    for j in np.flatnonzero(out & (users >= 0)).tolist():
        u = int(users[j])
        out[j] = (
            u >= members.n_trained
            and not len(members.history_items(u))
            and bool(given[j] or members.features(users[j : j + 1]).nnz)
        )
    return out & ((users >= 0) | given)


def _contains(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Whether each of ``ids`` is in ``sorted_ids``."""
    if not len(sorted_ids):
        return np.zeros(len(ids), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
    return sorted_ids[pos] == ids


def _candidates(
    scorer: RowScorer,
    session: Session | None,
    pool: int,
    allowed: Allowed,
    banned: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """One member's candidates (the best ``pool``, the visit's categories), their scores,
    and the span the visit's lift scales scores by (see :func:`_span`). A store's
    assortment is scored once, whole; a wider allow-list is searched for the pool first
    (the profile's pool too, while it has a share)."""
    state, every = scorer.state, allowed.ids
    extra = _visit_skus(state, session, allowed, banned)
    if every is not None and len(every) <= _SCORE_WHOLE:
        scores = scorer(every)
        if len(banned):
            scores[np.searchsorted(every, banned[_contains(every, banned)])] = -np.inf
        top = _best(scores, max(pool, _SPAN_RANKS))
        span = _span(scores[top[:_SPAN_RANKS]], scores[np.searchsorted(every, extra)])
        top = top[:pool]
        if session is None:
            return every[top], scores[top], span
        candidates = np.union1d(every[top], extra).astype(np.int64)
        return candidates, scores[np.searchsorted(every, candidates)], span
    one = Rows.one(banned)
    found = []
    for user, profile in ((scorer.user, scorer.profile), (-1, scorer.cold)):
        if user < 0 and profile is None:
            continue
        ids, _ = rank_members(
            state,
            np.array([user], dtype=np.int64),
            pool if session is None else max(pool, _SPAN_RANKS),
            store=scorer.store,
            allowed=allowed,
            exclude=one,
            profiles=None if profile is None else sp.csr_matrix(profile),
        )
        found.append(ids[0][ids[0] >= 0])
    best = [ids[:pool] for ids in found]
    candidates = np.union1d(np.concatenate(best), extra).astype(np.int64)
    if session is None:  # no lift to scale
        return candidates, scorer(candidates), (0.0, 0.0)
    reference = np.unique(np.concatenate([ids[:_SPAN_RANKS] for ids in found] + [extra]))
    scored = np.union1d(candidates, reference).astype(np.int64)
    scores = scorer(scored)
    span = _span(scores[np.searchsorted(scored, reference)], np.zeros(0, np.float32))
    return candidates, scores[np.searchsorted(scored, candidates)], span


def _best(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the best ``n`` finite ``scores``, best first (ties by position)."""
    if not len(scores):
        return np.zeros(0, dtype=np.int64)
    top = np.argpartition(-scores, min(n, len(scores) - 1))[:n]
    top = top[np.isfinite(scores[top])]
    return top[np.lexsort((top, -scores[top]))]


def _span(best: np.ndarray, visit: np.ndarray) -> tuple[float, float]:
    """(low, high) of the scores a visit's lift is scaled against: the member's best
    :data:`_SPAN_RANKS` and the SKUs of the visit's categories, however long the shelf."""
    values = np.concatenate([best, visit])
    values = values[np.isfinite(values)]
    return (float(values.min()), float(values.max())) if len(values) else (0.0, 0.0)


def _visit_skus(
    state: ShelfState, session: Session | None, allowed: Allowed, banned: np.ndarray
) -> np.ndarray:
    """The allowed, not excluded SKUs of the visit's categories (the most popular first,
    at most :data:`VISIT_CANDIDATES`); none without a visit."""
    if session is None:
        return np.zeros(0, dtype=np.int64)
    codes = state.dataset.catalog.category_codes
    wanted = np.flatnonzero(session.intent(codes)[1:] > 0)
    every = allowed.ids if allowed.ids is not None else np.arange(len(codes), dtype=np.int64)
    extra = every[np.isin(codes[every], wanted)]
    extra = extra[~np.isin(extra, banned)]
    if len(extra) > VISIT_CANDIDATES:
        popular = state.fallback.overall()[extra]
        extra = extra[np.argsort(-popular, kind="stable")[:VISIT_CANDIDATES]]
    return np.sort(extra).astype(np.int64)


def _lifted(
    catalog: Catalog,
    session: Session,
    weight: float,
    candidates: np.ndarray,
    base: np.ndarray,
    span: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """Candidates ordered by their score scaled over ``span`` plus the visit's lift, best
    first."""
    if not len(candidates):  # nothing may be shown (e.g. a filter no stocked SKU passes)
        return candidates, base.astype(np.float32)
    low, high = span
    scaled = (base - low) / (high - low) if high > low else np.zeros_like(base)
    lift = session.intent(catalog.category_codes)[catalog.category_codes[candidates] + 1]
    lift[np.isin(candidates, session.items)] = 0.0  # show what else there is
    total = scaled + weight * lift
    order = np.argsort(-total, kind="stable")
    return candidates[order], total[order].astype(np.float32)


def _rank_model(
    state: ShelfState,
    users: np.ndarray,
    k: int,
    store: int,
    allowed: Allowed,
    exclude: Rows | None,
    profiles: sp.csr_matrix | None,
    has_profile: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    model, members = state.model, state.members
    if isinstance(model, VectorModel) and state.items is not None:
        if has_profile is None or (users >= 0).all():
            queries = members.vectors(users)
        else:
            queries = np.empty((len(users), model.item_vectors.shape[1]), dtype=np.float32)
            known = users >= 0
            queries[known] = members.vectors(users[known])
            cold = np.flatnonzero(~known)
            empty = sp.csr_matrix((len(cold), model.n_items_), dtype=np.float32)
            assert profiles is not None  # a cold row without a profile is a fallback row
            queries[cold] = model.fold_in(empty, profiles[cold])
        return state.items.search(queries, k, allowed, exclude)
    features = members.features(users)
    if profiles is not None and has_profile is not None and has_profile.any():
        keep = sp.diags((~has_profile).astype(np.float32))
        features = sp.csr_matrix(
            keep @ features + sp.diags(has_profile.astype(np.float32)) @ profiles
        )
    # members first seen in live events are unknown to the model: it scores their live rows
    known = np.where(users < model.n_users_, users, -1)
    columns = allowed.ids
    sub = model.score(known, members.history(users), features, store, items=columns)
    return top_k(sub, k, columns, exclude)


def _rank_fallback(
    state: ShelfState,
    n: int,
    k: int,
    store: int,
    allowed: Allowed,
    exclude: Rows | None,
    profiles: sp.csr_matrix | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Popular in the store, and in the member's segment of tags when there are tags."""
    columns = allowed.ids
    fallback = state.fallback
    if profiles is None or not profiles.nnz:
        empty = sp.csr_matrix((1, fallback.n_items_), dtype=np.float32)
        row = fallback.score(np.array([-1]), empty, None, store, items=columns)
        return top_k(np.repeat(row, n, axis=0), k, columns, exclude)
    empty = sp.csr_matrix((n, fallback.n_items_), dtype=np.float32)
    scores = fallback.score(np.full(n, -1), empty, profiles, store, items=columns)
    return top_k(scores, k, columns, exclude)


def rank_audience(
    state: ShelfState,
    item: int,
    k: int,
    *,
    allowed: np.ndarray | None,
    exclude: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` member ids and scores for one SKU (shape ``(k,)`` each, padded).

    ``allowed`` (sorted member ids, ``None``: all) and ``exclude`` limit who may be chosen.
    """
    model = state.model
    if isinstance(model, VectorModel):
        query = model.item_vectors[item : item + 1]
        ids, vals = state.audiences.index().search(query, k, allowed=allowed, excluded=exclude)
        return ids[0], vals[0]
    scores = _item_column(state, item)[None, :]
    sub = scores if allowed is None else scores[:, allowed]
    rows = None if exclude is None else Rows.one(exclude)
    ids, vals = top_k(sub, k, allowed, rows)
    return ids[0], vals[0]


def _item_column(state: ShelfState, item: int) -> np.ndarray:
    """Every member's score of one SKU, from a score model, in chunks of members."""
    members, model = state.members, state.model
    n = len(members)
    out = np.empty(n, dtype=np.float32)
    for start in range(0, n, _SCORE_CHUNK):
        users = np.arange(start, min(n, start + _SCORE_CHUNK), dtype=np.int64)
        known = np.where(users < model.n_users_, users, -1)
        scores = model.score(known, members.history(users), members.features(users))
        out[start : start + len(users)] = scores[:, item]
    return out


def rank_similar(
    state: ShelfState,
    item: int,
    k: int,
    store: int,
    allowed: np.ndarray | None,
    excluded: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The SKUs with a positive similarity to ``item``, best first (at most ``k``).

    Cosine between item vectors for a vector model, else the model's scores for a member
    whose history is this one SKU.
    """
    if state.similar is not None:
        q = state.similar.vectors[item : item + 1]
        ids, vals = state.similar.search(q, k, allowed=allowed, excluded=excluded)
    else:
        n_items = state.model.n_items_
        row = sp.csr_matrix(([1.0], ([0], [item])), shape=(1, n_items), dtype=np.float32)
        scores = state.model.score(np.array([-1]), row, None, store)
        sub = scores if allowed is None else scores[:, allowed]
        ids, vals = top_k(sub, k, allowed, Rows.one(excluded))
    keep = (ids[0] >= 0) & (vals[0] > 0)
    return ids[0][keep], vals[0][keep]


def rank_category(
    state: ShelfState,
    item: int,
    k: int,
    store: int,
    allowed: np.ndarray | None,
    excluded: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Popular SKUs (in the store) of ``item``'s category, best first (at most ``k``)."""
    codes = state.dataset.catalog.category_codes
    every = allowed if allowed is not None else np.arange(len(codes), dtype=np.int64)
    same = every[(codes[every] == codes[item]) & (codes[item] >= 0)]
    same = same[~np.isin(same, excluded)]
    fallback = state.fallback
    empty = sp.csr_matrix((1, fallback.n_items_), dtype=np.float32)
    scores = fallback.score(np.array([-1]), empty, None, store, items=same)
    ids, vals = top_k(scores, k, same)
    keep = ids[0] >= 0
    return ids[0][keep], vals[0][keep]
