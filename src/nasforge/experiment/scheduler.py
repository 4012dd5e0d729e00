"""The optimize loop: keep workers busy, store every outcome, survive faults.

The loop is asynchronous: whenever a worker is free it gets the next WAITING trial (a retry, or
one re-queued after its process died) or a new proposal. Every trial is stored RUNNING before it
is evaluated and COMPLETE/FAILED/PRUNED right after, so a crash loses at most the work in flight.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..exceptions import UsageError
from ..strategies import SpaceExhausted
from .executors import Task, get_executor
from .progress import ProgressReporter
from .pruners import Pruner, get_pruner, pruner_spec
from .trial import Trial, TrialState

if TYPE_CHECKING:
    from .study import Study


from ..exceptions import StudyAborted  # noqa: E402  (re-exported)


def process_gone(worker: str | None) -> bool:
    """True if ``worker`` ("host:pid:tag") names a process on this machine that no longer exists."""
    if not worker or worker.count(":") < 2:
        return False
    host, pid_text, _ = worker.rsplit(":", 2)
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def requeue_orphans(study: Study, stale_after: float) -> list[int]:
    """Put back to WAITING the RUNNING trials of other processes that died: on this machine (their
    process is gone) or anywhere (no heartbeat for ``stale_after`` seconds)."""
    study.sync()
    dead = [t.number for t in study.trials if t.state == TrialState.RUNNING and t.worker != study.worker_id
            and process_gone(t.worker)]
    numbers = study.storage.requeue(study._id, numbers=dead) if dead else []
    numbers += study.storage.requeue(study._id, stale_before=time.time() - stale_after)
    if numbers:
        study.sync()
    return sorted(numbers)


class _Heartbeat(threading.Thread):
    """Marks the running trials alive every ``interval`` seconds, even while an evaluation blocks."""

    def __init__(self, study: Study, running: dict[int, Trial], interval: float) -> None:
        super().__init__(name="nasforge-heartbeat", daemon=True)
        self.study, self.running, self.interval = study, running, interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.study.storage.heartbeat(self.study._id, list(self.running))
            except Exception:  # noqa: BLE001 - a missed beat is retried next interval
                continue


def run(study: Study, evaluator: Any, n_trials: int, timeout: float | None = None, n_workers: int = 1,
        executor: str = "inline", catch: bool = True, callbacks: Sequence[Callable[[Study, Trial], None]] = (),
        max_pending: int | None = None, max_retries: int = 0, trial_timeout: float | None = None,
        max_failure_rate: float | None = None, min_trials_for_failure_rate: int = 5,
        pruner: Pruner | str | dict | None = None, fidelity: dict[str, Any] | None = None,
        progress: bool = False, heartbeat_interval: float = 10.0, stale_after: float = 60.0,
        executor_options: dict[str, Any] | None = None, evaluator_spec: dict[str, Any] | None = None) -> None:
    """Run the loop of :meth:`Study.optimize`.

    - ``executor``: "inline" (this thread), "process" (worker processes) or "ray";
      ``executor_options`` go to its constructor (e.g. ``threads_per_worker``, ``address``).
    - ``max_pending``: most trials in flight (default ``n_workers``).
    - ``max_retries``: a FAILED trial is re-run as a new trial linked by ``retry_of``, up to this
      many times; the strategy is told only the last outcome.
    - ``trial_timeout``: seconds before a trial's worker is killed and the trial FAILED.
    - ``max_failure_rate``: abort (:class:`StudyAborted`) when, after ``min_trials_for_failure_rate``
      finished trials in this call, the fraction FAILED exceeds it.
    - ``pruner``: "median", "asha", a dict with settings, or a Pruner; decides at each report.
    - ``timeout``: stop proposing after this many seconds; running trials finish.
    - ``progress``: a progress bar on a terminal, plain lines otherwise.
    - ``heartbeat_interval``/``stale_after``: how often running trials are marked alive, and how
      old a heartbeat may get before another process re-queues the trial.
    - ``evaluator_spec``: ``{"factory": "module:callable", "kwargs": {...}}`` recorded so that
      ``nasforge resume`` can rebuild the evaluator.
    """
    if n_trials < 0:
        raise UsageError(f"n_trials must be >= 0, got {n_trials}")
    if max_retries < 0:
        raise UsageError(f"max_retries must be >= 0, got {max_retries}")
    if max_failure_rate is not None and not 0.0 <= max_failure_rate <= 1.0:
        raise UsageError(f"max_failure_rate must be in [0, 1], got {max_failure_rate}")
    if max_pending is not None and max_pending < 1:
        raise UsageError(f"max_pending must be >= 1, got {max_pending}")
    pruner = get_pruner(pruner)
    options = dict(executor_options or {})
    if executor == "inline":
        options.setdefault("catch", catch)
    pool = get_executor(executor, n_workers=n_workers, trial_timeout=trial_timeout, **options)

    requeue_orphans(study, stale_after)
    proposals = study.n_proposals
    study._record.run_config = {
        "n_trials_total": proposals + n_trials, "timeout": timeout, "n_workers": n_workers, "executor": executor,
        "max_pending": max_pending, "max_retries": max_retries, "trial_timeout": trial_timeout,
        "max_failure_rate": max_failure_rate, "min_trials_for_failure_rate": min_trials_for_failure_rate,
        "pruner": pruner_spec(pruner), "fidelity": fidelity, "executor_options": executor_options,
        "evaluator": evaluator_spec}
    study.storage.update_study(study._id, run_config=study._record.run_config)

    bound = None if max_failure_rate is None else (max_failure_rate, min_trials_for_failure_rate)
    display = ProgressReporter(study.name, n_trials) if progress else None
    _Loop(study, pool, n_trials, max_pending or n_workers, max_retries, bound, pruner, fidelity, callbacks, timeout,
          heartbeat_interval, stale_after, display).run(evaluator)


class _Loop:
    """State of one optimize call: what runs where, what finished, when to stop."""

    def __init__(self, study: Study, pool: Any, n_trials: int, max_pending: int, max_retries: int,
                 failure_bound: tuple[float, int] | None, pruner: Pruner | None, fidelity: dict[str, Any] | None,
                 callbacks: Sequence[Callable[[Study, Trial], None]], timeout: float | None,
                 heartbeat_interval: float, stale_after: float, display: ProgressReporter | None) -> None:
        self.study, self.pool, self.n_trials = study, pool, n_trials
        self.max_pending, self.max_retries, self.pruner = max_pending, max_retries, pruner
        self.fidelity, self.callbacks, self.display = fidelity, callbacks, display
        self.heartbeat_interval, self.stale_after = heartbeat_interval, stale_after
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.failure_bound = failure_bound  # (max failed fraction, minimum finished trials)
        self.running: dict[int, Trial] = {}
        self.asked = self.finished = self.failed = 0
        self.exhausted = False  # the strategy has nothing new to propose

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def run(self, evaluator: Any) -> None:
        if self.display is not None:
            self.display.grow(sum(t.state == TrialState.WAITING for t in self.study.trials))
        heart = _Heartbeat(self.study, self.running, self.heartbeat_interval)
        last_check = time.monotonic()
        self.pool.start(evaluator, self.decide)
        heart.start()
        try:
            while self.fill():
                poll_for = self.heartbeat_interval
                if self.deadline is not None and not self.out_of_time():
                    poll_for = min(poll_for, self.deadline - time.monotonic())
                self.collect(self.pool.poll(poll_for))
                if time.monotonic() - last_check >= self.heartbeat_interval:
                    last_check = time.monotonic()
                    requeue_orphans(self.study, self.stale_after)
        except BaseException:
            self.pool.shutdown()
            if self.running:  # unfinished work goes back to the queue for a later resume
                self.study.storage.requeue(self.study._id, numbers=list(self.running))
            raise
        finally:
            heart.stopped.set()
            if self.display is not None:
                self.display.close()
        self.pool.shutdown()
        self.study.save_snapshot()

    def fill(self) -> bool:
        """Start trials until ``max_pending`` run; False when nothing runs and nothing is left."""
        while len(self.running) < self.max_pending and not self.out_of_time():
            trial = _next_waiting(self.study)
            if trial is None:
                if self.exhausted or self.asked >= self.n_trials:
                    break
                try:
                    trial = self.study.ask(self.fidelity)
                except SpaceExhausted:
                    self.exhausted = True
                    break
                self.asked += 1
            self.running[trial.number] = trial
            self.pool.submit(Task(trial.number, trial.arch, trial.fidelity))
        return bool(self.running)

    def collect(self, results: list[tuple[int, Any]]) -> None:
        """Store finished trials (queueing retries), run callbacks, then check the failure rate."""
        last_failed = None
        for number, result in results:
            trial = self.running.pop(number)
            retry = self.study._finish(trial, result, retry=self.study.retries_of(trial) < self.max_retries)
            self.finished += 1
            if trial.state == TrialState.FAILED:
                self.failed, last_failed = self.failed + 1, trial
            if self.display is not None:
                self.display.grow(1 if retry is not None else 0)
                self.display.update(self.finished, self.failed, len(self.running), _best(self.study))
            for callback in self.callbacks:
                callback(self.study, trial)
        if last_failed is not None and self.failure_bound is not None:
            _check_failure_rate(self.study, self.finished, self.failed, *self.failure_bound, last_failed)

    def decide(self, number: int, step: int, value: float) -> bool:
        """Store a report and ask the pruner; reports of trials no longer running are told to stop."""
        trial = self.running.get(number)
        if trial is None:
            return True
        trial.intermediate.append((int(step), float(value)))
        trial.heartbeat = time.time()
        self.study.storage.save_progress(self.study._id, trial)
        if self.pruner is None:
            return False
        sign = self.study._signs[0]
        curves = {t.number: [(s, sign * v) for s, v in t.intermediate] for t in self.study.trials if t.intermediate}
        return self.pruner.should_prune(number, curves)


def _next_waiting(study: Study) -> Trial | None:
    """Claim the lowest-numbered WAITING trial, if any."""
    for trial in study.trials:
        if trial.state == TrialState.WAITING and study.claim(trial):
            return trial
    return None


def _best(study: Study) -> float | None:
    if study.is_multi_objective or not study.completed():
        return None
    return study.best_value


def _check_failure_rate(study: Study, finished: int, failed: int, bound: float | None, minimum: int,
                        last: Trial) -> None:
    if bound is None or finished < minimum or failed / finished <= bound:
        return
    raise StudyAborted(f"study {study.name!r} aborted: {failed} of {finished} trials failed "
                       f"({failed / finished:.0%} > max_failure_rate {bound:.0%}); last error: {last.error}")


__all__ = ["StudyAborted", "process_gone", "requeue_orphans", "run"]
