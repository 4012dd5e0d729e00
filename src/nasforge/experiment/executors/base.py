"""The executor interface: run evaluations somewhere and hand back their results."""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...evaluators.base import Result
from ...exceptions import NasforgeError, UsageError
from ...registry import Registry
from ...settings import keyword_names
from ...spaces import Architecture

class WorkerStartError(NasforgeError, RuntimeError):
    """An executor's workers could not be started: they died while starting, or did not start in time (a
    ``RuntimeError``, as it was)."""


DecideFn = Callable[[int, int, float], bool]
"""The driver's answer to a report: (trial number, step, value) -> stop the trial now?"""

THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclass(frozen=True)
class Task:
    """One evaluation to run; ``objectives`` (the study's) name the values of a plain number or tuple
    returned by the evaluator."""

    number: int
    arch: Architecture
    fidelity: dict[str, Any] | None = None
    objectives: tuple[str, ...] = ()


class Executor(ABC):
    """Runs tasks, at most ``n_workers`` at a time; extra submitted tasks wait in order.

    ``poll`` returns finished ``(number, Result)`` pairs; a task that raised, timed out or whose
    worker died comes back as a failed Result naming the cause. A Result's ``cost`` is the evaluator's
    own: a failure the executor makes itself (timeout, dead worker) reports none (0), like an evaluator
    that raised; a trial's wall time is its ``finished_at - started_at``. Reports from running evaluations
    are answered through the ``decide`` function given to ``start``.
    """

    n_workers: int

    @abstractmethod
    def start(self, evaluator: Any, decide: DecideFn) -> None:
        """Prepare workers for ``evaluator``."""

    @abstractmethod
    def submit(self, task: Task) -> None:
        """Queue a task."""

    def free_slots(self) -> int:
        """How many more tasks a ``submit`` would start now rather than queue; the engine submits no more, so
        that a trial is marked RUNNING only once it runs. An executor that cannot tell takes every task as
        started (the default)."""
        return sys.maxsize

    @abstractmethod
    def poll(self, timeout: float) -> list[tuple[int, Result]]:
        """Wait up to ``timeout`` seconds for results (returns early when one is ready)."""

    @abstractmethod
    def shutdown(self) -> None:
        """Stop all workers; unfinished tasks are abandoned."""


def _inline(n_workers: int = 1, trial_timeout: float | None = None, **kwargs: Any) -> Executor:
    from .inline import InlineExecutor

    if n_workers != 1:
        raise UsageError(f"the inline executor runs one trial at a time in this process, so n_workers={n_workers} "
                         "needs executor='process' or 'ray' (nasforge resume: --executor process)")
    if trial_timeout is not None:
        raise UsageError("the inline executor cannot time out a trial running in this process, so trial_timeout "
                         "needs executor='process' or 'ray' (nasforge resume: --executor process)")
    return InlineExecutor(**kwargs)


def _process(n_workers: int = 1, trial_timeout: float | None = None, **kwargs: Any) -> Executor:
    from .process import ProcessExecutor

    return ProcessExecutor(n_workers, trial_timeout=trial_timeout, **kwargs)


def _ray(n_workers: int = 1, trial_timeout: float | None = None, **kwargs: Any) -> Executor:
    from ...extras import check_installed
    from .ray import RayExecutor

    check_installed(("ray",), "the ray executor")  # now, before the study starts
    return RayExecutor(n_workers, trial_timeout=trial_timeout, **kwargs)


EXECUTORS: Registry[Callable[..., Executor]] = Registry("executor")
"""Executor factories ``f(n_workers, trial_timeout, **executor_options)`` by name; register your own."""
EXECUTORS.register("inline", _inline, parallel=False, builtin=True)
EXECUTORS.register("process", _process, parallel=True, builtin=True)
EXECUTORS.register("ray", _ray, parallel=True, distributed=True, builtin=True)


def option_names(name: str) -> set[str] | None:
    """The ``executor_options`` the executor ``name`` takes; None when its factory takes any (``**kwargs``)."""
    from .inline import InlineExecutor
    from .process import ProcessExecutor
    from .ray import RayExecutor

    factory = EXECUTORS.get(name)
    target = {_inline: InlineExecutor, _process: ProcessExecutor, _ray: RayExecutor}.get(factory, factory)
    names = keyword_names(target)
    return None if names is None else set(names) - {"n_workers", "trial_timeout"}


def carried_options(options: dict[str, Any] | None, name: str) -> tuple[dict[str, Any], list[str]]:
    """The recorded ``executor_options`` that executor ``name`` takes, and the names of those it does not."""
    accepted = option_names(name)
    kept = {k: v for k, v in (options or {}).items() if accepted is None or k in accepted}
    return kept, sorted(set(options or {}) - set(kept))


STORED_OPTIONS: dict[str, frozenset[str]] = {
    "inline": frozenset({"catch"}), "process": frozenset({"threads_per_worker", "start_method"}),
    "ray": frozenset({"cpus_per_trial", "gpus_per_trial"})}
"""Per executor of nasforge's own: the ``executor_options`` a resume takes from a stored study. The others (the ray
executor's ``address``, where the evaluator and its data are sent, and ``init_kwargs``, whose ``runtime_env`` runs
code) are used only when the user passes them again: a database is data, not code. An executor a program registers
takes its recorded options (its factory is that program's own code), also one it registers under one of these names
(``replace=True``)."""


def check_stored_options(study: str, name: str, options: dict[str, Any] | None) -> None:
    """Refuse ``options`` recorded in study ``study`` for executor ``name`` that a resume does not take from a database
    (:data:`STORED_OPTIONS`): a :class:`UsageError` naming them and how to pass them again."""
    allowed = STORED_OPTIONS.get(name) if isinstance(name, str) else None
    if allowed is None or EXECUTORS.get(name) not in (_inline, _process, _ray) or not isinstance(options, dict):
        return  # a program's own executor (also one registered under a name of nasforge's), or a bad setting
    refused = sorted(set(options) - allowed)
    if refused:
        raise UsageError(f"study {study!r} recorded the {name} executor option(s) {', '.join(refused)}, and a resume "
                         "does not take them from a database (they can run code or send the trials elsewhere); if you "
                         "trust them, pass them yourself: nasforge resume --executor-options JSON, or "
                         f"Study.load({study!r}, storage).resume(evaluator, executor_options={{...}}); or resume on "
                         "this machine: nasforge resume --executor process")


def get_executor(name: str, n_workers: int = 1, trial_timeout: float | None = None, **kwargs: Any) -> Executor:
    """Build an executor by name: "inline", "process", "ray" or one registered in :data:`EXECUTORS`; an option
    it does not take is a UsageError naming the ones it does."""
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise UsageError(f"n_workers must be an integer >= 1, got {n_workers!r}")
    if trial_timeout is not None and not trial_timeout > 0:
        raise UsageError(f"trial_timeout must be positive, got {trial_timeout}")
    check_option_names(name, kwargs)
    return EXECUTORS.get(name)(n_workers=n_workers, trial_timeout=trial_timeout, **kwargs)


def check_option_names(name: str, options: dict[str, Any]) -> None:
    """Refuse ``options`` the executor ``name`` does not take: a UsageError naming the ones it does."""
    if not isinstance(name, str):
        raise UsageError(f"executor must be a name, got {type(name).__name__}")
    accepted = option_names(name)
    unknown = sorted(set(options) - accepted) if accepted is not None else []
    if unknown:
        takes = ", ".join(sorted(accepted - {"catch"})) or "none"
        raise UsageError(f"executor {name!r} takes no option {', '.join(map(repr, unknown))} "
                         f"(its executor_options: {takes})")
