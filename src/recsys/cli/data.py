"""Where a command's data comes from: ``synthetic``, a public dataset folder, or your files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recsys.cli._common import CLIError, step
from recsys.columns import Columns
from recsys.exceptions import SchemaError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd

    from recsys.datasets import RetailData

__all__ = ["TABLE_NAMES", "load_args_data", "load_data", "mark_pseudonyms", "pseudonymized"]

TABLE_NAMES = ("interactions", "catalog", "stores", "profiles")


def _read_table(folder: Path, name: str) -> pd.DataFrame | None:
    import pandas as pd

    for suffix in (".parquet", ".csv", ".csv.gz"):
        path = folder / f"{name}{suffix}"
        if path.exists():
            if suffix == ".parquet":
                table = pd.read_parquet(path)
                _check_columns(name, path, table)
                return table
            # ids as text: a CSV reader would turn member 01104905 into 1104905; times stay
            # text too, for the event schema to check (1900-2199, ISO 8601 or epoch seconds)
            ids = (Columns.USER, Columns.ITEM, Columns.STORE, Columns.EVENT_ID)
            try:
                frame = pd.read_csv(path, dtype={c: str for c in ids})
            except pd.errors.EmptyDataError:
                columns = ", ".join(REQUIRED[name])
                raise SchemaError(
                    f"{path} is empty: it needs at least a header row ({columns}, ...)"
                ) from None
            _check_columns(name, path, frame)
            return frame
    return None


#: columns each table of a data folder must have
REQUIRED: dict[str, tuple[str, ...]] = {
    "interactions": (Columns.USER, Columns.ITEM, Columns.KIND),
    "catalog": (Columns.ITEM,),
    "stores": (Columns.STORE, Columns.ITEM),
    "profiles": (Columns.USER,),
}


#: optional columns a table's reader knows (interactions: every event field)
_CATALOG_COLUMNS = (
    Columns.CATEGORY, Columns.PRICE, Columns.SEASON, Columns.AVAILABLE_FROM,
    Columns.AVAILABLE_TO, Columns.NAME, Columns.TAGS, Columns.GROUP,
)  # fmt: skip
#: what retail exports often call the columns recsys reads
_SYNONYMS: dict[str, str] = {
    "type": Columns.KIND, "event": Columns.KIND, "event_type": Columns.KIND,
    "action": Columns.KIND, "customer_id": Columns.USER, "member_id": Columns.USER,
    "household_key": Columns.USER, "sku": Columns.ITEM, "product_id": Columns.ITEM,
    "quantity": Columns.VALUE, "qty": Columns.VALUE, "time": Columns.TIMESTAMP,
    "date": Columns.TIMESTAMP, "store": Columns.STORE, "shop_id": Columns.STORE,
}  # fmt: skip


def _known_columns(name: str) -> tuple[str, ...]:
    from recsys.data.events import FIELD_NAMES

    optional = {"interactions": FIELD_NAMES, "catalog": _CATALOG_COLUMNS}.get(name, ())
    return tuple(dict.fromkeys((*REQUIRED[name], *optional)))  # each once, required first


def _check_columns(name: str, path: Path, frame: pd.DataFrame) -> None:
    """Raise :class:`SchemaError` naming the required columns a table lacks, a column that
    looks like a misspelt known one (``categroy``), and, in interactions, any column the
    event schema does not know, before anything is trained."""
    import difflib

    have = [str(c) for c in frame.columns]
    known = _known_columns(name)
    missing = [c for c in REQUIRED[name] if c not in have]
    unknown = [c for c in have if c not in known]

    def likely(col: str, among: Sequence[str], cutoff: float) -> str | None:
        synonym = _SYNONYMS.get(col.lower())
        if synonym in among:
            return synonym
        close = difflib.get_close_matches(col.lower(), among, n=1, cutoff=cutoff)
        return close[0] if close else None

    absent = [c for c in known if c not in have]
    renames = {c: likely(c, absent, 0.8) for c in unknown}
    for col in missing:  # a looser match for a required column than for an optional one
        if col not in renames.values():
            guess = next((c for c in unknown if likely(c, [col], 0.5)), None)
            if guess is not None:
                renames[guess] = col
    misspelt = {c: r for c, r in renames.items() if r is not None}
    extra = unknown if name == "interactions" else []
    if not (missing or misspelt or extra):
        return
    hint = ", ".join(f"{c!r} -> {r!r}?" for c, r in misspelt.items())
    problems = []
    if missing:
        problems.append(f"lacks the column(s) {missing}")
    if misspelt and not missing:
        problems.append("has a column that looks misspelt")
    other = [c for c in extra if c not in misspelt]
    if other:
        problems.append(f"has column(s) {other} that events do not have (known: {list(known)})")
    raise SchemaError(
        f"{path.name} {'; '.join(problems)}{f' (rename {hint})' if hint else ''}; it has "
        f"{have[:10]}. A data folder holds interactions (user_id, item_id, kind, optional "
        "value, timestamp, store_id) and optionally catalog, stores, profiles: see the "
        "README's Data section"
    )


def load_data(
    spec: str, *, n_users: int = 5000, n_items: int = 2000, n_stores: int = 20, seed: int = 0
) -> RetailData:
    """The data a command trains on: ``synthetic``, a shared data set folder, or a folder of files.

    Parameters
    ----------
    spec : str
        ``"synthetic"``; ``"completejourney"`` or ``"online_retail"`` (the public data
        sets, in :func:`~recsys.datasets.shared_data_dir`); a folder holding
        ``interactions.{parquet,csv}`` (and optionally ``catalog``, ``stores``,
        ``profiles``); or the Complete Journey / UCI Online Retail folders (recognised by
        their files).
    n_users, n_items, n_stores, seed : int
        Size of the synthetic chain.

    Returns
    -------
    RetailData
    """
    if spec == "synthetic":
        return _synthetic(n_users, n_items, n_stores, seed)
    folder = Path(spec).expanduser()
    if not folder.exists() and spec.lower() in SHARED_NAMES:
        folder = _shared_folder(spec)
    if not folder.exists():
        raise CLIError(f"--data {spec}: no such file or folder (use 'synthetic' or a folder)")
    if folder.is_file():
        folder = folder.parent
    public = _public_dataset(folder)
    if public is not None:
        return public
    return _from_files(spec, folder)


#: names of the public data sets, for ``--data``: their folder in the shared data folder
SHARED_NAMES: dict[str, str] = {
    "completejourney": "completejourney",
    "complete_journey": "completejourney",
    "online_retail": "uci-online-retail",
    "uci-online-retail": "uci-online-retail",
}


def _shared_folder(spec: str) -> Path:
    """The folder of a public data set named by ``--data`` (``completejourney``, ...)."""
    from recsys.datasets import shared_data_dir

    shared = shared_data_dir()
    if shared is None:
        raise CLIError(
            f"--data {spec}: no shared data folder (../shared/data or $RECSYS_SHARED_DATA)"
        )
    return shared / SHARED_NAMES[spec.lower()]


def _synthetic(n_users: int, n_items: int, n_stores: int, seed: int) -> RetailData:
    """The synthetic chain, with store assortments that fit ``n_items``."""
    from recsys import datasets

    per_store = (min(400, max(1, n_items // 2)), min(500, n_items))
    return datasets.synthetic_retail(
        n_users=n_users,
        n_items=n_items,
        n_stores=n_stores,
        seed=seed,
        items_per_store=per_store,
    )


def _public_dataset(folder: Path) -> RetailData | None:
    """The Complete Journey or UCI Online Retail, recognised by the folder's files, or None."""
    from recsys import datasets

    names = {p.name for p in folder.iterdir()}
    if any(n.startswith("transactions") for n in names) and any(
        n.startswith("products") for n in names
    ):
        return datasets.load_complete_journey(folder)
    if any(n.startswith("online_retail") for n in names):
        return datasets.load_online_retail(folder)
    return None


