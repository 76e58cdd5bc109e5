"""ASGI middleware run before any route: page queries, API key, request size, error JSON shape."""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Callable, Collection, Iterable, Mapping, MutableMapping
from typing import Any, Final

from pydantic import ValidationError
from starlette.responses import JSONResponse
from starlette.routing import Match, Route

from recsys.exceptions import InvalidInputError, PayloadTooLargeError, RecsysError
from recsys.serving.endpoints import restore_path
from recsys.serving.openapi import PROBES, with_errors
from recsys.serving.pages.routing import inbound, is_open
from recsys.serving.redaction import MASK, field_names, safe_errors, safe_loc, safe_text
from recsys.settings import read_settings

__all__ = [
    "OPEN_PATHS",
    "Gatekeeper",
    "QuietAccessLog",
    "QuietClientErrors",
    "error_response",
    "validation_status",
]

OPEN_PATHS: Final = PROBES
_NOT_AN_OBJECT: Final = frozenset({"model_type", "model_attributes_type", "dict_type"})


def error_response(exc: RecsysError) -> JSONResponse:
    """The JSON answer of a deliberate error: ``{"error": class name, "detail": message}``.

    An invalid value whose place in the body is known (``exc.loc``, e.g. an event's
    timestamp) is answered like pydantic's own: 422 ``ValidationError`` with ``detail`` a
    list of ``{type, loc, msg}``, values masked."""
    if isinstance(exc, InvalidInputError) and exc.loc is not None:
        known = all(isinstance(p, int) or p in field_names() for p in exc.loc)
        # a field name the client made up is theirs: neither echoed in loc nor in msg
        msg = str(exc) if known else "Extra inputs are not permitted"
        kind = "value_error" if known else "extra_forbidden"
        [error] = safe_errors([{"type": kind, "loc": exc.loc, "msg": msg}])
        return JSONResponse({"error": "ValidationError", "detail": [error]}, status_code=422)
    # a value the client chose may be quoted (an unknown store id): never a card number
    return JSONResponse(
        {"error": type(exc).__name__, "detail": safe_text(str(exc))}, status_code=exc.http_status
    )


class Gatekeeper:
    """ASGI middleware: API key check and request size limit, before any route runs.

    Parameters
    ----------
    app : ASGI app
    api_key : str, optional
        Defaults to ``RECSYS_API_KEY``; empty = no authentication.
    max_body_bytes : int, optional
        Defaults to ``RECSYS_MAX_BODY_BYTES`` (8 MiB); larger bodies get 413.
    """

    def __init__(
        self, app: Any, api_key: str | None = None, max_body_bytes: int | None = None
    ) -> None:
        self.app = app
        env = read_settings()
        key = api_key if api_key is not None else env.secret("api_key")
        self._key = key.encode("utf-8") if key else None
        self.max_body_bytes = max_body_bytes or env.max_body_bytes

    def _routed(self, scope: MutableMapping[str, Any]) -> bool:
        """Whether a route of the app takes this request as it is (path and method): else
        the router answers it (404, 405), whatever its body."""
        app = self.app
        while app is not None and not hasattr(app, "routes"):  # the router, innermost
            app = getattr(app, "app", None)
        if app is None:
            return True
        return any(
            isinstance(route, Route) and route.matches(scope)[0] is Match.FULL
            for route in app.routes
        )

    def _authorized(self, scope: Mapping[str, Any]) -> bool:
        assert self._key is not None
        for name, value in scope.get("headers", ()):
            if name.lower() == b"authorization":
                scheme, _, token = value.partition(b" ")
                return scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self._key)
        return False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = restore_path(scope)  # the path as sent (the traffic metrics saw its route)
        scope = inbound(scope)  # a page's address holds a member id: dropped here, first
        send = _route_errors(send, scope)
        if (
            self._key is not None
            and scope["path"] not in OPEN_PATHS
            and not is_open(scope)
            and not self._authorized(scope)
        ):
            await _send_json(
                send,
                401,
                "Unauthorized",
                "missing or wrong API key: send 'Authorization: Bearer <key>'",
                {"www-authenticate": "Bearer"},
            )
            return
        if scope["path"] in ("/docs", "/docs/") and scope.get("method") in ("GET", "HEAD"):
            # BentoML serves the API's page at "/": /docs, where people look, leads there
            await send(
                {"type": "http.response.start", "status": 307, "headers": [(b"location", b"/")]}
            )
            await send({"type": "http.response.body", "body": b""})
            return
        if scope["path"] == "/docs.json" and scope.get("method") == "GET":
            await self.app(scope, receive, _openapi_answer(send))
            return
        if scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        media = _header(scope, b"content-type").split(b";")[0].strip().lower()
        if media and media != b"application/json" and not media.endswith(b"+json"):
            await _send_json(
                send,
                400,
                "UnsupportedMediaType",
                "send the body as JSON, with 'Content-Type: application/json'",
            )
            return
        send = _validation_answers(send)
        too_large = PayloadTooLargeError(
            f"request body over {self.max_body_bytes} bytes; split it into smaller calls"
        )
        for name, value in scope.get("headers", ()):
            if (
                name.lower() == b"content-length"
                and value.isdigit()
                and int(value) > self.max_body_bytes
            ):
                await _send_json(send, 413, type(too_large).__name__, str(too_large))
                return
        # Read the body here (chunked uploads have no content-length), then hand it on.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message], receive), send)
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_body_bytes:
                await _send_json(send, 413, type(too_large).__name__, str(too_large))
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        whole = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        if not whole["body"] and self._routed(scope):  # BentoML would read it as {}
            await _send_json(send, 400, "MalformedRequest", "the body is empty: send a JSON object")
            return
        await self.app(scope, _replay([whole], receive), send)


