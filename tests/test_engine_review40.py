"""Engine review 40 fixes: a SQLite file removed or replaced under a run, a re-queue retried while the server is
down, timeout=0, fixed export columns, progress as a bool, a factory's missing argument, "1 trial"."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from nasforge import Study
from nasforge.exceptions import StorageError, UsageError
from nasforge.experiment import TrialState
from nasforge.experiment.evaluator_spec import build_evaluator
from nasforge.spaces import get_space

from engine_evaluators import Toy

SPACE = get_space("nb201")


def _study(url: str, name: str = "demo") -> Study:
    return Study(SPACE, "random", objectives="acc", seed=0, name=name, storage=url)


@pytest.mark.parametrize("change", ["remove", "replace", "rename"])
def test_a_run_whose_sqlite_file_is_removed_or_replaced_stops_with_an_error_naming_it(tmp_path, change):
    path = tmp_path / "g.db"
    study = _study(f"sqlite:///{path}")
    study.optimize(Toy(), n_trials=2)
    other = tmp_path / "other.db"
    _study(f"sqlite:///{other}", "else").storage.close()

    def tamper(_study: Study, trial) -> None:
        if trial.number == 3:
            for side in ("", "-wal", "-shm"):
                if change == "rename" and Path(f"{path}{side}").exists():  # e.g. its run folder moved: the study
                    Path(f"{path}{side}").rename(f"{path}.moved{side}")  # must not split into two files
                else:
                    Path(f"{path}{side}").unlink(missing_ok=True)
            if change == "replace":
                shutil.copy(other, path)

    said = "is no longer there \\(moved, renamed or removed\\)" if change != "replace" else "is another file now"
    with pytest.raises(StorageError, match=f"the database file '{path}' {said}"):
        study.optimize(Toy(), n_trials=10, callbacks=[tamper])
    study.storage.close()


def test_the_same_file_moved_back_in_place_is_written_on(tmp_path):
    path = tmp_path / "g.db"
    study = _study(f"sqlite:///{path}")
    study.optimize(Toy(), n_trials=2)
    os.rename(path, tmp_path / "aside.db")
    os.rename(tmp_path / "aside.db", path)  # the same file (inode) again
    study.optimize(Toy(), n_trials=2)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 4


def test_a_stopping_run_retries_putting_its_trial_back_while_the_server_is_unreachable(tmp_path, monkeypatch):
    from nasforge.experiment import scheduler
    from nasforge.experiment.storage.base import StorageUnreachableError

    study = _study(f"sqlite:///{tmp_path / 'u.db'}")
    monkeypatch.setattr(scheduler, "REQUEUE_WAITS", (0.0, 0.0, 0.0))
    release, failures = Study.release, []

    def down_twice(self, keep=()):
        if len(failures) < 2:
            failures.append(1)
            raise StorageUnreachableError("storage 'x': connection refused")
        return release(self, keep=keep)

    class Down:
        def evaluate(self, arch, fidelity=None):
            monkeypatch.setattr(Study, "release", down_twice)
            raise StorageUnreachableError("storage 'x': server closed the connection unexpectedly")

    with pytest.raises(StorageUnreachableError, match="server closed"):
        study.optimize(Down(), n_trials=3, catch=False)
    assert len(failures) == 2
    assert [(t.state, t.attempts) for t in study.trials] == [(TrialState.WAITING, 1)]  # no process death counted


def test_only_a_lost_or_refused_server_connection_is_unreachable(tmp_path):
    import sqlalchemy as sa

    from nasforge.experiment.storage.sql import _unreachable

    class Orig(Exception):
        def __init__(self, sqlstate):
            super().__init__("x")
            self.sqlstate = sqlstate

    def error(sqlstate, invalidated=False):
        return sa.exc.OperationalError("SELECT 1", {}, Orig(sqlstate), connection_invalidated=invalidated)

    pg, lite = sa.create_engine("postgresql+psycopg://u@h/db"), sa.create_engine("sqlite://")
    assert _unreachable(error(None), pg) and _unreachable(error("08006"), pg) and _unreachable(error("57P01"), pg)
    assert _unreachable(error("40001", invalidated=True), pg)
    assert not _unreachable(error("55P03"), pg) and not _unreachable(error("53100"), pg)
    assert not _unreachable(error(None, invalidated=True), lite)


@pytest.mark.parametrize("option, value, message", [
    ("timeout", 0, "timeout must be a positive number of seconds, got 0"),
    ("timeout", 0.0, "timeout must be a positive number of seconds"),
    ("progress", "no", "progress must be True or False, got 'no'"),
    ("progress", 1, "progress must be True or False"),
])
def test_a_zero_timeout_and_a_progress_that_is_no_bool_are_refused_before_any_work(tmp_path, option, value, message):
    study = _study(f"sqlite:///{tmp_path / 'z.db'}")
    with pytest.raises(UsageError, match=message):
        study.optimize(Toy(), n_trials=3, **{option: value})
    assert study.trials == [] and study.stored_run_config() is None  # nothing run, no timeout recorded


class FailFirst:
    """Fails the first ``n`` calls, then answers with the toy metrics."""

    def __init__(self, n: int) -> None:
        self.left = n

    def evaluate(self, arch, fidelity=None):
        self.left -= 1
        if self.left >= 0:
            raise RuntimeError("boom")
        return Toy().evaluate(arch)


def test_the_objectives_are_dataframe_columns_even_when_every_trial_failed():
    study = Study(SPACE, "random", objectives="acc", seed=0)
    with pytest.warns(Warning, match="failed"):
        study.optimize(FailFirst(3), n_trials=3)
    frame = study.trials_dataframe()
    assert list(frame.columns[:4]) == ["number", "state", "arch", "acc"] and frame["acc"].isna().all()
    from nasforge.analysis.studyreport.data import load_study_data

    stored = load_study_data(study.storage, study.name)  # the report's copy of the study has the same columns
    assert list(stored.trials_dataframe().columns) == list(frame.columns)


def test_trials_csv_has_the_same_columns_whichever_trials_it_shows(tmp_path, monkeypatch, capsys):
    from nasforge.cli import main

    monkeypatch.chdir(tmp_path)
    study = _study("sqlite:///mf.db")
    study.optimize(FailFirst(1), n_trials=4)  # the first trial failed: its row has no metric
    study.storage.close()
    headers = set()
    for extra in ([], ["--state", "FAILED"], ["--state", "COMPLETE"], ["--state", "PRUNED"], ["--limit", "1"]):
        assert main(["trials", "demo", "--storage", "mf.db", "--format", "csv", *extra]) == 0
        headers.add(capsys.readouterr().out.splitlines()[0])
    assert len(headers) == 1 and headers.pop().startswith("number,state,arch,acc,params,cost,error,")


def test_a_factory_missing_an_argument_says_so_and_how_to_pass_it():
    from nasforge.experiment.evaluator_spec import build_evaluator

    with pytest.raises(UsageError, match="evaluator factory nasforge:TableEvaluator: missing a required argument "
                                         "'benchmark'; pass it with --evaluator-kwargs"):
        build_evaluator({"factory": "nasforge:TableEvaluator"}, trusted=True)
    with pytest.raises(UsageError, match="does not take the keyword arguments .*'bogus'"):
        build_evaluator({"factory": "nasforge:TableEvaluator", "kwargs": {"benchmark": 1, "bogus": 1}}, trusted=True)


def test_resume_of_a_finished_one_trial_study_says_1_trial(tmp_path, monkeypatch, capsys):
    from nasforge.cli import main

    monkeypatch.chdir(tmp_path)
    study = _study("sqlite:///one.db", "one")
    study.optimize(Toy(), n_trials=1, evaluator_spec={"factory": "engine_evaluators:make_toy"})
    study.storage.close()
    assert main(["resume", "one", "--storage", "one.db"]) == 0
    assert "study 'one' is finished: 1 trial, nothing to resume" in capsys.readouterr().out


def test_a_study_that_recorded_timeout_0_says_so_on_resume_and_takes_a_new_limit(tmp_path):
    url = f"sqlite:///{tmp_path / 't.db'}"
    study = _study(url)
    study.optimize(Toy(), n_trials=4, timeout=60)
    study.storage.update_study(study._id, run_config={**study.run_config, "timeout": 0, "n_trials_total": 6})
    study.storage.close()
    old = Study.load("demo", url)
    with pytest.raises(UsageError, match="recorded timeout=0 .* --timeout SECONDS or --no-timeout"):
        old.resume(Toy())
    assert len(old.resume(Toy(), timeout=None).trials) == 6


def test_a_misspelt_required_evaluator_argument_is_named_with_the_missing_one():
    with pytest.raises(UsageError, match="missing a required argument 'benchmark' \\(it takes no 'benchmarkk': "
                                         "misspelt\\?\\); pass it with --evaluator-kwargs"):
        build_evaluator({"factory": "nasforge:TableEvaluator", "kwargs": {"benchmarkk": "nb201"}}, trusted=True)
