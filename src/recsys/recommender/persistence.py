"""Save and load the fitted state of a recommender as a directory of safe files.

Layout::

    manifest.json   format, versions, parameters, model_version, log cursors, cutoff, counts
    ids.npz         member, SKU and store ids in internal order
    data.npz        the training matrices, the assortment, the catalog arrays and the day
                    each SKU added after training came
    profiles.json   the fitted profile encoder (tag vocabulary, numeric scaling)
    model.npz       the model's learned arrays
    members.npz     what live events changed since training (rows, purchases, vectors)
    index/          the FAISS item index (faiss.write_index + its JSON manifest)

Everything is arrays loaded with ``allow_pickle=False`` and JSON: the artifact holds the
built matrices, never the raw event table, so loading rebuilds nothing. The directory is
written next to its destination and renamed into place, so a crash while saving never
leaves a half-written model where a service would load it. A directory that holds files
this module did not write (an event log, say) is never replaced: saving refuses instead.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

import recsys
from recsys.data import (
    Assortment,
    Catalog,
    EventWeights,
    IdMap,
    ProfileEncoder,
    RetailDataset,
    TrainingMatrices,
)
from recsys.exceptions import ArtifactError
from recsys.index import VectorIndex
from recsys.models import MODEL_REGISTRY, VectorModel
from recsys.privacy import PSEUDONYM_MARKER
from recsys.recommender.state import ShelfState, build_state

__all__ = ["ARTIFACT_FILES", "FORMAT", "load_state", "read_manifest", "save_state"]

FORMAT = 3
#: every entry :func:`save_state` writes; anything else in a model directory is not ours
ARTIFACT_FILES = frozenset(
    {"manifest.json", "ids.npz", "data.npz", "profiles.json", "model.npz", "members.npz", "index"}
    | {PSEUDONYM_MARKER}  # written beside the artifact by ``recsys train --pseudonymize``
)
_MATRICES = tuple(f.name for f in dataclasses.fields(TrainingMatrices) if f.name != "events")


def _put_csr(out: dict[str, np.ndarray], name: str, m: sp.spmatrix) -> None:
    m = sp.csr_matrix(m)
    out[f"{name}.data"] = m.data
    out[f"{name}.indices"] = m.indices
    out[f"{name}.indptr"] = m.indptr
    out[f"{name}.shape"] = np.asarray(m.shape, dtype=np.int64)


def _get_csr(arrays: Any, name: str) -> sp.csr_matrix:
    shape = tuple(int(v) for v in arrays[f"{name}.shape"])
    parts = (arrays[f"{name}.data"], arrays[f"{name}.indices"], arrays[f"{name}.indptr"])
    return sp.csr_matrix(parts, shape=shape)


def _data_arrays(ds: RetailDataset) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {"history_counts": ds.history_counts}
    for name in _MATRICES:
        _put_csr(out, name, getattr(ds.matrices, name))
    _put_csr(out, "assortment", ds.assortment.matrix.astype(np.float32))
    out.update({f"catalog.{k}": v for k, v in ds.catalog.to_arrays().items()})
    return out


def _write_artifact(
    tmp: Path, state: ShelfState, params: dict[str, Any], cursors: dict[str, int]
) -> None:
    ds, model = state.dataset, state.model
    tmp.mkdir(parents=True)
    ids = {"members": ds.users.ids, "items": ds.items.ids, "stores": ds.stores.ids}
    _savez(tmp / "ids.npz", {k: np.asarray(v, dtype=str) for k, v in ids.items()})
    _savez(tmp / "data.npz", {**_data_arrays(ds), "added_on": state.added_on})
    (tmp / "profiles.json").write_text(json.dumps(ds.profile_encoder.to_dict()))
    _savez(tmp / "model.npz", model.get_state())
    _savez(tmp / "members.npz", state.members.changes())
    if state.items is not None:
        state.items.index.save(tmp / "index")
    manifest = {
        "format": FORMAT,
        "recsys_version": recsys.__version__,
        "model": model.name,
        "model_params": model.get_params(),
        "recommender": params,
        "weights": dataclasses.asdict(ds.weights),
        "now": None if ds.now is None else str(ds.now),
        "model_version": state.model_version,
        **{name: int(value) for name, value in cursors.items()},
        "cutoff": None if ds.cutoff is None else str(ds.cutoff),
        "report": ds.report,
        "n_members": len(state.members),
        "n_items": len(ds.items),
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))


def _savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Arrays by name into one ``.npz`` (plain arrays only: loaded without pickles)."""
    np.savez(path, **arrays)  # type: ignore[arg-type]  # numpy's stub types ``**kwds`` badly


