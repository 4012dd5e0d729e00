"""The optimize loop: keep workers busy, store every outcome, survive faults.

The loop is asynchronous: whenever a worker is free it gets the next WAITING trial (a retry, or
one re-queued after its process died) or a new proposal. A trial is stored RUNNING as a worker
starts it (proposals queued beyond the free workers, up to ``max_pending``, wait stored WAITING)
and COMPLETE/FAILED/PRUNED right after, so a crash loses at most the work in flight.
The loop reaches the study only through its public methods (``next_waiting``, ``waiting``, ``ask``,
``record_result``, ``record_progress``, ``heartbeat``, ``requeue``, ``requeue_orphans``).
"""

from __future__ import annotations

import inspect
import json
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..checks import check_bool, check_int, is_real
from ..exceptions import (AllTrialsFailedWarning, SpaceExhaustedWarning, StudyAborted, TrialFailedWarning, UsageError,
                          user_stacklevel)
from ..exceptions import WaitingForResults
from ..strategies import SpaceExhausted
from ..strategies.constraints import parse_constraints, violation_of
from ..terminal_text import escaped
from ..evaluators.base import Result
from ._guard import exit_if_unguarded_child
from ._results import checked_result, lacks_objective, objective_not_a_number, unusable_outcome
from .evaluator_spec import check_spec, resolve
from .executors import Executor, Task, get_executor, option_names
from .identity import STALE_AFTER, process_gone
from .keepalive import MissedBeats
from .progress import ProgressReporter
from .reporting import TRACEBACK, first_report_step, report_sign, takes_fidelity, takes_reporter
from .storage.base import ADDED_TRIALS, RUN_N_TRIALS, FinishedTrialError, StorageUnreachableError
from .stages import FEASIBLE_ONLY, prunes_within_budget, within_budget_guessed
from .study import SPACE_EXHAUSTED
from .pruners import Pruner, check_own_name, get_pruner, never_stops, pruner_spec
from .trial import Trial, TrialState, error_line

if TYPE_CHECKING:
    from .study import Study

REQUEUE_WAITS = (1.0, 2.0, 4.0, 8.0)
"""Seconds a stopping run waits before each new try at putting its trials back to WAITING while the database server
is unreachable (a server back within these seconds gets them back; otherwise they stay RUNNING)."""
REFUSED = f"{UsageError.__name__}: "
"""Starts the error of a trial whose evaluator raised a UsageError (see ``run_evaluation``)."""


class _Heartbeat(threading.Thread):
    """Marks the running trials alive every ``interval`` seconds, even while an evaluation blocks."""

    def __init__(self, study: Study, running: dict[int, Trial], interval: float, stale_after: float) -> None:
        super().__init__(name="nasforge-heartbeat", daemon=True)
        self.study, self.running, self.interval = study, running, interval
        self.missed = MissedBeats(stale_after)
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            self.missed.beat(self.study, list(self.running))


