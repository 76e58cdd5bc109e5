"""schemathesis over the service's own OpenAPI: generated requests, with and without the
API key, never get a 5xx or an answer the document does not describe."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from recsys.serving.local import LocalServer

if TYPE_CHECKING:
    from conftest import ServerEnv, TrainedModel

pytestmark = pytest.mark.http

KEY = "fuzz-api-key-0123456789"
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance"


def _schemathesis() -> str:
    found = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
    if not Path(found).exists():
        pytest.skip("schemathesis is not installed (pip install 'recsys[dev]')")
    return found


def test_generated_requests_get_no_5xx_and_match_the_openapi(
    trained: TrainedModel, tmp_path: Path, server_env: ServerEnv
) -> None:
    tool = _schemathesis()
    env = server_env(tmp_path, tmp_path / "events.sqlite", api_key=KEY)
    model = tmp_path / "shelf"  # generated /forget and /catalog calls rewrite the model
    shutil.copytree(trained.path, model)
    server = LocalServer(model, env=env, log_path=tmp_path / "server.log").start()
    try:
        spec = tmp_path / "openapi.json"  # the document needs the key; requests may lack it
        auth = {"Authorization": f"Bearer {KEY}"}
        spec.write_text(httpx.get(f"{server.url}/docs.json", headers=auth, timeout=30).text)
        for headers in (["-H", f"Authorization: Bearer {KEY}"], []):
            run = subprocess.run(
                [tool, "run", str(spec), "--url", server.url, "--checks", CHECKS,
                 "--max-examples", "25", "--seed", "7", "--phases", "examples,fuzzing",
                 *headers],
                capture_output=True, text=True, timeout=600,
            )  # fmt: skip
            summary = run.stdout[-6000:]
            assert run.returncode == 0, summary
            assert " passed" in summary and "failed" not in summary.split("Test cases:")[-1]
    finally:
        server.stop()
