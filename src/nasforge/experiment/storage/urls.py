"""Checks of a storage URL given by a user, before anything is opened or created (one-line ``UsageError``s
naming the option)."""

from __future__ import annotations

import contextlib
import os
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

from ...exceptions import StorageError, UsageError

SQLITE_PREFIXES = ("sqlite://", "sqlite+pysqlite://")
"""How a SQLite URL starts (``sqlite+pysqlite`` names the same driver, explicitly)."""
_URL_SPECIAL = re.compile(r"[%?#\s]")
"""Characters of a file path that a SQLite URL would misread: '%' starts an escape, '?' a query SQLAlchemy drops,
'#' a fragment to other URL readers; white space would cut a URL copied from a message."""


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """The ``sqlite:///`` URL of the file ``path`` (as given: make it absolute first where needed), with '%', '?',
    '#' and white space percent-encoded, so that the URL names that very file."""
    return "sqlite:///" + _URL_SPECIAL.sub(lambda m: urllib.parse.quote(m.group()), os.fspath(path))


def sqlite_path(url: str) -> str | None:
    """The file a ``sqlite:///`` (or ``sqlite+pysqlite:///``) URL names, read as SQLAlchemy reads it (the text
    before any '?', percent-decoded); None for another URL."""
    prefix = next((p for p in SQLITE_PREFIXES if url.startswith(p + "/")), None)
    if prefix is None:
        return None
    return urllib.parse.unquote(url.removeprefix(prefix + "/").partition("?")[0])


def absolute_sqlite_url(url: str) -> str:
    """``url`` with a relative SQLite file path made absolute against the working folder (other URLs as given): a
    URL so recorded (a resume command, a stored config) names the same file from any folder."""
    path = sqlite_path(url)
    if path is None or path == ":memory:" or os.path.isabs(path):
        return url
    return sqlite_url(Path(path).absolute())  # the working folder's '?', '%' too are encoded


def check_storage_url(url: str, option: str = "storage") -> None:
    """Reject a storage URL that cannot work before anything is created: unknown scheme, or a SQLite URL
    with a query ('?'), without a file name, naming a folder, or a file in a folder that does not exist (or is a
    file). Its path is read as SQLAlchemy reads it (percent-decoded)."""
    if url.startswith(SQLITE_PREFIXES):
        from .sql import check_sqlite_path, check_sqlite_query

        path = sqlite_path(url) or ""
        try:
            check_sqlite_query(url)  # a '?' SQLAlchemy would drop, with part of the file name
            check_sqlite_path(path, url)  # a file name, not a folder, no file where a folder should be
        except StorageError as exc:
            raise UsageError(f"{option}: {exc}") from None
        if path == ":memory:":
            return
        if not Path(path).absolute().parent.is_dir():
            raise UsageError(f"{option}: folder {str(Path(path).absolute().parent)!r} of {url} does not exist")
        return
    check_not_run_folder(url, option)
    scheme_error = unknown_scheme(url)
    if scheme_error:
        raise UsageError(f"{option}: {scheme_error}")


SCHEMES = (*SQLITE_PREFIXES, "postgresql://", "postgresql+")
"""How a storage URL starts: a SQLite file or a PostgreSQL database (other databases are not supported)."""


def unknown_scheme(url: str) -> str:
    """Why ``url`` (a text with ``://``) is no storage URL, one clause ("" for a SQLite or PostgreSQL URL): every
    command says the same. ``postgres://`` (libpq's short name, which hosting services hand out) gets the spelling
    that works."""
    if url.startswith(SCHEMES):
        return ""
    from .display import display_url

    if url.startswith("postgres://"):
        return (f"{display_url(url)!r} is not a storage URL: SQLAlchemy does not know libpq's short scheme "
                "'postgres://'; write it as postgresql+psycopg://...")
    return f"{display_url(url)!r} is not a storage URL; use sqlite:///FILE.db or postgresql://..."


def check_not_run_folder(url: str, option: str = "--storage", hint: str = "") -> None:
    """A UsageError when ``url`` (no ``://``) names a ``nasforge search`` run folder instead of a storage URL,
    giving the URL of its ``study.db``; ``hint`` (e.g. "name the folder in place of the study, or ") goes before
    that advice. Every command taking a ``--storage`` checks it here, so that all say the same."""
    if "://" in url:
        return
    from ...pipelines.search import run_folder_storage  # here: cheap modules import this one

    folder_url = run_folder_storage(url)
    if folder_url:
        raise UsageError(f"{option} {url!r} is a 'nasforge search' run folder, not a storage URL: {hint}pass "
                         f"{option} {folder_url}")


def check_stored_storage(url: str, option: str = "--storage", hint: str = "") -> None:
    """A UsageError for ``memory`` as the storage of a command that reads stored studies (an in-memory storage
    holds studies only inside the process that made them, so there are none to read), or for a run folder in
    place of a URL (:func:`check_not_run_folder`, with ``hint``)."""
    check_not_run_folder(url, option, hint)
    if url == "memory":
        raise UsageError(f"{option}: 'memory' is not a storage URL (an in-memory storage ends with the process that "
                         "filled it); use sqlite:///FILE.db or postgresql://...")


@contextlib.contextmanager
def storage_errors_as_usage() -> Iterator[None]:
    """A ``StorageError`` raised in this block (a storage the user named that cannot be opened or read: a missing,
    locked or foreign file, an unreachable server) becomes a ``UsageError`` (one line, exit status 2). Wrap only
    the steps before a job runs: a storage failing under a running job stays a ``StorageError`` (exit status 1).
    Also a decorator."""
    try:
        yield
    except StorageError as exc:
        if isinstance(exc, UsageError):
            raise
        raise UsageError(str(exc)) from exc


def check_server_storage(url: str) -> None:
    """Open and close a storage that is not a SQLite file (a database server) as a resume would (writable, creating
    nothing), so that a wrong URL, password, database, search_path or missing write right is a UsageError before any
    work, and a run refused later writes no tables into it; a database without any table passes (the run creates
    nasforge's), and a SQLite file (or "memory") is left to the run."""
    from ...exceptions import EmptyStorageError
    from . import open_storage

    if url == "memory" or url.startswith(SQLITE_PREFIXES):
        return
    with storage_errors_as_usage():
        try:
            open_storage(url, create=False).close()
        except EmptyStorageError:  # nothing stored there yet: the run creates the tables once it starts
            pass
