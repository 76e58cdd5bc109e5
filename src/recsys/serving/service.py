"""The BentoML service: one class, seven POST routes, BentoML's probes, metrics and docs.

See :mod:`recsys.serving` for the routes, the error answers and the environment variables.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import inspect
import logging
import os
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import bentoml
import pydantic_core
from pydantic import BaseModel
from starlette.responses import Response

from recsys.exceptions import ArtifactError, InvalidInputError, RecsysError, one_line_warnings
from recsys.privacy import mask_digits
from recsys.recommender import Recommendation
from recsys.recommender.persistence import ARTIFACT_FILES
from recsys.serving.analytics import attribution_of, experiment_of, retention_of
from recsys.serving.analytics_schemas import (
    AttributionRequest,
    AttributionResponse,
    ExperimentRequest,
    ExperimentResponse,
    RetentionRequest,
    RetentionResponse,
)
from recsys.serving.endpoints import BENTOML_PATHS, bound_endpoint_labels
from recsys.serving.experiments import Experiment, merged_rules
from recsys.serving.exposure import check_exposure, worker_host
from recsys.serving.gatekeeper import (
    Gatekeeper,
    QuietAccessLog,
    QuietClientErrors,
    error_response,
)
from recsys.serving.metrics import ServiceMetrics
from recsys.serving.pages import pages_app
from recsys.serving.pages.routing import PAGES
from recsys.serving.runtime import RecsysRuntime
from recsys.serving.schemas import (
    AudienceRequest,
    AudienceResponse,
    BatchRequest,
    BatchResponse,
    CatalogRequest,
    CatalogResponse,
    EventsRequest,
    EventsResponse,
    ForgetRequest,
    ForgetResponse,
    MemberRequest,
    MemberResponse,
    OptOutRequest,
    OptOutResponse,
    RecommendRequest,
    RecommendResponse,
    ReloadRequest,
    ReloadResponse,
    SimilarRequest,
    SimilarResponse,
    StockRequest,
    StockResponse,
)
from recsys.serving.settings import ServiceSettings
from recsys.settings import read_settings

__all__ = ["RecsysService", "save_to_model_store"]

logger = logging.getLogger("recsys.serving")

_Req = TypeVar("_Req", bound=BaseModel)
_SWITCH_INTERVAL = 0.0005  # seconds


def _json_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a RecsysError raised by a route (sync or async) into its 4xx JSON answer."""
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_route(self: Any, request: _Req, /) -> Any:
            try:
                return await func(self, request)
            except RecsysError as exc:
                return error_response(exc)

        return async_route

    @functools.wraps(func)
    def route(self: Any, request: _Req, /) -> Any:
        try:
            return func(self, request)
        except RecsysError as exc:
            return error_response(exc)

    return route


def _unexpected(exc: BaseException) -> str:
    """One line for a start-up failure no check foresaw (card numbers masked)."""
    return mask_digits(f"unexpected {type(exc).__name__}: {exc}")


def _report_failure(message: str) -> None:
    """Tell ``recsys serve`` why this worker could not start (``RECSYS_FAILURE_FILE``)."""
    try:
        path = read_settings().failure_file
    except RecsysError:
        return
    if path is not None:
        with contextlib.suppress(OSError):
            path.write_text(message + "\n")


def _json(body: dict[str, Any]) -> Response:
    """An answer serialized straight from plain values, by pydantic's own serializer (NaN
    and infinities as ``null``, as the response models would give): building the models
    first costs about as much as the shelf itself (the hot path)."""
    content = pydantic_core.to_json(body, inf_nan_mode="null")
    return Response(content, media_type="application/json")


def _items(runtime: RecsysRuntime, shelf: list[Recommendation]) -> list[dict[str, Any]]:
    """Shelf entries with what a page shows of each SKU (name, category, price)."""
    details = runtime.recommender.item_details([r.item_id for r in shelf])
    return [{**r.to_dict(), **d} for r, d in zip(shelf, details, strict=True)]


#: BentoML's OpenTelemetry middleware costs about a millisecond of CPU per request even when
#: it samples nothing (its default): as much as a shelf. Unless ``RECSYS_TRACING`` asks for
#: spans, every path is excluded from it, so it hands each request straight on.
_UNTRACED: dict[str, Any] = {} if read_settings().tracing else {"tracing": {"excluded_urls": ".*"}}


