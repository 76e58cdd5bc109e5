"""A BentoML service that does nothing: the floor of what one ``POST /recommend`` costs.

Same framework, worker count, request and answer models (recsys' own ``RecommendRequest``
and ``RecommendResponse``, so parsing and serializing cost the same) and an answer of a
shelf's size, but no model, no event log and no middleware of recsys: ``bench_http`` drives
it exactly as it drives recsys.

``EMPTY_TRACED=0`` configures it as recsys serves by default, with BentoML's OpenTelemetry
middleware handing every request straight on (``RECSYS_TRACING``): the ratio to that one is
what recsys adds. Unset, it keeps BentoML's defaults, which trace every request at a sample
rate of 0 and cost about a millisecond of CPU per request.
"""

from __future__ import annotations

import os

import bentoml

from recsys.serving.schemas import RecommendRequest, RecommendResponse

_SHELF = RecommendResponse.model_validate(
    {
        "items": [
            {"item_id": f"sku{i}", "score": 1.0, "reason": "goes with the jeans you bought",
             "name": "Women's Slim Black Jeans", "category": "jeans", "price": 59.9}
            for i in range(10)
        ],
        "shelf_id": "0" * 32,
        "variant": "default",
        "model_version": "empty",
    }
)  # fmt: skip


@bentoml.service(
    name="empty",
    workers=int(os.environ.get("EMPTY_WORKERS", "2")),
    logging={"access": {"enabled": True}},  # as recsys serves by default
    **({"tracing": {"excluded_urls": ".*"}} if os.environ.get("EMPTY_TRACED") == "0" else {}),
)
class EmptyService:
    @bentoml.api(route="/recommend", output_spec=RecommendResponse)
    async def recommend(self, request: RecommendRequest, /) -> RecommendResponse:
        return _SHELF
