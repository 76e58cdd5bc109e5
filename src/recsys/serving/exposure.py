"""Safe by default: a service reachable from other machines needs an API key.

:func:`check_exposure` refuses a non-loopback bind address without ``RECSYS_API_KEY``
unless ``RECSYS_ALLOW_OPEN=1`` says the operator means it (a private network, a proxy
that authenticates). ``recsys serve`` checks its ``--host`` before starting; each
``bentoml serve`` worker checks the socket it was handed (:func:`worker_host`), so
``bentoml serve`` with its default ``0.0.0.0`` and no key does not start either.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys

from recsys.exceptions import ArtifactError

__all__ = ["OpenBindError", "check_exposure", "is_loopback", "worker_host"]


class OpenBindError(ArtifactError):
    """The service would listen beyond this machine with no API key."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) is reachable from this machine only."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_exposure(host: str, api_key: str | None, allow_open: bool) -> None:
    """Raise :class:`OpenBindError` for a non-loopback ``host`` without an ``api_key``."""
    if api_key or allow_open or is_loopback(host):
        return
    raise OpenBindError(
        f"refusing to serve on {host} without an API key: anyone on the network could read "
        "shelves and write events. Set RECSYS_API_KEY (clients send 'Authorization: Bearer "
        "<key>'), bind to 127.0.0.1, or set RECSYS_ALLOW_OPEN=1 if the network in front "
        "already authenticates"
    )


def worker_host(argv: list[str] | None = None) -> str | None:
    """The address of the listening socket a ``bentoml serve`` worker was given
    (``--fd N`` on its command line), or ``None`` outside such a worker."""
    args = sys.argv if argv is None else argv
    if "--fd" not in args or args.index("--fd") + 1 >= len(args):
        return None
    try:
        fd = int(args[args.index("--fd") + 1])
        with socket.socket(fileno=os.dup(fd)) as sock:
            name = sock.getsockname()
    except (ValueError, OSError):
        return None
    return str(name[0]) if isinstance(name, tuple) else None
