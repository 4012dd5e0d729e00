"""nasforge studies / status / trials (read-only) / resume / delete."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
from pathlib import Path

import pytest

from nasforge import Result, Study
from nasforge.cli import main
from nasforge.experiment import StorageError, TrialState
from nasforge.spaces import get_space

from engine_backends import read_only
from engine_evaluators import Toy

SPACE = get_space("nb201")


@pytest.fixture()
def stored(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = "sqlite:///nasforge.db"  # the CLI default, in the working directory
    study = Study(SPACE, "random", objectives="acc", seed=0, name="demo", storage=url)
    study.optimize(Toy(), 6, evaluator_spec={"factory": "engine_evaluators:make_toy", "kwargs": {"sleep": 0.0}})
    study.storage.close()
    return url


def _files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _one_line_error(capsys, code: int, argv: list[str], *needles: str) -> str:
    assert main(argv) == code
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


def test_studies_lists_waiting_trials_apart_from_running_ones(stored, capsys):
    study = Study.load("demo", stored)
    study.enqueue(study.trials[0].arch)
    assert main(["studies", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)[0]
    assert (listed["running"], listed["waiting"]) == (0, 1)


def test_studies_status_and_trials_in_every_format(stored, capsys):
    assert main(["studies"]) == 0
    assert "demo" in capsys.readouterr().out
    assert main(["studies", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["complete"] == 6
    assert main(["status", "demo"]) == 0
    out = capsys.readouterr().out
    assert "complete 6" in out and "(proposals 6, target 6)" in out and "best: trial" in out
    assert main(["status", "demo", "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["counts"] == {"COMPLETE": 6} and info["best"]["trial"] in range(6)
    assert main(["trials", "demo", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("number,state,arch,acc") and len(lines) == 7
    assert main(["trials", "demo", "--format", "table"]) == 0
    archs = {SPACE.format(t.arch) for t in Study.load("demo", stored).trials}
    lines = capsys.readouterr().out.splitlines()  # 80 columns, but for the architecture's own text
    assert len(lines) >= 6 and all(len(line) <= 80 for line in lines if not any(a in line for a in archs))
    assert main(["trials", "demo", "--format", "json", "--out", "t.json"]) == 0
    data = json.loads(Path("t.json").read_text())
    assert data["name"] == "demo" and len(data["trials"]) == 6


def test_trials_state_and_limit_pick_the_trials_in_every_format(stored, capsys):
    study = Study.load("demo", stored)
    study.tell(study.ask(), Result.failed("diverged"))
    study.enqueue(study.trials[0].arch)
    assert main(["trials", "demo", "--format", "json", "--state", "complete,Failed", "--limit", "3"]) == 0
    shown = [(t["number"], t["state"]) for t in json.loads(capsys.readouterr().out)["trials"]]
    assert shown == [(4, "COMPLETE"), (5, "COMPLETE"), (6, "FAILED")]  # the last 3 of those states, in order
    assert main(["trials", "demo", "--format", "csv", "--limit", "1"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("7,WAITING,")
    assert main(["trials", "demo", "--state", "WAITING"]) == 0
    assert "WAITING" in capsys.readouterr().out
    assert main(["trials", "demo", "--state", "pruned"]) == 0
    assert capsys.readouterr().out.strip() == "(none)"
    _one_line_error(capsys, 2, ["trials", "demo", "--state", "COMPLETE,done"], "--state", "'DONE'", "PRUNED")
    _one_line_error(capsys, 2, ["trials", "demo", "--limit", "0"], "--limit")


def test_status_and_resume_say_that_the_strategy_ran_out(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    space = get_space("chain", layers=[["a", "b"], ["c", "d", "e"]])  # 6 architectures
    study = Study(space, "random", objectives="acc", seed=0, name="small", storage="sqlite:///nasforge.db")
    with pytest.warns(UserWarning, match="no new architecture to propose"):
        study.optimize(Toy(), 10, evaluator_spec={"factory": "engine_evaluators:make_toy", "kwargs": {}})
    study.close()
    assert main(["status", "small"]) == 0
    assert "(proposals 6, target 10) finished: the strategy has no new architecture" in capsys.readouterr().out
    assert main(["status", "small", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["space_exhausted"] is True
    assert main(["resume", "small"]) == 0
    out = capsys.readouterr().out
    assert "is finished" in out and "no new architecture to propose (6 proposals of the target 10)" in out


@pytest.mark.parametrize("old", [["trials", "demo", "--csv"], ["trials", "demo", "--json"],
                                 ["trials", "demo", "-o", "x"], ["trials", "demo", "--output", "x"],
                                 ["resume", "demo", "--n-workers", "2"]])
def test_old_flags_are_rejected(stored, capsys, old):
    _one_line_error(capsys, 2, old, "unrecognized arguments")


def test_trials_json_is_strict_with_null_for_nan_and_inf(stored, capsys):
    study = Study.load("demo", stored)
    trial = study.ask()
    study.tell(trial, Result(metrics={"acc": 70.0, "loss": float("nan"), "ratio": float("inf")}))
    assert main(["trials", "demo", "--format", "json"]) == 0
    text = capsys.readouterr().out
    assert "NaN" not in text and "Infinity" not in text
    metrics = json.loads(text)["trials"][-1]["metrics"]
    assert metrics == {"acc": 70.0, "loss": None, "ratio": None}


def test_read_only_commands_create_and_change_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    raw = sqlite3.connect("other_app.db")
    raw.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
    raw.commit()
    raw.close()
    Path("empty.db").write_bytes(b"")
    Path("junk.db").write_bytes(b"junk" * 500)
    before = _files(tmp_path)
    for command in (["studies"], ["status", "x"], ["trials", "x"]):
        _one_line_error(capsys, 2, [*command, "--storage", "sqlite:///other_app.db"], "not a nasforge database")
        _one_line_error(capsys, 2, [*command, "--storage", "sqlite:///empty.db"], "is an empty database (no tables")
        _one_line_error(capsys, 2, [*command, "--storage", "sqlite:///missing.db"], "no database file 'missing.db'")
        _one_line_error(capsys, 2, [*command, "--storage", "sqlite:///junk.db"], "cannot open storage")
        _one_line_error(capsys, 2, [*command], "no database file 'nasforge.db'")
    _one_line_error(capsys, 2, ["resume", "x", "--storage", "sqlite:///other_app.db"], "another application's")
    _one_line_error(capsys, 2, ["delete", "x", "--yes", "--storage", "sqlite:///empty.db"], "is an empty database (no tables")
    assert _files(tmp_path) == before  # no new file, no changed byte, no journal-mode switch


def test_listing_a_study_leaves_its_database_untouched(stored, capsys, tmp_path):
    before = _files(tmp_path)
    for command in (["studies"], ["status", "demo"], ["trials", "demo", "--format", "json"]):
        assert main(command) == 0
    assert _files(tmp_path) == before


def test_resume_finishes_an_interrupted_study(stored, capsys):
    study = Study.load("demo", stored)
    study.set_run_config({**study.run_config, "n_trials_total": 9})
    study.ask()  # a trial left RUNNING by a "dead" process
    study.requeue([6])
    assert main(["resume", "demo", "--no-progress", "--evaluator", "engine_evaluators:make_toy"]) == 0
    assert "3 trials finished in this run, 9 in total" in capsys.readouterr().out
    trials = Study.load("demo", stored).trials
    assert len(trials) == 9 and all(t.state == TrialState.COMPLETE for t in trials)
    assert Study.load("demo", stored).run_config["evaluator"] == {"factory": "engine_evaluators:make_toy",
                                                                  "kwargs": {"sleep": 0.0}}  # recorded kwargs kept


def test_resume_counts_the_failed_trials_of_its_run(stored, capsys, tmp_path):
    """Would fail: an evaluator failing every trial (a package it imports is missing) printed "3 trials finished
    in this run" with nothing saying that they all failed."""
    (tmp_path / "resume_failing_task.py").write_text(
        "class Failing:\n"
        "    def evaluate(self, arch, fidelity=None):\n"
        "        import nasforge_no_such_package  # noqa: F401\n\n\n"
        "def make():\n"
        "    return Failing()\n")
    study = Study.load("demo", stored)
    study.set_run_config({**study.run_config, "n_trials_total": 9})
    assert main(["resume", "demo", "--no-progress", "--evaluator", "resume_failing_task:make"]) == 0
    assert ("3 trials finished in this run (3 failed, the last: ModuleNotFoundError: No module named "
            "'nasforge_no_such_package'), 9 in total") in capsys.readouterr().out


