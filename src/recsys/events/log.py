"""A durable, append-only log of member events in SQLite (WAL mode).

``POST /events`` appends here *before* it answers, so an acknowledged event survives a crash
of the service and can be replayed into the model (``Recommender.update``) or into the next
training run. SQLite needs no server, which makes it the embedded single-machine default;
past one machine the same role is played by a shared store (PostgreSQL, Redis).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from recsys.columns import Columns
from recsys.data.events import (
    EARLIEST,
    LATEST,
    EventColumns,
    events_frame,
    parse_timestamp,
    validate_events,
)
from recsys.events.changes import (
    CHANGE_KINDS,
    CHANGES_SCHEMA,
    LoggedChange,
    insert_change,
    select_changes,
)
from recsys.events.erasure import digest_of, erase_member, erasure_key
from recsys.events.impressions import (
    IMPRESSIONS_SCHEMA,
    Impression,
    impressions_frame,
    insert_impressions,
)
from recsys.exceptions import EventLogError, InvalidInputError, RecsysError

__all__ = ["SEQ", "AppendResult", "EventLog", "SynchronousLevel"]

SEQ: Final = "seq"
"""Name of the column holding an event's position in the log (1, 2, ... in append order)."""

SynchronousLevel = Literal["NORMAL", "FULL", "EXTRA"]

logger = logging.getLogger("recsys.events")

_TS_FORMAT: Final = "%Y-%m-%dT%H:%M:%S.%f"  # fixed width, so text order == time order
_BUSY_TIMEOUT_MS: Final = 30_000

_SCHEMA: Final = f"""
CREATE TABLE IF NOT EXISTS events (
    {SEQ} INTEGER PRIMARY KEY AUTOINCREMENT,
    {Columns.EVENT_ID} TEXT UNIQUE,
    {Columns.USER} TEXT NOT NULL,
    {Columns.ITEM} TEXT NOT NULL,
    {Columns.KIND} TEXT NOT NULL,
    {Columns.VALUE} REAL NOT NULL,
    {Columns.TIMESTAMP} TEXT NOT NULL,
    {Columns.STORE} TEXT,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_timestamp ON events ({Columns.TIMESTAMP});
CREATE INDEX IF NOT EXISTS events_user ON events ({Columns.USER}, {Columns.TIMESTAMP});
{CHANGES_SCHEMA}{IMPRESSIONS_SCHEMA}"""

