"""The Examples sections of the data layer's docstrings run as tests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["idmap", "weighting", "catalog", "assortment", "profiles", "dataset", "matrices"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"recsys.data.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
