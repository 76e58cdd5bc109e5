"""Experiments and the analytics routes over a real server with two variant models."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from recsys.columns import Columns
from recsys.exceptions import InvalidInputError
from recsys.recommender import Recommender
from recsys.serving.experiments import read_experiment
from recsys.serving.local import LocalServer

from .conftest import ServerEnv, TrainedModel

pytestmark = pytest.mark.http


@pytest.fixture(scope="module")
def ab(
    trained: TrainedModel, tmp_path_factory: pytest.TempPathFactory, server_env: ServerEnv
) -> Iterator[tuple[LocalServer, TrainedModel]]:
    root = tmp_path_factory.mktemp("experiment")
    shutil.copytree(trained.path, root / "control")
    als = Recommender(model="als", factors=8, iterations=3).fit(trained.data)
    als.save(root / "als")
    (root / "experiment.json").write_text(
        json.dumps(
            {
                "name": "spring-shelf",
                "variants": [
                    {"name": "control"},
                    {"name": "als", "model_dir": "als", "rules": {"max_per_category": 1}},
                ],
            }
        )
    )
    env = {
        **server_env(root, root / "events.sqlite"),
        "RECSYS_EXPERIMENT": str(root / "experiment.json"),
    }
    server = LocalServer(root / "control", env=env, log_path=root / "server.log").start()
    yield server, trained
    server.stop()


def test_members_stay_in_their_variant_and_get_its_model(
    ab: tuple[LocalServer, TrainedModel],
) -> None:
    server, trained = ab
    members = sorted(set(trained.data.interactions[Columns.USER].astype(str)))[:60]
    with httpx.Client(base_url=server.url, timeout=30) as c:
        first = {m: c.post("/recommend", json={"member_id": m, "k": 5}).json() for m in members}
        again = {m: c.post("/recommend", json={"member_id": m, "k": 5}).json() for m in members}
        batch = c.post("/recommend_batch", json={"member_ids": members, "k": 5}).json()
    variants = {m: a["variant"] for m, a in first.items()}
    assert set(variants.values()) == {"control", "als"}
    assert variants == {m: a["variant"] for m, a in again.items()}  # sticky
    assert variants == {r["member_id"]: r["variant"] for r in batch["results"]}
    versions = {v: {a["model_version"] for a in first.values() if a["variant"] == v}
                for v in ("control", "als")}  # fmt: skip
    assert len(versions["control"]) == len(versions["als"]) == 1
    assert versions["control"] != versions["als"]
    # a batch says which model answered each member, as each single shelf does
    assert {r["member_id"]: r["model_version"] for r in batch["results"]} == {
        m: a["model_version"] for m, a in first.items()
    }
    # the als variant's rule holds: one SKU per category
    category = trained.data.catalog.set_index(Columns.ITEM)["category"]
    for a in first.values():
        if a["variant"] == "als":
            cats = [category[i["item_id"]] for i in a["items"]]
            assert len(cats) == len(set(cats))


def test_attribution_and_experiment_comparison(ab: tuple[LocalServer, TrainedModel]) -> None:
    server, trained = ab
    members = sorted(set(trained.data.interactions[Columns.USER].astype(str)))[60:100]
    with httpx.Client(base_url=server.url, timeout=30) as c:
        shown = {m: c.post("/recommend", json={"member_id": m, "k": 3}).json() for m in members}
        buyers = members[:6]
        purchases = [
            {"user_id": m, "item_id": shown[m]["items"][0]["item_id"], "kind": "purchase"}
            for m in buyers
        ]
        assert c.post("/events", json={"events": purchases}).status_code == 200
        time.sleep(0.2)  # the shown shelves reach the log within 50 ms
        answer = c.post("/analytics/attribution", json={"by": ["variant"]})
        assert answer.status_code == 200, answer.text
        rows = {r["variant"]: r for r in answer.json()["rows"]}
        bought_by = {v: sum(shown[m]["variant"] == v for m in buyers) for v in ("control", "als")}
        for v, n in bought_by.items():
            if n:
                assert rows[v]["purchases"] >= n
        assert sum(r["purchases"] for r in rows.values()) == len(buyers)
        compared = c.post("/analytics/experiments", json={"control": "control"}).json()
        assert compared["experiment"] == "spring-shelf"
        by_variant = {v["variant"]: v for v in compared["variants"]}
        assert set(by_variant) == {"control", "als"}
        assert sum(v["converted"] for v in by_variant.values()) == len(buyers)
        assert by_variant["control"]["lift"] == 0.0
        retention = c.post("/analytics/retention", json={"period": "week"}).json()
        assert retention["members"] >= len(buyers)
        assert retention["totals"][-1]["active"] >= len(buyers)
        # a store of the chain nobody bought in yet (these purchases name none): no members
        quiet = c.post("/analytics/retention", json={"store_id": trained.store})
        assert quiet.status_code == 200, quiet.text
        assert quiet.json()["members"] == 0 and quiet.json()["store_id"] == trained.store
        for route in ("/analytics/retention", "/analytics/attribution"):  # both alike
            nowhere = c.post(route, json={"store_id": "s-nope"})
            assert nowhere.status_code == 404 and nowhere.json()["error"] == "UnknownIdError"
        quiet = c.post("/analytics/attribution", json={"store_id": trained.store})
        assert quiet.status_code == 200 and quiet.json()["rows"] == []
        # a segment must be a profile tag the model holds, as `recsys report` says
        wrong = c.post("/analytics/retention", json={"segment": "nosuch"})
        assert wrong.status_code == 422, wrong.text
        [error] = wrong.json()["detail"]
        assert error["loc"] == ["segment"] and "the tags are ['age_band'" in error["msg"]
        by_age = c.post("/analytics/retention", json={"segment": "age_band"})
        assert by_age.status_code == 200 and by_age.json()["by_segment"]
        for route, bad in (
            ("/analytics/retention", {"period": "day"}),
            ("/analytics/retention", {"start": "yesterday"}),
            ("/analytics/attribution", {"window_days": 0}),
            ("/analytics/attribution", {"by": ["member"]}),
            ("/analytics/experiments", {"control": "zzz"}),
            ("/analytics/attribution", {"start": "0000"}),  # year 0: found by schemathesis
            ("/analytics/attribution", {"start": "notadate"}),
            ("/analytics/experiments", {"end": "someday"}),
            # an end before the start, alike on the three (two answered 200 with nothing)
            *((r, {"end": "2026-01-01", "start": "2026-02-01"}) for r in _ANALYTICS),
            ("/admin/reload", {"model_dir": "mo\u0000del"}),  # a null byte: the same
        ):
            refused = c.post(route, json=bad)
            assert refused.status_code == 422, (route, bad, refused.text)
            assert set(refused.json()) == {"error", "detail"}
            if route.startswith("/analytics") and bad != {"control": "zzz"}:
                # the field is named, as on every other route
                field = "end" if "end" in bad else next(iter(bad))
                assert isinstance(refused.json()["detail"], list), refused.text
                assert field in refused.json()["detail"][0]["loc"], refused.text


_ANALYTICS = ("/analytics/retention", "/analytics/attribution", "/analytics/experiments")


def test_a_bad_experiment_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    for doc, match in (
        ("{", "cannot read"),
        ('{"name": "x", "variants": [{"model_dir": "m"}]}', r"variants\[0\] needs a 'name'"),
        ('{"name": "x", "variants": [{"name": "a"}, {"name": "a"}]}', "unique"),
        ('{"name": "x", "variants": [{"name": "a", "color": 1}]}', "unknown field"),
        ('{"variants": []}', "'name'"),
    ):
        path.write_text(doc)
        with pytest.raises(InvalidInputError, match=match):
            read_experiment(path)
