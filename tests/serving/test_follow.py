"""How a worker follows what another logged: small batches on the next read, a big backlog
on its follower thread (never more than a read's budget on the read), always in log order."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from recsys.columns import Columns
from recsys.serving.runtime import _READ_BUDGET, RecsysRuntime
from recsys.serving.settings import ServiceSettings

from .conftest import TrainedModel


@pytest.fixture()
def workers(trained: TrainedModel, tmp_path: Path) -> Iterator[tuple[RecsysRuntime, RecsysRuntime]]:
    settings = ServiceSettings(model_dir=trained.path, event_log=tmp_path / "events.sqlite")
    a, b = RecsysRuntime(settings), RecsysRuntime(settings)
    yield a, b
    a.close()
    b.close()


def _views(trained: TrainedModel, n: int, tag: str) -> list[dict[str, object]]:
    members = trained.data.interactions[Columns.USER].astype(str).unique()
    items = trained.data.stores.loc[
        trained.data.stores[Columns.STORE] == trained.store, Columns.ITEM
    ].tolist()
    return [
        {"user_id": str(members[i % len(members)]), "item_id": items[i % len(items)],
         "kind": "view", "value": 40.0, "store_id": trained.store, "event_id": f"{tag}-{i}"}
        for i in range(n)
    ]  # fmt: skip


def _wait(until: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not until() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.01)


def test_a_small_batch_is_on_the_next_read_of_another_worker(
    workers: tuple[RecsysRuntime, RecsysRuntime], trained: TrainedModel
) -> None:
    a, b = workers
    logged = a.ingest(_views(trained, 5, "small"))
    assert b.refresh() == 5
    assert b.applied_seq == logged.last_seq


def test_a_read_applies_at_most_its_budget_and_keeps_log_order(
    workers: tuple[RecsysRuntime, RecsysRuntime], trained: TrainedModel
) -> None:
    a, b = workers
    b._stop.set()  # hold b's follower back, to see what reads do alone
    b._follower.join()
    first = a.ingest(_views(trained, 3000, "big"))
    sku = trained.data.stores.loc[
        trained.data.stores[Columns.STORE] == trained.store, Columns.ITEM
    ].iloc[0]
    change = a.set_stock(trained.store, {sku: 0}).change_seq
    a.ingest(_views(trained, 10, "after"))
    applied = [b.refresh() for _ in range(3)]
    assert all(0 < n <= _READ_BUDGET for n in applied)
    assert b.applied_seq == sum(applied) < first.last_seq
    assert b.applied_change < change  # the stock change waits for the events before it
    while b.refresh():
        pass
    assert (b.applied_seq, b.applied_change) == (a.applied_seq, change)
    shelf = b.recommend(trained.member, 10, store_id=trained.store)
    assert sku not in [r.item_id for r in shelf]


def test_the_follower_thread_takes_a_big_backlog_without_reads(
    workers: tuple[RecsysRuntime, RecsysRuntime], trained: TrainedModel
) -> None:
    a, b = workers
    logged = a.ingest(_views(trained, 3000, "bulk"))
    _wait(lambda: b.applied_seq == logged.last_seq)  # no read on b meanwhile
    assert b.applied_seq == logged.last_seq
    member = str(_views(trained, 1, "x")[0]["user_id"])
    shelf = [r.item_id for r in a.recommend(member, 10, store_id=trained.store)]
    assert [r.item_id for r in b.recommend(member, 10, store_id=trained.store)] == shelf


def _read_at_once(b: RecsysRuntime, trained: TrainedModel, start: threading.Barrier) -> list[str]:
    start.wait()
    return [r.reason for r in b.recommend(trained.member, 10, store_id=trained.store)]


def test_reads_at_once_each_see_what_another_worker_logged(
    workers: tuple[RecsysRuntime, RecsysRuntime], trained: TrainedModel
) -> None:
    # a page asks for the member and the shelf at once: when the first read is catching up,
    # the second waits for it rather than answer from the model as it was before the view
    a, b = workers
    view = {"user_id": trained.member, "item_id": trained.item, "kind": "view", "value": 12.0,
            "store_id": trained.store}  # fmt: skip
    for round_ in range(5):
        a.ingest([{**view, "event_id": f"look-{round_}"}])
        with ThreadPoolExecutor(6) as pool:
            start = threading.Barrier(6)
            reads = [pool.submit(_read_at_once, b, trained, start) for _ in range(6)]
        shelves = [read.result() for read in reads]
        assert b.applied_seq == a.applied_seq
        for reasons in shelves:
            assert any("just looked at" in r for r in reasons), (round_, reasons)
