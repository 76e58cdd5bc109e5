"""What the service reads from the environment (``RECSYS_*``), resolved once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from recsys.exceptions import ArtifactError, InvalidInputError
from recsys.privacy import Pseudonymizer

__all__ = ["ServiceSettings", "default_event_log", "env_flag", "env_int"]

ENV_MODEL_DIR: Final = "RECSYS_MODEL_DIR"
ENV_BENTO_MODEL: Final = "RECSYS_BENTO_MODEL"
ENV_EVENT_LOG: Final = "RECSYS_EVENT_LOG"
ENV_EVENT_SYNC: Final = "RECSYS_EVENT_SYNC"
ENV_API_KEY: Final = "RECSYS_API_KEY"
ENV_MAX_EVENTS: Final = "RECSYS_MAX_EVENTS"
ENV_MAX_BATCH: Final = "RECSYS_MAX_BATCH"
ENV_MAX_BODY: Final = "RECSYS_MAX_BODY_BYTES"
ENV_THREADS: Final = "RECSYS_THREADS"
ENV_WORKERS: Final = "RECSYS_WORKERS"
ENV_ACCESS_LOG: Final = "RECSYS_ACCESS_LOG"


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInputError(f"{name} must be a positive integer, got {raw!r}") from None
    if value <= 0:
        raise InvalidInputError(f"{name} must be a positive integer, got {raw!r}")
    return value


def env_flag(name: str, default: bool) -> bool:
    """A yes/no environment variable (``1/0``, ``true/false``, ``yes/no``, ``on/off``)."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise InvalidInputError(f"{name} must be 1/0, true/false, yes/no or on/off, got {raw!r}")


def default_event_log(model_dir: Path) -> Path:
    """``<model dir>.events.sqlite``: beside the model directory, never inside it, so a
    retrained model can replace the directory without touching acknowledged events."""
    return model_dir.with_name(f"{model_dir.name}.events.sqlite")


@dataclass(frozen=True)
class ServiceSettings:
    """Everything the service reads from the environment, resolved once.

    Attributes
    ----------
    model_dir : Path
        Directory written by :meth:`Recommender.save`.
    event_log : Path
        SQLite file of the durable event log.
    event_sync : str
        SQLite ``synchronous`` level of the log (``FULL``: fsync per append).
    api_key : str or None
        Bearer key required on every route but the probes; None = open.
    pseudonymizer : Pseudonymizer or None
        Hashes member ids at the boundary; None = ids used as given.
    max_events, max_batch, max_body_bytes : int
        Request size limits (413 beyond).
    """

    model_dir: Path
    event_log: Path
    event_sync: str = "FULL"
    api_key: str | None = None
    pseudonymizer: Pseudonymizer | None = None
    max_events: int = 10_000
    max_batch: int = 1_000
    max_body_bytes: int = 8 * 1024 * 1024

    @classmethod
    def from_env(cls) -> ServiceSettings:
        """Read ``RECSYS_*`` variables (see the module docstring)."""
        model_dir = os.environ.get(ENV_MODEL_DIR, "").strip()
        tag = os.environ.get(ENV_BENTO_MODEL, "").strip()
        if not model_dir and tag:
            import bentoml

            model_dir = bentoml.models.get(tag).path
        if not model_dir:
            raise ArtifactError(
                f"no model to serve: set {ENV_MODEL_DIR} to a directory written by "
                f"Recommender.save() (or {ENV_BENTO_MODEL} to a BentoML model tag)"
            )
        path = Path(model_dir).expanduser().resolve()
        log = os.environ.get(ENV_EVENT_LOG, "").strip()
        return cls(
            model_dir=path,
            event_log=Path(log).expanduser().resolve() if log else default_event_log(path),
            event_sync=os.environ.get(ENV_EVENT_SYNC, "FULL").strip().upper() or "FULL",
            api_key=os.environ.get(ENV_API_KEY) or None,
            pseudonymizer=Pseudonymizer.from_env(),
            max_events=env_int(ENV_MAX_EVENTS, 10_000),
            max_batch=env_int(ENV_MAX_BATCH, 1_000),
            max_body_bytes=env_int(ENV_MAX_BODY, 8 * 1024 * 1024),
        )
