"""Storage in a SQL database through SQLAlchemy 2 Core: SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

import atexit
import contextlib
import json
import math
import os
import random
import re
import sqlite3
import time
import urllib.parse
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ...checks import is_number, is_real
from ...exceptions import (EmptyStorageError, ForeignStorageError, MissingStorageError, StorageFileMovedError,
                           StudyExistsError, StudyNotFoundError, UsageError)
from ...extras import missing_dependency, require
from ...pareto import DIRECTIONS
from ...spaces import Architecture, SearchSpace
from ..trial import Trial, TrialState
from .display import PASSWORD_NOT_RECORDED, display_url, some_names
from .base import (MAX_LABEL_LENGTH, SCHEMA_VERSION, DamagedRowError, MakeTrial, Storage, StorageError,
                   StorageUnreachableError, StudyId, StudyRecord, StudySummary, WriteRightsError, check_name,
                   check_utf8_name, checked_fields, closed_error, deleted_error, finished_error, is_utf8,
                   keep_target, valid_target)

sa = require("sqlalchemy", "a sqlite:/// or postgresql:// storage")

DURABILITY = {"full": "FULL", "normal": "NORMAL"}
BUSY_TIMEOUT = 60.0
"""Seconds a SQLite connection waits for another process's write lock before giving up."""
FINISHED = [state.value for state in TrialState if state.finished]
"""The stored states ``finish_trial`` never overwrites."""
SCHEMA_ATTEMPTS = 8
"""Tries at creating the tables when other processes create them at the same moment."""

_meta = sa.MetaData()
_info = sa.Table("nasforge_meta", _meta,
                 sa.Column("key", sa.String(64), primary_key=True),
                 sa.Column("value", sa.String(256), nullable=False))
