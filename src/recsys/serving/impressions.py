"""Shown shelves logged off the request path: queued, then written in one transaction.

A shelf answer costs a list append; a background thread writes what queued up every
``interval`` seconds (default 50 ms), one transaction for all of them, so a steady stream
of shelves costs one log write per interval instead of one per shelf. At shutdown the
queue is written out. A ``kill -9`` can lose the impressions of the last interval, never an
acknowledged event (events are durable before their answer).
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import datetime, timezone

from recsys.events import EventLog
from recsys.events.impressions import Impression
from recsys.exceptions import RecsysError

__all__ = ["ImpressionWriter", "new_shelf_id"]

logger = logging.getLogger("recsys.serving")

_MAX_QUEUED = 100_000  # about 20 s of 5,000 shelves a second: beyond that, drop the oldest


def new_shelf_id() -> str:
    """A random shelf id (32 hex digits)."""
    return uuid.uuid4().hex


def now_text() -> str:
    """Now, as the event log stores times (naive UTC, microseconds)."""
    return datetime.now(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")


class ImpressionWriter:
    """Queue of shown shelves written to ``log`` by a daemon thread.

    Parameters
    ----------
    log : EventLog
        The log to write to. The service gives the writer a connection of its own to the
        event log's file (``close_log=True``): a write then never holds the lock that the
        reads of the request path take (``PRAGMA data_version`` on every shelf), so a
        shelf does not wait for an impression commit (its fsync) to finish.
    interval : float, default 0.05
        Seconds between writes.
    close_log : bool, default False
        Close ``log`` in :meth:`close` (the writer owns it).
    """

    def __init__(self, log: EventLog, interval: float = 0.05, *, close_log: bool = False) -> None:
        self._log = log
        self._close_log = bool(close_log)
        self._interval = float(interval)
        self._queue: list[Impression] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.dropped = 0
        self.written = 0
        self._failing = False
        self._thread = threading.Thread(target=self._run, name="recsys-impressions", daemon=True)
        self._thread.start()

    def record(self, impression: Impression) -> None:
        with self._lock:
            self._queue.append(impression)
            if len(self._queue) > _MAX_QUEUED:
                del self._queue[0]
                self.dropped += 1

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def flush(self) -> int:
        """Write every queued impression now; returns the rows written."""
        with self._lock:
            batch, self._queue = self._queue, []
        if not batch:
            return 0
        try:
            written = self._log.log_impressions(batch)
        except RecsysError as exc:
            with self._lock:  # keep them for the next try
                self._queue[:0] = batch[: max(0, _MAX_QUEUED - len(self._queue))]
            if not self._failing:
                logger.error("could not log shown shelves (will retry): %s", exc)
            self._failing = True
            return 0
        self._failing = False
        self.written += written
        return written

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()

    def close(self) -> None:
        """Stop the thread and write what is left."""
        self._stop.set()
        self._thread.join(timeout=5)
        if not self._log.closed:
            self.flush()
            if self._close_log:
                self._log.close()
