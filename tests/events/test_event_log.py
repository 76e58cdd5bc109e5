"""EventLog: durability, idempotency, atomic batches, thread safety."""

from __future__ import annotations

import contextlib
import doctest
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import recsys.events.log
from recsys.columns import Columns
from recsys.events import SEQ, AppendResult, EventLog
from recsys.exceptions import EventLogError, InvalidInputError, RecsysError

SRC = Path(recsys.events.log.__file__).resolve().parents[2]


def _event(i: int, **overrides: object) -> dict[str, object]:
    event: dict[str, object] = {
        Columns.USER: f"u{i % 7}",
        Columns.ITEM: f"sku{i % 11}",
        Columns.KIND: ("purchase", "cart", "view", "coupon")[i % 4],
        Columns.VALUE: float(i % 5),
        Columns.TIMESTAMP: f"2026-03-01T10:{i // 60 % 60:02d}:{i % 60:02d}",
        Columns.STORE: f"s{i % 3}",
        Columns.EVENT_ID: f"e{i}",
    }
    event.update(overrides)
    return event


@pytest.fixture
def log(tmp_path: Path):
    with EventLog(tmp_path / "events.db") as opened:
        yield opened


def test_docstring_examples() -> None:
    result = doctest.testmod(recsys.events.log, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


# ---------------------------------------------------------------------- round trip
def test_append_since_round_trip(log: EventLog) -> None:
    events = [_event(i) for i in range(10)]
    result = log.append(events)
    assert result == AppendResult(accepted=10, duplicates=0, last_seq=10)
    frame = log.since()
    assert list(frame.columns) == [*Columns.INTERACTIONS, Columns.EVENT_ID, SEQ]
    assert frame[SEQ].tolist() == list(range(1, 11))
    assert frame[Columns.TIMESTAMP].dtype == "datetime64[ns]"
    assert frame[Columns.VALUE].dtype == np.float64
    expected = pd.DataFrame(events)
    for column in (Columns.USER, Columns.ITEM, Columns.KIND, Columns.STORE, Columns.EVENT_ID):
        assert frame[column].tolist() == expected[column].tolist()
    assert frame[Columns.VALUE].tolist() == expected[Columns.VALUE].tolist()
    assert (frame[Columns.TIMESTAMP] == pd.to_datetime(expected[Columns.TIMESTAMP])).all()
    assert log.count() == 10
    assert log.last_seq() == 10


def test_since_filters_by_time_inclusive_and_by_seq_exclusive(log: EventLog) -> None:
    log.append([_event(i) for i in range(10)])
    assert log.since("2026-03-01T10:00:05")[Columns.EVENT_ID].tolist() == [
        f"e{i}" for i in range(5, 10)
    ]
    assert log.since(after_seq=7)[SEQ].tolist() == [8, 9, 10]
    both = log.since(pd.Timestamp("2026-03-01 10:00:03"), after_seq=8)
    assert both[SEQ].tolist() == [9, 10]
    assert log.since(after_seq=10).empty
    assert list(log.since(after_seq=10).columns) == [*Columns.INTERACTIONS, Columns.EVENT_ID, SEQ]


def test_defaults_optional_fields_and_timestamp_forms(log: EventLog) -> None:
    log.append(
        [
            {"user_id": "u1", "item_id": "a", "kind": "purchase"},  # value 1.0, now, no store
            {
                "user_id": "u1",
                "item_id": "b",
                "kind": "view",
                "value": 3,
                "timestamp": pd.Timestamp("2026-03-01 12:00", tz="Europe/Paris"),
            },
            {"user_id": "u1", "item_id": "c", "kind": "cart", "timestamp": 0.5},  # epoch secs
            {"user_id": "u1", "item_id": "d", "kind": "coupon", "timestamp": np.datetime64(0, "s")},
        ]
    )
    frame = log.since()
    assert frame[Columns.VALUE].tolist() == [1.0, 3.0, 1.0, 1.0]
    assert frame[Columns.STORE].isna().all()
    assert frame[Columns.EVENT_ID].isna().all()
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    assert abs(frame[Columns.TIMESTAMP][0] - now) < pd.Timedelta(minutes=1)
    assert frame[Columns.TIMESTAMP][1] == pd.Timestamp("2026-03-01 11:00")  # stored as UTC
    assert frame[Columns.TIMESTAMP][2] == pd.Timestamp("1970-01-01 00:00:00.5")
    assert frame[Columns.TIMESTAMP][3] == pd.Timestamp("1970-01-01")


def test_append_dataframe_and_replay_frame(log: EventLog) -> None:
    frame = pd.DataFrame([_event(i) for i in range(6)])
    frame.loc[2, Columns.STORE] = None
    frame.loc[3, Columns.EVENT_ID] = None
    frame[Columns.TIMESTAMP] = pd.to_datetime(frame[Columns.TIMESTAMP])
    assert log.append(frame).accepted == 6
    out = log.since()
    assert pd.isna(out[Columns.STORE][2]) and pd.isna(out[Columns.EVENT_ID][3])
    # a replayed frame (with its seq column) appends again; event ids dedupe all but one
    again = log.append(out)
    assert again == AppendResult(accepted=1, duplicates=5, last_seq=7)


def test_empty_append_returns_current_seq(log: EventLog) -> None:
    assert log.append([]) == AppendResult(0, 0, 0)
    log.append([_event(0)])
    assert log.append(pd.DataFrame()) == AppendResult(0, 0, 1)


# ---------------------------------------------------------------------- idempotency
def test_retry_with_same_event_id_counts_once(log: EventLog) -> None:
    batch = [_event(0), _event(1)]
    assert log.append(batch) == AppendResult(2, 0, 2)
    assert log.append(batch) == AppendResult(0, 2, 2)
    assert log.append([_event(1), _event(2)]) == AppendResult(1, 1, 3)
    assert log.count() == 3
    assert log.since()[Columns.EVENT_ID].tolist() == ["e0", "e1", "e2"]


def test_duplicate_event_id_within_one_batch(log: EventLog) -> None:
    assert log.append([_event(0), _event(0, value=9.0)]) == AppendResult(1, 1, 1)
    assert log.since()[Columns.VALUE].tolist() == [0.0]  # the first one wins


def test_events_without_event_id_are_never_deduplicated(log: EventLog) -> None:
    event = _event(0, event_id=None)
    log.append([event, event])
    log.append([event])
    assert log.count() == 3


# ---------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"kind": "click"}, "kind"),
        ({"kind": None}, "kind"),
        ({"value": -1.0}, "value"),
        ({"value": float("inf")}, "value"),
        ({"value": "3"}, "value"),
        ({"value": True}, "value"),
        ({"user_id": ""}, "user_id"),
        ({"user_id": "   "}, "user_id"),
        ({"user_id": None}, "user_id"),
        ({"item_id": 42}, "item_id"),
        ({"store_id": ""}, "store_id"),
        ({"event_id": 7}, "event_id"),
        ({"timestamp": "not a date"}, "timestamp"),
        ({"timestamp": float("inf")}, "timestamp"),
    ],
)
def test_invalid_event_writes_nothing(log: EventLog, override: dict, field: str) -> None:
    log.append([_event(100)])
    batch = [_event(0), _event(1, **override), _event(2)]
    with pytest.raises(InvalidInputError, match=rf"event 1: field '{field}'"):
        log.append(batch)
    assert log.count() == 1
    assert log.last_seq() == 1
    assert log.append([_event(0)]).accepted == 1  # nothing of the failed batch leaked


