"""Holding off Ctrl-C while a run stops cleanly, so that a second press cannot leave its trials RUNNING."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

HELD = ("SIGINT", "SIGTERM")
"""Signals held off: Ctrl-C, and SIGTERM where a Python handler turns it into an exception (``nasforge``'s CLI)."""


class InterruptsHeld:
    """Within ``with``, Ctrl-C (SIGINT) and a SIGTERM whose handler is Python code are ignored in the main thread:
    a run that stops (its workers shut down, its trials put back to WAITING) is not cut short by a second press,
    which would leave its trials RUNNING, later counted as crashes. A signal whose handler is the system's own
    (SIGTERM by default: the process dies) is left as it is; elsewhere than the main thread nothing changes (no
    signal handler runs there). :meth:`lifted` gives the previous handlers back for a block that may be cut short."""

    def __init__(self) -> None:
        self.previous: dict[signal.Signals, object] = {}

    def __enter__(self) -> InterruptsHeld:
        if threading.current_thread() is threading.main_thread():
            for name in HELD:
                number = getattr(signal, name, None)
                handler = None if number is None else signal.getsignal(number)
                if callable(handler):
                    self.previous[number] = handler
        self._hold()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._restore()

    @contextmanager
    def lifted(self) -> Iterator[None]:
        """The previous handlers within the block (e.g. a wait that Ctrl-C may end), held off again after it."""
        self._restore()
        try:
            yield
        finally:
            self._hold()

    def _hold(self) -> None:
        for number in self.previous:
            signal.signal(number, signal.SIG_IGN)

    def _restore(self) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]
