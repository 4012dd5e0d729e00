"""Stop 53 storage fixes: a study whose last trial rows were deleted by hand."""
from __future__ import annotations

import sqlite3

import pytest

from nasforge import Study
from nasforge.cli import main
from nasforge.experiment.storage.base import DamagedRowError
from nasforge.spaces import get_space

from engine_evaluators import Toy

SPACE = get_space("nb201")


def _study(tmp_path, n=6):
    path = tmp_path / "s.db"
    Study(SPACE, "random", objectives="acc", seed=0, name="s", storage=f"sqlite:///{path}").optimize(Toy(), n)
    return path


def _rows(path):
    with sqlite3.connect(path) as raw:
        return raw.execute("SELECT number, state FROM nasforge_trials ORDER BY number").fetchall()


def test_the_last_rows_deleted_by_hand_are_a_damaged_row_error_and_resume_stores_nothing(tmp_path, monkeypatch,
                                                                                          capsys):
    path = _study(tmp_path)
    with sqlite3.connect(path) as raw:
        raw.execute("DELETE FROM nasforge_trials WHERE number >= 4")
    kept = _rows(path)
    with pytest.raises(DamagedRowError, match=r"study 's' lacks trials 4\.\.5 \(it numbered 6 trials\)"):
        Study.load("s", f"sqlite:///{path}")
    monkeypatch.chdir(tmp_path)
    assert main(["resume", "s", "--storage", f"sqlite:///{path}", "--evaluator", "engine_evaluators:make_toy"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "lacks trials 4..5" in err, err
    assert _rows(path) == kept  # before: a RUNNING trial 6 was stored, then the resume stopped


def test_a_whole_study_still_loads_and_resumes(tmp_path):
    path = _study(tmp_path, n=3)
    study = Study.load("s", f"sqlite:///{path}")
    assert [t.number for t in study.trials] == [0, 1, 2]
    study.optimize(Toy(), 2)
    assert [n for n, _ in _rows(path)] == [0, 1, 2, 3, 4]
