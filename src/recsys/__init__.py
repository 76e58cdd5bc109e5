"""recsys: a personal shelf for every retail member, in milliseconds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from recsys.columns import Columns, EventKind
from recsys.exceptions import (
    ArtifactError,
    EventLogError,
    InvalidInputError,
    NotFittedError,
    PayloadTooLargeError,
    RecsysError,
    SchemaError,
    UnknownIdError,
)

if TYPE_CHECKING:
    from recsys.recommender import MemberScore, Recommendation, Recommender

__version__ = "0.1.0"

_LAZY = {
    "Recommender": "recsys.recommender",
    "Recommendation": "recsys.recommender",
    "MemberScore": "recsys.recommender",
}


def __getattr__(name: str) -> object:
    # the facade pulls in faiss and implicit: import it on first use, not with the errors
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'recsys' has no attribute {name!r}")


__all__ = [
    "ArtifactError",
    "Columns",
    "EventKind",
    "EventLogError",
    "InvalidInputError",
    "MemberScore",
    "NotFittedError",
    "PayloadTooLargeError",
    "Recommendation",
    "Recommender",
    "RecsysError",
    "SchemaError",
    "UnknownIdError",
    "__version__",
]
