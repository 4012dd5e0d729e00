"""The optimize loop: executors, faults, retries, failure rate, pruning, progress, resume."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest

from nasforge import Study
from nasforge.experiment import MedianPruner, StudyAborted, SuccessiveHalvingPruner, TrialState, get_pruner
from nasforge.experiment.identity import new_worker_id
from nasforge.exceptions import UsageError
from nasforge.experiment.progress import ProgressReporter
from nasforge.spaces import get_space
from nasforge.strategies import get_strategy

from engine_backends import backend  # noqa: F401  (a fixture: memory, SQLite, PostgreSQL)
from engine_evaluators import Crashing, Curves, Flaky, torch_available, Toy, toy_metrics, toy_pair, TorchThreads

SPACE = get_space("nb201")


def _study(where, name="s", strategy="random", seed=0, **kw):
    """A study in ``where``: a folder (a SQLite file in it) or a storage from the ``backend`` fixture."""
    url = f"sqlite:///{where / 'e.db'}" if isinstance(where, Path) else where
    return Study(SPACE, strategy, objectives="acc", seed=seed, name=name, storage=url, **kw)


def test_loaded_study_continues_exactly(backend):
    url = backend
    Study(SPACE, "evolution", objectives="acc", seed=3, name="x", storage=url, population_size=10).optimize(Toy(), 25)
    resumed = Study.load("x", url).optimize(Toy(), 15)
    reference = Study(SPACE, "evolution", objectives="acc", seed=3, population_size=10).optimize(Toy(), 40)
    assert [t.arch for t in resumed.trials] == [t.arch for t in reference.trials]
    assert resumed.strategy_fingerprint() == reference.strategy_fingerprint()


def test_process_pool_runs_trials_and_limits_threads(tmp_path):
    study = _study(tmp_path).optimize(Curves(steps=2), 8, n_workers=2, executor="process",
                                      executor_options={"threads_per_worker": 1})
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 8
    assert {t.metrics["omp_threads"] for t in study.trials} == {1.0}
    assert all(len(t.intermediate) == 2 for t in study.trials)
    assert len({t.number for t in study.trials}) == 8


@pytest.mark.skipif(not torch_available(), reason="torch is not installed")
def test_torch_in_workers_uses_the_thread_budget(tmp_path):
    study = _study(tmp_path).optimize(TorchThreads(), 1, executor="process", executor_options={"threads_per_worker": 1})
    assert study.trials[0].metrics["torch_threads"] == 1.0


@pytest.mark.parametrize("how", ["sigkill", "segfault"])
def test_worker_death_fails_the_trial_and_a_new_worker_takes_over(tmp_path, how):
    study = _study(tmp_path, seed=0).optimize(Crashing(how), 4, n_workers=2, executor="process")  # dies first
    dead = [t for t in study.trials if t.arch.genotype[0] == "avg_pool_3x3"]
    assert dead and all(t.state == TrialState.FAILED and "worker died (killed by SIG" in t.error for t in dead)
    assert all(t.cost == 0.0 for t in dead)  # the evaluator reported no cost: as for an evaluator error
    alive = [t for t in study.trials if t not in dead]
    assert alive and all(t.state == TrialState.COMPLETE for t in alive)


def test_trial_timeout_kills_the_worker(tmp_path):
    study = _study(tmp_path, seed=23).optimize(Crashing("sigkill", hang=30.0), 3, n_workers=2, executor="process",
                                              trial_timeout=1.0)
    hung = [t for t in study.trials if t.arch.genotype[0] == "none"]
    assert hung and all(t.state == TrialState.FAILED and "timed out after 1 s" in t.error for t in hung)
    assert all(t.cost == 0.0 and t.finished_at - t.started_at >= 1.0 for t in hung)  # wall time: the timestamps


def test_retries_are_linked_trials_and_strategy_sees_last_outcome(tmp_path, backend):
    study = _study(backend).optimize(Flaky(str(tmp_path)), 4, max_retries=1)
    assert [t.state for t in study.trials] == [TrialState.FAILED, TrialState.COMPLETE] * 4
    for failed, retry in zip(study.trials[::2], study.trials[1::2]):
        assert retry.retry_of == failed.number and retry.arch == failed.arch and failed.tell_seq is None
    assert study.strategy.n_told == 4
    assert [(t.state, t.retry_of) for t in Study.load("s", backend).trials] == [(t.state, t.retry_of)
                                                                              for t in study.trials]


def test_failure_rate_aborts_with_a_clear_message(tmp_path, backend):
    with pytest.raises(StudyAborted, match=r"aborted: \d+ of \d+ trials failed .* max_failure_rate 10%"):
        _study(backend).optimize(Flaky(str(tmp_path)), 20, max_failure_rate=0.1, min_trials_for_failure_rate=3)


def test_inline_executor_rejects_parallel_and_timeouts(tmp_path):
    with pytest.raises(ValueError, match="inline executor"):
        _study(tmp_path).optimize(Toy(), 2, n_workers=2)
    with pytest.raises(ValueError, match="unknown executor 'gpu'"):
        _study(tmp_path, name="t").optimize(Toy(), 2, executor="gpu")


def test_worker_processes_take_what_tell_takes_from_a_plain_evaluator(tmp_path):
    study = Study(SPACE, "nsga2", objectives=["acc", "params"], directions=["maximize", "minimize"], seed=0,
                  storage=f"sqlite:///{tmp_path / 'e.db'}")
    study.optimize(toy_pair, 4, n_workers=2, executor="process")
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 4
    assert all(t.metrics == toy_metrics(t.arch) for t in study.trials)


def test_unpicklable_evaluator_is_a_clear_error(tmp_path):
    with pytest.raises(UsageError, match="must be picklable"):
        _study(tmp_path).optimize(lambda arch: None, 2, n_workers=2, executor="process")


def test_an_unsendable_result_fails_as_inline_and_a_worker_survives_it(tmp_path):
    from engine_evaluators import Unsendable

    errors = {}
    for executor in ("inline", "process"):
        study = _study(tmp_path, name=executor).optimize(Unsendable(), 2, executor=executor)
        errors[executor] = [t.error.split(" is ")[0] for t in study.trials]
    assert errors["process"] == errors["inline"] == ["invalid result: metric 'lock'"] * 2


def _wait_gone(pid: int, when: str) -> None:
    """Fail unless process ``pid`` ends within 5 s (its zombie, if any, goes with init's reaping)."""
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return
        time.sleep(0.1)
    os.kill(pid, 9)
    pytest.fail(f"the evaluator's child process {pid} survived {when}")


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="process groups are POSIX")
def test_trial_timeout_kills_the_evaluators_child_processes_too(tmp_path):
    from engine_evaluators import SleepingChild

    pid_file = tmp_path / "child.pid"
    study = _study(tmp_path).optimize(SleepingChild(str(pid_file)), 1, executor="process", trial_timeout=1.5)
    assert "timed out" in study.trials[0].error
    _wait_gone(int(pid_file.read_text()), "the trial timeout")


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="process groups are POSIX")
def test_the_end_of_the_run_kills_what_finished_evaluations_started(tmp_path):
    from engine_evaluators import SleepingChild

    pid_file = tmp_path / "child.pid"
    study = _study(tmp_path).optimize(SleepingChild(str(pid_file), wait=False), 1, executor="process")
    assert study.trials[0].state == TrialState.COMPLETE
    _wait_gone(int(pid_file.read_text()), "the end of the run")


