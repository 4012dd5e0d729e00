"""PostgreSQL review (2026-12-06): no password stored, read-only opens keep the user's options, permission errors
in one line, a study resumed by another URL of its database, short "no study"
lists, masked URLs in status/delete, PostgreSQL wording for an empty database, a psycopg2 URL hint.

The tests that need a server run when ``NASFORGE_TEST_POSTGRES_URL`` is set (a role that may create databases
and roles: ``.ci/run`` sets one); they make ``fix_r37_*`` databases and roles and drop them after."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from engine_backends import PG_URL

from nasforge.cli import main
from nasforge.exceptions import StorageError, StudyNotFoundError, UsageError
from nasforge.experiment import Study
from nasforge.experiment.storage import open_storage
from nasforge.experiment.storage.display import without_password
from nasforge.pipelines import search as pipeline
from nasforge.pipelines.search import SearchConfig, resume_command, resume_search, run_search
from nasforge.spaces import get_space

needs_pg = pytest.mark.skipif(not PG_URL, reason="NASFORGE_TEST_POSTGRES_URL is not set")
SECRET = "TopSecret9"


def test_without_password_removes_it_and_keeps_the_rest():
    assert without_password(f"postgresql+psycopg://u:{SECRET}@h:5/db?a=1") == "postgresql+psycopg://u@h:5/db?a=1"
    assert without_password(f"postgresql://h/db?password={SECRET}&b=2") == "postgresql://h/db?b=2"
    assert without_password(f"postgresql://h/db?b=2&password={SECRET}") == "postgresql://h/db?b=2"
    assert without_password("sqlite:///x.db") == "sqlite:///x.db"
    config = SearchConfig(storage=f"postgresql+psycopg://u:{SECRET}@h/db", name="n", out="o")
    assert SECRET not in json.dumps(config.to_json()) and SECRET not in resume_command("n", config.storage)
    assert config.storage.endswith(f"u:{SECRET}@h/db")  # the run itself still connects with it


def test_a_psycopg2_url_says_to_write_postgresql_psycopg():
    with pytest.raises(StorageError, match=r"postgresql\+psycopg://"):
        open_storage("postgresql+psycopg2://u@127.0.0.1:1/db")


@pytest.fixture
def pg():
    """A helper making throw-away ``fix_r37_*`` databases and roles on the test server, dropped after."""
    import sqlalchemy as sa

    admin = sa.create_engine(sa.engine.make_url(PG_URL), isolation_level="AUTOCOMMIT")
    made: dict[str, list[str]] = {"db": [], "role": []}
    tag = uuid.uuid4().hex[:6]

    class Server:
        def sql(self, text: str, database: str | None = None) -> None:
            engine = admin if database is None else sa.create_engine(
                sa.engine.make_url(PG_URL).set(database=database), isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.exec_driver_sql(text)
            if database is not None:
                engine.dispose()

        def database(self, name: str, template: str | None = None) -> str:
            name = f"fix_r37_{name}_{tag}"
            if template:  # a template may have no other sessions (the studies' pools: they reconnect)
                self.sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{template}'")
            self.sql(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
            made["db"].append(name)
            return name

        def role(self, name: str) -> str:
            name = f"fix_r37_{name}_{tag}"
            self.sql(f"CREATE ROLE {name} LOGIN")
            made["role"].append(name)
            return name

        def url(self, database: str, role: str | None = None, password: str | None = None,
                host: str | None = None, query: str = "") -> str:
            url = sa.engine.make_url(PG_URL).set(database=database, password=password,
                                                 **({"username": role} if role else {}),
                                                 **({"host": host} if host else {}))
            return url.render_as_string(hide_password=False) + query

    yield Server()
    with admin.connect() as conn:
        for name in made["db"]:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        for name in made["role"]:
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {name}")
    admin.dispose()


def _study(url: str, name: str = "s") -> Study:
    return Study(get_space("chain", layers=[["a", "b"], ["c", "d"]]), "random", objectives="acc", seed=0,
                 name=name, storage=url)


@needs_pg
def test_search_stores_no_password_and_resumes_from_other_urls_of_its_database(pg, tmp_path):
    db = pg.database("search")
    rw = pg.role("rw")
    pg.sql(f"GRANT ALL ON SCHEMA public TO {rw}", db)
    url = pg.url(db, password=SECRET)  # the test server trusts local roles: the password is only carried
    config = SearchConfig(trials=2, retrain=0, search_epochs=1, workers=1, threads=1, seed=2,
                          out=str(tmp_path / "run"), name="spw", storage=url)
    run_search(config)
    with open_storage(pg.url(db), readonly=True) as storage:
        record = storage.load_study("spw")
    stored = json.dumps(record.user_attrs) + (tmp_path / "run" / "summary.json").read_text()
    assert SECRET not in stored and record.user_attrs["storage_id"].startswith("postgresql:")
    pg.sql(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {rw}; "
           f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {rw}", db)
    for other in (pg.url(db, host="localhost"), pg.url(db), pg.url(db, role=rw, password="x")):
        assert resume_search("spw", other)["n_complete"] == 2  # the same database, however the URL names it
    copy = pg.database("copy", template=db)  # a real copy of the database is still refused
    with pytest.raises(UsageError, match="not in the database"):
        resume_search("spw", pg.url(copy))


@needs_pg
def test_read_only_opens_keep_the_users_search_path(pg, monkeypatch):
    db = pg.database("schema")
    pg.sql("CREATE SCHEMA fix_nas", db)
    _study(pg.url(db), "in_public").close()
    scoped = pg.url(db, query="?options=-csearch_path%3Dfix_nas")
    _study(scoped, "in_schema").close()
    with open_storage(scoped, readonly=True) as storage:
        assert [s.name for s in storage.list_studies()] == ["in_schema"]
        with pytest.raises(StorageError):  # still read-only
            storage.delete_study("in_schema")
    monkeypatch.setenv("PGOPTIONS", "-c search_path=fix_nas")
    with open_storage(pg.url(db), readonly=True) as storage:
        assert [s.name for s in storage.list_studies()] == ["in_schema"]


@needs_pg
def test_permission_errors_are_one_storage_error_line(pg, capsys):
    db = pg.database("perm")
    ro = pg.role("ro")
    _study(pg.url(db)).close()
    pg.sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {ro}", db)
    url = pg.url(db, role=ro)
    assert main(["delete", "s", "--storage", url, "--yes"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "permission denied" in err and "INSERT, UPDATE and DELETE" in err, err
    with pytest.raises(StorageError, match="permission denied"):
        _study(url, "new")
    with pytest.raises(StorageError, match="permission denied"):
        with open_storage(url) as storage:  # a writable open: the tables exist, writing them is refused
            storage.delete_study("s")


@needs_pg
def test_no_create_right_or_a_non_owner_upgrade_is_refused_at_once_naming_the_right(pg):
    rw = pg.role("rw")
    bare = pg.database("nocreate")
    pg.sql("REVOKE CREATE ON SCHEMA public FROM PUBLIC", bare)
    began = time.monotonic()
    with pytest.raises(StorageError, match=f"{rw}.*may not create nasforge's tables in schema.*GRANT CREATE"):
        open_storage(pg.url(bare, role=rw))
    old = pg.database("old")
    _study(pg.url(old)).close()
    pg.sql("ALTER TABLE nasforge_trials DROP COLUMN user_attrs, DROP COLUMN tell_strategy; "
           "UPDATE nasforge_meta SET value = '1'; "
           f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {rw}", old)
    with pytest.raises(StorageError, match="schema 1, and the upgrade to schema 2 needs their owner"):
        open_storage(pg.url(old, role=rw))
    assert time.monotonic() - began < 4  # not retried as a start-up race
    with open_storage(pg.url(old, role=rw), readonly=True) as storage:
        assert [s.name for s in storage.list_studies()] == ["s"]


@needs_pg
def test_no_study_lists_a_few_names_and_status_delete_hide_the_password(pg, capsys):
    db = pg.database("many")
    url = pg.url(db, password=SECRET)
    with open_storage(url) as storage:
        for i in range(14):
            _study(url, f"st{i:02d}").close()
        with pytest.raises(StudyNotFoundError, match=r"'st09'\] and 4 more \(see nasforge studies\)$"):
            storage.load_study("nosuch")
        with pytest.raises(StudyNotFoundError, match="and 4 more"):
            storage.delete_study("nosuch")
    for argv in (["status", "st00"], ["status", "st00", "--format", "json"], ["status", "st00", "--format", "csv"],
                 ["delete", "st01", "--yes"]):
        assert main([*argv, "--storage", url]) == 0
        out = capsys.readouterr().out
        assert SECRET not in out and ":***@" in out, out


@needs_pg
def test_an_empty_postgresql_database_is_named_with_its_schema(pg):
    db = pg.database("empty")
    with pytest.raises(StorageError, match=f"database '{db}' holds no tables in schema 'public'.*search_path"):
        open_storage(pg.url(db), readonly=True)


def test_a_sqlite_copy_is_still_refused_by_path(tmp_path):
    config = SearchConfig(storage=f"sqlite:///{tmp_path / 'a' / 'study.db'}", name="n", out=str(tmp_path / "a"))
    assert pipeline._same_database("postgresql://u@localhost/db", "postgresql://v:pw@127.0.0.1:5432/db",
                                   (None, None))
    assert not pipeline._same_database("postgresql://u@h/db", "postgresql://u@h/other", (None, None))
    assert not pipeline._same_database("postgresql://u@h/db", "postgresql://u@h/db", ("postgresql:1", "postgresql:2"))
    with pytest.raises(UsageError):
        pipeline._copy_writes_beside_itself("n", "postgresql://u@h/db", config, None)


def test_trials_json_masks_a_password_an_older_search_stored(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    study = _study(url, "old")
    study.set_user_attr("pipeline_config", {"storage": f"postgresql+psycopg://u:{SECRET}@h/db"})
    study.close()
    assert main(["trials", "old", "--storage", url, "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert SECRET not in out and "u:***@h/db" in out


def test_a_summary_written_with_the_password_still_reads_as_the_same_study():
    """Would fail: an old summary.json's resume command held the password, so a new search of the same study
    was told the folder holds another study's run."""
    url = "postgresql+psycopg://u:pw@h:5432/db"
    old = "nasforge resume s4 --storage " + url
    assert pipeline._password_dropped(old) == pipeline.resume_command("s4", url)
    assert "pw" not in pipeline.resume_command("s4", url)
    assert pipeline._password_dropped("something else") == "something else"
