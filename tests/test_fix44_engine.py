"""Engine fixes of 2026-12-06: a second Ctrl-C during the clean stop, zombie drivers, start-up deaths and raising
evaluator factories as one line, the attempts of a trial failed after max_crash_reruns, a finished study's resume
options, the RUNNING stamp of a process's first trial, and where the run's warnings point."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from types import SimpleNamespace

import pytest

from nasforge import Study
from nasforge.cli import main
from nasforge.cli.engine import _still_to_do
from nasforge.exceptions import AllTrialsFailedWarning, NasforgeError
from nasforge.experiment import TrialState
from nasforge.experiment.evaluator_spec import EvaluatorFactoryError, build_evaluator
from nasforge.experiment.executors.base import WorkerStartError
from nasforge.experiment.executors.inline import InlineExecutor
from nasforge.experiment.executors.process import ProcessExecutor
from nasforge.experiment.identity import pid_gone
from nasforge.spaces import get_space

from engine_evaluators import Toy

SPACE = get_space("nb201")


def _study(url: str = "memory", name: str = "s") -> Study:
    return Study(SPACE, "random", objectives="acc", seed=0, name=name, storage=url)


def make_broken(**kwargs):
    """An evaluator factory that fails (as one whose data file is missing)."""
    raise ValueError("cannot build: missing data file\n/nope")


class DiesOnLoad:
    """Kills the worker process that unpickles it."""

    def __init__(self):
        self.state = "some"  # pickled, so that unpickling calls __setstate__

    def __setstate__(self, state):
        os.kill(os.getpid(), signal.SIGKILL)

    def evaluate(self, arch, fidelity=None):
        raise AssertionError("never runs")


# -- 1. a second Ctrl-C during the clean stop ----------------------------------------------------------------------
def test_a_ctrl_c_while_the_workers_shut_down_still_puts_the_trials_back(monkeypatch):
    """A second Ctrl-C inside the executor's shutdown used to skip putting the trials back: they stayed RUNNING
    and the next resume counted them as crashes."""
    def interrupted(arch):
        raise KeyboardInterrupt

    def shutdown(self):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C again while the workers stop
        time.sleep(0.05)

    monkeypatch.setattr(InlineExecutor, "shutdown", shutdown)
    study = _study()
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        study.optimize(interrupted, n_trials=2)
    assert [t.state for t in study.trials] == [TrialState.WAITING] and study.trials[0].attempts == 1
    assert signal.getsignal(signal.SIGINT) is before


# -- 2. a killed driver not yet reaped ----------------------------------------------------------------------------
@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="zombies are told from /proc")
def test_a_zombie_process_counts_as_gone():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert not pid_gone(child.pid)
        os.kill(child.pid, signal.SIGKILL)  # killed, not reaped: a zombie
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not pid_gone(child.pid):
            time.sleep(0.05)
        assert pid_gone(child.pid)
    finally:
        child.kill()
        child.wait()
    assert pid_gone(child.pid)


def test_the_resume_line_names_live_runs_and_the_time_limit_together():
    def trial(worker, state="RUNNING"):
        return SimpleNamespace(state=SimpleNamespace(value=state), worker=worker, heartbeat=time.time())

    live = f"{os.uname().nodename}:other:1:x"  # another machine: judged by its heartbeat, which is fresh
    study = SimpleNamespace(worker_id="me", trials=[trial(live), trial("me", "COMPLETE")], work_left=lambda _: 7)
    line = _still_to_do(study, {"timeout": 5.0}, {}, elapsed=5.2)
    assert line == ("; 1 trial still running in another process; stopped by the time limit (5 s, recorded) with 7 "
                    "of the target's trials left: resume again, or pass --timeout SECONDS or --no-timeout")
    assert _still_to_do(study, {"timeout": 5.0}, {}, elapsed=1.0) == "; 1 trial still running in another process"
    study.trials[0].heartbeat = 0.0  # silent for long: not running anywhere
    assert _still_to_do(study, {"timeout": 5.0}, {}, elapsed=1.0) == ""


# -- 4. workers that die while starting --------------------------------------------------------------------------
def test_workers_dying_at_start_up_raise_one_named_error(monkeypatch):
    monkeypatch.setattr(ProcessExecutor, "max_startup_deaths", 0)
    study = _study()
    with pytest.raises(WorkerStartError, match=r"^1 worker processes died while starting, the last: worker died "
                                               r"\(killed by SIGKILL\); check that the evaluator") as caught:
        study.optimize(DiesOnLoad(), n_trials=2, executor="process", executor_options={"start_method": "fork"})
    assert isinstance(caught.value, NasforgeError) and isinstance(caught.value, RuntimeError)
    assert all(t.state == TrialState.WAITING for t in study.trials)


# -- 5. an evaluator factory that raises ---------------------------------------------------------------------------
def test_a_factory_that_raises_is_one_line_naming_it(tmp_path, capsys):
    factory = f"{__name__}:make_broken"
    with pytest.raises(EvaluatorFactoryError) as caught:
        build_evaluator({"factory": factory, "kwargs": {"size": 1}}, trusted=True)
    assert str(caught.value) == f"evaluator factory {factory} raised ValueError: cannot build: missing data file /nope"
    assert isinstance(caught.value.__cause__, ValueError)  # Python keeps the factory's own error
    url = f"sqlite:///{tmp_path / 'f.db'}"
    study = _study(url)
    study.optimize(Toy(), n_trials=1)
    study.set_run_config({**study.run_config, "n_trials_total": 3})
    study.storage.close()
    capsys.readouterr()
    assert main(["resume", "s", "--storage", url, "--evaluator", factory, "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err == f"nasforge resume: error: evaluator factory {factory} raised ValueError: cannot build: missing " \
                  "data file /nope\n"


# -- 6. attempts of a trial failed after max_crash_reruns ------------------------------------------------------------
def test_a_trial_failed_after_max_crash_reruns_stores_the_attempts_it_ran(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    study = _study(url)
    trial = study.ask()
    for died in range(4):  # started 4 times, its process died each time
        study.requeue([trial.number])
        if died < 3:
            assert study.next_waiting().number == trial.number
    with pytest.warns(AllTrialsFailedWarning):
        study.optimize(Toy(), n_trials=0, max_crash_reruns=3)
    for failed in (study.trials[0], Study.load("s", url).trials[0]):
        assert failed.state == TrialState.FAILED and "died 4 times" in failed.error and failed.attempts == 4


# -- 7. a finished study's resume options ------------------------------------------------------------------------
def test_resume_of_a_finished_study_checks_its_options(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'f.db'}"
    _study(url).optimize(Toy(), n_trials=2, evaluator_spec={"factory": "engine_evaluators:make_toy", "kwargs": {}})
    capsys.readouterr()
    for options, said in ((["--workers", "2"], "n_workers=2 needs executor='process'"),
                          (["--trial-timeout", "5"], "trial_timeout needs executor='process'")):
        assert main(["resume", "s", "--storage", url, *options]) == 2
        err = capsys.readouterr().err
        assert err.startswith("nasforge resume: error: the inline executor") and said in err and err.count("\n") == 1
    assert main(["resume", "s", "--storage", url, "--workers", "1", "--executor", "process"]) == 0
    assert "is finished: 2 trials, nothing to resume" in capsys.readouterr().out


# -- 8. the first trial a process stores ---------------------------------------------------------------------------
def test_the_first_trial_is_stamped_running_after_the_space_is_ready(tmp_path, monkeypatch):
    """The first canonical form can take a second (NAS-Bench-201 builds a table): it was computed inside the write
    transaction, after the trial was stamped RUNNING, and charged to the trial's time."""
    canonical, calls = type(SPACE).canonical, []

    def slow_first(self, arch):
        if not calls:
            time.sleep(0.5)
        calls.append(arch)
        return canonical(self, arch)

    study = _study(f"sqlite:///{tmp_path / 't.db'}")
    monkeypatch.setattr(type(SPACE), "canonical", slow_first)
    trial = study.ask()
    assert time.time() - trial.started_at < 0.4 and calls


# -- 9. where the run's warnings point -----------------------------------------------------------------------------
def test_the_runs_warnings_point_at_the_callers_line():
    def slow_failure(arch):
        time.sleep(0.3)  # the chain of three attempts outlasts the timeout: its last retry is never started
        raise ValueError("x")

    study = _study()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study.optimize(slow_failure, 100, timeout=0.5, max_retries=2)
        study.set_run_config({**study.run_config, "timeout": 0.5})
        study.resume(slow_failure)
    left = [w for w in caught if "left WAITING" in str(w.message)]
    failed = [w for w in caught if issubclass(w.category, AllTrialsFailedWarning)]
    assert len(left) == 2 and len(failed) == 2
    assert {w.filename for w in left + failed} == {__file__}
