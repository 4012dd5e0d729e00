"""Storage review 52: old rows the reader accepts on purpose (objectives stored before results were checked),
damaged rows, odd names and user attributes, and the ``trials`` table's columns."""

from __future__ import annotations

import io
import math
import sqlite3
import sys

import pytest

from nasforge import Result, Study
from nasforge.cli import main
from nasforge.exceptions import StudyNotFoundError, UsageError
from nasforge.experiment import get_storage
from nasforge.experiment.storage.base import DamagedRowError
from nasforge.pipelines.search import valid_name
from nasforge.analysis.studyreport.data import load_study_data, open_readonly
from nasforge.spaces import get_space

from engine_evaluators import Toy

SPACE = get_space("nb201")


def _shown(path):
    """The study as ``nasforge status`` reads it."""
    return load_study_data(open_readonly(f"sqlite:///{path}"), "s")


def _study(tmp_path, objectives="acc", n=6, name="s"):
    path = tmp_path / "s.db"
    Study(SPACE, "random", objectives=objectives, seed=0, name=name, storage=f"sqlite:///{path}").optimize(Toy(), n)
    return path


def _set_metrics(path, number, metrics_json):
    with sqlite3.connect(path) as raw:  # what a row from before results were checked may hold
        raw.execute("UPDATE nasforge_trials SET metrics = ? WHERE number = ?", (metrics_json, number))


# -- 1. objectives that are no finite number ----------------------------------------------------
@pytest.mark.parametrize("stored", ['{"acc": NaN}', '{"acc": Infinity}', '{"acc": null}', '{"acc": "99.5"}', "{}",
                                    '{"acc": 1' + '0' * 400 + '}'])
def test_best_trial_ranks_only_numbers_as_status_does(tmp_path, stored):
    path = _study(tmp_path)
    _set_metrics(path, 0, stored)
    study = Study.load("s", f"sqlite:///{path}")
    shown = _shown(path).best()  # what `nasforge status` shows
    assert study.best_trial.number == shown.number != 0
    assert math.isfinite(study.best_value)
    assert 0 not in [t.number for t in study.ranked()]
    study.optimize(Toy(), 1)  # resumes
    assert len(study.trials) == 7


def test_pareto_front_leaves_out_an_objective_that_is_no_number(tmp_path):
    path = tmp_path / "s.db"
    study = Study(SPACE, "random", objectives=["acc", "params"], directions=["max", "min"], seed=0, name="s",
                  storage=f"sqlite:///{path}")
    study.optimize(Toy(), 6)
    for number, stored in enumerate(['{"acc": "1e9", "params": 0}', '{"acc": 1e308, "params": NaN}']):
        _set_metrics(path, number, stored)
    front = Study.load("s", f"sqlite:///{path}").pareto_front()
    assert front and not {0, 1} & {t.number for t in front}
    assert [t.number for t in front] == [t.number for t in _shown(path).front()]


def test_the_strategy_is_told_what_it_was_told_before(tmp_path):
    path = _study(tmp_path)
    for number, stored in enumerate(['{"acc": NaN}', '{"acc": true}', '{"acc": null}', '{"acc": 7}']):
        _set_metrics(path, number, stored)
    study = Study.load("s", f"sqlite:///{path}")
    told = [study.score_to_tell(t) for t in study.trials[:4]]
    assert told == [None, 1.0, None, 7.0] and type(told[3]) is float


# -- 2. the trials table's columns --------------------------------------------------------------
class _Clashing:
    """Metrics named like a trial's own columns; the second call raises."""

    def __init__(self) -> None:
        self.calls = 0

    def evaluate(self, arch, fidelity=None):
        self.calls += 1
        if self.calls == 2:
            raise ValueError("boom")
        return Result(metrics={"loss": 0.25, "number": 30, "state": 7, "arch": 3, "cost": 9, "error": 0.5}, cost=2.0)


