"""Run evaluations as Ray tasks: a local Ray instance (``ray.init()``) or a cluster (``address=``)."""

from __future__ import annotations

import json
import logging
import math
import os
import re
import signal
import socket
import sys
import time
import uuid
import warnings
from collections import deque
from typing import Any

from ...checks import check_real
from ...evaluators.base import Result
from ...exceptions import UsageError
from .._results import checked_result
from ..reporting import Reporter, accepts_reporter
from .base import THREAD_ENV, DecideFn, Executor, Task
from .process import worker_result

CAPACITY_REFRESH = 5.0
"""Seconds between two reads of the cluster's nodes (which an autoscaler may add) for :meth:`RayExecutor.free_slots`."""
GCS_CONNECT_TIMEOUT = 5.0
"""Seconds a ``host:port`` Ray address gets to accept a TCP connection before its cluster counts as down (ray.init
itself retries such an address for minutes)."""


def _remote_types() -> tuple[Any, Any]:
    """The Ray task and mailbox actor, defined on first use so that ``ray`` is imported lazily."""
    import ray

    # Ray restarts it where its worker dies (a restart loses what it held, which ``drain`` tells by a new
    # incarnation) and sends calls made meanwhile to the new one; no CPU: it must restart while tasks fill the nodes
    @ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)
    class Mailbox:
        """Carries reports from tasks to the driver and the driver's answers back."""

        def __init__(self) -> None:
            self.incarnation = uuid.uuid4().hex
            self.started: list[int] = []
            self.reports: list[tuple[int, int, float]] = []
            self.answers: dict[tuple[int, int], bool] = {}

        def start(self, number: int) -> None:
            self.started.append(number)

        def post(self, number: int, step: int, value: float) -> None:
            self.reports.append((number, step, value))

        def drain(self) -> tuple[str, list[int], list[tuple[int, int, float]]]:
            started, reports, self.started, self.reports = self.started, self.reports, [], []
            return self.incarnation, started, reports

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
        # checked here, as a worker process does: what Ray cannot pickle fails as an invalid result
        return checked_result(worker_result(evaluator, task, reporter), task.objectives, need_objectives=False)

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


def _gcs_endpoint(address: str) -> tuple[str, int] | None:
    """The host and port of a plain ``host:port`` Ray address (a cluster's GCS, as ``ray start --head`` prints it;
    an IPv6 host in brackets); None for ``auto``, ``local``, ``ray://...`` and the like, which ray.init checks."""
    match = re.fullmatch(r"(?:\[([0-9A-Fa-f:.]+)\]|([^:/\[\]\s]+)):([0-9]{1,5})", address.strip())
    return None if match is None else (match[1] or match[2], int(match[3]))


def _one_line(exc: BaseException) -> str:
    """An exception's text on one line."""
    return " ".join(str(exc).split())


def _capacity(cpus: float, gpus: float) -> int:
    """How many tasks of ``cpus`` CPUs and ``gpus`` GPUs the alive Ray nodes can run at once (each on one node)."""
    import ray

    total = 0
    for node in ray.nodes():
        if node.get("Alive"):
            have = node.get("Resources", {})
            fits = math.floor(have.get("CPU", 0.0) / cpus + 1e-9)
            if gpus > 0:
                fits = min(fits, math.floor(have.get("GPU", 0.0) / gpus + 1e-9))
            total += fits
    return total


def _most(resource: str) -> float:
    """The most of ``resource`` ("CPU", "GPU") that one alive Ray node has."""
    import ray

    return max((n.get("Resources", {}).get(resource, 0.0) for n in ray.nodes() if n.get("Alive")), default=0.0)


_ours: tuple[str, str] | None = None
"""The settings (``address`` and ``init_kwargs``, as JSON) and the driver's node id of the Ray instance a
RayExecutor started and left up for the next run in this process."""


def _settings_key(address: str | None, init_kwargs: dict[str, Any]) -> str:
    return json.dumps([address, init_kwargs], sort_keys=True, default=repr)


def _running_settings() -> str | None:
    """The settings of the Ray instance up in this process if a RayExecutor started it, else None (none is up, or
    the user started it)."""
    import ray

    if not ray.is_initialized() or _ours is None:
        return None
    settings, node = _ours
    return settings if ray.get_runtime_context().get_node_id() == node else None