_INSERT: Final = f"""
INSERT INTO events ({Columns.EVENT_ID}, {Columns.USER}, {Columns.ITEM}, {Columns.KIND},
                    {Columns.VALUE}, {Columns.TIMESTAMP}, {Columns.STORE}, received_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
_ID_CHUNK: Final = 500  # event ids per "IN (...)" lookup, well under SQLite's variable limit

_OUTPUT_COLUMNS: Final = (*Columns.INTERACTIONS, Columns.EVENT_ID, SEQ)
# pandas >= 3 infers the "str" dtype for text; with pandas 2 "str" would turn None into "None".
_TEXT_DTYPE: Final = "str" if int(pd.__version__.split(".")[0]) >= 3 else object


@dataclass(frozen=True)
class AppendResult:
    """What one :meth:`EventLog.append` call did.

    Attributes
    ----------
    accepted : int
        Events newly written to the log.
    duplicates : int
        Events skipped because their ``event_id`` was already in the log (or earlier in the
        same batch): a retried request counts once.
    last_seq : int
        The highest ``seq`` in the log after the call (0 for an empty log); a replay cursor
        for :meth:`EventLog.since`.
    """

    accepted: int
    duplicates: int
    last_seq: int


class EventLog:
    """Durable append-only event log backed by one SQLite file in WAL mode.

    Every :meth:`append` is one transaction, committed before the call returns: once it
    returns, the events are on disk with the durability of ``synchronous`` (below). Events
    carrying an ``event_id`` are idempotent: appending the same id again is counted as a
    duplicate and not written twice. The log is safe to share between threads (one
    connection guarded by a lock), and other processes may open the same file (SQLite
    serialises writers; readers don't block them in WAL mode).

    Parameters
    ----------
    path : str or os.PathLike
        The database file. Missing parent directories are created.
    synchronous : {"FULL", "NORMAL", "EXTRA"}, default "FULL"
        SQLite's ``PRAGMA synchronous`` level, i.e. when a commit waits for ``fsync``.

        - ``"FULL"`` (default): the WAL is synced on every commit, so an acknowledged
          event survives a process crash (``kill -9``) **and** a power loss or OS crash
          (given a disk that honours ``fsync``). Costs one ``fsync`` per :meth:`append`
          (0.1-10 ms depending on the disk); batch events per call to amortise it.
        - ``"NORMAL"``: no sync on commit (only at checkpoints). Still durable against an
          application crash, because committed WAL frames are in the OS page cache, but the
          last transactions may be lost on power loss or an OS crash. Often 10-30x faster
          for single-event appends; choose it when producers can re-send events.
        - ``"EXTRA"``: like FULL, and also syncs the directory after the rollback journal
          is unlinked; adds nothing in WAL mode beyond FULL but is accepted.

        The product promise is "an acknowledged event is never lost", hence FULL.
    timeout : float, default 30.0
        Seconds to wait for another process holding the write lock.

    Notes
    -----
    Schema of table ``events``: ``seq INTEGER PRIMARY KEY AUTOINCREMENT`` (never reused, and
    duplicates don't consume one, so it is a stable, gap-free replay cursor),
    ``event_id TEXT UNIQUE`` (NULL allowed), ``user_id``, ``item_id``, ``kind`` (TEXT),
    ``value REAL``, ``timestamp TEXT``, ``store_id TEXT`` (NULL allowed), ``received_at TEXT``.

    Timestamps are stored as timezone-naive UTC ISO 8601 text with microseconds,
    ``YYYY-MM-DDTHH:MM:SS.ffffff``: fixed width, so text order is time order and an index
    serves :meth:`since`. Inputs may be ISO strings, ``datetime``/``pd.Timestamp``/
    ``np.datetime64`` (tz-aware ones are converted to UTC; naive ones are taken as UTC) or
    numbers (seconds since the Unix epoch). A missing timestamp means "now".

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.db"
    >>> with EventLog(path) as log:
    ...     result = log.append([
    ...         {"user_id": "u1", "item_id": "sku9", "kind": "view", "value": 35.0,
    ...          "timestamp": "2026-03-01T10:00:00", "event_id": "e1"},
    ...         {"user_id": "u1", "item_id": "sku9", "kind": "purchase",
    ...          "timestamp": "2026-03-01T10:05:00", "store_id": "s3"},
    ...     ])
    ...     retry = log.append([{"user_id": "u1", "item_id": "sku9", "kind": "view",
    ...                          "value": 35.0, "event_id": "e1"}])
    ...     frame = log.since("2026-03-01T10:01:00")
    >>> result
    AppendResult(accepted=2, duplicates=0, last_seq=2)
    >>> retry
    AppendResult(accepted=0, duplicates=1, last_seq=2)
    >>> frame[["user_id", "kind", "value", "store_id", "seq"]].to_dict("records")
    [{'user_id': 'u1', 'kind': 'purchase', 'value': 1.0, 'store_id': 's3', 'seq': 2}]
    """

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: SynchronousLevel = "FULL",
        timeout: float = 30.0,
    ) -> None:
        level = str(synchronous).upper()
        if level not in ("NORMAL", "FULL", "EXTRA"):
            raise InvalidInputError(
                f"synchronous must be 'FULL', 'NORMAL' or 'EXTRA', got {synchronous!r}"
            )
        self.path = Path(path)
        self.synchronous: str = level
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a batch is exactly
            # one transaction. check_same_thread=False: the lock serialises use from threads.
            conn = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise EventLogError(
                f"the event log {str(self.path)!r} cannot be opened: {exc}"
            ) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            mode = _retry_locked(
                lambda: conn.execute("PRAGMA journal_mode=WAL").fetchone()[0], timeout
            )
            if str(mode).lower() != "wal":
                raise RecsysError(f"could not put {self.path} in WAL mode (got {mode!r})")
            conn.execute(f"PRAGMA synchronous={level}")
            _retry_locked(lambda: conn.executescript(_SCHEMA), timeout)
        except sqlite3.Error as exc:  # a directory it may not write, a file of garbage
            conn.close()
            raise EventLogError(
                f"the event log {str(self.path)!r} cannot be opened ({exc}): is it an event "
                "log, in a folder this process may write?"
            ) from exc
        except BaseException:
            conn.close()
            raise
        self._conn: sqlite3.Connection | None = conn
        self._identity = _identity(self.path)

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Close the connection (idempotent). Committed events are already durable."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._conn is None

    def __enter__(self) -> EventLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"synchronous={self.synchronous}"
        return f"EventLog({str(self.path)!r}, {state})"

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """The connection, locked, for one write: the file must still be the one opened,
        and a failing write says why (:class:`EventLogError`, nothing acknowledged)."""
        with self._lock:
            conn = self._connection()
            self.check()
            try:
                yield conn
            except sqlite3.Error as exc:
                raise EventLogError(
                    f"the event log {str(self.path)!r} could not be written ({exc}); "
                    "nothing was acknowledged"
                ) from exc

    def check(self) -> None:
        """Raise :class:`EventLogError` when the log file was deleted or replaced since it
        was opened (a write would go to a file nobody will read again)."""
        if _identity(self.path) != self._identity:
            raise EventLogError(
                f"the event log {str(self.path)!r} was deleted or replaced while open; "
                "nothing was written: restore it, or restart the service to open a new one"
            )

    def set_page_limit(self, pages: int | None) -> None:
        """Cap the database at ``pages`` pages (``None``: SQLite's maximum), as a full disk
        would: writes beyond it fail with "database or disk is full" (fault tests)."""
        with self._lock:
            limit = 4294967294 if pages is None else int(pages)
            self._connection().execute(f"PRAGMA max_page_count={limit}")

    def probe_write(self) -> None:
        """Commit a page-sized row, then delete it: raises :class:`EventLogError` when the
        log is read-only, full, deleted or replaced (nothing stays written). The row is
        committed, not rolled back, so it reaches the disk: a transaction rolled back
        stays in SQLite's page cache, and a full disk would not show."""
        with self._writing() as conn:
            for statement, args in (
                ("INSERT OR REPLACE INTO log_meta (name, value) VALUES (?, zeroblob(8192))",
                 ("write-probe",)),
                ("DELETE FROM log_meta WHERE name = ?", ("write-probe",)),
            ):  # fmt: skip
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute(statement, args)
                    conn.execute("COMMIT")
                finally:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RecsysError(f"event log {str(self.path)!r} is closed")
        return self._conn

    # ------------------------------------------------------------------ writing
    def append(
        self, events: Sequence[Mapping[str, Any]] | pd.DataFrame | EventColumns
    ) -> AppendResult:
        """Append a batch of events in one transaction, durable before returning.

        All or nothing: every event is validated first; if any is invalid nothing is written
        and :class:`~recsys.exceptions.InvalidInputError` names the event (its position in
        the batch) and the field.

        Parameters
        ----------
        events : list of dict or pandas.DataFrame
            Events of the one schema (:mod:`recsys.data.events`): ``user_id``, ``item_id``,
            ``kind`` (required), ``value`` (default 1.0), ``timestamp`` (default now; 1900 to
            2199), ``store_id``, ``event_id`` (makes retries idempotent). Any other field is
            refused, except the ``seq`` column of a frame read back with :meth:`since`.
            Or the :class:`~recsys.data.events.EventColumns` that
            :func:`~recsys.data.events.validate_events` made of them (checked once, for
            the log and the model).

        Returns
        -------
        AppendResult
            ``accepted``, ``duplicates`` (already-logged ``event_id`` s) and ``last_seq``.

        Raises
        ------
        InvalidInputError
            If ``events`` is not a list of mappings / DataFrame, or an event is invalid.
        """
        rows = _rows(events, _now_text())
        with self._writing() as conn:
            if not rows:
                return AppendResult(0, 0, self._last_seq(conn))
            # IMMEDIATE takes the write lock up front (the busy timeout applies here, not at
            # COMMIT) and keeps other processes out between the duplicate check and INSERT.
            conn.execute("BEGIN IMMEDIATE")
            try:
                fresh = _drop_duplicates(conn, rows)
                conn.executemany(_INSERT, fresh)
                last = self._last_seq(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # a failed BEGIN or COMMIT left none
                    conn.execute("ROLLBACK")
                raise
        accepted = len(fresh)
        return AppendResult(accepted=accepted, duplicates=len(rows) - accepted, last_seq=last)

    def append_change(self, kind: str, payload: Mapping[str, Any]) -> LoggedChange:
        """Log a catalog or stock change durably (one transaction), after every event so far.

        Parameters
        ----------
        kind : {"items", "stock", "profiles"}
        payload : dict
            JSON-serializable arguments of the change.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> with EventLog(pathlib.Path(tempfile.mkdtemp()) / "log.sqlite") as log:
        ...     _ = log.append([{"user_id": "u1", "item_id": "sku1", "kind": "view"}])
        ...     change = log.append_change("stock", {"store_id": "s1", "stock": {"sku1": 0}})
        ...     changes = log.changes()
        >>> change.change_seq, change.after_event, changes[0].payload["stock"]
        (1, 1, {'sku1': 0})
        """
        if kind not in CHANGE_KINDS:
            raise InvalidInputError(f"change kind must be one of {CHANGE_KINDS}, got {kind!r}")
        with self._writing() as conn:
            return insert_change(conn, kind, dict(payload), _now_text())

    def forget(self, member_id: str) -> LoggedChange:
        """Erase a member from the log: their events and logged profile are deleted with
        their pages cleared (``secure_delete``, then the WAL truncated), and a ``forget``
        change is logged holding only the keyed digest of the id (:meth:`digester`) (see
        :mod:`recsys.events.erasure`).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.sqlite"
        >>> with EventLog(path) as log:
        ...     _ = log.append([{"user_id": "4929123412341234", "item_id": "s1", "kind": "view"}])
        ...     change = log.forget("4929123412341234")
        ...     log.count(), change.kind
        (0, 'forget')
        >>> b"4929123412341234" in path.read_bytes()
        False
        """
        if not isinstance(member_id, str) or not member_id:
            raise InvalidInputError("member_id must be a non-empty string")
        with self._writing() as conn:
            return erase_member(conn, member_id, _now_text())

    def digester(self) -> Callable[[str], str]:
        """The keyed digest a ``forget`` change holds, as a function of the member id."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                key = erasure_key(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # a failed BEGIN or COMMIT left none
                    conn.execute("ROLLBACK")
                raise
        return functools.partial(digest_of, key)

    def high_water(self) -> tuple[int, int]:
        """The highest event ``seq`` and ``change_seq`` ever given out by this log (rows
        deleted by an erasure included: a saved cursor at or below them is this log's)."""
        with self._lock:
            rows = self._connection().execute("SELECT name, seq FROM sqlite_sequence").fetchall()
        given = {str(name): int(seq) for name, seq in rows}
        return given.get("events", 0), given.get("catalog_changes", 0)

    def changes(self, after_change: int = 0) -> list[LoggedChange]:
        """Logged catalog and stock changes after ``after_change``, in order."""
        with self._lock:
            return select_changes(self._connection(), after_change)

    # ------------------------------------------------------------------ reading
    def since(
        self,
        timestamp: str | datetime | pd.Timestamp | np.datetime64 | float | None = None,
        after_seq: int | None = None,
        until_seq: int | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Events for replay, in log order.

        Parameters
        ----------
        timestamp : str, datetime-like or float, optional
            Keep events whose event ``timestamp`` is at or after this instant (inclusive).
        after_seq : int, optional
            Keep events with ``seq > after_seq`` (exclusive): pass the ``last_seq`` of a
            previous replay or append to get only what came after it.
        until_seq : int, optional
            Keep events with ``seq <= until_seq`` (a change's ``after_event``).
        limit : int, optional
            At most this many (the first ones in log order).

        Returns
        -------
        pandas.DataFrame
            Columns ``Columns.INTERACTIONS`` (``user_id, item_id, kind, value, timestamp,
            store_id``) then ``event_id`` and ``seq``, ordered by ``seq``. ``timestamp`` is
            ``datetime64[ns]`` (naive UTC); missing ``store_id`` / ``event_id`` are NaN.
        """
        clauses: list[str] = []
        params: list[Any] = []
        if timestamp is not None:
            try:
                params.append(_timestamp_text(timestamp))
            except InvalidInputError as err:
                raise InvalidInputError(f"since(): timestamp {err}") from None
            clauses.append(f"{Columns.TIMESTAMP} >= ?")
        for name, bound, op in (("after_seq", after_seq, ">"), ("until_seq", until_seq, "<=")):
            if bound is None:
                continue
            if isinstance(bound, bool) or not isinstance(bound, (int, np.integer)):
                raise InvalidInputError(f"{name} must be an int, got {bound!r}")
            clauses.append(f"{SEQ} {op} ?")
            params.append(int(bound))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {', '.join(_OUTPUT_COLUMNS)} FROM events {where} ORDER BY {SEQ}"
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0:
                raise InvalidInputError(f"limit must be an int >= 0, got {limit!r}")
            sql += " LIMIT ?"
            params.append(int(limit))
        with self._lock:
            rows = self._connection().execute(sql, params).fetchall()
        return _to_frame(rows)

    def member_events(
        self, member_id: str, timestamp: str | datetime | pd.Timestamp | float | None = None
    ) -> pd.DataFrame:
        """One member's events (at or after ``timestamp`` when given), as :meth:`since`."""
        params: list[Any] = [member_id]
        clause = ""
        if timestamp is not None:
            params.append(_timestamp_text(timestamp))
            clause = f" AND {Columns.TIMESTAMP} >= ?"
        sql = (
            f"SELECT {', '.join(_OUTPUT_COLUMNS)} FROM events "
            f"WHERE {Columns.USER} = ?{clause} ORDER BY {SEQ}"
        )
        with self._lock:
            rows = self._connection().execute(sql, params).fetchall()
        return _to_frame(rows)

    # ------------------------------------------------------------------ impressions
    def log_impressions(self, impressions: Sequence[Impression]) -> int:
        """Write shown shelves in one transaction, durable before returning; a ``shelf_id``
        already logged is skipped. Returns the rows written.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from recsys.events.impressions import Impression
        >>> shown = Impression("shelf-1", "u1", "s3", ("sku1", "sku2"), "v1", "default",
        ...                    "2026-03-01T10:00:00.000000")
        >>> with EventLog(pathlib.Path(tempfile.mkdtemp()) / "log.sqlite") as log:
        ...     log.log_impressions([shown, shown])
        ...     log.impressions()[["shelf_id", "items", "variant"]].to_dict("records")
        1
        [{'shelf_id': 'shelf-1', 'items': ['sku1', 'sku2'], 'variant': 'default'}]
        """
        if not impressions:
            return 0
        with self._writing() as conn:
            return insert_impressions(conn, impressions)

    def impressions(self, start: Any = None, end: Any = None) -> pd.DataFrame:
        """Shown shelves in ``[start, end)`` (see :mod:`recsys.events.impressions`)."""
        lo = None if start is None else _timestamp_text(start)
        hi = None if end is None else _timestamp_text(end)
        with self._lock:
            return impressions_frame(self._connection(), lo, hi)

    def count(self) -> int:
        """Number of events in the log."""
        with self._lock:
            return int(self._connection().execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def last_seq(self) -> int:
        """Highest ``seq`` in the log (0 when empty)."""
        with self._lock:
            return self._last_seq(self._connection())

    def data_version(self) -> int:
        """SQLite's ``PRAGMA data_version``: it changes when *another* connection commits.

        A reader polls it to learn, without reading the table, that another process (a
        second server worker) appended events. Cheap: no table access.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.sqlite"
        >>> reader, writer = EventLog(path), EventLog(path)
        >>> before = reader.data_version()
        >>> _ = writer.append([{"user_id": "u1", "item_id": "sku1", "kind": "view"}])
        >>> reader.data_version() != before
        True
        >>> reader.close(); writer.close()
        """
        with self._lock:
            return int(self._connection().execute("PRAGMA data_version").fetchone()[0])

    @staticmethod
    def _last_seq(conn: sqlite3.Connection) -> int:
        value = conn.execute(f"SELECT MAX({SEQ}) FROM events").fetchone()[0]
        return 0 if value is None else int(value)


# ---------------------------------------------------------------------- helpers
def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path``, ``None`` when there is none."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _retry_locked(step: Callable[[], Any], timeout: float) -> Any:
    """Run ``step``, retrying while SQLite says the database is locked.

    Two processes opening a new log at once (two server workers starting) race to switch it
    to WAL and create the table; SQLite answers the loser "database is locked" at once,
    without waiting on the busy timeout, so the wait is done here.
    """
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def _drop_duplicates(
    conn: sqlite3.Connection, rows: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """Rows whose event_id is neither logged nor repeated earlier in the batch.

    Filtering before INSERT (rather than ``ON CONFLICT DO NOTHING``, which still burns an
    AUTOINCREMENT value) keeps ``seq`` gap-free.
    """
    ids = list({row[0] for row in rows if row[0] is not None})
    seen: set[str] = set()
    for start in range(0, len(ids), _ID_CHUNK):
        chunk = ids[start : start + _ID_CHUNK]
        marks = ", ".join("?" * len(chunk))
        query = f"SELECT {Columns.EVENT_ID} FROM events WHERE {Columns.EVENT_ID} IN ({marks})"
        seen.update(found for (found,) in conn.execute(query, chunk))
    fresh = []
    for row in rows:
        if row[0] is not None:
            if row[0] in seen:
                continue
            seen.add(row[0])
        fresh.append(row)
    return fresh


def _rows(events: Any, received_at: str) -> list[tuple[Any, ...]]:
    """Events checked against the one schema, as rows of the events table
    (:class:`EventColumns` are checked already)."""
    if isinstance(events, EventColumns):
        cols = events
    elif isinstance(events, pd.DataFrame):
        if events.empty:
            return []
        # a frame read back with since() carries the log's own cursor: not an event field
        events = events.drop(columns=[SEQ], errors="ignore")
        cols = validate_events(events_frame(events, "events"), frame="events")
    elif isinstance(events, Sequence) and not isinstance(events, str | bytes) and not events:
        return []
    else:
        cols = validate_events(events)
    if not cols.n:
        return []
    times = pd.DatetimeIndex(cols.timestamps)
    text = np.where(times.isna(), received_at, times.strftime(_TS_FORMAT).to_numpy(dtype=object))
    return list(
        zip(
            cols.column(Columns.EVENT_ID).tolist(),
            cols.column(Columns.USER).tolist(),
            cols.column(Columns.ITEM).tolist(),
            cols.kind_names.tolist(),
            cols.values.tolist(),
            text.tolist(),
            cols.column(Columns.STORE).tolist(),
            [received_at] * cols.n,
            strict=True,
        )
    )


def _timestamp_text(value: Any) -> str:
    """Normalise a timestamp to naive-UTC fixed-width ISO text (the schema's rules)."""
    try:
        ts = parse_timestamp(value)
        if not EARLIEST <= ts < LATEST:
            raise ValueError("out of bounds")
        return str(ts.strftime(_TS_FORMAT))
    except (TypeError, ValueError, OverflowError):
        raise InvalidInputError(
            f"must be an ISO 8601 string, a datetime or epoch seconds from {EARLIEST.year} "
            f"to {LATEST.year - 1}, got {value!r}"
        ) from None


def _now_text() -> str:
    return datetime.now(timezone.utc).replace(tzinfo=None).strftime(_TS_FORMAT)


def _to_frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(_OUTPUT_COLUMNS)
    data = dict(zip(_OUTPUT_COLUMNS, columns, strict=True))

    def text(name: str) -> pd.Series:
        return pd.Series(list(data[name]), dtype=object).astype(_TEXT_DTYPE)

    raw_times = pd.Series(list(data[Columns.TIMESTAMP]), dtype=object)
    times = pd.to_datetime(raw_times, format=_TS_FORMAT, errors="coerce")
    times = times.where((times >= EARLIEST) & (times < LATEST))  # the schema's bounds
    frame = pd.DataFrame(
        {
            Columns.USER: text(Columns.USER),
            Columns.ITEM: text(Columns.ITEM),
            Columns.KIND: text(Columns.KIND),
            Columns.VALUE: pd.Series(list(data[Columns.VALUE]), dtype="float64"),
            Columns.TIMESTAMP: times.astype("datetime64[ns]"),
            Columns.STORE: text(Columns.STORE),
            Columns.EVENT_ID: text(Columns.EVENT_ID),
            SEQ: pd.Series(list(data[SEQ]), dtype="int64"),
        }
    )
    # a row the log cannot read back (written by something else, or by an old version
    # without bounds) is quarantined: left in the file, skipped, and said so by seq only
    bad = times.isna().to_numpy() | pd.to_numeric(frame[Columns.VALUE]).isna().to_numpy()
    if bad.any():
        seqs = frame[SEQ].to_numpy()[bad][:10].tolist()
        logger.error("skipped %d unreadable logged event(s), seq %s", int(bad.sum()), seqs)
        frame = frame.loc[~bad].reset_index(drop=True)
    return frame
