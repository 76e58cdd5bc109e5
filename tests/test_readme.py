"""The README's Python example runs as written (on a smaller synthetic chain)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path, monkeypatch):
    text = README.read_text(encoding="utf-8")
    block = re.search(r"## In Python\n\n```python\n(.*?)```", text, re.S)
    assert block, "the README lost its 'In Python' example"
    code = block.group(1).replace("n_users=5_000, n_items=2_000", "n_users=400, n_items=300")
    monkeypatch.chdir(tmp_path)  # the example saves to model_dir/
    namespace: dict[str, object] = {}
    exec(compile(code, str(README), "exec"), namespace)
    ids, scores = namespace["ids"], namespace["scores"]
    assert ids.shape == (2, 10) and (scores[:, :-1] >= scores[:, 1:]).all()
