"""Review 51 (security regressions): what the fixes of a received database's resume took from real runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nasforge import Study
from nasforge.cli import main
from nasforge.exceptions import UsageError
from nasforge.experiment import scheduler
from nasforge.experiment.executors import EXECUTORS
from nasforge.experiment.executors.inline import InlineExecutor
from nasforge.experiment.storage.urls import sqlite_url
from nasforge.pipelines.search import SearchConfig, _copy_writes_beside_itself, _write_trials
from nasforge.spaces import get_space

from engine_evaluators import Toy
from test_fix51_security import ray_study  # noqa: F401 - the fixture, used by cluster_study

SPACE = get_space("nb201")


def _stopped_run(tmp_path: Path, storage: str, trials: int = 2) -> tuple[SearchConfig, Path]:
    """Study 'job' in ``storage`` (outside its run folder ``tmp_path/run``) whose run wrote its outputs and stopped
    before its summary (Ctrl-C)."""
    study = Study(SPACE, "random", objectives="acc", seed=0, name="job", storage=storage)
    study.optimize(Toy(), trials)
    out = tmp_path / "run"
    out.mkdir()
    config = SearchConfig(storage=storage, out=str(out), name="job")
    _write_trials(study, config)
    (out / "front.json").write_text("[]")
    (out / "models").mkdir()
    return config, out


@pytest.mark.parametrize("relative", [True, False])
def test_a_run_stopped_before_its_summary_resumes_into_its_folder(tmp_path, monkeypatch, relative):
    """Would fail (relative): a study that recorded its shared SQLite storage relative (before 2026-12-06),
    stopped before its summary, was refused from the folder its run started in."""
    monkeypatch.chdir(tmp_path)
    config, _ = _stopped_run(tmp_path, "sqlite:///shared.db" if relative else sqlite_url(tmp_path / "shared.db"))
    assert _copy_writes_beside_itself("job", "sqlite:///shared.db", config, None) is config
    gone = SearchConfig(storage=config.storage, out=str(tmp_path / "deleted"), name="job")
    assert _copy_writes_beside_itself("job", "sqlite:///shared.db", gone, None) is gone  # as before that change


@pytest.mark.parametrize("relative", [True, False])
@pytest.mark.parametrize("victim", ["trials", "front only"])
def test_a_received_database_never_writes_over_a_stopped_runs_outputs(tmp_path, monkeypatch, relative, victim):
    """Would fail (absolute): another run's folder stopped before its summary (its trials.csv, front.json, no lock:
    a SQLite run leaves none) was written by any database that recorded it as its out."""
    monkeypatch.chdir(tmp_path)
    config, out = _stopped_run(tmp_path, sqlite_url(tmp_path / "shared.db"))
    if victim == "front only":
        (out / "trials.csv").unlink()
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    received = tmp_path / "received"
    received.mkdir()
    monkeypatch.chdir(received)
    evil = Study(SPACE, "random", objectives="acc", seed=1, name="job", storage="sqlite:///nasforge.db")
    evil.optimize(Toy(), 2)
    url = "sqlite:///nasforge.db" if relative else sqlite_url(received / "nasforge.db")
    with pytest.raises(UsageError, match=r"holds no record of this run .* and files other than its outputs .*, or, "
                                         r"if that folder is this run's, move everything in it but models/ elsewhere"):
        _copy_writes_beside_itself("job", "sqlite:///nasforge.db", SearchConfig(storage=url, out=str(out)), None)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


@pytest.mark.slow
def test_an_older_study_with_a_relative_storage_resumes_after_ctrl_c(tmp_path, monkeypatch):
    """The reviewer's run: a 1-trial search, its storage recorded relative as before 2026-12-06, summary gone."""
    from nasforge.pipelines.search import resume_search, run_search

    monkeypatch.chdir(tmp_path)
    run_search(SearchConfig(trials=1, retrain=0, search_epochs=1, final_epochs=None, workers=1, threads=1, seed=2,
                            out=str(tmp_path / "run"), name="job", storage="sqlite:///shared.db"))
    study = Study.load("job", "sqlite:///shared.db")
    study.set_user_attr("pipeline_config", {**study.user_attrs["pipeline_config"], "storage": "sqlite:///shared.db"})
    (tmp_path / "run" / "summary.json").unlink()
    resume_search("job", "sqlite:///shared.db", progress=False)
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["name"] == "job"