@bentoml.service(
    name="recsys",
    workers=read_settings().workers,
    threads=read_settings().threads,
    traffic={"timeout": 30},
    logging={"access": {"enabled": read_settings().access_log}},
    **_UNTRACED,
)
class RecsysService:
    """Personal shelves over HTTP: recommend, batch, similar SKUs, audiences, live events.

    Loads the model named by ``RECSYS_MODEL_DIR`` (or ``RECSYS_BENTO_MODEL``), opens the event
    log and replays what the model has not seen. See the module docstring for the routes,
    the error answers and the environment variables.
    """

    def __init__(self) -> None:
        host = worker_host()  # the socket bentoml handed this worker (None in-process)
        try:
            settings = ServiceSettings.from_env()
            if host is not None:
                check_exposure(host, settings.api_key, read_settings().allow_open)
            self.runtime = RecsysRuntime(settings)
            self.experiment = Experiment(self.runtime, read_settings().experiment)
            self.metrics = ServiceMetrics()
            self.metrics.version(self.runtime.model_version)
            self.runtime.on_swap = self.metrics.version  # a reload, even with no read after
            self._reads = 0
        except Exception as exc:  # a RecsysError names the input; anything else, its kind
            reason = str(exc) if isinstance(exc, RecsysError) else _unexpected(exc)
            logger.critical("recsys cannot start: %s", reason)
            _report_failure(reason)
            if host is not None:
                # a worker restarted on the same input fails the same way: stop the server
                # instead of restarting it once a second, never ready
                os.kill(os.getppid(), signal.SIGTERM)
            raise
        # the model's objects live as long as the worker: move them out of the collector's
        # reach, so a full collection during a request does not walk them (tail latency)
        gc.collect()
        gc.freeze()
        # a thread applying a big event batch holds the GIL for up to the switch interval
        # each time a shelf on the event loop asks for it (5 ms by default, several times
        # per shelf): a shorter interval keeps shelves fast while batches run
        sys.setswitchinterval(_SWITCH_INTERVAL)
        logger.info(
            "serving %r (model_version %s) from %s",
            self.runtime.recommender,
            self.runtime.model_version,
            self.runtime.settings.model_dir,
        )

    @bentoml.on_shutdown
    def _close(self) -> None:
        self.experiment.close()
        self.runtime.close()

    @bentoml.api(route="/recommend", output_spec=RecommendResponse)
    @_json_errors
    async def recommend(self, request: RecommendRequest, /) -> Response:
        """A member's shelf in a store: items with score and a reason to say out loud."""
        # async on purpose: a shelf takes well under a millisecond, less than the hop to a
        # worker thread would; batches, audiences and events (fsync) stay on threads
        route = self.experiment.route(request.member_id)
        runtime = route.runtime
        with self.metrics.timed("/recommend"):
            shelf = runtime.recommend(
                request.member_id,
                request.k,
                store_id=request.store_id,
                profile=request.profile,
                filters=request.filters.as_dict() if request.filters else None,
                exclude_purchased=request.exclude_purchased,
                rules=merged_rules(route.rules, request.rules.as_dict() if request.rules else None),
            )
        fallback = runtime.fallback_of(request.member_id, request.profile, request.store_id)
        self.metrics.fallback("/recommend", fallback)
        shelf_id = runtime.shown(request.member_id, request.store_id, shelf, route.variant)
        self._reads += 1
        if self._reads % 256 == 1:  # the version and the lag, now and then (a query)
            self.metrics.serving(self.runtime.model_version, self.runtime.lag())
        # RecommendResponse's fields, serialized without building it: every field comes typed
        # from the runtime (tests check answers against the OpenAPI)
        return _json(
            {
                "items": _items(runtime, shelf),
                "shelf_id": shelf_id,
                "variant": route.variant,
                "model_version": runtime.model_version,
                "fallback": fallback,
            }
        )

    @bentoml.api(route="/recommend_batch", output_spec=BatchResponse)
    @_json_errors
    def recommend_batch(self, request: BatchRequest, /) -> Response:
        """Shelves of many members, one list per member in request order."""
        self.runtime.check_batch(request.member_ids, request.k)
        store = request.store_id
        rules = request.rules.as_dict() if request.rules else None
        routes = [self.experiment.route(m) for m in request.member_ids]
        results: list[dict[str, Any]] = [{} for _ in request.member_ids]
        with self.metrics.timed("/recommend_batch"):
            for variant in dict.fromkeys(r.variant for r in routes):
                rows = [j for j, r in enumerate(routes) if r.variant == variant]
                route = routes[rows[0]]
                members = [request.member_ids[j] for j in rows]
                shelves = route.runtime.recommend_batch(
                    members,
                    request.k,
                    store_id=store,
                    filters=request.filters.as_dict() if request.filters else None,
                    exclude_purchased=request.exclude_purchased,
                    rules=merged_rules(route.rules, rules),
                )
                for j, m, shelf in zip(rows, members, shelves, strict=True):
                    fallback = route.runtime.fallback_of(m, None, store)
                    self.metrics.fallback("/recommend_batch", fallback)
                    results[j] = {
                        "member_id": m,
                        "items": _items(route.runtime, shelf),
                        "fallback": fallback,
                        "shelf_id": route.runtime.shown(m, store, shelf, variant),
                        "variant": variant,
                        "model_version": route.runtime.model_version,
                    }
        return _json({"results": results, "model_version": self.runtime.model_version})

    @bentoml.api(route="/similar", output_spec=SimilarResponse)
    @_json_errors
    async def similar(self, request: SimilarRequest, /) -> SimilarResponse:
        """SKUs most similar to a SKU, optionally only those stocked in a store."""
        with self.metrics.timed("/similar"):
            items = self.runtime.similar(
                request.item_id,
                request.k,
                store_id=request.store_id,
                filters=request.filters.as_dict() if request.filters else None,
            )
        return SimilarResponse.model_validate(
            {"items": _items(self.runtime, items), "model_version": self.runtime.model_version}
        )

    @bentoml.api(route="/audience", output_spec=AudienceResponse)
    @_json_errors
    def audience(self, request: AudienceRequest, /) -> AudienceResponse:
        """Members most likely to want a SKU (pseudonyms when pseudonymization is on)."""
        with self.metrics.timed("/audience"):
            members, seq = self.runtime.audience(
                request.item_id,
                request.k,
                store_id=request.store_id,
                exclude_purchased=request.exclude_purchased,
                min_score=request.min_score,
                caps=request.caps.model_dump() if request.caps else None,
                budgets=request.budgets,
                issue=request.issue,
            )
        return AudienceResponse.model_validate(
            {
                "members": [m.to_dict() for m in members],
                "model_version": self.runtime.model_version,
                "issued": len(members) if seq is not None else 0,
                "change_seq": seq,
            }
        )

    @bentoml.api(route="/member", output_spec=MemberResponse)
    @_json_errors
    def member(self, request: MemberRequest, /) -> MemberResponse:
        """What a shop assistant sees of a member: tags, today's events, a coupon to offer."""
        with self.metrics.timed("/member"):
            view = self.runtime.member_view(request.member_id, request.store_id)
        return MemberResponse.model_validate(view)

    @bentoml.api(route="/events", output_spec=EventsResponse)
    @_json_errors
    def events(self, request: EventsRequest, /) -> EventsResponse:
        """Record member events durably, then fold them in: the next shelf reflects them."""
        try:  # checked here, on a thread (BentoML parses the body on the event loop)
            result = self.runtime.ingest(request.records(), request.profiles)
        except InvalidInputError as exc:
            if exc.loc is not None:  # answered like pydantic's own errors, at body.events
                exc.loc = ("events", *exc.loc)
            raise
        self.experiment.follow()
        self.metrics.serving(self.runtime.model_version, self.runtime.lag())
        return EventsResponse(
            accepted=result.accepted, duplicates=result.duplicates, last_seq=result.last_seq
        )

    @bentoml.api(route="/catalog", output_spec=CatalogResponse)
    @_json_errors
    def catalog(self, request: CatalogRequest, /) -> CatalogResponse:
        """Add SKUs or change their attributes, durably, without retraining."""
        items = [item.model_dump(exclude_none=True, mode="json") for item in request.items]
        result = self.runtime.add_items(items, request.stores)
        self.experiment.follow()
        return CatalogResponse(
            applied=result.applied, added=result.added, change_seq=result.change_seq
        )

    @bentoml.api(route="/stock", output_spec=StockResponse)
    @_json_errors
    def stock(self, request: StockRequest, /) -> StockResponse:
        """Set a store's stock durably: a SKU at 0 is never shown there."""
        result = self.runtime.set_stock(request.store_id, request.stock)
        self.experiment.follow()
        return StockResponse(applied=result.applied, change_seq=result.change_seq)

    def __is_ready__(self) -> bool:
        """``/readyz``: ready while the event log can take writes (BentoML's hook)."""
        return self.runtime.ready()

    @bentoml.api(route="/admin/reload", output_spec=ReloadResponse)
    @_json_errors
    def reload(self, request: ReloadRequest, /) -> ReloadResponse:
        """Swap in a new model (every worker follows); answers never fail meanwhile."""
        path = Path(request.model_dir) if request.model_dir else None
        previous, version = self.runtime.reload(path)
        self.metrics.serving(version, self.runtime.lag())
        return ReloadResponse(previous=previous, model_version=version)

    @bentoml.api(route="/optout", output_spec=OptOutResponse)
    @_json_errors
    def optout(self, request: OptOutRequest, /) -> OptOutResponse:
        """Keep a member out of every audience, durably, on every worker."""
        result = self.runtime.opt_out(request.member_id)
        self.experiment.follow()
        return OptOutResponse(known=result.known, change_seq=result.change_seq)

    @bentoml.api(route="/analytics/attribution", output_spec=AttributionResponse)
    @_json_errors
    def attribution(self, request: AttributionRequest, /) -> AttributionResponse:
        """Shown shelves and the purchases attributed to them, by day, store, variant, model."""
        query = request.model_dump()
        return AttributionResponse.model_validate(attribution_of(self.runtime, **query))

    @bentoml.api(route="/analytics/experiments", output_spec=ExperimentResponse)
    @_json_errors
    def experiments(self, request: ExperimentRequest, /) -> ExperimentResponse:
        """The experiment's variants compared on attributed conversion (members)."""
        answer = experiment_of(self.runtime, self.experiment, **request.model_dump())
        return ExperimentResponse.model_validate(answer)

    @bentoml.api(route="/analytics/retention", output_spec=RetentionResponse)
    @_json_errors
    def retention(self, request: RetentionRequest, /) -> RetentionResponse:
        """New, returning and retained members per week or month; cohort retention."""
        return RetentionResponse.model_validate(retention_of(self.runtime, **request.model_dump()))

    @bentoml.api(route="/forget", output_spec=ForgetResponse)
    @_json_errors
    def forget(self, request: ForgetRequest, /) -> ForgetResponse:
        """Erase a member: model, event log (pages cleared), saved model, every worker."""
        result = self.runtime.forget(request.member_id)
        self.experiment.follow()
        return ForgetResponse(forgotten=result.forgotten, change_seq=result.change_seq)


