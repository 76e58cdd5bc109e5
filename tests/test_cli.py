"""The ``recsys`` command line: train, recommend, demo, evaluate, and its error exits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from recsys.cli import load_data, main
from recsys.columns import Columns
from recsys.privacy import PSEUDONYM_ENV
from recsys.recommender import Recommender

SMALL = ["--n-users", "300", "--n-items", "200", "--n-stores", "3", "--factors", "16"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "model"
    assert main(["train", "--data", "synthetic", "--out", str(out), *SMALL]) == 0
    return out


def _member_and_store() -> tuple[str, str]:
    data = load_data("synthetic", n_users=300, n_items=200, n_stores=3)
    return str(data.interactions[Columns.USER].iloc[0]), str(data.stores[Columns.STORE].iloc[0])


def test_train_then_recommend_json(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    member, store = _member_and_store()
    capsys.readouterr()
    code = main(
        ["recommend", str(model_dir), "--member", member, "--store", store, "--k", "4", "--json"]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["items"]) == 4 and out["model_version"]


def test_recommend_table_and_profile(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recommend", str(model_dir), "--profile", "age_band=25-34", "--k", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split()[:2] == ["#", "item_id"] and len(lines) == 2 + 3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["recommend", "/no/such/model", "--member", "u1"], "no such model directory"),
        (["serve", "/no/such/model"], "no saved model"),
        (["train", "--data", "/no/such/folder", "--out", "x"], "no such file or folder"),
    ],
)
def test_errors_are_one_line_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_unknown_store_is_a_clean_error(
    model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["recommend", str(model_dir), "--member", "u1", "--store", "s-nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown store 's-nope'" in err and len(err.strip().splitlines()) == 1


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["recommend", "m", "--k", "0"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2


def test_train_from_a_folder_of_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = load_data("synthetic", n_users=300, n_items=200, n_stores=3)
    folder = tmp_path / "data"
    folder.mkdir()
    data.interactions.to_csv(folder / "interactions.csv", index=False)
    data.catalog.to_csv(folder / "catalog.csv", index=False)
    data.stores.to_parquet(folder / "stores.parquet")
    data.profiles.to_csv(folder / "profiles.csv", index=False)
    out = tmp_path / "model"
    assert main(["train", "--data", str(folder), "--out", str(out), "--model", "ease"]) == 0
    member = str(data.interactions[Columns.USER].iloc[0])
    assert main(["recommend", str(out), "--member", member, "--json"]) == 0


def test_a_data_folder_with_a_misnamed_column_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "interactions.csv").write_text("usr_id,item_id,kind\n01104905,s1,view\n")
    assert main(["train", "--data", str(folder), "--out", str(tmp_path / "m")]) != 0
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "lacks the column(s) ['user_id']" in err and "'usr_id' -> 'user_id'" in err
    # read as text: the leading zero survives into the model
    (folder / "interactions.csv").write_text(
        "user_id,item_id,kind\n01104905,s1,view\n01104906,s2,purchase\n01104905,s2,view\n"
    )
    out = tmp_path / "model"
    assert main(["train", "--data", str(folder), "--out", str(out), "--model", "popular"]) == 0
    assert "01104905" in set(Recommender.load(out).members_.ids().tolist())


@pytest.mark.parametrize(
    ("table", "text", "said"),
    [
        ("interactions.csv", "user_id,item_id,type\nu1,s1,view\n", "'type' -> 'kind'?"),
        ("catalog.csv", "item_id,categroy,price\ns1,shirts,20\n", "'categroy' -> 'category'?"),
        ("interactions.csv", "user_id,item_id,kind,colour\nu1,s1,view,red\n", "['colour']"),
        ("catalog.csv", "", "catalog.csv is empty: it needs at least a header row (item_id"),
        ("interactions.csv", "", "is empty: it needs at least a header row (user_id, item_id"),
    ],
)
def test_a_misspelt_or_unknown_column_is_named_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str, text: str, said: str
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "interactions.csv").write_text("user_id,item_id,kind\nu1,s1,view\nu2,s1,view\n")
    (folder / table).write_text(text)
    assert main(["train", "--data", str(folder), "--out", str(tmp_path / "m")]) != 0
    err = capsys.readouterr().err
    assert said in err.strip().splitlines()[-1], err
    assert "training" not in err  # refused while loading, before any fit
    if "known: " in err:  # each known column once
        known = err.split("known: ")[1].split("]")[0]
        assert known.count("'user_id'") == 1, known


def test_pseudonymized_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model"
    monkeypatch.delenv(PSEUDONYM_ENV, raising=False)
    argv = ["train", "--data", "synthetic", "--out", str(out), "--pseudonymize", *SMALL]
    assert main(argv) == 2
    assert PSEUDONYM_ENV in capsys.readouterr().err
    monkeypatch.setenv(PSEUDONYM_ENV, "cli-test-key-0123456789")
    assert main(argv) == 0
    assert (out / "pseudonym.json").exists()
    member, store = _member_and_store()
    capsys.readouterr()
    assert main(["recommend", str(out), "--member", member, "--store", store, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["items"]
    monkeypatch.delenv(PSEUDONYM_ENV)
    assert main(["recommend", str(out), "--member", member]) == 2
    assert PSEUDONYM_ENV in capsys.readouterr().err


def test_demo_without_serving(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo_model"
    assert main(["demo", "--no-serve", "--out", str(out), *SMALL]) == 0
    text = capsys.readouterr().out
    assert "curl" in text and "/recommend" in text and "127.0.0.1:3000" in text
    assert out.is_dir()


def test_evaluate_prints_a_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    report = tmp_path / "eval.json"
    argv = ["evaluate", "--models", "popular,ease", "--json", str(report), *SMALL]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "popular" in out and "ease" in out
    rows = json.loads(report.read_text())
    assert [r["model"] for r in rows] == ["popular", "ease"]
    assert all(0 <= r["ndcg"] <= 1 for r in rows)


def test_train_tune_saves_the_chosen_parameters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tuned"
    argv = ["train", "--data", "synthetic", "--out", str(out), "--model", "als", "--tune"]
    assert main([*argv, *SMALL]) == 0
    text = capsys.readouterr().out
    best = text[text.index("best: ") :].splitlines()[0]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["recommender"]["factors"] == 16  # a given --factors is kept, not searched
    for name, value in manifest["model_params"].items():
        if f"'{name}'" in best:
            assert f"'{name}': {value}" in best


def test_evaluate_report_quick_writes_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "evaluate",
        "--report",
        "--quick",
        "--datasets",
        "synthetic",
        "--out-dir",
        str(tmp_path),
    ]
    assert main(argv) == 0
    table = (tmp_path / "quality.md").read_text()
    assert "implicit-als-defaults" in table and "hybrid" in table
    assert main(["evaluate", "--report", "--datasets", "nope", "--out-dir", str(tmp_path)]) == 2


def test_recommend_replays_the_event_log_when_given(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from recsys.events import EventLog

    member, store = _member_and_store()
    argv = ["recommend", str(model_dir), "--member", member, "--store", store, "--k", "5"]

    def shelf(*extra: str) -> list[str]:
        capsys.readouterr()
        assert main([*argv, "--json", *extra]) == 0
        return [i["item_id"] for i in json.loads(capsys.readouterr().out)["items"]]

    trained = shelf()
    log_path = tmp_path / "events.sqlite"
    log = EventLog(log_path)
    log.append([{"user_id": member, "item_id": sku, "kind": "purchase"} for sku in trained[:2]])
    log.close()
    live = shelf("--events", str(log_path))
    assert not set(trained[:2]) & set(live) and len(live) == 5  # bought since: off the shelf
    assert shelf() == trained  # the saved model is as it was
    assert main([*argv, "--events", str(tmp_path / "nothing.sqlite")]) == 2
    assert "no event log there" in capsys.readouterr().err
    assert not (tmp_path / "nothing.sqlite").exists()


def test_a_warning_is_one_line_on_the_command_line(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    data = load_data("synthetic", n_users=60, n_items=40, n_stores=2)
    frame = data.interactions.assign(user_id=range(len(data.interactions)))  # numbers
    frame.to_parquet(folder / "interactions.parquet")
    run = subprocess.run(
        [sys.executable, "-c", "from recsys.cli import main; raise SystemExit(main())",
         "train", "--data", str(folder), "--out", str(tmp_path / "m"), "--model", "popular"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    warned = [line for line in run.stderr.splitlines() if "RecsysWarning" in line]
    assert warned and warned[0].startswith("RecsysWarning: interactions column 'user_id'")
    assert "warnings.warn" not in run.stderr and ".py:" not in run.stderr  # no source line
