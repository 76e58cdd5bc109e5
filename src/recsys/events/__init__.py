"""Durable event log: acknowledged member events are never lost and can be replayed."""

from __future__ import annotations

from recsys.events.changes import LoggedChange
from recsys.events.log import SEQ, AppendResult, EventLog, SynchronousLevel

__all__ = ["SEQ", "AppendResult", "EventLog", "LoggedChange", "SynchronousLevel"]
