"""The storage interface: where studies and their trials live (in memory, SQLite, PostgreSQL).

A storage hands out trial numbers atomically and keeps a study-wide event counter: every change
that other processes must see (a new trial, a finished one, a re-queue) gets the next event
number, so a process can fetch exactly what changed since the last event it saw.
"""

from __future__ import annotations

import time
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...checks import is_number
from ...exceptions import StorageError, UsageError  # StorageError re-exported: it was defined here before
from ...settings import keyword_names, owned_by_nasforge
from ...spaces import Architecture, SearchSpace
from ..trial import Trial, TrialState

SCHEMA_VERSION = 2
"""2: trials gained ``user_attrs`` and ``tell_strategy`` (a version-1 database is upgraded in place)."""
STUDY_FIELDS = ("user_attrs", "strategy_state", "run_config")

class DamagedRowError(StorageError):
    """A stored study or trial row holds a value of the wrong kind; the message names the study (or trial) and the
    field."""


class StorageUnreachableError(StorageError):
    """The database server could not be reached (connection refused or lost): a later try may succeed."""


class WriteRightsError(StorageError):
    """A storage opened for writing whose database role may not write studies (it may still read them)."""


class FinishedTrialError(StorageError, UsageError):
    """``finish_trial`` found the trial already finished (COMPLETE, FAILED or PRUNED): another Study object or
    process stored its outcome first. Nothing was written; the stored outcome stays."""


MakeTrial = Callable[[int, int, list[Trial]], Trial]
"""Builds a new trial from (number, event, trials changed by others since the caller's last event)."""


ADDED_TRIALS = "_added_trials"
"""A run config key, never stored: the ``n_trials`` of an ``optimize(n_trials=...)`` call (see :func:`keep_target`)."""

RUN_N_TRIALS = "run_n_trials"
"""A run config key: the ``n_trials`` of the call that recorded it, None for an ``n_trials_total`` run or a resume."""


def valid_target(value: Any) -> bool:
    """Whether ``value`` is a run config's ``n_trials_total`` nasforge can read: a number not below 0 (an int; the
    first engine stored ``n_trials`` unchecked, so a float, inf or NaN may be stored: such studies load, and a resume
    refuses them in one line)."""
    return is_number(value) and not value < 0


def keep_target(config: dict[str, Any], stored: dict[str, Any] | None) -> dict[str, Any]:
    """``config`` with its ``n_trials_total`` raised to the ``stored`` run config's when that is higher: a run
    never lowers the target that another run (or the resume of an interrupted one) works towards. A config with
    :data:`ADDED_TRIALS` (the ``n_trials`` of a call beside another live run) raises it to the stored target plus
    those trials, so that the target counts what both runs still owe, unless the stored config is an
    ``n_trials_total`` run's (its :data:`RUN_N_TRIALS` is None): that run counts the new run's proposals too."""
    config = dict(config)
    added = config.pop(ADDED_TRIALS, 0)
    if stored and RUN_N_TRIALS in stored and not stored[RUN_N_TRIALS]:
        added = 0
    theirs = (stored or {}).get("n_trials_total")
    if isinstance(theirs, int) and not isinstance(theirs, bool) and theirs + added > (config.get("n_trials_total")
                                                                                   or 0):
        config["n_trials_total"] = theirs + added
    return config


class StudyId(int):
    """A study's id that remembers the name and creation time of the study it was handed out for.

    Storages give these out as ``StudyRecord.id``; a SQL storage checks the creation time on every read
    and write, so a process whose study was deleted never reads or writes a new study that got the same
    id (SQLite files created before ids were AUTOINCREMENT give a deleted study's id to the next one)."""

    name: str
    created_at: float

    def __new__(cls, value: int, name: str, created_at: float) -> StudyId:
        self = super().__new__(cls, value)
        self.name, self.created_at = name, created_at
        return self

    def __getnewargs__(self) -> tuple[int, str, float]:  # copies and pickles keep the identity
        return int(self), self.name, self.created_at


