"""Catalog and stock changes in the event log: durable like events, replayed in order.

A change row records the event ``seq`` it followed (``after_event``), so a replay applies
every event up to that one, then the change, then what came after: an event on a SKU added
by a change always finds the SKU. Payloads are JSON (the ``POST /catalog`` and
``POST /stock`` bodies plus the time the change arrived, and the ``profiles`` of a
``POST /events``, keyed by the member ids the model knows: pseudonyms when configured).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["CHANGES_SCHEMA", "CHANGE_KINDS", "LoggedChange", "insert_change", "select_changes"]

CHANGE_KINDS: Final = ("items", "stock", "profiles", "reload", "optout", "coupons")

CHANGES_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS catalog_changes (
    change_seq INTEGER PRIMARY KEY AUTOINCREMENT,
    after_event INTEGER NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS log_meta (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
"""


@dataclass(frozen=True)
class LoggedChange:
    """One change as the log holds it.

    Attributes
    ----------
    change_seq : int
        Its position among changes (1, 2, ...): the replay cursor of changes.
    after_event : int
        The highest event ``seq`` when it was logged: it is replayed after that event.
    kind : {"items", "stock", "profiles", "forget"}
    payload : dict
        The change's arguments, as JSON.
    """

    change_seq: int
    after_event: int
    kind: str
    payload: dict[str, Any]


def insert_change(
    conn: sqlite3.Connection, kind: str, payload: dict[str, Any], received_at: str
) -> LoggedChange:
    """Write one change in its own transaction (the caller holds the connection's lock)."""
    text = json.dumps(payload, sort_keys=True, default=str)
    conn.execute("BEGIN IMMEDIATE")
    try:
        after = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
        cursor = conn.execute(
            "INSERT INTO catalog_changes (after_event, kind, payload, received_at) "
            "VALUES (?, ?, ?, ?)",
            (int(after), kind, text, received_at),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # a failed BEGIN or COMMIT left none
            conn.execute("ROLLBACK")
        raise
    return LoggedChange(int(cursor.lastrowid or 0), int(after), kind, payload)


def select_changes(conn: sqlite3.Connection, after_change: int) -> list[LoggedChange]:
    """Changes with ``change_seq > after_change``, in order."""
    rows = conn.execute(
        "SELECT change_seq, after_event, kind, payload FROM catalog_changes "
        "WHERE change_seq > ? ORDER BY change_seq",
        (int(after_change),),
    ).fetchall()
    return [LoggedChange(int(s), int(a), str(k), json.loads(p)) for s, a, k, p in rows]
