"""One fixture for engine tests that must hold on every storage: memory, SQLite and PostgreSQL.

PostgreSQL runs when ``NASFORGE_TEST_POSTGRES_URL`` is set (``.ci/run`` starts a throw-away server and
sets it); the database is emptied before each test. Import the fixture into a test module with
``from engine_backends import backend`` (or ``url``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_URL = os.environ.get("NASFORGE_TEST_POSTGRES_URL")
KINDS = ["memory", "sqlite", "postgresql"]


def fresh_storage(kind: str, tmp_path):
    """A fresh storage of ``kind``: an InMemoryStorage object, or a SQLite / PostgreSQL URL."""
    from nasforge.experiment import InMemoryStorage, get_storage

    if kind == "memory":
        return InMemoryStorage()
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'engine.db'}"
    if not PG_URL:
        pytest.skip("NASFORGE_TEST_POSTGRES_URL is not set (.ci/run starts a PostgreSQL server and sets it)")
    store = get_storage(PG_URL)
    for summary in store.list_studies():
        store.delete_study(summary.name)
    store.close()
    return PG_URL


@pytest.fixture(params=KINDS)
def backend(request, tmp_path):
    """A fresh storage of each kind (see :func:`fresh_storage`)."""
    return fresh_storage(request.param, tmp_path)


@pytest.fixture(params=KINDS)
def url(request, tmp_path):
    """The same as ``backend``, for tests that call it ``url``."""
    return fresh_storage(request.param, tmp_path)


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """``folder`` read-only, for root too (``chattr +i``); skips where neither works."""
    folder.chmod(0o555)
    immutable = os.access(folder, os.W_OK) and subprocess.run(["chattr", "+i", str(folder)],
                                                              capture_output=True).returncode == 0
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("cannot make a folder read-only here")
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)
