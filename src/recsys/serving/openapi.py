"""The OpenAPI document as the service answers: every error status a route can return.

BentoML documents each route's 200 answer and its own validation error. The gatekeeper
also answers 400, 401, 405, 413, 422 and 503, and routes raise 404, so :func:`with_errors` adds
them to every ``POST`` route, all in the one error shape. BentoML does not document a mounted
ASGI app, so the two pages (``GET /screen``, ``GET /assistant``) are added by hand
(:data:`PAGE_PATHS`).
"""

from __future__ import annotations

import copy
from typing import Any, Final

from recsys.serving.pages.routing import MAX_PARAM_CHARS, PARAMS

__all__ = ["ERROR_SCHEMA", "ERROR_STATUSES", "PAGE_PATHS", "PROBES", "with_errors"]

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
                            "loc": {
                                "type": "array",
                                "items": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                            },
                            "msg": {"type": "string"},
                        },
                    },
                },
            ],
        },
    },
}

_REF: Final = {"$ref": "#/components/schemas/RecsysError"}
#: the routes open without the API key (orchestrators probe without credentials)
PROBES: Final = frozenset({"/healthz", "/livez", "/readyz"})
#: what ``/readyz`` answering 503 means
NOT_READY: Final = "Not ready: the model is still loading, or the event log cannot take writes"

ERROR_STATUSES: Final = {
    "400": "Not JSON, not a JSON object, or a content type other than JSON",
    "401": "Missing or wrong API key (when one is configured)",
    "404": "Unknown SKU or store, or no such route (an unknown member is no 404: "
    "they get the popular shelf, marked in 'fallback')",
    "405": "A method other than POST on this path (MethodNotAllowed, with an Allow header)",
    "413": "Too large: body, events, members or members x k over the limits",
    "422": "A value fails validation (the detail names the field)",
    "503": "Not ready: no model, or the event log cannot be written",
}


def _page_operation(summary: str) -> dict[str, Any]:
    """The OpenAPI operation of one page (open without the API key, as probes are)."""
    param = "Read by the page in the browser; the server never sees it."
    return {
        "summary": summary,
        "tags": ["Pages"],
        "security": [],
        "parameters": [
            {
                "name": name,
                "in": "query",
                "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": MAX_PARAM_CHARS},
                "description": f"The {name.removesuffix('_id')}. {param}",
            }
            for name in PARAMS
        ],
        "responses": {
            "200": {"description": "The page.", "content": {"text/html": {}}},
            "400": {
                "description": "The page, saying which parameter of its address is missing "
                "or too long (never its value).",
                "content": {"text/html": {}},
            },
            "405": {
                "description": "A method other than GET (MethodNotAllowed)",
                "content": {"application/json": {"schema": _REF}},
            },
        },
    }


