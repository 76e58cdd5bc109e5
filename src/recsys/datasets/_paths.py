"""Locate the shared folder of public data sets (``../shared/data`` next to the repo)."""

from __future__ import annotations

import os
from pathlib import Path

from recsys.settings import read_settings

#: Environment variable that points at the shared data folder (overrides the search).
SHARED_DATA_ENV = "RECSYS_SHARED_DATA"


def shared_data_dir() -> Path | None:
    """Return the folder holding the public data sets, or None when there is none.

    The folder is ``$RECSYS_SHARED_DATA`` when that variable is set (None if it does not
    name an existing folder); otherwise ``../shared/data`` relative to the repository this
    package was installed from (editable install), then relative to the current directory.

    Returns
    -------
    pathlib.Path or None
        The absolute path of the folder, e.g. with ``completejourney/`` and
        ``uci-online-retail/`` inside, or None.

    Examples
    --------
    >>> from recsys.datasets import shared_data_dir
    >>> folder = shared_data_dir()
    >>> folder is None or folder.is_dir()
    True
    """
    env = read_settings().shared_data
    if env is not None:
        path = env.expanduser()
        return path.resolve() if path.is_dir() else None
    repo = Path(__file__).resolve().parents[3]  # src/recsys/datasets/_paths.py -> repo
    for base in (repo, Path.cwd()):
        candidate = base.parent / "shared" / "data"
        if candidate.is_dir():
            return candidate.resolve()
    return None


def resolve_dataset_path(path: str | os.PathLike[str] | None, folder: str) -> Path:
    """The folder of one data set: ``path`` as given, or ``shared_data_dir() / folder``."""
    if path is None:
        shared = shared_data_dir()
        if shared is None:
            raise FileNotFoundError(
                f"no data folder given and no shared data folder found: pass the path of the "
                f"{folder!r} folder or set {SHARED_DATA_ENV}"
            )
        path = shared / folder
    resolved = Path(path).expanduser()
    if not resolved.exists():
        raise FileNotFoundError(f"data set folder {str(resolved)!r} does not exist")
    return resolved
