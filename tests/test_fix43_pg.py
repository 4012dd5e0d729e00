"""Review 43 (PostgreSQL): no retries of connection errors, masked reprs, one URL check, '@' in a password."""

from __future__ import annotations

import sqlite3
import time

import pytest
import sqlalchemy as sa

from nasforge.cli import main
from nasforge.exceptions import StorageError
from nasforge.experiment import Study, get_storage, open_storage
from nasforge.experiment.storage import sql
from nasforge.experiment.storage.display import display_url, mask_passwords
from nasforge.spaces import get_space

from engine_backends import PG_URL

needs_pg = pytest.mark.skipif(not PG_URL, reason="NASFORGE_TEST_POSTGRES_URL is not set")


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


@pytest.fixture
def sleeps(monkeypatch):
    """The pauses the schema creation takes between its tries."""
    taken: list[float] = []
    monkeypatch.setattr(sql.time, "sleep", taken.append)
    return taken


@pytest.mark.parametrize("url", ["postgresql+psycopg://nf:secretpw@127.0.0.1:1/db", "sqlite:///{tmp}/nofolder/x.db"])
def test_a_connection_or_missing_folder_error_is_tried_once(url, tmp_path, sleeps):
    """A refused connection (a wrong password, a missing database alike) fails at once: one login attempt, not 8
    (a lockout on a managed server) and no 4 s of pauses."""
    began = time.monotonic()
    with pytest.raises(StorageError, match="cannot open storage"):
        get_storage(url.format(tmp=tmp_path))
    assert sleeps == [] and time.monotonic() - began < 2


def test_a_busy_database_is_still_tried_again(tmp_path, sleeps, monkeypatch):
    """A peer creating the tables at the same moment (SQLite: the file is locked) is a race: tried again."""
    calls = []

    def locked_once(conn):
        calls.append(conn)
        if len(calls) == 1:
            raise sa.exc.OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    monkeypatch.setattr(sql, "_lock_schema", locked_once)
    get_storage(f"sqlite:///{tmp_path / 'a.db'}").close()
    assert len(calls) == 2 and len(sleeps) == 1


@needs_pg
def test_a_missing_database_is_one_login(sleeps):
    """(The test server trusts local roles, so a wrong password cannot be tried here; it takes the same path.)"""
    url = sa.engine.make_url(PG_URL).set(database="nasforge_no_such_db_43").render_as_string(hide_password=False)
    with pytest.raises(StorageError, match="does not exist"):
        get_storage(url)
    assert sleeps == []


def test_reprs_hide_the_password(tmp_path, monkeypatch):
    """repr() of a storage and of a study (a print, a log's %r, a notebook cell, a traceback) shows '***'."""
    from nasforge.experiment.storage.memory import InMemoryStorage

    store = InMemoryStorage()
    monkeypatch.setattr(store, "url", "postgresql+psycopg://nf:secretpw@db/nas")
    assert repr(store) == "InMemoryStorage('postgresql+psycopg://nf:***@db/nas')"
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="s", storage=store)
    assert "secretpw" not in repr(study) and "storage='postgresql+psycopg://nf:***@db/nas'" in repr(study)


@pytest.mark.parametrize("command", [["studies"], ["status", "s"], ["trials", "s"], ["resume", "s"],
                                     ["delete", "s", "--yes"], ["report", "s"], ["dashboard"]])
@pytest.mark.parametrize("url, said", [
    ("postgres://nf:secretpw@db/nas", "'postgres://nf:***@db/nas' is not a storage URL: SQLAlchemy does not know "
                                      "libpq's short scheme 'postgres://'; write it as postgresql+psycopg://..."),
    ("mysql://nf:secretpw@db/nas", "'mysql://nf:***@db/nas' is not a storage URL; use sqlite:///FILE.db or "
                                   "postgresql://..."),
])
def test_every_command_refuses_other_schemes_alike(capsys, command, url, said):
    """postgres:// (what libpq and hosting services hand out) and other databases: search's words everywhere,
    not "Can't load plugin" or "No module named 'MySQLdb'"."""
    assert main([*command, "--storage", url]) == 2
    assert one_line(capsys.readouterr().err).endswith(said)


def test_search_says_the_same_of_postgres_urls(capsys):
    assert main(["search", "--storage", "postgres://nf:secretpw@db/nas", "--trials", "1"]) == 2
    assert one_line(capsys.readouterr().err).endswith("write it as postgresql+psycopg://...")


def test_open_storage_refuses_other_schemes():
    with pytest.raises(StorageError, match="not a storage URL"):
        open_storage("mysql://u@h/db", readonly=True)


@pytest.mark.parametrize("url", ["postgresql+psycopg://odd:p@ss@localhost:1/nas",
                                 "postgresql+psycopg://odd:p@ss:w%rd/1?@localhost:1/nas"])
def test_an_unencoded_at_in_a_password_shows_none_of_it(capsys, url):
    """SQLAlchemy splits at the first '@': the host (or port) would be the password's tail, which libpq's errors
    print. Refused before connecting, the whole password hidden, with how to write it."""
    assert main(["status", "x", "--storage", url]) == 2
    err = one_line(capsys.readouterr().err)
    assert "ss" not in err.replace("storage", "").replace("password", "").replace("less", "")
    assert "'postgresql+psycopg://odd:***@localhost:1/nas'" in err
    assert err.endswith("percent-encode @ : / ? # % in a password (@ as %40, : as %3A, / as %2F, ? as %3F, "
                        "# as %23, % as %25)")


def test_display_url_hides_a_password_holding_at_signs():
    assert display_url("postgresql+psycopg://odd:p@ss@h:5/nas") == "postgresql+psycopg://odd:***@h:5/nas"
    assert mask_passwords("x 'postgresql+psycopg://odd:p@ss@h/nas' y") == "x 'postgresql+psycopg://odd:***@h/nas' y"


def test_masking_twice_keeps_the_punctuation_after_a_query_password():
    """The API says '...?password=***; studies: [...]'; the CLI's last guard masks it again and kept eating the ';'."""
    text = "no study 'x' in postgresql+psycopg://u@h/nas?password=***; studies: ['a']"
    assert mask_passwords(text) == text
    assert mask_passwords("in postgresql+psycopg://u@h/nas?password=secret end") == \
        "in postgresql+psycopg://u@h/nas?password=*** end"
