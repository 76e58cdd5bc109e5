"""notebooks/quickstart.ipynb runs top to bottom in a real kernel and shows what it says."""

from __future__ import annotations

import base64
import importlib.util
import re
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOK = NOTEBOOKS / "quickstart.ipynb"


@pytest.fixture(scope="module")
def executed():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    start = time.perf_counter()
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()
    return nb, time.perf_counter() - start


def _cell(nb, tag: str):
    (cell,) = [c for c in nb.cells if tag in c.metadata.get("tags", [])]
    return cell


def _text(cell) -> str:
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream" and out.name == "stdout":
            parts.append(out.text)
        elif "data" in out:
            parts.append(out.data.get("text/plain", ""))
    return "\n".join(parts)


def test_notebook_runs_without_errors_in_well_under_a_minute(executed):
    nb, seconds = executed
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    assert seconds < 60


def test_three_members_see_three_different_shelves(executed):
    nb, _ = executed
    text = _text(_cell(nb, "shelves"))
    found = re.search(r"(\d+) distinct SKUs on (\d+) shelf slots", text)
    distinct, slots = map(int, found.groups())
    assert slots == 30 and distinct > 20  # "thousand faces": little overlap
    header = next(line for line in text.splitlines() if line.strip().startswith("u"))
    assert len(header.split()) == 3  # one column per member
    ranks = re.findall(r"^(\d+)\s+sku", text, flags=re.MULTILINE)
    assert ranks == [str(r) for r in range(1, 11)]


def test_cold_start_shelf_has_items_and_reasons(executed):
    nb, _ = executed
    text = _text(_cell(nb, "cold"))
    assert "reason" in text and "members like you" in text
    assert len(re.findall(r"^\d+\s+sku\d+", text, flags=re.MULTILINE)) == 8


def test_realtime_update_changes_the_shelf(executed):
    nb, _ = executed
    text = _text(_cell(nb, "update"))
    assert "events applied: 5" in text
    new = int(re.search(r": (\d+) new SKUs on the shelf", text).group(1))
    assert 1 <= new <= 10
    assert "before" in text and "after" in text


def test_quality_table_and_plot(executed):
    nb, _ = executed
    text = _text(_cell(nb, "quality"))
    for model in ("blend", "popular", "popular-segment", "ease-tuned", "implicit-als-defaults"):
        assert re.search(rf"^{re.escape(model)}\s+0\.\d+", text, flags=re.MULTILINE), model
    assert "ndcg" in text and "personalization" in text
    (png,) = [o.data["image/png"] for o in _cell(nb, "plot").outputs if "data" in o]
    assert base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n"


def test_stored_notebook_is_the_built_one_with_outputs_cleared():
    builder = NOTEBOOKS / "build_quickstart.py"
    spec = importlib.util.spec_from_file_location("build_quickstart", builder)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stored = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(stored)
    assert stored == module.build()  # rebuild with `python notebooks/build_quickstart.py`
    for cell in stored.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
