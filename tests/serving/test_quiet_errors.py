"""What an invalid request leaves in the log and the answer: fields named, card and phone
numbers masked, the status the client really got."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from recsys.serving.gatekeeper import QuietClientErrors
from recsys.serving.redaction import safe_text
from recsys.serving.schemas import RecommendRequest


def _record(body: str) -> logging.LogRecord:
    try:
        RecommendRequest.model_validate_json(body)
    except ValidationError as exc:
        error = exc
    else:  # pragma: no cover - the bodies below are all invalid
        raise AssertionError(body)
    return logging.LogRecord(
        "bentoml", logging.ERROR, __file__, 1, "Exception on /recommend", None,
        (ValidationError, error, None),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status", "where"),
    [
        ('{"member_id": "u1", "k": 0}', 422, "k"),
        ('{"member_id": 4111111111111111}', 422, "member_id"),
        ('{"member_id": "u1",', 400, "the body"),
    ],
)
def test_an_invalid_request_is_one_warning_with_its_real_status(body, status, where):
    record = _record(body)
    assert QuietClientErrors().filter(record)
    line = record.getMessage()
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert f"(answered {status})" in line and where in line, line
    assert "4111111111111111" not in line


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("got '2300-01-01T00:00:00'", "got '2300-01-01T00:00:00'"),  # a date is no number
        ("got '4111 1111 1111 1111'", "got '<redacted>'"),
        ("got '4111-1111-1111-1111'", "got '<redacted>'"),
        ("call +1 555-123-4567", "call +<redacted>"),
        ("got 123456789", "got <redacted>"),
        ("got 12345678", "got 12345678"),
    ],
)
def test_error_messages_mask_card_and_phone_numbers_and_keep_dates(text, said):
    assert safe_text(text) == said


def test_an_unknown_id_is_quoted_with_its_digits_masked() -> None:
    import json

    from recsys.exceptions import UnknownIdError
    from recsys.serving.gatekeeper import error_response

    answer = error_response(UnknownIdError("store", ["4929123412349876"], known=5))
    assert json.loads(answer.body) == {
        "error": "UnknownIdError",
        "detail": "unknown store '<redacted>' (known: 5 stores)",
    }


def test_a_profile_field_is_warned_of_never_named() -> None:
    import pandas as pd

    from recsys.data.profiles import ProfileEncoder
    from recsys.exceptions import RecsysWarning

    encoder = ProfileEncoder().fit(pd.DataFrame({"user_id": ["a", "b"], "tier": ["x", "y"]}))
    with pytest.warns(RecsysWarning, match="not known to the encoder") as caught:
        encoder.transform_one({"4929123412349876": "x", "secret-member-77": "y", "tier": "x"})
    message = str(caught[0].message)
    assert "4929123412349876" not in message and "secret-member-77" not in message
    assert message.startswith("2 profile field(s)") and "known: ['tier']" in message
