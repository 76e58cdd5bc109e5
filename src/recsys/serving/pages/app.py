"""The pages app (Starlette), mounted by the service at ``/`` (BentoML matches a mounted
Starlette app only on its own routes: ``/screen``, ``/assistant``, ``/pages/static/<file>``).

It serves the two pages and their static files from memory, read once from the package:
no template engine, no build step, nothing from the network. Every answer carries a
Content-Security-Policy that lets a page load and call only its own origin, and
``Referrer-Policy: no-referrer`` (a page's address holds the member id). Anything else is a
4xx in the service's one error shape, and nothing here changes any state.

Examples
--------
>>> from starlette.testclient import TestClient
>>> client = TestClient(pages_app())
>>> answer = client.get("/pages/static/pages.css")
>>> answer.status_code, answer.headers["content-type"]
(200, 'text/css; charset=utf-8')
>>> client.get("/screen?store_id=s3").status_code  # the page says what is missing
400
>>> answer = client.post("/screen")
>>> answer.status_code, answer.json()["error"]
(405, 'MethodNotAllowed')
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from recsys.serving.pages.routing import PAGES, PROBLEM_KEY, STATIC, page_problem

__all__ = ["CONTENT_SECURITY_POLICY", "pages_app"]

#: a page may load scripts, styles and data only from its own origin, and nothing inline
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS: Final = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}
_MEDIA_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
_PROBLEM_SLOT: Final = b'data-problem=""'
_ROUTES_HINT: Final = (
    "the pages are GET /screen and GET /assistant (?store_id=…&member_id=…); "
    "the data routes are POST /recommend, /events, ..."
)


@dataclass(frozen=True)
class _Asset:
    body: bytes
    media_type: str
    etag: str


def _assets() -> dict[str, _Asset]:
    """Every static file of the package, by file name."""
    folder = resources.files("recsys.serving.pages") / "static"
    out: dict[str, _Asset] = {}
    for entry in folder.iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if entry.is_file() and suffix in _MEDIA_TYPES:
            body = entry.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            out[entry.name] = _Asset(body, _MEDIA_TYPES[suffix], etag)
    return out


def _page(path: str, template: bytes) -> Callable[[Request], Awaitable[Response]]:
    """The route of one page: its HTML, with the gatekeeper's verdict on the address."""
    if template.count(_PROBLEM_SLOT) != 1:
        raise RuntimeError(f"the HTML of {path} must hold {_PROBLEM_SLOT.decode()} once")

    async def page(request: Request) -> Response:
        scope = request.scope  # the gatekeeper's verdict; without one (in-process), ours
        problem = (
            scope.get(PROBLEM_KEY)
            if PROBLEM_KEY in scope
            else page_problem(scope.get("query_string", b""))
        )
        body = template
        if problem:
            filled = b'data-problem="' + html.escape(problem).encode("utf-8") + b'"'
            body = template.replace(_PROBLEM_SLOT, filled)
        return Response(
            body,
            status_code=400 if problem else 200,
            media_type=_MEDIA_TYPES[".html"],
            headers={**_HEADERS, "cache-control": "no-store"},
        )

    return page


def _static(assets: Mapping[str, _Asset]) -> Callable[[Request], Awaitable[Response]]:
    async def static(request: Request) -> Response:
        asset = assets.get(request.path_params["name"])
        if asset is None or asset.media_type == _MEDIA_TYPES[".html"]:
            raise HTTPException(404, "no such file")
        headers = {**_HEADERS, "cache-control": "no-cache", "etag": asset.etag}
        if request.headers.get("if-none-match") == asset.etag:
            return Response(status_code=304, headers=headers)
        return Response(asset.body, media_type=asset.media_type, headers=headers)

    return static


async def _error(request: Request, exc: Exception) -> Response:
    """HTTP errors of the pages in the service's shape ``{"error", "detail"}``."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        error, detail = "MethodNotAllowed", f"pages and their files only answer GET; {_ROUTES_HINT}"
    elif exc.status_code == 404:
        error, detail = "NotFound", f"{exc.detail}: {_ROUTES_HINT}"
    else:
        error, detail = "HTTPError", str(exc.detail)
    headers = {**_HEADERS, **(exc.headers or {})}
    return JSONResponse(
        {"error": error, "detail": detail}, status_code=exc.status_code, headers=headers
    )


def pages_app() -> Starlette:
    """The ASGI app of the pages, to mount at ``/``.

    Its routes: ``GET /screen``, ``GET /assistant`` and ``GET /pages/static/<file>``.

    Returns
    -------
    starlette.applications.Starlette
    """
    assets = _assets()
    routes = [
        Route(path, _page(path, assets[f"{name}.html"].body), methods=["GET"])
        for path, name in PAGES.items()
    ]
    routes.append(Route(STATIC + "{name}", _static(assets), methods=["GET"]))
    return Starlette(routes=routes, exception_handlers={HTTPException: _error})
