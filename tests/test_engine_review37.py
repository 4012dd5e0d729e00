"""Engine review fixes: resume's time limit, concurrent targets, SIGTERM, storage URL messages, crash attempts,
messages of the inline and process executors, warnings on the command line, a run whose every trial failed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest

from nasforge import Study
from nasforge.cli import _warnings_as_lines, main
from nasforge.exceptions import AllTrialsFailedWarning, StorageError, StudyExistsError, UsageError
from nasforge.experiment import TrialState
from nasforge.spaces import get_space

from engine_evaluators import Toy

SPACE = get_space("nb201")
TESTS = Path(__file__).parent


class Interrupting:
    """Raises KeyboardInterrupt itself (in a worker process it must fail only its trial)."""

    def evaluate(self, arch, fidelity=None):
        raise KeyboardInterrupt


def _study(url: str, name: str = "demo") -> Study:
    return Study(SPACE, "random", objectives="acc", seed=0, name=name, storage=url)


def test_resume_says_the_recorded_timeout_stopped_it_and_takes_timeout_options(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    url = "sqlite:///t.db"
    study = _study(url)
    study.optimize(Toy(0.05), n_trials=30, timeout=0.2,
                   evaluator_spec={"factory": "engine_evaluators:make_toy", "kwargs": {"sleep": 0.05}})
    study.storage.close()
    base = ["resume", "demo", "--storage", url, "--evaluator", "engine_evaluators:make_toy", "--no-progress"]
    assert main(base) == 0
    out = capsys.readouterr().out
    assert "stopped by the time limit (0.2 s, recorded) with" in out and "--no-timeout" in out, out
    assert main([*base, "--evaluator-kwargs", '{"sleep": 0.0}', "--no-timeout"]) == 0
    out = capsys.readouterr().out
    assert "stopped" not in out and "30 in total so far" in out, out
    assert main([*base, "--timeout", "0"]) == 2  # a positive number of seconds
    done = Study.load("demo", url)
    assert done.n_proposals == 30 and done.run_config["timeout"] is None


def test_two_runs_at_once_add_up_to_a_target_whose_resume_makes_every_proposal(tmp_path, monkeypatch):
    from nasforge.experiment.executors.inline import InlineExecutor

    url = f"sqlite:///{tmp_path / 'c.db'}"
    study = _study(url, "conc")
    other = Study.load("conc", url)
    start = InlineExecutor.start

    def another_run_is_under_way(self, evaluator, decide):  # it recorded its target 10 and runs its first trial
        other.set_run_config({"n_trials_total": 10}, keep_target=True)
        other.ask()
        start(self, evaluator, decide)

    monkeypatch.setattr(InlineExecutor, "start", another_run_is_under_way)
    study.optimize(Toy(), n_trials=10)
    assert study.run_config["n_trials_total"] == 20 and study.n_proposals == 11
    monkeypatch.setattr(InlineExecutor, "start", start)
    other.requeue([0])  # the other run is killed
    study.resume(Toy())
    assert study.n_proposals == 20 == Study.load("conc", url).run_config["n_trials_total"]
    assert all(t.state == TrialState.COMPLETE for t in study.trials)


def test_a_short_run_after_an_interrupted_longer_one_keeps_its_target():
    study = _study("memory", "short")
    study.set_run_config({"n_trials_total": 50}, keep_target=True)  # a longer run, interrupted with 0 proposals
    study.optimize(Toy(), n_trials=5)
    assert study.run_config["n_trials_total"] == 50 and study.work_left() == 45


@pytest.mark.parametrize("group", [False, True], ids=["to-the-driver", "to-the-group-with-process-workers"])
def test_sigterm_stops_the_cli_like_ctrl_c(tmp_path, group):
    """SIGTERM to the driver, or to its whole process group (a shell's kill, a service manager) with process workers
    (which must not die of it first, while an evaluator's own children still can be terminated)."""
    url = f"sqlite:///{tmp_path / 'term.db'}"
    study = _study(url, "term")
    study.optimize(Toy(), n_trials=1, evaluator_spec={"factory": "engine_evaluators:make_toy", "kwargs": {}})
    study.set_run_config({**study.run_config, "n_trials_total": 5})
    study.storage.close()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), *sys.path])}
    run = subprocess.Popen([sys.executable, "-m", "nasforge", "resume", "term", "--storage", url, "--no-progress",
                            *(["--executor", "process"] if group else []),
                            "--evaluator", "engine_evaluators:make_toy", "--evaluator-kwargs", '{"sleep": 30}'],
                           env=env, stderr=subprocess.PIPE, text=True, start_new_session=group)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        conn = sqlite3.connect(tmp_path / "term.db")
        running = conn.execute("SELECT count(*) FROM nasforge_trials WHERE state = 'RUNNING'").fetchone()[0]
        conn.close()
        if running:
            break
        time.sleep(0.2)
    if group:
        os.killpg(run.pid, signal.SIGTERM)
    else:
        run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 143 and "nasforge resume: terminated (SIGTERM)" in err and "Traceback" not in err, err
    assert not (tmp_path / "term.db-wal").exists()  # the write-ahead log folded into the file, as at Ctrl-C
    trials = Study.load("term", url).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.WAITING]
    assert trials[1].attempts == 1  # a clean stop, no crash counted


