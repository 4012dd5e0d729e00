"""nasforge studies / status / trials / resume / delete."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nasforge import Study
from nasforge.cli import main
from nasforge.experiment import TrialState
from nasforge.spaces import get_space

from engine_evaluators import Toy

SPACE = get_space("nb201")


@pytest.fixture()
def stored(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = "sqlite:///nasforge.db"  # the CLI default, in the working directory
    study = Study(SPACE, "random", objectives="acc", seed=0, name="demo", storage=url)
    study.optimize(Toy(), 6, evaluator_spec={"factory": "engine_evaluators:make_toy", "kwargs": {"sleep": 0.0}})
    return url


def test_studies_status_and_trials(stored, capsys):
    assert main(["studies"]) == 0
    assert "demo" in capsys.readouterr().out
    assert main(["status", "demo"]) == 0
    out = capsys.readouterr().out
    assert "complete 6" in out and "(proposals 6, target of the last run 6)" in out and "best: trial" in out
    assert main(["trials", "demo", "--csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("number,state,arch,acc") and len(lines) == 7
    assert main(["trials", "demo", "--json", "-o", "t.json"]) == 0
    data = json.loads(Path("t.json").read_text())
    assert data["name"] == "demo" and len(data["trials"]) == 6


def test_resume_finishes_an_interrupted_study(stored, capsys):
    study = Study.load("demo", stored)
    study.storage.update_study(study._id, run_config={**study.run_config, "n_trials_total": 9})
    study.ask()  # a trial left RUNNING by a "dead" process
    study.storage.requeue(study._id, numbers=[6])
    assert main(["resume", "demo", "--no-progress"]) == 0
    assert "3 trials finished in this run, 9 in total" in capsys.readouterr().out
    trials = Study.load("demo", stored).trials
    assert len(trials) == 9 and all(t.state == TrialState.COMPLETE for t in trials)


def test_delete_needs_yes(stored, capsys):
    assert main(["delete", "demo"]) == 2
    assert "pass --yes" in capsys.readouterr().err
    assert main(["delete", "demo", "--yes"]) == 0
    assert main(["studies"]) == 0 and "no studies" in capsys.readouterr().out


def test_bad_input_exits_2(stored, capsys):
    assert main(["status", "nope"]) == 2
    assert "no study 'nope'" in capsys.readouterr().err
    assert main(["studies", "--storage", "sqlite:///missing.db"]) == 2
    assert "no database file 'missing.db'" in capsys.readouterr().err
    assert main(["studies", "--storage", "bogus"]) == 2
    assert "bad storage URL 'bogus'" in capsys.readouterr().err
    assert main(["resume", "demo", "--evaluator", "no_such_module:f"]) == 2
    assert "cannot import evaluator module 'no_such_module'" in capsys.readouterr().err
    Path("junk.db").write_bytes(b"junk" * 500)
    assert main(["studies", "--storage", "sqlite:///junk.db"]) == 2
    assert "cannot open storage" in capsys.readouterr().err


def test_locked_database_is_a_clear_error(stored, capsys, monkeypatch):
    import sqlite3

    from nasforge.experiment.storage import sql

    monkeypatch.setattr(sql, "BUSY_TIMEOUT", 0.2)
    holder = sqlite3.connect("nasforge.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process is writing
    try:
        assert main(["delete", "demo", "--yes"]) == 2
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "database is locked" in capsys.readouterr().err