def test_missing_field_named(log: EventLog) -> None:
    event = _event(0)
    del event[Columns.ITEM]
    with pytest.raises(InvalidInputError, match=r"event 0: field 'item_id' is required"):
        log.append([event])


@pytest.mark.parametrize("events", [{"user_id": "u"}, "events", 3, [["u1", "a", "view"]]])
def test_malformed_batches_rejected(log: EventLog, events: object) -> None:
    with pytest.raises(InvalidInputError):
        log.append(events)  # type: ignore[arg-type]
    assert log.count() == 0


def test_database_error_mid_batch_rolls_back(log: EventLog) -> None:
    log.append([_event(0)])
    assert log._conn is not None
    log._conn.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON events WHEN NEW.user_id = 'bad' "
        "BEGIN SELECT RAISE(ABORT, 'boom'); END"
    )
    with pytest.raises(EventLogError, match="boom") as info:  # the cause, named
        log.append([_event(1), _event(2, user_id="bad")])
    assert isinstance(info.value.__cause__, sqlite3.IntegrityError)
    assert log.count() == 1
    assert log.append([_event(1)]).accepted == 1  # the connection is usable again


def test_since_rejects_bad_arguments(log: EventLog) -> None:
    with pytest.raises(InvalidInputError, match="timestamp"):
        log.since("yesterday-ish")
    with pytest.raises(InvalidInputError, match="after_seq"):
        log.since(after_seq="3")  # type: ignore[arg-type]