def _study_label(study_id: StudyId | int) -> str:
    """How an error names a study: by the name its :class:`StudyId` remembers, else by its id."""
    name = getattr(study_id, "name", None)
    return f"study {name!r}" if name is not None else f"study id {study_id}"


def finished_error(study_id: StudyId | int, number: int, state: str, url: str) -> FinishedTrialError:
    """The error of a ``finish_trial`` for a trial the storage ``url`` holds as ``state`` already."""
    return FinishedTrialError(f"trial {number} of {_study_label(study_id)} is already {state}: another Study object "
                              f"or process told it first (storage {url}); its stored result is kept")


def deleted_error(study_id: StudyId | int, url: str) -> StorageError:
    """The error of a read or write for a study that is no longer in the storage ``url``."""
    return StorageError(f"{_study_label(study_id)} was deleted from {url} while this process was using it; nothing "
                        "more is read or written for it")


def closed_error(url: str) -> StorageError:
    """The error of a read or write through a storage after its ``close()``."""
    again = "its studies went with it" if url == "memory" else f"open it again (Study.load(name, {url!r}))"
    return StorageError(f"storage {url!r} was closed; nothing more is read or written through it: {again}")


def checked_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The ``update_study`` fields, with a clear error for unknown names."""
    unknown = sorted(set(fields) - set(STUDY_FIELDS))
    if unknown:
        raise TypeError(f"unknown study field(s) {unknown}; updatable: {list(STUDY_FIELDS)}")
    return fields


@dataclass
class StudyRecord:
    """Everything stored about a study except its trials."""

    name: str
    space: str
    objectives: list[str]
    directions: list[str]
    strategy: str
    seed: int | None = None
    space_config: dict[str, Any] = field(default_factory=dict)
    strategy_config: dict[str, Any] | None = None
    strategy_state: dict[str, Any] | None = None
    user_attrs: dict[str, Any] = field(default_factory=dict)
    run_config: dict[str, Any] | None = None
    created_at: float = field(default_factory=time.time)
    id: int | None = None
    numbered: int | None = None
    """How many trial numbers the study had handed out when this record was read (each is a stored row unless rows
    were deleted by hand); None where the storage keeps no such count or the record was not read from it."""


@dataclass
class StudySummary:
    """One line of a study listing."""

    name: str
    space: str
    strategy: str
    objectives: list[str]
    created_at: float | None  # None: the stored time is damaged (the listing still shows the study)
    counts: dict[str, int]
    directions: list[str] = field(default_factory=list)  # "?" when the stored field is damaged

    @property
    def n_trials(self) -> int:
        return sum(self.counts.values())

    @property
    def objective_specs(self) -> list[str]:
        """Each objective with its direction as ``--objectives`` spells it (``val_acc:max``, ``params:min``;
        ``:?`` when the direction is unknown or damaged)."""
        short = {"maximize": "max", "minimize": "min"}
        return [f"{o}:{short.get(self.directions[k] if k < len(self.directions) else '', '?')}"
                for k, o in enumerate(self.objectives)]


class Storage(ABC):
    """Durable (or in-memory) home of studies. Safe to share between threads of one process;
    SQL storages are also safe to share between processes."""

    url: str
    label_limit: int | None = None
    """The longest space or strategy name this storage holds (None: any; :func:`check_labels`)."""

    # -- studies -------------------------------------------------------------------------------
    @abstractmethod
    def create_study(self, record: StudyRecord) -> StudyRecord:
        """Store a new study (sets ``record.id``); ``ValueError`` if the name is taken."""

    @abstractmethod
    def load_study(self, name: str) -> StudyRecord:
        """The study called ``name``; ``KeyError`` naming the studies that exist."""

    @abstractmethod
    def list_studies(self) -> list[StudySummary]:
        """All studies, oldest first, with trial counts per state."""

    @abstractmethod
    def delete_study(self, name: str) -> None:
        """Remove a study and all its trials."""

    @abstractmethod
    def rename_study(self, old: str, new: str) -> None:
        """Rename a study; ``StudyExistsError`` if ``new`` is taken, ``UsageError`` if it is no valid name
        (implementations call :func:`check_name` first)."""

    @abstractmethod
    def update_study(self, study_id: int, **fields: dict[str, Any]) -> None:
        """Replace some of the study's ``user_attrs``, ``strategy_state`` and ``run_config``."""

    def record_run_config(self, study_id: int, config: dict[str, Any]) -> dict[str, Any]:
        """Store ``config`` as the study's run config with its ``n_trials_total`` never below the stored one's
        (:func:`keep_target`); returns what was stored. Storages shared between processes do it in one
        transaction, so that concurrent runs keep the highest target (this default does not)."""
        config = keep_target(config, self.study(study_id).run_config)
        self.update_study(study_id, run_config=config)
        return config

    @abstractmethod
    def study(self, study_id: int) -> StudyRecord:
        """The study ``study_id`` as stored now (under its current name, if it was renamed); ``StorageError``
        when it was deleted."""

    @abstractmethod
    def set_study_user_attrs(self, study_id: int, attrs: dict[str, Any]) -> dict[str, Any]:
        """Merge ``attrs`` (JSON values) into the study's ``user_attrs`` in one transaction, so that keys other
        processes set meanwhile stay; returns all of them as stored now."""

    def register_space(self, study_id: int, space: SearchSpace) -> None:
        """Tell the storage the space of a study's architectures (SQL storages store their text form)."""

    def database_id(self) -> str | None:
        """What identifies the database a server storage reaches, however its URL names it (another host alias,
        role or password), and no copy of it shares; None where unknown (SQLite files: their path does)."""
        return None

    def arch_texts(self, study_id: int) -> dict[Architecture, str]:
        """The text form stored with each architecture of a study (SQL storages; others store none): what the
        read-only views show when the study's space cannot be rebuilt."""
        return {}

    # -- trials --------------------------------------------------------------------------------
    @abstractmethod
    def trials(self, study_id: int, since_event: int = -1) -> list[Trial]:
        """Trials (ordered by number) whose last change has an event number above ``since_event``."""

    def running_trials(self, study_id: int) -> list[Trial]:
        """The study's RUNNING trials (by number) as stored now: :meth:`save_progress` changes their intermediate
        values without a new event, so a reader that follows events (the live dashboard) asks for them here."""
        return [t for t in self.trials(study_id) if t.state == TrialState.RUNNING]

    def running_workers(self) -> dict[str, list[str | None]]:
        """Study name -> the worker ids of its RUNNING trials (a study without one left out, as is one deleted
        meanwhile): what the dashboard's index counts the trials of a process that is gone by, read in one query
        where the storage can (SQL)."""
        from ...exceptions import StudyNotFoundError

        workers = {}
        for summary in self.list_studies():
            if summary.counts.get(TrialState.RUNNING.value):
                try:
                    workers[summary.name] = [t.worker for t in self.running_trials(self.load_study(summary.name).id)]
                except StudyNotFoundError:
                    continue
        return workers

    @abstractmethod
    def create_trial(self, study_id: int, since_event: int, make: MakeTrial) -> Trial:
        """Atomically reserve the next trial number and event, call ``make`` and store its trial.

        Other processes cannot create trials in between, so ``make`` may consult the changed
        trials it is given (to avoid proposing what another process already runs). An exception
        from ``make`` cancels the reservation.
        """

    @abstractmethod
    def finish_trial(self, study_id: int, trial: Trial, told: bool, retry: Trial | None = None) -> None:
        """Store a finished trial (state, metrics, cost, error, curve, ``user_attrs``; new event;
        ``tell_seq`` too when the strategy was told), and atomically with it the WAITING ``retry``
        trial, which gets the next number. A trial stored finished already is never overwritten:
        :class:`FinishedTrialError` (:func:`finished_error`), and nothing is written."""

    @abstractmethod
    def set_trial_user_attrs(self, study_id: int, number: int, attrs: dict[str, Any]) -> int:
        """Merge ``attrs`` (JSON values) into a trial's ``user_attrs``; returns the change's event."""

    @abstractmethod
    def save_progress(self, study_id: int, trial: Trial) -> bool:
        """Store a running trial's intermediate values and heartbeat, only while it is RUNNING under
        ``trial.worker``; False (nothing written) once it is not: another process re-queued or finished it."""

    @abstractmethod
    def claim_trial(self, study_id: int, number: int, worker: str) -> Trial | None:
        """Move a WAITING trial to RUNNING for ``worker``; None if someone else got it first."""

    @abstractmethod
    def heartbeat(self, study_id: int, numbers: Sequence[int]) -> None:
        """Mark RUNNING trials as alive now (nothing for a deleted study: the next write says it was deleted)."""

    @abstractmethod
    def requeue(self, study_id: int, numbers: Sequence[int] | None = None,
                stale_before: float | None = None, crashed: bool = True, worker: str | None = None) -> list[int]:
        """Put RUNNING trials back to WAITING: the given ``numbers``, or those whose heartbeat is
        older than ``stale_before``, only those ``worker`` runs when given; ``crashed``: their process died,
        which ``attempts`` counts (a clean interrupt does not). Returns the numbers re-queued."""

    def close(self) -> None:
        """Release connections; any later use is a :class:`StorageError` (:func:`closed_error`)."""

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """``with open_storage(url) as storage:`` closes it at the end of the block."""
        self.close()

    def __repr__(self) -> str:
        from .display import display_url  # the password is never shown (a print, a log line, a traceback)

        return f"{type(self).__name__}({display_url(self.url)!r})"


