"""A production-like server (API key + pseudonymization) survives ``kill -9`` with every event.

Two server starts: one that is crashed with SIGKILL right after acknowledging events, and its
restart on the same event log.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from recsys.privacy import Pseudonymizer
from recsys.serving.local import LocalServer

if TYPE_CHECKING:
    from conftest import ServerEnv, TrainedModel

pytestmark = pytest.mark.http


def _logged_users(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT user_id FROM events ORDER BY seq")]


def _shelf(client: httpx.Client, member: str, store: str, auth: dict[str, str]) -> list[str]:
    resp = client.post(
        "/recommend", json={"member_id": member, "store_id": store, "k": 10}, headers=auth
    )
    assert resp.status_code == 200, resp.text
    return [i["item_id"] for i in resp.json()["items"]]


def test_api_key_pseudonyms_and_crash_recovery(
    trained_pseudonymized: TrainedModel, tmp_path: Path, api_key: str, pseudonym_key: str
) -> None:
    auth = {"Authorization": f"Bearer {api_key}"}
    model = trained_pseudonymized
    log_path = tmp_path / "events.sqlite"
    env = {
        "RECSYS_API_KEY": api_key,
        "RECSYS_PSEUDONYM_KEY": pseudonym_key,
        "RECSYS_EVENT_LOG": str(log_path),
        "BENTOML_HOME": str(tmp_path / "bentoml"),
        "BENTOML_DO_NOT_TRACK": "True",
    }
    first = LocalServer(model.path, env=env, log_path=tmp_path / "server1.log").start()
    try:
        with httpx.Client(base_url=first.url, timeout=30) as client:
            # --- the API key is enforced, the probes stay open
            body = {"member_id": model.member, "store_id": model.store}
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": api_key}):
                resp = client.post("/recommend", json=body, headers=headers)
                assert resp.status_code == 401, resp.text
                assert resp.json()["error"] == "Unauthorized"
            assert client.post("/events", json={"events": []}).status_code == 401
            assert client.get("/metrics").status_code == 401
            assert client.get("/healthz").status_code == 200
            assert client.get("/readyz").status_code == 200
            assert client.get("/metrics", headers=auth).status_code == 200

            # --- raw member ids are pseudonymized: the trained member is known by its raw id
            before = _shelf(client, model.member, model.store, auth)
            assert before
            bought = before[:3]
            events = [
                {
                    "user_id": model.member,
                    "item_id": sku,
                    "kind": "purchase",
                    "store_id": model.store,
                    "event_id": f"crash-{i}",
                }
                for i, sku in enumerate(bought)
            ]
            resp = client.post("/events", json={"events": events}, headers=auth)
            assert resp.status_code == 200, resp.text
            assert resp.json()["accepted"] == 3
            after = _shelf(client, model.member, model.store, auth)
            assert not set(bought) & set(after)
        first.kill()  # SIGKILL: no shutdown hook, no flush
    finally:
        first.kill()

    # every acknowledged event is on disk, stored under the pseudonym only
    alias = Pseudonymizer(pseudonym_key).pseudonymize(model.member)
    assert _logged_users(log_path) == [alias] * 3

    second = LocalServer(model.path, env=env, log_path=tmp_path / "server2.log").start()
    try:
        with httpx.Client(base_url=second.url, timeout=30) as client:
            # replayed on start-up: the effect on the shelf is back
            assert _shelf(client, model.member, model.store, auth) == after
            retry = client.post("/events", json={"events": events}, headers=auth)
            assert retry.json()["accepted"] == 0 and retry.json()["duplicates"] == 3
    finally:
        second.stop()
    assert len(_logged_users(log_path)) == 3


def test_a_deleted_log_is_refused_before_any_acknowledgement(
    trained: TrainedModel, tmp_path: Path, server_env: ServerEnv
) -> None:
    """``rm`` of the log while serving: 503 naming the cause, unready, nothing acknowledged."""
    log_path = tmp_path / "events.sqlite"
    env = server_env(tmp_path, log_path)
    event = {"user_id": trained.member, "item_id": trained.item, "kind": "view"}
    server = LocalServer(trained.path, env=env, log_path=tmp_path / "server.log").start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            assert client.post("/events", json={"events": [event]}).status_code == 200
            for suffix in ("", "-wal", "-shm"):
                Path(f"{log_path}{suffix}").unlink(missing_ok=True)
            for _ in range(4):
                resp = client.post("/events", json={"events": [event]})
                assert resp.status_code == 503, resp.text
                assert resp.json()["error"] == "EventLogError"
                assert "deleted or replaced" in resp.json()["detail"]
            assert client.get("/readyz").status_code == 503
            assert client.post("/recommend", json={"member_id": trained.member}).status_code == 200
    finally:
        server.stop()


def test_a_full_disk_answers_503_with_the_cause_and_recovers(
    trained: TrainedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's page limit stands in for a full disk: the write fails, says so, and the
    runtime reports unready until the log takes writes again."""
    from recsys.exceptions import EventLogError
    from recsys.serving.runtime import RecsysRuntime
    from recsys.serving.settings import ServiceSettings

    monkeypatch.setenv("RECSYS_MODEL_DIR", str(trained.path))
    monkeypatch.setenv("RECSYS_EVENT_LOG", str(tmp_path / "events.sqlite"))
    monkeypatch.delenv("RECSYS_PSEUDONYM_KEY", raising=False)
    runtime = RecsysRuntime(ServiceSettings.from_env())
    event = {"user_id": trained.member, "item_id": trained.item, "kind": "view"}
    try:
        runtime.ingest([event])
        with sqlite3.connect(tmp_path / "events.sqlite") as conn:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
        runtime.log.set_page_limit(pages)
        many = [{**event, "event_id": f"e{i}", "item_id": trained.item} for i in range(5000)]
        with pytest.raises(EventLogError, match="full"):
            runtime.ingest(many)
        assert runtime.log.count() == 1 and not runtime.ready()
        runtime.log.set_page_limit(None)
        assert runtime.ready()
        assert runtime.ingest(many).accepted == 5000
    finally:
        runtime.close()


