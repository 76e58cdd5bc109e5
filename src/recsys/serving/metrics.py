"""The service's own Prometheus metrics, beside BentoML's on ``/metrics``.

``recsys_shelf_seconds`` (route): time to compute an answer, without HTTP;
``recsys_fallback_shelves_total`` (route, fallback): shelves that were not personal;
``recsys_event_log_lag``: log rows this worker has not applied yet;
``recsys_model_info`` (model_version, worker): 1 for the version each worker serves.

Shelves are timed on ``/recommend``, ``/recommend_batch``, ``/similar``, ``/audience`` and
``/member``.

The metrics are created in the worker (after BentoML has set ``PROMETHEUS_MULTIPROC_DIR``),
so every worker's values reach the one ``/metrics`` answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["ServiceMetrics"]

_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ServiceMetrics:
    """The four metrics above, registered once per worker process."""

    _made: dict[str, Any] | None = None

    def __init__(self) -> None:
        if ServiceMetrics._made is None:
            import prometheus_client as prom

            ServiceMetrics._made = {
                "shelf": prom.Histogram(
                    "recsys_shelf_seconds",
                    "Time to compute an answer, without HTTP",
                    ["route"],
                    buckets=_BUCKETS,
                ),
                "fallback": prom.Counter(
                    "recsys_fallback_shelves",
                    "Shelves that were not personal, by what they fell back to",
                    ["route", "fallback"],
                ),
                "lag": prom.Gauge(
                    "recsys_event_log_lag",
                    "Event-log rows this worker has not applied",
                    multiprocess_mode="livemax",
                ),
                "model": prom.Gauge(
                    "recsys_model_info",
                    "1 for the model version a worker serves",
                    ["model_version", "worker"],
                    multiprocess_mode="livemax",
                ),
            }
        self._m = ServiceMetrics._made
        self._version: str | None = None
        self._worker = _worker_label()

    @contextmanager
    def timed(self, route: str) -> Iterator[None]:
        """Time the block as one answer of ``route``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self._m["shelf"].labels(route=route).observe(time.perf_counter() - started)

    def fallback(self, route: str, kind: str | None) -> None:
        if kind is not None:
            self._m["fallback"].labels(route=route, fallback=kind).inc()

    def serving(self, model_version: str, lag: int) -> None:
        """Record the version served and the log lag, after a read."""
        self.version(model_version)
        self._m["lag"].set(lag)

    def version(self, model_version: str) -> None:
        """Record the version this worker serves (a comparison when it has not changed)."""
        if model_version != self._version:
            model = self._m["model"]
            if self._version is not None:
                model.labels(model_version=self._version, worker=self._worker).set(0)
            model.labels(model_version=model_version, worker=self._worker).set(1)
            self._version = model_version


def _worker_label() -> str:
    """BentoML's index of this worker (1, 2, ...), or the process id outside a server."""
    import os

    from bentoml import server_context

    index = server_context.worker_index
    return str(index) if index is not None else f"pid{os.getpid()}"
