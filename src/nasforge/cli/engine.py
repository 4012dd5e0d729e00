"""Study management commands: studies, status, trials (read-only), resume, delete.

``studies``, ``status`` and ``trials`` open the storage read-only (:func:`open_storage` with
``readonly=True``): they never create a file, add tables or switch a journal mode; a missing file
or a database without nasforge's tables is one line and exit status 2. ``resume`` and ``delete``
need an existing nasforge database.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..exceptions import (AllTrialsFailedWarning, MissingFileError, StorageError, StudyNotFoundError,
                          TrialFailedWarning)
from ..experiment.storage.display import (PASSWORD_NOT_RECORDED, display_url, mask_passwords, some_names,
                                          study_command)
from ..experiment.storage.urls import (check_not_run_folder, check_stored_storage, sqlite_path, sqlite_url,
                                       storage_errors_as_usage)
from . import UsageError, given_options
from .options import (PRUNER_METAVAR, failure_rate, json_object, non_negative_int, parse_pruner, positive_int,
                      positive_seconds)
from .output import add_format_argument, counted, json_safe, print_rows, shown_on, significant_decimals

DEFAULT_STORAGE = "sqlite:///nasforge.db"

SEARCH_RESUME_OPTIONS = ("--workers", "--max-crash-reruns", "--no-progress")
"""The options a ``nasforge search`` run's resume takes: it rebuilds the rest as recorded (others are refused)."""

FACTORY_DOCS = "docs/engine.md#your-own-evaluator-a-factory"
"""Where the docs show how a study names the evaluator factory that ``nasforge resume`` rebuilds it with."""

STUDY_HELP = "study name in --storage, or a 'nasforge search' run folder (its study.db; without --storage)"


