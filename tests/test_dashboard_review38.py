"""Distributed review (2026-12-06), items 4 and 5: a dashboard whose SQLite file is missing for a moment answers
503 (its pages keep asking and recover) while a study gone from a readable storage stays 404; PostgreSQL sessions
wait for a lock no longer than SQLite waits for a busy file, then fail in one line naming the lock.

The PostgreSQL tests run when ``NASFORGE_TEST_POSTGRES_URL`` is set (``.ci/run`` sets it)."""

from __future__ import annotations

import json
import os
import time
import uuid

import pytest

from engine_backends import PG_URL

from nasforge.exceptions import StorageError
from nasforge.experiment.storage import open_storage
from nasforge.experiment.storage import sql

pytest.importorskip("plotly")
needs_pg = pytest.mark.skipif(not PG_URL, reason="NASFORGE_TEST_POSTGRES_URL is not set")


def _version(get, base: str, name: str) -> str:
    status, text = get(f"{base}/api/study/version?name={name}")
    assert status == 200, text
    return json.loads(text)["version"]


def test_a_missing_sqlite_file_is_503_and_pages_recover_but_a_deleted_study_is_404(tmp_path):
    from test_dashboard import get
    from test_report import make_study

    from nasforge.analysis.dashboard import serve_in_thread

    db = tmp_path / "live.db"
    url = f"sqlite:///{db}"
    make_study(url, "kept", n=4).storage.close()
    make_study(url, "dropped", n=4, seed=1).storage.close()
    server, base = serve_in_thread(url)
    try:
        version = _version(get, base, "kept")
        os.rename(db, tmp_path / "away.db")  # e.g. removed to be written anew, or a copy being swapped in
        for route in (f"/api/study/version?name=kept&since={version}", "/api/index/version", "/study/body?name=kept"):
            status, text = get(base + route)
            assert status == 503, (route, status, text)  # was 404: every open page stopped for good
            assert "is missing now" in text and "no study was stored there" not in text, text
        open(db, "wb").close()  # an empty file (a copy being written in) is unreadable for now, not "no study"
        status, text = get(base + "/api/index/version")
        assert status == 503 and "empty database" in text, (status, text)
        os.replace(tmp_path / "away.db", db)
        assert _version(get, base, "kept") == version  # back: the page's next check succeeds
        with open_storage(url) as storage:
            storage.delete_study("dropped")
        status, text = get(base + "/api/study/version?name=dropped")
        assert status == 404 and "dropped" in text, (status, text)  # really gone: its page stops
    finally:
        server.shutdown()


@needs_pg
def test_postgresql_sessions_get_the_sqlite_busy_timeout_as_lock_timeout_unless_set_elsewhere(monkeypatch):
    import sqlalchemy as sa

    def shown(url: str, readonly: bool = False) -> str:
        storage = open_storage(url, readonly=readonly, create=False)
        try:
            with storage._engine.connect() as conn:
                return conn.exec_driver_sql("SHOW lock_timeout").scalar()
        finally:
            storage.close()

    assert shown(PG_URL) == shown(PG_URL, readonly=True) == "1min"  # SQLite's 60 s busy timeout
    assert shown(f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-c%20lock_timeout%3D5s") == "5s"  # the URL's wins
    monkeypatch.setenv("PGOPTIONS", "-c lock_timeout=0")
    assert shown(PG_URL, readonly=True) == "0"  # a deliberate "no limit" too
    monkeypatch.delenv("PGOPTIONS")
    admin = sa.create_engine(sa.engine.make_url(PG_URL), poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        database = conn.exec_driver_sql("SELECT current_database()").scalar()
        conn.exec_driver_sql(f'ALTER DATABASE "{database}" SET lock_timeout = \'3s\'')
        try:
            assert shown(PG_URL) == "3s"  # the administrator's setting wins
        finally:
            conn.exec_driver_sql(f'ALTER DATABASE "{database}" RESET lock_timeout')
    admin.dispose()


@pytest.fixture
def pg_study():
    """(URL, name, lock): a study on the test server, deleted after; ``lock()`` makes another session hold
    nasforge's tables locked until the test ends."""
    import sqlalchemy as sa

    from nasforge import Study, get_space

    name = f"r38-lock-{uuid.uuid4().hex[:8]}"
    Study(get_space("nb201"), "random", objectives="acc", seed=0, name=name, storage=PG_URL).storage.close()
    holder = sa.create_engine(sa.engine.make_url(PG_URL), poolclass=sa.pool.NullPool)
    conn = holder.connect()

    def lock() -> None:
        conn.exec_driver_sql("LOCK TABLE nasforge_trials, nasforge_studies IN ACCESS EXCLUSIVE MODE")

    try:
        yield PG_URL, name, lock
    finally:
        conn.rollback()
        conn.close()
        with open_storage(PG_URL) as storage:
            storage.delete_study(name)


@needs_pg
def test_a_postgresql_lock_is_waited_for_then_one_storage_error_line(pg_study, monkeypatch, capsys):
    from nasforge.cli import main

    url, name, lock = pg_study
    lock()
    monkeypatch.setattr(sql, "BUSY_TIMEOUT", 1.0)
    for readonly in (True, False):
        began = time.monotonic()
        locked = "the database is locked by another session: no lock within lock_timeout"
        with pytest.raises(StorageError, match=locked):
            open_storage(url, readonly=readonly, create=False).list_studies()
        assert time.monotonic() - began < 20  # was: waited as long as the lock was held
    assert main(["status", name, "--storage", url]) == 2  # as a locked SQLite file: one line
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "locked by another session" in err and "Traceback" not in err, err


@needs_pg
def test_the_dashboard_answers_503_while_a_postgresql_lock_is_held(pg_study, monkeypatch):
    from test_dashboard import get

    from nasforge.analysis.dashboard import serve_in_thread

    url, name, lock = pg_study
    monkeypatch.setattr(sql, "BUSY_TIMEOUT", 1.0)
    server, base = serve_in_thread(url)
    try:
        version = _version(get, base, name)
        lock()
        began = time.monotonic()
        status, text = get(f"{base}/api/study/version?name={name}&since={version}")
        assert status == 503 and "locked by another session" in text, (status, text)  # the page keeps asking
        assert time.monotonic() - began < 20  # was: as long as the lock was held
    finally:
        server.shutdown()