def test_storage_errors_never_show_the_password():
    with pytest.raises(Exception) as caught:
        _study("postgresql+psycopg://alice:s3cretPW@127.0.0.1:1/db")
    assert "s3cretPW" not in str(caught.value)


def test_sqlite_urls_refuse_query_parameters_and_name_a_missing_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StorageError, match="takes no query parameters.*'mode'"):
        _study("sqlite:///q.db?mode=ro")
    assert not (tmp_path / "q.db").exists()
    with pytest.raises(StorageError, match="the folder 'no/such' does not exist"):
        _study("sqlite:///no/such/x.db")
    with pytest.raises(StorageError, match="'~' is not expanded"):
        _study("sqlite:///~/x.db")


def test_a_trial_failed_after_max_crash_reruns_counts_the_attempts_it_ran():
    study = _study("memory", "crash")
    trial = study.ask()
    for _ in range(4):  # started 4 times, its process died each time
        study.requeue([trial.number])
        if _ < 3:
            assert study.next_waiting().number == trial.number
    study.optimize(Toy(), n_trials=0, max_crash_reruns=3)
    failed = study.trials[0]
    assert failed.state == TrialState.FAILED and "died 4 times" in failed.error and failed.attempts == 4


def test_the_inline_executor_names_the_setting_it_cannot_apply():
    with pytest.raises(UsageError, match="n_workers=2 needs executor='process'.*--executor process") as caught:
        _study("memory").optimize(Toy(), n_trials=2, n_workers=2)
    assert "timeout" not in str(caught.value) and "time it out" not in str(caught.value)
    with pytest.raises(UsageError, match="trial_timeout needs executor='process'"):
        _study("memory", "other").optimize(Toy(), n_trials=2, trial_timeout=5)


def test_keyboard_interrupt_in_a_worker_fails_its_trial_naming_it(capfd):
    study = _study("memory", "ki")
    study.optimize(Interrupting(), n_trials=1, executor="process")
    assert study.trials[0].state == TrialState.FAILED and study.trials[0].error.startswith("KeyboardInterrupt")
    assert "Traceback" not in capfd.readouterr().err


def test_process_executor_refuses_a_lambda_and_a_main_script_read_from_stdin(tmp_path, monkeypatch):
    with pytest.raises(UsageError, match="must be picklable"):
        _study("memory").optimize(lambda arch: 1.0, n_trials=1, executor="process")
    monkeypatch.setattr(sys.modules["__main__"], "__file__", str(tmp_path / "<stdin>"), raising=False)
    monkeypatch.setattr(sys.modules["__main__"], "__spec__", None, raising=False)  # as `python - < script`
    with pytest.raises(UsageError, match="cannot re-run the main script"):
        _study("memory", "stdin").optimize(Toy(), n_trials=1, executor="process")


def test_a_run_whose_every_trial_failed_warns_once():
    with pytest.warns(AllTrialsFailedWarning, match="all 3 trials of this run failed; the first error: ZeroDivisionError"):
        _study("memory").optimize(lambda arch: 1 / 0, n_trials=3)


def test_cli_warnings_are_one_line_without_source():
    original = warnings.formatwarning
    with _warnings_as_lines("resume"):
        line = warnings.formatwarning(RuntimeWarning("the replay\n diverged"), RuntimeWarning, "/src/study.py", 173,
                                      "study._attach(...)")
    assert line == "nasforge resume: warning: the replay diverged\n" and warnings.formatwarning is original


def test_resume_says_one_trial_in_the_singular(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    study = _study("sqlite:///s.db")
    study.optimize(Toy(), n_trials=1, evaluator_spec={"factory": "engine_evaluators:make_toy", "kwargs": {}})
    study.enqueue(study.trials[0].arch)
    study.storage.close()
    assert main(["resume", "demo", "--storage", "sqlite:///s.db", "--evaluator", "engine_evaluators:make_toy",
                 "--no-progress"]) == 0
    assert "1 trial finished in this run, 2 in total so far" in capsys.readouterr().out


def test_a_second_search_of_a_running_study_is_told_to_wait(tmp_path):
    from nasforge.pipelines import search

    url = f"sqlite:///{tmp_path / 'b.db'}"
    _study(url, "busy").storage.close()
    with search._holding(tmp_path, "cmd") as mine, search._holding(tmp_path, "cmd") as theirs:
        assert (mine, theirs) == (False, True)
    config = SimpleNamespace(name="busy", storage=url, out=str(tmp_path), objectives=["acc"], directions=["maximize"],
                             strategy="random", seed=0, constraints=None, strategy_kwargs={}, to_json=dict)
    with pytest.raises(StudyExistsError, match="is being run now by another process") as caught:
        search._create_study(config, SPACE, None, busy=True)
    assert "nasforge resume" not in str(caught.value)
