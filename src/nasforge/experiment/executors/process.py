"""A pool of local worker processes that survives worker deaths (SIGKILL, segfault, out of memory)."""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import signal
import sys
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.reduction import ForkingPickler
from typing import Any

from ...checks import check_int
from ...evaluators.base import Result
from ...exceptions import UsageError
from .._results import checked_result
from .._guard import UNGUARDED_EXIT, UNGUARDED_MESSAGE
from ..reporting import Reporter, failed_result, run_evaluation
from .base import THREAD_ENV, DecideFn, Executor, Task, WorkerStartError


def _limit_threads(threads: int) -> None:
    """Keep math libraries (and torch, if loaded) to ``threads`` threads in this worker."""
    for name in THREAD_ENV:
        os.environ[name] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def _die_with_parent() -> None:
    """On Linux, have the kernel kill this worker when the driver dies (even by SIGKILL), so that no
    orphan keeps computing a result nobody will store."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass


def _own_group() -> None:
    """Lead a new process group (POSIX), so that a timeout kills the evaluator's own child processes too."""
    if hasattr(os, "setsid"):
        try:
            os.setsid()
        except OSError:
            pass


def _kill_group(process: Any) -> None:
    """SIGKILL the worker's process group (its evaluator's children included), or the worker alone."""
    if hasattr(os, "killpg") and process.pid is not None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
            return
        except OSError:  # no such group (already gone, or no group of its own)
            pass
    process.kill()


def _done_message(number: int, result: Result, objectives: tuple[str, ...]) -> bytes:
    """The pickled ``("done", number, result)`` message, pickled once (as ``Connection.send`` would); a result
    that cannot be pickled is sent as a FAILED result saying why (as the driver would)."""
    try:
        return ForkingPickler.dumps(("done", number, result))
    except Exception as exc:  # noqa: BLE001 - any pickling failure means the same
        checked = checked_result(result, objectives, need_objectives=False)
        if not (checked.status == "failed" and (checked.error or "").startswith("invalid result")):
            checked = Result.failed(f"invalid result: it cannot be sent from the worker process "
                                    f"({type(exc).__name__}: {exc})", cost=checked.cost)
        return ForkingPickler.dumps(("done", number, checked))


def worker_result(evaluator: Any, task: Task, reporter: Reporter) -> Result:
    """Evaluate ``task`` in a worker (a process or a Ray task): whatever the evaluator raises, even a
    KeyboardInterrupt of its own (Ctrl-C is the driver's to handle), fails only its trial, naming the cause."""
    try:
        return run_evaluation(evaluator, task.arch, task.fidelity, reporter, objectives=task.objectives)
    except BaseException as exc:  # noqa: BLE001 - in a worker it fails the trial, naming the cause
        return failed_result(exc)


