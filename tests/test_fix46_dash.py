"""Read-only SQLite opens honour other sessions' locks, a damaged file is a one-line StorageError (503 in the
dashboard), and the index's change marker covers every row it shows."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from nasforge import Study
from nasforge.analysis.dashboard import Dashboard, serve_in_thread
from nasforge.cli import main
from nasforge.experiment.storage import StorageError, open_storage
from nasforge.experiment.storage import sql

from test_dashboard import get
from test_report import make_study


def _rollback_journal_study(tmp_path: Path) -> tuple[str, Path]:
    """A stored study of 10 trials in a file switched to another journal mode (as another tool may leave it)."""
    db = tmp_path / "lock.db"
    make_study(f"sqlite:///{db}", "grow", n=10).storage.close()
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA journal_mode=delete").fetchone()[0] == "delete"
    raw.close()
    return f"sqlite:///{db}", db


def _dirty_writer(db: Path, lock: str) -> sqlite3.Connection:
    """A session in the middle of a transaction that deletes every trial and is never committed."""
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("PRAGMA cache_size=1")  # the change spills into the database file before any commit
    writer.execute(f"BEGIN {lock}")
    writer.execute("DELETE FROM nasforge_trials")
    return writer


def test_a_reader_never_sees_another_sessions_uncommitted_rollback_journal_transaction(tmp_path, monkeypatch):
    """Would fail: with no -wal file the file was read as immutable, without locks: the uncommitted delete was read
    as 0 trials at once instead of waiting for the lock and saying the database is locked."""
    monkeypatch.setattr(sql, "BUSY_TIMEOUT", 0.3)
    url, db = _rollback_journal_study(tmp_path)
    reader = open_storage(url, readonly=True)
    study_id = reader.load_study("grow").id
    for lock in ("IMMEDIATE", "EXCLUSIVE"):
        writer = _dirty_writer(db, lock)
        try:
            start = time.monotonic()
            with pytest.raises(StorageError, match="database is locked"):
                reader.trials(study_id)
            assert time.monotonic() - start >= 0.25  # it waited for the busy timeout first
        finally:
            writer.execute("ROLLBACK")
            writer.close()
    assert len(reader.trials(study_id)) == 10  # the committed state, once the lock is gone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lock.db"]  # no side file


def test_a_reader_sees_the_committed_state_under_a_writer_that_has_not_spilled(tmp_path):
    url, db = _rollback_journal_study(tmp_path)
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE nasforge_trials SET state = 'FAIL'")  # in the writer's cache only
    try:
        reader = open_storage(url, readonly=True)
        states = {t.state.name for t in reader.trials(reader.load_study("grow").id)}
        assert "FAIL" not in states and "COMPLETE" in states
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_the_cli_and_the_dashboard_say_locked_for_a_locked_rollback_journal_file(tmp_path, monkeypatch, capsys):
    """Would fail: `status` said 'trials: 0' (rc 0) and the dashboard served the uncommitted state."""
    monkeypatch.setattr(sql, "BUSY_TIMEOUT", 0.2)
    url, db = _rollback_journal_study(tmp_path)
    server, base = serve_in_thread(url, port=0)
    writer = _dirty_writer(db, "EXCLUSIVE")
    try:
        assert main(["status", "grow", "--storage", url]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "database is locked" in err
        status, text = get(base + "/api/study/version?name=grow")
        assert status == 503 and "database is locked" in text
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        server.shutdown()
        server.server_close()


def test_a_wal_file_read_while_a_writer_starts_and_checkpoints_is_an_error_not_a_torn_read(tmp_path):
    """Would fail: a WAL database with no -wal file is read as immutable (no side files); a writer that opened,
    committed and closed meanwhile wrote into the file under the read, which went on unnoticed."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    make_study(url, "grow", n=6).storage.close()
    reader = open_storage(url, readonly=True)
    with pytest.raises(StorageError, match="changed while it was read"):
        with reader._begin() as conn:  # a read in progress
            conn.execute(sa.text("SELECT count(*) FROM nasforge_trials")).scalar()
            writer = Study.load("grow", url)
            writer.set_user_attr("note", "x" * 5000)
            writer.storage.close()  # the last connection folds the log into the file and removes it
    assert reader.load_study("grow").user_attrs["note"] == "x" * 5000  # the next read is whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.db"]


def _corrupt_trials(db: Path) -> None:
    """Overwrite the page of the trials table's b-tree root with garbage."""
    with sqlite3.connect(db) as raw:
        page_size = raw.execute("PRAGMA page_size").fetchone()[0]
        root = raw.execute("SELECT rootpage FROM sqlite_master WHERE name = 'nasforge_trials'").fetchone()[0]
    raw.close()
    with open(db, "r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\x0d\xff\xff\x00" * (page_size // 4))


def test_a_damaged_sqlite_file_is_one_line_in_the_cli_and_a_503_in_the_dashboard(tmp_path, capsys):
    """Would fail: sqlite's "database disk image is malformed" (a plain DatabaseError) escaped as a traceback (rc 1)
    and as HTTP 500 "internal error of the dashboard"."""
    db = tmp_path / "corrupt.db"
    url = f"sqlite:///{db}"
    make_study(url, "toy", n=8).storage.close()
    _corrupt_trials(db)
    for argv in (["studies"], ["trials", "toy"], ["status", "toy"]):
        assert main([*argv, "--storage", url]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err, err
        assert "malformed" in err and str(db) in err, err
    server, base = serve_in_thread(url, port=0)
    try:
        for route in ("/", "/api/index/version", "/api/study/version?name=toy", "/study?name=toy"):
            status, text = get(base + route)
            assert status == 503 and "malformed" in text, (route, status, text[:200])
    finally:
        server.shutdown()
        server.server_close()


def test_programming_and_integrity_errors_are_not_called_damaged_storage(tmp_path):
    url = f"sqlite:///{tmp_path / 'ok.db'}"
    make_study(url, "toy", n=2).storage.close()
    storage = open_storage(url)
    with pytest.raises(sa.exc.ProgrammingError):  # a bug of ours stays a bug
        with storage._begin() as conn:
            conn.execute(sa.text("SELECT 1; SELECT 2"))
    with pytest.raises(sa.exc.IntegrityError):  # its caller's to handle (e.g. a study name taken)
        with storage._begin() as conn:
            conn.execute(sa.text("INSERT INTO nasforge_meta (key, value) SELECT key, value FROM nasforge_meta"))
    storage.close()


def test_the_index_changes_when_a_study_is_deleted_and_recreated_under_its_name(tmp_path):
    """Would fail: the marker hashed only names, state counts and gone processes, so an open index kept showing the
    old study's strategy."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    make_study(url, "liveB", n=4, strategy="random").storage.close()
    dashboard = Dashboard(url)
    before, body = dashboard.index_section()
    assert "random" in body
    storage = open_storage(url)
    storage.delete_study("liveB")
    storage.close()
    make_study(url, "liveB", n=4, strategy="nsga2").storage.close()
    after, body = dashboard.index_section()
    assert "nsga2" in body and after != before
    assert dashboard.index_section()[0] == after  # nothing changed since: the same marker
