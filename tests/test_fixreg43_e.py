"""Regression review 43 (storage): '@' outside the password, a server run folder beside ./nasforge.db, sequence
rights, Study.load by a reader, sqlite+pysqlite URLs, transient connection refusals, status's re-run advice."""

from __future__ import annotations

import json
import shlex
import threading
import time
import warnings

import pytest
import sqlalchemy as sa

from nasforge.cli import main
from nasforge.exceptions import StorageError
from nasforge.experiment import Study, get_storage, open_storage
from nasforge.experiment.storage import sql
from nasforge.experiment.storage.display import display_url, mask_passwords, without_password
from nasforge.experiment.storage.urls import check_storage_url
from nasforge.pipelines.search import resume_command
from nasforge.spaces import get_space

from engine_backends import PG_URL
from test_postgres_review37 import pg  # noqa: F401  (the fixture)

needs_pg = pytest.mark.skipif(not PG_URL, reason="NASFORGE_TEST_POSTGRES_URL is not set")


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


@pytest.mark.parametrize("url, shown, kept", [
    ("postgresql+psycopg://nf:secret@127.0.0.1:55443/db@x", "postgresql+psycopg://nf:***@127.0.0.1:55443/db@x",
     "postgresql+psycopg://nf@127.0.0.1:55443/db%40x"),
    ("postgresql+psycopg://nf:pw@h/nfdb?application_name=me@host", "postgresql+psycopg://nf:***@h/nfdb?"
     "application_name=me@host", "postgresql+psycopg://nf@h/nfdb?application_name=me%40host"),
    ("postgresql://at:p@ss@host:5432/db", "postgresql://at:***@host:5432/db", "postgresql://at@host:5432/db"),
    ("postgresql://at:p@ss:x@host:5432/db", "postgresql://at:***@host:5432/db", "postgresql://at@host:5432/db"),
])
def test_only_the_password_sqlalchemy_reads_is_hidden(url, shown, kept):
    """Would fail: an '@' in the database name or the query cut the host, port and database from every URL shown
    and from the recorded resume command (``nf@x``); an '@' truly in the password still hides all of it."""
    assert display_url(url) == shown and without_password(url) == kept
    assert mask_passwords(f"error: cannot open {url}: refused") == f"error: cannot open {shown}: refused"
    assert display_url(shown) == shown and mask_passwords(shown) == shown  # masking twice changes nothing
    if "p@ss" not in url:  # the recorded command reaches the same server and database
        stored = sa.engine.make_url(shlex.split(resume_command("s", url))[-1])
        assert (stored.host, stored.port, stored.database, stored.query) == (
            sa.engine.make_url(url).host, sa.engine.make_url(url).port, sa.engine.make_url(url).database,
            sa.engine.make_url(url).query)


@needs_pg
def test_a_database_named_with_an_at_sign_opens_and_is_shown_whole(pg):
    name = f"fix_r37_a@b_{int(time.time() * 1000) % 10**8}"
    pg.sql(f'CREATE DATABASE "{name}"')
    try:
        server = sa.engine.make_url(PG_URL)
        url = f"{server.drivername}://{server.username}:pw@{server.host}:{server.port}/{name}"  # the '@' as typed
        with get_storage(url) as storage:
            assert storage.shown == url.replace(":pw@", ":***@")
        with open_storage(without_password(url), readonly=True) as storage:
            assert storage.list_studies() == []
    finally:
        pg.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _summary_of_a_server_run(folder, name: str = "pg1") -> None:
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps({
        "name": name, "resume_command": f"nasforge resume {name} --storage postgresql+psycopg://nf@db.example/nas"}))


@pytest.mark.parametrize("command", ["status", "trials", "report"])
def test_a_server_run_folder_named_like_a_study_of_the_default_storage(tmp_path, monkeypatch, capsys, command):
    """Would fail: the study of ./nasforge.db was unreachable without --storage, and the error named only the
    folder's study."""
    monkeypatch.chdir(tmp_path)
    _summary_of_a_server_run(tmp_path / "pgrun")
    Study(get_space("nb201"), "random", objectives="acc", seed=0, name="pgrun", storage="sqlite:///nasforge.db").close()
    assert main([command, "pgrun"]) == 2
    assert one_line(capsys.readouterr().err).endswith(
        f"error: 'pgrun' is both the run folder of a study stored in a database server and a study in "
        f"sqlite:///nasforge.db: for the folder's study run nasforge {command} pg1 --storage "
        "postgresql+psycopg://nf@db.example/nas"
        f"{' --out pgrun/report.html --overwrite' if command == 'report' else ''} (the password is not recorded: set PGPASSWORD, use ~/.pgpass, or add "
        f"user:PASSWORD@ to the URL); for the other nasforge {command} pgrun --storage sqlite:///nasforge.db")
    assert main(["status", "pgrun", "--storage", "sqlite:///nasforge.db"]) == 0


def _writer(pg, db: str, rights: str) -> str:
    role = pg.role("wr43")
    pg.sql(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}; {rights.format(role)}", db)
    return pg.url(db, role=role)


def _study(url: str, name: str = "s") -> Study:
    return Study(get_space("nb201"), "random", objectives="acc", seed=0, name=name, storage=url)


@needs_pg
def test_update_on_the_sequences_is_enough_to_write(pg):
    """Would fail: "lacks USAGE on the sequence of nasforge_studies.id" of a role nextval() serves (UPDATE)."""
    db = pg.database("wr43")
    _study(pg.url(db)).close()
    url = _writer(pg, db, "GRANT UPDATE ON SEQUENCE nasforge_studies_id_seq, nasforge_trials_id_seq TO {}")
    study = _study(url, "w")
    study.optimize(lambda a: {"acc": 1.0}, 2)
    assert len(study.trials) == 2
    study.close()


