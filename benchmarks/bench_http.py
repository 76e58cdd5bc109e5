"""HTTP load benchmark: a live ``bentoml serve`` on loopback, driven by concurrent clients.

Measures ``POST /recommend`` with a store filter: requests per second, p50/p95/p99 latency
and errors, next to the same calls in-process (``Recommender.recommend``), the time from
``POST /events`` being acknowledged to ``/recommend`` reflecting the event, and from
``POST /catalog`` of a new SKU to a shelf holding it. Writes
``benchmarks/results/http.json`` (``http-quick.json`` in quick mode) and prints a table.

Two load shapes on the same server: *closed loop* (16 connections, each sending its next
request when the last returns: the saturation throughput) and *open loop* at a fixed 300
requests per second over up to 16 connections (the latency a screen sees at that load,
measured from each request's due time). Full: 20 s each. ``RECSYS_BENCH_QUICK=1``: 4
connections, 3 s, 100 req/s, on a smaller chain (what ``make test`` runs). The load
generator (aiohttp) runs on the same machine, so it takes CPU from the server: the numbers
are a floor. Only loopback addresses are used.

Run standalone with ``python -m benchmarks.bench_http`` or under pytest
(``pytest benchmarks/bench_http.py``).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

RESULTS = Path(__file__).resolve().parent / "results"
HOST = "127.0.0.1"


@dataclass(frozen=True)
class BenchConfig:
    """Load shape and data size of one run."""

    quick: bool
    connections: int
    seconds: float
    n_users: int
    n_items: int
    n_stores: int
    rate: float = 300.0
    k: int = 10
    event_trials: int = 50

    @classmethod
    def from_env(cls) -> BenchConfig:
        if os.environ.get("RECSYS_BENCH_QUICK", "") not in ("", "0"):
            return cls(True, 4, 3.0, 1000, 500, 5, rate=100.0, event_trials=10)
        return cls(False, 16, 20.0, 5000, 2000, 20)


def _percentiles(latencies_s: list[float]) -> dict[str, float]:
    if not latencies_s:
        return {"p50_ms": float("nan"), "p95_ms": float("nan"), "p99_ms": float("nan")}
    ms = np.asarray(latencies_s) * 1000.0
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {
        "p50_ms": float(p50),
        "p95_ms": float(p95),
        "p99_ms": float(p99),
        "mean_ms": float(ms.mean()),
    }


def _requests(members: list[str], stores: list[str], k: int, n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [
        {"member_id": rng.choice(members), "store_id": rng.choice(stores), "k": k} for _ in range(n)
    ]


async def _load(url: str, bodies: list[dict], connections: int, seconds: float) -> dict[str, Any]:
    """Closed loop: every connection sends its next request as soon as the last one returns."""
    import aiohttp

    latencies: list[float] = []
    errors: dict[str, int] = {}
    async with aiohttp.ClientSession(
        url, connector=aiohttp.TCPConnector(limit=connections)
    ) as client:
        await _warm_up(client, bodies, connections)
        start = time.perf_counter()
        deadline = start + seconds

        async def worker(offset: int) -> None:
            i = offset
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                await _post(client, bodies[i % len(bodies)], errors)
                latencies.append(time.perf_counter() - t0)
                i += connections

        await asyncio.gather(*(worker(c) for c in range(connections)))
        elapsed = time.perf_counter() - start
    return _summary("closed loop", connections, elapsed, latencies, errors)


async def _paced(
    url: str,
    bodies: list[dict],
    rate: float,
    connections: int,
    seconds: float,
    warm_up: float = 1.0,
) -> dict[str, Any]:
    """Open loop at a fixed rate: request ``i`` is due at ``start + i / rate``.

    Latency runs from the due time, not the send time, so a stalled server is charged for
    the requests that queued behind it (no coordinated omission). The first ``warm_up``
    seconds run at the same rate and are not counted: every connection is opened then, and
    each worker has answered a few requests.
    """
    import aiohttp

    latencies: list[float] = []
    errors: dict[str, int] = {}
    warm = int(rate * warm_up)
    total = warm + int(rate * seconds)
    async with aiohttp.ClientSession(
        url, connector=aiohttp.TCPConnector(limit=connections)
    ) as client:
        await _warm_up(client, bodies, connections)
        start = time.perf_counter()
        counter = iter(range(total))

        async def worker() -> None:
            for i in counter:
                due = start + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                await _post(client, bodies[i % len(bodies)], errors if i >= warm else {})
                if i >= warm:
                    latencies.append(time.perf_counter() - due)

        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - start - warm_up
    out = _summary(f"open loop at {rate:.0f} req/s", connections, elapsed, latencies, errors)
    out["target_rps"] = rate
    return out


_POST_BULK = """
import json, sys, time, urllib.request
url, paths = sys.argv[1], sys.argv[2:]
took = []
for path in paths:
    body = open(path, "rb").read()
    time.sleep(1.0)
    request = urllib.request.Request(
        url + "/events", data=body, headers={"content-type": "application/json"}
    )
    t0 = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as resp:
        resp.read()
    took.append(time.perf_counter() - t0)
