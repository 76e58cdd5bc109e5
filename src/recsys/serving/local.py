"""``bentoml serve`` of the service in a subprocess on loopback, for tests, benchmarks, the demo."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psutil

from recsys.serving.settings import ENV_MODEL_DIR

__all__ = ["LocalServer", "free_port"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalServer:
    """``bentoml serve`` of :class:`RecsysService` in a subprocess on a loopback port.

    For tests, benchmarks and notebooks: start, wait for ``/readyz``, stop (or crash it with
    ``kill()``). The process gets its own session, so :meth:`kill` takes down BentoML's
    worker processes too.

    Parameters
    ----------
    model_dir : str or Path
        Saved recommender to serve (``RECSYS_MODEL_DIR``).
    port : int, optional
        Defaults to a free port.
    host : str, default "127.0.0.1"
    env : dict, optional
        Extra environment variables (``RECSYS_API_KEY``, ``RECSYS_EVENT_LOG``...).
    log_path : str or Path, optional
        File receiving the server's stdout and stderr (default: discarded).

    Examples
    --------
    >>> with LocalServer("demo_model") as server:  # doctest: +SKIP
    ...     httpx.post(f"{server.url}/recommend", json={"member_id": "u1"}).json()
    """

    def __init__(
        self,
        model_dir: str | Path,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        env: Mapping[str, str] | None = None,
        log_path: str | Path | None = None,
    ) -> None:
        self.model_dir = Path(model_dir).resolve()
        self.host = host
        self.port = port or free_port(host)
        self.env = dict(env or {})
        self.log_path = Path(log_path) if log_path else None
        self.process: Any = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 90.0) -> LocalServer:
        """Start the server and wait until ``/readyz`` answers 200."""
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", ENV_MODEL_DIR: str(self.model_dir)}
        env.update(self.env)
        cmd = [
            sys.executable,
            "-m",
            "bentoml",
            "serve",
            "recsys.serving.service:RecsysService",
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(
                cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        finally:
            if self.log_path:
                out.close()  # type: ignore[union-attr]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"bentoml serve exited with {self.process.returncode} before it was ready"
                    + self._log_tail()
                )
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"server not ready after {timeout:.0f} s" + self._log_tail())

    def _log_tail(self, n: int = 4000) -> str:
        if self.log_path and self.log_path.exists():
            return "\n--- server log (tail) ---\n" + self.log_path.read_text(errors="replace")[-n:]
        return ""

    def _signal(self, sig: int) -> None:
        """Signal the server and every process it started, then wait for all of them.

        BentoML's workers run in sessions of their own, so a process-group signal alone
        would leave them orphaned (still holding the port and the event log): the tree is
        collected first, and whatever outlives the signal is killed.
        """
        if self.process is None or self.process.poll() is not None:
            return
        try:
            tree = [psutil.Process(self.process.pid)]
            tree += tree[0].children(recursive=True)
        except psutil.NoSuchProcess:
            tree = []
        for proc in reversed(tree) if sig == signal.SIGKILL else tree[:1]:
            try:
                proc.send_signal(sig)
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(tree, timeout=30)
        for proc in alive:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(alive, timeout=10)
        self.process.wait(timeout=10)

    def kill(self) -> None:
        """Crash the server: SIGKILL to it and all its workers at once (no clean shutdown)."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """Stop the server cleanly (SIGTERM; workers left after 30 s are killed)."""
        self._signal(signal.SIGTERM)

    def __enter__(self) -> LocalServer:
        return self.start() if self.process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()
