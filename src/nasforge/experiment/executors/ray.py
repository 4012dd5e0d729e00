"""Run evaluations as Ray tasks: a local Ray instance (``ray.init()``) or a cluster (``address=``)."""

from __future__ import annotations

import os
import re
import sys
import time
from collections import deque
from typing import Any

from ...checks import check_real
from ...evaluators.base import Result
from ...exceptions import UsageError
from ..reporting import Reporter, accepts_reporter, run_evaluation
from .base import THREAD_ENV, DecideFn, Executor, Task


def _remote_types() -> tuple[Any, Any]:
    """The Ray task and mailbox actor, defined on first use so that ``ray`` is imported lazily."""
    import ray

    @ray.remote
    class Mailbox:
        """Carries reports from tasks to the driver and the driver's answers back."""

        def __init__(self) -> None:
            self.started: list[int] = []
            self.reports: list[tuple[int, int, float]] = []
            self.answers: dict[tuple[int, int], bool] = {}

        def start(self, number: int) -> None:
            self.started.append(number)

        def post(self, number: int, step: int, value: float) -> None:
            self.reports.append((number, step, value))

        def drain(self) -> tuple[list[int], list[tuple[int, int, float]]]:
            started, reports, self.started, self.reports = self.started, self.reports, [], []
            return started, reports

        def answer(self, number: int, step: int, stop: bool) -> None:
            self.answers[(number, step)] = stop

        def take(self, number: int, step: int) -> bool | None:
            return self.answers.pop((number, step), None)

    @ray.remote(max_retries=0)
    def evaluate(evaluator: Any, task: Task, mailbox: Any, threads: int) -> Result:
        if mailbox is not None:
            mailbox.start.remote(task.number)
        for name in THREAD_ENV:
            os.environ[name] = str(threads)
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(threads)

        def ask_driver(step: int, value: float) -> bool:
            mailbox.post.remote(task.number, step, value)
            while (stop := ray.get(mailbox.take.remote(task.number, step))) is None:
                time.sleep(0.005)
            return stop

        reporter = Reporter(ask_driver if mailbox is not None else None)
        return run_evaluation(evaluator, task.arch, task.fidelity, reporter, objectives=task.objectives)

    return evaluate, Mailbox


def _failure_text(exc: Exception) -> str:
    """What to store for a task that Ray could not finish."""
    import ray

    if isinstance(exc, (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                        ray.exceptions.OutOfMemoryError)):
        return f"worker died ({type(exc).__name__})"
    cause = getattr(exc, "cause", None) or exc
    lines = re.sub(r"\x1b\[[0-9;]*m", "", str(cause)).strip().splitlines()
    return f"ray task failed: {type(cause).__name__}: {lines[-1] if lines else ''}"


class RayExecutor(Executor):
    """At most ``n_workers`` Ray tasks in flight, each with ``cpus_per_trial`` CPUs (and
    ``gpus_per_trial`` GPUs). Joins the cluster at ``address`` or starts a local instance; extra
    ``ray.init`` keyword arguments go in ``init_kwargs``. Tasks are never retried by Ray itself: a
    crashed worker fails its trial ("worker died"), and the study's ``max_retries`` decides."""

    def __init__(self, n_workers: int, trial_timeout: float | None = None, address: str | None = None,
                 cpus_per_trial: float = 1.0, gpus_per_trial: float = 0.0,
                 init_kwargs: dict[str, Any] | None = None) -> None:
        check_real("executor option cpus_per_trial", cpus_per_trial, lambda v: v > 0, "a positive number")
        check_real("executor option gpus_per_trial", gpus_per_trial, lambda v: v >= 0, "a number >= 0")
        if address is not None and not isinstance(address, str):
            raise UsageError(f"executor option address must be a string such as 'auto', got {address!r}")
        if init_kwargs is not None and not isinstance(init_kwargs, dict):
            raise UsageError(f"executor option init_kwargs must be a dict of ray.init arguments, got {init_kwargs!r}")
        self.n_workers = n_workers
        self.trial_timeout = trial_timeout
        self.address = address
        self.cpus_per_trial, self.gpus_per_trial = cpus_per_trial, gpus_per_trial
        self.init_kwargs = init_kwargs or {}
        self._queue: deque[Task] = deque()
        self._running: dict[Any, Task] = {}
        self._started: dict[int, float] = {}  # trial number -> when its task began running
        self._mailbox: Any = None

    def start(self, evaluator: Any, decide: DecideFn) -> None:
        import ray

        if not ray.is_initialized():
            kwargs = dict(self.init_kwargs)
            if self.address is None:  # a local instance imports what this process can import
                path = os.pathsep.join(p for p in sys.path if p)
                kwargs.setdefault("runtime_env", {"env_vars": {"PYTHONPATH": path}})
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False, **kwargs)
        evaluate, mailbox = _remote_types()
        self._evaluate = evaluate.options(num_cpus=self.cpus_per_trial, num_gpus=self.gpus_per_trial)
        self._mailbox = None
        if self.trial_timeout is not None or accepts_reporter(getattr(evaluator, "evaluate", evaluator)):
            self._mailbox = mailbox.remote()  # only tasks that report or can time out need one
            ray.get(self._mailbox.drain.remote())  # wait until it is up
        self._evaluator = ray.put(evaluator)
        self._decide = decide
        self._threads = max(1, int(self.cpus_per_trial))

    def submit(self, task: Task) -> None:
        self._queue.append(task)
        self._dispatch()

    def _dispatch(self) -> None:
        while self._queue and len(self._running) < self.n_workers:
            task = self._queue.popleft()
            self._running[self._evaluate.remote(self._evaluator, task, self._mailbox, self._threads)] = task

    def free_slots(self) -> int:
        return self.n_workers - len(self._running) - len(self._queue)

    def poll(self, timeout: float) -> list[tuple[int, Result]]:
        import ray

        done: list[tuple[int, Result]] = []
        end = time.monotonic() + timeout
        while not done and self._running:
            self._answer_reports()
            ready, _ = ray.wait(list(self._running), num_returns=1, timeout=min(0.05, max(0.0, end - time.monotonic())))
            for ref in ready:
                task = self._running.pop(ref)
                self._started.pop(task.number, None)
                try:
                    done.append((task.number, ray.get(ref)))
                except ray.exceptions.RayError as exc:
                    done.append((task.number, Result.failed(_failure_text(exc))))
            done.extend(self._check_timeouts())
            if time.monotonic() >= end:
                break
        self._dispatch()
        return done

    def _answer_reports(self) -> None:
        import ray

        if self._mailbox is None:
            return
        started, reports = ray.get(self._mailbox.drain.remote())
        for number in started:
            self._started[number] = time.monotonic()
        for number, step, value in reports:
            self._mailbox.answer.remote(number, step, self._decide(number, step, value))

    def _check_timeouts(self) -> list[tuple[int, Result]]:
        import ray

        if self.trial_timeout is None:
            return []
        now, out = time.monotonic(), []
        for ref, task in list(self._running.items()):
            started = self._started.get(task.number)
            if started is not None and now - started >= self.trial_timeout:
                ray.cancel(ref, force=True)
                del self._running[ref], self._started[task.number]
                out.append((task.number, Result.failed(f"timed out after {self.trial_timeout:g} s (task cancelled)")))
        return out

    def shutdown(self) -> None:
        import ray

        for ref in self._running:
            ray.cancel(ref, force=True)
        self._running, self._queue, self._started = {}, deque(), {}
        if self._mailbox is not None:
            ray.kill(self._mailbox)
            self._mailbox = None
