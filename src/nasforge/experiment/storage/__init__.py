"""Where studies live: in memory, or in a SQL database named by a URL."""

from __future__ import annotations

import os

from .base import SCHEMA_VERSION, Storage, StorageError, StudyRecord, StudySummary
from .memory import InMemoryStorage

DEFAULT_URL = "sqlite:///nasforge.db"
"""The CLI's default: a SQLite file in the working directory."""


def get_storage(storage: Storage | str | None = None, durability: str = "full") -> Storage:
    """A storage from an object, a URL, or None (a private in-memory storage).

    URLs: ``memory`` (in this process), ``sqlite:///path.db``, ``postgresql+psycopg://user@host/db``;
    a plain path ending in ``.db``/``.sqlite`` means a SQLite file.
    """
    if storage is None or storage == "memory":
        return InMemoryStorage()
    if isinstance(storage, Storage):
        return storage
    if not isinstance(storage, str):
        raise TypeError(f"storage must be a Storage or a URL string, got {type(storage).__name__}")
    if "://" not in storage:
        if not storage.endswith((".db", ".sqlite", ".sqlite3")):
            raise StorageError(f"bad storage URL {storage!r}: expected memory, sqlite:///FILE.db, "
                               "postgresql+psycopg://..., or a path ending in .db")
        storage = "sqlite:///" + os.path.abspath(storage)
    from .sql import SQLStorage

    return SQLStorage(storage, durability=durability)


__all__ = ["DEFAULT_URL", "SCHEMA_VERSION", "InMemoryStorage", "Storage", "StorageError", "StudyRecord",
           "StudySummary", "get_storage"]
