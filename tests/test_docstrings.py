"""Every Examples section in the package's docstrings runs as a test, so none can rot."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import recsys

MODULES = [
    *sorted(m.name for m in pkgutil.walk_packages(recsys.__path__, prefix="recsys.")),
    "recsys",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(
        module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS, verbose=False
    )
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
