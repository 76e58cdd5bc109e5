"""Cold shelves are dithered by member: same tags, different shelves; stable per member."""

from __future__ import annotations

import numpy as np
import pytest

import recsys
from recsys import InvalidInputError
from recsys.models.dither import DITHER_HEAD, dither, member_seeds

PROFILE = {"age_band": "25-34", "family": "kids"}


@pytest.fixture(scope="module")
def rec(small_data):
    return recsys.Recommender(model="hybrid", factors=16, iterations=8).fit(small_data)


def _shelf(rec, member, k=10, **kw):
    return [r.item_id for r in rec.recommend(member, k=k, **kw)]


def _undithered(rec, member, **kw):
    strength, rec.cold_dither = rec.cold_dither, 1.0
    try:
        return _shelf(rec, member, **kw)
    finally:
        rec.cold_dither = strength


def test_same_tags_give_each_member_their_own_stable_shelf(rec):
    shelves = {m: _shelf(rec, m, profile=PROFILE) for m in (f"new-{j}" for j in range(30))}
    assert len({tuple(s) for s in shelves.values()}) >= 25
    plain = _undithered(rec, "new-0", profile=PROFILE)
    assert all(s[:DITHER_HEAD] == plain[:DITHER_HEAD] for s in shelves.values())
    assert any(set(s) != set(plain) for s in shelves.values())  # not only a reshuffle
    assert _shelf(rec, "new-3", profile=PROFILE) == shelves["new-3"]  # a refresh: the same


def test_off_or_anonymous_or_warm_is_the_ranked_shelf(rec, small_data):
    anonymous = _shelf(rec, None, profile=PROFILE)
    assert _undithered(rec, "new-0", profile=PROFILE) == anonymous
    member = small_data.interactions.user_id.iloc[0]  # a history: not dithered
    assert _shelf(rec, member) == _undithered(rec, member)
    store = small_data.stores.store_id.iloc[0]
    assert _shelf(rec, "ghost", store_id=store) == _undithered(rec, "ghost", store_id=store)


def test_dithered_shelves_keep_every_rule_and_filter(rec, small_data):
    catalog = small_data.catalog.set_index("item_id")
    store = small_data.stores.store_id.iloc[1]
    stocked = set(small_data.stores.loc[small_data.stores.store_id == store, "item_id"])
    every = {"in_season": False}
    plain = _undithered(rec, "new-0", profile=PROFILE, store_id=store, filters=every)
    buried, pinned = plain[4], next(i for i in sorted(stocked) if i not in plain)
    rules = {"max_per_category": 2, "pin": {pinned: 1}, "bury": [buried]}
    for j in range(20):
        member = f"new-{j}"
        shelf = _shelf(
            rec, member, profile=PROFILE, store_id=store, rules=rules, filters=every, k=8
        )
        assert len(shelf) == 8 and set(shelf) <= stocked and shelf[1] == pinned
        assert catalog.loc[shelf, "category"].value_counts().max() <= 2
        assert buried not in shelf


def test_new_member_with_stored_tags_is_dithered_everywhere(small_data):
    rec = recsys.Recommender(model="hybrid", factors=16, iterations=8).fit(small_data)
    item = small_data.catalog.item_id.iloc[0]
    members = [f"qr-{j}" for j in range(12)]
    rec.update(
        [{"user_id": "qr-buyer", "item_id": item, "kind": "purchase"}],
        profiles={m: PROFILE for m in [*members, "qr-buyer"]},
    )
    one = {m: _shelf(rec, m) for m in members}
    assert len({tuple(s) for s in one.values()}) >= 10
    batch = rec.recommend_batch(members, k=10)
    assert [[r.item_id for r in s] for s in batch] == [one[m] for m in members]
    users = rec.members_.to_index(members, strict=True)
    ids, scores = rec.recommend_arrays(users, k=10, seeds=member_seeds(members))
    names = rec.dataset_.items.ids
    assert [names[row].tolist() for row in ids] != [names[ids[0]].tolist()] * len(members)
    assert bool((scores[:, :-1] >= scores[:, 1:]).all())
    assert _shelf(rec, "qr-buyer") == _undithered(rec, "qr-buyer")  # has a history


def test_bad_dithering_input_is_refused(rec, small_data):
    with pytest.raises(InvalidInputError, match="cold_dither"):
        recsys.Recommender(model="popular", cold_dither=0.5).fit(small_data)
    for strength in (True, "more", None):
        with pytest.raises(InvalidInputError, match="cold_dither"):
            recsys.Recommender(model="popular", cold_dither=strength).fit(small_data)
    for seeds in ([1, 2], [[1, 2, 3]], ["a", "b", "c"], [0.5, 1.5, 2.5]):
        with pytest.raises(InvalidInputError, match="seeds"):
            rec.recommend_arrays([-1, -1, -1], k=5, seeds=seeds)


def test_save_load_keeps_the_dithered_shelves(rec, tmp_path):
    before = [_shelf(rec, f"new-{j}", profile=PROFILE) for j in range(5)]
    loaded = recsys.Recommender.load(rec.save(tmp_path / "m"))
    assert loaded.cold_dither == "auto"
    assert [_shelf(loaded, f"new-{j}", profile=PROFILE) for j in range(5)] == before


def test_dither_moves_only_below_the_head_and_keeps_padding():
    ids = np.array([5, 9, 2, 7, 1, 8, 3, 4, -1, -1])
    scores = np.array([9, 8, 7, 6, 5, 4, 3, 2, -np.inf, -np.inf], dtype=np.float32)
    seen = set()
    for seed in range(40):
        out, vals = dither(ids, scores, seed, 3.0)
        assert out[:DITHER_HEAD].tolist() == [5, 9, 2]
        assert sorted(out[:8].tolist()) == sorted(ids[:8].tolist())
        assert out[8:].tolist() == [-1, -1] and vals.tolist() == scores.tolist()
        seen.add(tuple(out.tolist()))
    assert len(seen) > 20
    assert dither(ids, scores, 0, 1.0)[0] is ids  # off
    short = np.array([3, 1, 2, -1])
    assert dither(short, scores[:4], 0, 3.0)[0].tolist() == short.tolist()  # too few to move


def test_member_seeds_are_stable_hashes():
    seeds = member_seeds(["a", "b", None, "a"])
    assert seeds[0] == seeds[3] != seeds[1] and seeds[2] == -1 and (seeds[[0, 1, 3]] >= 0).all()
    # the same in every process and release: BLAKE2b, not Python's salted hash()
    assert int(member_seeds(["member-1"])[0]) == 7080256964766692602


def test_auto_takes_the_strength_the_default_model_chose(small_data):
    rec = recsys.Recommender(factors=8).fit(small_data)
    chosen = rec.model_.cold_dither_
    auto = [_shelf(rec, f"new-{j}", profile=PROFILE) for j in range(8)]
    rec.cold_dither = chosen
    assert [_shelf(rec, f"new-{j}", profile=PROFILE) for j in range(8)] == auto
    rec.cold_dither = 1.0 if chosen > 1.0 else 5.0
    assert [_shelf(rec, f"new-{j}", profile=PROFILE) for j in range(8)] != auto
