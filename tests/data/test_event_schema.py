"""One event schema: the same event is accepted or refused the same way at every entry."""

from __future__ import annotations

import math
import warnings

import pandas as pd
import pytest

import recsys
from recsys.data import RetailDataset
from recsys.data.events import validate_events
from recsys.events import EventLog

BASE = {"user_id": "u1", "item_id": "sku1", "kind": "view", "value": 30.0}
CASES = [
    ({}, True),
    ({"value": math.nan}, True),  # NaN means "missing": the default 1
    ({"value": None}, True),
    ({"kind": " VIEW "}, True),  # kinds ignore case and spaces
    ({"timestamp": 1_700_000_000}, True),  # epoch seconds
    ({"timestamp": "2026-11-22T10:15:00+01:00"}, True),
    ({"store_id": "s1", "event_id": "e-1"}, True),
    ({"vaule": 3.0}, False),  # a misspelt field is an error, not a silent default
    ({"value": math.inf}, False),
    ({"value": 1e9}, True),  # the largest quantity or dwell accepted
    ({"value": 1e308}, False),  # finite, but weights and revenue would overflow
    ({"value": -1.0}, False),
    ({"value": True}, False),
    ({"value": "3"}, False),
    ({"kind": "stare"}, False),
    ({"user_id": ""}, False),
    ({"user_id": "x" * 300}, False),
    ({"timestamp": "2300-01-01"}, False),  # outside 1900..2199: never logged, never a poison
    ({"timestamp": "1677-09-21"}, False),
    ({"timestamp": "yesterday"}, False),
    ({"store_id": {"a": 1}}, False),  # a JSON object or list is no field's value
    ({"user_id": ["u1"]}, False),
    ({"value": [1.0]}, False),
]


def _accepted(call) -> bool:
    try:
        call()
    except recsys.RecsysError:
        return False
    return True


def _http_accepts(event: dict) -> bool:
    pydantic = pytest.importorskip("pydantic")
    from recsys.serving.schemas import EventsRequest

    try:  # the body model, then the check the route runs on its thread
        validate_events(EventsRequest.model_validate({"events": [event]}).records())
    except (pydantic.ValidationError, recsys.RecsysError):
        return False
    return True


@pytest.fixture(scope="module")
def rec():
    frame = pd.DataFrame([{**BASE, "store_id": "s1"}, {**BASE, "user_id": "u2"}])
    return recsys.Recommender(model="popular").fit(frame)


@pytest.mark.parametrize(("change", "ok"), CASES)
def test_every_entry_point_agrees(change, ok, rec, tmp_path):
    event = {**BASE, **change}
    with EventLog(tmp_path / "log.sqlite") as log:
        got = {
            "schema": _accepted(lambda: validate_events([event])),
            "update": _accepted(lambda: rec.check_events([event])),
            "log": _accepted(lambda: log.append([event])),
            "dataset": _accepted(lambda: RetailDataset.build(pd.DataFrame([event]))),
            "http": _http_accepts(event),
        }
    assert got == dict.fromkeys(got, ok)


def test_a_frame_column_of_numbers_is_text_with_a_warning_a_record_number_is_refused(rec):
    frame = pd.DataFrame([{**BASE, "user_id": 1104905}])
    with pytest.warns(recsys.exceptions.RecsysWarning, match="leading zeros"):
        ds = RetailDataset.build(frame)
    assert ds.users.ids.tolist() == ["1104905"]
    with pytest.raises(recsys.InvalidInputError, match="event 0: field 'user_id'"):
        rec.check_events([{**BASE, "user_id": 1104905}])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RetailDataset.build(pd.DataFrame([BASE]))  # text ids: no warning


def test_errors_name_the_event_and_the_field():
    with pytest.raises(recsys.InvalidInputError, match=r"event 2: field 'timestamp'.*2199"):
        validate_events([BASE, BASE, {**BASE, "timestamp": "2300-01-01"}])
    with pytest.raises(recsys.SchemaError, match=r"interactions column 'value' has 1 .*rows \[1\]"):
        validate_events(pd.DataFrame([BASE, {**BASE, "value": -2.0}]), frame="interactions")


def test_the_http_model_has_exactly_the_schema_fields():
    pytest.importorskip("pydantic")
    from recsys.data.events import FIELD_NAMES
    from recsys.serving.schemas import EventIn

    assert tuple(EventIn.model_fields) == FIELD_NAMES
