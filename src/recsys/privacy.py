"""Pseudonymize member identifiers at the boundary with a keyed hash.

A membership card number is personal data. With a secret key, every member id is replaced
by ``HMAC-SHA256(key, id)`` (truncated, hex, prefixed) *before* it is looked up, logged or
written to an artifact: the same member always gets the same pseudonym, so training data,
the event log and live requests still line up, but nobody without the key can recompute the
mapping from a list of card numbers (a plain unkeyed hash of a 16-digit card number can be
reversed by brute force in minutes).

Use the same key for ``recsys train --pseudonymize`` and for the service
(``RECSYS_PSEUDONYM_KEY``). Rotating the key means retraining, because every pseudonym
changes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

import pandas as pd

from recsys.columns import Columns
from recsys.exceptions import ArtifactError, InvalidInputError
from recsys.settings import read_settings

__all__ = ["MASK", "PSEUDONYM_ENV", "PSEUDONYM_MARKER", "Pseudonymizer", "mask_digits"]

PSEUDONYM_ENV: Final = "RECSYS_PSEUDONYM_KEY"
"""Environment variable holding the pseudonymization secret."""

PSEUDONYM_MARKER: Final = "pseudonym.json"
"""File written next to a saved model trained on pseudonymized ids (holds a key fingerprint)."""

#: what replaces a card or phone number in a message
MASK: Final = "<redacted>"
#: 9+ digits, maybe grouped by single spaces or dashes: cards, phones (a date has 8)
_DIGITS: Final = re.compile(r"\d(?:[ \-]?\d){8,}")

_MIN_KEY_BYTES: Final = 16


def mask_digits(text: str) -> str:
    """``text`` with every run of 9 or more digits (a card or phone number) masked: what
    an error message or a warning quoting a value the caller chose may say.

    Examples
    --------
    >>> mask_digits("unknown store '4929 1234 1234 9876' on 2026-03-01")
    "unknown store '<redacted>' on 2026-03-01"
    """
    return _DIGITS.sub(MASK, text)


_FINGERPRINT_MESSAGE: Final = b"recsys-pseudonym-key-fingerprint-v1"


class Pseudonymizer:
    """Keyed, stable pseudonyms of member ids: ``prefix + hex(HMAC-SHA256(secret, id))[:length]``.

    Parameters
    ----------
    secret : str or bytes
        The key, at least 16 bytes. Keep it out of the code and out of the model directory.
    prefix : str, default "m_"
        Prepended to every pseudonym, so pseudonyms are recognisable in logs and never
        collide with raw ids of another shape.
    length : int, default 20
        Hex characters kept (20 hex = 80 bits: the chance of any collision among 100 million
        members is below 1e-8).

    Examples
    --------
    >>> p = Pseudonymizer("a-long-enough-secret-key")
    >>> alias = p.pseudonymize("4929123412341234")
    >>> alias.startswith("m_"), len(alias)
    (True, 22)
    >>> alias == p.pseudonymize("4929123412341234")
    True
    >>> alias == Pseudonymizer("another-long-secret-key!").pseudonymize("4929123412341234")
    False
    """

    def __init__(self, secret: str | bytes, *, prefix: str = "m_", length: int = 20) -> None:
        key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
        if len(key) < _MIN_KEY_BYTES:
            raise InvalidInputError(
                f"pseudonymization key is too short ({len(key)} bytes): use at least "
                f"{_MIN_KEY_BYTES} random bytes, e.g. `python -c 'import secrets; "
                f"print(secrets.token_hex(32))'`"
            )
        if not isinstance(length, int) or not 8 <= length <= 64:
            raise InvalidInputError(f"length must be an int in 8..64, got {length!r}")
        self._key = key
        self.prefix = prefix
        self.length = length

    @classmethod
    def from_env(cls) -> Pseudonymizer | None:
        """The pseudonymizer of ``RECSYS_PSEUDONYM_KEY``, or None when it is unset or empty.

        Returns
        -------
        Pseudonymizer or None
        """
        secret = read_settings().secret("pseudonym_key")
        return cls(secret) if secret else None

    def __repr__(self) -> str:  # never show the key
        return f"Pseudonymizer(prefix={self.prefix!r}, length={self.length}, key=<hidden>)"

    @property
    def fingerprint(self) -> str:
        """A short public fingerprint of the key (tells whether two keys are the same)."""
        return hmac.new(self._key, _FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()[:16]

    def pseudonymize(self, member_id: str) -> str:
        """The pseudonym of one member id.

        Parameters
        ----------
        member_id : str
            The raw id (card number, CRM id...).

        Returns
        -------
        str
            ``prefix`` followed by ``length`` hex characters.
        """
        if not isinstance(member_id, str):
            raise InvalidInputError(f"member id must be a string, got a {type(member_id).__name__}")
        digest = hmac.new(self._key, member_id.encode("utf-8"), hashlib.sha256).hexdigest()
        return self.prefix + digest[: self.length]

    __call__ = pseudonymize

    def event_id(self, event_id: str) -> str:
        """The pseudonym of an ``event_id`` (``e_`` + hex): a client may build event ids from
        a card number and a counter, so they are hashed too, under a key derived from this
        one (an event id and a member id never share a pseudonym).

        Examples
        --------
        >>> p = Pseudonymizer("a-long-enough-secret-key")
        >>> p.event_id("4929123412341234-7").startswith("e_")
        True
        """
        if not isinstance(event_id, str):
            raise InvalidInputError(f"event_id must be a string, got a {type(event_id).__name__}")
        key = hmac.new(self._key, b"recsys-event-id-v1", hashlib.sha256).digest()
        return "e_" + hmac.new(key, event_id.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def pseudonymize_many(self, member_ids: Iterable[str]) -> list[str]:
        """Pseudonyms of many member ids, in order."""
        return [self.pseudonymize(m) for m in member_ids]

    def pseudonymize_frame(self, frame: pd.DataFrame, column: str = Columns.USER) -> pd.DataFrame:
        """A copy of ``frame`` whose ``column`` holds pseudonyms (each distinct id hashed once).

        Parameters
        ----------
        frame : pandas.DataFrame
            E.g. interactions or profiles.
        column : str, default "user_id"

        Returns
        -------
        pandas.DataFrame
        """
        if column not in frame.columns:
            raise InvalidInputError(f"cannot pseudonymize: no column {column!r}")
        out = frame.copy()
        codes, uniques = pd.factorize(out[column].astype(str))
        mapped = pd.Index(self.pseudonymize_many(uniques.tolist()), dtype=object)
        out[column] = mapped.take(codes).to_numpy()
        return out

    # ------------------------------------------------------------- model marker
    def write_marker(self, model_dir: str | Path) -> Path:
        """Record in a saved model directory that its member ids are pseudonyms of this key."""
        path = Path(model_dir) / PSEUDONYM_MARKER
        info = {
            "scheme": "hmac-sha256",
            "prefix": self.prefix,
            "length": self.length,
            "key_fingerprint": self.fingerprint,
        }
        path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        return path

    @staticmethod
    def read_marker(model_dir: str | Path) -> dict[str, Any] | None:
        """The marker written by :meth:`write_marker`, or None for a model on raw ids."""
        path = Path(model_dir) / PSEUDONYM_MARKER
        if not path.exists():
            return None
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise ArtifactError(f"unreadable {path}: {exc}") from exc

    def check_marker(self, model_dir: str | Path) -> bool:
        """Whether the model in ``model_dir`` was trained on this key's pseudonyms.

        Returns
        -------
        bool
            True when the marker matches, False when the model has no marker (raw ids).

        Raises
        ------
        ArtifactError
            When the model was pseudonymized with a different key or scheme.
        """
        info = self.read_marker(model_dir)
        if info is None:
            return False
        expected = {
            "prefix": self.prefix,
            "length": self.length,
            "key_fingerprint": self.fingerprint,
        }
        if any(info.get(k) != v for k, v in expected.items()):
            raise ArtifactError(
                f"the model in {model_dir} was trained on pseudonyms of a different key "
                f"(fingerprint {info.get('key_fingerprint')!r}, this key {self.fingerprint!r}); "
                f"set {PSEUDONYM_ENV} to the training key or retrain"
            )
        return True
