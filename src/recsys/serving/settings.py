"""What the service needs from the environment, resolved once at start-up (the variables
themselves are read by :mod:`recsys.settings`, the one reader of ``RECSYS_*``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import bentoml

from recsys.exceptions import ArtifactError
from recsys.privacy import Pseudonymizer
from recsys.settings import ENV_BENTO_MODEL, ENV_MODEL_DIR, read_settings

__all__ = ["ENV_BENTO_MODEL", "ENV_MODEL_DIR", "ServiceSettings", "default_event_log"]


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
    max_events, max_batch, max_batch_slots, max_body_bytes : int
        Request and answer size limits (413 beyond): events per call, members per batch,
        members x k per batch (the answer's size), body bytes.
    """

    model_dir: Path
    event_log: Path
    event_sync: str = "FULL"
    api_key: str | None = None
    pseudonymizer: Pseudonymizer | None = None
    max_events: int = 10_000
    max_batch: int = 1_000
    max_batch_slots: int = 100_000
    max_body_bytes: int = 8 * 1024 * 1024

    @classmethod
    def from_env(cls) -> ServiceSettings:
        """Resolve the ``RECSYS_*`` variables (read by :func:`recsys.settings.read_settings`)."""
        env = read_settings()
        model_dir = env.model_dir
        if model_dir is None and env.bento_model:
            model_dir = Path(bentoml.models.get(env.bento_model).path)
        if model_dir is None:
            raise ArtifactError(
                f"no model to serve: set {ENV_MODEL_DIR} to a directory written by "
                f"Recommender.save() (or {ENV_BENTO_MODEL} to a BentoML model tag)"
            )
        path = model_dir.expanduser().resolve()
        key = env.secret("pseudonym_key")
        return cls(
            model_dir=path,
            event_log=env.event_log.expanduser().resolve()
            if env.event_log
            else default_event_log(path),
            event_sync=env.event_sync,
            api_key=env.secret("api_key"),
            pseudonymizer=Pseudonymizer(key) if key else None,
            max_events=env.max_events,
            max_batch=env.max_batch,
            max_batch_slots=env.max_batch_slots,
            max_body_bytes=env.max_body_bytes,
        )