def run(study: Study, evaluator: Any, n_trials: int | None = None, timeout: float | None = None, n_workers: int = 1,
        executor: str = "inline", catch: bool = True, callbacks: Sequence[Callable[[Study, Trial], None]] = (),
        max_pending: int | None = None, max_retries: int = 0, max_crash_reruns: int = 3,
        trial_timeout: float | None = None, max_failure_rate: float | None = None,
        min_trials_for_failure_rate: int = 5, pruner: Pruner | str | dict | None = None,
        fidelity: dict[str, Any] | None = None, progress: bool = False, heartbeat_interval: float = 10.0,
        stale_after: float = STALE_AFTER, executor_options: dict[str, Any] | None = None,
        evaluator_spec: dict[str, Any] | None = None, n_trials_total: int | None = None,
        waiting_filter: Callable[[Trial], bool] | None = None) -> None:
    """Run the loop of :meth:`Study.optimize`. Every option is checked before any work starts.

    - ``n_trials``: new proposals of this call; or ``n_trials_total``: propose until the study has this
      many proposals, counting those of every process running it (checked at each ask, so concurrent
      runs finish only what is left). Exactly one of them is given.

    - ``executor``: "inline" (this thread), "process" (worker processes) or "ray" (or a name
      registered in ``nasforge.experiment.executors.EXECUTORS``); ``executor_options`` go to its
      constructor (e.g. ``threads_per_worker``, ``address``).
    - ``max_pending``: most trials in flight (default ``n_workers``).
    - ``max_retries``: a FAILED trial is re-run as a new trial linked by ``retry_of``, up to this
      many times; the strategy is told only the last outcome. A trial whose architecture cannot be built
      (``ArchitectureError``) or whose network cannot run on the data (or whose model-space module raises a
      ``ValueError``, ``AssertionError``, ... while it trains) would fail alike and is not re-run
      (:data:`DETERMINISTIC_ERRORS`), nor is a result that stops the run before any trial completed as the
      evaluator's misuse (one that is no outcome, lacks an objective, ...); other errors, a ``UsageError`` the
      evaluator raised (a data reader's) too, are.
    - ``max_crash_reruns``: a trial whose process died while running it (kill -9, ``os._exit`` in
      an inline evaluator, a power cut) is re-run on resume up to this many times, then FAILED
      ("process died N times while running it"), which ``max_retries`` then treats like any failure.
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
    - ``waiting_filter``: ``f(trial) -> bool``, the WAITING trials this run may run (default: all); the others
      stay WAITING for another run (e.g. a stage's trials for the evaluator of that stage). Not recorded.
    """
    exit_if_unguarded_child()
    if isinstance(evaluator, type):
        raise UsageError(f"evaluator {evaluator.__name__} is a class; pass an instance: {evaluator.__name__}(...)")
    if not (callable(evaluator) or callable(getattr(evaluator, "evaluate", None))):
        raise UsageError(f"evaluator must have an evaluate(arch, fidelity=None) method or be a callable, got "
                         f"{type(evaluator).__name__} (a table? wrap it: TableEvaluator(table))")
    if not isinstance(progress, bool):
        raise UsageError(f"progress must be True or False, got {progress!r}")
    if not isinstance(callbacks, (list, tuple)) or not all(callable(c) for c in callbacks):
        raise UsageError(f"callbacks must be a list of callables f(study, trial), got {callbacks!r}")
    if waiting_filter is not None and not callable(waiting_filter):
        raise UsageError(f"waiting_filter must be a callable f(trial) -> bool or None, got {waiting_filter!r}")
    if (n_trials is None) == (n_trials_total is None):
        raise UsageError("give n_trials (new proposals of this run) or n_trials_total (proposals of the whole "
                         "study, counting every process's), one of them")
    if n_trials is not None:
        check_int("n_trials", n_trials, 0)
    else:
        check_int("n_trials_total", n_trials_total, 0)
    pruner, evaluator_spec, pool = check_settings(
        n_workers=n_workers, executor=executor, catch=catch, max_pending=max_pending, max_retries=max_retries,
        max_crash_reruns=max_crash_reruns, trial_timeout=trial_timeout, timeout=timeout,
        max_failure_rate=max_failure_rate, min_trials_for_failure_rate=min_trials_for_failure_rate, pruner=pruner,
        fidelity=fidelity, heartbeat_interval=heartbeat_interval, stale_after=stale_after,
        executor_options=executor_options, evaluator_spec=evaluator_spec)
    _check_fidelity_reaches(study, evaluator, fidelity, waiting_filter)
    if pruner is not None and not takes_reporter(evaluator):
        raise UsageError(f"the evaluator takes no reporter argument, so the pruner {pruner.name!r} would be ignored "
                         "(it decides on reported values); declare evaluate(arch, fidelity=None, reporter=None) and "
                         "call reporter.report(step, value), or leave the pruner out")
    sign = 1.0 if pruner is None else report_sign(evaluator, study.signs[0])  # how the pruner reads the reports

    study.requeue_orphans(stale_after)
    requested = study.n_proposals + n_trials if n_trials is not None else n_trials_total
    previous = study.stored_run_config()
    _check_pruner_reach(study, pruner, previous, evaluator)
    # recorded with keep_target: the target never drops, so a short run after the interruption of a longer one keeps
    # the longer one's target, which a resume of it still works towards; n_trials adds to the target of another run
    # live now (see _Loop.record), so that a resume after one of them was killed makes what both were asked for
    config = {
        "n_trials_total": requested, "timeout": timeout, "n_workers": n_workers,
        "executor": executor, "max_pending": max_pending, "max_retries": max_retries,
        "max_crash_reruns": max_crash_reruns, "trial_timeout": trial_timeout, "max_failure_rate": max_failure_rate,
        "min_trials_for_failure_rate": min_trials_for_failure_rate, "pruner": pruner_spec(pruner),
        "fidelity": fidelity, "executor_options": executor_options, "evaluator": evaluator_spec}

    nothing_new = n_trials == 0 or (n_trials_total is not None and study.n_proposals >= n_trials_total)
    if nothing_new and not study.waiting(waiting_filter):
        if previous and RUN_N_TRIALS in previous:  # a live run's kind stays what keep_target decides on
            config[RUN_N_TRIALS] = previous[RUN_N_TRIALS]
        study.set_run_config(config, keep_target=True)  # nothing to run: the settings are recorded, no worker starts
        return
    bound = None if max_failure_rate is None else (max_failure_rate, min_trials_for_failure_rate)
    display = ProgressReporter(study.name, max(0, requested - study.n_proposals)) if progress else None
    loop = _Loop(study, pool, n_trials, n_trials_total, max_pending or n_workers, max_retries, max_crash_reruns,
                 bound, pruner, sign, fidelity, callbacks, timeout, heartbeat_interval, stale_after, display,
                 waiting_filter)
    loop.run(evaluator, config, previous)


def check_settings(n_workers: int = 1, executor: str = "inline", catch: bool = True, max_pending: int | None = None,
                   max_retries: int = 0, max_crash_reruns: int = 3, trial_timeout: float | None = None,
                   timeout: float | None = None, max_failure_rate: float | None = None,
                   min_trials_for_failure_rate: int = 5, pruner: Pruner | str | dict | None = None,
                   fidelity: dict[str, Any] | None = None, heartbeat_interval: float = 10.0,
                   stale_after: float = STALE_AFTER, executor_options: dict[str, Any] | None = None,
                   evaluator_spec: dict[str, Any] | None = None
                   ) -> tuple[Pruner | None, dict[str, Any] | None, Executor]:
    """The checks of :func:`run` that need neither the study nor the evaluator (a UsageError naming the option);
    returns the pruner, the evaluator spec as recorded and the executor (not started)."""
    check_int("n_workers", n_workers, 1)
    check_bool("catch", catch)
    check_int("max_retries", max_retries, 0)
    check_int("max_crash_reruns", max_crash_reruns, 0)
    check_int("min_trials_for_failure_rate", min_trials_for_failure_rate, 1)
    if max_pending is not None:
        check_int("max_pending", max_pending, 1)
    if timeout is not None:
        _seconds(timeout, "timeout")
    if trial_timeout is not None:
        _seconds(trial_timeout, "trial_timeout")
    _seconds(heartbeat_interval, "heartbeat_interval")
    _seconds(stale_after, "stale_after")
    if stale_after <= heartbeat_interval:
        raise UsageError(f"stale_after ({stale_after:g} s) must be longer than heartbeat_interval "
                         f"({heartbeat_interval:g} s), or live trials would count as dead between two heartbeats")
    if max_failure_rate is not None and not (is_real(max_failure_rate) and 0.0 <= max_failure_rate <= 1.0):
        raise UsageError(f"max_failure_rate must be a number in [0, 1], got {max_failure_rate!r}")
    if fidelity is not None and not isinstance(fidelity, dict):
        raise UsageError(f"fidelity must be a dict, got {type(fidelity).__name__}")
    given, pruner = pruner, get_pruner(pruner)
    if isinstance(given, Pruner):  # recorded by its name, which a resume rebuilds it by
        check_own_name(given)
    evaluator_spec = _checked_spec(evaluator_spec)
    if executor_options is not None and not isinstance(executor_options, dict):
        raise UsageError(f"executor_options must be a dict, got {type(executor_options).__name__}")
    options = dict(executor_options or {})
    if "catch" in (option_names(executor) or ()):
        options.setdefault("catch", catch)
    elif not catch:
        raise UsageError(f"catch=False (evaluator errors propagate) needs the inline executor; executor "
                         f"{executor!r} fails the trial with the error instead: leave catch out or use "
                         "executor='inline'")
    return pruner, evaluator_spec, get_executor(executor, n_workers=n_workers, trial_timeout=trial_timeout, **options)