one_line_warnings()  # a worker's RecsysWarning is one line of its log, no source line
RecsysService.add_asgi_middleware(Gatekeeper)  # type: ignore[attr-defined]  # by @service
RecsysService.mount_asgi_app(pages_app(), path="/")  # type: ignore[attr-defined]  # its routes only
# BentoML's traffic metrics labelled by route: no path a client made up reaches /metrics
bound_endpoint_labels(
    {api.route for api in RecsysService.apis.values()} | BENTOML_PATHS | set(PAGES)  # type: ignore[attr-defined]
)
# BentoML's logger of failed requests (see QuietClientErrors): no raw input in the log
logging.getLogger("bentoml._internal.server.http_app").addFilter(QuietClientErrors())
logging.getLogger("bentoml.access").addFilter(QuietAccessLog())  # no id a path may hold


def save_to_model_store(model_dir: str | Path, name: str = "recsys") -> str:
    """Copy a saved Recommender into the BentoML model store; returns the new tag.

    Serve it with ``RECSYS_BENTO_MODEL=<tag>``.
    """
    source = Path(model_dir)
    if not source.is_dir():
        raise ArtifactError(f"model directory {source} does not exist")
    with bentoml.models.create(name) as ref:
        for entry in source.iterdir():
            if entry.name not in ARTIFACT_FILES:
                continue  # e.g. an old event log: live state, not part of the artifact
            target = Path(ref.path) / entry.name
            if entry.is_dir():
                shutil.copytree(entry, target)
            else:
                shutil.copy2(entry, target)
        return str(ref.tag)