_studies = sa.Table(
    "nasforge_studies", _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(256), nullable=False, unique=True),
    sa.Column("space", sa.String(MAX_LABEL_LENGTH), nullable=False),
    sa.Column("space_config", sa.Text, nullable=False),
    sa.Column("objectives", sa.Text, nullable=False),
    sa.Column("directions", sa.Text, nullable=False),
    sa.Column("strategy", sa.String(MAX_LABEL_LENGTH), nullable=False),
    sa.Column("strategy_config", sa.Text),
    sa.Column("strategy_state", sa.Text),
    sa.Column("run_config", sa.Text),
    sa.Column("seed", sa.BigInteger),
    sa.Column("user_attrs", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("n_trials", sa.Integer, nullable=False, default=0),
    sa.Column("n_events", sa.Integer, nullable=False, default=0),
    sqlite_autoincrement=True,  # ids are never reused (older files: see StudyId)
)
_trials = sa.Table(
    "nasforge_trials", _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("study_id", sa.Integer, sa.ForeignKey("nasforge_studies.id", ondelete="CASCADE"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("arch", sa.Text, nullable=False),
    sa.Column("arch_key", sa.Text, nullable=False),
    sa.Column("genotype", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("fidelity", sa.Text),
    sa.Column("metrics", sa.Text, nullable=False),
    sa.Column("intermediate", sa.Text, nullable=False),
    sa.Column("cost", sa.Float, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("worker", sa.String(128)),
    sa.Column("heartbeat", sa.Float),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),
    sa.Column("retry_of", sa.Integer),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("ask_seq", sa.Integer),
    sa.Column("tell_seq", sa.Integer),
    sa.Column("event", sa.Integer, nullable=False),
    sa.Column("user_attrs", sa.Text),  # schema 2
    sa.Column("tell_strategy", sa.Boolean),  # schema 2; NULL means True
    sa.UniqueConstraint("study_id", "number", name="uq_nasforge_trial_number"),
    sa.Index("ix_nasforge_trials_event", "study_id", "event"),
)


def _sqlite_engine(parsed: sa.URL, url: str, sync: str, readonly: bool, create: bool,
                   timeout: float) -> sa.Engine:
    """A SQLite engine in WAL mode; read-only: the file must exist and is opened with ``mode=ro``
    (no journal-mode change, nothing written); ``create=False``: the file must exist."""
    path = parsed.database or ""
    check_sqlite_query(url, readonly)
    check_sqlite_path(path, url)
    if (readonly or not create) and (path == ":memory:" or not os.path.isfile(path)):
        raise MissingStorageError(f"no database file {path!r} (storage {url}): no study was stored there; check "
                                  "the path (on the command line: --storage)")
    if readonly:
        real = os.path.realpath(path)  # a writer keeps its log beside the real file, not beside a symbolic link

        def connect() -> sqlite3.Connection:
            # decided anew for every read (no pooling), so a long-lived reader sees what a writer that started
            # later commits: a WAL database no writer has open is read as immutable (see _ImmutableRead), any
            # other with SQLite's locks (a writer's lock on a file in another journal mode is waited for)
            uri = f"file:{urllib.parse.quote(os.fsencode(real))}?mode=ro"  # bytes: a name that is not UTF-8 too
            stamp = _file_stamp(real)  # before the look for a log: a writer starting after it changes the stamp
            if not _unlogged_wal(real):
                return sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)
            reader = sqlite3.connect(uri + "&immutable=1", uri=True, factory=_ImmutableRead, check_same_thread=False)
            reader.path, reader.stamp = real, stamp
            return reader

        engine = sa.create_engine("sqlite://", creator=connect, poolclass=sa.pool.NullPool)
    else:
        if not is_utf8(path):  # SQLAlchemy hands SQLite the path as UTF-8 text (readers get its bytes, above)
            raise ForeignStorageError(f"storage {url!r}: the path of the database file holds a byte that is not "
                                      "UTF-8 text, so it cannot be opened for writing: move or rename it to a UTF-8 "
                                      "name (the read-only commands, status, trials, report, export, read it where "
                                      "it is)")
        if path and path != ":memory:" and os.path.isfile(path):
            _check_file(path, url, require_ours=not create)  # before the WAL pragma touches the file
        engine = sa.create_engine(parsed, connect_args={"timeout": timeout})
        _WRITERS[engine] = os.getpid()  # its pooled connections are closed at exit

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        if not readonly:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={sync}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


class _ImmutableRead(sqlite3.Connection):
    """A read-only connection to a WAL database no writer had open (no -wal file beside it), opened as immutable so
    that SQLite creates no -wal/-shm side files (and a read-only medium works). SQLite then takes no lock: a
    writer that starts and ends during the read (its last close folds its log into the file) may change the file
    under it, so the file's stamp before the open is compared after the read (:func:`_check_unchanged`)."""

    path: str
    stamp: tuple[int, int, int] | None


def _file_stamp(path: str) -> tuple[int, int, int] | None:
    """(inode, size, modification time) of the file ``path``; None when it is not there."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _unlogged_wal(path: str) -> bool:
    """Whether the SQLite file ``path`` is in WAL mode (its header's read and write versions are 2) with no -wal
    file beside it; False for a file in another journal mode, a writer at work, or a file that cannot be read
    (opened as usual, which says why)."""
    try:
        with open(path, "rb") as file:
            wal_mode = file.read(20)[18:20] == b"\x02\x02"
    except OSError:
        return False
    return wal_mode and not os.path.exists(path + "-wal")


def _check_unchanged(conn: sa.Connection, shown: str) -> None:
    """A StorageError when ``conn`` read a WAL database as immutable (:class:`_ImmutableRead`) and the file changed
    since it was opened: what was read may mix two states. Nothing to check for any other connection."""
    dbapi = conn.connection.dbapi_connection
    if isinstance(dbapi, _ImmutableRead) and _file_stamp(dbapi.path) != dbapi.stamp:
        raise StorageError(f"storage {shown!r}: the database file changed while it was read (a writer started or "
                           "ended meanwhile), so what was read may be half old, half new; try again")


_WRITERS: weakref.WeakKeyDictionary[sa.Engine, int] = weakref.WeakKeyDictionary()
"""The engines of writable SQLite files still alive -> the process that made them (disposed at exit)."""


@atexit.register
def _dispose_at_exit() -> None:
    """Close the pooled connections of every writable SQLite engine at a normal exit (in the process that made
    it, not in a forked child): the last connection to close folds the write-ahead log into the database file
    and removes the -wal/-shm files, so the .db alone holds every study. A connection the interpreter drops
    at exit may not be closed, leaving the studies in the -wal file. Keep-alive threads stop first: a beat
    after the close would open a connection that nothing closes."""
    from ..keepalive import stop_all

    stop_all()
    for engine, pid in list(_WRITERS.items()):
        if pid == os.getpid():
            engine.dispose()


def check_sqlite_query(url: str, readonly: bool = False) -> None:
    """Refuse any '?' in a SQLite URL but ``?mode=ro`` in a read-only open (which is read-only anyway): SQLAlchemy
    ignores query parameters with a warning (``?mode=ro`` would still write), and drops a query without '=' (or
    an empty one) without a word, with the part of the file name after the '?'."""
    query = url.partition("?")[2]
    if "?" not in url or (readonly and query == "mode=ro"):
        return
    pairs = urllib.parse.parse_qsl(query)
    names = [name for name, value in pairs if not (readonly and (name, value) == ("mode", "ro"))]
    hint = ("; this opens it for writing: for read-only access use the read-only commands or "
            "open_storage(url, readonly=True)" if "mode" in names and not readonly else "")
    got = ", ".join(map(repr, names)) if names and all(names) else repr("?" + query)
    raise StorageError(f"storage {url!r}: a SQLite URL takes no query parameters but ?mode=ro in a read-only "
                       f"open (got {got}){hint}; write a '?' in a file name as %3F")


def check_sqlite_host(url: str) -> None:
    """Refuse a SQLite URL with a host part, ``sqlite://runs/x.db`` (two slashes): SQLAlchemy reads ``runs`` as a
    host, which SQLite has none of, and the rest as the path, so ``x.db`` would be looked for (or, for writing,
    refused as an invalid URL); the message gives the spelling meant, three slashes before a relative path."""
    prefix = next((p for p in ("sqlite+pysqlite://", "sqlite://") if url.startswith(p)), None)
    if prefix is None:
        return
    rest = url.removeprefix(prefix)
    host = rest.partition("/")[0].partition("?")[0]
    if host:
        raise ForeignStorageError(f"bad storage URL {url!r}: a SQLite URL has no host ({host!r} stands where it "
                                  f"would be); write three slashes before a relative path: {prefix}/{rest} (four "
                                  f"before an absolute one: {prefix}//tmp/studies.db)")


def check_sqlite_path(path: str, url: str) -> None:
    """Refuse a SQLite URL that names no database file (SQLite would say only "unable to open database file", or
    keep the studies in memory without a word): no file name, a folder, a file where a folder should be."""
    check_sqlite_host(url)
    if not path:
        raise ForeignStorageError(f"bad storage URL {url!r}: it names no database file (SQLite would keep the "
                                  "studies in memory and lose them at exit); use sqlite:///FILE.db")
    if path == ":memory:":
        return
    if os.path.isdir(path):
        from ...pipelines.search import RUN_DATABASE
        from . import bench_folder_hint

        run = os.path.isfile(os.path.join(path, RUN_DATABASE))  # a run folder: its study.db
        bench = bench_folder_hint(path)
        if bench and not run:
            raise ForeignStorageError(f"storage {url!r} names a folder: {bench.removesuffix('; ')}")
        raise ForeignStorageError(f"storage {url!r} names the folder {path!r}, not a database file; name a file in "
                                  f"it, e.g. sqlite:///{os.path.join(path, RUN_DATABASE if run else 'nasforge.db')}")
    blocker = next((p for p in Path(path).absolute().parents if os.path.exists(p) and not os.path.isdir(p)), None)
    if blocker is not None:
        raise ForeignStorageError(f"storage {url!r}: {str(blocker)!r} is a file, not a folder")


def _read_only_hint(path: str) -> str:
    """Why SQLite could not open the file ``path`` for writing when its folder is missing, or it or its folder is
    read-only ("" otherwise)."""
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        tilde = "; '~' is not expanded in a URL: write the full path" if path.startswith("~") else ""
        return f" (the folder {folder!r} does not exist: create it first{tilde})"
    wal = _unreadable_wal_hint(path)  # no read-only open can help then
    if wal:
        return wal
    path = os.path.abspath(path)
    for what, where in (("folder", os.path.dirname(path)), ("file", path)):
        if os.path.exists(where) and not os.access(where, os.W_OK):
            return (f" (the {what} {where!r} is read-only: SQLite writes the database and its -wal/-shm files; "
                    "read it with open_storage(url, readonly=True) or the read-only commands, or copy it to a "
                    "writable folder)")
    return ""


def _unreadable_wal_hint(path: str) -> str:
    """Why SQLite cannot open the file ``path`` in a read-only folder even for reading: a writer that did not exit
    normally left its log (-wal) beside it but no -shm index, which SQLite must create to read the log ("" when
    that is not the case)."""
    real = os.path.realpath(path)  # the log is beside the real file
    folder, name = os.path.split(real)
    if not os.path.isfile(real + "-wal") or os.path.exists(real + "-shm") or os.access(folder, os.W_OK):
        return ""
    return (f" ({name}-wal may hold results not yet in {name}, and SQLite must create {name}-shm to read it, which "
            f"the read-only folder {folder!r} does not allow: copy {name} and {name}-wal to a writable folder and "
            "open the copy)")


def _check_file(path: str, url: str, require_ours: bool, rolled_back: bool = False) -> None:
    """A SQLite file that holds another application's tables (and none of ours) is not written to;
    ``require_ours``: an empty file is refused too. A journal a crashed writer left (which the read-only look cannot
    roll back) is rolled back first, as any writable open does."""
    try:
        with _read_only(path) as raw:
            names = [r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            stored = (raw.execute("SELECT value FROM nasforge_meta WHERE key = 'schema_version'").fetchone()
                      if "nasforge_meta" in names else None)
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorname", None) == "SQLITE_READONLY_ROLLBACK" and not rolled_back:
            _roll_back_hot_journal(path, url)  # this open writes anyway: SQLite's own recovery, then look again
            return _check_file(path, url, require_ours, rolled_back=True)
        hint = _read_only_hint(path)
        if hint:  # a WAL database whose -shm file cannot be made, not a foreign file
            raise StorageError(f"cannot open storage {url!r}: {exc}{hint}") from None
        raise ForeignStorageError(f"cannot open storage {url!r}: {exc}") from None
    if stored is not None and str(stored[0]).isdigit():
        _refuse_newer(int(stored[0]), url)  # before the WAL pragma or a schema upgrade change the file
    _refuse_foreign(names, url)
    if require_ours and not names:  # no table at all
        raise _empty(url)


def _refuse_foreign(names: list[str], url: str) -> None:
    """A ForeignStorageError when the tables ``names`` of a SQLite file are all another application's."""
    if names and not any(n.startswith("nasforge_") for n in names):
        raise ForeignStorageError(f"storage {url!r} is another application's database (tables {sorted(names)[:5]}); "
                                  "nasforge keeps its studies in a file of its own")


def _roll_back_hot_journal(path: str, url: str) -> None:
    """Let SQLite roll back the transaction a crashed writer left in ``path``-journal (a writable open's first read
    does; a live writer's journal is no hot journal, it holds its lock), unless the file holds another application's
    tables (looked at without the journal: nothing is written to such a file); a failure is one StorageError."""
    try:
        with _read_only(path, immutable=True) as raw:
            names = [r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        _refuse_foreign(names, url)
        with contextlib.closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT)) as conn:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        hint = _read_only_hint(path) or (f": a writer stopped in the middle of a transaction and left {path}-journal, "
                                         "which could not be rolled back")
        raise StorageError(f"cannot open storage {url!r}: {exc}{hint}") from None


def _empty(url: str, conn: sa.Connection | None = None) -> ForeignStorageError:
    """The error for a database without tables; ``conn`` (PostgreSQL): names the database and schema looked in."""
    if conn is not None and conn.dialect.name == "postgresql":
        database, schema, path = conn.execute(sa.text("SELECT current_database(), current_schema(), "
                                                      "current_setting('search_path')")).one()
        if schema is None:  # no schema of the search_path exists
            return ForeignStorageError(f"storage {url!r}: the search_path ({path!r}) names no existing schema in "
                                       f"database {database!r}; check it (e.g. ?options=-csearch_path%3DNAME or "
                                       "PGOPTIONS), or create the schema")
        return EmptyStorageError(f"storage {url!r}: database {database!r} holds no tables in schema {schema!r}; "
                                   "check the database name and the search_path (e.g. ?options=-csearch_path%3DNAME "
                                   "or PGOPTIONS), or no study was written there yet")
    return EmptyStorageError(f"storage {url!r} is an empty database (no tables); nothing is stored there to read. "
                               "Such a file is left by a run killed as it started, or by a run that opened this path "
                               "after the real database was moved or renamed: if it was moved, give its new path "
                               "(on the command line: --storage); the empty file itself can be deleted")


DENIED = "42501"
"""PostgreSQL's SQLSTATE for insufficient_privilege ("permission denied", "must be owner")."""
LOCK_NOT_AVAILABLE = "55P03"
"""PostgreSQL's SQLSTATE for lock_not_available (a wait for a lock that ran past ``lock_timeout``)."""


RACE_STATES = ("23505", "40001", "40P01", "42P07", "42710", LOCK_NOT_AVAILABLE)
"""PostgreSQL SQLSTATEs of processes creating the tables at the same moment: unique_violation, serialization_failure,
deadlock_detected, duplicate_table, duplicate_object, lock_not_available."""


TRANSIENT_STATES = ("53300", "57P03")
"""PostgreSQL SQLSTATEs of a connection refused for a moment: too_many_connections, cannot_connect_now (the server
is starting up or shutting down)."""
TRANSIENT_WORDS = ("too many connections", "too many clients", "connection slots are reserved",
                   "the database system is starting up", "not yet accepting connections")
"""The same refusals in libpq's message (psycopg gives a refused connection no SQLSTATE)."""
TRANSIENT_WAITS = (1.0, 2.0, 4.0, 8.0)
"""Seconds between the tries of a connection a server refuses for a moment, once a storage is open (the pauses of
``scheduler.REQUEUE_WAITS``)."""


def _transient(exc: sa.exc.DBAPIError) -> bool:
    """Whether ``exc`` is a PostgreSQL server refusing a connection for a moment (full, or starting up): worth a
    second try, unlike a wrong password or a refused connection."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in TRANSIENT_STATES:
        return True
    return not isinstance(orig, sqlite3.Error) and any(word in str(orig).lower() for word in TRANSIENT_WORDS)


def _race(exc: sa.exc.DBAPIError) -> bool:
    """Whether ``exc`` is another process creating or locking the tables at the same moment, or a server refusing
    a connection for a moment (:func:`_transient`): worth a second try; not a connection, login, missing-database
    or missing-folder error (which fails the same way again)."""
    if isinstance(exc, sa.exc.IntegrityError):
        return True
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        return any(word in str(orig).lower() for word in ("locked", "busy", "already exists"))
    return getattr(orig, "sqlstate", None) in RACE_STATES or _transient(exc)


def _split_password(shown: str) -> str:
    """The error for a URL whose password holds an unencoded '@' (SQLAlchemy splits the URL at the first one)."""
    return (f"bad storage URL {shown!r}: it holds more than one '@', so the host would be read from inside the "
            "password; percent-encode @ : / ? # % in a password (@ as %40, : as %3A, / as %2F, ? as %3F, # as %23, "
            "% as %25)")


WRITE_RIGHTS = ("SELECT", "INSERT", "UPDATE", "DELETE")
"""The rights on nasforge's tables a role that writes studies needs."""


def _denied(exc: BaseException) -> bool:
    """Whether ``exc`` is the server refusing a right to the role (not a start-up race, not a bug)."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) == DENIED


def _role(url: sa.URL) -> str:
    """The role a PostgreSQL URL connects as, for messages."""
    user = url.username or os.environ.get("PGUSER")
    return f"role {user!r}" if user else "the role"


def _rights_denied(what: str, exc: BaseException, url: sa.URL) -> StorageError:
    """The error for a role the server refused a right on nasforge's tables (:func:`_denied`): ``what`` (the storage,
    as the message opens), the server's reason and the rights reading and writing need."""
    return StorageError(f"{what}: {_reason(exc)} ({_role(url)} lacks a right: reading needs SELECT on nasforge's "
                        "tables, writing INSERT, UPDATE and DELETE too)")


CONNECT_TIMEOUT = 10
"""Seconds a PostgreSQL connection waits for the server's answer when neither the URL (``?connect_timeout=N``) nor
``PGCONNECT_TIMEOUT`` sets it (psycopg's own default, 130 s, held every command that long on a server that accepts
and never answers)."""
LIBPQ_DRIVERS = ("psycopg", "psycopg2")
"""PostgreSQL drivers built on libpq, which take its ``connect_timeout``."""


def _other_postgres_driver(url: sa.URL, exc: BaseException) -> bool:
    """Whether ``exc`` is the missing driver of a PostgreSQL URL whose driver is not psycopg (``+psycopg2``,
    ``+asyncpg``, ``+pg8000``, or a name SQLAlchemy does not know)."""
    return (url.get_backend_name() == "postgresql" and url.get_driver_name() != "psycopg"
            and isinstance(exc, (ModuleNotFoundError, sa.exc.NoSuchModuleError)))


def _postgres_connect_args(url: sa.URL, readonly: bool) -> dict[str, Any]:
    """The driver's arguments for a PostgreSQL engine: read-only transactions for a read-only open
    (:func:`_read_only_options`), and :data:`CONNECT_TIMEOUT` where the user set no connect timeout."""
    args: dict[str, Any] = {"options": _read_only_options(url)} if readonly else {}
    if url.get_driver_name() in LIBPQ_DRIVERS and _given_connect_timeout(url) is None:
        args["connect_timeout"] = CONNECT_TIMEOUT
    return args


def _given_connect_timeout(url: sa.URL) -> str | None:
    """The connect timeout the user set, and where, as libpq reads it (the URL's before ``PGCONNECT_TIMEOUT``):
    ``"3 s of the URL's ?connect_timeout"``; None where neither sets one."""
    if "connect_timeout" in url.query:
        value = url.query["connect_timeout"]
        return f"{value[-1] if isinstance(value, tuple) else value} s of the URL's ?connect_timeout"
    if "PGCONNECT_TIMEOUT" in os.environ:
        return f"{os.environ['PGCONNECT_TIMEOUT']} s of PGCONNECT_TIMEOUT"
    return None


def _connect_timeout_hint(url: sa.URL) -> str:
    """The hint of a PostgreSQL server that accepted and never answered: the connect timeout that applied."""
    given = _given_connect_timeout(url)
    if given is not None:
        return f" (no answer within the connect timeout: {given})"
    return (f" (no answer within the connect timeout: {CONNECT_TIMEOUT} s unless the URL's ?connect_timeout=SECONDS "
            "or PGCONNECT_TIMEOUT sets another)")


def _read_only_options(url: sa.URL) -> str:
    """libpq ``options`` for a read-only PostgreSQL open: the user's (from the URL, else ``PGOPTIONS``, which a
    given ``options`` would replace) with read-only transactions added."""
    given = url.query.get("options", os.environ.get("PGOPTIONS", ""))
    given = " ".join(given) if isinstance(given, tuple) else given
    return f"{given} -c default_transaction_read_only=on".strip()


def _wait_for_locks_at_most(engine: sa.Engine, seconds: float) -> None:
    """Every new PostgreSQL session of ``engine`` waits at most ``seconds`` for a lock another session holds (as
    long as SQLite waits for a busy file, then a StorageError), unless a ``lock_timeout`` was set anywhere else
    (the URL's ``options``, ``PGOPTIONS``, ``ALTER DATABASE/ROLE ... SET``, the server's configuration): those
    win, a deliberate 0 (no limit) too."""
    @sa.event.listens_for(engine, "connect")
    def set_lock_timeout(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT source FROM pg_settings WHERE name = 'lock_timeout'")
            if cursor.fetchone()[0] == "default":
                cursor.execute(f"SET SESSION lock_timeout = {max(1, round(seconds * 1000))}")  # 0: no limit
        dbapi_connection.commit()


def _file_identity(url: sa.URL) -> tuple[str, tuple[int, int]] | None:
    """The absolute path and (device, inode) of a SQLite URL's file; None for an in-memory database."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = os.path.abspath(url.database)
    stat = os.stat(path)
    return path, (stat.st_dev, stat.st_ino)


UNREACHABLE_STATES = ("08", "57P")
"""SQLSTATE classes of a lost or refused server connection (connection_exception, operator_intervention)."""


def _unreachable(exc: sa.exc.DBAPIError, engine: sa.Engine) -> bool:
    """Whether ``exc`` says a database server could not be reached (not SQLite, not a lock or data error)."""
    if engine.dialect.name == "sqlite":
        return False
    state = getattr(exc.orig, "sqlstate", None)
    if state == LOCK_NOT_AVAILABLE:
        return False
    return bool(exc.connection_invalidated) or state is None or state.startswith(UNREACHABLE_STATES)


def _read_only(path: str, immutable: bool = False) -> contextlib.closing[sqlite3.Connection]:
    """A read-only stdlib connection to the SQLite file ``path`` (it changes nothing, not even a new file);
    ``immutable``: without SQLite's locks and journals (the file as it lies)."""
    uri = f"file:{urllib.parse.quote(os.fsencode(os.path.abspath(path)))}?mode=ro"  # bytes: a name not UTF-8 too
    uri += "&immutable=1" if immutable else ""
    return contextlib.closing(sqlite3.connect(uri, uri=True))


def holds_no_table(path: str | os.PathLike[str]) -> bool:
    """Whether the SQLite file ``path`` holds no table at all (e.g. a run was killed as it created the file), read
    without changing it; False when it cannot be read so (a journal to roll back, not SQLite): opening it says why."""
    try:
        with _read_only(os.fspath(path)) as raw:
            return raw.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    except sqlite3.DatabaseError:
        return False


def _stored_version(conn: sa.Connection) -> int | None:
    """The database's schema version; None before nasforge's tables exist."""
    if not sa.inspect(conn).has_table("nasforge_meta"):
        return None
    version = conn.execute(sa.select(_info.c.value).where(_info.c.key == "schema_version")).scalar()
    return None if version is None else _version(version, str(conn.engine.url))


def _version(text: Any, url: str) -> int:
    """The stored schema version as a number; a StorageError when the row is damaged."""
    if isinstance(text, int) or (isinstance(text, str) and text.isdigit()):
        return int(text)
    raise StorageError(f"storage {url!r} has a damaged schema version in nasforge_meta: {str(text)[:40]!r}, not a "
                       "number")


def _refuse_newer(version: int, url: str) -> None:
    """A database written by a newer nasforge is refused (before anything in it is changed)."""
    if version > SCHEMA_VERSION:
        raise StorageError(f"storage {url!r} has schema version {version}, newer than this nasforge understands "
                           f"({SCHEMA_VERSION}); upgrade nasforge to open it")


def _lock_schema(conn: sa.Connection) -> None:
    """Serialize schema creation: an immediate write lock (SQLite) or an advisory lock (PostgreSQL)."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif dialect == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(7466253210)"))


def _add_missing_columns(conn: sa.Connection) -> None:
    """Upgrade a version-1 database in place (columns added later are nullable)."""
    present = {c["name"] for c in sa.inspect(conn).get_columns("nasforge_trials")}
    for column in _trials.c:
        if column.name not in present:
            kind = column.type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(f"ALTER TABLE nasforge_trials ADD COLUMN {column.name} {kind}")


class _Rollback(Exception):
    """Internal: undo a transaction that turned out to change nothing."""


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=True, separators=(",", ":"))


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


class SQLStorage(Storage):
    """Studies in a SQL database reached by a SQLAlchemy URL.

    SQLite files run in WAL mode; ``durability="full"`` (default) syncs the log on every commit, so
    a trial reported finished is on disk; ``"normal"`` survives process crashes but not power loss.
    Several processes may use the same database at once.
    """

    @property
    def label_limit(self) -> int | None:
        """PostgreSQL enforces the VARCHAR(128) of the space and strategy columns; SQLite holds any length."""
        return MAX_LABEL_LENGTH if self._engine.dialect.name == "postgresql" else None

    def __init__(self, url: str, durability: str = "full", busy_timeout: float | None = None,
                 readonly: bool = False, create: bool = True) -> None:
        if durability not in DURABILITY:
            raise UsageError(f"unknown durability {durability!r}; choose from {sorted(DURABILITY)}")
        shown = display_url(url) if isinstance(url, str) else url  # error messages never show the password
        try:
            parsed = sa.engine.make_url(url)
        except sa.exc.ArgumentError as exc:
            raise StorageError(f"bad storage URL {shown!r}: {exc}") from None
        except ValueError as exc:  # int() of what follows the host
            if url.count("@") > 1:  # the "port" is a piece of the password: not shown
                raise StorageError(_split_password(shown)) from None
            raise StorageError(f"bad storage URL {shown!r}: its port is not a number ({exc}); write host:5432, and "
                               "an IPv6 host in brackets: [::1]:5432") from None
        if parsed.host and "@" in parsed.host:  # the host would be the password's tail (libpq's errors show it)
            raise StorageError(_split_password(shown))
        self.url, self.shown, self.readonly = url, shown, readonly
        self._closed = False
        self._busy_timeout = BUSY_TIMEOUT if busy_timeout is None else busy_timeout
        self._spaces: dict[int, SearchSpace] = {}
        self._warm: set[int] = set()  # studies whose space computed a canonical form here (see _warm_space)
        self._trial_select = sa.select(_trials)
        self._file: tuple[str, tuple[int, int]] | None = None  # a writable SQLite file: its path and identity
        try:
            if parsed.get_backend_name() == "sqlite":
                self._engine = _sqlite_engine(parsed, url, DURABILITY[durability], readonly, create,
                                              self._busy_timeout)
            else:
                self._engine = sa.create_engine(parsed, pool_pre_ping=True,
                                                connect_args=_postgres_connect_args(parsed, readonly))
                _wait_for_locks_at_most(self._engine, self._busy_timeout)
            if readonly or not create:
                _refuse_newer(self._check_schema_retried(), shown)
            if not readonly:
                _refuse_newer(self._init_schema(), shown)  # creates, or upgrades an older version in place
                self._file = _file_identity(parsed)
        except (sa.exc.SQLAlchemyError, ModuleNotFoundError) as exc:
            missing = missing_dependency(exc, "a PostgreSQL storage")  # its driver (psycopg) is not installed
            if missing is not None:
                raise missing from None
            if _other_postgres_driver(parsed, exc):
                raise StorageError(f"cannot open storage {shown!r}: {_reason(exc)}; nasforge's postgres extra "
                                   "installs psycopg 3: write the URL as postgresql+psycopg://...") from None
            if _denied(exc):
                raise _rights_denied(f"cannot open storage {shown!r}", exc, parsed) from None
            sqlite_file = parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
            hint = (_unreadable_wal_hint if readonly else _read_only_hint)(parsed.database) if sqlite_file else ""
            if "no password supplied" in _reason(exc):  # e.g. a printed resume command, which never holds it
                hint = f" ({PASSWORD_NOT_RECORDED.replace('is not recorded', 'is not in the URL')})"
            if "timeout expired" in _reason(exc) and not sqlite_file:  # the server accepted and never answered
                hint = _connect_timeout_hint(parsed)
            raise StorageError(f"cannot open storage {shown!r}: {_reason(exc)}{hint}") from None

    # -- schema --------------------------------------------------------------------------------
    def _init_schema(self) -> int:
        """Create (or upgrade) the tables; idempotent and safe when several processes start at once."""
        def worth_retry(exc: sa.exc.DBAPIError, took: float) -> bool:
            # a missing right is no start-up race (trying again cannot help), nor a lock held for the whole busy
            # timeout (say so now); a connection, login or missing-database error fails the same way again
            return not _denied(exc) and _race(exc) and took < self._busy_timeout

        try:
            return self._retried(self._init_schema_once, worth_retry)
        except (sa.exc.OperationalError, sa.exc.IntegrityError, sa.exc.ProgrammingError) as exc:
            if _denied(exc):
                raise self._schema_denied(exc) from None
            raise

    def _init_schema_once(self) -> int:
        """One attempt of :meth:`_init_schema`, in one transaction."""
        with self._engine.begin() as conn:
            _lock_schema(conn)  # one creator at a time; the others then find the tables
            version = _stored_version(conn)
            if version is not None and version > SCHEMA_VERSION:
                return version  # a newer nasforge's database: refused as it is, nothing changed
            _meta.create_all(conn, checkfirst=True)
            _add_missing_columns(conn)
            if version is None or version < SCHEMA_VERSION:
                conn.execute(sa.delete(_info).where(_info.c.key == "schema_version"))
                conn.execute(sa.insert(_info).values(key="schema_version", value=str(SCHEMA_VERSION)))
                version = SCHEMA_VERSION
            self._check_write_rights(conn)
        return version

    @staticmethod
    def _retried(attempt: Callable[[], int], worth_retry: Callable[[sa.exc.DBAPIError, float], bool],
                 errors: tuple[type[sa.exc.DBAPIError], ...] = (sa.exc.OperationalError, sa.exc.IntegrityError,
                                                                sa.exc.ProgrammingError)) -> int:
        """``attempt()``, made up to :data:`SCHEMA_ATTEMPTS` times while it raises one of ``errors`` that
        ``worth_retry(error, seconds the attempt took)`` says a peer or the server may clear in a moment (a race
        to create the tables, a full server), after a random pause that grows with each attempt."""
        for number in range(SCHEMA_ATTEMPTS):
            began = time.monotonic()
            try:
                return attempt()
            except errors as exc:
                if not worth_retry(exc, time.monotonic() - began) or number == SCHEMA_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0.05, 0.25) * (number + 1))  # a peer won a race: look again
        raise AssertionError("unreachable")

    def _check_write_rights(self, conn: sa.Connection) -> None:
        """PostgreSQL: a StorageError naming the rights the role lacks to write studies (nothing else checks before
        the first write, which may come after a run has loaded its data and started)."""
        if conn.dialect.name != "postgresql":
            return
        tables = ("nasforge_studies", "nasforge_trials")
        checks = [f"has_table_privilege('{table}', '{right}')" for table in tables for right in WRITE_RIGHTS]
        # nextval() needs USAGE or UPDATE on the sequence (a list of rights: true when any is held)
        checks += [f"has_sequence_privilege(pg_get_serial_sequence('{table}', 'id'), 'USAGE, UPDATE')"
                   for table in tables]
        row = conn.execute(sa.text(f"SELECT {', '.join(checks)}")).one()
        granted, usable = row[:-len(tables)], row[-len(tables):]
        missing = []
        for i, table in enumerate(tables):
            lacks = [right for right, ok in zip(WRITE_RIGHTS, granted[i * len(WRITE_RIGHTS):]) if not ok]
            if lacks:
                missing.append(f"{', '.join(lacks)} on {table}")
        for table, ok in zip(tables, usable):
            if ok is False:  # None: the id has no sequence of its own
                missing.append(f"USAGE or UPDATE on the sequence of {table}.id")
        if missing:
            raise WriteRightsError(f"cannot open storage {self.shown!r} for writing: permission denied: "
                                   f"{_role(self._engine.url)} lacks {'; '.join(missing)} (reading needs SELECT on "
                                   "nasforge's tables, writing INSERT, UPDATE and DELETE too, and USAGE or UPDATE "
                                   "on their sequences)")

    def _schema_denied(self, exc: sa.exc.DBAPIError) -> StorageError:
        """The error for a role that may not create or upgrade nasforge's tables, naming the right it lacks."""
        reason = _reason(exc)
        role = _role(self._engine.url)
        if "must be owner" in reason:
            with self._engine.connect() as conn:
                stored = _stored_version(conn)
            return StorageError(f"cannot open storage {self.shown!r}: {reason}: the database's tables are schema "
                                f"{stored}, and the upgrade to schema {SCHEMA_VERSION} needs their owner; open it "
                                f"once as the tables' owner ({role} is not; reading it works as it is)")
        schema = re.search(r"for schema (\S+)", reason)
        where = f"schema {schema.group(1)!r}" if schema else "the schema"
        return StorageError(f"cannot open storage {self.shown!r}: {reason}: {role} may not create nasforge's tables "
                            f"in {where}; create them once with a role that may, or GRANT CREATE ON SCHEMA to it")

    def _check_schema_retried(self) -> int:
        """:meth:`_check_schema`, tried again while the server refuses the connection for a moment
        (:func:`_transient`)."""
        return self._retried(self._check_schema, lambda exc, _took: _transient(exc), (sa.exc.OperationalError,))

    def _check_schema(self) -> int:
        """Read-only open: the database must already hold nasforge's tables (nothing is created)."""
        with self._engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            if not tables:
                raise _empty(self.shown, conn)
            if not {"nasforge_meta", "nasforge_studies", "nasforge_trials"} <= tables:
                raise ForeignStorageError(f"storage {self.shown!r} is not a nasforge database (no nasforge tables)")
            version = conn.execute(sa.select(_info.c.value).where(_info.c.key == "schema_version")).scalar()
            present = {c["name"] for c in sa.inspect(conn).get_columns("nasforge_trials")}
        if version is None:
            raise ForeignStorageError(f"storage {self.shown!r} is not a nasforge database (no schema version)")
        # an older database read as it is: columns it lacks read as NULL (their defaults)
        self._trial_select = sa.select(*[c if c.name in present else sa.null().label(c.name) for c in _trials.c])
        return _version(version, self.shown)

    @property
    def schema_version(self) -> int:
        if self._closed:
            raise closed_error(self.shown)
        with self._engine.connect() as conn:
            return _version(conn.execute(sa.select(_info.c.value).where(_info.c.key == "schema_version"))
                            .scalar_one(), self.shown)

    def _check_same_file(self) -> None:
        """A StorageError when the SQLite file this storage opened is no longer at its path (moved, renamed or
        removed) or another file took its place: pooled connections would go on writing to the old file and new
        ones to the path, splitting the study, or losing what goes to a removed file."""
        if self._file is None:
            return
        path, identity = self._file
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            change = "is no longer there (moved, renamed or removed)"
        else:
            if (stat.st_dev, stat.st_ino) == identity:
                return
            change = "is another file now (the one opened was moved, renamed or replaced)"
        raise StorageFileMovedError(
            f"storage {self.shown!r}: the database file {path!r} {change} while this process had it open; nothing "
            "more is written, so that no trial goes to a file no path names or to a second one: put the file back, or "
            "resume the study where it is now (--storage), with its -wal and -shm files beside it (they hold the "
            "latest writes)")

    @contextmanager
    def _begin(self) -> Iterator[sa.Connection]:
        if self._closed:
            raise closed_error(self.shown)
        self._check_same_file()
        try:
            with self._connect() as conn, conn.begin():
                yield conn
                _check_unchanged(conn, self.shown)
        except (sa.exc.OperationalError, sa.exc.DataError, sa.exc.InternalError) as exc:
            error = StorageUnreachableError if _unreachable(exc, self._engine) else StorageError
            raise error(f"storage {self.shown!r}: {_reason(exc)}") from None
        except sa.exc.ProgrammingError as exc:
            if not _denied(exc):
                raise
            raise _rights_denied(f"storage {self.shown!r}", exc, self._engine.url) from None
        except sa.exc.DatabaseError as exc:
            if type(exc) is not sa.exc.DatabaseError:  # e.g. an IntegrityError: its caller's to handle
                raise
            # the driver's own error, not a subclass: SQLite's for a damaged file ("database disk image is
            # malformed", "file is not a database")
            raise StorageError(f"storage {self.shown!r}: {_reason(exc)}") from None

    def _connect(self) -> sa.Connection:
        """A connection for :meth:`_begin`. While a server refuses new connections for a moment (:func:`_transient`:
        full, or starting up after a restart), tried again after each pause of :data:`TRANSIENT_WAITS`, as a run
        puts its trials back; any other error (a refused connection, a wrong password) at once. Nothing has run on
        the connection yet, so a second try repeats nothing; a Ctrl-C during a pause stops at once."""
        for wait in (*TRANSIENT_WAITS, None):
            try:
                return self._engine.connect()
            except sa.exc.OperationalError as exc:
                if wait is None or not _transient(exc):
                    raise
            time.sleep(wait)
        raise AssertionError("unreachable")

    def database_id(self) -> str | None:
        """PostgreSQL: the cluster's system identifier, the database's and nasforge's study table's object ids
        (a restored dump gets new ones); None for SQLite or when the server does not tell."""
        if self._engine.dialect.name != "postgresql":
            return None
        try:
            with self._begin() as conn:
                row = conn.execute(sa.text(
                    "SELECT system_identifier, (SELECT oid FROM pg_database WHERE datname = current_database()), "
                    "'nasforge_studies'::regclass::oid FROM pg_control_system()")).one()
        except (StorageError, sa.exc.SQLAlchemyError):  # e.g. a managed server that hides pg_control_system
            return None
        return "postgresql:" + ":".join(map(str, row))

    # -- studies -------------------------------------------------------------------------------
    def register_space(self, study_id: int, space: SearchSpace) -> None:
        """Use ``space`` to write the text form and canonical key of this study's architectures."""
        self._spaces[study_id] = space

    def create_study(self, record: StudyRecord) -> StudyRecord:
        check_utf8_name(record.name)  # the database takes UTF-8 text only
        values = dict(name=record.name, space=record.space, space_config=_dumps(record.space_config),
                      objectives=_dumps(record.objectives), directions=_dumps(record.directions),
                      strategy=record.strategy,
                      strategy_config=None if record.strategy_config is None else _dumps(record.strategy_config),
                      strategy_state=None if record.strategy_state is None else _dumps(record.strategy_state),
                      run_config=None if record.run_config is None else _dumps(record.run_config),
                      seed=record.seed, user_attrs=_dumps(record.user_attrs), created_at=record.created_at,
                      n_trials=0, n_events=0)
        try:
            with self._begin() as conn:
                new_id = conn.execute(sa.insert(_studies).values(**values).returning(_studies.c.id)).scalar_one()
        except sa.exc.IntegrityError:
            raise StudyExistsError(f"study {record.name!r} already exists in {self.shown}") from None
        record.id = StudyId(new_id, record.name, record.created_at)
        return record

    def load_study(self, name: str) -> StudyRecord:
        check_utf8_name(name)  # a name no database can hold: one line, not the driver's UnicodeEncodeError
        with self._begin() as conn:
            row = conn.execute(sa.select(_studies).where(_studies.c.name == name)).mappings().first()
            if row is None:
                names = conn.execute(sa.select(_studies.c.name).order_by(_studies.c.id)).scalars().all()
                raise StudyNotFoundError(f"no study {name!r} in {self.shown}; studies: {some_names(names)}", names)
        return self._to_record(row)

    def study(self, study_id: int) -> StudyRecord:
        with self._begin() as conn:
            row = conn.execute(sa.select(_studies).where(*self._is_study(study_id))).mappings().first()
        if row is None:
            raise deleted_error(study_id, self.shown)
        return self._to_record(row)

    def _to_record(self, row: Any) -> StudyRecord:
        try:
            fields = _study_fields(row)
        except _BadField as exc:
            raise self._damaged_study(row["name"], exc) from None
        return StudyRecord(name=row["name"], space=row["space"], strategy=row["strategy"],
                           id=StudyId(row["id"], row["name"], fields["created_at"]), numbered=row["n_trials"],
                           **fields)

    def _damaged_study(self, name: str, exc: _BadField) -> DamagedRowError:
        return DamagedRowError(f"storage {self.shown!r}: study {name!r} has a corrupted {exc.field!r} field: "
                               f"{exc.reason}")

    def list_studies(self) -> list[StudySummary]:
        with self._begin() as conn:
            rows = conn.execute(sa.select(_studies).order_by(_studies.c.id)).mappings().all()
            counts = conn.execute(sa.select(_trials.c.study_id, _trials.c.state, sa.func.count())
                                  .group_by(_trials.c.study_id, _trials.c.state)).all()
        by_study: dict[int, dict[str, int]] = {}
        for study_id, state, n in counts:
            by_study.setdefault(study_id, {})[state] = n
        return [StudySummary(r["name"], r["space"], r["strategy"], _objectives(r["objectives"]), _time(r["created_at"]),
                             by_study.get(r["id"], {}), _objectives(r["directions"])) for r in rows]

    def delete_study(self, name: str) -> None:
        check_utf8_name(name)
        with self._begin() as conn:
            study_id = conn.execute(sa.select(_studies.c.id).where(_studies.c.name == name)).scalar()
            if study_id is None:
                names = sorted(conn.execute(sa.select(_studies.c.name)).scalars().all())
                raise StudyNotFoundError(f"no study {name!r} in {self.shown}; studies: {some_names(names)}", names)
            conn.execute(sa.delete(_trials).where(_trials.c.study_id == study_id))
            conn.execute(sa.delete(_studies).where(_studies.c.id == study_id))

    def rename_study(self, old: str, new: str) -> None:
        check_utf8_name(old)
        check_name(new)
        try:
            with self._begin() as conn:
                done = conn.execute(sa.update(_studies).where(_studies.c.name == old).values(name=new)).rowcount
                names = [] if done else sorted(conn.execute(sa.select(_studies.c.name)).scalars().all())
        except sa.exc.IntegrityError:
            raise StudyExistsError(f"study {new!r} already exists in {self.shown}") from None
        if not done:
            raise StudyNotFoundError(f"no study {old!r} in {self.shown}; studies: {some_names(names)}", names)

    def update_study(self, study_id: int, **fields: dict[str, Any]) -> None:
        values = {key: _dumps(value) for key, value in checked_fields(fields).items()}
        if values:
            with self._begin() as conn:
                if not conn.execute(sa.update(_studies).where(*self._is_study(study_id)).values(**values)).rowcount:
                    raise deleted_error(study_id, self.shown)

    def record_run_config(self, study_id: int, config: dict[str, Any]) -> dict[str, Any]:
        where = self._is_study(study_id)
        with self._begin() as conn:  # a write first locks the row (SQLite: the file): concurrent runs take turns
            if not conn.execute(sa.update(_studies).where(*where).values(n_events=_studies.c.n_events)).rowcount:
                raise deleted_error(study_id, self.shown)
            name, stored = conn.execute(sa.select(_studies.c.name, _studies.c.run_config).where(*where)).one()
            try:
                previous = _run_config(_field_json(stored, "run_config"))
            except _BadField as exc:
                raise self._damaged_study(name, exc) from None
            config = keep_target(config, previous)
            conn.execute(sa.update(_studies).where(*where).values(run_config=_dumps(config)))
        return config

    def set_study_user_attrs(self, study_id: int, attrs: dict[str, Any]) -> dict[str, Any]:
        where = self._is_study(study_id)
        with self._begin() as conn:  # a write first locks the row (SQLite: the file): other merges wait for this one
            if not conn.execute(sa.update(_studies).where(*where).values(n_events=_studies.c.n_events)).rowcount:
                raise deleted_error(study_id, self.shown)
            name, stored = conn.execute(sa.select(_studies.c.name, _studies.c.user_attrs).where(*where)).one()
            try:
                merged = {**_json_object(stored, "user_attrs"), **attrs}
            except _BadField as exc:
                raise self._damaged_study(name, exc) from None
            conn.execute(sa.update(_studies).where(*where).values(user_attrs=_dumps(merged)))
        return merged

    # -- trials --------------------------------------------------------------------------------
    def trials(self, study_id: int, since_event: int = -1) -> list[Trial]:
        return self._read_trials(study_id, _trials.c.event > since_event)

    def running_trials(self, study_id: int) -> list[Trial]:
        return self._read_trials(study_id, _trials.c.state == TrialState.RUNNING.value)  # those rows only

    def running_workers(self) -> dict[str, list[str | None]]:
        with self._begin() as conn:  # two columns of the RUNNING rows: no trial or study record is parsed
            rows = conn.execute(sa.select(_studies.c.name, _trials.c.worker)
                                .join(_trials, _trials.c.study_id == _studies.c.id)
                                .where(_trials.c.state == TrialState.RUNNING.value)
                                .order_by(_studies.c.id, _trials.c.number)).all()
        workers: dict[str, list[str | None]] = {}
        for name, worker in rows:
            workers.setdefault(name, []).append(worker if isinstance(worker, str) else None)  # damaged: unknown
        return workers

    def _read_trials(self, study_id: int, condition: sa.ColumnElement[bool]) -> list[Trial]:
        """The study's trials that meet ``condition``, by number; a StorageError when the study was deleted."""
        with self._begin() as conn:
            if conn.execute(sa.select(_studies.c.id).where(*self._is_study(study_id))).first() is None:
                raise deleted_error(study_id, self.shown)
            return self._select_trials(conn, study_id, condition)

    def arch_texts(self, study_id: int) -> dict[Architecture, str]:
        with self._begin() as conn:
            rows = conn.execute(sa.select(_trials.c.genotype, _trials.c.arch)
                                .where(_trials.c.study_id == study_id)).all()
        texts = {}
        for genotype, text in rows:
            try:
                texts[Architecture.from_json(genotype)] = text
            except (UsageError, ValueError):  # a corrupted row: reading the trials names it
                continue
        return texts

    def _select_trials(self, conn: sa.Connection, study_id: int, condition: sa.ColumnElement[bool]) -> list[Trial]:
        rows = conn.execute(self._trial_select.where(_trials.c.study_id == study_id, condition)
                            .order_by(_trials.c.number)).mappings().all()
        archs: dict[Any, Architecture] = {}  # one object per stored genotype text, however many trials hold it
        return [self._to_trial(r, archs) for r in rows]

    def _to_trial(self, row: Any, archs: dict[Any, Architecture] | None = None) -> Trial:
        try:
            return _to_trial(row, {} if archs is None else archs)
        except _BadField as exc:
            raise DamagedRowError(f"storage {self.shown!r}: trial {row['number']} (study id {row['study_id']}) has a "
                               f"corrupted {exc.field!r} field: {exc.reason}") from None

    def _is_study(self, study_id: int) -> list[sa.ColumnElement[bool]]:
        """Conditions that select the row of the study ``study_id`` was handed out for: in SQLite, a
        :class:`StudyId` must match the creation time too (an older file may have given a deleted study's id
        to a new one; PostgreSQL sequences never reuse an id, and its floats need not read back exactly)."""
        where = [_studies.c.id == study_id]
        if isinstance(study_id, StudyId) and self._engine.dialect.name == "sqlite":
            where.append(_studies.c.created_at == study_id.created_at)
        return where

    def _bump(self, conn: sa.Connection, study_id: int, trials: int = 0) -> tuple[int, int]:
        """Take the next event (and ``trials`` trial numbers); locks the study row until commit."""
        stmt = (sa.update(_studies).where(*self._is_study(study_id))
                .values(n_events=_studies.c.n_events + 1, n_trials=_studies.c.n_trials + trials)
                .returning(_studies.c.n_trials, _studies.c.n_events))
        row = conn.execute(stmt).first()
        if row is None:
            raise deleted_error(study_id, self.shown)
        n_trials, event = row
        return n_trials - trials, event

    def create_trial(self, study_id: int, since_event: int, make: MakeTrial) -> Trial:
        self._warm_space(study_id)
        with self._begin() as conn:
            number, event = self._bump(conn, study_id, trials=1)
            changed = (self._select_trials(conn, study_id, _trials.c.event > since_event)
                       if event != since_event + 1 else [])
            trial = make(number, event, changed)
            trial.event = event
            conn.execute(sa.insert(_trials).values(study_id=study_id, **self._row(study_id, trial)))
        return trial

    def finish_trial(self, study_id: int, trial: Trial, told: bool, retry: Trial | None = None) -> None:
        if retry is not None:
            self._warm_space(study_id)
        with self._begin() as conn:
            number, event = self._bump(conn, study_id, trials=1 if retry is not None else 0)
            trial.event = event
            if told:
                trial.tell_seq = event
            where = (_trials.c.study_id == study_id, _trials.c.number == trial.number)
            if not conn.execute(sa.update(_trials).where(*where, _trials.c.state.notin_(FINISHED))
                                .values(state=trial.state.value, metrics=_dumps(trial.metrics),
                                        intermediate=_dumps(trial.intermediate), cost=trial.cost, error=trial.error,
                                        finished_at=trial.finished_at, tell_seq=trial.tell_seq, event=event,
                                        attempts=trial.attempts, user_attrs=_dumps(trial.user_attrs))).rowcount:
                stored = conn.execute(sa.select(_trials.c.state).where(*where)).scalar()
                raise finished_error(study_id, trial.number, stored, self.shown)  # rolls the event back
            if retry is not None:
                retry.number, retry.event = number, event
                conn.execute(sa.insert(_trials).values(study_id=study_id, **self._row(study_id, retry)))

    def set_trial_user_attrs(self, study_id: int, number: int, attrs: dict[str, Any]) -> int:
        where = (_trials.c.study_id == study_id, _trials.c.number == number)
        with self._begin() as conn:
            _, event = self._bump(conn, study_id)
            row = conn.execute(self._trial_select.where(*where)).mappings().one()
            merged = {**self._to_trial(row).user_attrs, **attrs}
            conn.execute(sa.update(_trials).where(*where).values(user_attrs=_dumps(merged), event=event))
        return event

    def save_progress(self, study_id: int, trial: Trial) -> bool:
        with self._begin() as conn:
            if conn.execute(sa.update(_trials).where(_trials.c.study_id == study_id, _trials.c.number == trial.number,
                                                     _trials.c.state == TrialState.RUNNING.value,
                                                     _trials.c.worker == trial.worker,
                                                     sa.exists().where(*self._is_study(study_id)))
                            .values(intermediate=_dumps(trial.intermediate), heartbeat=trial.heartbeat)).rowcount:
                return True
            if conn.execute(sa.select(_studies.c.id).where(*self._is_study(study_id))).first() is None:
                raise deleted_error(study_id, self.shown)
        return False  # another process re-queued or finished the trial: its row is not this worker's

    def claim_trial(self, study_id: int, number: int, worker: str) -> Trial | None:
        now = time.time()
        where = (_trials.c.study_id == study_id, _trials.c.number == number)
        try:
            with self._begin() as conn:
                _, event = self._bump(conn, study_id)
                claimed = conn.execute(sa.update(_trials).where(*where, _trials.c.state == TrialState.WAITING.value)
                                       .values(state=TrialState.RUNNING.value, worker=worker, heartbeat=now,
                                               started_at=now, event=event)).rowcount
                if not claimed:
                    raise _Rollback  # the trial was taken: give the event number back
                row = conn.execute(self._trial_select.where(*where)).mappings().one()
        except _Rollback:
            return None
        return self._to_trial(row)

    def heartbeat(self, study_id: int, numbers: Sequence[int]) -> None:
        if numbers:
            with self._begin() as conn:
                conn.execute(sa.update(_trials).where(_trials.c.study_id == study_id, _trials.c.number.in_(numbers),
                                                      _trials.c.state == TrialState.RUNNING.value,
                                                      sa.exists().where(*self._is_study(study_id)))
                             .values(heartbeat=time.time()))

    def requeue(self, study_id: int, numbers: Sequence[int] | None = None,
                stale_before: float | None = None, crashed: bool = True, worker: str | None = None) -> list[int]:
        where = [_trials.c.study_id == study_id, _trials.c.state == TrialState.RUNNING.value]
        if numbers is not None:
            where.append(_trials.c.number.in_(list(numbers)))
        if stale_before is not None:
            where.append(sa.func.coalesce(_trials.c.heartbeat, 0.0) < stale_before)
        if worker is not None:
            where.append(_trials.c.worker == worker)
        try:
            with self._begin() as conn:
                _, event = self._bump(conn, study_id)  # lock first, so that the update sees the latest state
                done = conn.execute(sa.update(_trials).where(*where).values(
                    state=TrialState.WAITING.value, worker=None, event=event,
                    attempts=_trials.c.attempts + int(crashed)).returning(_trials.c.number)).scalars().all()
                if not done:
                    raise _Rollback  # nothing changed: give the event number back
        except _Rollback:
            return []
        return sorted(done)

    def _warm_space(self, study_id: int) -> None:
        """Have the study's space compute one canonical form before a new trial's write transaction: its first can
        take a second (NAS-Bench-201 builds its table of 15,625 cells), which :meth:`_row` would otherwise spend
        holding the write lock, after the trial was stamped RUNNING (charged to its time and to the timeout)."""
        space = self._spaces.get(study_id)
        if space is None or study_id in self._warm:
            return
        self._warm.add(study_id)
        import numpy as np

        try:
            space.canonical(space.sample(np.random.default_rng(0)))  # its own generator: no strategy's state moves
        except Exception:  # noqa: BLE001 - a space that cannot sample here: its first trial's row computes it
            pass

    def _row(self, study_id: int, trial: Trial) -> dict[str, Any]:
        space = self._spaces.get(study_id)
        text = space.format(trial.arch) if space else json.dumps(trial.arch.to_json()["genotype"])
        key = space.format(space.canonical(trial.arch)) if space else text
        return dict(number=trial.number, arch=text, arch_key=key, genotype=_dumps(trial.arch.to_json()),
                    state=trial.state.value, fidelity=None if trial.fidelity is None else _dumps(trial.fidelity),
                    metrics=_dumps(trial.metrics), intermediate=_dumps(trial.intermediate), cost=trial.cost,
                    error=trial.error, worker=trial.worker, heartbeat=_finite(trial.heartbeat),
                    started_at=trial.started_at, finished_at=trial.finished_at, retry_of=trial.retry_of,
                    attempts=trial.attempts, ask_seq=trial.ask_seq, tell_seq=trial.tell_seq, event=trial.event,
                    user_attrs=_dumps(trial.user_attrs), tell_strategy=trial.tell_strategy)

    def close(self) -> None:
        self._closed = True
        self._engine.dispose()


class _BadField(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field, reason)
        self.field, self.reason = field, reason


_EMPTY_JSON: dict[str, Callable[[], Any]] = {"{}": dict, "[]": list}
"""The JSON texts most trial rows hold (no intermediate values, no user attributes), made without parsing: a fresh
object each time, which its trial may change."""


def _field_json(text: str | None, name: str, default: Any = None) -> Any:
    """Parse one JSON column, naming it when it is damaged."""
    if text is None:
        return default
    empty = _EMPTY_JSON.get(text)  # a column's value is always hashable (text, a number, bytes)
    if empty is not None:
        return empty()
    try:
        return json.loads(text)
    except (TypeError, ValueError) as exc:
        raise _BadField(name, f"invalid JSON ({exc})") from None
    except RecursionError:
        raise _BadField(name, "JSON nested too deeply") from None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_names(value: Any) -> bool:
    return (isinstance(value, list) and bool(value) and all(isinstance(v, str) and v for v in value)
            and len(set(value)) == len(value))


_SCALAR_TYPES = frozenset({int, float, str, bool, type(None)})
"""The exact types of the JSON scalars a metrics object may hold (what ``json.loads`` makes of them)."""


def _is_metrics(value: Any) -> bool:
    """A metrics object as stored: names to numbers, or to any JSON scalar (text, true/false, null), which
    nasforge stored unchecked before results were checked (2026-11), so such rows are not damaged. Values of the
    exact scalar types pass in one set operation (every row is checked)."""
    return isinstance(value, dict) and all(isinstance(k, str) for k in value) and (
        set(map(type, value.values())) <= _SCALAR_TYPES
        or all(v is None or isinstance(v, (str, bool)) or is_number(v) for v in value.values()))


def _checked(value: Any, field: str, ok: Callable[[Any], bool], wanted: str, optional: bool = False) -> Any:
    """``value`` when ``ok(value)`` (or None, when ``optional``); a :class:`_BadField` naming ``field`` otherwise."""
    if (optional and value is None) or ok(value):
        return value
    shown = repr(value)
    raise _BadField(field, f"{wanted}{' or null' if optional else ''} expected, got "
                           f"{shown if len(shown) <= 80 else shown[:77] + '...'}")


def _json_object(text: str | None, name: str) -> dict[str, Any]:
    """A JSON object column that may be NULL (an empty object then)."""
    return _checked(_field_json(text, name, {}), name, lambda v: isinstance(v, dict), "a JSON object")


def _run_config(value: Any) -> dict[str, Any] | None:
    """A study's parsed run config (None: never run), checked: a JSON object whose target ``n_trials_total``, when
    present, is one :func:`valid_target` takes."""
    config = _checked(value, "run_config", lambda v: isinstance(v, dict), "a JSON object", optional=True)
    if config and "n_trials_total" in config:
        _checked(config["n_trials_total"], "run_config", valid_target, "an n_trials_total (the study's target) >= 0")
    return config


def _study_fields(row: Any) -> dict[str, Any]:
    """A study row's fields but its name, space, strategy and id, decoded and checked: a :class:`_BadField` names
    the first damaged one, so no reader meets a wrong type later."""
    fields = {key: _field_json(row[key], key) for key in
              ("objectives", "directions", "space_config", "strategy_config", "strategy_state", "run_config",
               "user_attrs")}
    objectives = _checked(fields["objectives"], "objectives", _is_names, "a non-empty list of distinct names")
    _checked(fields["directions"], "directions",
             lambda v: isinstance(v, list) and len(v) == len(objectives) and all(d in DIRECTIONS for d in v),
             f"'maximize' or 'minimize' for each of {len(objectives)} objective(s)")
    for key in ("space_config", "user_attrs", "strategy_config", "strategy_state"):
        _checked(fields[key], key, lambda v: isinstance(v, dict), "a JSON object",
                 optional=key not in ("space_config", "user_attrs"))
    _run_config(fields["run_config"])
    fields["seed"] = _checked(row["seed"], "seed", _is_int, "an integer", optional=True)
    fields["created_at"] = _checked(row["created_at"], "created_at", is_real, "a time in seconds")
    return fields


def _time(value: Any) -> float | None:
    """A study's creation time for a listing (None when the field is damaged, so the listing still works)."""
    return value if is_real(value) else None


def _objectives(text: str) -> list[str]:
    """A study's objectives (or directions) for a listing ("?" when the field is damaged, so the listing still
    works)."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return ["?"]
    return [str(v) for v in value] if isinstance(value, list) else ["?"]


def _stored_arch(genotype: Any, archs: dict[Any, Architecture]) -> Architecture:
    """The architecture of a genotype column's text; ``archs`` maps the texts read before to theirs (an
    Architecture is immutable: the trials of one architecture share it, parsed once)."""
    arch = archs.get(genotype)
    if arch is None:
        try:
            arch = archs[genotype] = Architecture.from_json(_field_json(genotype, "genotype"))
        except ValueError as exc:
            raise _BadField("genotype", str(exc)[:200]) from None
    return arch


def _to_trial(row: Any, archs: dict[Any, Architecture]) -> Trial:
    """The trial of a row (``archs``: see :func:`_stored_arch`); a :class:`_BadField` names a damaged field."""
    arch = _stored_arch(row["genotype"], archs)
    try:
        state = TrialState(row["state"])
    except ValueError:
        raise _BadField("state", f"unknown state {row['state']!r}") from None
    try:
        intermediate = [(int(s), float(v)) for s, v in _field_json(row["intermediate"], "intermediate", [])]
    except (TypeError, ValueError):
        raise _BadField("intermediate", "not a list of (step, value) pairs") from None
    metrics = _checked(_field_json(row["metrics"], "metrics", {}), "metrics", _is_metrics,
                       "a JSON object of numbers (or other plain values)")
    fidelity = _checked(_field_json(row["fidelity"], "fidelity"), "fidelity", lambda v: isinstance(v, dict),
                        "a JSON object", optional=True)
    scalars = {}
    for key, (usual, ok, wanted, optional) in _SCALAR_COLUMNS.items():
        value = row[key]
        usual_value = type(value) in usual or (optional and value is None)  # most rows: no check to call
        scalars[key] = value if usual_value else _checked(value, key, ok, wanted, optional)
    return Trial(number=row["number"], arch=arch, state=state, metrics=metrics, fidelity=fidelity,
                 intermediate=intermediate, user_attrs=_json_object(row["user_attrs"], "user_attrs"),
                 tell_strategy=row["tell_strategy"] is None or bool(row["tell_strategy"]), **scalars)


_SCALAR_COLUMNS: dict[str, tuple[tuple[type, ...], Callable[[Any], bool], str, bool]] = {
    **{key: ((float, int), is_number, "a number", key not in ("cost", "started_at"))
       for key in ("cost", "started_at", "finished_at", "heartbeat")},
    **{key: ((int,), _is_int, "an integer", key in ("retry_of", "ask_seq", "tell_seq"))
       for key in ("attempts", "event", "retry_of", "ask_seq", "tell_seq")},
    **{key: ((str,), lambda v: isinstance(v, str), "a text", True) for key in ("error", "worker")}}
"""A trial row's number, count and text columns, checked in this order: the exact types their values usually have
(which pass as they are), the check of other values, what a value must be, and whether NULL is allowed."""


def _reason(exc: BaseException) -> str:
    """The driver's message without SQLAlchemy's statement dump; PostgreSQL's lock timeout (SQLSTATE
    :data:`LOCK_NOT_AVAILABLE`) is said as what it means, as SQLite's "database is locked" is."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()[0]
    if getattr(orig, "sqlstate", None) == LOCK_NOT_AVAILABLE or getattr(orig, "pgcode", None) == LOCK_NOT_AVAILABLE:
        return (f"the database is locked by another session: no lock within lock_timeout (nasforge's "
                f"{BUSY_TIMEOUT:g} s unless set otherwise; PostgreSQL: {text}); try again once that session ends "
                "(pg_stat_activity names it)")
    if getattr(orig, "sqlite_errorname", None) == "SQLITE_READONLY_ROLLBACK":
        return (f"{text}: a writer stopped in the middle of a transaction and left its journal (the file's name + "
                "-journal) beside the file, which a read-only open cannot roll back; open the file once for writing "
                "(sqlite3 FILE 'PRAGMA quick_check', or Study.load in Python; its folder must be writable) to roll "
                "it back, then try again")
    return text
