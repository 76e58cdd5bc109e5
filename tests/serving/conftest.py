"""Fixtures of the serving tests: a small saved model and a real ``bentoml serve`` process.

The model is trained once per session; the shared server is started once per session
(other modules start their own only when they must crash or reconfigure one).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

pytest.importorskip("bentoml")

from recsys.columns import Columns
from recsys.datasets import RetailData, synthetic_retail
from recsys.privacy import Pseudonymizer
from recsys.recommender import Recommender
from recsys.serving.local import LocalServer

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

PSEUDONYM_KEY = "test-pseudonym-key-0123456789abcdef"
API_KEY = "test-api-key-s3cr3t"


@dataclass(frozen=True)
class TrainedModel:
    """A saved model and a few ids to call it with."""

    path: Path
    data: RetailData
    member: str  # a member with history
    store: str
    item: str  # a SKU stocked in ``store``


def _train(path: Path, pseudonymizer: Pseudonymizer | None = None) -> TrainedModel:
    data = synthetic_retail(n_users=300, n_items=200, n_stores=3, items_per_store=(80, 120), seed=0)
    raw_member = str(data.interactions[Columns.USER].iloc[0])
    fit_data = data
    if pseudonymizer is not None:
        from dataclasses import replace

        fit_data = replace(
            data,
            interactions=pseudonymizer.pseudonymize_frame(data.interactions),
            profiles=pseudonymizer.pseudonymize_frame(data.profiles),
        )
    rec = Recommender(model="hybrid", factors=16, iterations=5, seed=0).fit(fit_data)
    rec.save(path)
    if pseudonymizer is not None:
        pseudonymizer.write_marker(path)
    store = str(data.stores[Columns.STORE].iloc[0])
    item = str(data.stores.loc[data.stores[Columns.STORE] == store, Columns.ITEM].iloc[0])
    return TrainedModel(path=path, data=data, member=raw_member, store=store, item=item)


#: builds a test server's environment: (run folder, event log, api_key="") -> variables
ServerEnv = Callable[..., dict[str, str]]


@pytest.fixture(scope="session")
def server_env() -> ServerEnv:
    """A test server's environment: its own event log and BentoML home, no API key unless
    given, no pseudonyms."""

    def make(run: Path, log: Path, api_key: str = "") -> dict[str, str]:
        return {
            "RECSYS_EVENT_LOG": str(log),
            "RECSYS_API_KEY": api_key,
            "RECSYS_PSEUDONYM_KEY": "",
            "BENTOML_HOME": str(run / "bentoml"),
            "BENTOML_DO_NOT_TRACK": "True",
        }

    return make


@pytest.fixture(scope="session")
def api_key() -> str:
    return API_KEY


@pytest.fixture(scope="session")
def pseudonym_key() -> str:
    return PSEUDONYM_KEY


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainedModel:
    """A small hybrid model on raw member ids."""
    return _train(tmp_path_factory.mktemp("model") / "shelf")


@pytest.fixture(scope="session")
def trained_pseudonymized(tmp_path_factory: pytest.TempPathFactory) -> TrainedModel:
    """The same model trained on pseudonyms of ``PSEUDONYM_KEY`` (``member`` stays raw)."""
    return _train(tmp_path_factory.mktemp("model_pseudo") / "shelf", Pseudonymizer(PSEUDONYM_KEY))


@pytest.fixture(scope="session")
def server(
    trained: TrainedModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalServer]:
    """A real ``bentoml serve`` on 127.0.0.1, open (no API key), for the route tests."""
    run = tmp_path_factory.mktemp("server")
    env = {
        "RECSYS_EVENT_LOG": str(run / "events.sqlite"),
        "BENTOML_HOME": str(run / "bentoml"),
        "BENTOML_DO_NOT_TRACK": "True",
        "RECSYS_API_KEY": "",
        "RECSYS_PSEUDONYM_KEY": "",
    }
    srv = LocalServer(trained.path, env=env, log_path=run / "server.log").start()
    yield srv
    srv.stop()


@pytest.fixture()
def client(server: LocalServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c