def test_an_evaluator_workers_cannot_unpickle_is_named(tmp_path):
    script = tmp_path / "inside_main.py"
    script.write_text("from nasforge import Study\nfrom nasforge.spaces import get_space\n"
                      "if __name__ == '__main__':\n"
                      "    class Local:\n"
                      "        def evaluate(self, arch, fidelity=None):\n"
                      "            return 1.0\n"
                      "    Study(get_space('nb201'), 'random', objectives='acc', seed=0).optimize(Local(), 2, "
                      "n_workers=2, executor='process')\n")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert done.returncode == 1 and "Traceback" in done.stderr  # the driver's own, one
    assert done.stderr.count("Traceback") == 1, done.stderr
    assert "cannot unpickle the evaluator" in done.stderr and "define the evaluator at module level" in done.stderr


def test_median_and_asha_rules():
    median = MedianPruner(n_startup_trials=2)
    curves = {0: [(1, 10.0)], 1: [(1, 20.0)], 2: [(1, 5.0)]}
    assert median.should_prune(2, curves) and not median.should_prune(1, curves)
    assert not MedianPruner(n_startup_trials=3).should_prune(2, curves)
    asha = SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    assert [s for s in range(1, 30) if asha.is_rung(s)] == [1, 3, 9, 27]
    peers = {n: [(3, float(n))] for n in range(6)}  # 6 at rung 3: the top 2 continue
    assert [asha.should_prune(n, peers) for n in range(6)] == [True] * 4 + [False] * 2
    assert not asha.should_prune(0, {0: [(1, 9.0), (2, 0.0)], 1: [(1, 9.0), (2, 9.0)]})  # no rung since step 1
    assert get_pruner({"name": "asha", "reduction_factor": 2}).config()["reduction_factor"] == 2
    with pytest.raises(ValueError, match="unknown pruner 'best'"):
        get_pruner("best")


