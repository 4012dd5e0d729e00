"""Who runs a trial: worker identities that cannot collide between machines or containers.

A worker id is ``host:machine:pid:tag``. ``machine`` is a short hash of the kernel's boot id and
this process's PID namespace, so two containers with the same hostname (or one host before and
after a reboot) never take each other's process ids for their own; ``tag`` is random per study
object. Only a trial whose id names *this* machine and PID namespace can be declared dead by
looking up its pid; any other is judged by its heartbeat alone.
"""

from __future__ import annotations

import functools
import hashlib
import os
import socket
import uuid
from pathlib import Path
from typing import Any

STALE_AFTER = 60.0
"""Seconds without a heartbeat after which a RUNNING trial's worker counts as dead (the engine's default)."""


@functools.lru_cache(maxsize=1)
def machine_key() -> str:
    """12 hex digits naming this kernel boot and PID namespace (a random value where unknown)."""
    parts = []
    for reader in (lambda: Path("/proc/sys/kernel/random/boot_id").read_text().strip(),
                   lambda: os.readlink("/proc/self/ns/pid")):
        try:
            parts.append(reader())
        except OSError:
            parts.append(uuid.uuid4().hex)  # unknown: never matches another process's key
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:12]


def new_worker_id(pid: int | None = None) -> str:
    """A fresh id for a worker of this process (``pid`` for tests)."""
    host = socket.gethostname().replace(":", "_")
    return f"{host}:{machine_key()}:{os.getpid() if pid is None else pid}:{uuid.uuid4().hex[:8]}"


def process_gone(worker: str | None) -> bool:
    """True if ``worker`` names a process of this machine and PID namespace that no longer exists.
    False when that cannot be known (another machine or container, an id of an older format)."""
    if not worker or worker.count(":") < 3:
        return False
    _host, key, pid_text, _tag = worker.rsplit(":", 3)
    if key != machine_key() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    return pid_gone(int(pid_text))


def pid_gone(pid: int) -> bool:
    """True if no process ``pid`` exists on this machine (another user's process counts as existing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: another user's process
        return False
    return False


def is_orphan(trial: Any, now: float, stale_after: float = STALE_AFTER) -> bool:
    """Whether the RUNNING ``trial``'s worker is dead: its process on this machine is gone, or its heartbeat is
    older than ``stale_after`` seconds at ``now``."""
    return trial.state.value == "RUNNING" and (process_gone(trial.worker)
                                               or (trial.heartbeat or 0.0) < now - stale_after)
