"""The ``recsys`` command: ``demo``, ``train``, ``evaluate``, ``serve``, ``recommend``.

Examples
--------
::

    recsys demo                                  # synthetic chain -> ./demo_model -> http://127.0.0.1:3000
    recsys train --data synthetic --out model/   # or --data PATH (a folder of CSV/Parquet files)
    recsys evaluate --data synthetic --models popular,ease,hybrid
    recsys serve model/ --port 3000
    recsys recommend model/ --member u42 --store s3 --k 5

Errors print one line to stderr and exit with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recsys.columns import Columns
from recsys.exceptions import InvalidInputError, RecsysError

if TYPE_CHECKING:
    import pandas as pd

    from recsys.datasets import RetailData
    from recsys.recommender import Recommender

__all__ = ["build_parser", "main"]

MODELS = ("als", "bpr", "itemknn", "ease", "popular", "profile", "hybrid")
TABLE_NAMES = ("interactions", "catalog", "stores", "profiles")
SERVICE_IMPORT = "recsys.serving.service:RecsysService"
EXIT_ERROR = 2


class CLIError(Exception):
    """A user-facing error of the command line (one line, exit status 2)."""


_pending_step: list[bool] = [False]  # a "message ..." line waits for its "done"


def _step(message: str) -> Callable[[], None]:
    """Print ``message ...`` now and ``done (1.2 s)`` when the returned callable is called."""
    print(f"{message} ...", end=" ", flush=True)
    _pending_step[0] = True
    start = time.perf_counter()

    def done() -> None:
        print(f"done ({time.perf_counter() - start:.1f} s)", flush=True)
        _pending_step[0] = False

    return done


# --------------------------------------------------------------------------- data
def _read_table(folder: Path, name: str) -> pd.DataFrame | None:
    import pandas as pd

    for suffix in (".parquet", ".csv", ".csv.gz"):
        path = folder / f"{name}{suffix}"
        if path.exists():
            if suffix == ".parquet":
                return pd.read_parquet(path)
            frame = pd.read_csv(
                path, dtype={c: str for c in (Columns.USER, Columns.ITEM, Columns.STORE)}
            )
            if name == "interactions" and Columns.TIMESTAMP in frame:
                frame[Columns.TIMESTAMP] = pd.to_datetime(frame[Columns.TIMESTAMP])
            return frame
    return None


def load_data(
    spec: str, *, n_users: int = 5000, n_items: int = 2000, n_stores: int = 20, seed: int = 0
) -> RetailData:
    """The data a command trains on: ``synthetic``, a shared data set folder, or a folder of files.

    Parameters
    ----------
    spec : str
        ``"synthetic"``; a folder holding ``interactions.{parquet,csv}`` (and optionally
        ``catalog``, ``stores``, ``profiles``); or the Complete Journey / UCI Online Retail
        folders (recognised by their files).
    n_users, n_items, n_stores, seed : int
        Size of the synthetic chain.

    Returns
    -------
    RetailData
    """
    from recsys import datasets

    if spec == "synthetic":
        per_store = (min(400, max(1, n_items // 2)), min(500, n_items))
        return datasets.synthetic_retail(
            n_users=n_users,
            n_items=n_items,
            n_stores=n_stores,
            seed=seed,
            items_per_store=per_store,
        )
    folder = Path(spec).expanduser()
    if not folder.exists():
        raise CLIError(f"--data {spec}: no such file or folder (use 'synthetic' or a folder)")
    if folder.is_file():
        folder = folder.parent
    names = {p.name for p in folder.iterdir()}
    if any(n.startswith("transactions") for n in names) and any(
        n.startswith("products") for n in names
    ):
        return datasets.load_complete_journey(folder)
    if any(n.startswith("online_retail") for n in names):
        return datasets.load_online_retail(folder)
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


def _pseudonymized(data: RetailData) -> tuple[RetailData, Any]:
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


def _mark_pseudonyms(model_dir: Path, pseudo: Any) -> None:
    """Write (or remove a stale) pseudonym marker: the service checks it at start-up."""
    from recsys.privacy import PSEUDONYM_MARKER

    if pseudo is not None:
        pseudo.write_marker(model_dir)
    else:
        (model_dir / PSEUDONYM_MARKER).unlink(missing_ok=True)


def _fit(data: RetailData, model: str, factors: int, seed: int, **params: Any) -> Recommender:
    from recsys.recommender import Recommender

    return Recommender(model=model, factors=factors, seed=seed, **params).fit(data)


# --------------------------------------------------------------------------- evaluation
def _evaluate(
    rec: Recommender, train: pd.DataFrame, test: pd.DataFrame, k: int
) -> dict[str, float]:
    """``recsys.evaluation.evaluate`` when it exists, else ranking metrics of known members."""
    from recsys import evaluation

    evaluate = getattr(evaluation, "evaluate", None)
    if evaluate is not None:
        return dict(evaluate(rec, train, test, k=k))
    known = set(train[Columns.USER].unique())
    relevant = (
        test[test[Columns.USER].isin(known)].groupby(Columns.USER)[Columns.ITEM].agg(set).to_dict()
    )
    members = sorted(relevant)
    shelves = rec.recommend_batch(members, k=k)
    recs = {m: [r.item_id for r in s] for m, s in zip(members, shelves, strict=True)}
    return evaluation.ranking_metrics(recs, relevant, k)


def _split(data: RetailData, test_fraction: float) -> tuple[RetailData, pd.DataFrame]:
    from dataclasses import replace

    from recsys.evaluation import temporal_split

    train, test = temporal_split(data.interactions, test_fraction=test_fraction)
    return replace(data, interactions=train), test


def _table(rows: list[dict[str, Any]]) -> str:
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


def _tune(data: RetailData, model: str, seed: int, k: int = 10) -> dict[str, Any]:
    """Pick factors / regularization on a temporal validation split by NDCG@k."""
    train, test = _split(data, 0.2)
    grid = [{"factors": f, "regularization": r} for f in (32, 64, 128) for r in (0.01, 0.1)]
    if model in ("popular", "itemknn", "ease"):
        print(f"--tune: {model} has no factors to tune; training with defaults")
        return {}
    rows: list[dict[str, Any]] = []
    best: tuple[float, dict[str, Any]] = (-1.0, {})
    from tqdm import tqdm

    for params in tqdm(grid, desc="tuning", unit="fit"):
        params = dict(params)
        factors = params.pop("factors")
        try:
            rec = _fit(train, model, factors, seed, **params)
        except TypeError:  # the model takes no regularization
            rec = _fit(train, model, factors, seed)
            params = {}
        score = _evaluate(rec, train.interactions, test, k).get("ndcg", 0.0)
        rows.append({"factors": factors, **params, f"ndcg@{k}": float(score)})
        if score > best[0]:
            best = (float(score), {"factors": factors, **params})
    print(_table(rows))
    print(f"best: {best[1]} (ndcg@{k} {best[0]:.4f})")
    return best[1]


# --------------------------------------------------------------------------- commands
def cmd_train(args: argparse.Namespace) -> int:
    done = _step(f"loading data {args.data!r}")
    data = load_data(
        args.data,
        n_users=args.n_users,
        n_items=args.n_items,
        n_stores=args.n_stores,
        seed=args.seed,
    )
    done()
    print(repr(data))
    pseudo = None
    if args.pseudonymize:
        done = _step("pseudonymizing member ids")
        data, pseudo = _pseudonymized(data)
        done()
    params: dict[str, Any] = {"factors": args.factors}
    if args.tune:
        params.update(_tune(data, args.model, args.seed))
    factors = params.pop("factors")
    done = _step(f"training {args.model} (factors={factors})")
    rec = _fit(data, args.model, factors, args.seed, **params)
    done()
    out = Path(args.out)
    done = _step(f"saving to {out}")
    rec.save(out)
    _mark_pseudonyms(out, pseudo)
    done()
    print(f"{rec!r}, model_version {rec.model_version}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    done = _step(f"loading data {args.data!r}")
    data = load_data(
        args.data,
        n_users=args.n_users,
        n_items=args.n_items,
        n_stores=args.n_stores,
        seed=args.seed,
    )
    done()
    train, test = _split(data, args.test_fraction)
    rows = []
    from tqdm import tqdm

    for model in tqdm(args.models.split(","), desc="models", unit="model"):
        model = model.strip()
        if model not in MODELS:
            raise CLIError(f"unknown model {model!r}; choose from {', '.join(MODELS)}")
        start = time.perf_counter()
        rec = _fit(train, model, args.factors, args.seed)
        seconds = time.perf_counter() - start
        metrics = _evaluate(rec, train.interactions, test, args.k)
        rows.append(
            {
                "model": model,
                **{f"{m}@{args.k}": float(v) for m, v in metrics.items()},
                "fit_s": round(seconds, 2),
            }
        )
    print(_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def _serve(model_dir: Path, host: str, port: int) -> int:
    if not model_dir.is_dir():
        raise CLIError(f"{model_dir}: no saved model here (train one with `recsys train`)")
    env = {**os.environ, "RECSYS_MODEL_DIR": str(model_dir.resolve())}
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    cmd = [
        sys.executable,
        "-m",
        "bentoml",
        "serve",
        SERVICE_IMPORT,
        "--host",
        host,
        "--port",
        str(port),
    ]
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 0


def cmd_serve(args: argparse.Namespace) -> int:
    _check_serve_extra()
    return _serve(Path(args.model_dir), args.host, args.port)


def _check_serve_extra() -> None:
    import importlib.util

    if importlib.util.find_spec("bentoml") is None:
        raise CLIError("serving needs BentoML: pip install 'recsys[serve]'")


def cmd_recommend(args: argparse.Namespace) -> int:
    from recsys.privacy import PSEUDONYM_ENV, Pseudonymizer
    from recsys.recommender import Recommender

    model_dir = Path(args.model_dir)
    if not model_dir.is_dir():
        raise CLIError(f"{model_dir}: no such model directory")
    rec = Recommender.load(model_dir)
    member = args.member
    pseudo = Pseudonymizer.from_env()
    if Pseudonymizer.read_marker(model_dir) is not None:
        if pseudo is None:
            raise CLIError(f"this model uses pseudonymized member ids: set {PSEUDONYM_ENV}")
        pseudo.check_marker(model_dir)
        member = pseudo(member) if member is not None else None
    profile = dict(_tag(t) for t in args.profile) if args.profile else None
    if member is None and profile is None:
        raise CLIError("give --member ID or --profile tag=value")
    shelf = rec.recommend(member, k=args.k, store_id=args.store, profile=profile)
    if args.json:
        print(
            json.dumps(
                {"items": [r.to_dict() for r in shelf], "model_version": rec.model_version},
                indent=2,
            )
        )
        return 0
    rows = [
        {"#": i + 1, "item_id": r.item_id, "score": r.score, "reason": r.reason}
        for i, r in enumerate(shelf)
    ]
    print(_table(rows) if rows else "(no items pass the filters)")
    return 0


def _tag(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise CLIError(f"--profile expects tag=value, got {text!r}")
    return name, value


def cmd_demo(args: argparse.Namespace) -> int:
    out = Path(args.out)
    print(
        f"recsys demo: a synthetic fashion chain of {args.n_users:,} members, "
        f"{args.n_items:,} SKUs, {args.n_stores} stores"
    )
    done = _step("1/3 generating data")
    data = load_data(
        "synthetic",
        n_users=args.n_users,
        n_items=args.n_items,
        n_stores=args.n_stores,
        seed=args.seed,
    )
    done()
    done = _step(f"2/3 training the hybrid model (factors={args.factors})")
    rec = _fit(data, "hybrid", args.factors, args.seed)
    done()
    done = _step(f"3/3 saving to {out}")
    rec.save(out)
    _mark_pseudonyms(out, None)
    done()
    member = str(data.interactions[Columns.USER].iloc[0])
    store = str(data.stores[Columns.STORE].iloc[0])
    item = str(data.catalog[Columns.ITEM].iloc[0])
    shelf = rec.recommend(member, k=5, store_id=store)
    print(f"\n{member}'s shelf in store {store}:")
    for r in shelf:
        print(f"  {r.item_id:<10} {r.score:7.3f}  {r.reason}")
    url = f"http://{args.host}:{args.port}"
    print(_curl_examples(url, member, store, item))
    if args.no_serve:
        return 0
    _check_serve_extra()
    print(f"serving on {url} (OpenAPI docs at {url}/docs); Ctrl-C to stop")
    return _serve(out, args.host, args.port)


def _curl_examples(url: str, member: str, store: str, item: str) -> str:
    def call(route: str, body: dict[str, Any]) -> str:
        return (
            f"  curl -s -X POST {url}/{route} -H 'Content-Type: application/json' "
            f"-d '{json.dumps(body)}'"
        )

    return "\n".join(
        [
            "\ntry:",
            call("recommend", {"member_id": member, "store_id": store, "k": 5}),
            call(
                "recommend",
                {"profile": {"age_band": "25-34", "family": "kids"}, "store_id": store, "k": 5},
            ),
            call("similar", {"item_id": item, "k": 5, "store_id": store}),
            call("audience", {"item_id": item, "k": 10}),
            call(
                "events",
                {
                    "events": [
                        {
                            "user_id": member,
                            "item_id": item,
                            "kind": "view",
                            "value": 40,
                            "store_id": store,
                        }
                    ]
                },
            ),
            "",
        ]
    )


# --------------------------------------------------------------------------- parser
def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _port(text: str) -> int:
    value = _positive(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"port must be 1..65535, got {text}")
    return value


def _add_size(p: argparse.ArgumentParser, n_users: int, n_items: int, n_stores: int) -> None:
    g = p.add_argument_group("synthetic data size")
    g.add_argument("--n-users", type=_positive, default=n_users, help="members (synthetic)")
    g.add_argument("--n-items", type=_positive, default=n_items, help="SKUs (synthetic)")
    g.add_argument("--n-stores", type=_positive, default=n_stores, help="stores (synthetic)")
    p.add_argument("--seed", type=int, default=0, help="random seed")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # exit 2 with one line, as argparse does
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``recsys`` command."""
    from recsys import __version__

    parser = _Parser(prog="recsys", description="Personal shelves for every retail member.")
    parser.add_argument("--version", action="version", version=f"recsys {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("demo", help="synthetic data -> hybrid model -> HTTP service")
    p.add_argument("--out", default="demo_model", help="model directory (default ./demo_model)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=3000, help="port (default 3000)")
    p.add_argument("--factors", type=_positive, default=64, help="latent factors")
    p.add_argument("--no-serve", action="store_true", help="train and save, don't serve")
    _add_size(p, 5000, 2000, 20)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("train", help="train a model and save it to a directory")
    p.add_argument("--data", required=True, help="'synthetic' or a data folder")
    p.add_argument("--out", required=True, help="model directory to write")
    p.add_argument("--model", choices=MODELS, default="hybrid")
    p.add_argument("--factors", type=_positive, default=64)
    p.add_argument(
        "--tune",
        action="store_true",
        help="pick factors/regularization by NDCG@10 on a temporal split",
    )
    p.add_argument(
        "--pseudonymize",
        action="store_true",
        help="hash member ids with the key in RECSYS_PSEUDONYM_KEY",
    )
    _add_size(p, 5000, 2000, 20)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="compare models on a temporal split")
    p.add_argument("--data", default="synthetic", help="'synthetic' or a data folder")
    p.add_argument("--models", default="popular,ease,als,hybrid", help="comma-separated models")
    p.add_argument("--k", type=_positive, default=10)
    p.add_argument("--factors", type=_positive, default=64)
    p.add_argument("--test-fraction", type=float, default=0.2)
    p.add_argument("--json", help="also write the table as JSON to this file")
    _add_size(p, 5000, 2000, 20)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("serve", help="serve a saved model over HTTP (bentoml serve)")
    p.add_argument("model_dir", help="directory written by `recsys train`")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=3000)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("recommend", help="print one member's shelf from a saved model")
    p.add_argument("model_dir")
    p.add_argument("--member", help="member id")
    p.add_argument("--store", help="store id")
    p.add_argument("--profile", nargs="*", metavar="TAG=VALUE", help="profile tags")
    p.add_argument("--k", type=_positive, default=10)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_recommend)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``recsys`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (CLIError, RecsysError, InvalidInputError, OSError) as exc:
        if _pending_step[0]:
            print("failed", flush=True)
            _pending_step[0] = False
        print(f"recsys {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not a user error: still one line unless debugging
        if os.environ.get("RECSYS_DEBUG"):
            raise
        if _pending_step[0]:
            print("failed", flush=True)
            _pending_step[0] = False
        print(
            f"recsys {args.command}: unexpected {type(exc).__name__}: {exc} "
            "(set RECSYS_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