print(json.dumps(took))
"""


async def _paced_under_bulk(
    url: str, bodies: list[dict], rate: float, connections: int, seconds: float, bulk: list[dict]
) -> dict[str, Any]:
    """:func:`_paced` while three ``POST /events`` of ``bulk`` events land, a second apart:
    what big event batches cost the shelves served meanwhile.

    The batches are posted by a process of their own, encoded up front: sending a megabyte
    from a thread of the load generator would take its GIL from the paced requests and
    charge the server for the client's own delay.
    """
    with tempfile.TemporaryDirectory(prefix="recsys-bench-bulk-") as tmp:
        paths = []
        for n in range(3):
            events = [{**e, "event_id": f"bulk-{n}-{i}"} for i, e in enumerate(bulk)]
            path = Path(tmp) / f"bulk-{n}.json"
            path.write_text(json.dumps({"events": events}))
            paths.append(str(path))
        poster = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _POST_BULK, url, *paths, stdout=asyncio.subprocess.PIPE
        )
        paced, (out, _) = await asyncio.gather(
            _paced(url, bodies, rate, connections, seconds), poster.communicate()
        )
    if poster.returncode != 0:
        raise RuntimeError(f"posting the event batches failed (exit {poster.returncode})")
    paced["mode"] = f"open loop at {rate:.0f} req/s, 3 x {len(bulk):,} events posted"
    paced["bulk_post_seconds"] = json.loads(out)
    return paced


async def _warm_up(client: Any, bodies: list[dict], connections: int) -> None:
    await asyncio.gather(*(_post(client, b, {}) for b in bodies[:connections]))


async def _post(client: Any, body: dict, errors: dict[str, int]) -> None:
    import aiohttp

    try:
        async with client.post("/recommend", json=body) as resp:
            await resp.read()
            if resp.status != 200:
                errors[str(resp.status)] = errors.get(str(resp.status), 0) + 1
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1


def _summary(
    mode: str, connections: int, elapsed: float, latencies: list[float], errors: dict[str, int]
) -> dict[str, Any]:
    return {
        "mode": mode,
        "connections": connections,
        "seconds": round(elapsed, 3),
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "errors": sum(errors.values()),
        "errors_by_kind": errors,
        **_percentiles(latencies),
    }


def _in_process(model_dir: Path, bodies: list[dict], n: int) -> dict[str, Any]:
    from recsys.recommender import Recommender

    rec = Recommender.load(model_dir)
    for body in bodies[:20]:
        rec.recommend(body["member_id"], k=body["k"], store_id=body["store_id"])
    latencies = []
    for body in bodies[:n]:
        t0 = time.perf_counter()
        rec.recommend(body["member_id"], k=body["k"], store_id=body["store_id"])
        latencies.append(time.perf_counter() - t0)
    return {"calls": len(latencies), **_percentiles(latencies)}


def _event_to_shelf(
    url: str, members: list[str], stores: list[str], k: int, trials: int
) -> dict[str, Any]:
    """POST a purchase of the member's top item; time until /recommend no longer shows it."""
    import httpx

    ack_s, visible_s, total_s, reflected_first = [], [], [], 0
    rng = random.Random(1)
    with httpx.Client(base_url=url, timeout=30.0) as client:
        for trial in range(trials):
            body = {"member_id": rng.choice(members), "store_id": rng.choice(stores), "k": k}
            items = client.post("/recommend", json=body).json()["items"]
            if not items:
                continue
            top = items[0]["item_id"]
            event = {
                "user_id": body["member_id"],
                "item_id": top,
                "kind": "purchase",
                "store_id": body["store_id"],
                "event_id": f"bench-{time.time_ns()}-{trial}",
            }
            t0 = time.perf_counter()
            resp = client.post("/events", json={"events": [event]})
            t1 = time.perf_counter()
            if resp.status_code != 200:
                continue
            polls = 0
            while True:
                polls += 1
                shelf = client.post("/recommend", json=body).json()["items"]
                if top not in {i["item_id"] for i in shelf} or polls >= 100:
                    break
            t2 = time.perf_counter()
            reflected_first += polls == 1
            ack_s.append(t1 - t0)
            visible_s.append(t2 - t1)
            total_s.append(t2 - t0)
    return {
        "trials": len(total_s),
        "reflected_on_first_read": reflected_first,
        "ack": _percentiles(ack_s),
        "ack_to_visible": _percentiles(visible_s),
        "post_to_visible": _percentiles(total_s),
    }


