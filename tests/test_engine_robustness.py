"""Regression tests for the engine's robustness audit (issue 9): concurrent first use of a database,
bad results, crashes that repeat on resume, memory vs database after errors, finished studies,
worker identities, scripts without a __main__ guard, and bad API input."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nasforge import Result, Study
from nasforge.exceptions import StorageError, StudyAborted, TrialPruned, UsageError
from nasforge.experiment import TrialState, get_storage
from nasforge.experiment.identity import machine_key, new_worker_id
from nasforge.experiment.storage import SCHEMA_VERSION, open_storage
from nasforge.spaces import get_space

from engine_backends import PG_URL, url  # noqa: F401  (url: a fixture)
from engine_evaluators import Toy, toy_metrics

ROOT = Path(__file__).resolve().parents[1]
SPACE = get_space("nb201")


# -- 1. concurrent first use ------------------------------------------------------------------
def test_concurrent_first_use_of_a_new_sqlite_file_never_fails(tmp_path):
    errors: list[BaseException] = []

    def start(path: Path) -> None:
        try:
            Study(SPACE, "random", objectives="acc", seed=0, name="race", storage=f"sqlite:///{path}",
                  load_if_exists=True).optimize(Toy(), 1)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    for round_ in range(6):
        path = tmp_path / f"fresh{round_}.db"
        threads = [threading.Thread(target=start, args=(path,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(Study.load("race", f"sqlite:///{path}").trials) == 4
    assert errors == []


@pytest.mark.skipif(not PG_URL, reason="NASFORGE_TEST_POSTGRES_URL is not set (.ci/run starts a PostgreSQL server)")
def test_concurrent_schema_creation_on_postgresql():
    import sqlalchemy as sa

    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        for table in ("nasforge_trials", "nasforge_studies", "nasforge_meta"):
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table} CASCADE"))
    engine.dispose()
    errors: list[BaseException] = []

    def start() -> None:
        try:
            get_storage(PG_URL).close()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and get_storage(PG_URL).schema_version == SCHEMA_VERSION


def test_a_version_1_database_is_read_as_is_and_upgraded_on_write(tmp_path):
    path = tmp_path / "v1.db"
    Study(SPACE, "random", objectives="acc", seed=0, name="old", storage=f"sqlite:///{path}").optimize(Toy(), 2)
    with sqlite3.connect(path) as raw:  # what nasforge 0.1 wrote
        raw.execute("ALTER TABLE nasforge_trials DROP COLUMN user_attrs")
        raw.execute("ALTER TABLE nasforge_trials DROP COLUMN tell_strategy")
        raw.execute("UPDATE nasforge_meta SET value = '1' WHERE key = 'schema_version'")
    before = path.read_bytes()
    old = Study.load("old", open_storage(f"sqlite:///{path}", readonly=True))
    assert [t.user_attrs for t in old.trials] == [{}, {}] and all(t.tell_strategy for t in old.trials)
    assert path.read_bytes() == before
    Study.load("old", f"sqlite:///{path}").optimize(Toy(), 1)
    assert get_storage(f"sqlite:///{path}").schema_version == SCHEMA_VERSION


# -- 5. bad results -----------------------------------------------------------------------------
class Bad:
    """Returns a different kind of unstorable result for each trial number (by call order)."""

    def __init__(self) -> None:
        self.calls = 0

    def evaluate(self, arch, fidelity=None):
        self.calls += 1
        good = toy_metrics(arch)
        return {
            1: Result(metrics=good, cost=None),  # unknown cost: stored as 0, the trial is fine
            2: Result(metrics={"acc": "high"}),  # (as the first result, an objective of another type stops the run)
            3: Result(metrics={"acc": [1, 2]}),
            4: Result(metrics={"acc": float("inf")}),
            5: Result(metrics=good, user_attrs={"weights": object()}),
            6: "not a result",
            7: Result(metrics=good, cost=float("nan")),
            8: Result(metrics=good, status="done"),
            9: Result(metrics=good, cost=-5),
        }.get(self.calls, Result(metrics=good))


def test_bad_results_fail_their_trial_with_the_reason_and_the_study_goes_on(url):
    study = Study(SPACE, "random", objectives="acc", seed=0, name="bad", storage=url)
    study.optimize(Bad(), 10)
    states = [t.state for t in study.trials]
    errors = [t.error or "" for t in study.trials]
    assert states == [TrialState.COMPLETE, TrialState.FAILED, TrialState.FAILED, TrialState.FAILED,
                      TrialState.FAILED, TrialState.FAILED, TrialState.COMPLETE, TrialState.FAILED,
                      TrialState.FAILED, TrialState.COMPLETE]
    assert "metric 'acc' is 'high' (str), not a number" in errors[1]
    assert "metric 'acc' is [1, 2] (list)" in errors[2]
    assert study.trials[0].cost == 0.0 and study.trials[6].cost == 0.0
    assert "objective 'acc' is inf" in errors[3]
    assert "user_attrs must hold JSON values" in errors[4]
    assert "returned str, expected a Result" in errors[5]
    assert "status 'done'" in errors[7]
    assert "cost -5 is not a finite number of seconds >= 0" in errors[8] and study.trials[8].cost == 0.0
    assert study.best_trial.number in (2, 6, 9)
    loaded = Study.load("bad", url)  # stored exactly as in memory; a resume has nothing to repeat
    assert [(t.state, t.error) for t in loaded.trials] == [(t.state, t.error) for t in study.trials]
    assert loaded.work_left() == 0



def huge(arch):
    return {"acc": 1.0, "blob": 10 ** 400}


@pytest.mark.parametrize("executor", ["inline", "process"])
def test_a_result_too_large_for_a_float_fails_its_trial_and_the_study_goes_on(tmp_path, executor):
    url = f"sqlite:///{tmp_path / 'big.db'}"
    study = Study(SPACE, "random", objectives="acc", seed=0, name="big", storage=url)
    study.optimize(huge, 3, executor=executor)
    stored = Study.load("big", url).trials
    assert [t.state for t in stored] == [TrialState.FAILED] * 3
    assert all("metric 'blob' is 1000" in t.error and "(int), too large for a float" in t.error for t in stored)
    with pytest.warns(RuntimeWarning, match="too large for a float"):
        assert study.tell(study.ask(), 10 ** 400).state == TrialState.FAILED
    with pytest.warns(RuntimeWarning, match="cost .* is not a finite number"):
        assert study.tell(study.ask(), Result(metrics={"acc": 1.0}, cost=10 ** 5000)).state == TrialState.FAILED


def test_a_result_whose_store_fails_goes_back_to_the_queue_not_running_for_good(tmp_path):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    study = Study(SPACE, "random", objectives="acc", seed=0, name="q", storage=url)

    def broken(*args, **kwargs):
        raise StorageError("disk full")

    study.storage.finish_trial = broken
    with pytest.raises(StorageError, match="disk full"):
        study.optimize(Toy(), 3)
    assert [t.state for t in Study.load("q", url).trials] == [TrialState.WAITING]


def nul_error(arch):
    raise RuntimeError("bad\x00thing")


def test_an_error_text_with_a_nul_character_is_stored_alike_on_every_backend(url):
    study = Study(SPACE, "random", objectives="acc", seed=0, name="nul", storage=url)
    study.optimize(nul_error, 2)
    expected = [(TrialState.FAILED, "RuntimeError: bad\\x00thing")] * 2
    assert [(t.state, t.error) for t in study.trials] == expected
    if not isinstance(url, str):
        return
    assert [(t.state, t.error) for t in Study.load("nul", url).trials] == expected

CRASHER = """
import os, sys
sys.path.insert(0, {tests!r})
from nasforge import Result, Study
from nasforge.spaces import get_space
from engine_evaluators import toy_metrics

