"""Hot reload: a new model swaps in on every worker, no request fails, no event counts twice."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from recsys.cli import main
from recsys.events import EventLog
from recsys.recommender import Recommender
from recsys.serving.local import LocalServer
from recsys.serving.runtime import RecsysRuntime
from recsys.serving.settings import ServiceSettings
from recsys.settings import read_settings

if TYPE_CHECKING:
    from conftest import ServerEnv, TrainedModel

pytestmark = pytest.mark.http


@pytest.fixture(scope="module")
def retrained(trained: TrainedModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another model of the same chain (another version)."""
    path = tmp_path_factory.mktemp("retrained") / "shelf"
    Recommender(model="als", factors=8, iterations=3).fit(trained.data).save(path)
    return path


def test_every_worker_swaps_and_keeps_what_was_logged(
    trained: TrainedModel, retrained: Path, tmp_path: Path
) -> None:
    model = tmp_path / "shelf"
    shutil.copytree(trained.path, model)
    settings = ServiceSettings(model_dir=model, event_log=tmp_path / "events.sqlite")
    a, b = RecsysRuntime(settings), RecsysRuntime(settings)
    try:
        a.ingest([{"user_id": "walk-in", "item_id": trained.item, "kind": "purchase"}])
        before = a.model_version
        previous, now = a.reload(retrained)
        assert previous == before != now == Recommender.load(retrained).model_version
        b.refresh()  # the other worker sees the reload on its next read, and swaps at the
        _wait_for(lambda: b.model_version == now, timeout=10)  # instant logged (past by now)
        for worker in (a, b):  # the new model caught up with the log from its own cursor
            members = worker.recommender.members_
            bought = members.bought(members.index_of("walk-in"))
            assert bought.tolist() == [worker.recommender.dataset_.items.index_of(trained.item)]
        with pytest.raises(Exception, match="cannot reload"):
            a.reload(tmp_path / "nowhere")
        assert a.model_version == now  # a failed reload changes nothing
    finally:
        a.close()
        b.close()


def test_a_worker_no_request_reaches_follows_a_reload_at_its_instant(
    trained: TrainedModel, retrained: Path, tmp_path: Path
) -> None:
    """The other worker learns of a reload from its follower thread, not from its next
    read: an idle worker swaps at the logged instant too, and follows a stock change."""
    model = tmp_path / "shelf"
    shutil.copytree(trained.path, model)
    settings = ServiceSettings(model_dir=model, event_log=tmp_path / "events.sqlite")
    a, b = RecsysRuntime(settings), RecsysRuntime(settings)
    try:
        _, now = a.reload(retrained)  # returns once ``a`` swapped, at the logged instant
        swapped = time.monotonic()
        _wait_for(lambda: b.model_version == now, timeout=10)  # no read of ``b`` in between
        assert time.monotonic() - swapped < 0.5
        store = a.recommender.store_ids[0]

        def shelf() -> list[str]:  # the model, not the route: no catch-up on a read
            return [r.item_id for r in b.recommender.recommend(trained.member, store_id=store)]

        sku = shelf()[0]
        a.set_stock(store, {sku: 0})
        _wait_for(lambda: sku not in shelf(), timeout=5)
    finally:
        a.close()
        b.close()


def test_a_reload_under_load_fails_no_request(
    trained: TrainedModel, retrained: Path, tmp_path: Path, server_env: ServerEnv
) -> None:
    env = server_env(tmp_path, tmp_path / "events.sqlite")
    server = LocalServer(trained.path, env=env, log_path=tmp_path / "server.log").start()
    failures: list[str] = []
    versions: list[str] = []
    answered: list[tuple[float, str]] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            while not stop.is_set():
                try:
                    resp = client.post("/recommend", json={"member_id": trained.member, "k": 5})
                    if resp.status_code != 200:
                        failures.append(resp.text[:200])
                    else:
                        versions.append(resp.json()["model_version"])
                        answered.append((time.monotonic(), resp.json()["model_version"]))
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))

    threads = [threading.Thread(target=load) for _ in range(3)]
    try:
        for t in threads:
            t.start()
        _wait_for(lambda: len(versions) >= 30)  # load is running before the reload
        with httpx.Client(base_url=server.url, timeout=120) as client:
            resp = client.post("/admin/reload", json={"model_dir": str(retrained)})
            assert resp.status_code == 200, resp.text
            new = resp.json()["model_version"]
            for _ in range(20):  # every worker answers with the new version
                seen = {client.post("/recommend", json={"member_id": trained.member}).json()[
                    "model_version"] for _ in range(10)}  # fmt: skip
                if seen == {new}:
                    break
            assert seen == {new}
        after = len(versions)
        _wait_for(lambda: len(versions) >= after + 30)  # and goes on after it
    finally:
        stop.set()
        for t in threads:
            t.join()
        server.stop()
    assert failures == [] and len(versions) >= 60
    assert versions[-1] == new and versions[0] != new
    # every worker swapped at the logged instant: the last old answer and the first new one
    # (over 3 connections, 2 workers) are a request's time apart, not a model load apart
    last_old = max(t for t, v in answered if v != new)
    first_new = min(t for t, v in answered if v == new)
    assert last_old - first_new < 0.1, (last_old, first_new)


def test_every_workers_model_info_follows_a_reload_with_no_read_after_it(
    trained: TrainedModel, retrained: Path, tmp_path: Path, server_env: ServerEnv
) -> None:
    env = server_env(tmp_path, tmp_path / "events.sqlite")
    server = LocalServer(trained.path, env=env, log_path=tmp_path / "server.log").start()
    pattern = re.compile(r'recsys_model_info\{model_version="(\w+)",worker="(\w+)"\} 1\.0')
    try:
        with httpx.Client(base_url=server.url, timeout=120) as client:

            def serving() -> dict[str, str]:  # worker -> the version its gauge says
                return {w: v for v, w in pattern.findall(client.get("/metrics").text)}

            workers = read_settings().workers  # each with its own gauge
            _wait_for(lambda: len(serving()) == workers, timeout=30)  # at start, before a read
            (old,) = set(serving().values())
            resp = client.post("/admin/reload", json={"model_dir": str(retrained)})
            new = resp.json()["model_version"]
            assert resp.status_code == 200 and new != old
            # no shelf asked: each worker's gauge moves when its model does
            _wait_for(lambda: set(serving().values()) == {new} and len(serving()) == workers, 10)
    finally:
        server.stop()


def _wait_for(done: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_retraining_on_the_log_hands_over_its_cursor(
    trained: TrainedModel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    trained.data.interactions.to_csv(folder / "interactions.csv", index=False)
    trained.data.catalog.to_csv(folder / "catalog.csv", index=False)
    log_path = tmp_path / "shelf.events.sqlite"
    with EventLog(log_path) as log:
        log.append([{"user_id": "walk-in", "item_id": trained.item, "kind": "purchase"}])
        last = log.last_seq()
    out = tmp_path / "shelf"
    args = ["train", "--data", str(folder), "--out", str(out), "--model", "ease"]
    assert main([*args, "--events", str(log_path)]) == 0
    rec = Recommender.load(out)
    assert rec.event_seq == last and rec.members_.index_of("walk-in") >= 0
    runtime = RecsysRuntime(ServiceSettings(model_dir=out, event_log=log_path))
    try:
        assert runtime.replayed == 0  # in the training data already: not counted again
    finally:
        runtime.close()
