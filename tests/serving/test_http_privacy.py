"""Privacy over a real server: no card number in any answer or log line, erasure leaves no
byte of the member on disk, and a server that would be open or mismatched does not start."""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from recsys.cli import main
from recsys.columns import Columns
from recsys.datasets import synthetic_retail
from recsys.privacy import Pseudonymizer
from recsys.recommender import Recommender
from recsys.serving.local import LocalServer

pytestmark = pytest.mark.http

CARD = "4929123412341234"
OTHER_CARD = "5555444433332222"
KEY = "privacy-test-pseudonym-key-0123456789"
API = "privacy-test-api-key"
AUTH = {"Authorization": f"Bearer {API}"}


def _encodings(text: str) -> list[bytes]:
    # ids sit in .npz files as UTF-32 arrays, in SQLite as UTF-8, maybe UTF-16 elsewhere
    return [text.encode(e) for e in ("utf-8", "utf-16-le", "utf-32-le")]


def _files_holding(root: Path, *texts: str) -> list[str]:
    needles = [n for t in texts for n in _encodings(t)]
    return sorted(
        str(f.relative_to(root))
        for f in root.rglob("*")
        if f.is_file() and any(n in f.read_bytes() for n in needles)
    )


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A model trained on pseudonyms, with a member whose id is a card number."""
    root = tmp_path_factory.mktemp("privacy")
    data = synthetic_retail(n_users=300, n_items=200, n_stores=3, seed=0)
    member = str(data.interactions[Columns.USER].iloc[0])
    rename = {Columns.USER: {member: CARD}}
    data = dataclasses.replace(
        data,
        interactions=data.interactions.replace(rename),
        profiles=data.profiles.replace(rename),
    )
    p = Pseudonymizer(KEY)
    data = dataclasses.replace(
        data,
        interactions=p.pseudonymize_frame(data.interactions),
        profiles=p.pseudonymize_frame(data.profiles),
    )
    model = root / "pristine"
    Recommender(model="als", factors=8, iterations=3).fit(data).save(model)
    p.write_marker(model)
    return model, str(data.stores[Columns.STORE].iloc[0])


@pytest.fixture()
def served(chain: tuple[Path, str], tmp_path: Path) -> Iterator[tuple[LocalServer, Path]]:
    pristine, _ = chain
    run = tmp_path / "run"
    shutil.copytree(pristine, run / "model")
    env = {
        "RECSYS_API_KEY": API,
        "RECSYS_PSEUDONYM_KEY": KEY,
        "BENTOML_HOME": str(tmp_path / "bentoml"),
        "BENTOML_DO_NOT_TRACK": "True",
    }
    server = LocalServer(run / "model", env=env, log_path=run / "server.log").start()
    yield server, run
    server.stop()


def test_no_card_number_in_any_answer_or_log_line(
    served: tuple[LocalServer, Path], chain: tuple[Path, str]
) -> None:
    server, run = served
    store = chain[1]
    body = json.dumps({"member_id": CARD, "k": 2})
    event = {"user_id": CARD, "item_id": "sku1", "kind": "view", "value": 30}
    json_type = {"Content-Type": "application/json"}
    gold = {"tier": "gold"}
    multipart = {"Content-Type": "multipart/form-data; boundary=x"}
    form = f'--x\r\nContent-Disposition: form-data; name="member_id"\r\n\r\n{CARD}\r\n--x--\r\n'
    cases: list[tuple[str, str | bytes, dict[str, str]]] = [
        ("/recommend", body, {}),  # no content type
        ("/recommend", body, {"Content-Type": "text/plain"}),
        ("/recommend", form, multipart),
        ("/recommend", f'{{"member_id": "{CARD}", ', json_type),  # cut short
        ("/recommend", json.dumps({"member_id": int(CARD)}), json_type),
        ("/recommend", json.dumps({"member_id": CARD, CARD: 1}), json_type),
        ("/recommend", json.dumps({"member_id": CARD, "k": CARD}), json_type),
        ("/recommend", json.dumps({"member_id": CARD, "profile": {"age_band": CARD}}), json_type),
        ("/recommend", json.dumps([CARD]), json_type),
        ("/recommend", "x" * 9_000_000 + CARD, json_type),  # oversized
        ("/recommend_batch", json.dumps({"member_ids": [CARD, int(OTHER_CARD)]}), json_type),
        ("/recommend_batch", json.dumps({"member_ids": [CARD] * 1001}), json_type),
        ("/events", json.dumps({"events": [{**event, "item_id": "sku-nope"}]}), json_type),
        ("/events", json.dumps({"events": [{**event, "user_id": int(CARD)}]}), json_type),
        ("/events", json.dumps({"events": [{**event, "value": -1, "event_id": CARD}]}), json_type),
        ("/events", json.dumps({"events": [event], "profiles": {CARD: {"tier": [1]}}}), json_type),
        ("/events", json.dumps({"events": [{**event, "event_id": f"{CARD}-1"}]}), json_type),
        (
            "/events",
            json.dumps({"events": [event], "profiles": {CARD: gold}}),
            json_type,
        ),
        ("/forget", json.dumps({"member_id": int(CARD)}), json_type),
        ("/audience", json.dumps({"item_id": "sku1", "k": 5, "store_id": store}), json_type),
        (f"/member/{CARD}", "{}", json_type),  # no such route: its path in the access log
        (f"/recommend/{OTHER_CARD}/", body, json_type),
    ]
    with httpx.Client(base_url=server.url, timeout=60) as client:
        statuses = []
        for route, content, headers in cases:
            resp = client.post(route, content=content, headers={**headers, **AUTH})
            statuses.append(resp.status_code)
            assert CARD not in resp.text and OTHER_CARD not in resp.text, (route, resp.text)
            assert resp.status_code < 500, (route, resp.text)
            if resp.status_code >= 400:
                assert set(resp.json()) == {"error", "detail"}, resp.text
    assert statuses[:3] == [200, 400, 400] and 413 in statuses
    assert _files_holding(run, CARD, OTHER_CARD) == []  # the log, the model, the server log
    alias = Pseudonymizer(KEY).pseudonymize(CARD)
    assert _files_holding(run, f"{CARD}-1") == []  # event ids are pseudonymized too
    assert _files_holding(run / "model", alias)  # the member is in the model, as a pseudonym


def test_forget_leaves_no_byte_of_the_member_and_survives_a_restart(
    served: tuple[LocalServer, Path], chain: tuple[Path, str]
) -> None:
    server, run = served
    store = chain[1]
    alias = Pseudonymizer(KEY).pseudonymize(CARD)
    event = {"user_id": CARD, "item_id": "sku3", "kind": "purchase", "event_id": "till-1"}
    with httpx.Client(base_url=server.url, timeout=60, headers=AUTH) as client:
        resp = client.post(
            "/events", json={"events": [event], "profiles": {CARD: {"tier": "gold"}}}
        )
        assert resp.status_code == 200, resp.text
        other = {"user_id": "walk-in", "item_id": "sku4", "kind": "view"}
        assert client.post("/events", json={"events": [other]}).status_code == 200
        assert _files_holding(run, alias)  # in the log and the model before the erasure
        top = client.post("/recommend", json={"member_id": CARD, "k": 1}).json()["items"][0]
        audience = {"item_id": top["item_id"], "k": 1000, "exclude_purchased": False}
        members = [
            m["member_id"] for m in client.post("/audience", json=audience).json()["members"]
        ]
        assert alias in members  # /audience answers pseudonyms
        resp = client.post("/optout", json={"member_id": CARD})
        assert resp.status_code == 200 and resp.json()["known"] is True, resp.text
        members = [
            m["member_id"] for m in client.post("/audience", json=audience).json()["members"]
        ]
        assert alias not in members  # consent withdrawn: never in an audience
        resp = client.post("/forget", json={"member_id": CARD})
        assert resp.status_code == 200, resp.text
        assert resp.json()["forgotten"] is True
        again = client.post("/forget", json={"member_id": CARD}).json()
        assert again["forgotten"] is False
        time.sleep(0.2)  # shelves shown before the erasure are flushed by now (and dropped)
    assert _files_holding(run, CARD, alias) == []
    server.kill()  # kill -9: what is on disk is all there is

    # a model trained before the erasure is served again: the erasure is re-applied
    shutil.rmtree(run / "model")
    shutil.copytree(chain[0], run / "model")
    assert _files_holding(run / "model", alias)
    restarted = LocalServer(run / "model", env=server.env, log_path=run / "server2.log").start()
    try:
        with httpx.Client(base_url=restarted.url, timeout=60, headers=AUTH) as client:
            ok = client.post("/recommend", json={"member_id": "walk-in", "k": 3})
            assert ok.status_code == 200
            assert _files_holding(run, CARD, alias) == []
            # a later visit is new activity: the member is unknown, and that shelf is logged
            shelf = client.post("/recommend", json={"member_id": CARD, "store_id": store, "k": 5})
            assert all("popular" in i["reason"] for i in shelf.json()["items"])
    finally:
        restarted.stop()
    assert _files_holding(run, alias) == ["model.events.sqlite"]


def _start_fails(model: Path, env: dict[str, str], host: str, log: Path) -> str:
    server = LocalServer(model, env=env, host=host, log_path=log)
    with pytest.raises(RuntimeError, match="exited"):  # stops: no restart loop
        server.start(timeout=60)
    return log.read_text(errors="replace")


def test_an_open_bind_without_a_key_and_a_mismatched_model_are_refused(
    chain: tuple[Path, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = chain[0]
    base = {"BENTOML_HOME": str(tmp_path / "bentoml"), "BENTOML_DO_NOT_TRACK": "True"}
    open_env = {**base, "RECSYS_PSEUDONYM_KEY": KEY, "RECSYS_API_KEY": ""}
    log = _start_fails(model, open_env, "0.0.0.0", tmp_path / "open.log")
    assert "refusing to serve on 0.0.0.0 without an API key" in log
    # the operator opts in: it starts
    allowed = {**open_env, "RECSYS_ALLOW_OPEN": "1"}
    LocalServer(model, env=allowed, host="0.0.0.0", log_path=tmp_path / "ok.log").start().stop()
    # the CLI says so before starting anything
    monkeypatch.delenv("RECSYS_API_KEY", raising=False)
    monkeypatch.delenv("RECSYS_ALLOW_OPEN", raising=False)
    assert main(["serve", str(model), "--host", "0.0.0.0"]) != 0
    assert "refusing to serve on 0.0.0.0" in capsys.readouterr().err
    # a model of pseudonyms served without the key, and one of raw ids served with it
    log = _start_fails(model, {**base, "RECSYS_PSEUDONYM_KEY": ""}, "127.0.0.1", tmp_path / "a.log")
    assert "set RECSYS_PSEUDONYM_KEY" in log
    raw = tmp_path / "raw"
    data = synthetic_retail(n_users=100, n_items=50, n_stores=2, seed=1)
    Recommender(model="als", factors=4, iterations=2).fit(data).save(raw)
    log = _start_fails(raw, {**base, "RECSYS_PSEUDONYM_KEY": KEY}, "127.0.0.1", tmp_path / "b.log")
    assert "trained on raw member ids" in log
