"""Bento entry point: the service class lives in the package (``recsys.serving.service``).

``bentoml serve serving.service:RecsysService`` (from the repository root, with
``RECSYS_MODEL_DIR`` set) and ``bentoml build -f serving/bentofile.yaml .`` both use it; a
plain ``pip install recsys[serve]`` serves the same class with ``recsys serve MODEL_DIR``.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import recsys  # noqa: F401  (installed: pip install recsys[serve] or -e .)
except ImportError:  # inside a built Bento the sources sit next to this folder, in src/
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from recsys.serving.service import RecsysService

__all__ = ["RecsysService"]
