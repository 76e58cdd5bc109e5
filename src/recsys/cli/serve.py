"""``recsys serve``, ``recsys recommend`` and ``recsys demo``: a saved model at work."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from recsys.cli._common import CLIError, step, table
from recsys.cli.data import load_data, mark_pseudonyms
from recsys.cli.train import fit
from recsys.columns import Columns
from recsys.settings import ENV_FAILURE_FILE, ENV_MODEL_DIR

__all__ = ["SERVICE_IMPORT", "cmd_demo", "cmd_forget", "cmd_recommend", "cmd_serve"]

SERVICE_IMPORT = "recsys.serving.service:RecsysService"
_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _serve(model_dir: Path, host: str, port: int) -> int:
    if not model_dir.is_dir():
        raise CLIError(f"{model_dir}: no saved model here (train one with `recsys train`)")
    from recsys.serving.exposure import OpenBindError, check_exposure
    from recsys.settings import read_settings

    settings = read_settings()
    try:
        check_exposure(host, settings.secret("api_key"), settings.allow_open)
    except OpenBindError as exc:
        raise CLIError(str(exc)) from exc
    with tempfile.TemporaryDirectory(prefix="recsys-serve-") as run:
        failure = Path(run) / "failure.txt"
        env = {
            **os.environ,
            ENV_MODEL_DIR: str(model_dir.resolve()),
            ENV_FAILURE_FILE: str(failure),
        }
        env.setdefault("OPENBLAS_NUM_THREADS", "1")
        cmd = [sys.executable, "-m", "bentoml", "serve", SERVICE_IMPORT]
        reload_url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
        output = _HeldOutput(f"{reload_url}/readyz")
        code = _run_forwarding([*cmd, "--host", host, "--port", str(port)], env, reload_url, output)
        if failure.is_file() and failure.read_text().strip():
            if settings.debug:
                output.release(sys.stderr.buffer)  # every worker's traceback
            else:
                print(
                    "recsys serve: the server's output was held back (RECSYS_DEBUG=1 shows it)",
                    file=sys.stderr,
                )
            raise CLIError(f"the service could not start: {failure.read_text().strip()}")
        output.release(sys.stdout.buffer)  # it stopped before it was ready: say why
        return code


class _HeldOutput:
    """The server's output, held back until it is ready (``/readyz`` answers 200), then
    passed through: a start that fails says one line, not every worker's traceback."""

    def __init__(self, ready_url: str) -> None:
        self._url = ready_url
        self._held: list[bytes] = []
        self._lock = threading.Lock()
        self._ready = False

    def pump(self, stream: Any, sink: Any, child: subprocess.Popen[bytes]) -> None:
        """Copy ``stream`` to ``sink`` line by line (held while not ready); thread."""
        threading.Thread(target=self._watch, args=(child, sink), daemon=True).start()
        for line in iter(stream.readline, b""):
            with self._lock:
                if self._ready:
                    sink.write(line)
                    sink.flush()
                elif len(self._held) < 100_000:
                    self._held.append(line)

    def _watch(self, child: subprocess.Popen[bytes], sink: Any) -> None:
        import urllib.request

        while child.poll() is None:
            try:
                with urllib.request.urlopen(self._url, timeout=2) as answer:
                    if answer.status == 200:
                        self.release(sink)
                        return
            except OSError:
                pass
            time.sleep(0.25)

    def release(self, sink: Any) -> None:
        """Write what was held and pass the rest through from now on."""
        with self._lock:
            if self._ready:
                return
            self._ready = True
            sink.writelines(self._held)
            sink.flush()
            self._held = []


