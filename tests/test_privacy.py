"""Keyed pseudonyms of member ids."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from recsys.exceptions import ArtifactError, InvalidInputError
from recsys.privacy import PSEUDONYM_ENV, Pseudonymizer

KEY = "unit-test-key-0123456789"


def test_stable_prefixed_truncated_hex() -> None:
    p = Pseudonymizer(KEY)
    alias = p.pseudonymize("4929123412341234")
    assert alias == p("4929123412341234") == Pseudonymizer(KEY).pseudonymize("4929123412341234")
    assert alias.startswith("m_") and len(alias) == 2 + 20
    int(alias[2:], 16)  # hex
    assert "4929" not in alias


def test_keyed_and_distinct() -> None:
    a, b = Pseudonymizer(KEY), Pseudonymizer(KEY + "x")
    assert a("u1") != b("u1")
    ids = [f"card-{i}" for i in range(5000)]
    assert len(set(a.pseudonymize_many(ids))) == len(ids)


def test_options_and_bad_input() -> None:
    assert Pseudonymizer(KEY, prefix="p:", length=32)("u1").startswith("p:")
    assert len(Pseudonymizer(KEY, prefix="", length=32)("u1")) == 32
    with pytest.raises(InvalidInputError, match="too short"):
        Pseudonymizer("short")
    with pytest.raises(InvalidInputError):
        Pseudonymizer(KEY, length=4)
    with pytest.raises(InvalidInputError):
        Pseudonymizer(KEY).pseudonymize(42)  # type: ignore[arg-type]
    assert KEY not in repr(Pseudonymizer(KEY))


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PSEUDONYM_ENV, raising=False)
    assert Pseudonymizer.from_env() is None
    monkeypatch.setenv(PSEUDONYM_ENV, "")
    assert Pseudonymizer.from_env() is None
    monkeypatch.setenv(PSEUDONYM_ENV, KEY)
    env = Pseudonymizer.from_env()
    assert env is not None and env("u1") == Pseudonymizer(KEY)("u1")


def test_frame() -> None:
    p = Pseudonymizer(KEY)
    frame = pd.DataFrame({"user_id": ["a", "b", "a"], "item_id": ["x", "y", "z"]})
    out = p.pseudonymize_frame(frame)
    assert out["user_id"].tolist() == [p("a"), p("b"), p("a")]
    assert frame["user_id"].tolist() == ["a", "b", "a"]  # input untouched
    assert out["item_id"].tolist() == ["x", "y", "z"]
    with pytest.raises(InvalidInputError):
        p.pseudonymize_frame(frame, column="member")


def test_marker(tmp_path: Path) -> None:
    p = Pseudonymizer(KEY)
    assert Pseudonymizer.read_marker(tmp_path) is None
    assert p.check_marker(tmp_path) is False
    p.write_marker(tmp_path)
    assert KEY not in (tmp_path / "pseudonym.json").read_text()
    assert p.check_marker(tmp_path) is True
    with pytest.raises(ArtifactError, match="different key"):
        Pseudonymizer(KEY + "-other").check_marker(tmp_path)
