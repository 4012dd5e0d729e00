"""Keeping a Study's own running trials alive: a daemon thread that heartbeats them.

The optimize loop heartbeats the trials it runs. A trial asked by hand (``Study.ask``) and evaluated by the
caller is beaten by :class:`KeepAlive` while its Study object lives and is open (also while the same Study
runs ``optimize``), so that another process re-queues it (``requeue_orphans``) only once this process dies or
is paused, or the Study is closed: exactly as for the loop's trials.
"""

from __future__ import annotations

import threading
import time
import warnings
import weakref
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .identity import STALE_AFTER

if TYPE_CHECKING:
    from .study import Study

HEARTBEAT_INTERVAL = 10.0
"""Seconds between heartbeats of a Study's hand-asked trials (the default of ``optimize(heartbeat_interval=)``)."""

_LIVE: weakref.WeakSet[KeepAlive] = weakref.WeakSet()


class MissedBeats:
    """Counts failed heartbeats (each is retried at the next interval) and warns once per streak when they have
    failed for half of ``stale_after``: other processes would soon re-queue the trials as orphans."""

    def __init__(self, stale_after: float = STALE_AFTER) -> None:
        self.stale_after = stale_after
        self._since: float | None = None
        self._warned = False

    def beat(self, study: Study, numbers: Collection[int]) -> None:
        """Heartbeat ``numbers`` of ``study``; a failure is counted, never raised."""
        try:
            study.heartbeat(list(numbers))
        except Exception as exc:  # noqa: BLE001 - a missed beat is retried next interval
            now = time.monotonic()
            self._since = now if self._since is None else self._since
            if not self._warned and now - self._since >= self.stale_after / 2:
                self._warned = True
                warnings.warn(f"study {study.name!r}: heartbeats of its running trials {sorted(numbers)} have failed "
                              f"for {now - self._since:.0f} s ({type(exc).__name__}: {exc}); after "
                              f"{self.stale_after:g} s other processes sharing the storage re-queue them",
                              RuntimeWarning, stacklevel=2)
            return
        self._since, self._warned = None, False


def stop_all(timeout: float = 1.0) -> None:
    """Stop every keep-alive thread of this process and wait up to ``timeout`` s for a beat in progress: at exit,
    before the storages close their connections (a beat after that would open one that nothing closes)."""
    for keepalive in list(_LIVE):
        keepalive.stop(wait=timeout)


class KeepAlive:
    """Heartbeats ``study.own_running()`` every ``study.heartbeat_interval`` seconds from a daemon thread that
    :meth:`start` starts (if none runs) and that ends by itself once none of those trials is left, at
    :meth:`stop`, or once the Study object is gone (it holds the study weakly)."""

    def __init__(self, study: Study) -> None:
        self._study = weakref.ref(study)
        self._lock = threading.Lock()
        self._stop: threading.Event | None = None  # the running thread's; None while no thread runs
        self._thread: threading.Thread | None = None
        self._excluded: Collection[int] = ()
        self._missed = MissedBeats()
        _LIVE.add(self)

    def start(self) -> None:
        """Make sure a thread beats (call it once a trial runs here)."""
        with self._lock:
            study = self._study()
            if self._stop is None and study is not None:
                self._stop = threading.Event()
                self._thread = threading.Thread(target=self._run, args=(self._stop,),
                                                name=f"nasforge-keepalive {study.worker_id}", daemon=True)
                self._thread.start()

    def stop(self, wait: float = 0.0) -> None:
        """Stop beating now (a later :meth:`start` starts again); ``wait``: seconds to wait for a beat in
        progress to end."""
        with self._lock:
            thread = self._thread
            if self._stop is not None:
                self._stop.set()
                self._stop = None
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join(wait)

    @contextmanager
    def excluding(self, numbers: Collection[int]) -> Iterator[None]:
        """While the optimize loop runs: beat only the trials not in ``numbers`` (the loop's own, which it
        heartbeats itself, at its own interval), i.e. those asked by hand."""
        self._excluded = numbers
        try:
            yield
        finally:
            self._excluded = ()

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
            numbers = [n for n in numbers if n not in self._excluded]
            if numbers:
                self._missed.beat(study, numbers)
            del study  # held weakly between beats

    def _interval(self) -> float:
        study = self._study()
        return HEARTBEAT_INTERVAL if study is None else study.heartbeat_interval