def _sku_to_shelf(url: str, members: list[str], stores: list[str], k: int, trials: int) -> dict:
    """POST /catalog a new SKU stocked in a store; time until /recommend shows it (pinned)."""
    import httpx

    ack_s, total_s, first = [], [], 0
    rng = random.Random(2)
    with httpx.Client(base_url=url, timeout=30.0) as client:
        for trial in range(trials):
            store, sku = rng.choice(stores), f"sku-bench-{time.time_ns()}-{trial}"
            item = {"item_id": sku, "category": "jackets", "price": 99.0, "season": "all"}
            body = {"member_id": rng.choice(members), "store_id": store, "k": k,
                    "rules": {"pin": {sku: 0}}}  # fmt: skip
            t0 = time.perf_counter()
            resp = client.post("/catalog", json={"items": [item], "stores": {store: [sku]}})
            t1 = time.perf_counter()
            if resp.status_code != 200:
                continue
            shelf = client.post("/recommend", json=body).json()["items"]
            t2 = time.perf_counter()
            first += bool(shelf) and shelf[0]["item_id"] == sku
            ack_s.append(t1 - t0)
            total_s.append(t2 - t0)
    return {
        "trials": len(total_s),
        "on_first_shelf": first,
        "ack": _percentiles(ack_s),
        "post_to_shelf": _percentiles(total_s),
    }