def test_a_storage_failing_under_a_resumed_run_is_an_error_of_the_run_not_of_the_input(stored, capsys, monkeypatch):
    """Would fail: every StorageError of resume was a usage error (exit 2), also one raised while the run ran."""
    from nasforge.exceptions import StorageError

    study = Study.load("demo", stored)
    study.set_run_config({**study.run_config, "n_trials_total": 9})

    def lost(*args, **kwargs):
        raise StorageError("cannot write to storage: server closed the connection")

    monkeypatch.setattr(Study, "resume", lost)
    _one_line_error(capsys, 1, ["resume", "demo", "--no-progress", "--evaluator", "engine_evaluators:make_toy"],
                    "server closed the connection")


def test_resume_of_a_finished_study_builds_nothing(stored, capsys, tmp_path):
    marker = tmp_path / "factory-called"
    Path("tripwire.py").write_text(f"def make():\n    open({str(marker)!r}, 'w').close()\n")
    assert main(["resume", "demo", "--evaluator", "tripwire:make", "--workers", "2", "--executor", "process"]) == 0
    assert "is finished: 6 trials, nothing to resume" in capsys.readouterr().out
    assert not marker.exists()



def test_resume_of_a_finished_study_still_refuses_a_bad_pruner(stored, capsys):
    assert main(["resume", "demo", "--pruner", "bogus"]) == 2
    assert "unknown pruner 'bogus'" in capsys.readouterr().err


