"""What logging a shown shelf adds to a served shelf: the runtime's shelf with and without it.

Both rows run on the same runtime (the default blend at 20k SKUs, a real SQLite event log in
a temporary folder, its writer thread flushing every 50 ms), so their ratio is the cost of
recording the impression on the request path; the write itself happens on the writer
thread, which the benchmark's own timing includes only as contention.
"""

from __future__ import annotations

import pytest

from benchmarks._scale import SIZES

STORE = "s3"
N_ITEMS = SIZES[1]


@pytest.fixture(scope="module")
def runtime(fitted_at, tmp_path_factory):
    from recsys.serving.runtime import RecsysRuntime
    from recsys.serving.settings import ServiceSettings

    root = tmp_path_factory.mktemp("impressions")
    path = fitted_at(N_ITEMS, "blend").save(root / "model")
    rt = RecsysRuntime(ServiceSettings(model_dir=path, event_log=root / "events.sqlite"))
    yield rt
    rt.close()


@pytest.mark.parametrize("shown", ["shelf only", "shelf + impression logged"])
def test_shelf_with_impression(benchmark, runtime, shown):
    member = str(runtime.recommender.members_.ids()[0])
    benchmark.group = f"served shelf with and without its impression, {N_ITEMS} SKUs"

    def shelf():
        return runtime.recommend(member, 10, store_id=STORE)

    def shelf_and_impression():
        items = runtime.recommend(member, 10, store_id=STORE)
        return items, runtime.shown(member, STORE, items)

    if shown == "shelf only":
        assert len(benchmark(shelf)) == 10
    else:
        before = runtime.impressions.written
        items, shelf_id = benchmark(shelf_and_impression)
        runtime.impressions.flush()
        assert runtime.impressions.written > before and len(shelf_id) == 32 and len(items) == 10