EXECUTOR_SETTINGS = frozenset({"executor", "executor_options", "n_workers", "trial_timeout", "catch"})


def check_recorded(config: dict[str, Any], overrides: dict[str, Any]) -> None:
    """Check a resume's ``overrides`` as :func:`run` would, running nothing: a resume of a finished study refuses
    bad options too. Recorded settings are checked only where an override combines with them (an executor
    option with the recorded executor): a recorded executor or pruner this process has not registered is no
    error when nothing runs."""
    names = set(inspect.signature(check_settings).parameters) - {"evaluator_spec"}  # its factory was found then
    keys = set(overrides) | (EXECUTOR_SETTINGS if EXECUTOR_SETTINGS & set(overrides) else set())
    check_settings(**{key: value for key, value in config.items() if key in names & keys})


def _checked_spec(spec: dict[str, Any] | str | None) -> dict[str, Any] | None:
    """``evaluator_spec`` as recorded (a bare "module:callable" becomes a dict), its factory found now rather
    than at resume."""
    if spec is None:
        return None
    spec = check_spec(spec, "evaluator_spec")
    if set(spec) - {"factory", "kwargs"}:
        raise UsageError(f"evaluator_spec must be {{'factory': 'module:callable', 'kwargs': {{...}}}}, got {spec!r}")
    try:
        json.dumps(spec.get("kwargs") or {}, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"evaluator_spec's kwargs must be JSON values: {exc}") from None
    resolve(spec["factory"])
    return spec


def _check_fidelity_reaches(study: Study, evaluator: Any, fidelity: dict[str, Any] | None,
                            waiting_filter: Callable[[Trial], bool] | None = None) -> None:
    """An evaluator called as ``f(arch)`` never sees a fidelity: refuse one given to the run, asked by a
    multi-fidelity strategy or held by a WAITING trial the run may run (``waiting_filter``), rather than record a
    fidelity no evaluation used."""
    if takes_fidelity(evaluator):
        return
    strategy = study.strategy
    waiting = next((t for t in study.waiting(waiting_filter) if t.fidelity), None)
    if fidelity:
        given = f"fidelity={fidelity!r}"
    elif getattr(strategy, "multi_fidelity", False):
        given = f"the {getattr(strategy, 'fidelity', None)!r} strategy {study.record.strategy!r} asks of each trial"
    elif waiting is not None:
        given = f"the fidelity {waiting.fidelity!r} of WAITING trial {waiting.number}"
    else:
        return
    raise UsageError(f"the evaluator takes no fidelity argument (it is called as f(arch)), so {given} would be "
                     "ignored; declare f(arch, fidelity) or evaluate(arch, fidelity=None)")


def _check_pruner_reach(study: Study, pruner: Pruner | None, previous: dict[str, Any] | None, evaluator: Any) -> None:
    """Refuse a pruner whose own settings can never stop a trial (:func:`~.pruners.never_stops`, from the step the
    evaluator's reports start at); the one the study recorded (a resume) is only warned about: a study stored with it
    goes on as it did."""
    reason = None if pruner is None else never_stops(pruner, first_report_step(evaluator))
    if reason is None:
        return
    if previous is not None and previous.get("pruner") == _plain({"pruner": pruner_spec(pruner)})["pruner"]:
        warnings.warn(f"study {study.name!r}: its recorded pruner {pruner.name!r} {reason}; the run goes on with it "
                      "(pass pruner= to choose another; nasforge resume: --pruner)", stacklevel=user_stacklevel())
        return
    raise UsageError(f"pruner {pruner.name!r} {reason}")


