"""Erase a member from the event log: rows deleted, pages cleared, no id kept.

:func:`erase_member` runs one transaction with ``PRAGMA secure_delete`` on (SQLite
overwrites deleted content with zeros): it deletes the member's events and shown shelves,
drops them from logged ``profiles`` and ``coupons`` changes, and logs a ``forget``
change holding only a keyed digest of the id. The digest's key is random and lives in the
log (``log_meta``), so it is neither the id nor its pseudonym, and a worker or a restart
can still recognise the member in a model trained before the erasure and forget them there.
A ``TRUNCATE`` checkpoint then empties the write-ahead log, which held the old pages.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
from typing import Any, Final

from recsys.columns import Columns
from recsys.events.changes import LoggedChange

__all__ = ["ERASE_KIND", "digest_of", "erase_member", "erasure_key"]

ERASE_KIND: Final = "forget"
_KEY_NAME: Final = "erasure_key"


def erasure_key(conn: sqlite3.Connection) -> bytes:
    """The log's random digest key, created on first use (caller holds the lock)."""
    row = conn.execute("SELECT value FROM log_meta WHERE name = ?", (_KEY_NAME,)).fetchone()
    if row is not None:
        return bytes(row[0])
    key = secrets.token_bytes(32)
    conn.execute("INSERT OR IGNORE INTO log_meta (name, value) VALUES (?, ?)", (_KEY_NAME, key))
    row = conn.execute("SELECT value FROM log_meta WHERE name = ?", (_KEY_NAME,)).fetchone()
    return bytes(row[0])


def digest_of(key: bytes, member_id: str) -> str:
    """The keyed digest of a member id (hex): what an erasure record keeps."""
    return hashlib.blake2b(member_id.encode("utf-8"), key=key, digest_size=16).hexdigest()


def erase_member(conn: sqlite3.Connection, member_id: str, received_at: str) -> LoggedChange:
    """Delete a member's events and logged profile, and log the erasure (caller holds the
    connection's lock); returns the ``forget`` change."""
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute("BEGIN IMMEDIATE")
    try:
        key = erasure_key(conn)
        # placed after every event logged so far, the member's own included: a replay
        # from any cursor applies what came before, then the erasure
        after = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
        conn.execute(f"DELETE FROM events WHERE {Columns.USER} = ?", (member_id,))
        for seq, text in conn.execute(
            "SELECT change_seq, payload FROM catalog_changes WHERE kind = 'optout'"
        ).fetchall():
            if json.loads(text).get("member_id") == member_id:  # their opt-out goes too
                conn.execute("DELETE FROM catalog_changes WHERE change_seq = ?", (seq,))
        conn.execute(f"DELETE FROM impressions WHERE {Columns.USER} = ?", (member_id,))
        rows = conn.execute(
            "SELECT change_seq, kind, payload FROM catalog_changes "
            "WHERE kind IN ('profiles', 'coupons')"
        ).fetchall()
        for seq, kind, text in rows:
            scrubbed = _scrub(kind, json.loads(text), member_id)
            if scrubbed is not None:
                conn.execute(
                    "UPDATE catalog_changes SET payload = ? WHERE change_seq = ?",
                    (json.dumps(scrubbed, sort_keys=True), seq),
                )
        payload = {"digest": digest_of(key, member_id)}
        cursor = conn.execute(
            "INSERT INTO catalog_changes (after_event, kind, payload, received_at) "
            "VALUES (?, ?, ?, ?)",
            (int(after), ERASE_KIND, json.dumps(payload), received_at),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # a failed BEGIN or COMMIT left none
            conn.execute("ROLLBACK")
        raise
    _truncate_wal(conn)
    return LoggedChange(int(cursor.lastrowid or 0), int(after), ERASE_KIND, payload)


def _scrub(kind: str, payload: dict[str, Any], member_id: str) -> dict[str, Any] | None:
    """A logged change's payload without ``member_id`` (``None``: it held none of them)."""
    if kind == "profiles" and member_id in payload.get("profiles", {}):
        profiles = {m: t for m, t in payload["profiles"].items() if m != member_id}
        return {**payload, "profiles": profiles}
    if kind == "coupons" and member_id in payload.get("members", []):
        return {**payload, "members": [m for m in payload["members"] if m != member_id]}
    return None


def _truncate_wal(conn: sqlite3.Connection, timeout: float = 5.0) -> None:
    """Copy the WAL into the database and truncate it to zero bytes (retried while another
    connection is reading)."""
    deadline = time.monotonic() + timeout
    while True:
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if not busy or time.monotonic() > deadline:
            return
        time.sleep(0.02)