def _check_target(path: Path) -> None:
    """Refuse to replace a directory holding anything this module did not write."""
    if not path.exists():
        return
    if not path.is_dir():
        raise ArtifactError(f"cannot save to {path}: it exists and is not a directory")
    foreign = sorted(e.name for e in path.iterdir() if e.name not in ARTIFACT_FILES)
    if foreign:
        raise ArtifactError(
            f"cannot save to {path}: it holds files recsys did not write ({foreign[:5]}); "
            "move them (an event log belongs beside the model directory) or pick a new path"
        )


def save_state(
    state: ShelfState, params: dict[str, Any], cursors: dict[str, int], path: Path
) -> Path:
    """Write ``state``, the facade's ``params`` and its log ``cursors`` (``event_seq``,
    ``change_seq``: what of the event log it has seen) to ``path`` atomically."""
    path = Path(path)
    _check_target(path)
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        _write_artifact(tmp, state, params, cursors)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if path.exists():
        marker = path / PSEUDONYM_MARKER  # written beside the artifact: it stays
        if marker.is_file():
            shutil.copy2(marker, tmp / PSEUDONYM_MARKER)
        old = path.parent / f".{path.name}.old-{os.getpid()}"
        path.rename(old)
        tmp.rename(path)
        shutil.rmtree(old)
    else:
        tmp.rename(path)
    return path


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of a saved recommender, with a clear error when it is not one."""
    file = Path(path) / "manifest.json"
    if not file.is_file():
        raise ArtifactError(f"{path} is not a saved recommender: manifest.json is missing")
    try:
        manifest = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{file} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise ArtifactError(
            f"{path} has artifact format {found!r}; this recsys reads format {FORMAT}: "
            "train and save the model again"
        )
    return manifest


def _read_npz(file: Path) -> dict[str, np.ndarray]:
    """Every array of one ``.npz`` of the artifact, or :class:`ArtifactError` naming it."""
    try:
        with np.load(file, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ArtifactError(
            f"{file} cannot be read ({type(exc).__name__}: {exc}): the artifact is "
            "damaged or incomplete; save or train the model again"
        ) from exc


def _dataset(path: Path, manifest: dict[str, Any]) -> tuple[RetailDataset, np.ndarray | None]:
    ids = _read_npz(path / "ids.npz")
    users = IdMap(ids["members"], kind="member")
    items = IdMap(ids["items"], kind="item")
    stores = IdMap(ids["stores"], kind="store")
    arrays = _read_npz(path / "data.npz")
    matrices = TrainingMatrices(
        **{name: _get_csr(arrays, name).astype(np.float32) for name in _MATRICES}
    )
    catalog = {k[len("catalog.") :]: v for k, v in arrays.items() if k.startswith("catalog.")}
    encoder = ProfileEncoder.from_dict(json.loads((path / "profiles.json").read_text()))
    cutoff = manifest["cutoff"]
    history_counts = arrays["history_counts"]
    history_counts.flags.writeable = False
    added_on = arrays.get("added_on")
    return RetailDataset(
        users=users,
        items=items,
        stores=stores,
        catalog=Catalog.from_arrays(catalog, items),
        assortment=Assortment(_get_csr(arrays, "assortment")),
        profile_encoder=encoder,
        matrices=matrices,
        interactions=None,
        weights=EventWeights(**manifest["weights"]),
        cutoff=None if cutoff is None else pd.Timestamp(cutoff),
        report=dict(manifest.get("report", {})),
        history_counts=history_counts,
        now=manifest["now"],
    ), added_on


def load_state(path: Path) -> tuple[dict[str, Any], ShelfState, dict[str, int]]:
    """The facade's parameters, the fitted state and the log cursors saved at ``path``."""
    path = Path(path)
    manifest = read_manifest(path)
    try:
        dataset, added_on = _dataset(path, manifest)
        model_state = _read_npz(path / "model.npz")
        changes = _read_npz(path / "members.npz")
        model = MODEL_REGISTRY[manifest["model"]].from_state(manifest["model_params"], model_state)
        index = VectorIndex.load(path / "index") if isinstance(model, VectorModel) else None
    except ArtifactError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:  # faiss: Runtime
        raise ArtifactError(f"{path} is incomplete or corrupt: {exc}") from exc
    params = dict(manifest["recommender"])
    state = build_state(
        dataset,
        model,
        index_kind=params.get("index", "exact"),
        seed=int(params.get("seed", 0)),
        item_index=index,
        version=manifest["model_version"],
        added_on=added_on,
    )
    state.members.replay_changes(changes)
    cursors = {name: int(manifest.get(name, 0)) for name in ("event_seq", "change_seq")}
    return params, state, cursors