def test_resume_of_a_finished_study_needs_no_evaluator(stored, capsys):
    """Would fail: a finished study whose run recorded no evaluator asked for --evaluator (exit 2)."""
    study = Study.load("demo", stored)
    study.set_run_config({k: v for k, v in study.run_config.items() if k != "evaluator"})
    assert main(["resume", "demo"]) == 0
    assert "is finished: 6 trials, nothing to resume" in capsys.readouterr().out


def test_stored_factory_outside_the_allow_list_never_runs(stored, capsys, tmp_path):
    marker = tmp_path / "pwned"
    study = Study.load("demo", stored)
    study.set_run_config({**study.run_config, "n_trials_total": 8,
                          "evaluator": {"factory": "os:system", "kwargs": {"command": f"touch {marker}"}}})
    _one_line_error(capsys, 2, ["resume", "demo"], "'os:system' is not one of nasforge's own",
                    "--evaluator os:system")
    assert not marker.exists()
    study.set_run_config({**study.run_config, "n_trials_total": 6})  # finished: not even an allowed one runs
    assert main(["resume", "demo"]) == 0 and not marker.exists()


def test_resume_imports_the_factory_module_from_the_working_directory(stored, capsys, tmp_path):
    Path("mytask.py").write_text("import sys\nsys.path.insert(0, %r)\nfrom engine_evaluators import Toy\n"
                                 "def make_evaluator(sleep=0.0):\n    return Toy(sleep)\n"
                                 % str(Path(__file__).parent))
    study = Study.load("demo", stored)
    study.set_run_config({**study.run_config, "n_trials_total": 8})
    assert main(["resume", "demo", "--no-progress", "--evaluator", "mytask:make_evaluator",
                 "--evaluator-kwargs", '{"sleep": 0.0}']) == 0
    assert len(Study.load("demo", stored).trials) == 8


def test_resume_says_an_evaluator_function_is_no_factory(stored, capsys):
    Path("fn_or_factory.py").write_text("def slow(arch):\n    return {'acc': 1.0}\n"
                                 "def make(epochs):\n    return slow\n")
    study = Study.load("demo", stored)
    study.set_run_config({**study.run_config, "n_trials_total": 8})
    _one_line_error(capsys, 2, ["resume", "demo", "--evaluator", "fn_or_factory:slow"],
                    "fn_or_factory:slow looks like an evaluator function", "def make_evaluator(): return slow")
    _one_line_error(capsys, 2, ["resume", "demo", "--evaluator", "fn_or_factory:make"],  # a factory missing an argument
                    "evaluator factory fn_or_factory:make: missing a required argument 'epochs'; pass "
                    "it with --evaluator-kwargs")

