"""Shown shelves, coupon campaigns and the assistant's member view over a real server."""

from __future__ import annotations

import re
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from recsys.columns import Columns
from recsys.events import EventLog
from recsys.serving.local import LocalServer

from .conftest import ServerEnv, TrainedModel

pytestmark = pytest.mark.http


def _impressions(server: LocalServer, shelf_id: str, wait: float = 5.0) -> list[dict[str, Any]]:
    """The logged impression of a shelf, once the writer has flushed it."""
    deadline = time.monotonic() + wait
    with EventLog(server.env["RECSYS_EVENT_LOG"]) as log:
        while True:
            frame = log.impressions()
            rows = frame[frame["shelf_id"] == shelf_id].to_dict("records")
            if rows or time.monotonic() > deadline:
                return rows
            time.sleep(0.05)


def test_every_shelf_is_logged_as_shown(
    client: httpx.Client, server: LocalServer, trained: TrainedModel
) -> None:
    body = {"member_id": trained.member, "store_id": trained.store, "k": 5}
    answer = client.post("/recommend", json=body).json()
    assert re.fullmatch(r"[0-9a-f]{32}", answer["shelf_id"])
    assert answer["variant"] == "default"
    [row] = _impressions(server, answer["shelf_id"])
    assert row[Columns.USER] == trained.member
    assert row[Columns.STORE] == trained.store
    assert row["items"] == [i["item_id"] for i in answer["items"]]
    assert row["model_version"] == answer["model_version"]
    # each entry says what a page shows of the SKU, as the catalog has it
    catalog = trained.data.catalog.set_index(Columns.ITEM)
    for item in answer["items"]:
        assert item["name"] == catalog.loc[item["item_id"], "name"]
        assert item["category"] == catalog.loc[item["item_id"], "category"]
        assert item["price"] == pytest.approx(catalog.loc[item["item_id"], "price"], abs=0.01)
    batch = client.post(
        "/recommend_batch", json={"member_ids": [trained.member, "walk-in-x"], "k": 3}
    ).json()
    ids = [r["shelf_id"] for r in batch["results"]]
    assert len(set(ids)) == 2
    [walk_in] = _impressions(server, ids[1])
    assert walk_in[Columns.USER] == "walk-in-x" and len(walk_in["items"]) == 3


def test_issued_coupons_are_capped_on_the_next_campaign(
    client: httpx.Client, trained: TrainedModel
) -> None:
    item = trained.data.catalog[Columns.ITEM].iloc[3]
    campaign = {"item_id": item, "k": 8, "caps": {"per_member": 1, "days": 30}, "issue": True}
    first = client.post("/audience", json=campaign)
    assert first.status_code == 200, first.text
    first_ids = {m["member_id"] for m in first.json()["members"]}
    assert first.json()["issued"] == len(first_ids) == 8
    assert first.json()["change_seq"] >= 1
    second = client.post("/audience", json=campaign).json()
    assert not first_ids & {m["member_id"] for m in second["members"]}
    # without caps, the same members are still the best audience: nothing was lost
    plain = client.post("/audience", json={"item_id": item, "k": 8}).json()
    assert {m["member_id"] for m in plain["members"]} == first_ids
    assert plain["issued"] == 0 and plain["change_seq"] is None


def test_budgets_and_bad_campaigns(client: httpx.Client, trained: TrainedModel) -> None:
    item = trained.data.catalog[Columns.ITEM].iloc[4]
    stores = sorted(trained.data.stores[Columns.STORE].unique())
    ok = client.post("/audience", json={"item_id": item, "k": 50, "budgets": {stores[0]: 3}})
    assert ok.status_code == 200 and len(ok.json()["members"]) == 3
    capped = {"item_id": item, "k": 5, "caps": {"per_member": 1}}
    before = client.post("/audience", json=capped).json()["members"]
    for bad, status in (
        ({"caps": {"per_member": 0}}, 422),
        ({"caps": {"days": 0}}, 422),
        ({"caps": {"per_member": 1, "weeks": 2}}, 422),
        ({"budgets": {stores[0]: -1}}, 422),
        ({"budgets": {"s-nowhere": 2}, "issue": True}, 404),
        ({"issue": "yes"}, 422),
    ):
        answer = client.post("/audience", json={"item_id": item, "k": 5, **bad})
        assert answer.status_code == status, (bad, answer.text)
        assert set(answer.json()) == {"error", "detail"}
        if status == 422:  # the field is named, in the one validation shape
            assert answer.json()["error"] == "ValidationError", answer.text
            assert answer.json()["detail"][0]["loc"][0] == next(iter(bad)), answer.text
    # nothing was issued by the refused calls: the capped campaign reaches the same members
    assert client.post("/audience", json=capped).json()["members"] == before


