"""What a client error may say: field paths and messages, never an id or a profile value.

A request that fails validation is described by pydantic as a list of ``{"type", "loc",
"msg", "input", ...}``. ``input`` is the offending value and ``loc`` can hold dict keys the
client chose (the member ids keying ``profiles``) or, for a body that is not an object, the
body itself. :func:`safe_errors` keeps ``type``, a ``loc`` whose parts are list positions or
field names of the request models, and ``msg`` with long digit runs (card and phone
numbers) masked (and without pydantic's "Value error, " before the models' own
messages). The answers and the server log both go through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from pydantic import BaseModel

from recsys.privacy import MASK, mask_digits

__all__ = ["MASK", "field_names", "safe_errors", "safe_loc", "safe_text"]


@cache
def field_names() -> frozenset[str]:
    """Every field name (and alias) of the request models of :mod:`recsys.serving.schemas`
    and :mod:`recsys.serving.analytics_schemas`."""
    from recsys.serving import analytics_schemas, schemas

    names: set[str] = set()
    for module in (schemas, analytics_schemas):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseModel):
                for name, field in value.model_fields.items():
                    names.add(name)
                    if field.alias:
                        names.add(field.alias)
    return frozenset(names)


def safe_loc(loc: Iterable[Any]) -> list[str | int]:
    """A field path with every part that is not a position or a known field masked."""
    known = field_names()
    return [p if isinstance(p, int) or p in known else MASK for p in loc]


def safe_text(text: str) -> str:
    """``text`` with runs of 9 or more digits masked (:func:`recsys.privacy.mask_digits`)."""
    return mask_digits(text)


def safe_errors(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """pydantic-style errors reduced to ``type``, a safe ``loc`` and a masked ``msg``."""
    return [
        {
            "type": str(e.get("type", "value_error")),
            "loc": safe_loc(e.get("loc", ())),
            "msg": safe_text(str(e.get("msg", "")).removeprefix("Value error, ")),
        }
        for e in errors
    ]