def evaluate(arch):
    if arch.genotype[0] == "avg_pool_3x3":
        os._exit(1)  # takes the whole driver down, on every attempt
    return Result(metrics=toy_metrics(arch))

url = {url!r}
try:
    study = Study.load("crash", url)
    study.resume(evaluate)
except KeyError:
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="crash", storage=url)
    study.optimize(evaluate, 6, max_crash_reruns=0)
"""


def test_a_trial_that_kills_its_driver_fails_after_max_crash_reruns(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    code = CRASHER.format(tests=str(ROOT / "tests"), url=url)
    codes = [subprocess.run([sys.executable, "-c", code], timeout=120).returncode for _ in range(2)]
    trials = Study.load("crash", url).trials
    killer = [t for t in trials if t.arch.genotype[0] == "avg_pool_3x3"]
    assert codes == [1, 0]  # the first run dies; the resume does not re-run the killer (max_crash_reruns=0)
    assert killer and all(t.state == TrialState.FAILED and "process died 1 time while" in t.error for t in killer)
    assert len([t for t in trials if t.is_proposal]) == 6 and all(t.done for t in trials)


# -- 15. memory agrees with the database ---------------------------------------------------------
def test_memory_matches_the_database_after_an_abort_and_a_loop_error(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"

    def snapshot(study):
        return [(t.number, t.state, t.attempts, t.error) for t in study.trials]

    study = Study(SPACE, "random", objectives="acc", seed=0, name="abort", storage=url)
    with pytest.raises(StudyAborted):
        study.optimize(lambda arch: Result.failed("boom"), 10, max_failure_rate=0.1, min_trials_for_failure_rate=2)
    assert snapshot(study) == snapshot(Study.load("abort", url))

    def explode(study_, trial):
        raise RuntimeError("callback failed")

    study = Study(SPACE, "random", objectives="acc", seed=0, name="error", storage=url)
    with pytest.raises(RuntimeError, match="callback failed"):
        study.optimize(Toy(0.05), 6, n_workers=2, executor="process", callbacks=[explode])
    assert snapshot(study) == snapshot(Study.load("error", url))
    assert TrialState.WAITING in {t.state for t in study.trials}  # the other worker's trial went back


def test_a_failed_write_leaves_memory_unchanged(tmp_path):
    study = Study(SPACE, "random", objectives="acc", seed=0, name="w", storage=f"sqlite:///{tmp_path / 'w.db'}")
    trial = study.ask()

    def broken(*args, **kwargs):
        raise StorageError("disk full")

    study.storage.finish_trial = broken
    with pytest.raises(StorageError):
        study.tell(trial, 80.0)
    assert trial.state == TrialState.RUNNING and trial.metrics == {}


def test_a_late_result_of_a_trial_another_process_re_ran_and_finished_is_dropped(url):
    study = Study(SPACE, "random", objectives="acc", seed=0, name="late", storage=url)
    other = Study.load("late", url)  # another process, judging this one dead

    def slow(arch):
        if not other.trials:
            other.requeue([0])
            assert other.claim(other.trials[0])
            other.tell(0, 99.0)
        return 1.0

    study.optimize(slow, 3)
    stored = Study.load("late", url).trials
    assert [(t.state, t.metrics["acc"]) for t in stored] == [(TrialState.COMPLETE, 99.0)] + \
        [(TrialState.COMPLETE, 1.0)] * 2
    assert study.trials[0].metrics == {"acc": 99.0} and study.strategy.n_told == 3


@pytest.mark.parametrize("then", ["finished", "running"])
def test_reports_of_a_trial_another_process_took_over_are_dropped_and_stop_it(url, then):
    study = Study(SPACE, "random", objectives="acc", seed=0, name="taken", storage=url)
    other = Study.load("taken", url)  # another process, judging this one dead
    stopped = []

    def evaluate(arch, fidelity=None, reporter=None):
        reporter.report(1, 1.0)
        other.requeue([0])
        assert other.claim(other.trials[0])
        if then == "finished":
            other.tell(0, Result(metrics={"acc": 99.0}, intermediate=[(1, 9.0), (2, 9.5)]))
        try:
            reporter.report(2, 2.0)
        except TrialPruned:
            stopped.append(2)
            raise
        return 1.0

    study.optimize(evaluate, 1)
    stored = Study.load("taken", url).trials[0]
    assert stopped == [2]  # told to stop at its next report: its work is another process's now
    assert stored.worker == other.worker_id
    if then == "finished":
        assert (stored.state, stored.metrics, stored.intermediate) == (TrialState.COMPLETE, {"acc": 99.0},
                                                                      [(1, 9.0), (2, 9.5)])
    else:  # the late outcome is not stored over the other process's run
        assert (stored.state, stored.intermediate) == (TrialState.RUNNING, [])


def test_a_run_never_lowers_a_target_another_run_recorded_meanwhile(url, monkeypatch):
    from nasforge.experiment.executors.inline import InlineExecutor

    study = Study(SPACE, "random", objectives="acc", seed=0, name="target", storage=url)
    other = Study.load("target", url)
    start = InlineExecutor.start

    def longer_run_records_first(self, evaluator, decide):  # after this run read the stored target
        other.set_run_config({"n_trials_total": 60}, keep_target=True)
        start(self, evaluator, decide)

    monkeypatch.setattr(InlineExecutor, "start", longer_run_records_first)
    study.optimize(Toy(), 2)
    assert Study.load("target", url).run_config["n_trials_total"] == 60 == study.run_config["n_trials_total"]


def test_a_timeout_that_leaves_a_retry_waiting_says_so():
    def slow_failure(arch):
        time.sleep(0.3)  # the chain of three attempts outlasts the timeout: its last retry is never started
        raise ValueError("x")

    study = Study(SPACE, "random", objectives="acc", seed=0)
    with pytest.warns(UserWarning, match=r"the timeout stopped the run with 1 trial left WAITING \(\d+: retries"):
        study.optimize(slow_failure, 100, timeout=0.5, max_retries=2)
    assert sum(t.state == TrialState.WAITING for t in study.trials) == 1


# -- 17. finished studies -----------------------------------------------------------------------
def test_resuming_a_finished_study_starts_no_worker_but_checks_its_options(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'f.db'}"
    Study(SPACE, "random", objectives="acc", seed=0, name="f", storage=url).optimize(Toy(), 3)
    from nasforge.experiment.executors.process import ProcessExecutor

    monkeypatch.setattr(ProcessExecutor, "start", lambda *a, **k: pytest.fail("a worker pool was started"))
    study = Study.load("f", url)
    assert study.work_left() == 0
    assert study.resume(Toy(), n_workers=2, executor="process") is study
    with pytest.raises(UsageError, match="unknown pruner 'bogus'"):
        study.resume(Toy(), pruner="bogus")
    with pytest.raises(UsageError, match="unknown executor 'gpu'"):
        study.resume(Toy(), executor="gpu")


def test_resume_of_a_finished_study_does_not_rebuild_recorded_settings_it_would_not_use(tmp_path):
    """Would fail: the options check of a finished resume built the recorded executor, so a study run with an
    executor this process has not registered could not even be told it was finished."""
    url = f"sqlite:///{tmp_path / 'f.db'}"
    Study(SPACE, "random", objectives="acc", seed=0, name="f", storage=url).optimize(Toy(), 2)
    study = Study.load("f", url)
    study.record.run_config = {**study.run_config, "executor": "batch", "executor_options": {"size": 4}}
    assert study.resume(Toy()) is study
    with pytest.raises(UsageError, match="n_workers"):
        study.resume(Toy(), n_workers=0)


def test_a_recorded_pruner_is_left_out_with_a_warning_when_the_resumed_evaluator_cannot_report(tmp_path):
    """Would fail: resuming an interrupted study recorded with a pruner refused an evaluator without a reporter
    (the new refusal of a pruner that can never act), although that study ran with it before."""
    from engine_evaluators import Curves

    url = f"sqlite:///{tmp_path / 'p.db'}"
    study = Study(SPACE, "random", objectives="acc", seed=0, name="p", storage=url)
    study.optimize(Curves(3), 2, pruner="median")
    study.record.run_config = {**study.run_config, "n_trials_total": 4}  # as if interrupted after 2 of 4
    with pytest.warns(UserWarning, match="recorded pruner is left out"):
        study.resume(Toy())
    assert len(Study.load("p", url).completed()) == 4
    with pytest.raises(UsageError, match="would be ignored"):  # a pruner given for this run is still refused
        Study.load("p", url).optimize(Toy(), 1, pruner="median")


def test_a_storage_whose_save_progress_returns_none_keeps_its_trials():
    """Would fail: save_progress returning None (its contract before it returned a bool) made the loop drop every
    trial that reported, leaving them RUNNING with one value."""
    from engine_evaluators import Curves
    from nasforge.experiment.storage import InMemoryStorage

    class OldStyle(InMemoryStorage):
        def save_progress(self, study_id, trial):
            super().save_progress(study_id, trial)

    study = Study(SPACE, "random", objectives="acc", seed=0, name="o", storage=OldStyle())
    study.optimize(Curves(3), 3)
    assert [(t.state, len(t.intermediate)) for t in study.trials] == [(TrialState.COMPLETE, 3)] * 3


# -- 18. worker identity ---------------------------------------------------------------------------
def test_same_hostname_on_another_machine_is_judged_by_heartbeat_only(tmp_path):
    url = f"sqlite:///{tmp_path / 'h.db'}"
    here = Study(SPACE, "random", objectives="acc", seed=0, name="h", storage=url)
    twin = Study.load("h", url)  # a container with the same hostname and its own PID namespace
    host = here.worker_id.split(":")[0]
    other_key = "f" * 12 if machine_key() != "f" * 12 else "e" * 12
    twin.worker_id = f"{host}:{other_key}:999999:abcd"  # a pid that does not exist here
    live = twin.ask()
    assert here.requeue_orphans(stale_after=60) == []  # its pid means nothing here: not re-queued
    assert Study.load("h", url).trials[live.number].state == TrialState.RUNNING
    time.sleep(0.3)
    assert here.requeue_orphans(stale_after=0.2) == [live.number]  # silence is what counts
    ids = {new_worker_id() for _ in range(50)}
    assert len(ids) == 50 and all(i.count(":") == 3 and i.split(":")[1] == machine_key() for i in ids)


def test_the_machine_key_closes_what_it_reads():
    import gc
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        machine_key.__wrapped__()
        gc.collect()
    # only its own files: garbage of earlier tests (e.g. a database connection) may warn in the same collect
    assert not [w for w in caught if issubclass(w.category, ResourceWarning) and "/proc/" in str(w.message)]


# -- 8. a script without the __main__ guard ---------------------------------------------------------
def test_a_script_without_main_guard_raises_the_documented_error(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(f"import sys\nsys.path.insert(0, {str(ROOT / 'tests')!r})\n"
                      "from nasforge import Study\nfrom nasforge.spaces import get_space\n"
                      "from engine_evaluators import Toy\n"
                      "big = Toy()\nbig.payload = 'x' * 500_000  # larger than a pipe buffer\n"
                      "Study(get_space('nb201'), 'random', objectives='acc', seed=0).optimize(big, 2, n_workers=2,"
                      " executor='process')\n")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert done.returncode == 1
    assert "UsageError" in done.stderr and "if __name__ == \"__main__\":" in done.stderr


# -- 10/13. bad API input -------------------------------------------------------------------------
def test_bad_api_input_is_one_clear_error(url):
    study = Study(SPACE, "random", objectives="acc", seed=0, name="api", storage=url)
    cases = [
        (lambda: study.tell(999, 1.0), "has no trial 999"),
        (lambda: study.optimize(Toy(), 2, executor="process", catch=False),
         "catch=False (evaluator errors propagate) needs the inline executor"),
        (lambda: study.optimize(Toy(), 2, pruner="median"), "the evaluator takes no reporter argument, so the "
                                                              "pruner 'median' would be ignored"),
        (lambda: study.optimize(lambda a: 70.0, 2, pruner="asha"), "so the pruner 'asha' would be ignored"),
        (lambda: study.optimize(Toy(), 5, timeout=-5), "timeout must be a positive number of seconds, got -5"),
        (lambda: study.optimize(Toy(), 2.5), "n_trials must be an integer >= 0, got 2.5"),
        (lambda: study.optimize(Toy(), 2, n_workers=0, executor="process"), "n_workers must be an integer >= 1"),
        (lambda: study.optimize(Toy(), 2, max_pending=0), "max_pending must be an integer >= 1"),
        (lambda: study.optimize(Toy(), 2, trial_timeout=float("nan"), executor="process"), "trial_timeout"),
        (lambda: study.optimize(Toy(), 2, max_failure_rate=2), "max_failure_rate must be a number in [0, 1]"),
        (lambda: study.optimize(Toy(), 2, executor="gpu"), "unknown executor 'gpu'"),
        (lambda: study.optimize(Toy(), 2, pruner="magic"), "unknown pruner 'magic'"),
        (lambda: study.optimize(Toy(), 2, executor="process", executor_options={"bogus": 1}),
         "executor 'process' takes no option 'bogus' (its executor_options: start_method, threads_per_worker)"),
        (lambda: study.optimize(Toy(), 2, executor_options={"threads_per_worker": 1}),
         "executor 'inline' takes no option 'threads_per_worker'"),
        (lambda: study.optimize(Toy(), 2, executor="process", executor_options={"start_method": "bogus"}),
         "start_method must be one of"),
        (lambda: study.optimize(Toy(), 2, executor="process", executor_options={"threads_per_worker": -2}),
         "threads_per_worker must be an integer >= 1, got -2"),
        (lambda: study.optimize(Toy(), 2, executor="ray", executor_options={"cpus_per_trial": -1}),
         "cpus_per_trial must be a positive number, got -1"),
        (lambda: study.optimize(Toy(), 2, evaluator_spec={"factory": "nope"}), "factory must look like"),
        (lambda: study.optimize(Toy(), 2, evaluator_spec="engine_evaluators:nope"), "has no 'nope'"),
        (lambda: Study(SPACE, "random", objectives="acc", name="", storage=url), "must not be empty"),
        (lambda: Study(SPACE, "random", objectives="acc", name=None, storage=url), "must be a string, got NoneType"),
        (lambda: Study(SPACE, "random", objectives="acc", name="x" * 300, storage=url), "300 characters long"),
        (lambda: Study(SPACE, "random", objectives=[], storage=url), "objectives must be a non-empty name"),
        (lambda: Study(SPACE, "random", objectives="acc", directions="up", storage=url), "unknown direction"),
        (lambda: Study(SPACE, "random", objectives="acc", seed=1.5, storage=url), "seed must be a non-negative integer"),
        (lambda: Study.load("", url), "must not be empty"),
    ]
    for call, needle in cases:
        with pytest.raises(UsageError) as info:
            call()
        message = str(info.value)
        assert needle in message and "\n" not in message, message
    assert len(study.trials) == 0  # nothing ran before the checks


def test_a_refused_optimize_call_leaves_the_recorded_run_config(url):
    study = Study(SPACE, "random", objectives="acc", seed=0, name="kept", storage=url)
    study.optimize(Toy(), 3, evaluator_spec={"factory": "engine_evaluators:Toy", "kwargs": {}})
    before = Study.load("kept", url).run_config
    with pytest.raises(UsageError, match="picklable"):
        study.optimize(lambda arch: 1.0, 100, n_workers=2, executor="process")
    assert Study.load("kept", url).run_config == before == study.run_config
    assert study.work_left() == 0
    fresh = Study(SPACE, "random", objectives="acc", seed=0, name="fresh", storage=url)
    with pytest.raises(UsageError, match="first result"):
        fresh.optimize(lambda arch: None, 50, timeout=30)
    assert Study.load("fresh", url).run_config is None and fresh.run_config is None
