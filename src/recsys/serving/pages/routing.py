"""Page requests, before any route sees them: the member id in a page's address goes no further.

A page's address carries the member id in its query (``/screen?store_id=s3&member_id=u42``).
The page reads it in the browser (``location.search``); the server needs none of it. So
:func:`inbound`, called by the gatekeeper first, checks the query of a page request, keeps
only the verdict (a message naming parameters, never their values) and hands on a scope
whose query string is empty: the routes, the pages app and every log written behind the
gatekeeper never see it. (BentoML's access log, outside the gatekeeper, writes the path
only.)

Examples
--------
>>> scope = {"type": "http", "method": "GET", "path": "/screen",
...          "query_string": b"store_id=s3&member_id=u42"}
>>> routed = inbound(scope)
>>> routed["path"], routed["query_string"], routed[PROBLEM_KEY]
('/screen', b'', None)
>>> inbound({**scope, "query_string": b"store_id=s3"})[PROBLEM_KEY]
"this page needs '?store_id=…&member_id=…' in its address: member_id is missing"
>>> is_open(routed), is_open({**routed, "method": "POST"})
(True, False)
>>> inbound({"type": "http", "method": "POST", "path": "/recommend", "query_string": b""})
{'type': 'http', 'method': 'POST', 'path': '/recommend', 'query_string': b''}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qsl

__all__ = [
    "MAX_PARAM_CHARS",
    "PAGES",
    "PARAMS",
    "PROBLEM_KEY",
    "STATIC",
    "inbound",
    "is_open",
    "page_problem",
]

#: page path -> page name (its HTML is ``static/<name>.html`` in this package)
PAGES: Final[Mapping[str, str]] = {"/screen": "screen", "/assistant": "assistant"}
#: where the pages' scripts and style sheet are served
STATIC: Final = "/pages/static/"
#: the query parameters every page needs, in the order the message names them
PARAMS: Final = ("store_id", "member_id")
#: longest accepted parameter value (the API's limit on ids)
MAX_PARAM_CHARS: Final = 256
#: scope key of a routed page request: ``None`` (a good address) or what is wrong with it
PROBLEM_KEY: Final = "recsys.page_problem"
_READ_ONLY: Final = frozenset({"GET", "HEAD"})


def page_problem(query: bytes) -> str | None:
    """What is wrong with a page's query string, or ``None`` when it is good.

    The message names parameters, never their values (a member id is personal data).

    Parameters
    ----------
    query : bytes
        The raw query string (``scope["query_string"]``).

    Returns
    -------
    str or None

    Examples
    --------
    >>> page_problem(b"store_id=s3&member_id=u42") is None
    True
    >>> page_problem(b"member_id=u42&member_id=u43&store_id=s3")
    'member_id is given more than once'
    >>> page_problem(b"store_id=s3&member_id=u42&k=3")
    'this page reads only store_id and member_id: remove the other parameters'
    """
    try:
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        return "the address' parameters are not UTF-8"
    names = [name for name, _ in pairs]
    if any(name not in PARAMS for name in names):
        return f"this page reads only {' and '.join(PARAMS)}: remove the other parameters"
    for name in PARAMS:
        if names.count(name) > 1:
            return f"{name} is given more than once"
    values = dict(pairs)
    missing = [name for name in PARAMS if not values.get(name, "").strip()]
    if missing:
        wanted = "&".join(f"{name}=…" for name in PARAMS)
        verb = "is" if len(missing) == 1 else "are"
        return f"this page needs '?{wanted}' in its address: {' and '.join(missing)} {verb} missing"
    for name in PARAMS:
        if len(values[name]) > MAX_PARAM_CHARS:
            return f"{name} is longer than {MAX_PARAM_CHARS} characters"
    return None


def inbound(scope: Mapping[str, Any]) -> Mapping[str, Any]:
    """The scope to hand on: a page request without its query string.

    A page request (a path of :data:`PAGES`) gets :data:`PROBLEM_KEY`, the
    :func:`page_problem` of its query; a request of a static file loses its query too.
    Other requests are returned as they are.
    """
    path = scope.get("path", "")
    if path in PAGES:
        problem = page_problem(scope.get("query_string", b""))
        return {**scope, "query_string": b"", PROBLEM_KEY: problem}
    if path.startswith(STATIC):
        return {**scope, "query_string": b""}
    return scope


def is_open(scope: Mapping[str, Any]) -> bool:
    """Whether a request may be served without the API key: reading a page or one of its
    static files (they hold no data; the page sends the key on every API call)."""
    path = scope.get("path", "")
    return scope.get("method") in _READ_ONLY and (path in PAGES or path.startswith(STATIC))
