"""Where evaluations run: in this process, in a pool of worker processes, or on a Ray cluster."""

from .base import (EXECUTORS, Executor, Task, carried_options, check_option_names, check_stored_options, get_executor,
                   option_names)

__all__ = ["EXECUTORS", "Executor", "Task", "carried_options", "check_option_names", "check_stored_options",
           "get_executor", "option_names"]