def test_damaged_rows_name_the_field(stored, capsys):
    with sqlite3.connect("nasforge.db") as raw:
        raw.execute("UPDATE nasforge_trials SET genotype = ? WHERE number = 2",
                    ('{"space": "nb201", "genotype": ["nor_conv_3x3"]}',))
    for command in (["trials", "demo"], ["status", "demo"]):
        _one_line_error(capsys, 2, command, "trial 2", "corrupted 'genotype' field")
    with sqlite3.connect("nasforge.db") as raw:
        raw.execute("UPDATE nasforge_trials SET genotype = ? WHERE number = 2", ('{"space": "nb201", "gen',))
    _one_line_error(capsys, 2, ["trials", "demo"], "trial 2", "corrupted 'genotype' field", "invalid JSON")
    with sqlite3.connect("nasforge.db") as raw:
        raw.execute("UPDATE nasforge_studies SET run_config = '{broken'")
    _one_line_error(capsys, 2, ["status", "demo"], "corrupted 'run_config' field")


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("table, column, value, culprit", [
    ("nasforge_studies", "user_attrs", "[1]", "study 'demo' has a corrupted 'user_attrs' field"),
    ("nasforge_studies", "created_at", "yesterday", "study 'demo' has a corrupted 'created_at' field"),
    ("nasforge_studies", "run_config", "[1]", "study 'demo' has a corrupted 'run_config' field"),
    ("nasforge_studies", "objectives", "[]", "study 'demo' has a corrupted 'objectives' field"),
    ("nasforge_studies", "objectives", '"acc"', "study 'demo' has a corrupted 'objectives' field"),
    ("nasforge_studies", "directions", '["up"]', "study 'demo' has a corrupted 'directions' field"),
    ("nasforge_studies", "seed", "abc", "study 'demo' has a corrupted 'seed' field"),
    ("nasforge_trials", "metrics", '{"acc": [1]}', "trial 0 (study id 1) has a corrupted 'metrics' field"),
    ("nasforge_trials", "cost", "x", "trial 0 (study id 1) has a corrupted 'cost' field"),
    ("nasforge_trials", "fidelity", '"x"', "trial 0 (study id 1) has a corrupted 'fidelity' field"),
    ("nasforge_trials", "user_attrs", "5", "trial 0 (study id 1) has a corrupted 'user_attrs' field"),
    ("nasforge_meta", "value", "abc", "damaged schema version in nasforge_meta: 'abc'"),
    # 100,000-deep JSON raised RecursionError (a traceback) where invalid JSON was one line
    ("nasforge_trials", "user_attrs", DEEP, "trial 0 (study id 1) has a corrupted 'user_attrs' field"),
    ("nasforge_trials", "genotype", DEEP, "trial 0 (study id 1) has a corrupted 'genotype' field"),
    ("nasforge_studies", "user_attrs", DEEP, "study 'demo' has a corrupted 'user_attrs' field"),
    ("nasforge_studies", "objectives", DEEP, "study 'demo' has a corrupted 'objectives' field"),
])
def test_every_command_names_a_damaged_field_in_one_line(stored, capsys, table, column, value, culprit):
    with sqlite3.connect("nasforge.db") as raw:
        raw.execute(f"UPDATE {table} SET {column} = ?" + (" WHERE number = 0" if table == "nasforge_trials" else ""),
                    (value,))
    for command in (["status", "demo"], ["trials", "demo"], ["trials", "demo", "--format", "csv"], ["resume", "demo"],
                    ["delete", "demo", "--yes"]):
        _one_line_error(capsys, 2, command, culprit)
    if table == "nasforge_meta":
        _one_line_error(capsys, 2, ["studies"], culprit)
        return
    assert main(["studies", "--format", "json"]) == 0  # the listing still shows every study
    listed = json.loads(capsys.readouterr().out)[0]
    assert listed["study"] == "demo" and (listed["created"] == "?") == (column == "created_at")
    assert main(["delete", "demo", "--yes", "--force"]) == 0 and "deleted study 'demo'" in capsys.readouterr().out

def test_metrics_an_older_nasforge_stored_unchecked_still_load(stored, capsys):
    """Would fail: text, true/false and null metric values (stored unchecked before results were checked) made
    every command call the study damaged."""
    with sqlite3.connect("nasforge.db") as raw:
        (metrics,) = raw.execute("SELECT metrics FROM nasforge_trials WHERE number = 0").fetchone()
        raw.execute("UPDATE nasforge_trials SET metrics = ? WHERE number = 0",
                    (json.dumps({**json.loads(metrics), "note": "fast", "ok": True, "extra": None}),))
    for command in (["status", "demo"], ["trials", "demo"], ["trials", "demo", "--format", "csv"]):
        assert main(command) == 0, capsys.readouterr().err
    assert Study.load("demo", stored).trials[0].metrics["note"] == "fast"