MAX_NAME_LENGTH = 256

MAX_LABEL_LENGTH = 128
"""The longest space or strategy name a PostgreSQL study records (the columns are VARCHAR(128), which PostgreSQL
enforces; SQLite and memory storages hold any length: a chain space's name may take up to
:func:`~nasforge.evaluators.training.space_name_budget` bytes)."""


def check_stored_arch(space: SearchSpace, trial: Trial, url: str, study: str) -> None:
    """``StorageError`` when a stored trial's architecture is not one of ``space`` (a corrupted row); a
    ``UsageError`` when it no longer fits because the space's module file was edited (model spaces)."""
    try:
        space.check(trial.arch)
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        getattr(space, "check_source", lambda: None)()
        raise StorageError(f"storage {_shown(url)!r}: trial {trial.number} of study {study!r} has a corrupted 'genotype' "
                           f"field: {exc}") from None


def check_stored_archs(space: SearchSpace, trials: Sequence[Trial], url: str, study: str,
                       config: Mapping[str, Any] | None) -> None:
    """:func:`check_stored_arch` for each of ``trials``; but when not one of them is an architecture of ``space``
    (rebuilt with the stored settings ``config``) and the space is a user's that takes settings, a ``UsageError``
    saying that its settings do not match those the trials were made with: the rows are fine, the space is another.
    nasforge's own spaces record their settings, so there the rows are damaged (``StorageError``)."""
    fits: dict[int, bool] = {}  # each architecture object checked once, however many trials share it
    bad = next((t for t in trials if not _fits(space, t.arch, fits)), None)
    if bad is None:
        return
    _check_edited(space, trials, bad, url, study, fits)
    init = type(space).__init__
    if (any(_fits(space, t.arch, fits) for t in trials) or init is object.__init__ or keyword_names(init) == ["self"]
            or owned_by_nasforge(space)):
        check_stored_arch(space, bad, url, study)  # others fit, or nothing unrecorded to blame: the row is damaged
    try:
        space.check(bad.arch)
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise UsageError(f"storage {_shown(url)!r}: no trial of study {study!r} is an architecture of space {space.name!r} "
                         f"rebuilt with its stored settings {dict(config or {})} (trial {bad.number}: {exc}), so "
                         "the space's settings do not match those the study was made with: a space records a "
                         "constructor argument only when it keeps it under the argument's own name; pass the "
                         "space it was made with, Study.load(name, storage, space=...)") from None


