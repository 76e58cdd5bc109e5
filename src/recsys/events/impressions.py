"""Shown shelves in the event log: which SKUs a member saw, in which slots, from which model.

One row per shelf answer, keyed by its ``shelf_id``: member (the id the model knows: a
pseudonym when configured; NULL for a profile-only shelf), store, the SKUs in slot order
(JSON), model version, experiment variant and the time shown. Attribution
(:mod:`recsys.analytics.attribution`) ties later purchases back to these rows; an erasure
deletes the member's rows with their events.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

from recsys.columns import Columns
from recsys.events.erasure import ERASE_KIND, digest_of, erasure_key

__all__ = [
    "IMPRESSIONS_SCHEMA",
    "IMPRESSION_COLUMNS",
    "Impression",
    "impressions_frame",
    "insert_impressions",
]

IMPRESSIONS_SCHEMA: Final = f"""
CREATE TABLE IF NOT EXISTS impressions (
    shelf_id TEXT PRIMARY KEY,
    {Columns.USER} TEXT,
    {Columns.STORE} TEXT,
    items TEXT NOT NULL,
    model_version TEXT NOT NULL,
    variant TEXT NOT NULL,
    shown_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS impressions_user ON impressions ({Columns.USER});
CREATE INDEX IF NOT EXISTS impressions_shown ON impressions (shown_at);
"""

IMPRESSION_COLUMNS: Final = (
    "shelf_id",
    Columns.USER,
    Columns.STORE,
    "items",
    "model_version",
    "variant",
    "shown_at",
)


@dataclass(frozen=True)
class Impression:
    """One shown shelf (``shown_at``: ISO text, UTC, as :class:`~recsys.events.EventLog`
    stores timestamps)."""

    shelf_id: str
    user_id: str | None
    store_id: str | None
    items: tuple[str, ...]
    model_version: str
    variant: str
    shown_at: str

    def row(self) -> tuple[Any, ...]:
        return (
            self.shelf_id,
            self.user_id,
            self.store_id,
            json.dumps(list(self.items)),
            self.model_version,
            self.variant,
            self.shown_at,
        )


def insert_impressions(conn: sqlite3.Connection, impressions: Sequence[Impression]) -> int:
    """Write impressions in one transaction (a ``shelf_id`` already logged is skipped).

    A shelf shown to a member before their erasure is dropped: another worker may still
    have it queued when the erasure lands.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        erased = _erased(conn)
        if erased:
            key = erasure_key(conn)
            impressions = [
                i
                for i in impressions
                if i.user_id is None or i.shown_at > erased.get(digest_of(key, i.user_id), "")
            ]
        before = conn.total_changes
        conn.executemany(
            f"INSERT OR IGNORE INTO impressions ({', '.join(IMPRESSION_COLUMNS)}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [i.row() for i in impressions],
        )
        written = conn.total_changes - before
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return written


def _erased(conn: sqlite3.Connection) -> dict[str, str]:
    """Erasure digest -> when it was logged (the latest, for a member erased twice)."""
    rows = conn.execute(
        "SELECT payload, received_at FROM catalog_changes WHERE kind = ? ORDER BY change_seq",
        (ERASE_KIND,),
    ).fetchall()
    return {json.loads(payload)["digest"]: str(at) for payload, at in rows}


def impressions_frame(
    conn: sqlite3.Connection, start: str | None = None, end: str | None = None
) -> pd.DataFrame:
    """Impressions shown in ``[start, end)`` (ISO text bounds, optional), in time order;
    ``items`` as lists and ``shown_at`` as ``datetime64``."""
    clauses, params = [], []
    if start is not None:
        clauses.append("shown_at >= ?")
        params.append(start)
    if end is not None:
        clauses.append("shown_at < ?")
        params.append(end)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = conn.execute(
        f"SELECT {', '.join(IMPRESSION_COLUMNS)} FROM impressions {where} "
        "ORDER BY shown_at, shelf_id",
        params,
    ).fetchall()
    frame = pd.DataFrame(rows, columns=list(IMPRESSION_COLUMNS))
    frame["items"] = [json.loads(text) for text in frame["items"]]
    frame["shown_at"] = pd.to_datetime(frame["shown_at"], format="ISO8601")
    return frame
