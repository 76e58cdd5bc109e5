"""Save and load a fitted :class:`~recsys.Recommender` as a directory of safe files.

Layout::

    manifest.json          format, versions, parameters, model_version, event_seq, cutoff
    data/*.parquet         the validated input frames (rebuilt into the same RetailDataset)
    model.npz              the model's learned arrays (allow_pickle=False)
    members.npz            every member's current rows and vectors (real-time updates kept)
    index/                 the FAISS item index (faiss.write_index + its JSON manifest)

The directory is written next to its destination and renamed into place, so a crash while
saving never leaves a half-written model where a service would load it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

import recsys
from recsys.data import EventWeights, RetailDataset
from recsys.exceptions import ArtifactError
from recsys.index import VectorIndex
from recsys.models import MODEL_REGISTRY

if TYPE_CHECKING:
    from recsys.recommender import Recommender

FORMAT = 1
FRAMES = ("interactions", "catalog", "stores", "profiles")


def _put_csr(out: dict[str, np.ndarray], name: str, m: sp.csr_matrix) -> None:
    m = sp.csr_matrix(m)
    out[f"{name}.data"] = m.data
    out[f"{name}.indices"] = m.indices
    out[f"{name}.indptr"] = m.indptr
    out[f"{name}.shape"] = np.asarray(m.shape, dtype=np.int64)


def _get_csr(arrays: Any, name: str) -> sp.csr_matrix:
    shape = tuple(int(v) for v in arrays[f"{name}.shape"])
    return sp.csr_matrix(
        (arrays[f"{name}.data"], arrays[f"{name}.indices"], arrays[f"{name}.indptr"]), shape=shape
    )


def _frames(rec: Recommender) -> dict[str, pd.DataFrame | None]:
    ds = rec.dataset_
    return {
        "interactions": ds.interactions,
        "catalog": ds.catalog.to_frame(),
        "stores": ds.assortment.to_frame(ds.stores, ds.items),
        "profiles": ds.profiles,
    }


def save_recommender(rec: Recommender, path: Path) -> Path:
    """Write ``rec`` to ``path`` atomically (see the module docstring for the layout)."""
    path = Path(path)
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "data").mkdir(parents=True)
    ds = rec.dataset_
    for name, frame in _frames(rec).items():
        if frame is not None:
            frame.to_parquet(tmp / "data" / f"{name}.parquet", index=False)
    np.savez(tmp / "model.npz", **rec.model_.get_state())
    snap = rec.members_.snapshot()
    arrays: dict[str, np.ndarray] = {
        "new_ids": np.asarray(snap["new_ids"], dtype=str),
        # the id orders the learned arrays refer to, checked against the rebuilt dataset
        "ids.members": np.asarray(ds.users.ids, dtype=str),
        "ids.items": np.asarray(ds.items.ids, dtype=str),
        "ids.stores": np.asarray(ds.stores.ids, dtype=str),
    }
    for key in ("confidence", "purchased", "features"):
        _put_csr(arrays, key, snap[key])
    if "vectors" in snap:
        arrays["vectors"] = np.asarray(snap["vectors"])
    np.savez(tmp / "members.npz", **arrays)
    if rec.model_.supports_vectors:
        rec.item_index_.save(tmp / "index")
    manifest = {
        "format": FORMAT,
        "recsys_version": recsys.__version__,
        "model": rec.model_.name,
        "model_params": rec.model_.get_params(),
        "recommender": {
            "model": rec.model,
            "factors": rec.factors,
            "seed": rec.seed,
            "on_unknown": rec.on_unknown,
            "index": rec.index,
            "live_boost": rec.live_boost,
            **rec.model_params,
        },
        "weights": dataclasses.asdict(ds.weights),
        "now": None if ds.now is None else str(ds.now),
        "model_version": rec.model_version_,
        "event_seq": int(rec.event_seq),
        "cutoff": None if ds.cutoff is None else str(ds.cutoff),
        "n_members": rec.n_members,
        "n_items": rec.n_items,
        "frames": [n for n, f in _frames(rec).items() if f is not None],
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    if path.exists():
        # Files that are not part of the artifact (the live event log, a pseudonym marker)
        # move over to the new directory: saving a model must never delete acknowledged
        # events. Same filesystem, so a server holding the log open keeps its file.
        written = {entry.name for entry in tmp.iterdir()}
        for entry in path.iterdir():
            if entry.name not in written and not entry.name.startswith("."):
                entry.rename(tmp / entry.name)
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
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{file} is not valid JSON: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise ArtifactError(
            f"{path} has artifact format {manifest.get('format')!r}; "
            f"this recsys reads format {FORMAT}"
        )
    return manifest


def load_recommender(cls: type[Recommender], path: Path) -> Recommender:
    """Rebuild a recommender saved by :func:`save_recommender`."""
    from recsys._members import MemberState

    path = Path(path)
    manifest = read_manifest(path)
    try:
        frames = {
            name: pd.read_parquet(path / "data" / f"{name}.parquet")
            if name in manifest["frames"]
            else None
            for name in FRAMES
        }
        model_state = dict(np.load(path / "model.npz", allow_pickle=False))
        members = np.load(path / "members.npz", allow_pickle=False)
        member_arrays = {k: members[k] for k in members.files}
    except (OSError, KeyError, ValueError) as exc:
        raise ArtifactError(f"{path} is incomplete or corrupt: {exc}") from exc
    dataset = RetailDataset.build(
        frames["interactions"],
        catalog=frames["catalog"],
        stores=frames["stores"],
        profiles=frames["profiles"],
        weights=EventWeights(**manifest["weights"]),
        now=manifest["now"],
    )
    for kind, idmap in (
        ("members", dataset.users),
        ("items", dataset.items),
        ("stores", dataset.stores),
    ):
        saved = member_arrays[f"ids.{kind}"]
        if saved.shape[0] != len(idmap) or not (saved == np.asarray(idmap.ids, dtype=str)).all():
            raise ArtifactError(
                f"{path}: the rebuilt {kind} do not match the saved ones; re-save the model"
            )
    model = MODEL_REGISTRY[manifest["model"]].from_state(manifest["model_params"], model_state)
    rec = cls(**manifest["recommender"])
    item_index = VectorIndex.load(path / "index") if model.supports_vectors else None
    rec._install(dataset, model, event_seq=int(manifest["event_seq"]), item_index=item_index)
    rec.model_version_ = manifest["model_version"]

    n0 = len(dataset.users)
    conf = _get_csr(member_arrays, "confidence")
    bought = _get_csr(member_arrays, "purchased")
    feats = _get_csr(member_arrays, "features")
    vectors = member_arrays.get("vectors")
    state = MemberState(
        dataset.users, conf[:n0], bought[:n0], feats[:n0], None if vectors is None else vectors[:n0]
    )
    new_ids = [str(m) for m in member_arrays["new_ids"].tolist()]
    if new_ids:
        idx = state.add_members(new_ids, feats[n0:])
        rows = [bought[i].indices.astype(np.int64) for i in range(n0, conf.shape[0])]
        state.set_rows(idx, conf[n0:], rows, None if vectors is None else vectors[n0:])
    rec.members_ = state
    return rec