def test_pruned_trials_are_stored_with_their_curve(backend):
    study = _study(backend).optimize(Curves(steps=9), 30, pruner={"name": "median", "n_startup_trials": 3})
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert pruned and all(0 < len(t.intermediate) < 9 and "pruned at step" in t.error for t in pruned)
    loaded = Study.load("s", backend)
    assert [t.intermediate for t in loaded.trials] == [t.intermediate for t in study.trials]
    assert loaded.run_config["pruner"] == {"name": "median", "n_startup_trials": 3, "n_warmup_steps": 0}


def test_asha_prunes_through_worker_processes(tmp_path):
    study = _study(tmp_path).optimize(Curves(steps=9), 12, n_workers=2, executor="process", pruner="asha")
    states = {t.state for t in study.trials}
    assert TrialState.PRUNED in states and TrialState.COMPLETE in states


def test_plain_progress_lines_when_not_a_terminal():
    out = io.StringIO()
    bar = ProgressReporter("demo", total=3, stream=out, min_interval=0.0)
    bar.update(1, 0, 2, 71.25)
    bar.update(3, 1, 0, 72.0, pruned=1)
    bar.close()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[demo] done 1/3 | failed 0 | pruned 0 | running 2 | best 71.25")
    assert "done 3/3 | failed 1 | pruned 1" in lines[1] and "eta" in lines[1] and len(lines) == 2


def test_progress_ends_with_the_last_state_when_a_run_stops_early(capsys):
    study = Study(SPACE, "random", objectives="acc", seed=0)
    study.optimize(Toy(sleep=0.3), n_trials=100, timeout=1.0, progress=True)
    last = capsys.readouterr().err.splitlines()[-1]
    assert f"done {len(study.trials)}/100 | failed 0 | pruned 0 | running 0" in last
    study = Study(SPACE, "random", objectives="acc", seed=0)
    study.optimize(Curves(steps=3), n_trials=12, pruner="asha", progress=True)
    pruned = sum(t.state == TrialState.PRUNED for t in study.trials)
    assert pruned and f"done 12/12 | failed 0 | pruned {pruned} |" in capsys.readouterr().err.splitlines()[-1]


def test_progress_counts_every_trial_in_flight_and_each_objectives_best(capsys):
    study = Study(SPACE, "random", objectives=["acc", "params"], directions=["maximize", "minimize"], seed=0)
    study.optimize(Toy(sleep=0.3), n_trials=4, n_workers=2, executor="process", progress=True)
    lines = capsys.readouterr().err.splitlines()
    assert "running 2 | best -" in lines[0]  # both workers busy, nothing finished yet
    best_acc = max(t.metrics["acc"] for t in study.trials)
    best_params = min(t.metrics["params"] for t in study.trials)
    assert f"| best acc {best_acc:.6g} | best params {best_params:.6g} |" in lines[-1]


def test_callbacks_and_timeout(tmp_path):
    seen = []
    study = _study(tmp_path).optimize(Toy(), 50, timeout=1e-9, callbacks=[lambda s, t: seen.append(t.number)])
    assert study.trials == [] and seen == []
    _study(tmp_path, name="cb").optimize(Toy(), 3, callbacks=[lambda s, t: seen.append(t.number)])
    assert seen == [0, 1, 2]


