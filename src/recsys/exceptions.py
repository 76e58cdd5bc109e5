"""Every error recsys raises on purpose: one hierarchy under :class:`RecsysError`.

The HTTP layer maps :class:`RecsysError` subclasses to 4xx answers by ``http_status``.
"""

from __future__ import annotations


class RecsysError(Exception):
    """Base class of every error recsys raises on purpose."""

    http_status: int = 400


class InvalidInputError(RecsysError, ValueError):
    """An argument or a request field has the wrong type, range or shape.

    ``loc`` is the position of the bad value in a list of records when known, e.g.
    ``(3, "timestamp")``: event 3's timestamp (the HTTP answer's field path).
    """

    http_status = 422
    loc: tuple[int | str, ...] | None = None


class SchemaError(InvalidInputError):
    """A DataFrame misses required columns or holds values it must not (NaN ids, negative dwell)."""


#: id kinds that identify a person: their values never appear in a message
PERSONAL_KINDS = frozenset({"member", "user"})


class UnknownIdError(RecsysError, KeyError):
    """A member, SKU or store id is not known to the fitted data.

    The message names unknown SKU and store ids; member ids are personal data, so it only
    counts them (they stay in ``ids`` for the caller).

    Parameters
    ----------
    kind : str
        What was looked up: ``"member"``, ``"item"``, ``"store"``...
    ids : list of str
        The ids that were not found (a few are shown in the message).
    known : int
        How many ids of that kind are known.
    """

    http_status = 404

    def __init__(self, kind: str, ids: list[str] | tuple[str, ...], known: int | None = None):
        self.kind = kind
        self.ids = list(ids)
        self.known = known
        plural = kind[:-1] + "ies" if kind.endswith("y") else kind + "s"  # category
        suffix = f" (known: {known} {plural})" if known is not None else ""
        if kind in PERSONAL_KINDS:  # personal data: never repeated in a message or a log
            count = f"{len(self.ids)} id" + ("s" if len(self.ids) != 1 else "")
            super().__init__(f"unknown {kind}: {count} not found{suffix}")
            return
        shown = ", ".join(repr(i) for i in self.ids[:5])
        more = f" and {len(self.ids) - 5} more" if len(self.ids) > 5 else ""
        super().__init__(f"unknown {kind} {shown}{more}{suffix}")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class NotFittedError(RecsysError, RuntimeError):
    """A model or recommender was used before ``fit`` (or ``load``)."""

    http_status = 503


class ArtifactError(RecsysError, OSError):
    """A saved model directory is missing, incomplete or from an incompatible version."""

    http_status = 500


class EventLogError(RecsysError, OSError):
    """The event log cannot be written (disk full, read-only, deleted or replaced file):
    nothing was acknowledged. The service answers 503 and reports itself unready."""

    http_status = 503


class PayloadTooLargeError(InvalidInputError):
    """A request carries more items than the service accepts in one call."""

    http_status = 413


class RecsysWarning(UserWarning):
    """Something recsys tolerated but you should know about (an unseen profile tag, ...)."""


def one_line_warnings() -> None:
    """Print a :class:`RecsysWarning` as one line, ``RecsysWarning: <message>``, without
    the file and source line Python adds (the command line and the server's log); other
    warnings keep Python's format. Applying it twice changes nothing.

    Examples
    --------
    >>> import warnings
    >>> one_line_warnings()
    >>> text = warnings.formatwarning(RecsysWarning("a tag was left out"), RecsysWarning, "f.py", 3)
    >>> print(text, end="")
    RecsysWarning: a tag was left out
    """
    import warnings

    python = getattr(warnings.formatwarning, "__wrapped_python__", warnings.formatwarning)

    def formatwarning(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        line: str | None = None,
    ) -> str:
        if issubclass(category, RecsysWarning):
            return f"{category.__name__}: {message}\n"
        return python(message, category, filename, lineno, line)

    formatwarning.__wrapped_python__ = python  # type: ignore[attr-defined]
    warnings.formatwarning = formatwarning