def _mine(n_workers=1, trial_timeout=None, pool="a"):
    """A program's own "process" executor."""
    return InlineExecutor()


def test_a_programs_own_executor_under_a_builtin_name_keeps_its_recorded_options(tmp_path, monkeypatch):
    """Would fail: its recorded option was refused as if it were nasforge's process executor's."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(EXECUTORS._entries, "process", EXECUTORS.get("process"))  # restored after the test
    monkeypatch.setitem(EXECUTORS._tags, "process", EXECUTORS.tags("process"))
    EXECUTORS.register("process", _mine, replace=True, parallel=True)
    study = Study(SPACE, "random", objectives="acc", seed=0, name="r", storage="sqlite:///r.db")
    study.optimize(Toy(), 1, executor="process", executor_options={"pool": "b"})
    study.set_run_config({**study.run_config, "n_trials_total": 2})
    assert len(Study.load("r", "sqlite:///r.db").resume(Toy()).trials) == 2


@pytest.fixture
def cluster_study(ray_study):
    """A study of 2 trials recorded to resume to 4 on a Ray cluster (address auto); returns the executors the
    resume builds (an inline one stands in for Ray)."""
    _, recorded = ray_study
    return recorded({"address": "auto"})


RESUME = ["resume", "demo", "--evaluator", "engine_evaluators:make_toy"]


def test_a_cluster_study_resumes_with_the_options_given_again(cluster_study, capsys):
    """Would fail: nasforge resume had no way to pass the address the database may not choose."""
    assert main(RESUME) == 2
    assert "nasforge resume --executor-options JSON" in capsys.readouterr().err
    assert main([*RESUME, "--executor-options", '{"address": "auto"}']) == 0
    assert cluster_study == [("ray", {"address": "auto"})]
    assert len(Study.load("demo", "sqlite:///nasforge.db").trials) == 4


@pytest.mark.parametrize("given, error", [("{bad", "--executor-options is not valid JSON"),
                                          ("[1]", "--executor-options must be a JSON object"),
                                          ('{"pool": 1}', "executor 'ray' takes no option 'pool'")])
def test_bad_executor_options_are_one_line(cluster_study, capsys, given, error):
    assert main([*RESUME, "--executor-options", given]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and error in err, err
    assert cluster_study == []


def test_a_run_folders_trials_csv_is_read_as_utf8_whatever_the_locale(tmp_path):
    """Review regression i: trials.csv (written in UTF-8) was read in the locale's encoding, so under LC_ALL=C a
    trial's non-ASCII error made a legitimate run folder read as another run's (resume refused)."""
    import csv
    import os
    import subprocess
    import sys

    from nasforge import Result, Study

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    study = Study("nb201", "random", objectives="val_acc", seed=0, name="job", storage=url)
    study.optimize(lambda arch: Result(status="failed", error="shape mismatch → 3 vs 4 (café)"), 2, progress=False)
    out = tmp_path / "run"
    out.mkdir()
    with (out / "trials.csv").open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["number", "arch", "error"])
        for t in study.trials:
            writer.writerow([t.number, study.space.format(t.arch), t.error])
    code = ("import sys; from pathlib import Path; from nasforge.pipelines.search import _outputs_are_its_own; "
            f"print(_outputs_are_its_own(Path({str(out)!r}), 'job', {url!r}))")
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, encoding="utf-8")
    assert done.stdout.strip() == "True", done.stderr