def _worker_main(conn: Connection, threads: int) -> None:
    """Worker loop: receive the evaluator, then tasks; evaluate each (asking the driver at each
    report) and send the result. The evaluator comes through the pipe, not the process arguments:
    a large payload written while the child is still starting could block the driver forever."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle: it kills the workers
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # never ignored: an evaluator's subprocesses inherit it
    _own_group()  # a SIGTERM to the driver's group misses the workers; the driver kills them as it stops cleanly
    _die_with_parent()
    _limit_threads(threads)
    try:
        conn.send(("hello",))
        payload = conn.recv_bytes()
    except (EOFError, OSError):
        return
    try:
        evaluator = pickle.loads(payload)
    except Exception as exc:  # noqa: BLE001 - told to the driver, which stops the run
        conn.send(("unpicklable", f"{type(exc).__name__}: {exc}"))
        return

    def ask_driver(number: int, step: int, value: float) -> bool:
        conn.send(("report", number, step, value))
        return bool(conn.recv())

    try:
        conn.send(("ready",))
        while (task := conn.recv()) is not None:
            reporter = Reporter(lambda step, value, n=task.number: ask_driver(n, step, value))
            result = worker_result(evaluator, task, reporter)
            conn.send_bytes(_done_message(task.number, result, task.objectives))
    except (EOFError, OSError):  # the driver is gone
        return


@dataclass
class _Worker:
    process: Any
    conn: Connection
    task: Task | None = None
    started: float = 0.0
    ready: bool = False


def death_reason(exitcode: int | None) -> str:
    """Human text for how a worker process ended."""
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


@contextmanager
def _thread_env(threads: int):
    """Set the thread-count variables while a child is spawned (it inherits them from birth)."""
    saved = {name: os.environ.get(name) for name in THREAD_ENV}
    os.environ.update({name: str(threads) for name in THREAD_ENV})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class ProcessExecutor(Executor):
    """``n_workers`` processes, each evaluating one task at a time.

    ``threads_per_worker`` (default: CPU cores // n_workers, at least 1) caps OpenMP/MKL/torch
    threads in each worker so that N workers do not oversubscribe the machine. A worker that dies
    fails its trial with "worker died (...)" and is replaced; a task running longer than
    ``trial_timeout`` seconds is killed with its worker. ``start_method`` is "spawn" (default, safe
    with torch and threads) or "forkserver"/"fork". The evaluator is pickled once per worker.
    """

    max_startup_deaths = 3
    startup_timeout = 300.0

    def __init__(self, n_workers: int, trial_timeout: float | None = None, threads_per_worker: int | None = None,
                 start_method: str = "spawn") -> None:
        if threads_per_worker is not None:
            check_int("executor option threads_per_worker", threads_per_worker, 1)
        methods = mp.get_all_start_methods()
        if start_method not in methods:
            raise UsageError(f"executor option start_method must be one of {', '.join(methods)}, got {start_method!r}")
        self.n_workers = n_workers
        self.trial_timeout = trial_timeout
        self.threads = threads_per_worker or max(1, (os.cpu_count() or 1) // n_workers)
        self._ctx = mp.get_context(start_method)
        self._workers: list[_Worker] = []
        self._queue: deque[Task] = deque()
        self._startup_deaths = 0

    def start(self, evaluator: Any, decide: DecideFn) -> None:
        try:
            payload = pickle.dumps(evaluator)
        except Exception as exc:  # noqa: BLE001 - any pickling failure means the same to the user
            raise UsageError(f"the evaluator must be picklable to run in worker processes ({type(exc).__name__}: "
                             f"{exc}): define it at module level in an importable file (not a lambda or a nested "
                             "function), or use executor='inline'") from None
        self._check_main_importable()
        self._payload, self._decide = payload, decide
        self._workers = [self._spawn() for _ in range(self.n_workers)]
        deadline = time.monotonic() + self.startup_timeout
        while not all(w.ready for w in self._workers):  # so that trial times exclude worker start-up
            pending = [w for w in self._workers if not w.ready]
            ready = set(wait([w.conn for w in pending] + [w.process.sentinel for w in pending],
                             timeout=max(0.0, deadline - time.monotonic())))
            if not ready:
                self.shutdown()
                raise WorkerStartError(f"the worker processes did not start within {self.startup_timeout:g} s (the "
                                       "machine overloaded, or the evaluator slow to unpickle?)")
            for i, worker in enumerate(self._workers):
                if worker.conn in ready or worker.process.sentinel in ready:
                    self._receive(i)

    def _check_main_importable(self) -> None:
        """Refuse, before any worker starts, a main script the workers cannot re-run (one read from standard input):
        with 'spawn' or 'forkserver' each worker imports it by its file, and would die starting up."""
        main = sys.modules.get("__main__")
        path = getattr(main, "__file__", None)
        if getattr(getattr(main, "__spec__", None), "name", None) is not None:  # python -m, a zipapp: spawn
            return  # imports it by module name (or not at all), never by its file
        if self._ctx.get_start_method() == "fork" or not path or os.path.exists(path):
            return
        raise UsageError(f"the worker processes cannot re-run the main script {path!r} (it is no file, e.g. a script "
                         "read from standard input): define the evaluator at module level in an importable file and "
                         "run the script from a file, or use executor='inline'")

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(target=_worker_main, args=(child, self.threads),
                                    daemon=True, name="nasforge-worker")
        with _thread_env(self.threads):
            process.start()
        child.close()
        return _Worker(process, parent)

    def submit(self, task: Task) -> None:
        self._queue.append(task)
        self._dispatch()

    def _dispatch(self) -> None:
        for i, worker in enumerate(self._workers):
            if not self._queue:
                return
            if worker.task is None and worker.ready:  # a new worker first needs the evaluator
                task = self._queue.popleft()
                try:
                    worker.conn.send(task)
                except OSError:  # it died idle, unnoticed yet: the task goes back first in line, not failed
                    self._queue.appendleft(task)
                    self._replace(i)
                else:
                    worker.task, worker.started = task, time.monotonic()

    def free_slots(self) -> int:
        return sum(w.task is None for w in self._workers) - len(self._queue)  # a starting worker takes the next

    def poll(self, timeout: float) -> list[tuple[int, Result]]:
        done: list[tuple[int, Result]] = []
        end = time.monotonic() + timeout
        while not done:
            waits = [w.conn for w in self._workers] + [w.process.sentinel for w in self._workers]
            remaining = end - time.monotonic()
            if self.trial_timeout is not None:
                starts = [w.started for w in self._workers if w.task is not None]
                if starts:
                    remaining = min(remaining, min(starts) + self.trial_timeout - time.monotonic())
            ready = set(wait(waits, timeout=max(0.0, remaining)))
            for i, worker in enumerate(self._workers):
                if worker.conn in ready:
                    done.extend(self._receive(i))
                elif worker.process.sentinel in ready:
                    done.extend(self._replace(i))
            done.extend(self._check_timeouts())
            if time.monotonic() >= end:
                break
        self._dispatch()
        return done

    def _receive(self, i: int) -> list[tuple[int, Result]]:
        worker = self._workers[i]
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            return self._replace(i)
        if message[0] == "hello":
            try:
                worker.conn.send_bytes(self._payload)
            except OSError:
                return self._replace(i)
            return []
        if message[0] == "unpicklable":
            self.shutdown()
            raise UsageError(f"the worker processes cannot unpickle the evaluator ({message[1]}): define the "
                             "evaluator at module level in an importable file (not under if __name__ == "
                             "\"__main__\": or in a script read from standard input), or use executor='inline'")
        if message[0] == "ready":
            worker.ready = True
            self._dispatch()
            return []
        if message[0] == "report":
            _, number, step, value = message
            try:
                worker.conn.send(self._decide(number, step, value))
            except OSError:  # it died waiting for the answer: its trial fails as "worker died"
                return self._replace(i)
            return []
        _, number, result = message
        worker.task = None
        return [(number, result)]

    def _check_timeouts(self) -> list[tuple[int, Result]]:
        if self.trial_timeout is None:
            return []
        now, out = time.monotonic(), []
        for i, worker in enumerate(self._workers):
            if worker.task is not None and now - worker.started >= self.trial_timeout:
                _kill_group(worker.process)
                worker.process.join(5)
                out.extend(self._replace(i, f"timed out after {self.trial_timeout:g} s (worker killed)"))
        return out

    def _replace(self, i: int, reason: str | None = None) -> list[tuple[int, Result]]:
        """Fail the dead worker's task (if any) and start a new worker in its place."""
        worker = self._workers[i]
        worker.process.join(5)
        if worker.task is not None:  # the dead worker's evaluation may have left child processes
            _kill_group(worker.process)
        reason = reason or f"worker died ({death_reason(worker.process.exitcode)})"
        worker.conn.close()
        task = worker.task
        if not worker.ready:  # died while starting up: the task is not to blame
            if worker.process.exitcode == UNGUARDED_EXIT:
                self.shutdown()
                raise UsageError(UNGUARDED_MESSAGE)
            self._startup_deaths += 1
            if self._startup_deaths > self.max_startup_deaths:
                self.shutdown()
                raise WorkerStartError(f"{self._startup_deaths} worker processes died while starting, the last: "
                                       f"{reason}; check that the evaluator can be unpickled in a fresh process "
                                       "(with the default 'spawn' start method, a script must guard its code with "
                                       "if __name__ == '__main__')")
            if task is not None:
                self._queue.appendleft(task)
            task = None
        self._workers[i] = self._spawn()
        return [] if task is None else [(task.number, Result.failed(reason))]

    def shutdown(self) -> None:
        """Stop the workers (idle ones are asked to exit first) and kill their process groups: the processes
        their evaluators started end with the run."""
        for worker in self._workers:
            if worker.process.is_alive() and worker.task is None:
                try:
                    worker.conn.send(None)
                except OSError:
                    pass
        pending = list(self._workers)
        try:
            while pending:
                worker = pending[0]
                worker.process.join(1.0 if worker.task is None else 0)
                _kill_group(worker.process)  # what its evaluations started goes too, even once the worker exited
                pending.pop(0)
                worker.process.join(5)
                worker.conn.close()
        finally:  # a Ctrl-C during a join still kills the other groups: no evaluation's processes outlive the run
            for worker in pending:
                _kill_group(worker.process)
            self._workers, self._queue = [], deque()
