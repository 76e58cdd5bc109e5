"""The one reader of every ``RECSYS_*`` environment variable (pydantic-settings).

========================= ============================================================
variable                  meaning
========================= ============================================================
``RECSYS_MODEL_DIR``      directory written by ``Recommender.save`` (the served model)
``RECSYS_BENTO_MODEL``    a BentoML model-store tag instead of a directory
``RECSYS_EVENT_LOG``      SQLite event log (default ``<model dir>.events.sqlite``)
``RECSYS_EVENT_SYNC``     ``FULL`` (fsync per append, default), ``NORMAL`` or ``EXTRA``
``RECSYS_API_KEY``        bearer key required on every route but the probes
``RECSYS_PSEUDONYM_KEY``  secret of the keyed hash that replaces member ids
``RECSYS_MAX_EVENTS``     events per ``/events`` call (10,000)
``RECSYS_MAX_BATCH``      members per ``/recommend_batch`` call (1,000)
``RECSYS_MAX_BATCH_SLOTS`` members x k per ``/recommend_batch`` call (100,000)
``RECSYS_MAX_BODY_BYTES`` request body limit (8 MiB)
``RECSYS_WORKERS``        BentoML worker processes (default min(2, cores))
``RECSYS_THREADS``        threads per worker (4)
``RECSYS_ACCESS_LOG``     BentoML's per-request log line (on)
``RECSYS_TRACING``        BentoML's OpenTelemetry spans for every request (off)
``RECSYS_ALLOW_OPEN``     serve on a non-loopback address without an API key (off)
``RECSYS_FAILURE_FILE``   set by ``recsys serve``: where a worker that cannot start says why
``RECSYS_EXPERIMENT``     JSON file of experiment variants (:mod:`recsys.serving.experiments`)
``RECSYS_SHARED_DATA``    folder of the public data sets for tests and benchmarks
``RECSYS_DEBUG``          the CLI prints tracebacks
========================= ============================================================

Yes/no variables take ``1/0``, ``true/false``, ``yes/no`` or ``on/off``; an empty value is
the same as an unset one. A bad value is an :class:`~recsys.exceptions.InvalidInputError`
naming the variable (and never echoing a secret).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveInt, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from recsys.exceptions import InvalidInputError

__all__ = [
    "ENV_BENTO_MODEL",
    "ENV_FAILURE_FILE",
    "ENV_MODEL_DIR",
    "PREFIX",
    "Settings",
    "read_settings",
]

PREFIX = "RECSYS_"
ENV_MODEL_DIR = f"{PREFIX}MODEL_DIR"
ENV_BENTO_MODEL = f"{PREFIX}BENTO_MODEL"
#: set by ``recsys serve``: a worker that cannot start writes why, for the CLI to print
ENV_FAILURE_FILE = f"{PREFIX}FAILURE_FILE"
_SECRETS = ("api_key", "pseudonym_key")


class Settings(BaseSettings):
    """Every ``RECSYS_*`` variable, typed; see the module docstring.

    Examples
    --------
    >>> Settings(max_batch=50, event_sync="normal").event_sync
    'NORMAL'
    """

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_ignore_empty=True, extra="ignore", frozen=True
    )

    model_dir: Path | None = None
    bento_model: str | None = None
    event_log: Path | None = None
    event_sync: Literal["FULL", "NORMAL", "EXTRA"] = "FULL"
    api_key: SecretStr | None = None
    pseudonym_key: SecretStr | None = None
    max_events: PositiveInt = 10_000
    max_batch: PositiveInt = 1_000
    max_batch_slots: PositiveInt = 100_000
    max_body_bytes: PositiveInt = 8 * 1024 * 1024
    workers: PositiveInt = Field(default_factory=lambda: min(2, os.cpu_count() or 1))
    threads: PositiveInt = 4
    access_log: bool = True
    tracing: bool = False
    allow_open: bool = False
    failure_file: Path | None = None
    experiment: Path | None = None
    shared_data: Path | None = None
    debug: bool = False

    @field_validator("event_sync", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    def secret(self, name: str) -> str | None:
        """The plain text of ``api_key`` or ``pseudonym_key`` (``None`` when unset)."""
        value = getattr(self, name)
        return value.get_secret_value() if value is not None else None


def read_settings() -> Settings:
    """The environment as :class:`Settings`, read now.

    Raises
    ------
    InvalidInputError
        A variable holds a value of the wrong kind; the message names it.
    """
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            shown = "" if field in _SECRETS else f", got {error.get('input')!r}"
            problems.append(f"{PREFIX}{field.upper()}: {error['msg']}{shown}")
        raise InvalidInputError("bad environment: " + "; ".join(problems)) from None