def test_keyboard_interrupt_requeues_the_running_trial(backend):
    def interrupt(arch):
        raise KeyboardInterrupt

    study = _study(backend)
    with pytest.raises(KeyboardInterrupt):
        study.optimize(interrupt, 3)
    assert [t.state for t in study.trials] == [TrialState.WAITING]  # memory follows the database at once
    assert [t.state for t in Study.load("s", backend).trials] == [TrialState.WAITING]
    study.optimize(Toy(), 0)  # a later run finishes the re-queued trial first
    assert [t.state for t in study.trials] == [TrialState.COMPLETE]
    assert study.trials[0].attempts == 1  # a clean interrupt is no crash: max_crash_reruns does not count it


class InterruptAfter:
    """Reports ``steps`` values, then raises KeyboardInterrupt while ``interrupt`` is set."""

    def __init__(self, steps: int, interrupt: bool) -> None:
        self.steps, self.interrupt = steps, interrupt

    def evaluate(self, arch, fidelity=None, reporter=None):
        for step in range(1, self.steps + 1):
            reporter.report(step, 10.0 * step)
        if self.interrupt:
            raise KeyboardInterrupt
        return {"acc": 50.0}


def test_a_rerun_starts_a_fresh_curve_and_interrupts_are_not_crashes(backend):
    study = _study(backend)
    for steps in (3, 2, 4, 2, 5):  # more clean interrupts than max_crash_reruns allows deaths
        with pytest.raises(KeyboardInterrupt):
            study.optimize(InterruptAfter(steps, True), 1 if not study.trials else 0)
    seen = []

    class Spy(MedianPruner):
        name = "spy"
        def should_prune(self, number, curves):
            seen.append(list(curves[number]))
            return False

        def last_step(self):  # trials end at step 3: reports before it are judged (none is, while it is unknown)
            return 3

    study.optimize(InterruptAfter(2, False), 0, pruner=Spy())
    trial = Study.load("s", backend).trials[0]
    assert trial.state == TrialState.COMPLETE and trial.attempts == 1 and trial.intermediate == [(1, 10.0), (2, 20.0)]
    assert seen == [[(1, 10.0)], [(1, 10.0), (2, 20.0)]]  # the earlier attempts' points are not there
    earlier = [[list(p) for p in c] for c in ([(s, 10.0 * s) for s in range(1, n + 1)] for n in (3, 2, 4, 2, 5))]
    assert trial.user_attrs["earlier_curves"] == earlier  # kept apart, nothing lost


class LossCurves:
    """Minimized loss curves of 6 steps set by the architecture; every 7th call fails after 3 reports, and call
    ``interrupt_at`` is interrupted after 2 (its trial is left WAITING with its curve)."""

    def __init__(self, interrupt_at: int = 0) -> None:
        self.calls, self.interrupt_at = 0, interrupt_at

    def evaluate(self, arch, fidelity=None, reporter=None):
        self.calls += 1
        final = 100.0 - toy_metrics(arch)["acc"]
        for step in range(1, 7):
            reporter.report(step, final + 6 - step)
            if step == 2 and self.calls == self.interrupt_at:
                raise KeyboardInterrupt
            if step == 3 and self.calls % 7 == 0:
                raise RuntimeError("diverged")
        return {"loss": final}


def test_the_pruner_gets_the_curves_it_always_got_without_rebuilding_unchanged_ones(backend):
    study = Study(SPACE, "random", objectives="loss", directions="minimize", seed=0, name="c", storage=backend)
    study.optimize(LossCurves(), 12)
    with pytest.raises(KeyboardInterrupt):
        study.optimize(LossCurves(interrupt_at=2), 3)
    assert [t.state for t in study.trials[12:]] == [TrialState.COMPLETE, TrialState.WAITING]
    looks, mismatches, decisions = [], [], []

    class Spy(MedianPruner):
        name = "spy"
        def should_prune(self, number, curves):
            rebuilt = {t.number: [(s, -v) for s, v in t.intermediate] for t in study.trials if t.intermediate}
            if {n: list(c) for n, c in curves.items()} != rebuilt:  # what the loop built at each report before
                mismatches.append(number)
            looks.append(dict(curves))
            decisions.append(super().should_prune(number, curves))
            if decisions[-1] != super().should_prune(number, rebuilt):
                mismatches.append(number)
            return decisions[-1]

    study.optimize(LossCurves(), 25, pruner=Spy(n_startup_trials=3), max_retries=1)
    assert not mismatches and True in decisions and False in decisions
    assert any(t.retry_of is not None for t in study.trials) and study.trials[13].state != TrialState.WAITING
    assert all(look[0] is looks[0][0] for look in looks)  # a finished trial's curve is built once, not per report