def test_member_view_for_the_shop_assistant(client: httpx.Client, trained: TrainedModel) -> None:
    member = str(trained.data.interactions[Columns.USER].iloc[40])
    now = datetime.now(timezone.utc).replace(tzinfo=None).isoformat()
    item = trained.item
    view = {"user_id": member, "item_id": item, "kind": "view", "value": 42.0,
            "timestamp": now, "store_id": trained.store}  # fmt: skip
    assert client.post("/events", json={"events": [view]}).status_code == 200
    answer = client.post("/member", json={"member_id": member, "store_id": trained.store})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    tags = trained.data.profiles.set_index(Columns.USER).loc[member]
    assert body["known"] is True
    assert body["profile"]["age_band"] == tags["age_band"]
    assert body["profile"]["tier"] == tags["tier"]
    assert [e["item_id"] for e in body["today"]][-1] == item
    assert body["today"][-1]["value"] == 42.0 and body["today"][-1]["store_id"] == trained.store
    shelf = client.post(
        "/recommend", json={"member_id": member, "store_id": trained.store, "k": 1}
    ).json()
    assert body["coupon"]["item_id"] == shelf["items"][0]["item_id"]
    assert body["coupon"]["reason"]
    # after opting out, the assistant has no coupon to offer
    assert client.post("/optout", json={"member_id": member}).status_code == 200
    after = client.post("/member", json={"member_id": member}).json()
    assert after["coupon"] is None and after["known"] is True
    unknown = client.post("/member", json={"member_id": "never-seen-1"}).json()
    assert unknown == {
        "member_id": "never-seen-1",
        "known": False,
        "profile": {},
        "today": [],
        "coupon": None,
        "model_version": unknown["model_version"],
    }
    # an opt-out before any event registers the member, but nothing is known of them yet
    assert client.post("/optout", json={"member_id": "never-seen-2"}).json()["known"] is False
    assert client.post("/member", json={"member_id": "never-seen-2"}).json()["known"] is False
    walk_in = {"member_id": "never-seen-2", "store_id": trained.store, "k": 3}
    assert client.post("/recommend", json=walk_in).json()["fallback"] == "popular-in-store"
    assert client.post("/member", json={"member_id": ""}).status_code == 422
    assert client.post("/member", json={"member_id": member, "k": 3}).status_code == 422
    for who in (member, "never-seen-3"):  # a store the chain lacks: a 404, known or not
        nowhere = client.post("/member", json={"member_id": who, "store_id": "s-nope"})
        assert nowhere.status_code == 404 and nowhere.json()["error"] == "UnknownIdError"


def test_erasure_removes_shown_shelves_and_coupons(
    trained: TrainedModel, tmp_path: Path, server_env: ServerEnv
) -> None:
    model = tmp_path / "shelf"
    shutil.copytree(trained.path, model)
    log_path = tmp_path / "events.sqlite"
    server = LocalServer(model, env=server_env(tmp_path, log_path)).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            shelf = c.post("/recommend", json={"member_id": trained.member, "k": 3}).json()
            sku = shelf["items"][0]["item_id"]
            c.post("/audience", json={"item_id": sku, "k": 300, "exclude_purchased": False,
                                      "issue": True})  # fmt: skip
            assert _impressions(server, shelf["shelf_id"])
            assert c.post("/forget", json={"member_id": trained.member}).status_code == 200
    finally:
        server.stop()
    with EventLog(log_path) as log:
        assert trained.member not in set(log.impressions()[Columns.USER].dropna())
        coupons = [ch for ch in log.changes() if ch.kind == "coupons"]
        assert coupons and all(trained.member not in ch.payload["members"] for ch in coupons)
    assert trained.member.encode() not in log_path.read_bytes()