# ---------------------------------------------------------------------- configuration
@pytest.mark.parametrize(("level", "code"), [("FULL", 2), ("NORMAL", 1), ("extra", 3)])
def test_synchronous_level_and_wal_mode(tmp_path: Path, level: str, code: int) -> None:
    with EventLog(tmp_path / "e.db", synchronous=level) as log:  # type: ignore[arg-type]
        assert log._conn is not None
        assert log._conn.execute("PRAGMA synchronous").fetchone()[0] == code
        assert log._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_default_is_full(tmp_path: Path) -> None:
    with EventLog(tmp_path / "e.db") as log:
        assert log.synchronous == "FULL"


def test_bad_synchronous_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="synchronous"):
        EventLog(tmp_path / "e.db", synchronous="OFF")  # type: ignore[arg-type]


def test_missing_directories_are_created(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "events.db"
    with EventLog(path) as log:
        log.append([_event(0)])
    assert path.exists()


def test_close_is_idempotent_and_closed_log_refuses(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "e.db")
    log.close()
    log.close()
    assert log.closed
    assert "closed" in repr(log)
    with pytest.raises(RecsysError, match="closed"):
        log.append([_event(0)])
    with pytest.raises(RecsysError, match="closed"):
        log.count()


def test_reopen_keeps_events(tmp_path: Path) -> None:
    path = tmp_path / "e.db"
    with EventLog(path) as log:
        log.append([_event(i) for i in range(5)])
    with EventLog(path) as log:
        assert log.count() == 5
        assert log.append([_event(4), _event(5)]) == AppendResult(1, 1, 6)


def test_seq_is_never_reused(tmp_path: Path) -> None:
    path = tmp_path / "e.db"
    with EventLog(path) as log:
        log.append([_event(0), _event(1)])
        assert log._conn is not None
        log._conn.execute("DELETE FROM events WHERE seq = 2")  # e.g. manual compaction
        assert log.append([_event(2)]).last_seq == 3


# ---------------------------------------------------------------------- concurrency
def test_concurrent_appends_from_threads_lose_nothing(log: EventLog) -> None:
    n_threads, n_batches, batch_size = 8, 25, 4
    errors: list[BaseException] = []
    results: list[AppendResult] = []
    barrier = threading.Barrier(n_threads)

    def work(t: int) -> None:
        try:
            barrier.wait()
            for b in range(n_batches):
                batch = [_event(j, event_id=f"t{t}-b{b}-{j}") for j in range(batch_size)]
                results.append(log.append(batch))
                if b % 5 == 0:  # a retried request
                    results.append(log.append(batch))
                log.since(after_seq=max(0, log.last_seq() - 3))  # readers interleave
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    total = n_threads * n_batches * batch_size
    assert sum(r.accepted for r in results) == total
    assert sum(r.duplicates for r in results) == n_threads * (n_batches // 5) * batch_size
    frame = log.since()
    assert log.count() == total
    assert frame[SEQ].tolist() == list(range(1, total + 1))
    assert frame[Columns.EVENT_ID].nunique() == total


def test_two_processes_share_one_file(tmp_path: Path) -> None:
    path = tmp_path / "e.db"
    script = textwrap.dedent(
        """
        import sys
        from recsys.events import EventLog
        with EventLog(sys.argv[1]) as log:
            for b in range(20):
                log.append([{"user_id": "u", "item_id": "i", "kind": "view",
                             "event_id": f"{sys.argv[2]}-{b}-{j}"} for j in range(5)])
        """
    )
    procs = [_python(script, str(path), tag) for tag in ("p", "q")]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with EventLog(path) as log:
        assert log.count() == 200


# ---------------------------------------------------------------------- crash
def _python(script: str, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


needs_sigkill = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


@needs_sigkill
def test_acknowledged_events_survive_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "crash" / "events.db"
    script = textwrap.dedent(
        """
        import os, signal, sys
        from recsys.events import EventLog
        log = EventLog(sys.argv[1])
        acked = 0
        for b in range(40):
            batch = [{"user_id": f"u{j}", "item_id": f"sku{b}", "kind": "purchase",
                      "value": 1.0, "timestamp": 1_700_000_000 + b, "event_id": f"e{b}-{j}"}
                     for j in range(5)]
            acked += log.append(batch).accepted
            print(acked, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # no close(), no atexit, no checkpoint
        """
    )
    proc = _python(script, str(path))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, err
    acknowledged = int(out.split()[-1])
    assert acknowledged == 200
    # the committed transactions still sit in the WAL: reopening must recover them
    assert Path(f"{path}-wal").exists()
    with EventLog(path) as log:
        assert log.count() == acknowledged
        ids = set(log.since()[Columns.EVENT_ID])
        assert ids == {f"e{b}-{j}" for b in range(40) for j in range(5)}
        assert log._conn is not None
        assert log._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@needs_sigkill
def test_kill_9_during_writes_keeps_every_acknowledged_batch_whole(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    script = textwrap.dedent(
        """
        import os, signal, sys, threading
        from recsys.events import EventLog
        log = EventLog(sys.argv[1])
        acked = threading.Event()

        def writer():
            b = 0
            while True:
                batch = [{"user_id": "u", "item_id": f"sku{j}", "kind": "view",
                          "value": 2.0, "event_id": f"b{b}-{j}"} for j in range(10)]
                log.append(batch)
                print(b, flush=True)
                b += 1
                if b >= 30:
                    acked.set()

        threading.Thread(target=writer, daemon=True).start()
        acked.wait()
        os.kill(os.getpid(), signal.SIGKILL)  # while the writer is mid-flight
        """
    )
    proc = _python(script, str(path))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, err
    last_acked = int(out.split()[-1])
    assert last_acked >= 29
    with EventLog(path) as log:
        frame = log.since()
    assert len(frame) % 10 == 0  # batches are all or nothing
    assert len(frame) >= (last_acked + 1) * 10
    ids = set(frame[Columns.EVENT_ID])
    assert {f"b{b}-{j}" for b in range(last_acked + 1) for j in range(10)} <= ids


def test_rows_the_log_cannot_read_back_are_skipped_and_named_by_seq(
    log: EventLog, caplog: pytest.LogCaptureFixture
) -> None:
    """A row written behind the log's back (a 2300 date, garbage) never breaks a replay."""
    log.append([_event(0)])
    assert log._conn is not None
    for ts in ("2300-01-01T00:00:00.000000", "garbage", "0999-01-01T00:00:00.000000"):
        log._conn.execute(
            "INSERT INTO events (user_id, item_id, kind, value, timestamp, received_at) "
            "VALUES ('4929123412341234', 'sku1', 'view', 1.0, ?, 'x')",
            (ts,),
        )
    log.append([_event(1)])
    with caplog.at_level("ERROR"):
        frame = log.since(after_seq=0)
    assert frame[SEQ].tolist() == [1, 5]
    assert "skipped 3 unreadable logged event(s), seq [2, 3, 4]" in caplog.text
    assert "4929123412341234" not in caplog.text


@pytest.fixture
def small_disk(tmp_path: Path):
    """A real 1 MiB file system (tmpfs), or a skip saying why there is none."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_a_log_on_a_full_disk_refuses_writes_and_its_probe_says_so_until_space_is_back(
    small_disk: Path,
) -> None:
    log = EventLog(small_disk / "events.sqlite")
    try:
        log.append([{"user_id": "u1", "item_id": "sku1", "kind": "view"}])
        filler = small_disk / "filler"
        with filler.open("wb") as out, contextlib.suppress(OSError):
            while True:  # until the disk is full
                out.write(b"\0" * 65536)
                out.flush()
        events = [{"user_id": f"u{i}", "item_id": "sku1", "kind": "view"} for i in range(3000)]
        with pytest.raises(EventLogError, match="full"):
            log.append(events)
        with pytest.raises(EventLogError):  # a probe that only rolled back passed here
            log.probe_write()
        filler.unlink()
        log.probe_write()  # space again: writable
        assert log.append(events[:10]).accepted == 10
    finally:
        log.close()
