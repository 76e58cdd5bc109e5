"""Fixtures of the dataset tests: the default synthetic chain and the real data folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from recsys.datasets import RetailData, shared_data_dir, synthetic_retail


@pytest.fixture(scope="session")
def synthetic_default() -> RetailData:
    """The documented default: 5,000 members x 2,000 SKUs x 20 stores (about 2 s)."""
    return synthetic_retail(n_users=5000, n_items=2000, n_stores=20, seed=0)


def _shared_folder(name: str) -> Path:
    shared = shared_data_dir()
    if shared is None:
        pytest.skip("no shared data folder (../shared/data or $RECSYS_SHARED_DATA)")
    folder = shared / name
    if not folder.is_dir():
        pytest.skip(f"{name!r} is not in the shared data folder {shared}")
    return folder


@pytest.fixture(scope="session")
def online_retail_dir() -> Path:
    return _shared_folder("uci-online-retail")


@pytest.fixture(scope="session")
def complete_journey_dir() -> Path:
    return _shared_folder("completejourney")
