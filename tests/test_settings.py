"""The one reader of RECSYS_* variables: typed, defaults, clear errors, no secret echoed."""

from __future__ import annotations

import pytest

from recsys.exceptions import InvalidInputError
from recsys.settings import read_settings


def test_defaults_and_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECSYS_MAX_BATCH", raising=False)
    monkeypatch.setenv("RECSYS_EVENT_SYNC", "normal")
    monkeypatch.setenv("RECSYS_ACCESS_LOG", "off")
    monkeypatch.setenv("RECSYS_API_KEY", "")  # empty is unset
    env = read_settings()
    assert (env.max_batch, env.event_sync, env.access_log) == (1_000, "NORMAL", False)
    assert env.secret("api_key") is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RECSYS_MAX_BATCH", "lots"),
        ("RECSYS_MAX_EVENTS", "-3"),
        ("RECSYS_EVENT_SYNC", "sometimes"),
        ("RECSYS_DEBUG", "perhaps"),
    ],
)
def test_a_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(InvalidInputError, match=name):
        read_settings()


def test_a_secret_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECSYS_PSEUDONYM_KEY", "s3cret-value")
    assert "s3cret" not in repr(read_settings())
    assert read_settings().secret("pseudonym_key") == "s3cret-value"
    monkeypatch.setenv("RECSYS_WORKERS", "0")
    with pytest.raises(InvalidInputError, match="RECSYS_WORKERS") as caught:
        read_settings()
    assert "s3cret" not in str(caught.value)