def test_a_strategy_that_runs_out_says_so_once_and_the_study_counts_as_finished(backend):
    space = get_space("chain", layers=[["conv3", "conv5", "skip"], ["skip", "conv3"]])  # 6 architectures
    study = Study(space, "random", objectives="acc", seed=0, name="small", storage=backend)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study.optimize(Toy(), 8)
    said = [str(w.message) for w in caught if "no new architecture" in str(w.message)]
    assert len(said) == 1 and "all 6 distinct architectures" in said[0] and "6 proposals of the target 8" in said[0]
    assert study.n_proposals == 6 and study.exhausted and study.work_left() == 0
    loaded = Study.load("small", backend)  # another process knows it too
    assert loaded.exhausted and loaded.work_left() == 0 and loaded.resume(Toy()).n_proposals == 6
    assert not Study(SPACE, "random", objectives="acc", seed=0, name="big", storage=backend).exhausted


def test_strategy_objects_and_optuna_resume_exactly(tmp_path):
    url = f"sqlite:///{tmp_path / 'o.db'}"
    Study(SPACE, get_strategy("optuna_tpe", SPACE, seed=0), objectives="acc", seed=0, name="o",
          storage=url).optimize(Toy(), 12)
    resumed = Study.load("o", url).optimize(Toy(), 6)
    reference = Study(SPACE, get_strategy("optuna_tpe", SPACE, seed=0), objectives="acc", seed=0).optimize(Toy(), 18)
    assert [t.arch for t in resumed.trials] == [t.arch for t in reference.trials]


def test_replay_divergence_warns_and_relearns(tmp_path):
    url = f"sqlite:///{tmp_path / 'd.db'}"
    Study(SPACE, "evolution", objectives="acc", seed=1, name="two", storage=url).optimize(Toy(), 6)
    with sqlite3.connect(tmp_path / "d.db") as db:  # as if the strategy's code had changed since the run
        db.execute("UPDATE nasforge_studies SET seed = 2")
    with pytest.warns(RuntimeWarning, match="replay diverged"):
        loaded = Study.load("two", url)
    assert loaded.strategy.n_told == 6 and len(loaded.trials) == 6
    loaded.optimize(Toy(), 4)
    assert len({SPACE.canonical_key(t.arch) for t in loaded.trials}) == 10


def test_resume_continues_to_the_recorded_total(backend):
    study = _study(backend).optimize(Toy(), 5, evaluator_spec={"factory": "engine_evaluators:make_toy"})
    study.set_run_config({**study.run_config, "n_trials_total": 8})
    loaded = Study.load("s", backend)
    loaded.resume(Toy())
    assert len(loaded.trials) == 8 and loaded.run_config["n_trials_total"] == 8
    assert loaded.run_config["evaluator"] == {"factory": "engine_evaluators:make_toy"}


class _Stop(Exception):
    """Interrupts a run from a callback."""


def test_a_short_run_beside_a_longer_one_keeps_the_longer_target(backend):
    long_run = _study(backend)
    side = Study.load("s", backend)  # opened before the long run recorded its target

    def interrupt(study, trial):
        if len(study.trials) == 5:
            raise _Stop

    with pytest.raises(_Stop):
        long_run.optimize(Toy(), 20, callbacks=[interrupt])
    side.optimize(Toy(), 2)
    assert side.run_config["n_trials_total"] == 20 and side.n_proposals == 7
    resumed = Study.load("s", backend).resume(Toy())
    assert resumed.n_proposals == 20 and resumed.run_config["n_trials_total"] == 20


