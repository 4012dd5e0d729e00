"""Where evaluations run: in this process, in a pool of worker processes, or on a Ray cluster."""

from .base import EXECUTORS, Executor, Task, get_executor

__all__ = ["EXECUTORS", "Executor", "Task", "get_executor"]
