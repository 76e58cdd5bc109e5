"""Every route and every documented error, over HTTP against a real ``bentoml serve``."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import httpx
import numpy as np
import pytest

from recsys.columns import Columns
from recsys.serving.redaction import MASK

if TYPE_CHECKING:
    from conftest import TrainedModel

pytestmark = pytest.mark.http


def _error(resp: httpx.Response, status: int, error: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert isinstance(body, dict) and "error" in body and "detail" in body, body
    if error is not None:
        assert body["error"] == error, body
    return body


# ------------------------------------------------------------------------------ routes
def test_metrics_report_shelf_time_fallbacks_lag_and_version(
    client: httpx.Client, trained: TrainedModel
) -> None:
    client.post("/recommend", json={"member_id": "never-seen-metrics", "store_id": trained.store})
    event = {"user_id": trained.member, "item_id": trained.item, "kind": "view"}
    client.post("/events", json={"events": [event]})
    version = client.post("/recommend", json={"member_id": trained.member}).json()["model_version"]
    client.post("/similar", json={"item_id": trained.item, "k": 3})
    client.post("/member", json={"member_id": trained.member})
    text = client.get("/metrics").text
    for route in ("/recommend", "/similar", "/member"):
        assert f'recsys_shelf_seconds_count{{route="{route}"}}' in text, route
    assert 'recsys_shelf_seconds_bucket{le="0.001",route="/recommend"}' in text
    assert 'recsys_fallback_shelves_total{fallback="popular-in-store",route="/recommend"}' in text
    assert "recsys_event_log_lag" in text
    # one series per worker that served: which version each one serves
    assert re.search(rf'recsys_model_info{{model_version="{version}",worker="\d+"}} 1\.0', text)


def test_metrics_label_requests_by_route_never_by_a_path_a_client_made_up(
    client: httpx.Client,
) -> None:
    card = "4111111111111111"
    for path in (f"/members/{card}", f"/pages/static/{card}.js", f"/screen/{card}"):
        assert client.get(path).status_code == 404, path
    assert client.get("/pages/static/pages.css").status_code == 200  # routed as sent
    assert client.post(f"/recommend/{card}", json={}).status_code == 404
    assert client.post("/recommend", json={"member_id": "u-metrics"}).status_code == 200
    text = client.get("/metrics").text
    assert card not in text
    for label in ("/{unmatched}", "/pages/static/{name}", "/recommend"):
        assert f'bentoml_service_request_total{{endpoint="{label}"' in text, label


def test_probes_metrics_and_docs(client: httpx.Client) -> None:
    for path in ("/healthz", "/livez", "/readyz", "/metrics", "/docs.json"):
        assert client.get(path).status_code == 200, path
    spec = client.get("/docs.json").json()
    for route in ("/recommend", "/recommend_batch", "/similar", "/audience", "/events"):
        assert route in spec["paths"], route
    body = spec["paths"]["/recommend"]["post"]["requestBody"]["content"]["application/json"]
    props = body["schema"]["properties"]
    assert props["member_id"]["description"] and props["member_id"]["example"]
    for route in ("/recommend", "/events", "/catalog", "/forget"):  # every error it can give
        answers = spec["paths"][route]["post"]["responses"]
        assert {"200", "400", "401", "404", "405", "413", "422", "503"} <= set(answers), route
    assert "503" in spec["paths"]["/readyz"]["get"]["responses"]  # unready: what it answers
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(spec)  # valid OpenAPI 3.0, as it says: client generators read it
    for probe in ("/healthz", "/livez", "/readyz", "/metrics"):
        assert "405" in spec["paths"][probe]["get"]["responses"], probe
        assert client.post(probe).status_code == 405, probe
    assert "/pages/static/{name}" in spec["paths"]
    for page in ("/screen", "/assistant"):  # the mounted pages: documented as they answer
        get = spec["paths"][page]["get"]
        assert [p["name"] for p in get["parameters"]] == ["store_id", "member_id"], page
        assert {"200", "400", "405"} == set(get["responses"]) and get["security"] == [], page
        assert client.get(page).status_code == 400  # what its 400 says: parameters missing
    from recsys import __version__

    assert spec["info"]["version"] == __version__
    docs = client.get("/docs", follow_redirects=True)  # where people look for the API page
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]


def test_a_store_shelf_of_every_season(client: httpx.Client, trained: TrainedModel) -> None:
    # the README: a store's shelf is in season unless the filters say in_season: false
    import recsys

    state = recsys.Recommender.load(trained.path).state_
    day = "2026-01-15"
    names = np.asarray(state.item_names)
    in_season = set(names[state.dataset.catalog.mask(in_season=day)].tolist())
    ask = {"member_id": trained.member, "store_id": trained.store, "k": 40}
    shelves = {}
    for season in (False, day):
        answer = client.post("/recommend", json={**ask, "filters": {"in_season": season}})
        assert answer.status_code == 200, answer.text
        shelves[season] = {i["item_id"] for i in answer.json()["items"]}
    assert shelves[day] <= in_season
    assert shelves[False] - in_season  # every season: some SKU out of season on that day
    refused = client.post("/recommend", json={**ask, "filters": {"in_season": True}})
    assert refused.status_code == 422, refused.text


@pytest.mark.parametrize(
    ("method", "path", "status", "error"),
    [
        ("GET", "/recommend", 405, "MethodNotAllowed"),
        ("PUT", "/recommend", 405, "MethodNotAllowed"),
        ("DELETE", "/events", 405, "MethodNotAllowed"),
        ("POST", "/no-such-route", 404, "NotFound"),
        ("GET", "/no/such/page", 404, "NotFound"),
        ("GET", "/member/4111111111111111", 404, "NotFound"),
    ],
)
def test_a_wrong_route_or_method_is_answered_in_the_error_shape(
    client: httpx.Client, method: str, path: str, status: int, error: str
) -> None:
    answer = client.request(method, path, json={"member_id": "u1"} if method != "GET" else None)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == error and answer.json()["detail"], answer.text
    assert "4111111111111111" not in answer.text  # a card number in the path is not repeated
    if status == 405:
        assert "POST" in answer.headers["allow"], answer.headers  # what it takes


def test_recommend(client: httpx.Client, trained: TrainedModel) -> None:
    resp = client.post(
        "/recommend", json={"member_id": trained.member, "store_id": trained.store, "k": 5}
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["model_version"]
    items = body["items"]
    assert 0 < len(items) <= 5
    assert set(items[0]) == {"item_id", "score", "reason", "name", "category", "price"}
    stocked = set(
        trained.data.stores.loc[trained.data.stores[Columns.STORE] == trained.store, Columns.ITEM]
    )
    assert {i["item_id"] for i in items} <= stocked
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)


def test_recommend_follows_the_rules_of_the_request(
    client: httpx.Client, trained: TrainedModel
) -> None:
    body = {"member_id": trained.member, "store_id": trained.store, "k": 8}
    plain = client.post("/recommend", json=body).json()["items"]
    last = plain[-1]["item_id"]
    rules = {"max_per_category": 1, "pin": {last: 0}}
    resp = client.post("/recommend", json={**body, "rules": rules})
    assert resp.status_code == 200, resp.text
    items = resp.json()["items"]
    category = trained.data.catalog.set_index(Columns.ITEM)[Columns.CATEGORY]
    shown = [category[i["item_id"]] for i in items]
    assert items[0]["item_id"] == last and len(shown) == len(set(shown))
    batch = client.post(
        "/recommend_batch",
        json={"member_ids": [trained.member], "store_id": trained.store, "k": 8, "rules": rules},
    ).json()["results"][0]["items"]
    assert [i["item_id"] for i in batch] == [i["item_id"] for i in items]
    bad = client.post("/recommend", json={**body, "rules": {"bury": ["sku-nope"]}})
    assert bad.status_code == 404 and bad.json()["error"] == "UnknownIdError"


def test_recommend_filters_and_cold_profile(client: httpx.Client, trained: TrainedModel) -> None:
    catalog = trained.data.catalog
    category = str(catalog[Columns.CATEGORY].iloc[0])
    resp = client.post(
        "/recommend",
        json={"member_id": trained.member, "k": 10, "filters": {"category": [category]}},
    )
    assert resp.status_code == 200, resp.text
    allowed = set(catalog.loc[catalog[Columns.CATEGORY] == category, Columns.ITEM])
    assert {i["item_id"] for i in resp.json()["items"]} <= allowed
    resp = client.post(
        "/recommend",
        json={
            "profile": {"age_band": "25-34", "family": "kids"},
            "store_id": trained.store,
            "k": 3,
        },
    )
    assert resp.status_code == 200, resp.text
    assert len(resp.json()["items"]) == 3


def test_unknown_member_falls_back(client: httpx.Client, trained: TrainedModel) -> None:
    resp = client.post("/recommend", json={"member_id": "never-seen", "store_id": trained.store})
    assert resp.status_code == 200, resp.text
    assert resp.json()["items"] and resp.json()["fallback"] == "popular-in-store"
    known = client.post("/recommend", json={"member_id": trained.member}).json()
    assert known["fallback"] is None
    batch = client.post("/recommend_batch", json={"member_ids": [trained.member, "never-seen"]})
    assert [s["fallback"] for s in batch.json()["results"]] == [None, "popular"]
    # tags nobody has (an unknown field, an unseen value) are no profile: a popular shelf
    for tags in ({"zzz": "1"}, {"age_band": "99-100"}):
        shelf = client.post("/recommend", json={"profile": tags, "store_id": trained.store})
        assert shelf.status_code == 200, shelf.text
        assert shelf.json()["fallback"] == "popular-in-store", tags
    read = client.post("/recommend", json={"profile": {"age_band": "25-34"}}).json()
    assert read["fallback"] is None  # a tag the model knows: a shelf of tags


def test_recommend_batch(client: httpx.Client, trained: TrainedModel) -> None:
    members = [trained.member, "never-seen"]
    resp = client.post(
        "/recommend_batch", json={"member_ids": members, "k": 4, "store_id": trained.store}
    )
    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    assert [r["member_id"] for r in results] == members
    assert all(0 < len(r["items"]) <= 4 for r in results)


def test_similar_and_audience(client: httpx.Client, trained: TrainedModel) -> None:
    resp = client.post(
        "/similar", json={"item_id": trained.item, "k": 5, "store_id": trained.store}
    )
    assert resp.status_code == 200, resp.text
    items = resp.json()["items"]
    assert 0 < len(items) <= 5 and trained.item not in {i["item_id"] for i in items}
    resp = client.post("/audience", json={"item_id": trained.item, "k": 7})
    assert resp.status_code == 200, resp.text
    members = resp.json()["members"]
    assert 0 < len(members) <= 7 and set(members[0]) == {"member_id", "score", "reason"}


def test_views_over_http_fill_the_next_shelf_with_their_category(
    client: httpx.Client, trained: TrainedModel
) -> None:
    member = str(trained.data.interactions[Columns.USER].iloc[40])
    body = {"member_id": member, "store_id": trained.store, "k": 10}
    category = trained.data.catalog.set_index(Columns.ITEM)[Columns.CATEGORY]
    stocked = trained.data.stores.loc[
        trained.data.stores[Columns.STORE] == trained.store, Columns.ITEM
    ].tolist()
    shown = {category[i["item_id"]] for i in client.post("/recommend", json=body).json()["items"]}
    counts = category[stocked].value_counts()
    target = next(c for c in counts.index if c not in shown and counts[c] >= 6)
    viewed = [i for i in stocked if category[i] == target][:3]
    events = [
        {"user_id": member, "item_id": i, "kind": "view", "value": 90.0, "store_id": trained.store}
        for i in viewed
    ]
    assert client.post("/events", json={"events": events}).status_code == 200
    items = client.post("/recommend", json=body).json()["items"]
    others = [i for i in items if category[i["item_id"]] == target and i["item_id"] not in viewed]
    assert len(others) >= 2, items
    assert others[0]["reason"].startswith("because you just looked at")


def test_events_change_the_next_shelf_and_count_once(
    client: httpx.Client, trained: TrainedModel
) -> None:
    request = {"member_id": trained.member, "store_id": trained.store, "k": 5}
    top = client.post("/recommend", json=request).json()["items"][0]["item_id"]
    event = {
        "user_id": trained.member,
        "item_id": top,
        "kind": "purchase",
        "store_id": trained.store,
        "event_id": "routes-purchase-1",
    }
    resp = client.post("/events", json={"events": [event]})
    assert resp.status_code == 200, resp.text
    assert resp.json()["accepted"] == 1 and resp.json()["duplicates"] == 0
    # bought now, so excluded from the very next shelf, whichever worker answers it
    for _ in range(10):
        after = [i["item_id"] for i in client.post("/recommend", json=request).json()["items"]]
        assert top not in after
    retry = client.post("/events", json={"events": [event]})
    assert retry.status_code == 200
    assert retry.json()["accepted"] == 0 and retry.json()["duplicates"] == 1


def test_events_of_a_new_member(client: httpx.Client, trained: TrainedModel) -> None:
    event = {"user_id": "brand-new-member", "item_id": trained.item, "kind": "view", "value": 40.0}
    assert client.post("/events", json={"events": [event]}).status_code == 200
    resp = client.post("/recommend", json={"member_id": "brand-new-member", "k": 3})
    assert resp.status_code == 200 and resp.json()["items"]


# ------------------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("route", "body", "status", "error"),
    [
        ("/recommend", {"member_id": "u1", "store_id": "s-nope"}, 404, "UnknownIdError"),
        ("/recommend", {"member_id": "u1", "filters": {"include": ["sku-nope"]}}, 404, None),
        ("/recommend", {"k": 5}, 422, "InvalidInputError"),
        ("/similar", {"item_id": "sku-nope"}, 404, "UnknownIdError"),
        ("/audience", {"item_id": "sku-nope"}, 404, "UnknownIdError"),
        ("/recommend_batch", {"member_ids": []}, 422, "InvalidInputError"),
        ("/recommend_batch", {"member_ids": ["u1"] * 1001}, 413, "PayloadTooLargeError"),
        ("/events", {"events": []}, 422, "InvalidInputError"),
    ],
)
def test_recsys_errors(
    client: httpx.Client, route: str, body: dict, status: int, error: str | None
) -> None:
    _error(client.post(route, json=body), status, error)


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/recommend", {"member_id": "u1", "k": 0}),
        ("/recommend", {"member_id": "u1", "k": -3}),
        ("/recommend", {"member_id": "u1", "k": 1001}),
        ("/recommend", {"member_id": "u1", "k": "10"}),
        ("/recommend", {"member_id": 42}),
        ("/recommend", {"member_id": "u1", "filters": {"colour": "red"}}),
        ("/recommend", {"member": "u1"}),
        ("/recommend", {"member_id": "u1", "rules": {"max_per_category": 0}}),
        ("/recommend", {"member_id": "u1", "rules": {"boosts": {}}}),
        ("/recommend_batch", {"k": 3}),
        ("/recommend_batch", {"member_ids": "u1"}),
        ("/recommend_batch", {"member_ids": ["u1", ""]}),  # as /recommend refuses them
        ("/recommend_batch", {"member_ids": ["x" * 257]}),
        ("/similar", {}),
        ("/audience", {"item_id": "sku1", "k": 100_001}),
        ("/events", {"events": [{"user_id": "u1", "item_id": "sku1"}]}),
        ("/events", {"events": [{"user_id": "u1", "item_id": "sku1", "kind": "like"}]}),
        (
            "/events",
            {"events": [{"user_id": "u1", "item_id": "sku1", "kind": "view", "value": -1}]},
        ),
        ("/events", {"events": {"user_id": "u1"}}),
        ("/similar", {"item_id": "x" * 5000}),  # ids are at most 256 characters everywhere
        ("/audience", {"item_id": "x" * 300}),
        ("/recommend", {"member_id": "u1", "store_id": "s" * 300}),
        ("/events", {"profiles": {"m" * 300: {"tier": "gold"}}}),
    ],
)
def test_validation_errors_are_json_422(client: httpx.Client, route: str, body: dict) -> None:
    body = _error(client.post(route, json=body), 422, "ValidationError")
    assert isinstance(body["detail"], list) and body["detail"][0]["loc"] is not None
    assert all(set(e) == {"type", "loc", "msg"} for e in body["detail"])


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"null", b'{"member_id": "u1",}', b""])
@pytest.mark.parametrize("route", ["/recommend", "/analytics/retention"])
def test_malformed_json_is_400(client: httpx.Client, raw: bytes, route: str) -> None:
    # an empty body too: it is no JSON object (read as {}, a route of defaults answered 200)
    resp = client.post(route, content=raw, headers={"content-type": "application/json"})
    _error(resp, 400, "MalformedRequest")
    if not raw:  # where no route takes the request, the router's answer stands
        _error(client.post("/no-such-route", content=raw), 404, "NotFound")
        _error(client.post("/healthz", content=raw), 405, "MethodNotAllowed")


def test_unknown_item_or_store_in_events_writes_nothing(
    client: httpx.Client, trained: TrainedModel
) -> None:
    good = {"user_id": trained.member, "item_id": trained.item, "kind": "view", "event_id": "x-1"}
    bad_item = {**good, "item_id": "sku-nope", "event_id": "x-2"}
    bad_store = {**good, "store_id": "s-nope", "event_id": "x-3"}
    _error(client.post("/events", json={"events": [good, bad_item]}), 404, "UnknownIdError")
    _error(client.post("/events", json={"events": [good, bad_store]}), 404, "UnknownIdError")
    # the good event of the rejected batches was not written: now it is new
    resp = client.post("/events", json={"events": [good]})
    assert resp.json() | {"last_seq": 0} == {"accepted": 1, "duplicates": 0, "last_seq": 0}


def test_too_many_events_is_413_and_writes_nothing(
    client: httpx.Client, trained: TrainedModel
) -> None:
    events = [
        {"user_id": f"bulk-{i}", "item_id": trained.item, "kind": "view", "event_id": f"bulk-{i}"}
        for i in range(10_001)
    ]
    payload = json.dumps({"events": events}).encode()
    resp = client.post("/events", content=payload, headers={"content-type": "application/json"})
    _error(resp, 413, "PayloadTooLargeError")
    resp = client.post("/events", json={"events": events[:1]})
    assert resp.json()["accepted"] == 1  # bulk-0 was not written by the rejected call


def test_a_batch_answer_over_the_slot_limit_is_413(
    client: httpx.Client, trained: TrainedModel
) -> None:
    """1,000 members x k=1,000 would be a 100 MB answer: refused, naming the limit."""
    members = [f"m{i}" for i in range(1000)]
    body = _error(client.post("/recommend_batch", json={"member_ids": members, "k": 1000}), 413)
    assert "RECSYS_MAX_BATCH_SLOTS" in body["detail"] and "100,000" in body["detail"]
    ok = client.post("/recommend_batch", json={"member_ids": members[:100], "k": 1000})
    assert ok.status_code == 200, ok.text


def test_body_over_byte_limit_is_413(client: httpx.Client) -> None:
    payload = b'{"member_id": "' + b"x" * (9 * 1024 * 1024) + b'"}'
    resp = client.post("/recommend", content=payload, headers={"content-type": "application/json"})
    _error(resp, 413, "PayloadTooLargeError")


def test_event_schema_errors_name_the_event_and_field_never_the_value(
    client: httpx.Client, trained: TrainedModel
) -> None:
    good = {"user_id": trained.member, "item_id": trained.item, "kind": "view"}
    cases = [
        ([good, {**good, "timestamp": "2300-01-01"}], ["events", 1, "timestamp"]),
        ([{**good, "kind": "stare"}], ["events", 0, "kind"]),
        ([good, good, {**good, "colour-4929123412341234": 1}], ["events", 2, MASK]),
        ([{**good, "store_id": {"a": 1}}], ["events", 0, "store_id"]),  # found by
        ([good, {**good, "user_id": ["4929123412341234"]}], ["events", 1, "user_id"]),
        ([good, {"item_id": trained.item, "kind": "view"}], ["events", 1, "user_id"]),
        ([{**good, "user_id": 4929123412341234}], ["events", 0, "user_id"]),
    ]  # (the last two: schemathesis; they were 500s)
    # (the same paths as pydantic's answers on every other route: no "body" in front)
    assert _error(client.post("/recommend", json={"member_id": "u1", "k": 0}), 422)[
        "detail"][0]["loc"] == ["k"]  # fmt: skip
    for events, loc in cases:
        answer = client.post("/events", json={"events": events})
        body = _error(answer, 422, "ValidationError")
        assert body["detail"][0]["loc"] == loc, body
        assert "4929123412341234" not in answer.text and "colour" not in answer.text