def test_two_resumes_at_once_finish_only_what_is_left(backend):
    study = _study(backend).optimize(Toy(), 0)
    study.set_run_config({**study.run_config, "n_trials_total": 10})
    first, second = Study.load("s", backend), Study.load("s", backend)

    def run_the_second(s, trial):  # the second resume runs while the first one is under way
        if trial.number == 0:
            second.resume(Toy())

    first.resume(Toy(), callbacks=[run_the_second])
    loaded = Study.load("s", backend)
    assert loaded.n_proposals == 10 and len(loaded.trials) == 10
    assert len({SPACE.canonical_key(t.arch) for t in loaded.trials}) == 10
    assert len(Study.load("s", backend).optimize(Toy(), n_trials_total=12).trials) == 12
    with pytest.raises(ValueError, match="give n_trials .* or n_trials_total"):
        loaded.optimize(Toy(), 1, n_trials_total=20)


def _states(study) -> tuple[int, int]:
    """(RUNNING, WAITING) trials of ``study`` now."""
    return (sum(t.state == TrialState.RUNNING for t in study.trials),
            sum(t.state == TrialState.WAITING for t in study.trials))


class _Watched:
    """Toy scores; records the study's (RUNNING, WAITING) counts as each evaluation starts."""

    def __init__(self, study) -> None:
        self.study, self.seen = study, []

    def evaluate(self, arch, fidelity=None):
        self.seen.append(_states(self.study))
        return toy_metrics(arch)


def test_max_pending_bound_is_reached_and_held_and_only_started_trials_are_running(backend):
    study = _study(backend)
    watched, after = _Watched(study), []
    study.optimize(watched, 8, max_pending=3, callbacks=[lambda s, t: after.append(_states(s))])
    # three in flight: the one evaluated is RUNNING, the two queued behind it WAITING until they start
    assert watched.seen == [(1, 2)] * 6 + [(1, 1), (1, 0)]
    assert after == [(0, 2)] * 6 + [(0, 1), (0, 0)]  # refilled after every result
    assert len(study.trials) == 8 and len({SPACE.canonical_key(t.arch) for t in study.trials}) == 8
    assert [t.attempts for t in study.trials] == [1] * 8


def test_max_pending_with_worker_processes(tmp_path):
    in_flight = []
    study = _study(tmp_path).optimize(Toy(0.05), 8, n_workers=2, executor="process", max_pending=3,
                                      callbacks=[lambda s, t: in_flight.append(_states(s))])
    assert len(study.trials) == 8
    # 3 in flight (at most 2 running, one per worker, the rest queued WAITING); a callback sees one just finished
    assert all(running <= 2 and running + waiting <= 2 for running, waiting in in_flight), in_flight
    assert in_flight[0][1] == 1  # the queued proposal is stored WAITING, not RUNNING
    assert len({SPACE.canonical_key(t.arch) for t in study.trials}) == 8


QUEUED_RUN = """
import sys, time
sys.path.insert(0, {tests!r})
from nasforge import Study
from nasforge.spaces import get_space
from engine_evaluators import Toy
study = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="q", storage={url!r})
study.optimize(Toy(600), 3, max_pending=3)
"""


def test_trials_queued_behind_a_running_one_are_no_crash_when_the_driver_dies(tmp_path):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    driver = subprocess.Popen([sys.executable, "-c", QUEUED_RUN.format(tests=str(Path(__file__).parent), url=url)])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and driver.poll() is None:
            time.sleep(0.2)
            try:
                if len(Study.load("q", url).trials) == 3:
                    break
            except Exception:  # noqa: BLE001 - not created yet
                continue
    finally:
        driver.kill()
        driver.wait()
    study = Study.load("q", url)
    assert [t.state for t in study.trials] == [TrialState.RUNNING, TrialState.WAITING, TrialState.WAITING]
    study.requeue_orphans()
    assert [(t.state, t.attempts) for t in study.trials] == [(TrialState.WAITING, 2), (TrialState.WAITING, 1),
                                                            (TrialState.WAITING, 1)]  # only trial 0 was running


