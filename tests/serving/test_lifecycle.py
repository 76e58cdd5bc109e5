"""``recsys serve`` as an operator runs it: SIGTERM stops every process, a bad start exits."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
import pytest

from recsys.serving.local import free_port

if TYPE_CHECKING:
    from conftest import TrainedModel

pytestmark = pytest.mark.http


def _serve(model: Path, port: int, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "RECSYS_EVENT_LOG": str(tmp_path / "events.sqlite"),
        "RECSYS_API_KEY": "",
        "RECSYS_PSEUDONYM_KEY": "",
        "BENTOML_HOME": str(tmp_path / "bentoml"),
        "BENTOML_DO_NOT_TRACK": "True",
    }
    cmd = [sys.executable, "-c", "from recsys.cli import main; raise SystemExit(main())"]
    return subprocess.Popen(
        [*cmd, "serve", str(model), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _ready(port: int, timeout: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def test_sigterm_to_recsys_serve_stops_every_process_and_frees_the_port(
    trained: TrainedModel, tmp_path: Path
) -> None:
    port = free_port()
    cli = _serve(trained.path, port, tmp_path)
    try:
        assert _ready(port), cli.stderr.read().decode() if cli.poll() is not None else "not ready"
        tree = [psutil.Process(cli.pid), *psutil.Process(cli.pid).children(recursive=True)]
        assert len(tree) >= 3  # the CLI, bentoml's arbiter, its workers
        started = time.monotonic()
        cli.send_signal(signal.SIGTERM)
        _, alive = psutil.wait_procs(tree, timeout=10)
        assert not alive, [p.cmdline()[:4] for p in alive]
        assert time.monotonic() - started < 10
        listening = [c for c in psutil.net_connections("tcp") if c.laddr and c.laddr.port == port]
        assert not [c for c in listening if c.status == psutil.CONN_LISTEN]
    finally:
        for proc in psutil.Process(os.getpid()).children(recursive=True):
            proc.kill()


def _half(file: Path) -> None:
    os.truncate(file, file.stat().st_size // 2)


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (lambda m, log: (m / "manifest.json").write_text("{not json"),
         "manifest.json is not valid JSON"),
        (lambda m, log: _half(m / "model.npz"), "model.npz cannot be read (BadZipFile"),
        (lambda m, log: _half(m / "ids.npz"), "ids.npz cannot be read"),
        (lambda m, log: log.write_bytes(b"not a database " * 500), "cannot be opened"),
    ],
)  # fmt: skip
def test_a_bad_model_or_log_makes_recsys_serve_exit_non_zero_with_one_line(
    trained: TrainedModel, tmp_path: Path, damage: Any, said: str
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(trained.path, broken)
    damage(broken, tmp_path / "events.sqlite")  # the log _serve gives the service
    started = time.monotonic()
    cli = _serve(broken, free_port(), tmp_path)
    try:
        out, err = cli.communicate(timeout=60)
    finally:
        if cli.poll() is None:
            cli.kill()
    assert time.monotonic() - started < 15
    assert cli.returncode != 0
    lines = err.decode().strip().splitlines()
    assert lines[-1].startswith("recsys serve: error: the service could not start:"), lines
    assert said in lines[-1], lines
    # the workers' tracebacks are held back: the reason is what the operator reads
    assert len(lines) <= 2 and b"Traceback" not in out + err, (out[-2000:], lines)


def test_a_worker_imports_neither_lightgbm_nor_scipy_stats_until_it_needs_them() -> None:
    """Every worker imports the service at start-up: LightGBM (with scikit-learn) and
    scipy.stats took over two of its four seconds; a model without a ranker, and a service
    nobody asked for an experiment report, never need them."""
    code = (
        "import sys, recsys.serving.service, recsys.cli; "
        "print(sorted(m for m in ('lightgbm', 'sklearn', 'scipy.stats') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]", out.stdout
