"""Review 43 (PostgreSQL): no retries of connection errors, masked reprs, one URL check, '@' in a password."""

from __future__ import annotations

import json
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
from test_postgres_review37 import pg  # noqa: F401  (the fixture)

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


def _summary_of_a_server_run(folder, name: str = "pg1") -> None:
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps({
        "name": name, "resume_command": f"nasforge resume {name} --storage postgresql+psycopg://nf@db.example/nas"}))
    (folder / "report.html").write_text("<html></html>")


@pytest.mark.parametrize("command", ["status", "trials", "resume", "report"])
def test_the_run_folder_of_a_study_on_a_server_names_its_study_and_storage(tmp_path, monkeypatch, capsys, command):
    """Would fail: "no run folder 'run1' ... (study.db is missing)", of a folder that is a run folder (summary.json,
    report.html, models/) whose study is kept in PostgreSQL."""
    monkeypatch.chdir(tmp_path)
    _summary_of_a_server_run(tmp_path / "run1")
    for given in ("run1", "./run1/"):
        assert main([command, given]) == 2
        assert one_line(capsys.readouterr().err).endswith(
            f"error: 'run1' is the run folder of study 'pg1', which is stored in a database server, not in the "
            f"folder: run nasforge {command} pg1 --storage postgresql+psycopg://nf@db.example/nas"
            f"{' --out run1/report.html --overwrite' if command == 'report' else ''} (the password is "
            "not recorded: set PGPASSWORD, use ~/.pgpass, or add user:PASSWORD@ to the URL)")


def test_a_run_name_whose_default_folder_is_a_server_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "nasforge-runs").mkdir()
    _summary_of_a_server_run(tmp_path / "nasforge-runs" / "pg1")
    assert main(["status", "pg1"]) == 2
    assert "'nasforge-runs/pg1' is the run folder of study 'pg1'" in one_line(capsys.readouterr().err)


def test_no_password_in_the_url_says_where_it_comes_from(monkeypatch):
    """A printed resume command has no password: running it without PGPASSWORD said only libpq's text."""
    def no_password(self):
        raise sa.exc.OperationalError("connect", {}, Exception("connection failed: fe_sendauth: no password supplied"))

    monkeypatch.setattr(sql.SQLStorage, "_check_schema", no_password)
    with pytest.raises(StorageError) as caught:
        open_storage("postgresql+psycopg://nf@db.example/nas", create=False)
    assert str(caught.value).endswith("no password supplied (the password is not in the URL: set PGPASSWORD, use "
                                      "~/.pgpass, or add user:PASSWORD@ to the URL)")


def _constrained(url: str, retrain: bool) -> Study:
    study = Study(get_space("nb201"), "nsga2", objectives=["acc", "cost"], directions=["maximize", "minimize"],
                  seed=0, constraints=["cost <= 2"], name="c", storage=url)
    study.optimize(lambda a: {"acc": float(len(set(a.genotype))), "cost": float(a.genotype.count("none"))}, 12)
    if retrain:  # retrains of infeasible trials, as a search's stage 2 adds them (not told to the strategy)
        for trial in study.trials[:4]:
            study.enqueue(trial.arch, user_attrs={"stage": "retrain", "of": trial.number})
        study.optimize(lambda a: {"acc": 1.0, "cost": 9.0}, n_trials=0)
    return study