def test_delete_needs_yes(stored, capsys):
    _one_line_error(capsys, 2, ["delete", "demo"], "pass --yes")
    assert main(["delete", "demo", "--yes"]) == 0
    assert main(["studies"]) == 0 and "no studies" in capsys.readouterr().out


def test_delete_refuses_a_study_with_live_workers_unless_forced(stored, capsys):
    study = Study.load("demo", stored)
    running = study.ask()  # this process is its live worker
    _one_line_error(capsys, 2, ["delete", "demo", "--yes"], f"trial(s) in progress (trial {running.number} on "
                    f"worker {study.worker_id}", "pass --force")
    with sqlite3.connect("nasforge.db") as raw:  # a worker silent for an hour is dead: no --force needed
        raw.execute("UPDATE nasforge_trials SET heartbeat = heartbeat - 3600")
    assert main(["delete", "demo", "--yes"]) == 0
    study = Study(SPACE, "random", objectives="acc", seed=0, name="demo", storage=stored)
    study.ask()
    assert main(["delete", "demo", "--yes", "--force"]) == 0
    with pytest.raises(StorageError, match="study 'demo' was deleted"):
        study.ask()


def test_bad_input_exits_2_with_one_line(stored, capsys):
    study = Study.load("demo", stored)
    study.set_run_config({**study.run_config, "n_trials_total": 8})  # work left: the evaluator is needed
    _one_line_error(capsys, 2, ["status", "nope"], "no study 'nope'")
    _one_line_error(capsys, 2, ["studies", "--storage", "bogus"], "bad storage URL 'bogus'")
    _one_line_error(capsys, 2, ["resume", "demo", "--evaluator", "no_such_module:f"],
                    "cannot import evaluator module 'no_such_module'")
    _one_line_error(capsys, 2, ["resume", "demo", "--workers", "0"],
                    "argument --workers: must be a positive integer, got 0")
    _one_line_error(capsys, 2, ["resume", "demo", "--evaluator", "m:f", "--evaluator-kwargs", "[1]"],
                    "must be a JSON object")
    _one_line_error(capsys, 2, ["trials", "demo", "--format", "xml"], "invalid choice: 'xml'")


