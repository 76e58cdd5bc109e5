"""BentoML's request metrics labelled by route, never by what a client put in a path.

BentoML's traffic middleware, the outermost layer of the app, labels
``bentoml_service_request_total`` and its siblings with the request's path as sent. A path
no route has (``GET /members/<card number>``) would then reach ``/metrics`` verbatim, and
every new path would add series for as long as the server runs. :func:`label_of` maps a
path to its route (``/pages/static/{name}`` for any page file) or to :data:`UNMATCHED`, and
:func:`bound_endpoint_labels` has the middleware label with it. The request goes on with
the label as its path, the original kept under :data:`ORIGINAL_PATH` for the gatekeeper to
put back before routing (:func:`restore_path`): the access log and traces between see the
label too.

Examples
--------
>>> label = labeller({"/recommend", "/metrics"})
>>> label("/recommend"), label("/pages/static/pages.css"), label("/members/4111111111111111")
('/recommend', '/pages/static/{name}', '/{unmatched}')
>>> sent = {"type": "http", "path": "/members/4111111111111111", "raw_path": b"/members/4111"}
>>> labelled = with_label(sent, label(sent["path"]))
>>> labelled["path"], labelled["raw_path"]
('/{unmatched}', b'/{unmatched}')
>>> restore_path(labelled) == sent
True
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from typing import Any, Final

__all__ = [
    "BENTOML_PATHS",
    "ORIGINAL_PATH",
    "UNMATCHED",
    "bound_endpoint_labels",
    "labeller",
    "restore_path",
    "with_label",
]

#: the label of every path no route has
UNMATCHED: Final = "/{unmatched}"
#: scope key of the path and raw path as sent, while the label stands in for them
ORIGINAL_PATH: Final = "recsys.original_path"
#: BentoML's own routes (probes, metrics, the OpenAPI document and its page)
BENTOML_PATHS: Final = frozenset(
    {"/livez", "/healthz", "/readyz", "/metrics", "/schema.json", "/docs.json", "/", "/docs"}
)
#: path prefixes whose routes take any file name -> their label
_FILE_ROUTES: Final = {
    "/pages/static/": "/pages/static/{name}",
    "/static_content/": "/static_content/{path}",
}
_log = logging.getLogger(__name__)


def labeller(paths: Collection[str]) -> Callable[[str], str]:
    """The label of a request path: itself for one of ``paths``, a file route's template,
    or :data:`UNMATCHED`."""
    known = frozenset(paths)

    def label(path: str) -> str:
        if path in known:
            return path
        for prefix, template in _FILE_ROUTES.items():
            if path.startswith(prefix):
                return template
        return UNMATCHED

    return label


def with_label(scope: Mapping[str, Any], label: str) -> dict[str, Any]:
    """A copy of ``scope`` whose path (and raw path) is ``label``, the originals kept."""
    original = (scope.get("path", ""), scope.get("raw_path"))
    return {**scope, "path": label, "raw_path": label.encode(), ORIGINAL_PATH: original}


def restore_path(scope: Mapping[str, Any]) -> Mapping[str, Any]:
    """``scope`` with the path as sent (a copy), where a label stood in for it."""
    if ORIGINAL_PATH not in scope:
        return scope
    out = {k: v for k, v in scope.items() if k != ORIGINAL_PATH}
    out["path"], raw = scope[ORIGINAL_PATH]
    if raw is None:
        out.pop("raw_path", None)
    else:
        out["raw_path"] = raw
    return out


def bound_endpoint_labels(paths: Collection[str]) -> bool:
    """Have BentoML's traffic metrics label requests by :func:`labeller` of ``paths``.

    Returns whether it could (``False``, with a warning, on a BentoML whose middleware has
    moved: its metrics then label by path again). Applying it twice changes nothing.
    """
    try:
        from bentoml._internal.server.http.instruments import RunnerTrafficMetricsMiddleware
    except ImportError:
        _log.warning("BentoML's traffic metrics middleware was not found: /metrics labels paths")
        return False
    cls: Any = RunnerTrafficMetricsMiddleware
    original = getattr(cls.__call__, "__wrapped_by_recsys__", cls.__call__)
    label = labeller(paths)

    async def __call__(self: Any, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") == "http" and ORIGINAL_PATH not in scope:
            path = scope.get("path", "")
            name = label(path)
            if name != path:
                scope = with_label(scope, name)
        await original(self, scope, receive, send)

    __call__.__wrapped_by_recsys__ = original  # type: ignore[attr-defined]
    cls.__call__ = __call__
    return True
