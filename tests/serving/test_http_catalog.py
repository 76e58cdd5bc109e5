"""The live catalog over HTTP: SKUs and stock change without retraining, durably, everywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from recsys.serving.runtime import RecsysRuntime
from recsys.serving.settings import ServiceSettings

if TYPE_CHECKING:
    from conftest import TrainedModel

pytestmark = pytest.mark.http

STORE = "s2"  # the other serving tests use the first store: this one may change


def _error(resp: httpx.Response, status: int, error: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error", "detail"}, body
    if error is not None:
        assert body["error"] == error, body
    return body


def _shelf(client: httpx.Client, member: str, **extra: object) -> list[dict]:
    body = {"member_id": member, "store_id": STORE, "k": 10, **extra}
    resp = client.post("/recommend", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


def test_a_sku_added_over_http_is_on_the_next_shelf(
    client: httpx.Client, trained: TrainedModel
) -> None:
    item = {"item_id": "sku-http-new", "category": "jackets", "price": 89.0, "tags": ["wool"]}
    resp = client.post("/catalog", json={"items": [item], "stores": {STORE: [item["item_id"]]}})
    assert resp.status_code == 200, resp.text
    assert resp.json()["applied"] == 1 and resp.json()["added"] == 1
    shelf = _shelf(client, trained.member, rules={"pin": {"sku-http-new": 0}})
    assert (shelf[0]["item_id"], shelf[0]["reason"]) == ("sku-http-new", "featured in this store")
    like = client.post("/similar", json={"item_id": "sku-http-new", "k": 3}).json()["items"]
    assert len(like) == 3  # its look-alikes, or popular jackets


def test_stock_at_zero_hides_a_sku_in_that_store(
    client: httpx.Client, trained: TrainedModel
) -> None:
    top = _shelf(client, trained.member)[0]["item_id"]
    resp = client.post("/stock", json={"store_id": STORE, "stock": {top: 0}})
    assert resp.status_code == 200, resp.text
    assert top not in [i["item_id"] for i in _shelf(client, trained.member)]
    client.post("/stock", json={"store_id": STORE, "stock": {top: 2}})
    assert top in [i["item_id"] for i in _shelf(client, trained.member)]


@pytest.mark.parametrize("price", ["NaN", "Infinity"])
def test_a_price_that_is_no_number_is_refused_as_such(client: httpx.Client, price: str) -> None:
    body = '{"items": [{"item_id": "x", "price": ' + price + "}]}"  # as Python's json writes it
    answer = client.post("/catalog", content=body, headers={"content-type": "application/json"})
    [error] = _error(answer, 422, "ValidationError")["detail"]
    assert error["loc"] == ["items", 0, "price"]
    assert error["msg"] == "Input should be a finite number"  # not "... >= 0"


#: a SKU whose sale ends before it starts
_BACKWARDS = {"item_id": "x", "available_from": "2026-05-01", "available_to": "2026-04-01"}


@pytest.mark.parametrize(
    ("items", "loc", "words"),
    [
        (
            [{"item_id": "x", "season": "monsoon"}],
            ["items", 0, "season"],
            "'monsoon' is not a label",
        ),
        ([{"item_id": "y"}, _BACKWARDS], ["items", 1, "available_to"], "before the first"),
        ([{"item_id": "x"}, {"item_id": "y"}, {"item_id": "x"}], ["items"], "['x'] twice"),
    ],
)
def test_a_bad_catalog_item_names_its_field(
    client: httpx.Client, items: list[dict], loc: list, words: str
) -> None:
    [error] = _error(client.post("/catalog", json={"items": items}), 422, "ValidationError")[
        "detail"
    ]
    assert error["loc"] == loc and words in error["msg"], error
    assert not error["msg"].startswith("Value error"), error  # the model's own words


def test_a_negative_stock_names_the_field(client: httpx.Client) -> None:
    answer = client.post("/stock", json={"store_id": STORE, "stock": {"sku1": -2}})
    [error] = _error(answer, 422, "ValidationError")["detail"]
    assert error["loc"] == ["stock"] and "numbers >= 0" in error["msg"]


@pytest.mark.parametrize(
    ("route", "body", "loc"),
    [
        ("/catalog", {"items": [{"item_id": "x", "price": 1e308}]}, ["items", 0, "price"]),
        ("/stock", {"store_id": STORE, "stock": {"sku1": 1e400}}, ["stock"]),  # Infinity
        ("/events", {"events": [{"user_id": "u", "item_id": "sku1", "kind": "purchase",
                                 "value": 1e308}]}, ["events", 0, "value"]),
    ],
)  # fmt: skip
def test_a_number_too_large_to_keep_is_refused_naming_its_field(
    client: httpx.Client, route: str, body: dict, loc: list
) -> None:
    # as Python's json writes them: 1e400 parses as Infinity
    text = json.dumps(body).replace("1e+400", "1e400")
    answer = client.post(route, content=text, headers={"content-type": "application/json"})
    [error] = _error(answer, 422, "ValidationError")["detail"]
    assert error["loc"] == loc, error


@pytest.mark.parametrize(
    ("route", "body", "status", "error"),
    [
        ("/catalog", {"items": []}, 422, "InvalidInputError"),
        ("/catalog", {"items": [{"item_id": "x", "price": -1}]}, 422, "ValidationError"),
        ("/catalog", {"items": [{"category": "bags"}]}, 422, "ValidationError"),
        ("/catalog", {"items": [{"item_id": "x"}], "stores": {"s-nope": ["x"]}}, 404, None),
        ("/catalog", {"items": [{"item_id": "x"}], "stores": {STORE: ["sku-nope"]}}, 404, None),
        ("/catalog", {"items": [{"item_id": "x", "season": "monsoon"}]}, 422, "ValidationError"),
        ("/catalog", {"items": [_BACKWARDS]}, 422, "ValidationError"),
        ("/catalog", {"items": [{"item_id": "x"}, {"item_id": "x"}]}, 422, "ValidationError"),
        ("/stock", {"store_id": "s-nope", "stock": {"sku1": 0}}, 404, "UnknownIdError"),
        ("/stock", {"store_id": STORE, "stock": {"sku-nope": 0}}, 404, "UnknownIdError"),
        ("/stock", {"store_id": STORE, "stock": {"sku1": -2}}, 422, "ValidationError"),
        ("/stock", {"store_id": STORE, "stock": {}}, 422, "InvalidInputError"),
    ],
)
def test_bad_changes_are_refused_and_logged_nowhere(
    client: httpx.Client, route: str, body: dict, status: int, error: str | None
) -> None:
    before = client.post("/stock", json={"store_id": STORE, "stock": {"sku1": 1}}).json()
    _error(client.post(route, json=body), status, error)
    after = client.post("/stock", json={"store_id": STORE, "stock": {"sku1": 1}}).json()
    assert after["change_seq"] == before["change_seq"] + 1  # nothing logged in between


def test_changes_are_replayed_in_log_order_and_seen_by_every_worker(
    trained: TrainedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers share one log; a restart replays the SKU before the event on it."""
    monkeypatch.setenv("RECSYS_MODEL_DIR", str(trained.path))
    monkeypatch.setenv("RECSYS_EVENT_LOG", str(tmp_path / "events.sqlite"))
    monkeypatch.delenv("RECSYS_PSEUDONYM_KEY", raising=False)
    settings = ServiceSettings.from_env()
    a, b = RecsysRuntime(settings), RecsysRuntime(settings)
    try:
        a.add_items([{"item_id": "sku-w", "category": "bags"}], {trained.store: ["sku-w"]})
        a.ingest([{"user_id": "walk-in", "item_id": "sku-w", "kind": "purchase"}])
        a.set_stock(trained.store, {trained.item: 0})
        for worker in (a, b):
            pinned = worker.recommend(
                trained.member, 5, store_id=trained.store, rules={"pin": {"sku-w": 0}}
            )
            assert pinned[0].item_id == "sku-w"
            assert trained.item not in [r.item_id for r in pinned]
        assert b.applied_change == a.applied_change == 2
    finally:
        a.close()
        b.close()
    restarted = RecsysRuntime(settings)
    try:
        assert restarted.replayed == 1 and restarted.applied_change == 2
        shelf = restarted.recommend("walk-in", 50, store_id=trained.store)
        assert "sku-w" not in [r.item_id for r in shelf]  # bought, once the SKU was back
        assert restarted.recommender.members_.bought(
            restarted.recommender.members_.index_of("walk-in")
        ).tolist() == [restarted.recommender.dataset_.items.index_of("sku-w")]
    finally:
        restarted.close()