def _header(scope: Mapping[str, Any], wanted: bytes) -> bytes:
    for name, value in scope.get("headers", ()):
        if name.lower() == wanted:
            return bytes(value)
    return b""


def _rewritten(
    send: Any,
    statuses: Collection[int],
    rewrite: Callable[[bytes, dict[str, Any]], JSONResponse | None],
) -> Callable[[dict[str, Any]], Any]:
    """``send`` with every answer of one of ``statuses`` held whole, then sent as
    ``rewrite`` of its body and start message (``None``: as it was)."""
    held: dict[str, Any] | None = None
    chunks: list[bytes] = []

    async def wrapped(message: dict[str, Any]) -> Any:
        nonlocal held
        if message["type"] == "http.response.start" and message["status"] in statuses:
            held = message
            return None
        if held is None or message["type"] != "http.response.body":
            return await send(message)
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return None
        body = b"".join(chunks)
        response = rewrite(body, held)
        if response is None:
            await send(held)
            return await send({"type": "http.response.body", "body": body})
        start = {"status": response.status_code, "headers": response.raw_headers}
        await send({"type": "http.response.start", **start})
        return await send({"type": "http.response.body", "body": response.body})

    return wrapped


def _validation_answers(send: Any) -> Callable[[dict[str, Any]], Any]:
    """``send`` with BentoML's validation answers (400, a pydantic error list) rewritten to
    the service's shape: 400 ``MalformedRequest`` for a body that is not JSON, else 422
    ``ValidationError``; the details keep types, field paths and messages, never values."""

    def rewrite(body: bytes, _: dict[str, Any]) -> JSONResponse | None:
        try:
            answer = json.loads(body)
        except ValueError:
            return None
        if not (isinstance(answer, dict) and isinstance(answer.get("detail"), list)):
            return None  # not a validation answer
        errors = safe_errors(e for e in answer["detail"] if isinstance(e, dict))
        status = validation_status(errors)
        error = "MalformedRequest" if status == 400 else "ValidationError"
        return JSONResponse({"error": error, "detail": errors}, status_code=status)

    return _rewritten(send, (400,), rewrite)


