"""Every error nasforge raises on purpose, under one base class (as in ``optuna.exceptions``).

The CLI maps them to exit codes: :class:`UsageError` (bad input) exits 2 with one line, any other
:class:`NasforgeError` (a runtime failure) exits 1 with one line; anything else is a bug and keeps
its traceback. Classes that were public elsewhere before stay importable from there too.
"""

from __future__ import annotations

from collections.abc import Sequence


class NasforgeError(Exception):
    """Base class of all errors nasforge raises on purpose."""


class UsageError(NasforgeError, ValueError):
    """Bad user input: an option, a file, a value. The message names the culprit."""


class ArchitectureError(NasforgeError, ValueError):
    """One architecture cannot be built as asked (e.g. a shape-changing skip layer): the trial evaluating it fails,
    the run goes on. Not a :class:`UsageError`, which a first trial's evaluator raises to stop the run as misuse;
    a ``ValueError``, as it was."""


class StorageError(NasforgeError, RuntimeError):
    """A storage cannot be opened or used (bad URL, locked or foreign file, newer schema)."""


class StorageFileMovedError(StorageError):
    """The SQLite file a storage opened was moved, renamed or removed (or replaced) while it was open: nothing
    more is written to it."""


class ForeignStorageError(StorageError, UsageError):
    """The storage named is not a nasforge database (another application's, or not a database at all)."""


class EmptyStorageError(ForeignStorageError):
    """The database holds no tables at all: nothing was ever stored there (a study would create nasforge's)."""


class StudyExistsError(StorageError, UsageError):
    """A study of that name already exists and loading it was not asked for."""


class StudyNotFoundError(StorageError, UsageError, KeyError):
    """No study of that name in the storage; ``studies``: the names the storage holds (all of them, in its order),
    or None where they were not read."""

    def __init__(self, message: str = "", studies: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.studies = None if studies is None else tuple(studies)

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class SpaceExhausted(NasforgeError, RuntimeError):
    """A strategy cannot find an architecture it has not already proposed."""


class WaitingForResults(SpaceExhausted):
    """No new architecture is left and nothing is due yet (a multi-fidelity strategy's next promotion), but the
    results of running evaluations may make something due: ask again once one of them is told."""


class NotEnumerableError(UsageError, TypeError):
    """``enumerate()`` on a space that cannot list its architectures (too many); also a ``TypeError``, as it was."""


class NoStateError(UsageError, TypeError):
    """``state_dict()`` of a strategy that keeps its state elsewhere (Optuna's): it resumes by replaying the stored
    trials instead; also a ``TypeError``, as it was."""


class NotFittedError(NasforgeError, RuntimeError):
    """A predictor or model was used before ``fit``."""


class TrialPruned(NasforgeError):
    """Raised by ``Reporter.report`` when the engine stops a trial early."""


class StudyAborted(NasforgeError, RuntimeError):
    """The study stopped because too many trials failed."""


class MissingDependencyError(UsageError, ImportError):
    """An optional package a feature needs is not installed; the message names the extra of nasforge that
    installs it (see :mod:`nasforge.extras`). Also an ``ImportError``, as such failures were before."""


class UnsafeFileError(UsageError):
    """A file failed an integrity or safety check (checksum, path outside its folder, pickle): bad input,
    since the user named the file (or the folder holding it)."""


class MissingFileError(UsageError, FileNotFoundError):
    """A file or folder named by the user does not exist (also a ``FileNotFoundError``)."""


class MissingStorageError(StudyNotFoundError, MissingFileError):
    """The SQLite file named as an existing study's storage does not exist (nothing is created); also a
    StudyNotFoundError (a KeyError), as the study is not there either."""


class AllTrialsFailedWarning(UserWarning):
    """Every trial of a run FAILED (the warning names the first error), so a wasted run never passes silently."""


class TrialFailedWarning(UserWarning):
    """The first trial of a run that FAILED (the warning names its error and where the evaluator raised); the run
    goes on, and later failures are not warned of."""


class SpaceExhaustedWarning(UserWarning):
    """A run stopped before its target because the strategy found no new architecture to propose (the warning
    names the strategy, its seed and the proposals made)."""


def user_stacklevel() -> int:
    """The ``stacklevel`` with which a warning given by the caller of this function names the first frame outside
    nasforge (the user's call, however deep inside nasforge the warning is given)."""
    import os
    import sys

    package = os.path.dirname(os.path.realpath(__file__)) + os.sep
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and os.path.realpath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level