def register(sub: argparse._SubParsersAction) -> None:
    def storage_arg(p: argparse.ArgumentParser, folder: bool = True) -> None:
        p.add_argument("--storage", default=None if folder else DEFAULT_STORAGE,
                       metavar="URL", help=f"storage URL (default: {DEFAULT_STORAGE}, a SQLite file in the working "
                                           "directory" + ("; a run folder needs none)" if folder else ")"))

    p = sub.add_parser("studies", help="list the studies in a storage (read-only)",
                       description="List the studies of a storage: name, space, objectives, trials by state.")
    storage_arg(p, folder=False)
    add_format_argument(p)
    p.set_defaults(func=cmd_studies)

    p = sub.add_parser("status", help="progress, best trial and running trials of a study (read-only)",
                       description="Show one study's progress: trials by state, the best trial or front, running "
                                   "trials and whether their processes are alive.")
    p.add_argument("study", metavar="STUDY", help=STUDY_HELP)
    storage_arg(p)
    add_format_argument(p)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("trials", help="a study's trials as a table, CSV or JSON (read-only)",
                       description="Print or write a study's trials: architecture, state, values and attributes.")
    p.add_argument("study", metavar="STUDY", help=STUDY_HELP)
    storage_arg(p)
    add_format_argument(p, default=None, note="default: csv or json for an --out file named *.csv or *.json, "
                                              "else table; another --format with those suffixes is refused")
    p.add_argument("--out", help="write to this file instead of standard output ('-': standard output; a name ending "
                                 "in / is refused: name the file; an existing file is refused unless it is empty, or "
                                 "an earlier export of this command (any --format) and --overwrite is given) "
                                 "(default: standard output)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an earlier export of this command at --out (never any other file)")
    p.add_argument("--state", metavar="STATE[,STATE]",
                   help="only the trials in these states, e.g. COMPLETE,FAILED (any case) (default: every state)")
    p.add_argument("--limit", type=positive_int, metavar="N",
                   help="only the last N trials (the highest numbers; after --state) (default: all)")
    p.set_defaults(func=cmd_trials)

    p = sub.add_parser("resume", help="continue an interrupted study (or finish a whole nasforge search job)",
                       description="Continue an interrupted study with its recorded settings (a nasforge search run "
                                   "also finishes its retraining and outputs); options override what was recorded. "
                                   "A nasforge search run takes only "
                                   f"{', '.join(SEARCH_RESUME_OPTIONS)} (it rebuilds its recorded evaluators, "
                                   "executor, pruner and timeouts).")
    p.add_argument("study", metavar="STUDY", help=STUDY_HELP)
    storage_arg(p)
    p.add_argument("--evaluator", metavar="MODULE:CALLABLE",
                   help="evaluator factory 'package.module:callable' to run (needed when the recorded one is not "
                        "nasforge's own) (default: the recorded one)")
    p.add_argument("--evaluator-kwargs", default=None, metavar="JSON",
                   help="JSON object of keyword arguments for --evaluator (default: the recorded ones, if it is the "
                        "same factory)")
    p.add_argument("--workers", type=positive_int, metavar="N",
                   help="override the recorded number of workers (default: recorded)")
    p.add_argument("--executor", choices=["inline", "process", "ray"],
                   help="override the recorded executor; recorded executor options it does not take are left out "
                        "(default: recorded)")
    p.add_argument("--executor-options", metavar="JSON",
                   help="JSON object of the executor's options, instead of the recorded ones, e.g. "
                        "'{\"address\": \"auto\"}' for a Ray cluster (a resume takes only some of the recorded "
                        "ones from a database; see docs/engine.md) (default: recorded)")
    p.add_argument("--pruner", metavar=PRUNER_METAVAR,
                   help="override the recorded pruner: a registered name (median, asha, curve), a JSON object such as "
                        "'{\"name\": \"asha\", \"max_resource\": 27}', or none (default: recorded)")
    timeout = p.add_mutually_exclusive_group()
    timeout.add_argument("--trial-timeout", type=positive_seconds, metavar="SECONDS",
                         help="override the recorded trial_timeout (default: recorded)")
    timeout.add_argument("--no-trial-timeout", action="store_true", help="drop the recorded trial_timeout")
    run_timeout = p.add_mutually_exclusive_group()
    run_timeout.add_argument("--timeout", type=positive_seconds, metavar="SECONDS",
                             help="stop proposing after SECONDS in this resume, instead of the recorded timeout of "
                                  "the first run (default: recorded)")
    run_timeout.add_argument("--no-timeout", action="store_true",
                             help="drop the recorded timeout: run until the study reaches its target")
    p.add_argument("--max-crash-reruns", type=non_negative_int, metavar="N",
                   help="override the recorded max_crash_reruns: re-run a trial whose process died at most N times "
                        "(a nasforge search study records it for later resumes) (default: recorded)")
    p.add_argument("--max-failure-rate", type=failure_rate, metavar="RATE|none",
                   help="override the recorded max_failure_rate: abort once more than this fraction of the run's "
                        "trials failed (after min_trials_for_failure_rate), or none for no bound; recorded for later "
                        "resumes (default: recorded)")
    p.add_argument("--no-progress", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("delete", help="delete a study and all its trials",
                       description="Delete a study and all its trials from its storage (asks for --yes).")
    p.add_argument("study", metavar="STUDY", help=STUDY_HELP)
    storage_arg(p)
    p.add_argument("--yes", action="store_true", help="confirm the deletion (without it nothing is deleted and "
                                                     "the command exits with status 2)")
    p.add_argument("--force", action="store_true",
                   help="delete even while a live worker runs trials of the study (that run then stops)")
    p.set_defaults(func=cmd_delete)


def _open(url: str, readonly: bool) -> Any:
    from ..experiment.storage import open_storage

    check_stored_storage(url)
    return open_storage(url, readonly=readonly, create=False)


def study_source(name: str, storage: str | None, command: str = "nasforge status") -> tuple[str, str | None]:
    """(storage URL, study name) of a STUDY argument: without --storage, a run folder of ``nasforge search`` is its
    ``study.db`` and the one study in it (name None: the caller picks it with ``only_study``, as ``nasforge export
    RUN`` does); else a study name in ``storage`` (default :data:`DEFAULT_STORAGE`, or, when that holds no such
    study, the default run folder ``nasforge-runs/STUDY`` search printed the name of). A ``--storage`` naming a
    run folder, or a run folder named like a study of :data:`DEFAULT_STORAGE`, is a UsageError saying how
    ``command`` names each."""
    from ..pipelines.search import RUNS_ROOT, run_folder_storage  # here: every nasforge command imports this module

    if storage is not None:
        check_not_run_folder(storage, hint="name the folder in place of the study (without --storage), or ")
        return storage, name
    refuse_server_run_folders(name, command)
    url = run_folder_storage(name)
    if url and _default_storage_holds(name):
        inside = shlex.quote(_one_study_name(url) or "STUDY")
        raise UsageError(f"{name!r} is both a 'nasforge search' run folder and a study in {DEFAULT_STORAGE}: for "
                         f"the folder's study run {command} {inside} --storage {shlex.quote(url)}, for the other "
                         f"{command} {shlex.quote(name)} --storage {DEFAULT_STORAGE}")
    if url:
        return url, None
    default_run = run_folder_storage(Path(RUNS_ROOT) / name)
    return (default_run, None) if default_run and not _default_storage_holds(name) else (DEFAULT_STORAGE, name)


def refuse_server_run_folders(name: str, command: str, default_storage_first: bool = True,
                              writes: str | None = None) -> None:
    """The rule of :func:`study_source` for a STUDY ``name`` given without --storage: a UsageError
    (:func:`refuse_server_run_folder`) when the folder ``name``, or the default run folder ``nasforge-runs/NAME``
    of a name that is no folder here, has no '/' and is no study of :data:`DEFAULT_STORAGE`, is the run folder of
    a study stored in a database server. ``default_storage_first=False`` (export, where a run folder wins): that
    default run folder is refused also when :data:`DEFAULT_STORAGE` holds ``name``, giving the command for each.
    ``writes``: see :func:`refuse_server_run_folder`."""
    from ..pipelines.search import RUNS_ROOT, run_folder_storage

    if run_folder_storage(name) is None:
        refuse_server_run_folder(Path(name), command, name, writes)
    if run_folder_storage(Path(RUNS_ROOT) / name) is None and not os.path.isdir(name) and "/" not in name \
            and not (default_storage_first and _default_storage_holds(name)):
        refuse_server_run_folder(Path(RUNS_ROOT) / name, command, None if default_storage_first else name, writes)


def refuse_server_run_folder(folder: Path, command: str, named: str | None = None, writes: str | None = None) -> None:
    """A UsageError when ``folder`` is the run folder of a search whose study is stored outside it, in a server
    database or a SQLite file other than its own study.db (its summary.json names it, or before there is one the
    lock file a running or stopped run keeps there): name the study and its storage (the password, never recorded,
    left out) in the ``command`` to run instead: it keeps the options given to the command being run
    (:func:`~nasforge.cli.given_options`) and, where that command writes the file ``writes`` in the run folder
    (report's report.html when no --out is given), names it with ``--out``. ``named``: the STUDY argument that named
    the folder as it is; when :data:`DEFAULT_STORAGE` holds a study so named, the error gives the command for each,
    unless the folder records that very study in that very file (nothing to tell apart: it is read there). A study
    deleted from its storage is said to be so, with no command (it would find no study). A folder holding only the
    lock of a search that has not created its study in the folder yet is a UsageError too
    (:func:`_refuse_unstarted_run`)."""
    from ..pipelines.search import LOCK, RUN_DATABASE, _summary_record, recorded_study, still_stored

    if os.path.isfile(folder / "summary.json"):  # one that cannot be read names no study; os.path: no OSError
        stored = (_summary_record(folder) or {}).get("resume_command")
    else:
        try:
            stored = (folder / LOCK).read_text(errors="replace") if (folder / LOCK).is_file() else None
        except OSError:
            return
    recorded = recorded_study(stored)
    if recorded is None:
        return
    study, url = recorded
    path = sqlite_path(url)
    own = path is not None and Path(path).absolute() == (folder / RUN_DATABASE).absolute()
    if own and not (named is not None and _default_storage_holds(named)):
        _refuse_unstarted_run(folder, study, command)
    if url == "memory" or path == ":memory:" or own:  # no study left (memory), or the folder's own study.db, missing
        return
    if named == study and path is not None and _is_default_storage_file(path) and _default_storage_holds(study):
        return  # the very study that ``named`` reads in ./nasforge.db (search --storage sqlite:///nasforge.db)
    kind = "database server" if path is None else "SQLite file"
    note = (PASSWORD_NOT_RECORDED if path is None else None if os.path.isabs(path)
            else "from the folder the run was started in: the path is relative to it")
    verb, options = command.removeprefix("nasforge "), given_options(command, leave_out=("--storage",)) or []
    here = os.path.abspath if path is not None and not os.path.isabs(path) else str  # run from the start folder
    options = [_out_path(word, previous, here) for previous, word in zip(["", *options], options)]
    out = [] if not writes else ["--out", here(str(folder / writes)),
                                 *([] if "--overwrite" in options else ["--overwrite"])]
    use = study_command(verb, study, url, *options, *out) + (f" ({note})" if note else "")
    deleted = still_stored(study, url) is False
    if named is not None and _default_storage_holds(named):
        folders = (f"the folder's study {study!r} was deleted from {display_url(url)}" if deleted
                   else f"for the folder's study run {use}")
        raise UsageError(f"{named!r} is both the run folder of a study stored in a {kind} and a study in "
                         f"{DEFAULT_STORAGE}: {folders}; for the other "
                         f"{study_command(verb, named, DEFAULT_STORAGE, *options)}")
    if deleted:
        raise UsageError(f"{str(folder)!r} is the run folder of study {study!r}, which was deleted from its {kind} "
                         f"{display_url(url)}: only the run's outputs are left in the folder (remove them yourself if "
                         "they are not needed)")
    raise UsageError(f"{str(folder)!r} is the run folder of study {study!r}, which is stored in a {kind}, not in the "
                     f"folder: run {use}")


def _out_path(word: str, previous: str, here: Callable[[str], str]) -> str:
    """``word`` of a command line, the path of an ``--out`` option passed through ``here`` (``os.path.abspath``
    where the command is to run in another folder); ``-`` (standard output) and other words as they are."""
    if previous == "--out" and word != "-":
        return here(word)
    if word.startswith("--out="):
        return "--out=" + here(word.removeprefix("--out="))
    return word


def _refuse_unstarted_run(folder: Path, study: str, command: str) -> None:
    """A UsageError when ``folder`` holds nothing but the lock of a search of ``study`` that has not created its
    study (in the folder's study.db) yet: one killed as it started (it stored nothing), or one starting now (a
    live process holds the lock)."""
    from ..pipelines.search import LOCK

    try:
        if os.listdir(folder) != [LOCK]:
            return
    except OSError:
        return
    running = _run_lock_held(folder)
    if running is None:
        return
    if running:
        raise UsageError(f"{str(folder)!r} is the run folder of a nasforge search starting now: its study "
                         f"{study!r} is not created yet; run {command} again once it is")
    raise UsageError(f"{str(folder)!r} is the run folder of a nasforge search stopped before it created its study "
                     f"{study!r} (the folder holds only its lock file {LOCK}): nothing was stored, so there is no "
                     "study to read or resume; run the same nasforge search command again")


def _run_lock_held(folder: Path) -> bool | None:
    """Whether a live process (a search or resume at work) holds the :data:`~nasforge.pipelines.search.LOCK` of run
    folder ``folder``; None when the folder has no lock file that can be opened (a run that ended or was stopped by
    Ctrl-C removed it)."""
    import fcntl

    from ..pipelines.search import LOCK

    try:
        fd = os.open(folder / LOCK, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # released at once by the close
        return False
    except OSError as exc:
        return isinstance(exc, BlockingIOError)  # a search holds it
    finally:
        os.close(fd)


def _one_study_name(url: str) -> str | None:
    """The name of the one study in the storage at ``url`` (a run folder's study.db), or None when it cannot be
    read or holds none or several."""
    try:
        storage = _open(url, readonly=True)
    except (UsageError, StorageError):
        return None
    try:
        names = [summary.name for summary in storage.list_studies()]
    finally:
        storage.close()
    return names[0] if len(names) == 1 else None


def _path_like(name: str, storage: str | None) -> None:
    """A UsageError for a STUDY that reads as a path (it holds a / or ends in .db) and is neither a run folder (as
    named, or the default ./nasforge-runs/STUDY/ of a run so named before such names were refused) nor a study of
    :data:`DEFAULT_STORAGE` (given no --storage): the message names that path, not ./nasforge.db."""
    from ..pipelines.search import RUN_DATABASE, RUNS_ROOT, run_folder_storage

    if storage is not None or not ("/" in name or name.lower().endswith(".db")) or run_folder_storage(name) \
            or run_folder_storage(Path(RUNS_ROOT) / name):
        return
    if _default_storage_holds(name) is not False:  # there, or unreadable: the storage's own message says why
        return
    path = Path(name)
    if path.name == RUN_DATABASE and run_folder_storage(path.parent):
        raise UsageError(f"{name!r} is the database of the run folder {str(path.parent)!r}: name the folder (without "
                         "--storage)")
    if os.path.isfile(path):
        raise UsageError(f"{name!r} is a file, not a run folder or a study name: to read a database file pass the "
                         f"study name with --storage {sqlite_url(path.absolute())}")
    what = "no run folder (no study.db in it)" if os.path.isdir(path) else "no run folder (no such folder)"
    default = f" and no study of that name in {DEFAULT_STORAGE}" if _default_storage_file().is_file() else ""
    raise UsageError(f"{name!r} is {what}{default}{_no_run_name(name)}; check the path")


def _no_run_name(name: str) -> str:
    """Why a path-like STUDY ``name`` that is no run folder names no run either: its default folder
    ./nasforge-runs/NAME/ is missing, or is there and holds no study.db; "" for a name with '/' (but a trailing
    one), which never names a run."""
    from ..pipelines.search import RUN_DATABASE, RUNS_ROOT

    stem = name.rstrip("/")
    if not stem or "/" in stem:
        return ""
    folder = f"{RUNS_ROOT}/{stem}/"
    if os.path.isdir(folder):
        return f", and {folder} holds no {RUN_DATABASE}"
    return f", nor a run name ({folder} does not exist)"


def check_default_storage(storage: str, commands: str) -> None:
    """A UsageError when ``storage`` is :data:`DEFAULT_STORAGE` and its file is not here: nasforge search keeps each
    run's study in its folder, so the message gives ``commands`` (how to read a run folder's study) and names the
    runs in ./nasforge-runs/."""
    from ..pipelines.search import RUN_DATABASE, RUNS_ROOT

    if storage != DEFAULT_STORAGE or _default_storage_file().is_file():
        return
    runs = sorted(p.parent.name for p in Path(RUNS_ROOT).glob(f"*/{RUN_DATABASE}"))
    found = f" (runs there: {', '.join(runs[:5])}{', ...' if len(runs) > 5 else ''})" if runs else ""
    raise UsageError(f"no database file {str(_default_storage_file())!r} here (the default --storage); nasforge "
                     f"search keeps each run's study in its folder: {commands}{found}")


def _default_storage_file() -> Path:
    """The SQLite file of :data:`DEFAULT_STORAGE` (in the working directory)."""
    return Path(DEFAULT_STORAGE.removeprefix("sqlite:///"))


def _is_default_storage_file(path: str) -> bool:
    """Whether the SQLite file ``path`` (a relative one read from the working directory, as opening it reads it) is
    :data:`DEFAULT_STORAGE`'s own file; False when either is missing or cannot be looked at."""
    try:
        return os.path.samefile(path, _default_storage_file())
    except (OSError, ValueError):  # ValueError: a NUL in the path
        return False


def _default_storage_holds(name: str) -> bool | None:
    """Whether :data:`DEFAULT_STORAGE` exists here and holds a study ``name`` (a run folder of that name would
    otherwise shadow it unseen); None when the file is there but cannot be read (damaged, foreign, locked)."""
    if not _default_storage_file().is_file():
        return False
    try:
        storage = _open(DEFAULT_STORAGE, readonly=True)
    except (UsageError, StorageError):
        return None
    try:
        return any(summary.name == name for summary in storage.list_studies())
    except StorageError:
        return None
    finally:
        storage.close()


def _resolve(args: argparse.Namespace, command: str, readonly: bool = True) -> Any:
    """Set ``args.storage`` and ``args.study`` of a STUDY that may be a run folder (see :func:`study_source`), and
    return the storage opened (``readonly`` or not) there: a run folder's database is opened once, to find its one
    study and then to read or change it."""
    from ..pipelines.search import RUNS_ROOT, only_study, run_folder_storage

    if args.storage is None and run_folder_storage(args.study) is None:
        # before "no run folder" is said of it
        refuse_server_run_folder(Path(args.study), f"nasforge {command}", args.study)
    _path_like(args.study, args.storage)
    given = args.storage
    args.storage, name = study_source(args.study, args.storage, f"nasforge {command}")
    if given is None and args.storage == DEFAULT_STORAGE and not _default_storage_file().is_file():
        raise UsageError(f"no study {args.study!r} here: no run folder {args.study!r} or nasforge-runs/{args.study}/, "
                         f"and no database file {str(_default_storage_file())!r} (the default --storage); name a run "
                         "folder or give --storage URL")
    try:
        storage = _open(args.storage, readonly=readonly)
    except (UsageError, StorageError):
        if readonly or name is not None:
            raise
        _only_study_readonly(args.storage, command)  # a folder's study count says more than "cannot write"
        raise
    if name is None:
        try:
            name = only_study(storage, f"nasforge {command}")
        except BaseException:
            storage.close()
            raise
    elif given is None:  # the default storage, after no run folder: a miss names every place looked
        try:
            storage.load_study(name)  # one row read, not the studies' trials
        except StudyNotFoundError as exc:
            storage.close()
            listed = "" if exc.studies is None else f"; studies: {some_names(exc.studies)}"
            raise UsageError(f"no study {name!r} here: no run folder {name!r} or {RUNS_ROOT}/{name}/, and no such "
                             f"study in {display_url(args.storage)} (the default --storage{listed}); "
                             "name a run folder or give --storage URL") from None
        except StorageError:  # a damaged record: the command itself names what is damaged
            pass
    args.study = name
    return storage


def _only_study_readonly(url: str, command: str) -> None:
    """Raise :func:`only_study`'s error when the run folder's database at ``url``, read, holds no study or several
    (a database that cannot be opened for writing is then refused for that, as when it can)."""
    from ..pipelines.search import only_study

    try:
        storage = _open(url, readonly=True)
    except (UsageError, StorageError):
        return
    try:
        only_study(storage, f"nasforge {command}")
    finally:
        storage.close()


def _load(args: argparse.Namespace, command: str) -> Any:
    """A read-only snapshot of the stored study (``StudyData``: nothing replayed, nothing written); a note on
    stderr when its space cannot be rebuilt here and architectures are shown as stored."""
    from ..analysis.studyreport.data import load_study_data

    data = load_study_data(_resolve(args, command), args.study)
    if data.space_note:
        print(f"note: {data.space_note}", file=sys.stderr)
    return data


@storage_errors_as_usage()
def cmd_studies(args: argparse.Namespace) -> int:
    from ..pipelines.search import RUNS_ROOT

    check_default_storage(args.storage, f"nasforge studies --storage sqlite:///{RUNS_ROOT}/NAME/study.db, or "
                                        f"nasforge status {RUNS_ROOT}/NAME")
    summaries = _open(args.storage, readonly=True).list_studies()
    if not summaries and args.format == "table":
        print(f"no studies in {display_url(args.storage)}")
        return 0
    rows = [{"study": s.name, "space": s.space, "strategy": s.strategy, "objectives": ",".join(s.objective_specs),
             "trials": s.n_trials, **{state.lower(): s.counts.get(state, 0) for state in STUDIES_STATES},
             "created": _created(s.created_at, "%Y-%m-%d %H:%M")} for s in summaries]
    if args.format != "table":
        print_rows(rows, args.format)
        return 0
    # the table fits 80 columns: objectives and trials per state (as status counts them) one a line, the day
    # without the time; too wide, the day and then the space are left out (a default run name holds both) so that
    # the name, the one cell copied into other commands, shows whole, and only a name too long even so is cut in its
    # middle; too wide even so, a labelled line per field of the csv/json rows
    table = [{"study": s.name, "space": s.space, "strategy": s.strategy, "objectives": "\n".join(s.objective_specs),
              "trials": "\n".join(f"{state.lower()} {n}" for state, n in sorted(s.counts.items())) or "0",
              "created": _created(s.created_at, "%Y-%m-%d")} for s in summaries]
    print_rows(table, headers={"strategy": "strat."}, drop=("created", "space"), cut=("study",), blocks=rows)
    return 0


STUDIES_STATES = ("COMPLETE", "FAILED", "PRUNED", "RUNNING", "WAITING")
"""The states ``studies --format csv|json`` counts in a column each, in this order."""


def _created(stamp: float | None, form: str) -> str:
    """A study's creation time in ``time.strftime``'s ``form`` (local time); ``"?"`` where it is damaged."""
    return "?" if stamp is None else time.strftime(form, time.localtime(stamp))


@storage_errors_as_usage()
def cmd_status(args: argparse.Namespace) -> int:
    from ..analysis.studyreport.views import budget_of_full, gone_running, number_text, rerun_hint
    from ..experiment import TrialState
    from ..experiment.stages import FEASIBLE_ONLY, stage_counts
    from ..experiment.study import exhausted, no_run_to_resume

    study = _load(args, "status")
    counts: dict[str, int] = {}
    for t in study.trials:
        counts[t.state.value] = counts.get(t.state.value, 0) + 1
    by_stage = stage_counts(study.trials)  # per state, trials per stage ({} when the study has no stages)
    now = time.time()
    gone = {t.number for t in gone_running(study.trials)}
    running = [{"trial": t.number, "worker": t.worker,
                "heartbeat_age_s": None if t.heartbeat is None else round(now - t.heartbeat, 1),
                "process_gone": t.number in gone} for t in study.trials if t.state.value == "RUNNING"]
    best, best_value = None, None
    multi_objective = len(study.objectives) > 1
    trial = None if multi_objective else study.best()
    if trial is not None:
        best_value = trial.metrics[study.objectives[0]]
        best = {"trial": trial.number, study.objectives[0]: best_value, "arch": study.arch_text[trial.number]}
    target = (study.run_config or {}).get("n_trials_total")
    used_up = exhausted(study.user_attrs, study.n_proposals)
    front = study.front() if multi_objective else []
    searched = study.complete  # told to the strategy: the constraints rank these, as summary.json counts
    if study.user_attrs.get(FEASIBLE_ONLY):  # a search job's front: only the trials that meet its constraints
        front = [t for t, violation in zip(front, study.violations(front)) if violation == 0]
    info = {"study": study.name, "storage": display_url(study.storage_url), "space": study.space.name,
            "strategy": study.strategy, "objectives": study.objectives, "directions": study.directions,
            "trials": len(study.trials), "proposals": study.n_proposals, "target": target,
            "space_exhausted": used_up, "counts": counts,
            "best": best, "pareto_front": len(front) if multi_objective else None,
            "pareto_front_trials": [_front_member(study, t) for t in front] if multi_objective else None,
            "running": running, **({"counts_by_stage": by_stage} if by_stage else {}),
            "constraints": list(study.constraints),  # infeasible: search trials breaking them (None: none set)
            "infeasible": int(sum(study.violations(searched) > 0)) if study.constraints else None}
    if args.format == "json":
        print(json.dumps(json_safe(info), indent=1, allow_nan=False))
        return 0
    if args.format == "csv":
        flat = {k: v for k, v in info.items()
                if k not in ("counts", "counts_by_stage", "best", "running", "objectives", "directions",
                             "pareto_front_trials", "constraints")}
        infeasible = flat.pop("infeasible")  # after the columns of earlier versions, which readers may index
        flat.update(objectives=",".join(study.objectives), directions=",".join(study.directions),
                    **{state.value.lower(): counts.get(state.value, 0) for state in TrialState},
                    best_trial=None if best is None else best["trial"],
                    best_value=best_value, infeasible=infeasible)
        print_rows([flat], "csv")
        return 0
    print(f"study {study.name!r} ({display_url(study.storage_url)}): space {study.space.name}, "
          f"strategy {study.strategy}, objectives {study.objectives} {study.directions}")
    goal = f" (proposals {study.n_proposals}, target {target})" if target else ""
    if used_up:
        goal += " finished: the strategy has no new architecture to propose"
    states = _state_counts(counts, by_stage)
    print(f"trials: {len(study.trials)}{goal}" + (f" | {states}" if states else ""))
    if study.constraints:
        which = "complete search trials" if len(searched) < counts.get("COMPLETE", 0) else "complete trials"
        print(f"constraints {', '.join(info['constraints'])}: {info['infeasible']} of {len(searched)} {which} "
              "infeasible")
    if info["pareto_front"] is not None:
        print(f"pareto front: {counted(len(front), 'trial')}{_front_feasibility(study, front, searched)}")
        for member in info["pareto_front_trials"][:FRONT_SHOWN]:
            values = " ".join(f"{o}={number_text(member[o])}" for o in study.objectives)
            print(f"  trial {member['trial']} {values} {member['arch']}")
        if len(front) > FRONT_SHOWN:
            print(f"  ... and {len(front) - FRONT_SHOWN} more (--format json lists them all)")
    elif best is not None:
        print(f"best{budget_of_full(study, trial)}: trial {best['trial']} {study.objectives[0]}="
              f"{number_text(best_value)} {best['arch']}")
    for r in running:
        age = "never" if r["heartbeat_age_s"] is None else f"{r['heartbeat_age_s']:.0f} s ago"
        dead = f" (its process is gone: {rerun_hint(study, args.storage)} re-runs it)" if r["process_gone"] else ""
        print(shown_on(f"running: trial {r['trial']} on {r['worker']}, heartbeat {age}{dead}", sys.stdout))
    if not study.run_config and counts.get("WAITING") and not study.user_attrs.get("pipeline"):  # no resume runs them
        print(shown_on(no_run_to_resume(study.name, args.storage, counts["WAITING"], starting=True), sys.stdout))
    if _search_stopped(study, counts):  # Ctrl-C, SIGTERM: its running trials went back to WAITING
        print(shown_on("unfinished: the run stopped before its end (no trial running, no summary.json; unless it is "
                       f"starting or between its stages now): {rerun_hint(study, args.storage)} finishes it",
                       sys.stdout))
    if _outputs_unwritten(study, counts):
        hint = rerun_hint(study, args.storage)
        print(shown_on("outputs: not written (no summary.json: the run stopped before it, unless it is writing them "
                       f"now): {hint} writes them", sys.stdout))
    return 0


def _front_feasibility(study: Any, front: list, searched: list) -> str:
    """What the status line of a constrained study's front adds while no complete trial meets the constraints: that
    the trials listed are the least violating ones (a study's fallback, as its report says), or that a search job's
    front is empty for that reason; '' otherwise."""
    if not study.constraints or not searched or (front and (study.violations(front) <= 0).any()):
        return ""
    if front:
        return " (none feasible: the least-violating trials)"
    return " (none feasible)" if (study.violations(searched) > 0).all() else ""


def _search_stopped(study: Any, counts: dict[str, int]) -> bool:
    """Whether ``study`` is the study of a ``nasforge search`` run folder (its study.db) whose run stopped before
    its end (Ctrl-C, SIGTERM, an error): trials waiting or its search not done, none running (a running trial
    whose process is gone has its own line), no ``summary.json`` in the folder, and no live process holding its
    lock (a run starting, between two trials or between its stages has no trial running for a moment)."""
    from ..pipelines.search import PIPELINE, RUN_DATABASE

    database = sqlite_path(study.storage_url)
    if database is None or Path(database).name != RUN_DATABASE or study.user_attrs.get("pipeline") != PIPELINE:
        return False
    if counts.get("RUNNING") or not (counts.get("WAITING") or not study.user_attrs.get("search_done")):
        return False
    folder = Path(database).parent  # a run at work now (starting, between trials or stages) holds its lock
    return not (folder / "summary.json").is_file() and not _run_lock_held(folder)


def _outputs_unwritten(study: Any, counts: dict[str, int]) -> bool:
    """Whether ``study`` is the study of a ``nasforge search`` run (in a study.db) whose trials are all done (the
    search finished, some trial complete, none running or waiting) but whose run folder holds no ``summary.json``:
    the run was killed while it wrote its outputs, which ``nasforge resume`` writes. The run folder is the
    database's own when the run stored its study there (wherever the folder is now), else the ``--out`` it recorded
    (a study kept in a storage file elsewhere), when that folder is there to look in (moved: unknown, no line)."""
    from ..experiment.stages import search_config
    from ..pipelines.search import PIPELINE, RUN_DATABASE

    database = sqlite_path(study.storage_url)
    if database is None or Path(database).name != RUN_DATABASE or study.user_attrs.get("pipeline") != PIPELINE:
        return False
    done = study.user_attrs.get("search_done") and counts.get("COMPLETE") and not (counts.get("RUNNING")
                                                                                   or counts.get("WAITING"))
    config = search_config(study.user_attrs)
    out, storage = config.get("out"), config.get("storage")
    stored_at = sqlite_path(storage) if isinstance(storage, str) else None
    folder = Path(database).parent
    if isinstance(out, str) and not _in_folder(Path(stored_at or database), Path(out)):
        folder = Path(out)  # stored outside its run folder
    return bool(done) and folder.is_dir() and not (folder / "summary.json").is_file()


def _in_folder(database: Path, out: Path) -> bool:
    """Whether a run recorded its study's ``database`` in its own ``out`` folder: the same folder, or a relative
    path naming it (as releases before 2026-12-07 recorded a typed ``--storage``)."""
    folder = database.parent
    if database.is_absolute():
        return folder == out
    count = len(folder.parts)
    return 0 < count <= len(out.parts) and out.parts[-count:] == folder.parts


FRONT_SHOWN = 10
"""Pareto-optimal trials ``nasforge status`` lists in its table (JSON lists them all)."""


def _front_member(study: Any, trial: Any) -> dict[str, Any]:
    """A Pareto-optimal trial as ``status`` shows it: its number, objective values and architecture."""
    return {"trial": trial.number, **{o: trial.metrics[o] for o in study.objectives},
            "arch": study.arch_text[trial.number]}


@storage_errors_as_usage()
def cmd_trials(args: argparse.Namespace) -> int:
    """JSON is strict: NaN and infinite values are written as null. ``--out`` replaces only an empty file or, with
    ``--overwrite``, an earlier export of this command (in any format), and atomically."""
    from ..experiment._export import (ATTR_PREFIX, METRIC_PREFIX, json_text, metric_column, metric_names,
                                      trials_dataframe)
    from ..experiment.stages import stage_of
    from ..pipelines.search import is_staged, with_stages
    from ..strategies.constraints import parse_constraints
    from ..writes import check_target, write_atomic

    if args.out == "-":
        args.out = None
    args.format = _trials_format(args.format, args.out)
    if args.out:  # an earlier export in any --format is this command's own output
        check_target(args.out, "--out", lambda path: any(is_ours(path) for is_ours in TRIALS_EXPORTS.values()),
                     "an earlier 'nasforge trials' export", overwrite=args.overwrite)
    elif args.overwrite:
        raise UsageError("--overwrite applies to an --out file; standard output has nothing to replace")
    states = _states(args.state)
    study = _load(args, "trials")
    # the columns, whichever trials are shown: metrics, stage, user attributes (docs/engine.md)
    known = metric_names(study.objectives, study.trials)
    staged = is_staged(study)
    attrs = list(dict.fromkeys(ATTR_PREFIX + key for t in study.trials for key in t.user_attrs))
    shown = [t for t in study.trials if states is None or t.state in states]
    study.trials = shown[-args.limit:] if args.limit else shown
    # with --constraints: whether each complete search trial breaks them (as status counts them; None: not judged)
    judged = {t.number: bool(v > 0) for t, v in zip(study.complete, study.violations())} if study.constraints else {}
    # the columns this command adds: a metric of their name is shown as metric_NAME beside them
    added = {*(("infeasible",) if study.constraints else ()), *(("stage",) if staged else ())}

    def column(name: str) -> str:
        return METRIC_PREFIX + name if name in added else metric_column(name)

    out = _FileText() if args.out else io.StringIO()  # a table for stdout is measured as stdout writes it
    if args.format == "json":
        data = study.to_json()
        for row, trial in zip(data["trials"], study.trials):
            if staged:  # as the table shows it: a search trial stores no stage
                row["stage"] = stage_of(trial)
            if study.constraints:
                row["infeasible"] = judged.get(trial.number)
        # a search stored before 2026-12-06 may hold its storage password in its user_attrs: never print it
        out.write(mask_passwords(json.dumps(data, indent=1, allow_nan=False)) + "\n")
    elif args.format == "csv":
        frame = trials_dataframe(study.trials, lambda t: study.arch_text[t.number], known)
        if "infeasible" in added and "infeasible" in known:  # with_stages renames a metric 'stage' itself
            frame = frame.rename(columns={"infeasible": METRIC_PREFIX + "infeasible"})
        frame = frame.reindex(columns=[*(c for c in frame if not c.startswith(ATTR_PREFIX)), *attrs])
        if study.constraints:  # last: after the columns of earlier versions, which readers may index
            frame["infeasible"] = [judged.get(t.number) for t in study.trials]
        with_stages(frame, study.trials, staged).to_csv(out, index=False)
    else:
        trials = study.to_json()["trials"]
        tested = "test_acc" not in study.objectives and any("test_acc" in t["metrics"] for t in trials)
        budgets = any(t.fidelity for t in study.trials)  # Hyperband/BOHB: a budget-1 result is not a full one
        rerun = any(t.attempts > 1 for t in study.trials)
        # with --constraints: the constrained metrics, and which search trials break them (judged above)
        limited = [m for m in dict.fromkeys(c.metric for c in parse_constraints(study.constraints))
                   if m not in study.objectives]
        # a metric named like a trial's own column (number, cost, ...) is shown as the CSV names it: metric_NAME
        shown_metrics = [column(m) for m in (*study.objectives, *limited)]
        keep = ("number", "state", *(("stage",) if staged else ()), "arch", *(("fidelity",) if budgets else ()),
                *shown_metrics, *(("infeasible",) if study.constraints else ()),
                *(("test_acc",) if tested else ()), "cost", "error", "retry_of", *(("attempts",) if rerun else ()))
        rows = []
        for trial, t in zip(trials, study.trials):
            metrics = {column(name): value for name, value in trial["metrics"].items()}
            flat = {**trial, **metrics, "stage": stage_of(t), "fidelity": json_text(t.fidelity),
                    "attempts": t.attempts if t.attempts > 1 else None,
                    "infeasible": "yes" if judged.get(t.number) else None}
            rows.append({k: flat.get(k) for k in keep})
        print_rows(rows, "table", out=out, digits=significant_decimals(rows, [*shown_metrics, "test_acc", "cost"]))
    if args.out:
        write_atomic(args.out, out.getvalue(), "--out")
    else:
        _write_stdout(out.getvalue())
    return 0


def _write_stdout(text: str) -> None:
    """``text`` on standard output as its encoding writes it (a lone surrogate from a file name that is not UTF-8
    comes out as the original byte where the stream escapes surrogates, as under the C locale); what the encoding
    cannot write (a lone surrogate on a strict UTF-8 stream, ``é`` on an ASCII one) as its backslash escape."""
    try:
        sys.stdout.write(text)  # encoded whole before anything is written: a refusal writes nothing
    except UnicodeEncodeError:
        encoding = sys.stdout.encoding or "utf-8"
        sys.stdout.write(text.encode(encoding, "backslashreplace").decode(encoding))


class _FileText(io.StringIO):
    """Text for a file ``--out`` names, which is written in UTF-8 whatever standard output's encoding."""

    encoding = "utf-8"


SUFFIX_FORMATS = {".csv": "csv", ".json": "json"}
"""The ``--format`` of ``trials`` that an ``--out`` file's suffix names (any case)."""

COMPRESSED_SUFFIXES = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zst": "zstd", ".zip": "zip"}
"""``--out`` suffixes of ``trials`` that name a compressed file (any case): it writes none."""

REFUSED_SUFFIXES = {**COMPRESSED_SUFFIXES, ".tsv": "tab-separated", ".parquet": "Parquet", ".feather": "Feather",
                    ".arrow": "Arrow", ".xlsx": "Excel", ".xls": "Excel", ".h5": "HDF5", ".hdf5": "HDF5",
                    ".pkl": "pickle", ".pickle": "pickle"}
"""``--out`` suffixes of ``trials`` that name a kind of file it does not write (any case)."""


def _trials_format(given: str | None, out: str | None) -> str:
    """``--format`` of ``trials``: the one given, else that of the ``--out`` suffix (.csv, .json), else table; a
    UsageError when a given format disagrees with such a suffix, or for a suffix of a compressed or tab-separated
    file, a tab-separated, Parquet, Excel or other file of :data:`REFUSED_SUFFIXES` (not written: the table in a
    file named so would be refused where such a file is read)."""
    suffix = Path(out).suffix.lower() if out else ""
    if suffix in REFUSED_SUFFIXES:
        base = Path(out).with_suffix("")
        plain = base if base.suffix.lower() in (".csv", ".json") else base.with_suffix(".csv")  # x.tar.gz: x.csv
        later = " and compress it afterwards" if suffix in COMPRESSED_SUFFIXES else ""
        raise UsageError(f"--out {out!r}: trials writes no {REFUSED_SUFFIXES[suffix]} file, only plain CSV (.csv), "
                         f"JSON (.json) or the table (another name): write e.g. --out {plain}{later}")
    implied = SUFFIX_FORMATS.get(suffix)
    if given is not None and implied is not None and given != implied:
        raise UsageError(f"--format {given} does not match --out {out!r} (a .{implied} file): leave out --format, or "
                         f"name the file for {given}")
    return given or implied or "table"


def _states(text: str | None) -> set[Any] | None:
    """``--state``: the trial states it names (None: every state); an unknown name is a UsageError naming the
    states."""
    from ..experiment import TrialState

    if text is None:
        return None
    names = [name.strip().upper() for name in text.split(",")]
    known = [state.value for state in TrialState]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UsageError(f"--state: unknown state(s) {', '.join(map(repr, unknown))}; use {', '.join(known)}")
    return {TrialState(name) for name in names}


def _state_counts(counts: dict[str, int], by_stage: dict[str, dict[str, int]]) -> str:
    """Trials per state, each split by stage when the study has stages: "complete 4 (3 search, 1 retrain), ..."."""
    parts = []
    for state, n in sorted(counts.items()):
        split = ", ".join(f"{count} {stage}" for stage, count in by_stage.get(state, {}).items())
        parts.append(f"{state.lower()} {n}" + (f" ({split})" if split else ""))
    return ", ".join(parts)


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _is_trials_json(path: Path) -> bool:
    """A study as ``trials --format json`` writes it."""
    try:
        data = json.loads(_text(path))
    except ValueError:
        return False
    return isinstance(data, dict) and {"name", "space", "objectives", "directions", "trials"} <= set(data)


def _is_trials_csv(path: Path) -> bool:
    """``trials --format csv``: the header starts with the columns number, state, arch."""
    return _text(path).startswith(("number,state,arch,", "number,state,arch\n"))


def _is_trials_table(path: Path) -> bool:
    """``trials --format table``: a header row (number state [stage] arch ...), one block per trial starting with
    ``number`` and ``state`` lines (a table too wide for the terminal), or ``(none)``."""
    lines = [line.split() for line in _text(path).splitlines() if line.strip()][:2]
    if lines == [["(none)"]]:
        return True
    return bool(lines) and (lines[0][:3] in (["number", "state", "arch"], ["number", "state", "stage"])
                            or (len(lines) == 2 and lines[0][0] == "number" and lines[1][0] == "state"))


TRIALS_EXPORTS: dict[str, Callable[[Path], bool]] = {"json": _is_trials_json, "csv": _is_trials_csv,
                                                     "table": _is_trials_table}
"""Per ``--format``: whether an existing file is an earlier export of ``trials`` in that format (``--overwrite``
replaces one of any format)."""


def _given_kwargs(args: argparse.Namespace) -> dict[str, Any] | None:
    """``--evaluator-kwargs`` parsed (None when not given); checked before anything is opened."""
    if args.evaluator_kwargs is None:
        return None
    if not args.evaluator:
        raise UsageError("--evaluator-kwargs needs --evaluator")
    return json_object(args.evaluator_kwargs, "--evaluator-kwargs")


def _spec(args: argparse.Namespace, given: dict[str, Any] | None,
          recorded: dict[str, Any] | None) -> tuple[dict[str, Any], bool]:
    """The evaluator to rebuild and whether the user named it (a recorded one is checked against
    the allow-list of nasforge's own factories)."""
    if not args.evaluator:
        if not recorded:
            raise UsageError("the study recorded no evaluator (a study made in Python records one only when "
                             "optimize() is given evaluator_spec=); pass --evaluator package.module:callable, a "
                             f"function of yours that returns the evaluator (see {FACTORY_DOCS})")
        return recorded, False
    if given is None:  # the recorded keyword arguments, if it is the same factory
        same = isinstance(recorded, dict) and recorded.get("factory") == args.evaluator
        given = dict(recorded.get("kwargs") or {}) if same else {}
    return {"factory": args.evaluator, "kwargs": given}, True


def _recorded_path_hint(spec: dict[str, Any], error: str) -> str:
    """How to resume a study whose recorded evaluator ``spec`` names a file or folder not found (``error``): from
    where its relative paths were written, when the path missing is a recorded relative one looked for from here,
    or naming the evaluator with the paths changed."""
    kwargs = shlex.quote(json.dumps(spec["kwargs"]))
    change = (f"pass the recorded evaluator arguments with the path changed: --evaluator {spec['factory']} "
              f"--evaluator-kwargs {kwargs} (they replace the recorded ones)")
    relative = [value for value in spec["kwargs"].values() if isinstance(value, str) and value
                and not os.path.isabs(value) and (str(Path(value).absolute()) in error
                                                  or ((os.sep in value or Path(value).suffix) and value in error))]
    if not relative:
        return change
    return (f"the study's recorded evaluator arguments name {relative[0]!r}, a relative path looked for from the "
            f"current directory: resume from the directory the study was run in, or {change}")


def cmd_resume(args: argparse.Namespace) -> int:
    import warnings

    from ..experiment import Study, TrialState
    from ..experiment.evaluator_spec import build_evaluator, check_spec, resolve
    from ..experiment.trial import error_line

    given = _given_kwargs(args)
    options = None if args.executor_options is None else json_object(args.executor_options, "--executor-options")
    with storage_errors_as_usage():  # the storage's failures once the run has started stay errors of the run
        storage = _resolve(args, "resume", readonly=False)
        record = storage.load_study(args.study)
    if record.user_attrs.get("pipeline"):  # a whole job (nasforge search): every stage
        ignored = [option for option, value in (("--evaluator", args.evaluator), ("--executor", args.executor),
                                                ("--executor-options", args.executor_options),
                                                ("--pruner", args.pruner), ("--trial-timeout", args.trial_timeout),
                                                ("--no-trial-timeout", args.no_trial_timeout or None),
                                                ("--timeout", args.timeout), ("--no-timeout", args.no_timeout or None),
                                                ("--max-failure-rate", args.max_failure_rate))
                   if value is not None]
        if ignored:
            raise UsageError(f"{', '.join(ignored)}: study {args.study!r} was made by nasforge search, whose resume "
                             "rebuilds its recorded evaluators, executor, pruner and trial timeout (only "
                             f"{', '.join(SEARCH_RESUME_OPTIONS)} apply)")
        from ..pipelines import resume as resume_pipeline
        from .output import job_console

        crash_reruns = {} if args.max_crash_reruns is None else {"max_crash_reruns": args.max_crash_reruns}
        resume_pipeline(args.study, args.storage, workers=args.workers, console=job_console(),
                        progress=not args.no_progress, **crash_reruns)
        return 0
    def load() -> Any:
        _check_space_known(record, storage.url)
        with storage_errors_as_usage():
            return Study.load(args.study, storage)

    try:
        study = load()
    except UsageError:
        if not args.evaluator:
            raise
        # a space, strategy or surrogate the study needs may be registered by the module the user named
        resolve(check_spec(args.evaluator, "--evaluator")["factory"])
        study = load()
    config = study.run_config or {}
    if not config:
        from ..experiment.study import no_run_to_resume

        raise UsageError(no_run_to_resume(study.name, args.storage, len(study.waiting())))
    from ..experiment.identity import STALE_AFTER

    overrides: dict[str, Any] = {"progress": not args.no_progress}
    if args.workers is not None:
        overrides["n_workers"] = args.workers
        overrides["max_pending"] = None
    dropped: list[str] = []
    if args.executor is not None:
        from ..experiment.executors import carried_options

        overrides["executor"] = args.executor
        overrides["executor_options"], dropped = carried_options(config.get("executor_options"), args.executor)
    if options is not None:  # the user's own, so trusted: they replace the recorded ones
        from ..experiment.executors import check_option_names

        check_option_names(overrides.get("executor", config.get("executor", "inline")), options)
        overrides["executor_options"], dropped = options, []
    if args.trial_timeout is not None or args.no_trial_timeout:
        overrides["trial_timeout"] = args.trial_timeout
    if args.timeout is not None or args.no_timeout:
        overrides["timeout"] = args.timeout
    if args.pruner is not None:
        overrides["pruner"] = parse_pruner(args.pruner)
    if args.max_crash_reruns is not None:
        overrides["max_crash_reruns"] = args.max_crash_reruns
    if args.max_failure_rate is not None:
        overrides["max_failure_rate"] = None if args.max_failure_rate == "none" else args.max_failure_rate
    if not study.work_left(config.get("stale_after", STALE_AFTER)):  # no worker started, no evaluator needed
        from ..experiment.study import check_resume_options

        check_resume_options(study.name, config, overrides)  # refused as Study.resume refuses them
        why = (f"; the strategy has no new architecture to propose ({study.n_proposals} proposals of the target "
               f"{config.get('n_trials_total')})" if study.exhausted else "")
        done = counted(sum(t.done for t in study.trials), "trial")
        print(f"study {study.name!r} is finished: {done}{why}, nothing to resume")
        return 0
    if args.executor is not None and options is None:  # the recorded options it carries over, as Study.resume does
        from ..experiment.executors import check_stored_options

        check_stored_options(study.name, args.executor, overrides["executor_options"])
    spec, named = _spec(args, given, config.get("evaluator"))
    overrides["evaluator_spec"] = spec

    database = Path(path).parent if (path := sqlite_path(storage.url)) is not None else None
    try:
        evaluator = build_evaluator(spec, trusted=named, folder=database)
    except MissingFileError as exc:
        if given is not None or not spec.get("kwargs"):
            raise
        raise MissingFileError(f"{exc}; {_recorded_path_hint(spec, str(exc))}") from None
    started = time.monotonic()
    with warnings.catch_warnings():  # the last line below names the failures: not twice
        warnings.filterwarnings("ignore", category=AllTrialsFailedWarning)
        warnings.filterwarnings("ignore", category=TrialFailedWarning)
        study.resume(evaluator, **overrides)
    if dropped:  # after the run: an error stays one line
        print(f"note: the recorded executor options {', '.join(dropped)} did not apply to --executor "
              f"{args.executor} and were left out", file=sys.stderr)
    total = sum(t.done for t in study.trials)
    ran = [t for t in study.trials if t.done and t.worker == study.worker_id]  # not those of a concurrent resume
    failed = [t for t in ran if t.state == TrialState.FAILED]
    last = error_line(failed[-1]) if failed else ""
    errors = f" ({len(failed)} failed, the last: {last:.200})" if failed else ""
    best = ""
    if study.completed(searched_only=True) and not study.is_multi_objective:
        best = f", best {study.objectives[0]}={study.best_value:.6g}"
    print(f"study {study.name!r}: {counted(len(ran), 'trial')} finished in this run{errors}, {total} in total so far"
          f"{best}{_still_to_do(study, config, overrides, time.monotonic() - started)}")
    return 0


def _check_space_known(record: Any, url: str) -> None:
    """A UsageError saying how to go on when the study searches a space of the user's own, which a new process
    (this command) does not know: registered by the user's script, it is resumed from Python."""
    from ..spaces import SPACES

    if record.space in SPACES or "layers" in (record.space_config or {}):  # a chain space rebuilds from its layers
        return
    raise UsageError(f"study {record.name!r} searches the space {record.space!r}, which nasforge does not know (a "
                     f"space of your own, registered by your script): resume it from Python, where it is registered: "
                     f"register_space({record.space!r}, MySpace); Study.load({record.name!r}, "
                     f"{display_url(url)!r}).resume(evaluator)")


def _still_to_do(study: Any, config: dict[str, Any], overrides: dict[str, Any], elapsed: float) -> str:
    """What the study still lacks after a resume that ran ``elapsed`` seconds: trials other live processes are
    running, and the trials left when the time limit stopped this run ("" when it is finished)."""
    from ..experiment.identity import STALE_AFTER, is_orphan

    stale_after = config.get("stale_after", STALE_AFTER)
    now = time.time()
    others = [t for t in study.trials if t.state.value == "RUNNING" and t.worker != study.worker_id
              and not is_orphan(t, now, stale_after)]
    running = f"; {counted(len(others), 'trial')} still running in another process" if others else ""
    timeout = overrides.get("timeout", config.get("timeout"))
    left = study.work_left(stale_after)
    if timeout is None or not left or elapsed < timeout:  # a live process's queued WAITING trials: not left over
        return running
    return (f"{running}; stopped by the time limit ({timeout:g} s{'' if 'timeout' in overrides else ', recorded'}) "
            f"with {left} of the target's trials left: resume again, or pass --timeout SECONDS or --no-timeout")


def _live_trials(trials: list[Any]) -> list[Any]:
    """RUNNING trials whose worker is alive (:func:`~nasforge.experiment.identity.is_orphan` with the engine's
    default ``stale_after``)."""
    from ..experiment.identity import is_orphan

    now = time.time()
    return [t for t in trials if t.state.value == "RUNNING" and not is_orphan(t, now)]


@storage_errors_as_usage()
def cmd_delete(args: argparse.Namespace) -> int:
    from ..experiment.storage.base import DamagedRowError

    storage = _resolve(args, "delete", readonly=False)
    try:
        record = storage.load_study(args.study)
        live = _live_trials(storage.trials(record.id))
    except DamagedRowError as exc:  # its live workers cannot be told: deleted only when forced
        if not (args.force and args.yes):
            raise UsageError(f"{exc}; to delete the study anyway, pass --yes --force") from None
        live = []
    if live and not args.force:
        first = live[0]
        raise UsageError(f"study {args.study!r} is running: {len(live)} trial(s) in progress (trial {first.number} "
                         f"on worker {first.worker}, heartbeat {time.time() - first.heartbeat:.0f} s ago); stop that "
                         "run first, or pass --force to delete it anyway (the run then stops, saying the study was "
                         "deleted)")
    if not args.yes:
        raise UsageError(f"this deletes study {args.study!r} and all its trials; pass --yes to confirm")
    storage.delete_study(args.study)
    print(f"deleted study {args.study!r} from {display_url(args.storage)}")
    return 0