def test_locked_database_is_a_clear_error(stored, capsys, monkeypatch):
    from nasforge.experiment.storage import sql

    monkeypatch.setattr(sql, "BUSY_TIMEOUT", 0.2)
    holder = sqlite3.connect("nasforge.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process is writing
    try:
        _one_line_error(capsys, 2, ["delete", "demo", "--yes"], "database is locked")
    finally:
        holder.execute("ROLLBACK")
        holder.close()



def test_a_database_in_a_read_only_folder_is_named_as_such(stored, capsys, tmp_path):
    with read_only(tmp_path):
        for command in (["resume", "demo"], ["delete", "demo", "--yes"]):
            _one_line_error(capsys, 2, command, f"the folder '{tmp_path}' is read-only")
        assert main(["studies"]) == 0  # read-only commands still work
    _one_line_error(capsys, 2, ["studies", "--storage", f"sqlite:///{tmp_path}"], "names the folder")


def test_resume_options_are_checked_before_the_storage_is_opened(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no database here: the option is still the first complaint
    _one_line_error(capsys, 2, ["resume", "x", "--evaluator", "m:f", "--evaluator-kwargs", "{bad"],
                    "--evaluator-kwargs is not valid JSON")
    _one_line_error(capsys, 2, ["resume", "x", "--evaluator-kwargs", "{}"], "--evaluator-kwargs needs --evaluator")
    _one_line_error(capsys, 2, ["resume", "x", "--workers", "0"],
                    "argument --workers: must be a positive integer, got 0")
    assert list(tmp_path.iterdir()) == []


def test_a_chain_space_study_is_listed_from_its_stored_layers(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'chain.db'}"
    space = get_space("chain", layers=[["a", "b"], ["c", "d", "e"]])
    study = Study(space, "random", objectives="acc", directions="maximize", storage=url, name="ch", seed=0)
    for value in (1.0, 3.0, 2.0):
        study.tell(study.ask(), {"acc": value})
    assert Study.load("ch", url).space.layers == space.layers
    assert main(["status", "ch", "--storage", url]) == 0
    assert "acc=3" in capsys.readouterr().out


def test_trials_out_never_replaces_what_it_did_not_write(stored, capsys, tmp_path):
    Path("notes.txt").write_text("my notes\n")
    raw = sqlite3.connect("other.db")
    raw.execute("CREATE TABLE t (x INTEGER)")
    raw.commit()
    raw.close()
    before = _files(tmp_path)
    for fmt in ("csv", "json", "table"):
        for target in ("nasforge.db", "other.db", "notes.txt"):  # the study's own database, another, a text file
            _one_line_error(capsys, 2, ["trials", "demo", "--format", fmt, "--out", target],
                            f"--out '{target}' exists and is not an earlier 'nasforge trials' export")
    assert _files(tmp_path) == before
    assert Study.load("demo", stored).trials  # the database is whole
    for fmt in ("csv", "json", "table"):  # an export is written, then replaced by the same export
        assert main(["trials", "demo", "--format", fmt, "--out", f"t.{fmt}"]) == 0
        first = Path(f"t.{fmt}").read_text()
        _one_line_error(capsys, 2, ["trials", "demo", "--format", fmt, "--out", f"t.{fmt}"], "pass --overwrite")
        assert main(["trials", "demo", "--format", fmt, "--out", f"t.{fmt}", "--overwrite"]) == 0
        assert Path(f"t.{fmt}").read_text() == first
    _one_line_error(capsys, 2, ["trials", "demo", "--format", "json", "--out", "t.csv"], "csv")  # another format
    Path("empty.csv").write_text("")
    assert main(["trials", "demo", "--format", "csv", "--out", "empty.csv"]) == 0
    _one_line_error(capsys, 2, ["trials", "demo", "--out", "notes.txt/x.csv"], "--out", "is a file, not a folder")
    _one_line_error(capsys, 2, ["trials", "demo", "--out", "."], "--out", "is a folder")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    capsys.readouterr()
    assert main(["trials", "demo", "--format", "csv", "--out", "-"]) == 0  # "-": standard output
    assert capsys.readouterr().out == Path("t.csv").read_text() and not Path("-").exists()


def test_status_of_a_study_without_trials(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Study(SPACE, "random", objectives="acc", seed=0, name="new", storage="sqlite:///nasforge.db").storage.close()
    assert main(["status", "new"]) == 0
    out = capsys.readouterr().out
    assert "trials: 0\n" in out and "|" not in out


MOVABLE_NET = ("from torch import nn\nfrom nasforge.spaces.model_space import LayerChoice, ValueChoice\n"
               "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
               "        width = ValueChoice([3, 4], label='width')\n"
               "        self.fc, self.out = nn.Linear(2, width), nn.Linear(width, 2)\n"
               "        self.act = LayerChoice([nn.ReLU(), nn.Tanh()], label='act')\n"
               "    def forward(self, x):\n        return self.out(self.act(self.fc(x)))\n")


@pytest.mark.parametrize("change", ["moved", "decisions edited"])
def test_read_only_commands_show_a_model_space_study_whose_module_is_gone(tmp_path, monkeypatch, capsys, change):
    """trials / status / report need no space: with the module file moved away (or edited so the stored
    architectures no longer fit) they show the stored architecture texts and say why; resume still refuses."""
    from nasforge.spaces.model_space import ModelSpace

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "movable_net.py"
    path.write_text(MOVABLE_NET)
    space = ModelSpace(f"{path}:Net", input_shape=(2,))
    study = Study(space, "random", objectives="score", seed=0, name="mine", storage="sqlite:///ms.db")
    for _ in range(4):
        trial = study.ask()
        study.tell(trial, float(space.encode([trial.arch])[0].sum() + trial.number))
    texts = [space.format(t.arch) for t in study.trials]
    best = space.format(study.best_trial.arch)
    study.storage.close()
    if change == "moved":
        path.rename(tmp_path / "elsewhere.py")
        reason = "no such Python file"
    else:
        path.write_text(MOVABLE_NET.replace("[3, 4]", "[5, 6]"))
        for name in [n for n in sys.modules if n.startswith("_nasforge_user_movable_net_")]:
            del sys.modules[name]  # as a new process reads the file again
        reason = "changed since the study was trained"
    assert main(["trials", "mine", "--storage", "sqlite:///ms.db", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert [t["arch"] for t in json.loads(captured.out)["trials"]] == texts
    assert captured.err.startswith("note: space 'model_space' cannot be rebuilt here") and reason in captured.err
    assert main(["status", "mine", "--storage", "sqlite:///ms.db"]) == 0
    out = capsys.readouterr().out
    assert f"best: trial {study.best_trial.number} " in out and best in out
    assert main(["report", "mine", "--storage", "sqlite:///ms.db", "--out", "r.html"]) == 0
    page = (tmp_path / "r.html").read_text()
    assert "cannot be rebuilt here" in page and best in page
    _one_line_error(capsys, 2, ["resume", "mine", "--storage", "sqlite:///ms.db"], reason)


def test_resume_overrides_name_the_recorded_settings_in_the_way(stored, capsys):
    from nasforge.experiment.executors import carried_options

    study = Study.load("demo", stored)
    study.set_run_config({**study.run_config, "n_trials_total": 8, "executor": "process", "trial_timeout": 30.0,
                          "executor_options": {"threads_per_worker": 1}})
    _one_line_error(capsys, 2, ["resume", "demo", "--evaluator", "engine_evaluators:make_toy",
                                "--evaluator-kwargs", '{"bad": 1}'], "does not take", "'bad'")
    _one_line_error(capsys, 2, ["resume", "demo", "--executor", "inline", "--evaluator", "engine_evaluators:make_toy"],
                    "recorded trial_timeout=30.0", "--no-trial-timeout")
    _one_line_error(capsys, 2, ["resume", "demo", "--trial-timeout", "-1"], "argument --trial-timeout: must be a positive")
    assert main(["resume", "demo", "--no-progress", "--executor", "inline", "--no-trial-timeout",
                 "--evaluator", "engine_evaluators:make_toy"]) == 0
    assert "threads_per_worker did not apply to --executor inline" in capsys.readouterr().err
    config = Study.load("demo", stored).run_config
    assert len(Study.load("demo", stored).trials) == 8 and config["executor_options"] == {}
    assert config["trial_timeout"] is None and config["executor"] == "inline"
    assert carried_options({"threads_per_worker": 1, "start_method": "spawn"}, "ray") == (
        {}, ["start_method", "threads_per_worker"])
    assert carried_options({"cpus_per_trial": 2}, "ray") == ({"cpus_per_trial": 2}, [])


def test_resume_of_a_study_with_an_unregistered_pruner_says_how_and_takes_pruner(stored, capsys):
    study = Study.load("demo", stored)
    study.set_run_config({**study.run_config, "n_trials_total": 8, "pruner": {"name": "never"}})
    _one_line_error(capsys, 2, ["resume", "demo", "--evaluator", "engine_evaluators:make_toy"],
                    "pruner 'never', which is not registered", "--pruner NAME|none")
    _one_line_error(capsys, 2, ["resume", "demo", "--evaluator", "engine_evaluators:make_toy", "--pruner", "magic"],
                    "unknown pruner 'magic'")
    assert main(["resume", "demo", "--no-progress", "--evaluator", "engine_evaluators:make_curves",
                 "--pruner", '{"name": "asha", "max_resource": 9}']) == 0
    assert Study.load("demo", stored).run_config["pruner"]["max_resource"] == 9
    study = Study.load("demo", stored)
    study.set_run_config({**study.run_config, "n_trials_total": 9, "pruner": {"name": "never"}})
    assert main(["resume", "demo", "--no-progress", "--evaluator", "engine_evaluators:make_toy",
                 "--pruner", "none"]) == 0
    assert Study.load("demo", stored).run_config["pruner"] is None and len(Study.load("demo", stored).trials) == 9


def test_status_csv_of_a_study_with_a_running_trial(stored, capsys):
    """The counts of every state are columns; a RUNNING trial made the csv row pass 'running' twice (a traceback)."""
    study = Study.load("demo", stored)
    study.ask()  # left running
    assert main(["status", "demo", "--format", "csv"]) == 0
    header, row = capsys.readouterr().out.strip().splitlines()
    values = dict(zip(header.split(","), row.split(",")))
    assert (values["running"], values["complete"], values["failed"], values["waiting"]) == ("1", "6", "0", "0")


def test_a_chain_space_with_its_own_name_is_read_back(tmp_path, monkeypatch, capsys):
    """A chain space named by its config ("name": "mine", as docs/cli.md shows) is no registered space: it is
    rebuilt from its layers, so the study loads, resumes and shows."""
    from nasforge.spaces import ChainSpace

    monkeypatch.chdir(tmp_path)
    space = ChainSpace.from_config({"layers": [["conv3", "conv5", "skip"]] * 3, "name": "mine"})
    study = Study(space, "random", objectives="acc", seed=0, name="m", storage="sqlite:///mine.db")
    for value in range(3):
        study.tell(study.ask(), float(value))
    study.storage.close()
    loaded = Study.load("m", "sqlite:///mine.db")
    assert loaded.space.to_config() == space.to_config() and len(loaded.trials) == 3
    assert main(["trials", "m", "--storage", "sqlite:///mine.db"]) == 0
    assert "note:" not in capsys.readouterr().err


def test_trials_and_status_show_the_stage_and_test_accuracy_of_a_staged_study(tmp_path, monkeypatch, capsys):
    """A search's retrain trials (user attribute stage) report test_acc, not the objective: the table shows
    both, and status splits its counts by stage (they differed from summary.json's search-only counts)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "250")  # one row per trial
    study = Study(SPACE, "random", objectives="acc", seed=0, name="staged", storage="sqlite:///nasforge.db")
    study.optimize(Toy(), 3)
    study.enqueue(study.trials[0].arch, user_attrs={"stage": "retrain"})
    study.optimize(lambda arch, fidelity=None: Result(metrics={"test_acc": 91.5}), 0)
    study.storage.close()
    assert main(["trials", "staged", "--storage", "sqlite:///nasforge.db"]) == 0
    header, _, *rows = capsys.readouterr().out.splitlines()
    assert header.split()[:4] == ["number", "state", "stage", "arch"] and "test_acc" in header.split()
    assert rows[0].split()[2] == "search" and rows[3].split()[2] == "retrain" and " 91.5 " in rows[3]
    assert main(["status", "staged", "--storage", "sqlite:///nasforge.db"]) == 0
    assert "| complete 4 (3 search, 1 retrain)" in capsys.readouterr().out
    assert main(["status", "staged", "--storage", "sqlite:///nasforge.db", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts_by_stage"] == {"COMPLETE": {"search": 3, "retrain": 1}}
    assert main(["trials", "staged", "--storage", "sqlite:///nasforge.db", "--out", "t.txt"]) == 0
    assert main(["trials", "staged", "--storage", "sqlite:///nasforge.db", "--out", "t.txt", "--overwrite"]) == 0


def test_the_trials_table_shows_budgets_and_reruns_when_a_study_has_them(stored, monkeypatch, capsys):
    """A Hyperband budget-1 result must not read like a full-budget one, nor a re-run after a crash like a first
    run: the table shows the fidelity and, for re-run trials, the attempts (only when the study has any)."""
    monkeypatch.setenv("COLUMNS", "250")  # one row per trial
    assert main(["trials", "demo"]) == 0
    header = capsys.readouterr().out.splitlines()[0].split()
    assert "fidelity" not in header and "attempts" not in header  # a plain study's table is unchanged
    study = Study(SPACE, "hyperband", objectives="acc", seed=0, name="hb", storage=stored, min_budget=1,
                  max_budget=9)
    study.optimize(Toy(), 4)
    study.requeue([study.ask().number])  # its process "died": the re-run is attempt 2
    study.optimize(Toy(), 0)
    study.storage.close()
    assert main(["trials", "hb"]) == 0
    header, _, *rows = capsys.readouterr().out.splitlines()
    assert header.split()[:5] == ["number", "state", "arch", "fidelity", "acc"] and header.split()[-1] == "attempts"
    assert '{"epochs": 1}' in rows[0] and rows[0].split()[-1] != "2" and rows[4].split()[-1] == "2"


def test_resume_refuses_a_stored_save_dir_outside_the_databases_folder(stored, capsys, tmp_path):
    """Would fail: a stored TrainingEvaluator spec with save_dir '/elsewhere/models' made resume write networks
    there (the factory was checked against the allow-list, its keyword arguments were not)."""
    from nasforge.experiment.evaluator_spec import build_evaluator

    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere" / "models"
    study = Study.load("demo", stored)
    spec = {"factory": "nasforge.evaluators:TrainingEvaluator", "kwargs": {"save_dir": str(elsewhere)}}
    study.set_run_config({**study.run_config, "n_trials_total": 9, "evaluator": spec})
    _one_line_error(capsys, 2, ["resume", "demo", "--no-progress"], f"save_dir {str(elsewhere)!r} is not inside the "
                    f"database's folder {tmp_path}", "--evaluator nasforge.evaluators:TrainingEvaluator")
    assert not elsewhere.parent.exists()
    inside = {**spec, "kwargs": {"save_dir": str(tmp_path / "models")}}
    assert build_evaluator(inside, folder=tmp_path).save_dir == str(tmp_path / "models")