def test_events_carry_profiles_durably(
    client: httpx.Client, trained: TrainedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A QR-code sign-up's tags come with its first event, over HTTP and after a restart."""
    tags = {"age_band": "55-64", "family": "single"}
    event = {"user_id": "qr-http", "item_id": trained.item, "kind": "view", "value": 20}
    resp = client.post("/events", json={"events": [event], "profiles": {"qr-http": tags}})
    assert resp.status_code == 200, resp.text
    shelf = _shelf(client, "qr-http")
    assert any("55-64" in item["reason"] for item in shelf)
    bad = {"events": [event], "profiles": {"qr-http": {"age_band": ["x"]}}}
    answer = _error(client.post("/events", json=bad), 422, "ValidationError")
    assert "qr-http" not in str(answer)  # a member id keying the profiles is never echoed

    monkeypatch.setenv("RECSYS_MODEL_DIR", str(trained.path))
    monkeypatch.setenv("RECSYS_EVENT_LOG", str(tmp_path / "events.sqlite"))
    monkeypatch.delenv("RECSYS_PSEUDONYM_KEY", raising=False)
    settings = ServiceSettings.from_env()
    first = RecsysRuntime(settings)
    try:
        first.ingest([{**event, "user_id": "qr-2"}], {"qr-2": tags})
        before = [r.item_id for r in first.recommend("qr-2", 10, store_id=STORE)]
    finally:
        first.close()
    again = RecsysRuntime(settings)
    try:
        members = again.recommender.members_
        assert members.feature_columns(members.index_of("qr-2")).size == 2
        assert [r.item_id for r in again.recommend("qr-2", 10, store_id=STORE)] == before
    finally:
        again.close()


def test_tags_alone_are_logged_and_set(client: httpx.Client, trained: TrainedModel) -> None:
    """A QR-code sign-up before any event: POST /events with profiles and no events."""
    tags = {"age_band": "18-24", "family": "kids"}
    answer = client.post("/events", json={"profiles": {"qr-alone": tags}})
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 0 and answer.json()["duplicates"] == 0
    shelf = client.post("/recommend", json={"member_id": "qr-alone", "store_id": STORE}).json()
    assert shelf["fallback"] is None  # a shelf of their tags, not the popular one
    assert any("18-24" in item["reason"] for item in shelf["items"])
    also = client.post("/events", json={"events": [], "profiles": {"qr-alone-2": tags}})
    assert also.status_code == 200, also.text
    _error(client.post("/events", json={"events": []}), 422, "InvalidInputError")
    bad = {"profiles": {"qr-alone-3": {"age_band": ["x"]}}}
    refused = client.post("/events", json=bad)
    assert refused.status_code == 422, refused.text
    unknown = client.post("/recommend", json={"member_id": "qr-alone-3", "store_id": STORE})
    assert unknown.json()["fallback"] == "popular-in-store"  # the refused tags set nothing


def test_a_new_tier_keeps_the_other_tags_and_an_unknown_field_is_refused(
    client: httpx.Client,
) -> None:
    tags = {"age_band": "25-34", "family": "kids"}
    assert client.post("/events", json={"profiles": {"qr-tier": tags}}).status_code == 200
    changed = client.post("/events", json={"profiles": {"qr-tier": {"family": "couple"}}})
    assert changed.status_code == 200, changed.text
    member = client.post("/member", json={"member_id": "qr-tier"}).json()
    assert member["profile"] == {"age_band": "25-34", "family": "couple"}
    for profile in ({"phone": "x"}, {}):  # a field the model does not know, or none at all
        refused = client.post("/events", json={"profiles": {"qr-tier": profile}})
        assert refused.status_code == 422 and "phone" not in refused.text, refused.text
    after = client.post("/member", json={"member_id": "qr-tier"}).json()
    assert after["profile"] == member["profile"]  # nothing changed


def test_tags_come_as_a_list_or_as_one_string_as_in_a_csv(
    client: httpx.Client, trained: TrainedModel
) -> None:
    item = {"item_id": "sku-tags-text", "category": "jackets", "tags": "wool|navy"}
    resp = client.post("/catalog", json={"items": [item], "stores": {STORE: [item["item_id"]]}})
    assert resp.status_code == 200, resp.text
    import recsys

    rec = recsys.Recommender.load(trained.path)  # the same change, in Python
    rec.add_items([item, {"item_id": "sku-tags-list", "tags": ["wool", "navy"]}])
    catalog, items = rec.state_.dataset.catalog, rec.state_.dataset.items
    tags = [catalog.tags[items.index_of(i)] for i in ("sku-tags-text", "sku-tags-list")]
    assert tags == [("wool", "navy"), ("wool", "navy")]
    refused = client.post("/catalog", json={"items": [{"item_id": "x", "tags": 5}]})
    assert refused.status_code == 422, refused.text