def _check_edited(space: SearchSpace, trials: Sequence[Trial], bad: Trial, url: str, study: str,
                  fits: dict[int, bool]) -> None:
    """A ``UsageError`` when the space's module file was edited since the study was made (model spaces), naming
    trial ``bad`` and the candidate that it uses and the edited space no longer offers."""
    try:
        getattr(space, "check_source", lambda: None)()
    except UsageError as exc:
        others = sum(not _fits(space, t.arch, fits) for t in trials) - 1
        more = f", and {others} other{'s' * (others > 1)}, no longer fit" if others else " no longer fits"
        why = space.misfit(bad.arch)  # type: ignore[attr-defined]  # a model space's: it has check_source
        raise UsageError(f"storage {_shown(url)!r}: study {study!r} cannot be loaded: {exc} (trial {bad.number}{more} the "
                         f"edited space: {why})") from None


def _shown(url: str) -> str:
    """``url`` as messages show it: without its password."""
    from .display import display_url

    return display_url(url)


def _fits(space: SearchSpace, arch: Architecture, fits: dict[int, bool]) -> bool:
    """Whether ``arch`` is an architecture of ``space``; ``fits`` holds the answers found before, by object (the
    trials read from a storage share one per stored genotype; equal genotypes may differ, e.g. ``1`` and ``True``)."""
    if id(arch) not in fits:
        try:
            space.check(arch)
            fits[id(arch)] = True
        except (ValueError, TypeError, IndexError, KeyError):
            fits[id(arch)] = False
    return fits[id(arch)]


