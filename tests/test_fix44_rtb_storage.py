"""Opening a SQL storage tries again only what a peer or the server may clear in a moment, as before the two
retry loops became one (behaviour pinned: attempts, pauses, errors)."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa

from nasforge.experiment.storage import StorageError, get_storage, sql


@pytest.fixture
def sleeps(monkeypatch):
    taken: list[float] = []
    monkeypatch.setattr(sql.time, "sleep", taken.append)
    return taken


class _Denied(Exception):
    sqlstate = "42501"


def _failing(exc: Exception, calls: list) -> object:
    def step(*args):
        calls.append(args)
        raise exc
    return step


LOCKED = sa.exc.OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))
FULL = sa.exc.OperationalError("connect", {}, Exception('FATAL:  too many connections for role "nf"'))


def test_a_race_that_never_clears_is_tried_schema_attempts_times(tmp_path, sleeps, monkeypatch):
    calls: list = []
    monkeypatch.setattr(sql, "_lock_schema", _failing(LOCKED, calls))
    with pytest.raises(StorageError, match="database is locked"):
        get_storage(f"sqlite:///{tmp_path / 'a.db'}")
    assert len(calls) == sql.SCHEMA_ATTEMPTS and len(sleeps) == sql.SCHEMA_ATTEMPTS - 1
    assert all(0.05 * n <= pause <= 0.25 * n for n, pause in enumerate(sleeps, 1))


def test_a_read_only_open_tries_a_full_server_again_but_not_a_lock(tmp_path, sleeps, monkeypatch):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    get_storage(url).close()
    for error, attempts in ((FULL, sql.SCHEMA_ATTEMPTS), (LOCKED, 1)):
        calls: list = []
        sleeps.clear()
        monkeypatch.setattr(sql.SQLStorage, "_check_schema", _failing(error, calls))
        with pytest.raises(StorageError, match="cannot open storage"):
            sql.SQLStorage(url, readonly=True)
        assert len(calls) == attempts and len(sleeps) == attempts - 1


def test_a_missing_right_is_said_at_once(tmp_path, sleeps, monkeypatch):
    calls: list = []
    denied = sa.exc.ProgrammingError("CREATE TABLE", {}, _Denied("permission denied for schema public"))
    monkeypatch.setattr(sql, "_lock_schema", _failing(denied, calls))
    with pytest.raises(StorageError, match="may not create nasforge's tables in schema 'public'"):
        get_storage(f"sqlite:///{tmp_path / 'a.db'}")
    assert len(calls) == 1 and sleeps == []


def test_a_lock_held_for_the_whole_busy_timeout_is_not_tried_again(tmp_path, sleeps, monkeypatch):
    calls: list = []
    monkeypatch.setattr(sql, "_lock_schema", _failing(LOCKED, calls))
    with pytest.raises(StorageError, match="database is locked"):
        sql.SQLStorage(f"sqlite:///{tmp_path / 'a.db'}", busy_timeout=0.0)
    assert len(calls) == 1 and sleeps == []