class _EmptyEndpoint:
    """:mod:`benchmarks.empty_service` (BentoML with no model) served beside recsys:
    ``traced`` keeps BentoML's default tracing middleware, else configured as recsys is."""

    def __init__(self, workers: int, traced: bool = True) -> None:
        import subprocess
        import sys

        from recsys.serving.local import free_port

        port = free_port(HOST)
        root = Path(__file__).resolve().parent.parent
        env = {
            **os.environ,
            "BENTOML_DO_NOT_TRACK": "True",
            "EMPTY_WORKERS": str(workers),
            "EMPTY_TRACED": "1" if traced else "0",
        }
        self.url = f"http://{HOST}:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bentoml", "serve", "benchmarks.empty_service:EmptyService",
             "--host", HOST, "--port", str(port)],
            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def __enter__(self) -> _EmptyEndpoint:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.__exit__()
                raise RuntimeError("the empty BentoML service did not start")
            time.sleep(0.2)

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def _against_empty(
    url: str, empty_urls: list[str], bodies: list[dict], connections: int, seconds: float
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Closed loops on recsys and on each empty endpoint, alternated twice (the machine's
    noise then hits them alike); the better run of each."""
    ours: list[dict[str, Any]] = []
    empty: list[list[dict[str, Any]]] = [[] for _ in empty_urls]
    for _ in range(2):
        ours.append(asyncio.run(_load(url, bodies, connections, seconds)))
        for runs, empty_url in zip(empty, empty_urls, strict=True):
            runs.append(asyncio.run(_load(empty_url, bodies, connections, seconds)))
    best = max(ours, key=lambda r: r["rps"])
    return best, [max(runs, key=lambda r: r["rps"]) for runs in empty]


def run(config: BenchConfig | None = None, out: Path | None = None) -> dict[str, Any]:
    """Train, save, serve, load-test; returns (and writes) the results."""
    from recsys.columns import Columns
    from recsys.datasets import synthetic_retail
    from recsys.recommender import Recommender
    from recsys.serving.local import LocalServer

    config = config or BenchConfig.from_env()
    with tempfile.TemporaryDirectory(prefix="recsys-bench-http-") as tmp:
        root = Path(tmp)
        per_store = (min(400, config.n_items // 2), min(500, config.n_items))
        data = synthetic_retail(
            n_users=config.n_users,
            n_items=config.n_items,
            n_stores=config.n_stores,
            items_per_store=per_store,
            seed=0,
        )
        rec = Recommender(model="hybrid", factors=64, seed=0).fit(data)
        model_dir = rec.save(root / "model")
        members = sorted(set(data.interactions[Columns.USER].astype(str)))
        stores = sorted(set(data.stores[Columns.STORE].astype(str)))
        bodies = _requests(members, stores, config.k, 20_000, seed=0)
        env = {
            "RECSYS_EVENT_LOG": str(root / "events.sqlite"),
            "RECSYS_API_KEY": "",
            "RECSYS_PSEUDONYM_KEY": "",
            "BENTOML_HOME": str(root / "bentoml"),
            "BENTOML_DO_NOT_TRACK": "True",
        }
        in_process = _in_process(model_dir, bodies, 2000 if not config.quick else 300)
        from recsys.settings import read_settings

        workers = read_settings().workers
        with (
            LocalServer(model_dir, host=HOST, env=env, log_path=root / "server.log") as server,
            _EmptyEndpoint(workers) as bare,
            _EmptyEndpoint(workers, traced=False) as untraced,
        ):
            http, (empty, empty_untraced) = _against_empty(
                server.url, [bare.url, untraced.url], bodies, config.connections, config.seconds
            )
            paced = asyncio.run(
                _paced(server.url, bodies, config.rate, config.connections, config.seconds)
            )
            items = sorted(set(data.catalog[Columns.ITEM].astype(str)))
            bulk = [
                {"user_id": members[i % len(members)], "item_id": items[i % len(items)],
                 "kind": "view", "value": 30.0}
                for i in range(10_000)
            ]  # fmt: skip
            under_bulk = asyncio.run(
                _paced_under_bulk(
                    server.url,
                    bodies,
                    config.rate,
                    config.connections,
                    max(config.seconds, 5),
                    bulk,
                )
            )
            events = _event_to_shelf(server.url, members, stores, config.k, config.event_trials)
            catalog = _sku_to_shelf(server.url, members, stores, config.k, config.event_trials)
    result = {
        "benchmark": "http_recommend_store_filter",
        "mode": "quick" if config.quick else "full",
        "data": {
            "members": config.n_users,
            "skus": config.n_items,
            "stores": config.n_stores,
            "model": "hybrid",
            "factors": 64,
            "k": config.k,
        },
        "server": {
            "host": HOST,
            "workers": workers,
            "threads": int(os.environ.get("RECSYS_THREADS", 4)),
        },
        "http": http,
        "http_empty_bentoml": empty,
        "throughput_vs_empty_bentoml": http["rps"] / empty["rps"] if empty["rps"] else None,
        "http_empty_untraced": empty_untraced,
        "throughput_vs_empty_untraced": (
            http["rps"] / empty_untraced["rps"] if empty_untraced["rps"] else None
        ),
        "http_paced": paced,
        "http_paced_under_bulk_events": under_bulk,
        "in_process": in_process,
        "event_to_recommend": events,
        "catalog_to_recommend": catalog,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
    }
    if out is None:
        out = RESULTS / ("http-quick.json" if config.quick else "http.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(format_table(result))
    print(f"wrote {out}")
    return result


def format_table(result: dict[str, Any]) -> str:
    """A readable table of one run."""
    h, p, e = result["http"], result["in_process"], result["event_to_recommend"]
    c = result["catalog_to_recommend"]
    paced = result["http_paced"]
    bulk = result["http_paced_under_bulk_events"]
    rows = [
        (
            f"HTTP /recommend at {paced['target_rps']:.0f} req/s",
            f"{paced['rps']:.0f}",
            paced["p50_ms"],
            paced["p95_ms"],
            paced["p99_ms"],
            f"{paced['errors']}",
        ),
        (
            "  ... while 3 x 10,000 events are posted",
            f"{bulk['rps']:.0f}",
            bulk["p50_ms"],
            bulk["p95_ms"],
            bulk["p99_ms"],
            f"{bulk['errors']}",
        ),
        (
            "HTTP /recommend, as fast as it goes",
            f"{h['rps']:.0f}",
            h["p50_ms"],
            h["p95_ms"],
            h["p99_ms"],
            f"{h['errors']}",
        ),
        (
            "empty BentoML endpoint, as fast as it goes",
            f"{result['http_empty_bentoml']['rps']:.0f}",
            result["http_empty_bentoml"]["p50_ms"],
            result["http_empty_bentoml"]["p95_ms"],
            result["http_empty_bentoml"]["p99_ms"],
            f"{result['http_empty_bentoml']['errors']}",
        ),
        (
            "  ... configured as recsys (untraced)",
            f"{result['http_empty_untraced']['rps']:.0f}",
            result["http_empty_untraced"]["p50_ms"],
            result["http_empty_untraced"]["p95_ms"],
            result["http_empty_untraced"]["p99_ms"],
            f"{result['http_empty_untraced']['errors']}",
        ),
        (
            "in-process Recommender.recommend",
            f"{1000 / p['mean_ms']:.0f}",
            p["p50_ms"],
            p["p95_ms"],
            p["p99_ms"],
            "-",
        ),
        (
            "POST /events acknowledged",
            "-",
            e["ack"]["p50_ms"],
            e["ack"]["p95_ms"],
            e["ack"]["p99_ms"],
            "-",
        ),
        (
            "event ack -> /recommend reflects it",
            "-",
            e["ack_to_visible"]["p50_ms"],
            e["ack_to_visible"]["p95_ms"],
            e["ack_to_visible"]["p99_ms"],
            "-",
        ),
        (
            "POST /catalog -> SKU on a shelf",
            "-",
            c["post_to_shelf"]["p50_ms"],
            c["post_to_shelf"]["p95_ms"],
            c["post_to_shelf"]["p99_ms"],
            "-",
        ),
    ]
    head = f"{'':38} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}"
    lines = [
        f"HTTP benchmark ({result['mode']}): {h['connections']} connections x {h['seconds']:.0f} s,"
        f" {h['requests']} requests",
        head,
        "-" * len(head),
    ]
    for name, rps, p50, p95, p99, err in rows:
        lines.append(f"{name:38} {rps:>8} {p50:8.2f} {p95:8.2f} {p99:8.2f} {err:>7}")
    lines.append(
        f"recsys /recommend throughput / empty BentoML endpoint: "
        f"{result['throughput_vs_empty_bentoml']:.2f} (BentoML's defaults), "
        f"{result['throughput_vs_empty_untraced']:.2f} (untraced, as recsys serves)"
    )
    lines.append(
        f"events reflected on the first read after the ack: "
        f"{e['reflected_on_first_read']}/{e['trials']}"
    )
    return "\n".join(lines)


# ------------------------------------------------------------------------------- pytest
try:
    import pytest
except ImportError:  # pragma: no cover - standalone without pytest
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.mark.http
    def test_http_load(benchmark: Any) -> None:
        """Runs the load test once (timed as one round); asserts health, not speed."""
        pytest.importorskip("bentoml")
        result = benchmark.pedantic(run, rounds=1, iterations=1)
        benchmark.extra_info.update(
            {k: result["http"][k] for k in ("rps", "p50_ms", "p95_ms", "p99_ms", "errors")}
        )
        benchmark.extra_info["paced"] = {
            k: result["http_paced"][k] for k in ("rps", "p50_ms", "p95_ms", "p99_ms", "errors")
        }
        assert result["http"]["requests"] > 0
        assert result["http"]["errors"] == 0 and result["http_paced"]["errors"] == 0
        bulk = result["http_paced_under_bulk_events"]
        assert bulk["errors"] == 0 and len(bulk["bulk_post_seconds"]) == 3
        benchmark.extra_info["under_bulk_p99_ms"] = bulk["p99_ms"]
        events = result["event_to_recommend"]
        assert events["trials"] > 0
        assert events["reflected_on_first_read"] == events["trials"]
        catalog = result["catalog_to_recommend"]
        assert catalog["trials"] > 0 and catalog["on_first_shelf"] == catalog["trials"]
        benchmark.extra_info["catalog_to_shelf_p50_ms"] = catalog["post_to_shelf"]["p50_ms"]


if __name__ == "__main__":
    run()