def is_utf8(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8: it holds no lone surrogate (such as ``'\\udcff'``, what Python makes
    of a byte that is not UTF-8 in a command-line argument or a file name)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_utf8_name(name: Any) -> None:
    """A study name that is no string, or not valid UTF-8 (:func:`is_utf8`), is a UsageError: no storage can hold it,
    so no study has it (every storage checks the names it is given to look up)."""
    if not isinstance(name, str):
        raise UsageError(f"study name must be a string, got {type(name).__name__} {name!r}")
    if not is_utf8(name):
        raise UsageError(f"study name {name!r} is not valid UTF-8 (a byte that is not UTF-8 in the command line?)")


def check_labels(space: str, strategy: str, limit: int | None) -> None:
    """A UsageError naming a new study's space or strategy name when it is longer than ``limit`` characters (the
    storage's :attr:`Storage.label_limit`; None: no limit); checked only when a study is created, so that studies
    stored with longer names keep loading."""
    for field, label in (("space", space), ("strategy", strategy)):
        if limit is not None and len(label) > limit:
            raise UsageError(f"the {field} name is {len(label)} characters long; a study in this storage records at "
                             f"most {limit}: {label[:40]!r}...")


def check_name(name: Any, new: bool = True) -> None:
    """A study name is a non-empty string of valid UTF-8 (:func:`check_utf8_name`) of at most ``MAX_NAME_LENGTH``
    characters; a ``new`` one (a study being created or renamed) holds no control characters (a newline, tab or NUL
    breaks listings and cannot be typed on the command line), which a stored one from an older version may."""
    check_utf8_name(name)
    if not name.strip():
        raise UsageError("study name must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise UsageError(f"study name is {len(name)} characters long; the limit is {MAX_NAME_LENGTH}: "
                         f"{name[:40]!r}...")
    if new and any(unicodedata.category(c) == "Cc" for c in name):
        raise UsageError(f"study name must not contain control characters (newline, tab, NUL, ...): {name!r}")