def test_status_counts_the_infeasible_search_trials_as_summary_json_does(tmp_path, capsys):
    """Would fail: "k of 16 complete trials infeasible", the retrains in the count (summary.json's n_feasible counts
    the search trials only)."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = _constrained(url, retrain=True)
    broken = sum(t.metrics["cost"] > 2 for t in study.trials if t.tell_strategy)
    assert main(["status", "c", "--storage", url]) == 0
    assert f"constraints cost <= 2: {broken} of 12 complete search trials infeasible" in capsys.readouterr().out
    assert main(["status", "c", "--storage", url, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["infeasible"] == broken


def test_status_of_a_run_whose_process_is_gone_prints_the_resume_command(tmp_path, capsys, monkeypatch):
    from nasforge.experiment import identity

    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="k1", storage=url)
    study.ask()
    monkeypatch.setattr(identity, "process_gone", lambda worker: True)
    assert main(["status", "k1", "--storage", url]) == 0
    # no optimize ran (no recorded run): resume would refuse it; Python re-runs it (fixreg43_e)
    assert (f"(its process is gone: Study.load('k1', '{url}').optimize(evaluator, n_trials) in Python re-runs it)"
            in capsys.readouterr().out)


def test_dashboard_without_storage_names_the_run_folders(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "nasforge-runs" / "k1").mkdir(parents=True)
    Study(get_space("nb201"), "random", objectives="acc", seed=0, name="k1",
          storage=f"sqlite:///{tmp_path / 'nasforge-runs' / 'k1' / 'study.db'}").close()
    assert main(["dashboard"]) == 2
    assert one_line(capsys.readouterr().err) == (
        "nasforge dashboard: error: no database file 'nasforge.db' here (the default --storage); nasforge search "
        "keeps each run's study in its folder: nasforge dashboard --storage sqlite:///nasforge-runs/NAME/study.db "
        "(runs there: k1)")


@needs_pg
def test_a_role_that_may_only_read_is_refused_at_once_by_writers(pg, capsys):
    """Would fail: resume started the run, then (after the data loaded) failed with exit status 1."""
    db = pg.database("ro43")
    Study(get_space("nb201"), "random", objectives="acc", seed=0, name="s", storage=pg.url(db)).close()
    reader = pg.role("ro43")
    pg.sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {reader}", db)
    url = pg.url(db, role=reader)
    with open_storage(url, readonly=True) as storage:
        assert [s.name for s in storage.list_studies()] == ["s"]
    with pytest.raises(StorageError, match=f"for writing: permission denied: role '{reader}' lacks INSERT, UPDATE, "
                                           "DELETE on nasforge_studies; INSERT, UPDATE, DELETE on nasforge_trials"):
        open_storage(url, create=False)
    for command in (["resume", "s"], ["delete", "s", "--yes"]):
        assert main([*command, "--storage", url]) == 2
        assert "lacks INSERT, UPDATE, DELETE" in one_line(capsys.readouterr().err)
    pg.sql(f"GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {reader}; "
           f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {reader}", db)
    open_storage(url, create=False).close()


@needs_pg
def test_a_search_path_naming_no_schema_says_so(pg, monkeypatch, capsys):
    db = pg.database("sp43")
    Study(get_space("nb201"), "random", objectives="acc", seed=0, name="s", storage=pg.url(db)).close()
    monkeypatch.setenv("PGOPTIONS", "-csearch_path=nope43")
    assert main(["studies", "--storage", pg.url(db)]) == 2
    assert one_line(capsys.readouterr().err).endswith(
        f"the search_path ('nope43') names no existing schema in database '{db}'; check it (e.g. "
        "?options=-csearch_path%3DNAME or PGOPTIONS), or create the schema")


def test_export_of_the_run_folder_of_a_server_study_names_its_study(tmp_path, monkeypatch, capsys):
    """Would fail: export said the folder was 'neither a saved network nor a run folder with study.db'."""
    monkeypatch.chdir(tmp_path)
    _summary_of_a_server_run(tmp_path / "run1")
    assert main(["export", "run1", "--out", "m.onnx"]) == 2
    assert "'run1' is the run folder of study 'pg1', which is stored in a database server, not in the folder: run " \
           "nasforge export pg1 --storage postgresql+psycopg://nf@db.example/nas" in one_line(capsys.readouterr().err)
    (tmp_path / "nasforge-runs").mkdir()
    _summary_of_a_server_run(tmp_path / "nasforge-runs" / "pg2", name="pg2")
    assert main(["export", "pg2", "--out", "m.onnx"]) == 2
    assert "'nasforge-runs/pg2' is the run folder of study 'pg2'" in one_line(capsys.readouterr().err)


@needs_pg
def test_a_search_refused_on_its_data_writes_no_tables_into_an_empty_server_database(pg, tmp_path):
    """Regression: the early storage check (before the data loads) opened the database writable, so a search
    refused on its data left nasforge's tables in a database where no study was ever written."""
    from nasforge.exceptions import UsageError
    from nasforge.pipelines.search import SearchConfig, run_search

    import numpy as np

    url = pg.url(pg.database("empty43"))
    np.savez(tmp_path / "one.npz", x=np.zeros((20, 4, 4), dtype=np.uint8), y=np.zeros(20, dtype=np.int64))
    config = SearchConfig(storage=url, name="r", out=str(tmp_path / "run"), trials=2, retrain=0,
                          data="npz", data_dir=str(tmp_path / "one.npz"))
    with pytest.raises(UsageError):
        run_search(config, progress=False)
    engine = sa.create_engine(sa.engine.make_url(url))
    with engine.connect() as conn:
        assert sa.inspect(conn).get_table_names() == []
    engine.dispose()


@needs_pg
def test_a_search_by_a_role_that_may_only_read_is_refused_before_the_data_loads(pg, tmp_path, monkeypatch):
    """Regression: the early check opened read-only, so a reader's search (or a search_path naming no schema) was
    refused only after the whole data set had loaded."""
    from nasforge.exceptions import UsageError
    from nasforge.pipelines import search as pipeline
    from nasforge.pipelines.search import SearchConfig, run_search

    database = pg.database("ro43s")
    Study(get_space("nb201"), "random", objectives="acc", name="x", storage=pg.url(database)).close()
    reader = pg.role("reader43s")
    pg.sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {reader}", database=database)
    monkeypatch.setattr(pipeline, "_load_data", lambda *a: pytest.fail("the data loaded before the storage check"))
    for url in (pg.url(database, role=reader), pg.url(database, query="?options=-csearch_path%3Dnope43")):
        config = SearchConfig(storage=url, name="r", out=str(tmp_path / "run"), trials=1, retrain=0)
        with pytest.raises(UsageError):
            run_search(config, progress=False)