def validation_status(errors: Iterable[Mapping[str, Any]]) -> int:
    """400 for a body that is not JSON or not a JSON object, else 422 (invalid values)."""
    malformed = any(
        e["type"] == "json_invalid" or (not e["loc"] and e["type"] in _NOT_AN_OBJECT)
        for e in errors
    )
    return 400 if malformed else 422


def _route_errors(send: Any, scope: Mapping[str, Any]) -> Callable[[dict[str, Any]], Any]:
    """``send`` with the framework's plain-text 404 (no such route) and 405 (a method the
    route does not take) answered in the service's JSON shape; JSON answers pass as they
    are (an unknown member or SKU is a JSON 404 already)."""
    method, path = scope.get("method", "?"), scope.get("path", "")

    def rewrite(body: bytes, start: dict[str, Any]) -> JSONResponse | None:
        try:
            json.loads(body)
            return None
        except ValueError:
            pass
        if start["status"] == 405:
            allow = {k.lower(): v for k, v in start.get("headers", ())}.get(b"allow", b"")
            return JSONResponse(
                {"error": "MethodNotAllowed", "detail": f"{path} does not take {method}"},
                status_code=405,
                headers={"allow": allow.decode("latin-1")} if allow else None,
            )
        return JSONResponse(
            # the path is not repeated: a client may have put an id in it
            {"error": "NotFound", "detail": "no such route; the routes are listed at /docs"},
            status_code=404,
        )

    return _rewritten(send, (404, 405), rewrite)


def _openapi_answer(send: Any) -> Callable[[dict[str, Any]], Any]:
    """``send`` with BentoML's OpenAPI document completed by :func:`with_errors`."""
    return _rewritten(send, (200,), lambda body, _: JSONResponse(with_errors(json.loads(body))))


def _replay(messages: list[dict[str, Any]], receive: Any) -> Callable[[], Any]:
    pending = list(messages)

    async def replayed() -> Any:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


async def _send_json(
    send: Any, status: int, error: str, detail: str, headers: Mapping[str, str] | None = None
) -> None:
    response = JSONResponse(
        {"error": error, "detail": detail}, status_code=status, headers=dict(headers or {})
    )
    await send({"type": "http.response.start", "status": status, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


class QuietClientErrors(logging.Filter):
    """Turn BentoML's log of an invalid request into one WARNING line without the input.

    BentoML logs a request that fails pydantic validation as an ERROR with a traceback, and
    pydantic's message quotes the offending value: a member id sent as a number would put a
    raw card number in the server log. This filter keeps the route, the error count and
    the field paths, and drops the values.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, ValidationError):
            fields = ", ".join(
                ".".join(str(p) for p in safe_loc(e["loc"]))
                for e in exc.errors(include_input=False)
            )
            head = record.getMessage()
            status = validation_status(exc.errors(include_input=False))
            record.msg = "%s: invalid request, %d validation error(s) at %s (answered %d)"
            record.args = (head, exc.error_count(), fields or "the body", status)
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class QuietAccessLog(logging.Filter):
    """BentoML's access log line without what a client may have put in a path.

    The line gives the request's path. The routes' own paths hold no ids, but a client may
    put one in a path no route has (``GET /members/<card number>``): for a 404 the path is
    masked whole, and elsewhere runs of 9 or more digits are.

    Examples
    --------
    >>> record = logging.LogRecord("bentoml.access", logging.INFO, "", 0, "%s (%s) (%s) %.3fms",
    ...     ("127.0.0.1:5", "scheme=http,method=GET,path=/members/4111111111111111",
    ...      "status=404,type=application/json", 1.0), None)
    >>> QuietAccessLog().filter(record), record.getMessage().split(" (")[1]
    (True, 'scheme=http,method=GET,path=<redacted>)')
    """

    _PATH = re.compile(r"path=[^,)]*")

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if (
            isinstance(args, tuple)
            and len(args) >= 3
            and all(isinstance(a, str) for a in args[1:3])
        ):
            request, response = str(args[1]), str(args[2])
            if "status=404" in response.split(","):
                request = self._PATH.sub(f"path={MASK}", request)
            record.args = (args[0], safe_text(request), *args[2:])
        return True
