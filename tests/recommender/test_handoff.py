"""From profile to history gradually; live regulars; live events decayed like training's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import recsys
from recsys import InvalidInputError, UnknownIdError
from recsys.data import EventWeights

TAGS = {"age_band": "25-34", "family": "kids", "tier": "gold"}
OTHER = {"age_band": "55-64", "family": "single", "tier": "basic"}


@pytest.fixture(scope="module")
def als(small_data):
    return recsys.Recommender(model="als", factors=16, iterations=5).fit(small_data)


def _ids(shelf) -> list[str]:
    return [r.item_id for r in shelf]


def _buy(rec, member: str, skus: list[str]) -> None:
    rec.update([{"user_id": member, "item_id": s, "kind": "purchase"} for s in skus])


def _fresh(small_data, handoff: float):
    return recsys.Recommender(model="als", factors=16, iterations=5, profile_handoff=handoff).fit(
        small_data
    )


def test_a_profile_only_member_gets_the_profile_shelf(als):
    cold = _ids(als.recommend("qr-a", k=10, profile=TAGS))  # (dithered by the member's id)
    assert als.set_profiles({"qr-a": TAGS}) == 1
    assert _ids(als.recommend("qr-a", k=10)) == cold
    assert als.set_profiles({"qr-a": TAGS}) == 0  # known now: its tags change, no new member


def test_the_shelf_moves_from_profile_to_history_gradually(small_data):
    """One purchase keeps most of the profile shelf; with h=0 the shelf jumps at once;
    once the history is long, the profile no longer moves it at all."""
    shelves = {}
    for handoff in (3.0, 0.0):
        rec = _fresh(small_data, handoff)
        cold = _ids(rec.recommend(None, k=10, profile=TAGS))
        rec.set_profiles({"qr-b": TAGS})
        others = [s for s in small_data.catalog.item_id if s not in cold]
        _buy(rec, "qr-b", others[:1])
        one = _ids(rec.recommend("qr-b", k=10))
        _buy(rec, "qr-b", others[1:70])  # 70 SKUs: the profile's share 3/73 < 5 %
        shelves[handoff] = (len(set(one) & set(cold)), _ids(rec.recommend("qr-b", k=10)))
    (kept, long_h), (jumped, long_0) = shelves[3.0], shelves[0.0]
    assert kept >= 5 > jumped
    assert long_h == long_0


def test_a_known_members_request_profile_is_used_while_the_history_is_thin(als, small_data):
    als.set_profiles({"qr-c": TAGS})
    _buy(als, "qr-c", [small_data.catalog.item_id.iloc[7]])
    mine = _ids(als.recommend("qr-c", k=10, profile=TAGS))
    assert mine == _ids(als.recommend("qr-c", k=10))  # the stored tags are these
    assert _ids(als.recommend("qr-c", k=10, profile=OTHER)) != mine
    shelf = als.recommend("qr-c", k=10, profile=OTHER)
    assert any("55-64" in r.reason for r in shelf)  # the request's tags are the member's now


def test_update_sets_profiles_of_known_members_and_they_survive_save_and_load(small_data, tmp_path):
    rec = _fresh(small_data, 3.0)
    member = str(small_data.interactions.user_id.iloc[0])
    item = str(small_data.catalog.item_id.iloc[1])
    rec.update([{"user_id": member, "item_id": item, "kind": "view", "value": 30}], {member: OTHER})
    rec.update([{"user_id": "qr-d", "item_id": item, "kind": "view", "value": 30}], {"qr-d": TAGS})
    encoder = rec.dataset_.profile_encoder
    u = rec.members_.index_of(member)
    assert "55-64" in " ".join(encoder.tags_of_columns(rec.members_.feature_columns(u)))
    later = pd.Timestamp.now() + pd.Timedelta(days=1)  # after the visit: history alone
    before = {m: _ids(rec.recommend(m, k=10, at=later)) for m in (member, "qr-d")}
    loaded = recsys.Recommender.load(rec.save(tmp_path / "model"))
    assert {m: _ids(loaded.recommend(m, k=10, at=later)) for m in before} == before


def test_bad_profiles_change_nothing(als, small_data):
    item = small_data.catalog.item_id.iloc[2]
    n, version = als.n_members, als.members_.version
    event = [{"user_id": "qr-e", "item_id": item, "kind": "view"}]
    with pytest.raises(InvalidInputError):
        als.set_profiles({})
    with pytest.raises(InvalidInputError):
        als.set_profiles({"qr-e": "gold"})  # type: ignore[dict-item]
    with pytest.raises(UnknownIdError):  # a good profile, a bad event: neither applies
        als.update([{**event[0], "item_id": "sku-nope"}], {"qr-e": TAGS})
    assert (als.n_members, als.members_.version) == (n, version)


def _tags(rec, member: str) -> dict[str, str]:
    columns = rec.members_.feature_columns(rec.members_.index_of(member))
    return rec.dataset_.profile_encoder.tags_by_column(columns)


def test_a_profile_changes_only_the_fields_it_names(als):
    als.set_profiles({"qr-f": TAGS})
    assert als.set_profiles({"qr-f": {"tier": "basic"}}) == 0  # a new tier, nothing else
    assert _tags(als, "qr-f") == {**TAGS, "tier": "basic"}
    als.set_profiles({"qr-f": {"family": None}})  # None clears a field
    assert _tags(als, "qr-f") == {"age_band": "25-34", "tier": "basic"}
    # the shelf is the one of the tags the member has now, as if given whole
    whole = {"age_band": "25-34", "tier": "basic"}
    assert _ids(als.recommend("qr-f", k=10)) == _ids(als.recommend("qr-f", k=10, profile=whole))


@pytest.mark.parametrize(
    ("profile", "words"),
    [
        ({"agee_band": "25-34"}, "1 field(s) the model does not know"),
        ({"tier": "gold", "4111111111111111": "x"}, "1 field(s) the model does not know"),
        ({}, "names no field"),
    ],
)
def test_a_profile_with_a_field_the_model_does_not_know_changes_nothing(als, profile, words):
    als.set_profiles({"qr-g": TAGS})
    version = als.members_.version
    with pytest.raises(InvalidInputError, match=r"known: \['age_band', 'family', ") as caught:
        als.set_profiles({"qr-g": profile, "qr-h": TAGS})
    assert words in str(caught.value) and "4111111111111111" not in str(caught.value)
    assert (_tags(als, "qr-g"), als.members_.version) == (TAGS, version)
    assert als.members_.index_of("qr-h") < 0  # all or nothing


def test_a_member_with_live_events_in_a_store_is_in_its_audience(small_data):
    rec = _fresh(small_data, 3.0)
    stores = small_data.interactions.groupby("user_id")["store_id"].agg(set)
    store = "s1"
    member = next(str(m) for m, s in stores.items() if store not in s)
    stocked = small_data.stores.loc[small_data.stores.store_id == store, "item_id"]
    top = rec.recommend(member, k=1, store_id=store)[0].item_id
    everyone = rec.n_members

    def audience() -> list[str]:
        found = rec.audience(top, k=everyone, store_id=store, exclude_purchased=False)
        return [m.member_id for m in found]

    assert member not in audience()
    view = {"user_id": member, "item_id": stocked.iloc[0], "kind": "view", "store_id": store}
    rec.update([view])
    assert member in audience()


def test_live_events_are_decayed_like_training(small_data):
    """An event a half-life after the cutoff weighs twice one at it, half one before."""
    rec = recsys.Recommender(
        model="als", factors=8, iterations=3, weights=EventWeights(half_life_days=7)
    ).fit(small_data)
    cutoff = rec.cutoff
    skus = [str(s) for s in small_data.catalog.item_id.iloc[:3]]
    days = [0, 7, -7]
    rec.update(
        [
            {
                "user_id": "decay",
                "item_id": sku,
                "kind": "purchase",
                "timestamp": (cutoff + pd.Timedelta(days=d)).isoformat(),
            }
            for sku, d in zip(skus, days, strict=True)
        ]
    )
    u = rec.members_.index_of("decay")
    row = rec.members_.history(np.array([u]))
    got = {rec.dataset_.items.ids[i]: w for i, w in zip(row.indices, row.data, strict=True)}
    assert [got[s] for s in skus] == pytest.approx([1.0, 2.0, 0.5])


@pytest.mark.parametrize("model", ["itemknn", "blend"])
def test_item_item_reasons_name_a_history_sku_the_model_scored_through(small_data, model):
    """'often bought with the X you bought': X is in the history and a neighbour of the SKU."""
    rec = recsys.Recommender(model=model).fit(small_data)
    neighbours = rec.model_.item_neighbours()
    assert neighbours is not None
    names = rec.dataset_.catalog.names
    said = 0
    for member in small_data.interactions.user_id.unique()[:40]:
        u = rec.members_.index_of(member)
        history = set(rec.members_.history_items(u).tolist())
        for r in rec.recommend(member, k=10, store_id="s0"):
            if not r.reason.startswith("often bought with the "):
                continue
            said += 1
            item = rec.dataset_.items.index_of(r.item_id)
            refs = [h for h in history if names[h] in r.reason and neighbours[h, item] > 0]
            assert refs, r.reason
    assert said >= 200  # most of 400 slots