def test_only_dead_or_silent_trials_are_requeued(tmp_path):
    url = f"sqlite:///{tmp_path / 'e.db'}"
    alive = Study(SPACE, "random", objectives="acc", seed=0, name="s", storage=url)
    busy = alive.ask()  # RUNNING in a live process (this one)
    dead_pid = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True).stdout.strip()
    crashed = Study.load("s", url)
    crashed.worker_id = new_worker_id(int(dead_pid))  # a process of this machine that is gone
    gone = crashed.ask()
    remote = Study.load("s", url)
    remote.worker_id = "elsewhere:0123456789ab:1:abc"  # another machine that stopped sending heartbeats
    silent = remote.ask()
    time.sleep(2.1)  # silent's heartbeat is now stale; busy's fresh one must stay fresh below (2 s: a loaded machine)
    alive.storage.heartbeat(alive._id, [busy.number])
    assert Study.load("s", url).requeue_orphans(stale_after=3600) == [gone.number]  # pid lookup, no waiting
    Study.load("s", url).optimize(Toy(), 0, stale_after=2.0, heartbeat_interval=0.2)
    trials = Study.load("s", url).trials
    assert trials[busy.number].state == TrialState.RUNNING and trials[busy.number].attempts == 1
    for trial in (gone, silent):
        assert trials[trial.number].state == TrialState.COMPLETE and trials[trial.number].attempts == 2


def test_rich_progress_bar_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out = Terminal()
    bar = ProgressReporter("demo", total=4, stream=out)
    bar.update(2, 1, 1, 93.5)
    bar.grow(1)
    bar.close()
    text = out.getvalue()
    assert "demo" in text and "2/5" in text and "best 93.5 | failed 1 | pruned 0 | running 1" in text


def test_a_study_that_used_up_its_space_loads_without_a_replay_warning(tmp_path, recwarn):
    from nasforge.spaces import ChainSpace

    space, url = ChainSpace([["a", "b", "c"], ["a", "b"]], name="six"), f"sqlite:///{tmp_path / 's.db'}"
    study = Study(space, "random", objectives="acc", seed=0, name="s", storage=url)
    study.optimize(lambda arch: {"acc": float(len(str(arch)))}, n_trials=10)  # stops at the 6 architectures
    assert len(study.trials) == 6
    loaded = Study.load("s", url, space=space)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
    assert loaded.strategy_fingerprint() == study.strategy_fingerprint()


def test_stale_after_must_exceed_the_heartbeat_and_own_trials_are_never_requeued(tmp_path):
    from nasforge.exceptions import UsageError

    study = _study(tmp_path)
    with pytest.raises(UsageError, match="stale_after \\(1 s\\) must be longer than heartbeat_interval \\(2 s\\)"):
        study.optimize(Toy(), 2, heartbeat_interval=2, stale_after=1)
    mine = study.ask()
    study.storage.heartbeat(study.id, [])  # no beat: the trial looks silent
    time.sleep(0.05)
    assert study.requeue_orphans(stale_after=0.01) == [] and study.trials[mine.number].state == TrialState.RUNNING
    other = Study.load("s", f"sqlite:///{tmp_path / 'e.db'}")
    assert other.requeue_orphans(stale_after=0.01) == [mine.number]  # another process's view: it is silent


def _beating(study: Study) -> bool:
    """Whether the heartbeat thread of ``study``'s hand-asked trials runs."""
    return any(t.name == f"nasforge-keepalive {study.worker_id}" and t.is_alive() for t in threading.enumerate())


