"""Run each evaluation in the calling thread (no parallelism, no isolation)."""

from __future__ import annotations

from collections import deque
from typing import Any

from ...evaluators.base import Result
from ..reporting import Reporter, run_evaluation
from .base import DecideFn, Executor, Task


class InlineExecutor(Executor):
    """Evaluates one task per ``poll``, synchronously. ``catch=False`` lets evaluator exceptions
    propagate instead of becoming FAILED trials (useful when debugging an evaluator)."""

    n_workers = 1

    def __init__(self, catch: bool = True) -> None:
        self.catch = catch
        self._queue: deque[Task] = deque()

    def start(self, evaluator: Any, decide: DecideFn) -> None:
        self._evaluator, self._decide = evaluator, decide

    def submit(self, task: Task) -> None:
        self._queue.append(task)

    def free_slots(self) -> int:
        return 1 - len(self._queue)  # the next poll runs one task

    def poll(self, timeout: float) -> list[tuple[int, Result]]:
        if not self._queue:
            return []
        task = self._queue.popleft()
        reporter = Reporter(lambda step, value: self._decide(task.number, step, value))
        return [(task.number, run_evaluation(self._evaluator, task.arch, task.fidelity, reporter, catch=self.catch,
                                              objectives=task.objectives))]

    def shutdown(self) -> None:
        self._queue.clear()
