"""Where studies live: in memory, or in a SQL database named by a URL."""

from __future__ import annotations

import os
import shlex

from ...exceptions import UsageError, user_stacklevel
from ...extras import check_installed, installed
from .base import SCHEMA_VERSION, Storage, StorageError, StudyRecord, StudySummary
from .memory import InMemoryStorage
from .urls import sqlite_path, sqlite_url, unknown_scheme

DEFAULT_URL = "sqlite:///nasforge.db"
"""The CLI's default: a SQLite file in the working directory."""
DURABILITIES = ("full", "normal")
"""The ``durability`` settings of a SQL storage (an in-memory storage accepts them and has nothing to sync)."""


def get_storage(storage: Storage | str | None = None, durability: str = "full") -> Storage:
    """A storage from an object, a URL, or None (a private in-memory storage); a new SQLite file
    (and nasforge's tables) is created where needed.

    URLs: ``memory`` (in this process), ``sqlite:///path.db``, ``postgresql+psycopg://user@host/db``;
    a plain path ending in ``.db``/``.sqlite`` means a SQLite file.
    """
    return open_storage(storage, durability=durability)


def open_storage(storage: Storage | str | None = None, readonly: bool = False, create: bool = True,
                 durability: str = "full") -> Storage:
    """Open a storage by URL (or pass a Storage object through).

    - ``readonly=True``: for listing, status, reports and dashboards. Nothing is created or changed:
      a SQLite file is opened with ``mode=ro`` (a missing file is a :class:`StorageError`),
      PostgreSQL sessions are read-only, and a database without nasforge's tables is a
      StorageError ("not a nasforge database"). Writes fail with StorageError.
    - ``create=False``: writable, but only an existing nasforge database (for resume, delete).
    - default: create the SQLite file and the tables if needed (for commands that create studies).
    """
    if durability not in DURABILITIES:  # checked for every storage: a bad one would pass unseen until a SQL one
        raise UsageError(f"unknown durability {durability!r}; choose from {sorted(DURABILITIES)}")
    if storage is None or storage == "memory":
        return InMemoryStorage()
    if isinstance(storage, Storage):
        return storage
    if not isinstance(storage, str):
        raise UsageError(f"storage must be a Storage, a URL string or None, got {type(storage).__name__} {storage!r:.60}")
    if "://" not in storage:
        if not storage.endswith((".db", ".sqlite", ".sqlite3")):
            memory = "" if readonly or not create else "memory, "  # these open studies already stored
            raise StorageError(f"bad storage URL {storage!r}: {bench_folder_hint(storage)}expected {memory}"
                               "sqlite:///FILE.db, postgresql+psycopg://..., or a path ending in .db")
        _check_not_url_typo(storage)
        storage = sqlite_url(_checked_plain_path(os.path.abspath(storage)))
    scheme_error = unknown_scheme(storage)
    if scheme_error:  # the same words as every command's URL check
        raise StorageError(scheme_error)
    if storage.startswith("postgresql") and not installed("sqlalchemy"):  # not [sql] first, then [postgres]
        check_installed(("sqlalchemy", "psycopg"), "a PostgreSQL storage")
    from .sql import SQLStorage

    return SQLStorage(storage, durability=durability, readonly=readonly, create=create)


def _check_not_url_typo(path: str) -> None:
    """A StorageError for a plain path that is a storage URL missing its slashes (``sqlite:p.db``, ``sqlite:/p.db``),
    which would otherwise name a new file ``sqlite:p.db`` (or one in a folder ``sqlite:``); an existing file of that
    name (one a study was stored in so) is still opened as the path it is."""
    scheme, colon, rest = path.partition(":")
    if not colon or scheme.lower().partition("+")[0] not in ("sqlite", "postgres", "postgresql") \
            or os.path.exists(path):
        return
    if scheme.lower().startswith("sqlite"):
        name = rest.lstrip("/") or "FILE.db"
        raise StorageError(f"bad storage URL {path!r}: a SQLite URL has three slashes before a relative path "
                           f"(sqlite:///{name}) and four before an absolute one (sqlite:////{name})")
    raise StorageError(f"bad storage URL {path!r}: a PostgreSQL URL reads postgresql+psycopg://USER@HOST/DATABASE")


def _checked_plain_path(path: str) -> str:
    """``path``, with a warning where nasforge before 2026-12-06 read it as a URL ('?' starting a query, '%41' an
    'A') and the file it opened then exists while ``path`` does not: a new study here would not continue those."""
    legacy = sqlite_path("sqlite:///" + path)
    if legacy != path and not os.path.exists(path) and legacy and os.path.isfile(legacy):
        import warnings

        warnings.warn(f"storage {path!r} names a new file; nasforge before 2026-12-06 read this path as the file "
                      f"{legacy!r}, which exists: give that file as the storage to continue the studies stored there",
                      UserWarning, stacklevel=user_stacklevel())
    return path


def bench_folder_hint(path: str) -> str:
    """``"'PATH' is a 'nasforge bench' folder ...; "`` when ``path`` is such a folder (it holds bench.json) or its
    bench.json, which hold no studies; else ``""``. For the messages refusing it as a storage."""
    folder = os.path.dirname(path) if os.path.basename(path) == "bench.json" else path
    if not os.path.isfile(os.path.join(folder, "bench.json")):
        return ""
    return (f"{folder!r} is a 'nasforge bench' folder (bench.json), not a study database (report it with: "
            f"nasforge report {shlex.quote(folder)}); ")


__all__ = ["DEFAULT_URL", "open_storage", "SCHEMA_VERSION", "InMemoryStorage", "Storage", "StorageError", "StudyRecord",
           "StudySummary", "get_storage"]