def _from_files(spec: str, folder: Path) -> RetailData:
    """A bundle of the folder's tables; absent optional tables are empty (catalog: bare ids)."""
    frames = {name: _read_table(folder, name) for name in TABLE_NAMES}
    if frames["interactions"] is None:
        raise CLIError(
            f"--data {spec}: no interactions.parquet / interactions.csv in {folder} "
            "(nor a Complete Journey or Online Retail folder)"
        )
    import pandas as pd

    from recsys.datasets import RetailData

    inter = frames["interactions"]
    assert inter is not None
    catalog = frames["catalog"]
    if catalog is None:
        catalog = pd.DataFrame({Columns.ITEM: inter[Columns.ITEM].drop_duplicates().to_numpy()})
    stores = frames["stores"]
    if stores is None:
        stores = pd.DataFrame(columns=[Columns.STORE, Columns.ITEM])
    profiles = frames["profiles"]
    if profiles is None:
        profiles = pd.DataFrame(columns=[Columns.USER])
    return RetailData(
        interactions=inter, catalog=catalog, stores=stores, profiles=profiles, name=folder.name
    )


def pseudonymized(data: RetailData) -> tuple[RetailData, Any]:
    from dataclasses import replace

    from recsys.privacy import PSEUDONYM_ENV, Pseudonymizer

    pseudo = Pseudonymizer.from_env()
    if pseudo is None:
        raise CLIError(f"--pseudonymize needs the key in the environment variable {PSEUDONYM_ENV}")
    profiles = data.profiles
    if len(profiles):
        profiles = pseudo.pseudonymize_frame(profiles)
    return replace(
        data, interactions=pseudo.pseudonymize_frame(data.interactions), profiles=profiles
    ), pseudo


def mark_pseudonyms(model_dir: Path, pseudo: Any) -> None:
    """Write (or remove a stale) pseudonym marker: the service checks it at start-up."""
    from recsys.privacy import PSEUDONYM_MARKER

    if pseudo is not None:
        pseudo.write_marker(model_dir)
    else:
        (model_dir / PSEUDONYM_MARKER).unlink(missing_ok=True)


def load_args_data(args: argparse.Namespace) -> RetailData:
    """:func:`load_data` of a command's ``--data`` and synthetic-size options, timed."""
    done = step(f"loading data {args.data!r}")
    data = load_data(
        args.data,
        n_users=args.n_users,
        n_items=args.n_items,
        n_stores=args.n_stores,
        seed=args.seed,
    )
    done()
    return data