def test_every_acknowledged_event_survives_repeated_kill_9(
    trained: TrainedModel, tmp_path: Path, server_env: ServerEnv
) -> None:
    """Cycles of: start, acknowledge purchases, kill -9. After each restart every
    acknowledged event is in the log once and applied (the bought SKU is off the shelf)."""
    cycles = int(os.environ.get("RECSYS_KILL_CYCLES", "4"))
    log_path = tmp_path / "events.sqlite"
    env = server_env(tmp_path, log_path)
    stocked = trained.data.stores.loc[
        trained.data.stores["store_id"] == trained.store, "item_id"
    ].tolist()
    acknowledged: dict[str, str] = {}  # member -> the SKU it bought
    for cycle in range(cycles + 1):
        server = LocalServer(trained.path, env=env, log_path=tmp_path / f"s{cycle}.log").start()
        try:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                for member, sku in acknowledged.items():  # everything before the crash
                    body = {"member_id": member, "store_id": trained.store, "k": 50}
                    shelf = client.post("/recommend", json=body).json()["items"]
                    assert sku not in [i["item_id"] for i in shelf], (cycle, member)
                if cycle == cycles:
                    break
                for i in range(5):
                    member, sku = f"kill-{cycle}-{i}", stocked[(cycle * 5 + i) % len(stocked)]
                    event = {"user_id": member, "item_id": sku, "kind": "purchase",
                             "event_id": f"kill-{cycle}-{i}"}  # fmt: skip
                    resp = client.post("/events", json={"events": [event]})
                    assert resp.status_code == 200, resp.text
                    acknowledged[member] = sku
        finally:
            server.kill()
    assert sorted(_logged_users(log_path)) == sorted(acknowledged)


def test_a_model_saved_against_another_log_replays_this_one_whole(
    trained: TrainedModel, tmp_path: Path
) -> None:
    """A new log beside a model whose cursor is past its end: its events are not skipped."""
    from recsys.events import EventLog
    from recsys.recommender import Recommender
    from recsys.serving.runtime import RecsysRuntime
    from recsys.serving.settings import ServiceSettings

    model = tmp_path / "shelf"
    rec = Recommender.load(trained.path)
    rec.event_seq = 50  # as if saved by a service whose log had 50 events
    rec.save(model)
    with EventLog(tmp_path / "new.sqlite") as log:
        log.append([{"user_id": "fresh", "item_id": trained.item, "kind": "purchase"}])
    runtime = RecsysRuntime(ServiceSettings(model_dir=model, event_log=tmp_path / "new.sqlite"))
    try:
        assert runtime.replayed == 1 and runtime.recommender.members_.index_of("fresh") >= 0
    finally:
        runtime.close()