def _plain(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` as the storage gives it back (JSON: tuples become lists)."""
    return json.loads(json.dumps(config))


def _seconds(value: Any, name: str) -> None:
    """A finite number of seconds > 0 (a timeout of 0 would run nothing, and a resume keeps it)."""
    if not is_real(value) or value <= 0:
        raise UsageError(f"{name} must be a positive number of seconds, got {value!r}")


class _Loop:
    """State of one optimize call: what runs where, what finished, when to stop."""

    def __init__(self, study: Study, pool: Any, n_trials: int | None, total: int | None, max_pending: int,
                 max_retries: int, max_crash_reruns: int, failure_bound: tuple[float, int] | None,
                 pruner: Pruner | None, sign: float, fidelity: dict[str, Any] | None,
                 callbacks: Sequence[Callable[[Study, Trial], None]], timeout: float | None,
                 heartbeat_interval: float, stale_after: float, display: ProgressReporter | None,
                 waiting_filter: Callable[[Trial], bool] | None = None) -> None:
        self.study, self.pool, self.n_trials, self.total = study, pool, n_trials, total
        self.waiting_filter = waiting_filter  # the WAITING trials this run may run (None: all)
        self.max_pending, self.max_retries, self.pruner = max_pending, max_retries, pruner
        self.max_crash_reruns = max_crash_reruns
        self.fidelity, self.callbacks, self.display = fidelity, callbacks, display
        self.heartbeat_interval, self.stale_after = heartbeat_interval, stale_after
        self.timeout, self.deadline = timeout, None  # the clock starts once the workers are ready
        self.failure_bound = failure_bound  # (max failed fraction, minimum finished trials)
        self.running: dict[int, Trial] = {}  # claimed (RUNNING) and handed to the executor
        self.queued: deque[Trial] = deque()  # next to start, in order; stored WAITING until a worker is free
        self.lost: set[int] = set()  # running here, but re-queued by another process: their outcome is dropped
        self.asked = self.finished = self.failed = self.pruned = 0
        self.last_failed: Trial | None = None  # for the failure-rate abort's message
        self.first_error: str | None = None  # of the first trial of this run that FAILED
        self.names_checked = any(t.state == TrialState.COMPLETE for t in study.trials)
        self.done_asking = False  # the strategy has nothing new to propose, or the study has its total
        within = prunes_within_budget(study.user_attrs, study.record.created_at)  # an older study: every budget
        self.curves = _Curves(study, self.budget if within else lambda trial: None, sign)  # what the pruner judges
        self.pruner_error: UsageError | None = None  # the pruner raised or answered no bool: the run stops
        self.pruner_refused: set[int] = set()  # trials it failed on: put back to WAITING, not told as failed
        self.exhausted: SpaceExhausted | None = None  # why the strategy proposed no more, when it ran out
        self.default_epochs: int | None = None  # epochs the evaluator trains when the fidelity sets none

    def _warn_guessed_rule(self) -> None:
        """Warn when a multi-fidelity study's pruner compares same-budget curves by its creation time alone."""
        study = self.study
        if getattr(study.strategy, "multi_fidelity", False) and \
                within_budget_guessed(study.user_attrs, study.record.created_at):
            warnings.warn(f"study {study.name!r} does not record which curves its pruner compares; made since "
                          "2026-12-07 08:39 UTC, it is taken to compare a trial only with those at its budget, as "
                          "that release did (if an older release made it, which compared every budget: "
                          "study.set_user_attr('prunes_within_budget', False) keeps that rule)",
                          stacklevel=user_stacklevel())

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def run(self, evaluator: Any, config: dict[str, Any], previous: dict[str, Any] | None) -> None:
        """Run to the end; ``config`` is recorded as the study's run config once the workers started, and
        ``previous`` put back when the run is refused (a UsageError: misuse met at the first result)."""
        if self.display is not None:
            self.display.grow(len(self.study.waiting(self.waiting_filter)))
        heart = _Heartbeat(self.study, self.running, self.heartbeat_interval, self.stale_after)
        with self.study._keepalive.excluding(self.running):  # the loop beats its trials; keep-alive those by hand
            self._run(evaluator, config, previous, heart)

    def _run(self, evaluator: Any, config: dict[str, Any], previous: dict[str, Any] | None,
             heart: _Heartbeat) -> None:
        last_check = time.monotonic()
        recorded, ended = None, None
        by_hand = set(self.study.own_running())  # asked outside this run: left RUNNING when it stops
        self.default_epochs = _default_epochs(evaluator)
        if self.pruner is not None:
            self.pruner.reset()  # an object used for another study (or run) forgets where its trials ended
            self._warn_guessed_rule()
        for trial in self.study.trials if self.pruner is not None else ():  # stored ones: where trials end
            if trial.state == TrialState.COMPLETE and trial.intermediate and self.ends_training(trial):
                self.pruner.trial_completed(self.curves.oriented(trial.intermediate))
        try:
            self.pool.start(evaluator, self.decide)
            if self.timeout is not None:
                self.deadline = time.monotonic() + self.timeout
            if self.display is not None:  # its ETA counts from here: starting the workers is no trial's work
                self.display.begin(self.deadline)
            self.record(config)  # the run starts: a refused one leaves the stored one
            recorded = _plain(self.study.run_config)
            heart.start()
            while self.fill():
                self.show()
                poll_for = self.heartbeat_interval
                if self.deadline is not None and not self.out_of_time():
                    poll_for = min(poll_for, self.deadline - time.monotonic())
                self.collect(self.pool.poll(poll_for))
                if time.monotonic() - last_check >= self.heartbeat_interval:
                    last_check = time.monotonic()
                    self.study.requeue_orphans(self.stale_after)
            ended = "timeout" if self.out_of_time() else None  # the run's end: its last line says so
        except BaseException as exc:
            ended = _stop_reason(exc)  # its last progress line says why, with no ETA for work that will not run
            try:  # a second Ctrl-C while the workers stop must not skip putting the trials back
                self.pool.shutdown()
            except BaseException as failed:  # noqa: BLE001 - the run's own error (an interrupt) is what it ends with
                exc.add_note(f"stopping the workers failed too: {type(failed).__name__}: {failed}")
            finally:
                self.put_back(by_hand, exc, recorded, previous)
            raise
        finally:
            heart.stopped.set()
            if self.display is not None:
                self.show()
                self.display.close(ended)
        self.pool.shutdown()
        self.study.save_snapshot()
        self.warn_left_waiting()
        self.warn_exhausted()
        self.warn_all_failed()

    def put_back(self, keep: set[int], exc: BaseException, recorded: dict[str, Any] | None,
                 previous: dict[str, Any] | None) -> None:
        """As the run stops with ``exc``: its unfinished work goes back to the queue for a later resume (a trial
        claimed just before a signal but not yet in self.running too; memory follows the database), and a refused
        run's (a UsageError) stored settings go back to ``previous``. While the database server is unreachable
        this is tried again after each of :data:`REQUEUE_WAITS`; any other storage failure leaves it undone (the
        original error matters), and so does a Ctrl-C during a wait. A Ctrl-C during a try (a quick local write, or
        a connect to a server that does not answer) ends it at once: a later resume re-queues those trials as a dead
        process's."""
        for wait in (*REQUEUE_WAITS, None):
            try:
                self.study.release(keep=keep)
                if recorded and isinstance(exc, UsageError) and self.study.stored_run_config() == recorded:
                    self.study.set_run_config(previous)
                return
            except StorageUnreachableError:
                if wait is None:
                    return
            except Exception:  # noqa: BLE001 - the storage itself failed: the original error matters
                return
            try:
                time.sleep(wait)
            except KeyboardInterrupt:
                return

    def warn_first_failure(self, trial: Trial) -> None:
        """The run's first FAILED trial says why, and where its evaluator raised, once (the run goes on)."""
        where = trial.user_attrs.get(TRACEBACK)
        at = f", raised at:\n{where}" if isinstance(where, str) and where else "\n"
        warnings.warn(f"study {self.study.name!r}: trial {trial.number} FAILED: {error_line(trial):.300}{at}(the run "
                      f"goes on; its later failures are not warned of: see trial.error and "
                      f"trial.user_attrs[{TRACEBACK!r}])", TrialFailedWarning, stacklevel=user_stacklevel())

    def warn_all_failed(self) -> None:
        """A run in which every trial FAILED says so once, with the first error (no abort bound may have stopped it)."""
        if self.finished and self.failed == self.finished:
            which = "the only trial" if self.failed == 1 else f"all {self.failed} trials"
            warnings.warn(f"study {self.study.name!r}: {which} of this run failed; the first error: "
                          f"{self.first_error:.300}", AllTrialsFailedWarning, stacklevel=user_stacklevel())

    def record(self, config: dict[str, Any]) -> None:
        """Record the run's settings, its target never lowered; while another process runs the study (one of its
        trials is RUNNING, not orphaned) with ``n_trials``, this run's ``n_trials`` is added to the stored target in
        the same transaction: that run still owes its own proposals, which this run's do not make. Beside a run
        with ``n_trials_total`` (a resume too) nothing is added: that run stops at its total, counting this run's
        proposals, so the target is the higher of the two."""
        self.study.sync()
        others = [t for t in self.study.trials if t.state == TrialState.RUNNING and t.worker != self.study.worker_id]
        dead = {t.number for t in self.study.orphans(self.stale_after)}
        config = {**config, RUN_N_TRIALS: self.n_trials}
        if self.n_trials and any(t.number not in dead for t in others):
            config[ADDED_TRIALS] = self.n_trials
        self.study.set_run_config(config, keep_target=True)

    def warn_left_waiting(self) -> None:
        """A run its timeout stopped says which WAITING trials (retries, re-queued trials) it left to run."""
        left = [t.number for t in self.study.waiting(self.waiting_filter)]
        if left and self.out_of_time():
            shown = ", ".join(map(str, left[:10])) + (", ..." if len(left) > 10 else "")
            warnings.warn(f"study {self.study.name!r}: the timeout stopped the run with {len(left)} trial"
                          f"{'s' if len(left) != 1 else ''} left WAITING ({shown}: retries or re-queued trials); "
                          "the next optimize or resume runs them first", stacklevel=user_stacklevel())

    def warn_exhausted(self) -> None:
        """A run that stopped because the strategy had no new architecture to propose says so, once."""
        if self.exhausted is not None:
            target = (self.study.run_config or {}).get("n_trials_total")
            strategy = self.study.strategy
            warnings.warn(f"study {self.study.name!r}: strategy {strategy.name!r} (seed {strategy.seed}) has no new "
                          f"architecture to propose ({self.exhausted}); the run stops with {self.study.n_proposals} "
                          f"proposals of the target {target}, and the study counts as finished",
                          SpaceExhaustedWarning, stacklevel=user_stacklevel())

    def fill(self) -> bool:
        """Start trials while the executor has a free worker (at most ``max_pending`` in flight), then queue more
        up to ``max_pending``: a queued trial stays stored WAITING and is claimed (RUNNING) as it starts, so a
        driver that dies first leaves it to run again without counting a crash. False when nothing runs and
        nothing is left."""
        while len(self.running) < self.max_pending and self.pool.free_slots() > 0:
            trial = self.next_trial()
            if trial is None:
                break
            self.start(trial)
        while len(self.running) + len(self.queued) < self.max_pending and not self.out_of_time():
            queued = {t.number for t in self.queued}
            trial = next((t for t in self.study.waiting(self.waiting_filter) if t.number not in queued), None) \
                or self.propose(queued=True)
            if trial is None:
                break
            self.queued.append(trial)
        return bool(self.running or self.queued)

    def next_trial(self) -> Trial | None:
        """The next trial to start, claimed: a queued one (unless another process took it meanwhile: queued
        trials start even past the timeout, as running ones finish), else a WAITING one, else a new proposal;
        None when this run starts no more."""
        while self.queued:
            trial = self.queued.popleft()
            if self.study.claim(trial):
                return trial
        if self.out_of_time():
            return None
        return self.study.next_waiting(self.waiting_filter) or self.propose()

    def start(self, trial: Trial) -> None:
        """Hand a claimed trial to the executor; one whose process died too often while running it is FAILED."""
        self.running[trial.number] = trial  # claimed: RUNNING until stored (re-queued if that fails)
        if trial.attempts > self.max_crash_reruns + 1:
            deaths = trial.attempts = trial.attempts - 1  # stored as it ran: the re-queue counted one more start
            self.finish(trial, Result.failed(f"process died {deaths} time{'s' if deaths != 1 else ''} while "
                                             f"running this trial (max_crash_reruns={self.max_crash_reruns})"))
            self.check_failure_rate()
            return
        self.pool.submit(Task(trial.number, trial.arch, trial.fidelity, tuple(self.study.objectives)))

    def propose(self, queued: bool = False) -> Trial | None:
        """The strategy's next proposal (stored WAITING when ``queued``), or None when this run asks no more."""
        if self.done_asking or (self.n_trials is not None and self.asked >= self.n_trials):
            return None
        try:
            if self.total is None:
                trial = self.study.ask(self.fidelity, queued=queued)
            else:  # counting every process's proposals: None once the study has its total
                trial = self.study.ask_until(self.total, self.fidelity, queued=queued)
        except WaitingForResults:  # a multi-fidelity strategy may promote once a running trial is told
            if self.running or self.queued:
                return None
            trial = None
        except SpaceExhausted as exc:  # stored, so that work_left, status and resume of any process know it
            self.exhausted, trial = exc, None
            self.study.set_user_attr(SPACE_EXHAUSTED, self.study.n_proposals)
        if trial is None:
            self.done_asking = True
            if self.display is not None:  # it stops short of its total: only the trials it still has are left
                waiting = {t.number for t in self.study.waiting(self.waiting_filter)} | {t.number for t in self.queued}
                self.display.settle(self.finished + len(self.running) + len(waiting))
        else:
            self.asked += 1
        return trial

    def collect(self, results: list[tuple[int, Any]]) -> None:
        """Store finished trials (queueing retries), run callbacks, then check the failure rate (after every batch:
        the minimum may be reached on a trial that completed, and later ones may all complete)."""
        for number, result in results:
            if number in self.pruner_refused:  # its outcome is the pruner's error: left to the re-queue
                continue
            if number in self.lost:  # another process took it over: its outcome is that process's to store
                self.lost.discard(number)
                continue
            trial = self.running[number]
            self.finish(trial, result)
        self.check_failure_rate()
        if self.pruner_error is not None:
            raise self.pruner_error

    def check_failure_rate(self) -> None:
        """Abort (StudyAborted) once the finished trials are enough and too many of them failed."""
        if self.last_failed is not None and self.failure_bound is not None:
            _check_failure_rate(self.study, self.finished, self.failed, *self.failure_bound, self.last_failed)

    def finish(self, trial: Trial, result: Any) -> None:
        """Store a running trial's outcome; it leaves ``running`` only once stored, so a failed write (or an
        exception before it) leaves it to the re-queue of :meth:`run`, never RUNNING for good. A late result
        of a trial that another process, judging this one dead, re-ran and finished first is dropped: the
        stored outcome stays."""
        try:
            again = self.study.retries_of(trial) < self.max_retries and not _deterministic(result)
            if again and not self.names_checked:  # checked once: a curve given as an iterator reads only once
                result = checked_result(result, self.study.objectives, need_objectives=trial.tell_strategy)
                again = not self.stops_run(result)
            retry = self.study.record_result(trial, result, retry=again)
        except FinishedTrialError:
            del self.running[trial.number]
            return
        del self.running[trial.number]
        self.finished += 1
        if trial.state == TrialState.FAILED:
            self.failed += 1
            self.last_failed = trial
            self.first_error = self.first_error or error_line(trial)
        self.pruned += trial.state == TrialState.PRUNED
        if self.pruner is not None and trial.state == TrialState.COMPLETE and trial.intermediate and (
                self.ends_training(trial)):  # not at a lower multi-fidelity budget
            self.pruner.trial_completed(self.curves.oriented(trial.intermediate))
        if not self.names_checked:
            self.check_names(trial)
        if trial.state == TrialState.FAILED and self.failed == 1:
            self.warn_first_failure(trial)
        if self.display is not None:
            self.display.grow(1 if retry is not None else 0)
        for callback in self.callbacks:
            callback(self.study, trial)

    def show(self) -> None:
        """Update the progress display (after new trials started, so ``running`` counts every one on a worker; the
        queued ones, stored WAITING, apart: they have not started, and the ETA must not count them as under way)."""
        if self.display is not None:
            study = self.study
            front = (lambda: _front_size(study)) if study.is_multi_objective else None
            # computed only when the display shows them (throttled): each costs a pass over the trials
            self.display.update(self.finished, self.failed, len(self.running), lambda: _best(study), self.pruned,
                                front, waiting=len(self.queued))

    def check_names(self, trial: Trial) -> None:
        """Fail fast on a misnamed objective or constrained metric, an objective that is no number (text), an evaluator
        returning what is no outcome, or one raising a UsageError (misuse, e.g. a table asked for a fidelity) before
        any trial completed: the run stops with a UsageError (the trial is stored, FAILED or COMPLETE)."""
        if trial.state == TrialState.FAILED and (misuse := self.misuse(trial.error)) is not None:
            raise misuse
        if trial.state != TrialState.COMPLETE:
            return
        self.names_checked = True
        specs = getattr(self.study.strategy, "constraints", None)
        missing = sorted({c.metric for c in parse_constraints(specs)} - set(trial.metrics))
        if missing:
            raise UsageError(f"study {self.study.name!r}: the constraint(s) on {missing} name metrics the evaluator "
                             f"does not report (it reports {sorted(trial.metrics)})")

    def misuse(self, error: str | None) -> UsageError | None:
        """The UsageError that stops the run (:meth:`check_names`) at a trial FAILED with ``error`` before any trial
        completed, when that error shows the evaluator itself misused, so that all its results would fail; else
        None."""
        name = self.study.name
        if lacks_objective(error):
            return UsageError(f"study {name!r}: the evaluator's first result lacks an objective: "
                              f"{error.removeprefix('invalid result: ')}; check objectives=")
        if objective_not_a_number(error, self.study.objectives):
            return UsageError(f"study {name!r}: the evaluator's first result has an objective that is not a "
                              f"number: {error.removeprefix('invalid result: ')}; return numbers (float(x))")
        if unusable_outcome(error):
            return UsageError(f"study {name!r}: the evaluator's first result cannot be used: "
                              f"{error.removeprefix('invalid result: ')}")
        if (error or "").startswith(REFUSED):
            return UsageError(f"study {name!r}: the evaluator refused the trial as misuse before any result: "
                              f"{error.removeprefix(REFUSED)}")
        return None

    def stops_run(self, outcome: Result) -> bool:
        """Whether ``outcome`` (checked, as stored) stops the run as the evaluator's misuse (:meth:`misuse`) with a
        result no re-run can mend (no outcome, a missing objective, ...): a retry could only fail the same way, so
        none is queued. A UsageError the evaluator raised keeps its retry (a data reader's may pass)."""
        error = outcome.error or ""
        return outcome.status == "failed" and not error.startswith(REFUSED) and self.misuse(error) is not None

    def decide(self, number: int, step: int, value: float) -> bool:
        """Store a report and ask the pruner (not at the trial's last step: its training is done). While the last
        step is unknown (the first trials of a parallel run, before one completes), no report is pruned: any of
        them may be the trial's last, so the report that ends a trial is never pruned. Reports of trials no longer
        running here are told to stop, and dropped: another process judged this one dead and re-queued the trial
        (its late outcome is dropped too, never stored over that process's run)."""
        trial = self.running.get(number)
        if trial is None:
            return True
        trial.intermediate.append((int(step), float(value)))
        trial.heartbeat = time.time()
        if not self.study.record_progress(trial):
            del self.running[number]
            self.lost.add(number)
            return True
        if self.pruner is None:
            return False
        last = self.last_step(trial)
        if last is None or step >= last:
            return False
        return self.ask_pruner(number)

    def ask_pruner(self, number: int) -> bool:
        """The pruner's verdict on trial ``number``. A pruner that raises, or answers anything but True or False,
        is a bug in the pruner, not in the trial: the trial is left to go back to WAITING, and the run stops with a
        UsageError naming the pruner (as for a strategy's error), rather than fail every trial."""
        label = f"pruner {getattr(self.pruner, 'name', None) or type(self.pruner).__name__!r}"
        try:
            verdict = self.pruner.should_prune(number, self.curves.current(number))  # type: ignore[union-attr]
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - inline, it would reach the evaluator's catch and fail the trial
            error = UsageError(f"{label}: should_prune raised {type(exc).__name__}: {exc}")
            error.__cause__ = exc
        else:
            if isinstance(verdict, bool) or _is_numpy_bool(verdict):
                return bool(verdict)
            error = UsageError(f"{label}: should_prune must return True or False, got {type(verdict).__name__} "
                               f"{verdict!r}")
        self.pruner_refused.add(number)
        self.pruner_error = self.pruner_error or error
        raise error

    def last_step(self, trial: Trial) -> float | None:
        """The step at which ``trial``'s training ends, the earliest known of: its budget (the value of the
        multi-fidelity strategy's fidelity in the trial's fidelity: its steps, e.g. epochs or a custom evaluator's
        iterations) or else its ``epochs`` (the trial's fidelity, given to ``optimize`` or by the strategy, else a
        TrainingEvaluator's own), and the pruner's :meth:`~Pruner.last_step`; when neither is known, the last step
        of the longest complete trial's curve (trials of one length); None while unknown. A TrainingEvaluator budget
        that is no step (``data_fraction``, ``width``, ``cells``, ``resolution``) is left out: such a trial trains
        its epochs."""
        from ..evaluators.training import FIDELITY_KEYS

        key = getattr(self.study.strategy, "fidelity", None)
        own = self.budget(trial) if key == "epochs" or key not in FIDELITY_KEYS else None
        if own is None:
            epochs = (trial.fidelity or {}).get("epochs", self.default_epochs)
            own = epochs if is_real(epochs) else None
        says = self.pruner.last_step() if self.pruner is not None else None
        known = [s for s in (own, says) if s is not None]
        if known:
            return min(known)
        return self.curves.longest_complete()

    def ends_training(self, trial: Trial) -> bool:
        """Whether ``trial`` ran where training ends: no multi-fidelity budget, or the strategy's top one."""
        budget = self.budget(trial)
        return budget is None or budget >= getattr(self.study.strategy, "max_budget", budget)

    def budget(self, trial: Trial) -> float | None:
        """The trial's multi-fidelity budget (the value of the strategy's fidelity in the trial's fidelity)."""
        key = getattr(self.study.strategy, "fidelity", None)
        budget = (trial.fidelity or {}).get(key) if isinstance(key, str) else None
        return budget if is_real(budget) else None


def _default_epochs(evaluator: Any) -> int | None:
    """The epochs a :class:`~nasforge.evaluators.training.TrainingEvaluator` trains (its last report's step) when
    a trial's fidelity sets none; None for other evaluators."""
    from ..evaluators.training import TrainingEvaluator

    if not isinstance(evaluator, TrainingEvaluator) or evaluator.merge_val:
        return None
    epochs = evaluator.fidelity.get("epochs")
    return int(evaluator.train.epochs if epochs is None else epochs)


class _Curves:
    """The learning curves of a study's trials as the pruner sees them (higher is better), kept across reports:
    a trial's curve is rebuilt only when the trial changed (its event) or got reports since the last look.

    Under a multi-fidelity strategy the pruner sees only the trials trained at the judged trial's budget: a trial at
    another budget followed another schedule (an epochs budget stretches each trial's learning-rate schedule over its
    own epochs; a width, a data fraction, ... change what one epoch reaches), so its value at a step is no yardstick.
    A study created before that rule (no :data:`~nasforge.experiment.stages.PRUNES_WITHIN_BUDGET` attribute) is
    given a ``budget`` that answers None for every trial: its pruner goes on comparing the curves of every budget.
    ``sign`` turns a stored (raw) report into higher-is-better: :func:`~.reporting.report_sign` of the evaluator."""

    def __init__(self, study: Study, budget: Callable[[Trial], float | None], sign: float) -> None:
        self.study = study
        self.sign = sign
        self.budget = budget  # a trial's multi-fidelity budget (None: none)
        self.seen: dict[int, tuple[int, int]] = {}  # trial number -> (event, reports) its curve is of
        self.curves: dict[int, tuple[tuple[int, float], ...]] = {}
        self.budgets: dict[int, float | None] = {}  # trial number -> its budget, for those with a curve
        self.by_budget: dict[float | None, dict[int, tuple[tuple[int, float], ...]]] = {}  # the curves by budget
        self.looked = 0  # the trials numbered below were looked at: of those, only the `open` ones may change
        self.open: dict[int, None] = {}  # looked at while not finished, by number (a finished trial's curve stays)
        self.longest: int | None = None  # the last step of the longest COMPLETE trial's curve

    def oriented(self, points: Sequence[tuple[int, float]]) -> tuple[tuple[int, float], ...]:
        """Stored ``(step, value)`` reports as the pruner sees them (higher is better)."""
        return tuple((s, self.sign * v) for s, v in points)

    def current(self, number: int) -> Mapping[int, Sequence[tuple[int, float]]]:
        """Trial number -> its curve, for every trial with reports at trial ``number``'s budget, that one included
        (read-only: the pruner cannot change it)."""
        self.refresh()
        return MappingProxyType(dict(self.by_budget.get(self.budgets.get(number), {})))

    def longest_complete(self) -> int | None:
        """The last step of the longest COMPLETE trial's curve (None: no COMPLETE trial has reports)."""
        self.refresh()
        return self.longest

    def refresh(self) -> None:
        """Take in the trials changed since the last look: the new ones and those not finished then (a finished
        trial never changes again), so that a report costs the trials running or waiting, not all trials."""
        trials = self.study.trials
        start, self.looked = self.looked, len(trials)
        # open numbers are all below `start`, and kept in the order they were added: ascending, as trials are, with
        # no sort (a queue of WAITING trials stays open: a report costs each one as little as a look cost before)
        numbers = [*self.open, *range(start, self.looked)]
        complete, pruned, failed = TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED
        for number in numbers:
            trial = trials[number]
            state = trial.state
            if state is complete or state is pruned or state is failed:  # finished: TrialState.finished, inlined
                self.open.pop(number, None)
                if state is complete and trial.intermediate:
                    end = trial.intermediate[-1][0]
                    self.longest = end if self.longest is None else max(self.longest, end)
            elif number >= start:
                self.open[number] = None
            seen, now = self.seen.get(number), (trial.event, len(trial.intermediate))
            if seen == now:
                continue
            self.seen[number] = now
            if not trial.intermediate:
                if self.curves.pop(number, None) is not None:
                    self.by_budget[self.budgets[number]].pop(number, None)
                continue
            further = seen is not None and seen[0] == now[0] and seen[1] <= now[1]  # reports since, no event
            known = self.curves.get(number, ()) if further else ()
            self.curves[number] = known + self.oriented(trial.intermediate[len(known):])
            budget = self.budget(trial)
            if number in self.budgets and self.budgets[number] != budget:
                self.by_budget[self.budgets[number]].pop(number, None)
            self.budgets[number] = budget
            self.by_budget.setdefault(budget, {})[number] = self.curves[number]


DETERMINISTIC_ERRORS = ("ArchitectureError: ", "UsageError: the network of ")
"""How a worker reports the failures a re-run would repeat: an architecture that cannot be built, or whose network
cannot run on the data's images (or whose model-space module raised a ValueError, AssertionError, ... in training).
Other usage errors (a data file read while it was being written) are retried."""


def _deterministic(result: Any) -> bool:
    """Whether ``result`` is a failure that a re-run would repeat (:data:`DETERMINISTIC_ERRORS`)."""
    return isinstance(result, Result) and result.status == "failed" and (result.error or "").startswith(
        DETERMINISTIC_ERRORS)


def _is_numpy_bool(value: Any) -> bool:
    """Whether ``value`` is NumPy's bool (``np.True_``, e.g. from ``x < np.median(...)``), without importing NumPy:
    such a value exists only once NumPy is imported. (Its type is named ``bool`` under NumPy 2, ``bool_`` before.)"""
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.bool_)


def _stop_reason(exc: BaseException) -> str:
    """Why a run that raised ``exc`` stopped, as its last progress line says it (``stopped: interrupted``)."""
    if isinstance(exc, StudyAborted):
        return "too many failed trials"
    return "interrupted" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}"


def _best(study: Study) -> float | dict[str, float] | None:
    """The best value so far (:attr:`Study.best_value`); with several objectives each one's best (by name), which
    may come from different trials. Both among the trials :meth:`Study.pareto_front` ranks, feasible first: under
    constraints the bests are those of the trials that meet them (while none does, of the least violating ones,
    except in a search run's study (:data:`FEASIBLE_ONLY`): none, as its front holds none), as the front's size
    beside them counts."""
    done = study.ranked()
    if not done:
        return None
    if not study.is_multi_objective:
        return study.best_value
    violations = [violation_of(study.told_score(t)) for t in done]
    least = min(violations)
    if least > 0 and study.user_attrs.get(FEASIBLE_ONLY):
        return {}
    done = [t for t, violation in zip(done, violations) if violation == least]
    return {name: sign * max(sign * t.metrics[name] for t in done) for name, sign in zip(study.objectives, study.signs)}


def _front_size(study: Study) -> int | str:
    """The progress line's front: :meth:`Study.pareto_front`'s size; a search run's study (:data:`FEASIBLE_ONLY`)
    counts only the trials meeting its constraints, as ``nasforge status`` does ("none feasible" while none
    does); a search job older than that rule, with none feasible, every least-violating trial (its front.json)."""
    front = study.pareto_front()
    if not study.user_attrs.get(FEASIBLE_ONLY):
        least = violation_of(study.told_score(front[0])) if front else 0.0
        if least > 0 and study.user_attrs.get("pipeline"):  # a search job older than that rule: as it retrains
            return sum(violation_of(study.told_score(t)) == least for t in study.ranked())
        return len(front)
    feasible = sum(violation_of(study.told_score(t)) == 0 for t in front)
    return feasible if feasible or not front else "none feasible"


def _check_failure_rate(study: Study, finished: int, failed: int, bound: float | None, minimum: int,
                        last: Trial) -> None:
    if bound is None or finished < minimum or failed / finished <= bound:
        return
    raise StudyAborted(f"study {study.name!r} aborted: {failed} of {finished} trials failed "
                       f"({failed / finished:.0%} > max_failure_rate {bound:.0%}); last error: "
                       f"{escaped(error_line(last)):.300}; to go on, resume with a higher bound or none: nasforge "
                       "resume --max-failure-rate RATE|none (Python: study.resume(evaluator, max_failure_rate=...))")


__all__ = ["StudyAborted", "process_gone", "run"]