#: the pages BentoML leaves out of its document (a mounted app's routes are not in it)
PAGE_PATHS: Final[dict[str, dict[str, Any]]] = {
    "/screen": {"get": _page_operation("The smart screen: a member's shelf in a store")},
    "/assistant": {"get": _page_operation("The shop assistant's view of a member")},
    "/pages/static/{name}": {
        "get": {
            "summary": "A script or style sheet of the pages",
            "tags": ["Pages"],
            "security": [],
            "parameters": [
                {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": {"description": "The file (JavaScript or CSS), with an ETag."},
                "304": {"description": "Not modified (If-None-Match matched its ETag)."},
                "404": {
                    "description": "No such file (NotFound)",
                    "content": {"application/json": {"schema": _REF}},
                },
                "405": {
                    "description": "A method other than GET (MethodNotAllowed)",
                    "content": {"application/json": {"schema": _REF}},
                },
            },
        }
    },
}


def with_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``spec`` whose ``POST`` routes (and ``/readyz``) list every error answer,
    and that is valid OpenAPI 3.0, as it says it is: optional fields say ``nullable``
    (pydantic writes ``{"type": "null"}``) and schemas keep to 3.0's keywords
    (:func:`_openapi30`)."""
    out = _openapi30(_nullable(copy.deepcopy(spec)))
    info = out.setdefault("info", {})
    if info.get("version") in (None, "None", ""):  # BentoML's, when no Bento was built
        from recsys import __version__

        info["version"] = __version__
    schemas = out.setdefault("components", {}).setdefault("schemas", {})
    schemas["RecsysError"] = copy.deepcopy(ERROR_SCHEMA)
    ref = _REF
    paths = out.setdefault("paths", {})
    for path, methods in PAGE_PATHS.items():
        paths.setdefault(path, copy.deepcopy(methods))
    unauthorized = {
        "description": ERROR_STATUSES["401"],
        "content": {"application/json": {"schema": ref}},
    }
    for path, methods in out.get("paths", {}).items():
        if not isinstance(methods, dict):
            continue
        for method, operation in methods.items():  # behind the key: all but probes and pages
            if (
                path not in PROBES
                and path not in PAGE_PATHS
                and isinstance(operation, dict)
                and method != "parameters"
            ):
                operation.setdefault("responses", {}).setdefault("401", unauthorized)
        post = methods.get("post")
        if not isinstance(post, dict):
            continue
        answers = post.setdefault("responses", {})
        for answer in answers.values():  # BentoML inlines answers and drops their nulls
            body = answer.get("content", {}).get("application/json", {})
            title = body.get("schema", {}).get("title")
            if title in schemas:
                body["schema"] = {"$ref": f"#/components/schemas/{title}"}
        for status, text in ERROR_STATUSES.items():
            answers[status] = {
                "description": text,
                "content": {"application/json": {"schema": ref}},
            }
    ready = out.get("paths", {}).get("/readyz", {}).get("get")
    if isinstance(ready, dict):
        ready.setdefault("responses", {})["503"] = {"description": NOT_READY}
    for path in PROBES | {"/metrics"}:  # GET routes: any other method is a 405 too
        get = out.get("paths", {}).get(path, {}).get("get")
        if isinstance(get, dict):
            get.setdefault("responses", {})["405"] = {
                "description": "A method other than GET (MethodNotAllowed)",
                "content": {"application/json": {"schema": ref}},
            }
    return out


def _openapi30(node: Any) -> Any:
    """JSON Schema keywords OpenAPI 3.0 does not know, said its way, everywhere: a list of
    ``examples`` -> its first as ``example``, ``const`` -> a one-value ``enum``, a numeric
    ``exclusiveMinimum`` / ``exclusiveMaximum`` -> the bound and ``true``, ``propertyNames``
    -> words in the description; and BentoML's ``root_input`` marker dropped."""
    if isinstance(node, list):
        return [_openapi30(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _openapi30(v) for k, v in node.items() if k != "root_input"}
    examples = out.get("examples")
    if isinstance(examples, list):  # 3.0's ``examples`` (of a media type) is a map
        del out["examples"]
        if examples:
            out.setdefault("example", examples[0])
    if "const" in out:
        out["enum"] = [out.pop("const")]
    names = out.pop("propertyNames", None)  # 3.0 cannot constrain keys: said in words
    if isinstance(names, dict) and "maxLength" in names:
        keys = f"Keys of {names.get('minLength', 0)} to {names['maxLength']} characters."
        out["description"] = f"{out.get('description', '')} {keys}".strip()
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = out.get(exclusive)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[bound], out[exclusive] = value, True
    return out


def _nullable(node: Any) -> Any:
    """``anyOf: [X, {"type": "null"}]`` -> ``X`` with ``nullable: true``, everywhere."""
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable(v) for k, v in node.items()}
    options = out.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [o for o in options if o != {"type": "null"}]
        del out["anyOf"]
        if len(rest) == 1 and isinstance(rest[0], dict) and "$ref" not in rest[0]:
            out = {**rest[0], **out}
        elif len(rest) == 1:
            out["allOf"] = rest
        else:
            out["anyOf"] = rest
        out["nullable"] = True
    return out
