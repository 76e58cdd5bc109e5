"""The OpenAPI document as the service answers: every error status a route can return.

BentoML documents each route's 200 answer and its own validation error. The gatekeeper
also answers 400, 401, 413, 422 and 503, and routes raise 404, so :func:`with_errors` adds
them to every ``POST`` route, all in the one error shape.
"""

from __future__ import annotations

import copy
from typing import Any, Final

__all__ = ["ERROR_SCHEMA", "ERROR_STATUSES", "with_errors"]

ERROR_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "description": "The kind of error, e.g. UnknownIdError."},
        "detail": {
            "description": "A message naming the field, or validation errors (no values).",
            "oneOf": [
                {"type": "string"},
                {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "type": {"type": "string"},
                            "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                            "msg": {"type": "string"},
                        },
                    },
                },
            ],
        },
    },
}

ERROR_STATUSES: Final = {
    "400": "Not JSON, not a JSON object, or a content type other than JSON",
    "401": "Missing or wrong API key (when one is configured)",
    "404": "Unknown member, SKU or store",
    "413": "Too large: body, events, members or members x k over the limits",
    "422": "A value fails validation (the detail names the field)",
    "503": "Not ready: no model, or the event log cannot be written",
}


def with_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``spec`` whose ``POST`` routes list every error answer."""
    out = copy.deepcopy(spec)
    schemas = out.setdefault("components", {}).setdefault("schemas", {})
    schemas["RecsysError"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/RecsysError"}
    for methods in out.get("paths", {}).values():
        post = methods.get("post") if isinstance(methods, dict) else None
        if not isinstance(post, dict):
            continue
        answers = post.setdefault("responses", {})
        for status, text in ERROR_STATUSES.items():
            answers[status] = {
                "description": text,
                "content": {"application/json": {"schema": ref}},
            }
    return out
