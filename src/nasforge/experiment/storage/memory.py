"""Storage in this process's memory: fast, shared by the studies that hold the same object, gone at exit."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from ..trial import Trial, TrialState
from ...exceptions import StudyExistsError, StudyNotFoundError
from .base import (MakeTrial, Storage, StudyId, StudyRecord, StudySummary, check_name, checked_fields as _checked,
                   check_utf8_name, closed_error, deleted_error, finished_error, keep_target)


def _copy(t: Trial) -> Trial:
    """A copy that shares no mutable part with ``t`` (faster than dataclasses.replace)."""
    new = object.__new__(Trial)
    new.__dict__.update(t.__dict__)
    new.metrics, new.intermediate = dict(t.metrics), list(t.intermediate)
    new.fidelity = None if t.fidelity is None else dict(t.fidelity)
    new.user_attrs = copy.deepcopy(t.user_attrs) if t.user_attrs else {}  # most trials have none
    return new


class _Open:
    """The storage's lock, held while the storage is open (a StorageError once it is closed). A plain context manager:
    entered twice per trial, it costs less than a generator-based one."""

    __slots__ = ("_storage",)

    def __init__(self, storage: InMemoryStorage) -> None:
        self._storage = storage

    def __enter__(self) -> None:
        storage = self._storage
        storage._lock.acquire()
        if storage._closed:
            storage._lock.release()
            raise closed_error(storage.url)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._storage._lock.release()


class _Slot:
    def __init__(self, record: StudyRecord) -> None:
        self.record = record
        self.trials: list[Trial] = []
        self.events = 0


class InMemoryStorage(Storage):
    """Keeps studies in dictionaries. Trials are stored as copies, so the storage behaves like a
    database: a study sees its own objects, other readers see stored snapshots."""

    url = "memory"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._slots: dict[str, _Slot] = {}
        self._by_id: dict[int, _Slot] = {}
        self._next_id = 1
        self._closed = False

    def _open(self) -> _Open:
        """Hold the lock of a storage that is not closed (a StorageError once it is)."""
        return _Open(self)

    def close(self) -> None:
        with self._lock:
            self._closed = True

    def create_study(self, record: StudyRecord) -> StudyRecord:
        check_utf8_name(record.name)
        with self._open():
            if record.name in self._slots:
                raise StudyExistsError(f"study {record.name!r} already exists in {self.url}")
            record.id = StudyId(self._next_id, record.name, record.created_at)
            self._next_id += 1
            self._slots[record.name] = self._by_id[record.id] = _Slot(copy.deepcopy(record))
            return record

    def load_study(self, name: str) -> StudyRecord:
        check_utf8_name(name)
        with self._open():
            if name not in self._slots:
                raise StudyNotFoundError(f"no study {name!r} in {self.url}; studies: {sorted(self._slots)}",
                                         sorted(self._slots))
            return copy.deepcopy(self._slots[name].record)

    def list_studies(self) -> list[StudySummary]:
        with self._open():
            out = []
            for slot in self._slots.values():
                counts: dict[str, int] = {}
                for t in slot.trials:
                    counts[t.state.value] = counts.get(t.state.value, 0) + 1
                r = slot.record
                out.append(StudySummary(r.name, r.space, r.strategy, list(r.objectives), r.created_at, counts,
                                        list(r.directions)))
            return sorted(out, key=lambda s: s.created_at)

    def delete_study(self, name: str) -> None:
        check_utf8_name(name)
        with self._open():
            slot = self._slots.pop(name, None)
            if slot is None:
                raise StudyNotFoundError(f"no study {name!r} in {self.url}; studies: {sorted(self._slots)}",
                                         sorted(self._slots))
            del self._by_id[slot.record.id]

    def rename_study(self, old: str, new: str) -> None:
        check_utf8_name(old)
        check_name(new)
        with self._open():
            if old not in self._slots:
                raise StudyNotFoundError(f"no study {old!r} in {self.url}; studies: {sorted(self._slots)}",
                                         sorted(self._slots))
            if old == new:  # nothing to do, as in a SQL storage
                return
            if new in self._slots:
                raise StudyExistsError(f"study {new!r} already exists in {self.url}")
            slot = self._slots.pop(old)
            slot.record.name = new
            self._slots[new] = slot

    def _slot(self, study_id: int) -> _Slot:
        """The study ``study_id``; a StorageError when it was deleted."""
        slot = self._by_id.get(study_id)
        if slot is None:
            raise deleted_error(study_id, self.url)
        return slot

    def study(self, study_id: int) -> StudyRecord:
        with self._open():
            return copy.deepcopy(self._slot(study_id).record)

    def set_study_user_attrs(self, study_id: int, attrs: dict[str, Any]) -> dict[str, Any]:
        with self._open():
            stored = self._slot(study_id).record.user_attrs
            stored.update(copy.deepcopy(attrs))
            return copy.deepcopy(stored)

    def update_study(self, study_id: int, **fields: dict[str, Any]) -> None:
        with self._open():
            record = self._slot(study_id).record
            for key, value in _checked(fields).items():
                setattr(record, key, copy.deepcopy(value))

    def record_run_config(self, study_id: int, config: dict[str, Any]) -> dict[str, Any]:
        with self._open():
            record = self._slot(study_id).record
            record.run_config = keep_target(copy.deepcopy(config), record.run_config)
            return copy.deepcopy(record.run_config)

    def trials(self, study_id: int, since_event: int = -1) -> list[Trial]:
        with self._open():
            return [_copy(t) for t in self._slot(study_id).trials if t.event > since_event]

    def create_trial(self, study_id: int, since_event: int, make: MakeTrial) -> Trial:
        with self._open():
            slot = self._slot(study_id)
            changed = [_copy(t) for t in slot.trials if t.event > since_event] \
                if slot.events != since_event else []
            trial = make(len(slot.trials), slot.events + 1, changed)
            slot.events += 1
            trial.event = slot.events
            slot.trials.append(_copy(trial))
            return trial

    def finish_trial(self, study_id: int, trial: Trial, told: bool, retry: Trial | None = None) -> None:
        with self._open():
            slot = self._slot(study_id)
            stored = slot.trials[trial.number].state
            if stored.finished:
                raise finished_error(study_id, trial.number, stored.value, self.url)
            slot.events += 1
            trial.event = slot.events
            if told:
                trial.tell_seq = slot.events
            slot.trials[trial.number] = _copy(trial)
            if retry is not None:
                retry.number, retry.event = len(slot.trials), slot.events
                slot.trials.append(_copy(retry))

    def set_trial_user_attrs(self, study_id: int, number: int, attrs: dict[str, Any]) -> int:
        with self._open():
            slot = self._slot(study_id)
            slot.events += 1
            stored = slot.trials[number]
            stored.user_attrs.update(copy.deepcopy(attrs))
            stored.event = slot.events
            return slot.events

    def save_progress(self, study_id: int, trial: Trial) -> bool:
        with self._open():
            stored = self._slot(study_id).trials[trial.number]
            if stored.state != TrialState.RUNNING or stored.worker != trial.worker:
                return False
            stored.intermediate, stored.heartbeat = list(trial.intermediate), trial.heartbeat
            return True

    def claim_trial(self, study_id: int, number: int, worker: str) -> Trial | None:
        with self._open():
            slot = self._slot(study_id)
            stored = slot.trials[number]
            if stored.state != TrialState.WAITING:
                return None
            slot.events += 1
            now = time.time()
            stored.state, stored.worker, stored.heartbeat, stored.started_at = TrialState.RUNNING, worker, now, now
            stored.event = slot.events
            return _copy(stored)

    def heartbeat(self, study_id: int, numbers: Sequence[int]) -> None:
        with self._open():
            slot = self._by_id.get(study_id)
            if slot is None:
                return  # a deleted study's trials have no heartbeat to mark
            now, wanted = time.time(), set(numbers)
            for trial in slot.trials:
                if trial.number in wanted and trial.state == TrialState.RUNNING:  # as the SQL storage marks them
                    trial.heartbeat = now

    def requeue(self, study_id: int, numbers: Sequence[int] | None = None,
                stale_before: float | None = None, crashed: bool = True, worker: str | None = None) -> list[int]:
        with self._open():
            slot = self._slot(study_id)
            picked = [t for t in slot.trials if t.state == TrialState.RUNNING and
                      (numbers is None or t.number in numbers) and
                      (stale_before is None or (t.heartbeat or 0.0) < stale_before) and
                      (worker is None or t.worker == worker)]
            if picked:
                slot.events += 1
            for t in picked:
                t.state, t.worker, t.event, t.attempts = TrialState.WAITING, None, slot.events, t.attempts + crashed
            return [t.number for t in picked]