@needs_pg
def test_the_trials_sequence_is_checked_too(pg, tmp_path, capsys):
    """Would fail: the check passed, and the run failed at its first trial (exit 1, the study stored)."""
    db = pg.database("wr43")
    _study(pg.url(db)).close()
    url = _writer(pg, db, "GRANT USAGE ON SEQUENCE nasforge_studies_id_seq TO {}")
    with pytest.raises(StorageError, match="lacks USAGE or UPDATE on the sequence of nasforge_trials.id"):
        open_storage(url, create=False)
    assert main(["resume", "s", "--storage", url]) == 2
    assert "nasforge_trials.id" in one_line(capsys.readouterr().err)


@needs_pg
def test_study_load_by_a_role_that_may_only_read(pg):
    """Would fail: Study.load(name, url) of a reader was refused (it worked before the write-rights check)."""
    db = pg.database("ro43")
    study = _study(pg.url(db))
    study.optimize(lambda a: {"acc": float(len(set(a.genotype)))}, 3)
    best = study.best_trial.number
    study.close()
    reader = pg.role("ro43")
    pg.sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {reader}", db)
    with pytest.warns(UserWarning, match="Study.load opened it read-only"):
        loaded = Study.load("s", pg.url(db, role=reader))
    assert len(loaded.trials) == 3 and loaded.best_trial.number == best
    with pytest.raises(StorageError):
        loaded.optimize(lambda a: {"acc": 1.0}, 1)
    loaded.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Study.load("s", open_storage(pg.url(db, role=reader), readonly=True)).close()


def test_sqlite_pysqlite_urls_work_as_sqlite_ones(tmp_path, capsys):
    """Would fail: "'sqlite+pysqlite:///...' is not a storage URL" in every reading command and the Python API."""
    (tmp_path / "a b").mkdir()
    url = f"sqlite+pysqlite:///{tmp_path}/a%20b/s.db"
    _study(url).close()
    assert (tmp_path / "a b" / "s.db").is_file()
    assert Study.load("s", url).name == "s"
    for command in (["studies"], ["status", "s"], ["trials", "s"]):
        assert main([*command, "--storage", url]) == 0, command
    assert "s" in capsys.readouterr().out
    check_storage_url(url)
    with pytest.raises(Exception, match="does not exist"):
        check_storage_url(f"sqlite+pysqlite:///{tmp_path}/nofolder/s.db")


@pytest.fixture
def sleeps(monkeypatch):
    taken: list[float] = []
    monkeypatch.setattr(sql.time, "sleep", taken.append)
    return taken


@pytest.mark.parametrize("create", [True, False])
@pytest.mark.parametrize("message", ['FATAL:  too many connections for role "nf"',
                                     "FATAL:  the database system is starting up"])
def test_a_server_full_or_starting_up_is_tried_again(tmp_path, sleeps, monkeypatch, message, create):
    """Would fail: StorageError "too many connections" at once (before, the open tried again)."""
    url = f"sqlite:///{tmp_path / 'a.db'}"
    get_storage(url).close()
    step = "_lock_schema" if create else "_check_schema"
    real = getattr(sql, step) if create else sql.SQLStorage._check_schema
    calls = []

    def refused_once(*args):
        calls.append(args)
        if len(calls) == 1:
            raise sa.exc.OperationalError("connect", {}, Exception(f"connection failed: {message}"))
        return real(*args)

    if create:
        monkeypatch.setattr(sql, step, refused_once)
    else:
        monkeypatch.setattr(sql.SQLStorage, step, refused_once)
    open_storage(url, create=create).close()
    assert len(calls) == 2 and len(sleeps) == 1


@needs_pg
def test_a_role_at_its_connection_limit_waits_for_a_free_one(pg):
    db = pg.database("lim43")
    _study(pg.url(db)).close()
    role = pg.role("lim43")
    pg.sql(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}; GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "
           f"{role}; ALTER ROLE {role} CONNECTION LIMIT 1", db)
    url = pg.url(db, role=role)
    held = sa.create_engine(url, poolclass=sa.pool.NullPool).connect()
    threading.Timer(0.5, held.close).start()
    for create in (True, False):
        open_storage(url, create=create).close()


def test_status_of_a_python_study_whose_process_is_gone(tmp_path, capsys, monkeypatch):
    """Would fail: status printed "nasforge resume NAME --storage URL re-runs it", which exits 2 (the study
    recorded no evaluator)."""
    from nasforge.experiment import identity

    url = f"sqlite:///{tmp_path / 's.db'}"
    study = _study(url, "py")
    study.optimize(lambda a: {"acc": 1.0}, 1)
    study.ask()
    asked = _study(url, "asked")
    asked.ask()
    monkeypatch.setattr(identity, "process_gone", lambda worker: True)
    assert main(["status", "py", "--storage", url]) == 0
    assert (f"(its process is gone: nasforge resume py --storage {url} --evaluator package.module:callable or "
            f"Study.load('py', '{url}').resume(evaluator) re-runs it)") in capsys.readouterr().out
    assert main(["status", "asked", "--storage", url]) == 0
    assert (f"(its process is gone: Study.load('asked', '{url}').optimize(evaluator, n_trials) in Python re-runs "
            "it)") in capsys.readouterr().out