class RayExecutor(Executor):
    """At most ``n_workers`` Ray tasks in flight, each with ``cpus_per_trial`` CPUs (and
    ``gpus_per_trial`` GPUs), and no more than the Ray nodes can run at once. Joins the cluster at
    ``address`` or starts a local instance (left up for the next run with the same settings); extra ``ray.init``
    keyword arguments go in ``init_kwargs``. Tasks are never retried by Ray itself: a crashed worker
    fails its trial ("worker died"), and the study's ``max_retries`` decides."""

    def __init__(self, n_workers: int, trial_timeout: float | None = None, address: str | None = None,
                 cpus_per_trial: float = 1.0, gpus_per_trial: float = 0.0,
                 init_kwargs: dict[str, Any] | None = None) -> None:
        check_real("executor option cpus_per_trial", cpus_per_trial, lambda v: v > 0, "a positive number")
        check_real("executor option gpus_per_trial", gpus_per_trial, lambda v: v >= 0, "a number >= 0")
        if address is not None and not isinstance(address, str):
            raise UsageError(f"executor option address must be a string such as 'auto', got {address!r}")
        if init_kwargs is not None and not isinstance(init_kwargs, dict):
            raise UsageError(f"executor option init_kwargs must be a dict of ray.init arguments, got {init_kwargs!r}")
        if init_kwargs is not None and "address" in init_kwargs:
            raise UsageError("executor option init_kwargs must not hold 'address': give it as the executor option "
                             f"address (executor_options={{'address': {init_kwargs['address']!r}}})")
        self.n_workers = n_workers
        self.trial_timeout = trial_timeout
        if isinstance(address, str) and not address.strip():
            raise UsageError("executor option address is blank: give the cluster's address (host:port, 'auto' or "
                             "ray://...), or leave it out for a Ray instance on this machine")
        self.address = address.strip() if isinstance(address, str) else address  # as ray.init and the check read it
        self.cpus_per_trial, self.gpus_per_trial = cpus_per_trial, gpus_per_trial
        self.init_kwargs = init_kwargs or {}
        self._queue: deque[Task] = deque()
        self._running: dict[Any, Task] = {}
        self._started: dict[int, float] = {}  # trial number -> when its task began running
        self._mailbox: Any = None
        self._mailbox_type: Any = None  # the Mailbox actor class, made by start
        self._incarnation = ""  # the mailbox's, as its first drain gave it
        self._reporting = False  # whether tasks report to the driver and wait for its answers
        self._sigterm: Any = None  # the SIGTERM handler before ray.init replaced it
        self._slots, self._slots_read = n_workers, 0.0

    def start(self, evaluator: Any, decide: DecideFn) -> None:
        import ray

        global _ours
        wanted, running = _settings_key(self.address, self.init_kwargs), _running_settings()
        if running is not None and running != wanted:  # left up by an earlier run, with other settings
            ray.shutdown()
            running = None
        if not ray.is_initialized():
            self._init_ray()
            _ours = wanted, ray.get_runtime_context().get_node_id()
        elif running is None:  # the user's own Ray
            given = [name for name, value in (("address", self.address), ("init_kwargs", self.init_kwargs)) if value]
            if given:
                raise UsageError(f"Ray is already initialised in this process, so executor option "
                                 f"{' and '.join(given)} would be ignored: call ray.shutdown() first, or leave "
                                 f"{'it' if len(given) == 1 else 'them'} out to use the running Ray")
        try:
            self._check_resources()
        except UsageError:
            self.shutdown()
            if _running_settings() is not None:  # a Ray started for settings that cannot run a trial is not kept
                ray.shutdown()
            raise
        evaluate, self._mailbox_type = _remote_types()
        self._evaluate = evaluate.options(num_cpus=self.cpus_per_trial, num_gpus=self.gpus_per_trial)
        self._mailbox = None
        self._reporting = accepts_reporter(getattr(evaluator, "evaluate", evaluator))
        if self.trial_timeout is not None or self._reporting:  # only tasks that report or can time out need one
            self._new_mailbox()
        self._evaluator = ray.put(evaluator)
        self._decide = decide
        self._threads = max(1, int(self.cpus_per_trial))

    def _new_mailbox(self) -> None:
        """Start the mailbox and wait until it is up."""
        import ray

        self._mailbox = self._mailbox_type.remote()
        self._incarnation = ray.get(self._mailbox.drain.remote())[0]

    def _init_ray(self) -> None:
        """``ray.init`` with this executor's settings, keeping a SIGTERM handler set before it (the command line's
        clean stop, a script's own): ray.init replaces it with one that calls ``sys.exit``."""
        import ray

        kwargs = dict(self.init_kwargs)
        if self.address is None:  # a local instance imports what this process can import
            path = os.pathsep.join(p for p in sys.path if p)
            kwargs.setdefault("runtime_env", {"env_vars": {"PYTHONPATH": path}})
        try:
            self._sigterm = signal.getsignal(signal.SIGTERM)
        except ValueError:  # not the main thread: ray.init sets no handler either
            self._sigterm = None
        kwargs.setdefault("include_dashboard", False)  # the user's init_kwargs win (log_to_driver=True: prints)
        kwargs.setdefault("log_to_driver", False)
        kwargs.setdefault("logging_level", logging.ERROR)  # Ray's own INFO/WARNING lines on stderr
        self._check_reachable()
        try:
            ray.init(address=self.address, **kwargs)
        except ConnectionError as exc:  # no Ray instance there: a cluster that is down
            raise self._unreachable(_one_line(exc)) from exc
        except (TypeError, ValueError, RuntimeError, AssertionError) as exc:
            options = (("address", self.address), ("init_kwargs", self.init_kwargs))
            given = [f"executor option {name}={value!r}" for name, value in options if value]
            if self.address is None and os.environ.get("RAY_ADDRESS"):  # the address ray.init read instead
                given.append(f"RAY_ADDRESS={os.environ['RAY_ADDRESS']!r}")
            if not given:  # nothing of the user's to name: a failure of Ray itself
                raise
            raise UsageError(f"{' and '.join(given)} {'was' if len(given) == 1 else 'were'} refused by ray.init: "
                             f"{type(exc).__name__}: {_one_line(exc)}") from exc
        self._restore_sigterm()

    def _check_reachable(self) -> None:
        """Refuse a plain ``host:port`` address (the option's, else ``RAY_ADDRESS``, which ``"auto"`` reads too) that
        accepts no TCP connection within :data:`GCS_CONNECT_TIMEOUT`: ray.init would wait minutes for such a
        cluster."""
        environment = os.environ.get("RAY_ADDRESS", "")
        if self._reads_environment() and environment != environment.strip():
            raise self._unreachable("RAY_ADDRESS has spaces around it, which ray.init does not take off: set it "
                                    "without them")
        endpoint = _gcs_endpoint(environment if self._reads_environment() else self.address)
        if endpoint is None:
            return
        host, port = endpoint
        shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            socket.create_connection((host, port), timeout=GCS_CONNECT_TIMEOUT).close()
        except TimeoutError as exc:
            raise self._unreachable(f"no TCP connection to {shown} within {GCS_CONNECT_TIMEOUT:g} s") from exc
        except OSError as exc:  # refused, an unknown host, no route
            raise self._unreachable(f"no TCP connection to {shown}: {_one_line(exc)}") from exc

    def _reads_environment(self) -> bool:
        """Whether ray.init takes the cluster's address from ``RAY_ADDRESS``: no address option, or ``"auto"``."""
        return self.address is None or (self.address == "auto" and bool(os.environ.get("RAY_ADDRESS")))

    def _unreachable(self, reason: str) -> UsageError:
        """The error of an address (the option's, else ``RAY_ADDRESS``) where no Ray instance answers."""
        where = f"RAY_ADDRESS={os.environ.get('RAY_ADDRESS')!r}"
        if self.address is not None:
            where = f"executor option address={self.address!r}" + (f" ({where})" if self._reads_environment() else "")
        return UsageError(f"cannot reach the Ray cluster at {where} ({reason}): start it, or run on this machine with "
                          "executor='process' (nasforge resume --executor process)")

    def _restore_sigterm(self) -> None:
        """Put back the SIGTERM handler from before ray.init; Python's default stays replaced by Ray's handler, set
        again over Ray's low-level one: it ends a script through ``sys.exit``, a clean stop that also stops Ray,
        where the default would leave Ray's helper processes running."""
        if self._sigterm is None:
            return
        handler = self._sigterm if self._sigterm != signal.SIG_DFL else signal.getsignal(signal.SIGTERM)
        try:
            signal.signal(signal.SIGTERM, handler)
        except (ValueError, TypeError):  # not the main thread; a handler not set from Python
            pass

    def _check_resources(self) -> None:
        """Refuse, before any trial starts, a trial that no Ray node can ever run (a local instance), or warn
        (a cluster, which an autoscaler may grow): Ray would wait for such a node forever."""
        self._slots = self._capacity()
        if self._slots > 0:
            return
        need = [(name, per_trial, resource) for name, per_trial, resource in
                (("cpus_per_trial", self.cpus_per_trial, "CPU"), ("gpus_per_trial", self.gpus_per_trial, "GPU"))
                if per_trial > _most(resource)]
        name, per_trial, resource = need[-1] if need else ("cpus_per_trial", self.cpus_per_trial, "CPU")
        message = (f"executor option {name}={per_trial:g} asks for more {resource}s than any Ray node has "
                   f"(at most {_most(resource):g})")
        if _running_settings() is not None and self.address is None:
            raise UsageError(f"{message}: lower it, or give the local instance more in init_kwargs "
                             f"(e.g. {{'num_{resource.lower()}s': {math.ceil(per_trial)}}})")
        warnings.warn(f"{message}: no trial starts until a node with enough joins the cluster", stacklevel=2)
        self._slots = 1

    def _capacity(self) -> int:
        """At most ``n_workers``: how many trials the Ray nodes can run at once."""
        self._slots_read = time.monotonic()
        return min(self.n_workers, _capacity(self.cpus_per_trial, self.gpus_per_trial))

    def submit(self, task: Task) -> None:
        self._queue.append(task)
        self._dispatch()

    def _dispatch(self) -> None:
        while self._queue and len(self._running) < self._slots:
            task = self._queue.popleft()
            self._running[self._evaluate.remote(self._evaluator, task, self._mailbox, self._threads)] = task

    def free_slots(self) -> int:
        """Tasks that Ray can start now: what the nodes hold (as read at most every few seconds), less those in
        flight; tasks of other Ray jobs on the same nodes are not counted."""
        if time.monotonic() - self._slots_read >= CAPACITY_REFRESH:
            self._slots = max(1, self._capacity())
        return self._slots - len(self._running) - len(self._queue)

    def poll(self, timeout: float) -> list[tuple[int, Result]]:
        import ray

        done: list[tuple[int, Result]] = []
        end = time.monotonic() + timeout
        while not done and self._running:
            done.extend(self._answer_reports())
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

    def _answer_reports(self) -> list[tuple[int, Result]]:
        """Note the tasks that began running and answer their reports; the trials that a lost mailbox failed."""
        import ray

        if self._mailbox is None:
            return []
        try:
            incarnation, started, reports = ray.get(self._mailbox.drain.remote())
        except ray.exceptions.RayActorError:  # gone for good, not restarted: a new one for the tasks to come
            self._new_mailbox()
            return self._mailbox_lost()
        failed = self._mailbox_lost() if incarnation != self._incarnation else []
        self._incarnation = incarnation
        for number in started:
            self._started[number] = time.monotonic()
        failed_now = {number for number, _ in failed}  # their tasks' last reports, sent again, are not stored
        for number, step, value in reports:
            if number not in failed_now:
                self._mailbox.answer.remote(number, step, self._decide(number, step, value))
        return failed

    def _mailbox_lost(self) -> list[tuple[int, Result]]:
        """After the mailbox's worker died: its reports and answers are gone, so the running tasks of an evaluator
        that reports, which could wait for an answer forever, are cancelled and fail; other tasks go on, those
        whose start it had not passed on yet timed from now."""
        import ray

        if not self._reporting:
            now = time.monotonic()
            for task in self._running.values():
                self._started.setdefault(task.number, now)
            return []
        failed = []
        for ref, task in self._running.items():
            ray.cancel(ref, force=True)
            self._started.pop(task.number, None)
            failed.append((task.number, Result.failed("worker died (Ray mailbox actor lost)")))
        self._running = {}
        return failed

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
        """Cancel the tasks in flight and stop the mailbox; Ray stays up for the next run with its settings (its
        exit handler stops it). Ray is touched only where tasks or a mailbox show that ``start`` got it: a start
        interrupted while importing Ray (Ctrl-C) leaves nothing to stop, and importing it again would fail."""
        if self._running or self._mailbox is not None:
            import ray

            for ref in self._running:
                ray.cancel(ref, force=True)
            if self._mailbox is not None:
                ray.kill(self._mailbox)
        self._running, self._queue, self._started, self._mailbox = {}, deque(), {}, None
        self._restore_sigterm()
