"""RetailData's description helpers, the cleaning log and locating the shared data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from recsys.datasets import RetailData, shared_data_dir, synthetic_retail
from recsys.datasets._bundle import CleaningLog
from recsys.datasets._paths import SHARED_DATA_ENV


@pytest.fixture(scope="module")
def tiny() -> RetailData:
    return synthetic_retail(n_users=60, n_items=50, n_stores=2, items_per_store=(20, 30), seed=2)


def test_repr_is_short(tiny):
    text = repr(tiny)
    assert text.startswith("RetailData(name='synthetic'")
    assert "members=60" in text and "items=50" in text and "stores=2" in text
    assert "\n" not in text


def test_summary(tiny):
    summary = tiny.summary()
    assert summary.splitlines()[0] == "RetailData 'synthetic'"
    assert "interactions:" in summary and "stores: 2" in summary
    assert (tiny.n_members, tiny.n_items, tiny.n_stores) == (60, 50, 2)


def test_summary_lists_cleaning_rules():
    frame = pd.DataFrame({"user_id": ["a"], "item_id": ["x"], "kind": ["purchase"]})
    data = RetailData(
        interactions=frame.assign(value=1.0, timestamp=pd.Timestamp("2020-01-01"), store_id="s"),
        catalog=pd.DataFrame({"item_id": ["x"], "category": ["c"]}),
        stores=pd.DataFrame({"store_id": ["s"], "item_id": ["x"]}),
        profiles=pd.DataFrame({"user_id": ["a"]}),
        report={"rows_read": 3, "removed_cancellations": 2},
        name="toy",
    )
    assert "cancellations: 2" in data.summary()


def test_frozen(tiny):
    with pytest.raises(AttributeError):
        tiny.interactions = tiny.interactions  # type: ignore[misc]


def test_cleaning_log_counts_each_rule_on_what_is_left():
    frame = pd.DataFrame({"a": [1, 1, 2, 3, 3, -1], "b": ["x", "x", "y", "z", "z", "w"]})
    log = CleaningLog(frame)
    log.drop("negative", frame["a"] < 0)
    log.drop("threes", frame["a"] == 3)
    log.drop("negative_again", frame["a"] < 0)  # already gone: counts 0
    log.drop_duplicates()
    assert log.report == {
        "rows_read": 6,
        "removed_negative": 1,
        "removed_threes": 2,
        "removed_negative_again": 0,
        "removed_duplicates": 1,
    }
    assert log.result().to_dict("list") == {"a": [1, 2], "b": ["x", "y"]}


def test_cleaning_log_treats_missing_as_keep():
    frame = pd.DataFrame({"a": pd.array([1, None, 3], dtype="Int64")})
    log = CleaningLog(frame)
    log.drop("big", frame["a"] > 2)
    assert log.report["removed_big"] == 1
    assert len(log.result()) == 2


def test_shared_data_dir_env_override(tmp_path, monkeypatch):
    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path))
    assert shared_data_dir() == tmp_path.resolve()
    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path / "absent"))
    assert shared_data_dir() is None


def test_shared_data_dir_default(monkeypatch):
    monkeypatch.delenv(SHARED_DATA_ENV, raising=False)
    found = shared_data_dir()
    assert found is None or (isinstance(found, Path) and found.is_dir())


def test_loaders_need_a_folder_when_none_is_shared(tmp_path, monkeypatch):
    from recsys.datasets import load_complete_journey

    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError, match=SHARED_DATA_ENV):
        load_complete_journey()