@pytest.mark.filterwarnings("ignore:study .c.")
def test_the_trials_table_never_lets_a_metric_replace_a_trials_own_column(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Study(SPACE, "random", objectives=["loss", "cost"], directions=["min", "min"], seed=0, name="c",
          storage="sqlite:///nasforge.db").optimize(_Clashing(), 3)
    assert main(["trials", "c"]) == 0  # one block a trial (the architectures are wider than the terminal)
    blocks = capsys.readouterr().out.strip().split("\n\n")
    rows = [dict((line.strip().split(None, 1) + [""])[:2] for line in block.splitlines()) for block in blocks]
    assert [(row["number"], row["state"], row["cost"], row["error"]) for row in rows] == [
        ("0", "COMPLETE", "2", ""), ("1", "FAILED", "0", "ValueError: boom"), ("2", "COMPLETE", "2", "")]
    assert [row["metric_cost"] for row in rows] == ["9", "", "9"] and all("|" in row["arch"] for row in rows)


# -- 3. a study name that is not valid UTF-8 ----------------------------------------------------
BAD_NAME = "x\udcff"  # what Python makes of $'x\xff' on the command line


@pytest.mark.parametrize("url", ["memory", "sqlite"])
def test_a_name_that_is_not_utf8_is_refused_in_one_line(tmp_path, url):
    storage = get_storage(None if url == "memory" else f"sqlite:///{tmp_path / 'n.db'}")
    Study(SPACE, "random", objectives="acc", seed=0, name="ok", storage=storage).optimize(Toy(), 1)
    calls = [lambda: Study(SPACE, "random", objectives="acc", name=BAD_NAME, storage=storage),
             lambda: Study.load(BAD_NAME, storage), lambda: storage.rename_study("ok", BAD_NAME),
             lambda: storage.load_study(BAD_NAME), lambda: storage.delete_study(BAD_NAME),
             lambda: storage.rename_study(BAD_NAME, "other")]
    for call in calls:
        with pytest.raises(UsageError) as exc:
            call()
        assert isinstance(exc.value, StudyNotFoundError) or "not valid UTF-8" in str(exc.value)
    assert [s.name for s in storage.list_studies()] == ["ok"]


def test_the_cli_refuses_a_name_that_is_not_utf8_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Study(SPACE, "random", objectives="acc", seed=0, name="ok", storage="sqlite:///nasforge.db").optimize(Toy(), 1)
    for command in ("status", "trials", "resume", "delete"):
        assert main([command, BAD_NAME]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "not valid UTF-8" in err, err
    assert not valid_name(BAD_NAME)


# -- 4. user attributes holding lone surrogates -------------------------------------------------
def _surrogate_study(tmp_path):
    url = f"sqlite:///{tmp_path / 'e.db'}"
    study = Study(SPACE, "random", objectives="acc", seed=0, name="e", storage=url)
    trial = study.ask()
    study.set_trial_user_attr(trial, "p", "a\udcffb")  # a path from os.listdir of a name that is not UTF-8
    study.tell(trial, Result(metrics={"acc": 1.0}, user_attrs={"surr": "\ud800"}))
    return url


def test_a_csv_export_writes_a_lone_surrogate_as_its_escape(tmp_path, monkeypatch):
    url = _surrogate_study(tmp_path)
    assert main(["trials", "e", "--storage", url, "--out", str(tmp_path / "e.csv")]) == 0
    text = (tmp_path / "e.csv").read_text(encoding="utf-8")
    assert "a\\udcffb" in text and "\\ud800" in text
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")  # as in the C locale
    monkeypatch.setattr(sys, "stdout", stdout)
    assert main(["trials", "e", "--storage", url, "--format", "csv"]) == 0
    stdout.flush()
    assert raw.getvalue().decode("utf-8") == text
    assert Study.load("e", url).trials[0].user_attrs == {"p": "a\udcffb", "surr": "\ud800"}  # stored as it was


# -- 5. a missing trial row, a strategy_state without its keys ------------------------------------
def test_a_missing_trial_row_is_a_damaged_row_error(tmp_path, monkeypatch, capsys):
    path = _study(tmp_path)
    with sqlite3.connect(path) as raw:
        raw.execute("DELETE FROM nasforge_trials WHERE number = 3")
    with pytest.raises(DamagedRowError, match=r"study 's' lacks trials 3\.\.3 \(trial 4 is stored\)"):
        Study.load("s", f"sqlite:///{path}")
    monkeypatch.chdir(tmp_path)
    assert main(["resume", "s", "--storage", f"sqlite:///{path}", "--evaluator", "engine_evaluators:make_toy"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "lacks trials 3..3" in err, err


def test_a_strategy_state_without_its_counts_is_a_damaged_row_error(tmp_path):
    path = _study(tmp_path)
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE nasforge_studies SET strategy_state = '{\"a\": 1}'")
    with pytest.raises(DamagedRowError, match="study 's' has a corrupted 'strategy_state' field: .*n_asked"):
        Study.load("s", f"sqlite:///{path}")
    with sqlite3.connect(path) as raw:  # no fingerprint (NULL or {}) loads as before
        raw.execute("UPDATE nasforge_studies SET strategy_state = '{}'")
    assert len(Study.load("s", f"sqlite:///{path}").trials) == 6