def _run_forwarding(cmd: list[str], env: dict[str, str], url: str, output: _HeldOutput) -> int:
    """Run ``bentoml serve`` and pass SIGTERM and SIGINT on to it, so stopping this command
    stops the server and every worker (BentoML drains and exits). SIGHUP reloads the model
    (``POST /admin/reload`` to ``url``), the way daemons reread their files. The server's
    output goes through ``output``."""
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    pump = threading.Thread(
        target=output.pump, args=(child.stdout, sys.stdout.buffer, child), daemon=True
    )
    pump.start()

    def forward(signum: int, _frame: object) -> None:
        if signum == signal.SIGHUP:
            threading.Thread(target=_reload, args=(url,), daemon=True).start()
        elif child.poll() is None:
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in _FORWARDED}
    try:
        while True:
            try:
                code = child.wait()
                pump.join(timeout=5)  # the last lines
                return code
            except KeyboardInterrupt:  # a second Ctrl-C while the server drains
                forward(signal.SIGINT, None)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _reload(url: str) -> None:
    """Ask the local server to reload its model (SIGHUP); say what happened on stderr."""
    import urllib.error
    import urllib.request

    from recsys.settings import read_settings

    key = read_settings().secret("api_key")
    request = urllib.request.Request(
        f"{url}/admin/reload",
        data=b"{}",
        method="POST",
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {key}"} if key else {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=600) as resp:
            answer = json.loads(resp.read())
        print(f"recsys serve: reloaded, now {answer['model_version']}", file=sys.stderr)
    except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
        print(f"recsys serve: reload failed: {exc}", file=sys.stderr)


def cmd_serve(args: argparse.Namespace) -> int:
    _check_serve_extra()
    return _serve(Path(args.model_dir), args.host, args.port)


def _check_serve_extra() -> None:
    import importlib.util

    if importlib.util.find_spec("bentoml") is None:
        raise CLIError("serving needs BentoML: pip install 'recsys[serve]'")


def cmd_forget(args: argparse.Namespace) -> int:
    """Erase one member as ``POST /forget`` does: event log, model, saved directory."""
    _check_serve_extra()
    from recsys.serving.runtime import RecsysRuntime
    from recsys.serving.settings import ServiceSettings, default_event_log

    model_dir = Path(args.model_dir).expanduser().resolve()
    if not model_dir.is_dir():
        raise CLIError(f"{model_dir}: no saved model here")
    from recsys.privacy import Pseudonymizer

    settings = ServiceSettings(
        model_dir=model_dir,
        event_log=Path(args.events).resolve() if args.events else default_event_log(model_dir),
        pseudonymizer=Pseudonymizer.from_env(),
    )
    runtime = RecsysRuntime(settings)
    try:
        result = runtime.forget(args.member)
    finally:
        runtime.close()
    print(json.dumps({"forgotten": result.forgotten, "change_seq": result.change_seq}))
    return 0


def cmd_recommend(args: argparse.Namespace) -> int:
    from recsys.privacy import PSEUDONYM_ENV, Pseudonymizer

    model_dir = Path(args.model_dir)
    if not model_dir.is_dir():
        raise CLIError(f"{model_dir}: no such model directory")
    profile = dict(_tag(t) for t in args.profile) if args.profile else None
    if args.member is None and profile is None:
        raise CLIError("give --member ID or --profile tag=value")
    if args.events is not None:
        shelf, version = _recommend_live(model_dir, Path(args.events), args, profile)
    else:
        from recsys.recommender import Recommender
        from recsys.serving.settings import default_event_log

        rec = Recommender.load(model_dir)
        member = args.member
        pseudo = Pseudonymizer.from_env()
        if Pseudonymizer.read_marker(model_dir) is not None:
            if pseudo is None:
                raise CLIError(f"this model uses pseudonymized member ids: set {PSEUDONYM_ENV}")
            pseudo.check_marker(model_dir)
            member = pseudo(member) if member is not None else None
        shelf = rec.recommend(member, k=args.k, store_id=args.store, profile=profile)
        version = rec.model_version
        log = default_event_log(model_dir.resolve())
        if log.is_file():
            print(
                f"note: the shelf of the model as trained; pass --events {log} for the one "
                "`recsys serve` gives now, with the events logged since",
                file=sys.stderr,
            )
    if args.json:
        items = [r.to_dict() for r in shelf]
        print(json.dumps({"items": items, "model_version": version}, indent=2))
        return 0
    rows = [
        {"#": i + 1, "item_id": r.item_id, "score": r.score, "reason": r.reason}
        for i, r in enumerate(shelf)
    ]
    print(table(rows) if rows else "(no items pass the filters)")
    return 0


def _recommend_live(
    model_dir: Path, log: Path, args: argparse.Namespace, profile: dict[str, str] | None
) -> tuple[list[Any], str]:
    """The shelf ``recsys serve`` would give now: the model with the log's events since."""
    _check_serve_extra()
    from recsys.privacy import Pseudonymizer
    from recsys.serving.runtime import RecsysRuntime
    from recsys.serving.settings import ServiceSettings

    if not log.is_file():  # opening a missing path would create an empty log
        raise CLIError(f"--events {log}: no event log there")
    settings = ServiceSettings(
        model_dir=model_dir.expanduser().resolve(),
        event_log=log.resolve(),
        pseudonymizer=Pseudonymizer.from_env(),
    )
    runtime = RecsysRuntime(settings)  # replays what the model has not seen
    try:
        shelf = runtime.recommend(args.member, args.k, store_id=args.store, profile=profile)
        return shelf, runtime.model_version
    finally:
        runtime.close()


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
    done = step("1/3 generating data")
    data = load_data(
        "synthetic",
        n_users=args.n_users,
        n_items=args.n_items,
        n_stores=args.n_stores,
        seed=args.seed,
    )
    done()
    done = step(f"2/3 training the default blend (factors={args.factors})")
    rec = fit(data, "blend", args.factors, args.seed)
    done()
    done = step(f"3/3 saving to {out}")
    rec.save(out)
    mark_pseudonyms(out, None)
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