@pytest.mark.slow  # kept out of the default suite, over its 10-minute budget (run with -m slow)
def test_a_trial_asked_by_hand_stays_alive_while_its_study_is_open(tmp_path):
    """Would fail: a hand-asked trial had no heartbeat, so a concurrent optimize (another Study object here, another
    process in real life) re-queued it after stale_after, re-ran it as a crash (attempts 2), and the hand's tell
    was refused (FinishedTrialError). Now the asking Study beats it until it is told, closed or gone."""
    url = f"sqlite:///{tmp_path / 'e.db'}"
    hand = Study(SPACE, "random", objectives="acc", seed=0, name="s", storage=url)
    hand.heartbeat_interval = 0.05
    trial = hand.ask()
    other = Study.load("s", url)
    other.optimize(Toy(0.05), 25, stale_after=1.0, heartbeat_interval=0.1)  # re-queues silent trials as it runs
    assert other.requeue_orphans(stale_after=1.0) == []
    hand.tell(trial, toy_metrics(trial.arch))
    told = Study.load("s", url).trials[trial.number]
    assert (told.state, told.attempts, told.worker) == (TrialState.COMPLETE, 1, hand.worker_id)
    deadline = time.monotonic() + 5
    while _beating(hand) and time.monotonic() < deadline:  # nothing left to beat: the thread ends by itself
        time.sleep(0.05)
    assert not _beating(hand)

    for let_go in ("close", "drop"):  # a closed Study, or one nobody holds any more, stops beating
        hand = Study.load("s", url)
        hand.heartbeat_interval = 0.05
        number = hand.ask().number
        time.sleep(0.7)
        assert other.requeue_orphans(stale_after=0.5) == []
        if let_go == "close":
            hand.close()
        del hand
        time.sleep(0.7)
        assert other.requeue_orphans(stale_after=0.5) == [number], let_go
        assert other.trials[number].state == TrialState.WAITING


def test_nothing_to_run_starts_no_worker(tmp_path, monkeypatch):
    from nasforge.experiment.executors.process import ProcessExecutor

    study = _study(tmp_path).optimize(Toy(), 2)

    def boom(self, evaluator, decide):
        raise AssertionError("a worker was started")

    monkeypatch.setattr(ProcessExecutor, "start", boom)
    study.optimize(Toy(), 0, n_workers=2, executor="process")
    study.optimize(Toy(), n_trials_total=2, n_workers=2, executor="process")
    assert study.run_config["executor"] == "process" and len(study.trials) == 2  # recorded, nothing ran


def test_optimize_beats_its_trials_from_one_thread_and_a_hand_asked_one_from_the_other(monkeypatch):
    """Would fail: the keep-alive thread of hand-asked trials (a) also beat the loop's trials, each twice at two
    intervals, or (b) stopped during optimize, so a trial asked by hand before the run went stale and another
    process took it over."""
    from nasforge.experiment.storage.memory import InMemoryStorage

    beats = []
    beat = InMemoryStorage.heartbeat

    def counted(self, study_id, numbers):
        beats.append((threading.current_thread().name.split()[0], tuple(numbers)))
        return beat(self, study_id, numbers)

    monkeypatch.setattr(InMemoryStorage, "heartbeat", counted)
    study = Study(SPACE, "random", objectives="acc", seed=0)
    study.heartbeat_interval = 0.1
    by_hand = study.ask()
    study.optimize(Toy(0.4), 3, heartbeat_interval=0.1, stale_after=1.0)
    loop_trials = {t.number for t in study.trials} - {by_hand.number}
    assert any(thread == "nasforge-heartbeat" for thread, _ in beats)
    kept = [numbers for thread, numbers in beats if thread == "nasforge-keepalive"]
    assert kept and all(numbers == (by_hand.number,) for numbers in kept)  # never a loop trial
    assert not any(by_hand.number in numbers for thread, numbers in beats if thread == "nasforge-heartbeat")
    assert loop_trials
    study.tell(by_hand, toy_metrics(by_hand.arch))


def test_heartbeats_that_keep_failing_warn_once_per_streak(monkeypatch):
    from nasforge.experiment import keepalive

    clock = [0.0]
    monkeypatch.setattr(keepalive.time, "monotonic", lambda: clock[0])

    class Flaky:
        name, fail = "s", True

        def heartbeat(self, numbers):
            if self.fail:
                raise OSError("disk full")

    study, missed = Flaky(), keepalive.MissedBeats(stale_after=60)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for clock[0] in (0, 10, 20, 30, 40, 50):
            missed.beat(study, [3, 1])
        assert [str(w.message) for w in caught] == [
            "study 's': heartbeats of its running trials [1, 3] have failed for 30 s (OSError: disk full); after 60 s "
            "other processes sharing the storage re-queue them"]
        study.fail = False
        missed.beat(study, [1])  # a beat that works ends the streak
        study.fail = True
        for clock[0] in (60, 100):
            missed.beat(study, [1])
        assert len(caught) == 2 and "failed for 40 s" in str(caught[1].message)
