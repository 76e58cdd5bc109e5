"""What every ``recsys`` command shares: the user-facing error, progress lines, tables."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

__all__ = ["EXIT_ERROR", "MODELS", "CLIError", "done_pending", "step", "table"]

MODELS = ("blend", "als", "bpr", "itemknn", "ease", "popular", "profile", "hybrid")
EXIT_ERROR = 2


class CLIError(Exception):
    """A user-facing error of the command line (one line, exit status 2)."""


_pending_step: list[bool] = [False]  # a "message ..." line waits for its "done"


def step(message: str) -> Callable[[], None]:
    """Print ``message ...`` now and ``done (1.2 s)`` when the returned callable is called."""
    print(f"{message} ...", end=" ", flush=True)
    _pending_step[0] = True
    start = time.perf_counter()

    def done() -> None:
        print(f"done ({time.perf_counter() - start:.1f} s)", flush=True)
        _pending_step[0] = False

    return done


def done_pending(word: str = "failed") -> None:
    """End a pending progress line (after an error) so the message starts on its own line."""
    if _pending_step[0]:
        print(word, flush=True)
        _pending_step[0] = False


def table(rows: list[dict[str, Any]]) -> str:
    columns = list(dict.fromkeys(c for row in rows for c in row))
    cells = [
        [
            f"{row.get(c, ''):.4f}" if isinstance(row.get(c), float) else str(row.get(c, ""))
            for c in columns
        ]
        for row in rows
    ]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join([line, rule, *body])
