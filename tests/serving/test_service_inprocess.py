"""The service without a server: the class called directly, and its ASGI app in-process."""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from starlette.responses import JSONResponse, Response

from recsys.exceptions import PayloadTooLargeError, UnknownIdError
from recsys.serving.gatekeeper import error_response
from recsys.serving.runtime import RecsysRuntime
from recsys.serving.schemas import (
    EventsRequest,
    RecommendRequest,
    RecommendResponse,
    SimilarRequest,
)
from recsys.serving.service import RecsysService
from recsys.serving.settings import ServiceSettings

with warnings.catch_warnings():  # starlette nags about httpx vs httpx2; irrelevant here
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

if TYPE_CHECKING:
    from conftest import TrainedModel


@pytest.fixture()
def service_env(trained: TrainedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RECSYS_MODEL_DIR", str(trained.path))
    monkeypatch.setenv("RECSYS_EVENT_LOG", str(tmp_path / "events.sqlite"))
    monkeypatch.delenv("RECSYS_API_KEY", raising=False)
    monkeypatch.delenv("RECSYS_PSEUDONYM_KEY", raising=False)
    return tmp_path / "events.sqlite"


@pytest.fixture()
def service(service_env: Path) -> Iterator[RecsysService]:
    svc = RecsysService()
    yield svc
    svc.runtime.close()


def test_error_response_shape() -> None:
    resp = error_response(UnknownIdError("store", ["s9"], known=3))
    assert resp.status_code == 404
    assert json.loads(resp.body) == {
        "error": "UnknownIdError",
        "detail": "unknown store 's9' (known: 3 stores)",
    }
    assert error_response(PayloadTooLargeError("too many")).status_code == 413


def _shelf(answer: object) -> RecommendResponse:
    """A ``/recommend`` answer (serialized by the route itself), read as its schema."""
    assert not isinstance(answer, JSONResponse), answer  # an error answer
    assert isinstance(answer, Response) and answer.status_code == 200
    return RecommendResponse.model_validate_json(bytes(answer.body))


def test_call_the_class(service: RecsysService, trained: TrainedModel) -> None:
    out = _shelf(
        asyncio.run(
            service.recommend(
                RecommendRequest(member_id=trained.member, store_id=trained.store, k=4)
            )
        )
    )
    assert len(out.items) == 4 and out.model_version
    similar = asyncio.run(service.similar(SimilarRequest(item_id=trained.item, k=3)))
    assert len(similar.items) == 3
    err = asyncio.run(
        service.recommend(RecommendRequest(member_id=trained.member, store_id="s-nope"))
    )
    assert isinstance(err, JSONResponse) and err.status_code == 404
    top = out.items[0].item_id
    request = EventsRequest.model_validate(
        {"events": [{"user_id": trained.member, "item_id": top, "kind": "purchase"}]}
    )
    ack = service.events(request)
    assert ack.accepted == 1
    again = _shelf(
        asyncio.run(
            service.recommend(RecommendRequest(member_id=trained.member, store_id=trained.store))
        )
    )
    assert top not in {i.item_id for i in again.items}


def test_restart_replays_the_log(service_env: Path, trained: TrainedModel) -> None:
    first = RecsysService()
    shelf = _shelf(asyncio.run(first.recommend(RecommendRequest(member_id="walk-in", k=5))))
    first.events(
        EventsRequest.model_validate(
            {"events": [{"user_id": "walk-in", "item_id": trained.item, "kind": "cart"}] * 3}
        )
    )
    changed = _shelf(asyncio.run(first.recommend(RecommendRequest(member_id="walk-in", k=5))))
    first.runtime.close()  # no save: the model on disk knows nothing of these events
    second = RecsysService()
    assert second.runtime.replayed == 3
    again = _shelf(asyncio.run(second.recommend(RecommendRequest(member_id="walk-in", k=5))))
    assert again.items == changed.items
    assert changed.items != shelf.items
    assert again.shelf_id != changed.shelf_id  # every answer is its own shown shelf
    second.runtime.close()


def test_asgi_app_auth_body_limit_and_quiet_logs(
    service_env: Path,
    trained: TrainedModel,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One app per process (BentoML registers its metrics globally): every gate in one go."""
    monkeypatch.setenv("RECSYS_API_KEY", "k-123")
    monkeypatch.setenv("RECSYS_MAX_BODY_BYTES", "2000")
    with TestClient(RecsysService.to_asgi()) as client:
        body = {"member_id": trained.member}
        assert client.post("/recommend", json=body).status_code == 401
        ok = client.post("/recommend", json=body, headers={"Authorization": "Bearer k-123"})
        assert ok.status_code == 200, ok.text
        assert client.get("/readyz").status_code == 200
        big = client.post(
            "/recommend",
            json={"member_id": "x" * 5000},
            headers={"Authorization": "Bearer k-123"},
        )
        assert big.status_code == 413 and big.json()["error"] == "PayloadTooLargeError"
        # a card number sent as a number fails validation; the log must not quote it
        card = 4929123412341234
        with caplog.at_level("INFO"):
            bad = client.post(
                "/recommend", json={"member_id": card}, headers={"Authorization": "Bearer k-123"}
            )
        assert bad.status_code == 422 and str(card) not in bad.text
        assert str(card) not in caplog.text
        assert "invalid request, 1 validation error(s) at member_id" in caplog.text
        assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_a_second_worker_sees_events_logged_by_the_first(
    service_env: Path, trained: TrainedModel
) -> None:
    """Two workers = two runtimes on one log: B's next shelf reflects what A acknowledged."""
    settings = ServiceSettings.from_env()
    a, b = RecsysRuntime(settings), RecsysRuntime(settings)
    try:
        shelf = b.recommend(trained.member, 5, store_id=trained.store)
        bought = [r.item_id for r in shelf[:2]]
        events = [{"user_id": trained.member, "item_id": sku, "kind": "purchase"} for sku in bought]
        assert a.ingest(events).accepted == 2
        after = b.recommend(trained.member, 5, store_id=trained.store)
        assert not {r.item_id for r in after} & set(bought)
        assert b.applied_seq == a.applied_seq == 2
        assert b.refresh() == 0  # nothing new: one PRAGMA, no catch-up
    finally:
        a.close()
        b.close()


_COUNT_SPANS = """
import warnings
from bentoml._internal.configuration.containers import BentoMLContainer
from recsys.serving.service import RecsysService
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient
with TestClient(RecsysService.to_asgi()) as client:
    for body in ({"member_id": "u1", "k": 3}, {"member_id": "u2", "k": 3}):
        assert client.post("/recommend", json=body).status_code == 200
provider = BentoMLContainer.tracer_provider.get()
provider.force_flush()
[processor] = provider._active_span_processor._span_processors
print(len(processor.span_exporter.get_finished_spans()))
"""


@pytest.mark.parametrize(("tracing", "traced"), [(None, False), ("1", True)])
def test_requests_are_traced_only_when_asked(
    service_env: Path, tracing: str | None, traced: bool
) -> None:
    """BentoML's tracing middleware hands requests on untraced unless ``RECSYS_TRACING``
    asks for spans: then BentoML's own tracing configuration (an exporter) takes effect."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "RECSYS_TRACING"}
    env["BENTOML_HOME"] = str(service_env.parent / "bentoml")
    # what a tracing set-up in BentoML's configuration does (an exporter, every request)
    env["BENTOML_CONFIG_OPTIONS"] = " ".join(
        f"services.recsys.tracing.{option}"
        for option in ("exporter_type=in_memory", "sample_rate=1.0")
    )
    if tracing is not None:
        env["RECSYS_TRACING"] = tracing
    out = subprocess.run(
        [sys.executable, "-c", _COUNT_SPANS], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    spans = int(out.stdout.strip().splitlines()[-1])
    assert (spans > 0) == traced, spans
