"""Keeping a Study's own running trials alive: a daemon thread that heartbeats them.

The optimize loop heartbeats the trials it runs. A trial asked by hand (``Study.ask``) and evaluated by the
caller is beaten by :class:`KeepAlive` while its Study object lives and is open, so that another process
re-queues it (``requeue_orphans``) only once this process dies or is paused, or the Study is closed: exactly
as for the loop's trials.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .study import Study

HEARTBEAT_INTERVAL = 10.0
"""Seconds between heartbeats of a Study's hand-asked trials (the default of ``optimize(heartbeat_interval=)``)."""


class KeepAlive:
    """Heartbeats ``study.own_running()`` every ``study.heartbeat_interval`` seconds from a daemon thread that
    :meth:`start` starts (if none runs) and that ends by itself once none of those trials is left, at
    :meth:`stop`, or once the Study object is gone (it holds the study weakly)."""

    def __init__(self, study: Study) -> None:
        self._study = weakref.ref(study)
        self._lock = threading.Lock()
        self._stop: threading.Event | None = None  # the running thread's; None while no thread runs
        self._held = False

    def start(self) -> None:
        """Make sure a thread beats (call it once a trial runs here); nothing while :meth:`held`."""
        with self._lock:
            study = self._study()
            if self._stop is None and study is not None and not self._held:
                self._stop = threading.Event()
                threading.Thread(target=self._run, args=(self._stop,), name=f"nasforge-keepalive {study.worker_id}",
                                 daemon=True).start()

    def stop(self) -> None:
        """Stop beating now (a later :meth:`start` starts again)."""
        with self._lock:
            if self._stop is not None:
                self._stop.set()
                self._stop = None

    @contextmanager
    def held(self) -> Iterator[None]:
        """No beats while the optimize loop runs (it heartbeats its trials itself, at its own interval); after
        it, a thread beats again if trials still run here."""
        with self._lock:
            self._held = True
        self.stop()
        try:
            yield
        finally:
            with self._lock:
                self._held = False
            study = self._study()
            if study is not None and study.own_running():
                self.start()

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self._interval()):
            study = self._study()
            if study is None:
                return
            with self._lock:  # decided under the lock: a start() after this sees the thread gone
                if stop.is_set():
                    return
                numbers = study.own_running()
                if not numbers:
                    self._stop = None
                    return
            try:
                study.heartbeat(numbers)
            except Exception:  # noqa: BLE001 - a missed beat is retried next interval
                pass
            del study  # held weakly between beats

    def _interval(self) -> float:
        study = self._study()
        return HEARTBEAT_INTERVAL if study is None else study.heartbeat_interval
