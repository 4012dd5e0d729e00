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
    """True if no live process ``pid`` exists on this machine: none at all, or a zombie (killed, not yet reaped by
    its parent, e.g. under ``timeout -s KILL`` or a container's init that reaps late). Another user's process
    counts as existing."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: another user's process, which may be a zombie too
        pass
    return _zombie(pid)


def _zombie(pid: int) -> bool:
    """Whether process ``pid`` has exited and only waits to be reaped (Linux: state Z or X in /proc/PID/stat);
    False where that cannot be read (another system, no /proc): the process then counts as live."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    state = stat[stat.rfind(b")") + 1:].split()[:1]  # the name in parentheses may hold spaces or ')'
    return state in ([b"Z"], [b"X"])


def is_orphan(trial: Any, now: float, stale_after: float = STALE_AFTER) -> bool:
    """Whether the RUNNING ``trial``'s worker is dead: its process on this machine is gone, or its heartbeat is
    older than ``stale_after`` seconds at ``now``."""
    return trial.state.value == "RUNNING" and (process_gone(trial.worker)
                                               or (trial.heartbeat or 0.0) < now - stale_after)
