"""Review 45 of chain spaces and ``nasforge oneshot``: a chain name too long for the saved networks' file names is
refused before a search runs (and the default run name built from it stays within --name's rule), a named chain
supernet's hint gives a command that works, ``oneshot train`` names ``--space-config`` for a bad chain config,
``--check-epochs`` refuses a repeated value, and the docs state the stage-skip rule and the CSV precision."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from nasforge.cli import main  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")
ROOT = Path(__file__).resolve().parents[1]
DIGITS = {"data": {"data": "digits", "data_options": {}}}
LAYERS = [["conv3", "skip"], ["conv3", "conv5"]]


def _config(tmp_path: Path, name: str, **extra: object) -> str:
    path = tmp_path / f"{len(name)}.json"
    path.write_text(json.dumps({"layers": LAYERS, "name": name, **extra}))
    return str(path)


def _search(config: str, *extra: str) -> list[str]:
    return ["search", "--space", "chain", "--space-config", config, "--data", "digits", "--trials", "2",
            "--retrain", "1", "--search-epochs", "1", "--final-epochs", "1", "--workers", "1", "--no-progress", *extra]


def test_the_space_name_budget_is_what_the_staging_folder_leaves(tmp_path):
    """The longest name save_dir gets (the staging folder) fits the file system's 255 bytes exactly."""
    from nasforge.evaluators.training import FILE_NAME_BYTES, network_folder_name, space_name_budget

    budget = space_name_budget()
    staging = f".{network_folder_name('x' * budget, 'key')}.{9_999_999}.{os.urandom(4).hex()}.tmp"
    assert len(staging.encode()) == FILE_NAME_BYTES
    (tmp_path / staging).mkdir()
    with pytest.raises(OSError):
        (tmp_path / staging.replace(".tmp", "x.tmp")).mkdir()


@pytest.mark.parametrize("named", [True, False])
def test_a_chain_name_too_long_to_save_networks_is_refused_before_any_work(tmp_path, capsys, monkeypatch, named):
    """Would fail: the search ran stage 1, then every retrain failed (File name too long), exit 1; without --name
    the default study name was refused as 280 characters long."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    command = _search(_config(tmp_path, "x" * 221), *(["--out", str(out), "--name", "ln"] if named else []))
    assert main(command) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "'xxxx" in err and "221 bytes long" in err and "the limit is 220 bytes" in err and "study name" not in err
    assert not out.exists() and not (tmp_path / "nasforge-runs").exists()


def test_a_long_chain_name_searches_without_retraining(tmp_path, capsys, monkeypatch):
    """Only stage 2 saves networks: with --retrain 0 the name limit does not apply (regression: it was refused)."""
    monkeypatch.chdir(tmp_path)
    command = _search(_config(tmp_path, "x" * 221), "--out", str(tmp_path / "run"), "--name", "ln")
    command[command.index("--retrain") + 1] = "0"
    del command[command.index("--final-epochs"):command.index("--final-epochs") + 2]
    assert main(command) == 0, capsys.readouterr().err
    assert (tmp_path / "run" / "summary.json").is_file()


def test_a_chain_name_of_the_whole_budget_saves_its_networks(tmp_path, capsys, monkeypatch):
    from nasforge.evaluators.training import space_name_budget

    monkeypatch.chdir(tmp_path)  # the default run folder goes under ./nasforge-runs
    assert main(_search(_config(tmp_path, "y" * space_name_budget()))) == 0
    (run,) = (tmp_path / "nasforge-runs").iterdir()
    assert run.name.startswith("search-yyy") and "-digits-" in run.name
    (saved,) = (run / "models").iterdir()
    assert len(saved.name.encode()) == space_name_budget() + 13 and (saved / "model.json").is_file()


def test_the_default_run_name_cuts_a_long_space_name_to_the_name_rule():
    from nasforge.pipelines.search import SearchConfig, valid_name

    for space in ("z" * 220, "é" * 110, "chain"):
        name = SearchConfig(space=space).resolved().name
        assert valid_name(name) and name.startswith(f"search-{space[:5]}") and "-digits-" in name
    assert SearchConfig(space="chain").resolved().name.startswith("search-chain-digits-")


def test_a_named_chain_supernet_hint_gives_a_command_that_works(tmp_path, capsys):
    """Would fail: the hint was '--space mychain', which is refused as an unknown space."""
    from nasforge.oneshot import build_supernet
    from nasforge.oneshot.checkpoint import save_supernet
    from nasforge.spaces import ChainSpace

    folder = tmp_path / "sn"
    save_supernet(build_supernet(ChainSpace(LAYERS, name="mychain"), 10, 1, C=2), folder, DIGITS)
    command = ["search", "--evaluator", "supernet", "--supernet", str(folder), "--trials", "2", "--retrain", "0",
               "--out", str(tmp_path / "out"), "--no-progress"]
    assert main([*command[:1], "--space", "proxylessnas", *command[1:]]) == 2
    err = capsys.readouterr().err
    assert "--space mychain" not in err and "leave out --space" in err
    assert "--space chain --space-config FILE" in err and "supernet.json" in err


def test_oneshot_train_names_the_space_config_for_a_bad_chain(tmp_path, capsys):
    """Would fail: the message named '--space st' (the config's name), not the file."""
    staged_skip = tmp_path / "staged_skip.json"
    staged_skip.write_text(json.dumps({"layers": [["conv3", "skip"]] * 4, "stages": [2, 2], "name": "st"}))
    train = ["oneshot", "train", "--space", "chain", "--epochs", "1", "--out", str(tmp_path / "o")]
    assert main([*train, "--space-config", str(staged_skip)]) == 2
    err = capsys.readouterr().err
    assert f"error: --space-config {staged_skip}: chain space 'st': layer 2 starts stage 1" in err
    assert main([*train, "--space-config", _config(tmp_path, "st"), "--N", "2"]) == 2
    assert "error: --space chain: --N" in capsys.readouterr().err  # an option's problem still names the option
    assert not (tmp_path / "o").exists()


def test_a_repeated_check_epoch_is_refused_before_any_work(tmp_path, capsys):
    from nasforge.exceptions import UsageError
    from nasforge.oneshot.study import RankingConfig

    with pytest.raises(UsageError, match="check_epochs: epoch count.s. 32 given twice"):
        RankingConfig(check_epochs=(32, 100, 32)).validate()
    RankingConfig(check_epochs=(32, 100)).validate()
    assert main(["oneshot", "study", "--check-epochs", "32,32", "--out", str(tmp_path / "st")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--check-epochs: epoch count(s) 32 given twice" in err
    assert not (tmp_path / "st").exists()


def test_the_docs_state_the_stage_skip_rule_and_the_csv_precision():
    spaces = " ".join((ROOT / "docs" / "spaces.md").read_text().split())
    assert "A stage's first layer always stays in place, even when it offers a skip" not in spaces
    assert "the first layer of every stage after the first doubles the width and halves the resolution, so it " \
           "cannot offer `skip`/`identity`" in spaces
    assert "longer than 220 bytes" in spaces
    oneshot = (ROOT / "docs" / "oneshot.md").read_text()
    row = next(line for line in oneshot.splitlines() if line.startswith("| `search` | `--format table"))
    assert "CSV writes floats at 12 significant digits" in row
    assert "CSV and JSON (strict: NaN as null) at full" not in row
