"""The same storage contract on memory, SQLite and PostgreSQL (NASFORGE_TEST_POSTGRES_URL, set by .ci/run)."""

from __future__ import annotations

import copy
import os
import re
import sqlite3
import time
import uuid

import pytest
import sqlalchemy as sa

from nasforge import Result, Study
from nasforge.exceptions import StudyExistsError, UsageError
from nasforge.experiment import StorageError, TrialState, get_storage
from nasforge.experiment.storage import SCHEMA_VERSION, InMemoryStorage, StudyRecord, open_storage
from nasforge.experiment.storage.base import FinishedTrialError
from nasforge.spaces import get_space

from engine_evaluators import Toy

SPACE = get_space("nb201")
PG_URL = os.environ.get("NASFORGE_TEST_POSTGRES_URL")


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def storage(request, tmp_path):
    if request.param == "memory":
        yield InMemoryStorage()
    elif request.param == "sqlite":
        store = get_storage(f"sqlite:///{tmp_path / 'studies.db'}")
        yield store
        store.close()
    else:
        if not PG_URL:
            pytest.skip("NASFORGE_TEST_POSTGRES_URL is not set (.ci/run starts a PostgreSQL server and sets it)")
        store = get_storage(PG_URL)
        for summary in store.list_studies():
            store.delete_study(summary.name)
        yield store
        store.close()


def _record(name: str) -> StudyRecord:
    return StudyRecord(name=name, space="nb201", objectives=["acc"], directions=["maximize"], strategy="random", seed=0)


def test_study_catalogue_create_list_rename_delete(storage):
    storage.create_study(_record("a"))
    storage.create_study(_record("b"))
    with pytest.raises(StudyExistsError, match="'a' already exists"):
        storage.create_study(_record("a"))
    assert [s.name for s in storage.list_studies()] == ["a", "b"]
    storage.rename_study("a", "c")
    with pytest.raises(StudyExistsError, match="'b' already exists"):
        storage.rename_study("c", "b")
    storage.delete_study("b")
    assert [s.name for s in storage.list_studies()] == ["c"]
    with pytest.raises(KeyError, match="no study 'b'.*studies: \\['c'\\]"):
        storage.load_study("b")
    with pytest.raises(TypeError, match="unknown study field"):
        storage.update_study(storage.load_study("c").id, colour="red")


def test_trials_round_trip_with_every_field(storage):
    study = Study(SPACE, "random", objectives="acc", seed=0, name="rt", storage=storage, user_attrs={"owner": "me"})
    trial = study.ask(fidelity={"epochs": 3})
    study.tell(trial, Result(metrics={"acc": 71.5, "nan_metric": float("nan")}, cost=2.5,
                             intermediate=[(1, 60.0), (2, 70.0)]))
    failed = study.ask()
    study.tell(failed, Result.failed("CUDA out of memory"))
    study.set_user_attr("note", [1, 2])
    loaded = Study.load("rt", storage)
    a, b = loaded.trials
    assert (a.state, a.metrics["acc"], a.cost, a.fidelity, a.intermediate) == \
        (TrialState.COMPLETE, 71.5, 2.5, {"epochs": 3}, [(1, 60.0), (2, 70.0)])
    assert a.arch == trial.arch and a.worker == study.worker_id and a.finished_at >= a.started_at
    assert (b.state, b.error) == (TrialState.FAILED, "CUDA out of memory")
    assert loaded.user_attrs == {"owner": "me", "note": [1, 2]}
    summary = storage.list_studies()[0]
    assert summary.counts == {"COMPLETE": 1, "FAILED": 1} and summary.n_trials == 2


def test_numbers_claims_and_requeue_are_atomic(storage):
    study = Study(SPACE, "random", objectives="acc", seed=1, name="atomic", storage=storage)
    first, second = study.ask(), study.ask()
    assert (first.number, second.number) == (0, 1)
    assert storage.requeue(study._id, numbers=[1]) == [1]
    study.sync()
    assert study.trials[1].state == TrialState.WAITING and study.trials[1].attempts == 2
    assert storage.claim_trial(study._id, 1, "w1") is not None
    assert storage.claim_trial(study._id, 1, "w2") is None  # only one claimant wins
    storage.heartbeat(study._id, [0])
    assert storage.requeue(study._id, stale_before=time.time() - 60) == []
    assert storage.requeue(study._id, stale_before=time.time() + 1) == [0, 1]


def test_two_study_objects_share_a_study_without_collisions(storage):
    a = Study(SPACE, "random", objectives="acc", seed=2, name="shared", storage=storage)
    b = Study(SPACE, "random", objectives="acc", seed=2, name="shared", storage=storage, load_if_exists=True)
    for _ in range(10):  # same seed: b would propose a's architectures if it did not see them
        a.optimize(Toy(), 1)
        b.optimize(Toy(), 1)
    numbers = [t.number for t in Study.load("shared", storage).trials]
    assert numbers == list(range(20))
    keys = {SPACE.canonical_key(t.arch) for t in Study.load("shared", storage).trials}
    assert len(keys) == 20
    with pytest.raises(StudyExistsError, match="already exists"):
        Study(SPACE, "random", objectives="acc", name="shared", storage=storage)
    with pytest.raises(ValueError, match="not 'nb201' for \\['val_acc'\\]"):
        Study(SPACE, "random", name="shared", storage=storage, load_if_exists=True)


def test_a_finished_trial_is_never_overwritten_by_another_handle(storage):
    a = Study(SPACE, "evolution", objectives="acc", seed=0, name="x", storage=storage)
    b = Study.load("x", storage)
    trial = b.ask()
    a.tell(trial, 5.0)
    with pytest.raises(UsageError, match="trial 0 of study 'x' is already COMPLETE: another Study object or "
                                         "process told it first"):
        b.tell(trial, 6.0)
    assert trial.metrics == {"acc": 5.0} and b.strategy.n_told == a.strategy.n_told == 1  # b took in a's result
    again = copy.copy(trial)
    again.state, again.metrics = TrialState.FAILED, {}
    with pytest.raises(FinishedTrialError, match="is already COMPLETE"):
        storage.finish_trial(a.id, again, told=False, retry=copy.copy(again))  # nor a retry queued
    stored = Study.load("x", storage).trials
    assert [(t.state, t.metrics, t.event) for t in stored] == [(TrialState.COMPLETE, {"acc": 5.0}, trial.event)]


def test_a_closed_storage_refuses_every_further_use(storage):
    study = Study(SPACE, "random", objectives="acc", seed=0, name="c", storage=storage)
    trial = study.ask()
    storage.close()
    for use in (study.ask, lambda: study.tell(trial, 1.0), study.sync, storage.list_studies,
                lambda: Study.load("c", storage)):
        with pytest.raises(StorageError, match=re.escape(f"storage '{storage.url}' was closed; nothing more is read "
                                                          "or written")):
            use()
    assert trial.state == TrialState.RUNNING and len(study.trials) == 1


def test_a_study_closes_the_storage_it_opened_and_only_that_one(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    with Study(SPACE, "random", objectives="acc", seed=0, name="w", storage=url) as study:
        study.optimize(Toy(), 2)
    with pytest.raises(StorageError, match="was closed"):
        study.ask()
    store = get_storage(url)
    with Study.load("w", store) as again:
        again.optimize(Toy(), 1)
    assert len(Study.load("w", store).trials) == 3  # a Storage object passed in stays open
    store.close()


def test_study_user_attrs_of_two_handles_merge_and_sync_refreshes_them(storage):
    Study(SPACE, "random", objectives="acc", seed=0, name="ua", storage=storage, user_attrs={"created_by": "me"})
    a, b = Study.load("ua", storage), Study.load("ua", storage)
    a.set_user_attr("from_a", 1)
    b.sync()
    assert b.user_attrs == {"created_by": "me", "from_a": 1}
    b.set_user_attr("from_b", 2)
    a.set_user_attr("text", "nul\x00inside")  # JSON fields keep a NUL on PostgreSQL too
    expected = {"created_by": "me", "from_a": 1, "from_b": 2, "text": "nul\x00inside"}
    assert Study.load("ua", storage).user_attrs == a.user_attrs == expected


def test_a_handle_follows_a_rename_of_its_study(storage):
    old = Study(SPACE, "random", objectives="acc", seed=0, name="a", storage=storage)
    old.optimize(Toy(), 1)
    storage.rename_study("a", "a2")
    Study(SPACE, "random", objectives="acc", seed=0, name="a", storage=storage).set_run_config({"n_trials_total": 9})
    old.sync()
    assert old.name == "a2" and old.stored_run_config() == old.run_config != {"n_trials_total": 9}
    old.optimize(Toy(), 1)
    assert len(Study.load("a2", storage).trials) == 2 and not Study.load("a", storage).trials

def test_sqlite_tell_is_on_disk_when_it_returns(tmp_path):
    path = tmp_path / "durable.db"
    study = Study(SPACE, "random", objectives="acc", seed=0, name="d", storage=f"sqlite:///{path}")
    trial = study.ask()
    study.tell(trial, 80.0)
    with sqlite3.connect(path) as raw:  # an independent connection, as after a crash
        state, metrics = raw.execute("SELECT state, metrics FROM nasforge_trials").fetchone()
        mode = raw.execute("PRAGMA journal_mode").fetchone()[0]
    assert (state, metrics, mode) == ("COMPLETE", '{"acc":80.0}', "wal")


def test_at_exit_a_sqlite_file_still_open_gets_its_write_ahead_log_folded_in(tmp_path):
    """Would fail: a study left open at a normal exit could leave every result in the -wal file beside a 4 KB .db
    (the interpreter dropped the pooled connection without closing it), so a copy of the .db alone lost them."""
    import shutil

    from nasforge.experiment.storage import sql

    path = tmp_path / "open.db"
    study = Study(SPACE, "random", objectives="acc", seed=0, name="open", storage=f"sqlite:///{path}")
    study.optimize(Toy(), 3)
    assert (tmp_path / "open.db-wal").exists()  # still open: the log holds the results
    sql._dispose_at_exit()  # what a normal exit runs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["open.db"]
    copy = shutil.copy(path, tmp_path / "copy.db")
    assert len(Study.load("open", f"sqlite:///{copy}").trials) == 3
    assert len(study.optimize(Toy(), 1).trials) == 4  # the open study still works
    study.close()


def test_at_exit_keep_alive_threads_stop_before_the_sqlite_file_is_closed(tmp_path):
    """Would fail: the keep-alive thread of a trial asked by hand and never told beat after the exit-time close,
    opening a connection nothing closed, so the -wal/-shm files stayed beside the .db."""
    from nasforge.experiment.storage import sql

    path = tmp_path / "hand.db"
    study = Study(SPACE, "random", objectives="acc", seed=0, name="hand", storage=f"sqlite:///{path}")
    study.heartbeat_interval = 0.02
    study.ask()  # never told
    time.sleep(0.1)  # the keep-alive thread beats
    sql._dispose_at_exit()  # what a normal exit runs
    time.sleep(0.2)  # a thread still beating would reopen the file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hand.db"]
    study.close()


def test_newer_schema_and_bad_urls_are_clear_errors(tmp_path):
    path = tmp_path / "future.db"
    fresh = get_storage(f"sqlite:///{path}")
    assert fresh.schema_version == SCHEMA_VERSION
    fresh.close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE nasforge_meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(StorageError, match=f"schema version {SCHEMA_VERSION + 1}, newer"):
        get_storage(f"sqlite:///{path}")
    with pytest.raises(StorageError, match="bad storage URL 'not a url'"):
        get_storage("not a url")
    for bad in ("postgresql+psycopg://u@host:notaport/db", "postgresql+psycopg://u@[::1:5432/db"):
        with pytest.raises(StorageError, match="bad storage URL .*: its port is not a number"):
            get_storage(bad)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match="cannot open storage"):
        get_storage(str(junk))
    with pytest.raises(StorageError, match="'nosuchdb://x' is not a storage URL; use sqlite:///FILE.db"):
        get_storage("nosuchdb://x")


def test_a_newer_database_is_refused_before_anything_in_it_changes(storage, tmp_path):
    if isinstance(storage, InMemoryStorage):
        pytest.skip("an in-memory storage has no schema")
    engine = sa.create_engine(storage.url)
    with engine.begin() as conn:  # a later nasforge's database: a newer version, a column this one would add
        conn.execute(sa.text("UPDATE nasforge_meta SET value = :v WHERE key = 'schema_version'"),
                     {"v": str(SCHEMA_VERSION + 1)})
        conn.execute(sa.text("ALTER TABLE nasforge_trials DROP COLUMN tell_strategy"))
    files = sorted(os.listdir(tmp_path))
    try:
        for create in (True, False):
            with pytest.raises(StorageError, match=f"schema version {SCHEMA_VERSION + 1}, newer"):
                open_storage(storage.url, create=create)
        with engine.connect() as conn:
            assert "tell_strategy" not in {c["name"] for c in sa.inspect(conn).get_columns("nasforge_trials")}
        assert sorted(os.listdir(tmp_path)) == files
    finally:  # the PostgreSQL database is shared by the tests
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE nasforge_trials ADD COLUMN tell_strategy BOOLEAN"))
            conn.execute(sa.text("UPDATE nasforge_meta SET value = :v WHERE key = 'schema_version'"),
                         {"v": str(SCHEMA_VERSION)})
        engine.dispose()


def test_a_sqlite_url_must_name_a_database_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("notes")
    cases = {"sqlite:///": "names no database file", "sqlite://": "names no database file",
             f"sqlite:///{tmp_path}": f"names the folder '{tmp_path}'",
             "sqlite:///afile/x.db": f"'{tmp_path / 'afile'}' is a file, not a folder"}
    for url, message in cases.items():
        for kwargs in ({}, {"create": False}, {"readonly": True}):
            with pytest.raises(UsageError, match=message):  # also a StorageError
                open_storage(url, **kwargs)
        with pytest.raises(StorageError, match=message):
            Study(SPACE, "random", objectives="acc", seed=0, storage=url)
    assert sorted(os.listdir(tmp_path)) == ["afile"]
    assert Study(SPACE, "random", objectives="acc", seed=0, storage="sqlite:///:memory:").ask().number == 0


@pytest.mark.skipif(not PG_URL, reason="NASFORGE_TEST_POSTGRES_URL is not set (.ci/run starts a PostgreSQL server)")
def test_postgres_unreachable_is_a_clear_error():
    bad = PG_URL.rsplit("/", 1)[0] + f"/no_such_db_{uuid.uuid4().hex[:6]}"
    with pytest.raises(StorageError, match="cannot open storage"):
        get_storage(bad)


def test_read_only_storage_reads_and_refuses_writes(storage, tmp_path):
    from nasforge.experiment.storage import open_storage

    if isinstance(storage, InMemoryStorage):
        pytest.skip("an in-memory storage has no read-only mode")
    Study(SPACE, "random", objectives="acc", seed=0, name="ro", storage=storage).optimize(Toy(), 2)
    reader = open_storage(storage.url, readonly=True)
    assert [s.name for s in reader.list_studies()] == ["ro"]
    study = Study.load("ro", reader)
    assert len(study.trials) == 2 and study.best_value > 0
    with pytest.raises(StorageError, match="read-only|readonly"):
        study.optimize(Toy(), 1)
    with pytest.raises(StorageError, match="read-only|readonly"):
        reader.delete_study("ro")
    assert len(Study.load("ro", storage).trials) == 2
    reader.close()


def test_a_read_only_sqlite_storage_sees_later_commits_also_through_a_symbolic_link(tmp_path):
    from nasforge.experiment.storage import open_storage

    path, link = tmp_path / "live.db", tmp_path / "link.db"
    Study(SPACE, "random", objectives="acc", seed=0, name="live", storage=f"sqlite:///{path}").storage.close()
    link.symlink_to(path)
    early = open_storage(f"sqlite:///{path}", readonly=True)  # a dashboard opened while no writer runs
    study_id = early.load_study("live").id
    assert early.trials(study_id) == [] and sorted(os.listdir(tmp_path)) == ["link.db", "live.db"]
    writer = Study.load("live", f"sqlite:///{path}")
    writer.optimize(Toy(), 3)  # the writer stays open: its trials are in its log (live.db-wal)
    assert len(early.trials(study_id)) == 3
    assert len(open_storage(f"sqlite:///{link}", readonly=True).trials(study_id)) == 3
    writer.storage.close()


def _victim_and_innocent(storage):
    """A study deleted while its process still holds it (with a RUNNING trial), and a study created after it."""
    victim = Study(SPACE, "random", objectives="acc", seed=0, name="victim", storage=storage)
    victim.optimize(Toy(), 2)
    running = victim.ask()
    storage.delete_study("victim")
    innocent = Study(SPACE, "random", objectives="acc", seed=5, name="innocent", storage=storage)
    innocent.optimize(Toy(), 1)
    return victim, running, innocent


def _assert_victim_stopped(victim, running, storage):
    writes = (victim.ask, lambda: victim.tell(running, 1.0), lambda: victim.record_progress(running),
              lambda: victim.set_user_attr("k", 1), victim.sync, lambda: victim.optimize(Toy(), 1))
    for write in writes:
        with pytest.raises(StorageError, match="study 'victim' was deleted from .* while this process was using it"):
            write()
    victim.heartbeat([running.number])  # the heartbeat thread's call: nothing written, nothing raised
    innocent = Study.load("innocent", storage)
    assert [t.state for t in innocent.trials] == [TrialState.COMPLETE] and innocent.user_attrs == {}
    assert innocent.run_config["n_trials_total"] == 1


def test_a_process_whose_study_was_deleted_stops_and_never_writes_into_another(storage):
    victim, running, innocent = _victim_and_innocent(storage)
    assert innocent.id != victim.id  # ids are never reused
    _assert_victim_stopped(victim, running, storage)


def test_in_an_older_sqlite_file_that_reuses_ids_a_deleted_study_is_still_told_apart(tmp_path):
    path = tmp_path / "old.db"
    get_storage(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as raw:  # nasforge_studies as older versions made it: ids without AUTOINCREMENT
        create = raw.execute("SELECT sql FROM sqlite_master WHERE name = 'nasforge_studies'").fetchone()[0]
        raw.execute("DROP TABLE nasforge_studies")
        raw.execute(create.replace(" AUTOINCREMENT", ""))
    storage = get_storage(f"sqlite:///{path}")
    victim, running, innocent = _victim_and_innocent(storage)
    assert innocent.id == victim.id  # SQLite gave the deleted study's id to the new one
    _assert_victim_stopped(victim, running, storage)


def test_a_storage_closes_at_the_end_of_a_with_block(tmp_path):
    from nasforge.experiment.storage import open_storage
    from nasforge.experiment.storage.base import StorageError

    with open_storage(f"sqlite:///{tmp_path / 'a.db'}") as storage:
        assert storage.list_studies() == []
    with pytest.raises(StorageError):
        storage.list_studies()


def test_a_heartbeat_marks_running_trials_only(storage):
    study = Study(SPACE, "random", objectives="acc", seed=1, name="beats", storage=storage)
    running, told = study.ask(), study.ask()
    study.tell(told, 1.0)
    before = {t.number: t.heartbeat for t in storage.trials(study._id)}
    time.sleep(0.01)
    storage.heartbeat(study._id, [running.number, told.number, 99])  # 99: no such trial, nothing to mark
    after = {t.number: t.heartbeat for t in storage.trials(study._id)}
    assert after[running.number] > before[running.number] and after[told.number] == before[told.number]


def test_running_trials_are_read_with_their_progress_whatever_their_event(storage):
    """save_progress writes no event: a reader that follows events (the live dashboard) reads the running trials
    here, as stored now."""
    study = Study(SPACE, "random", objectives="acc", seed=1, name="progress", storage=storage)
    first, second, told = study.ask(), study.ask(), study.ask()
    study.tell(told, 1.0)
    event = max(t.event for t in storage.trials(study._id))
    first.intermediate = [(1, 0.25), (2, 0.5)]
    assert storage.save_progress(study._id, first)
    assert storage.trials(study._id, event) == []  # no new event
    running = storage.running_trials(study._id)
    assert [t.number for t in running] == [first.number, second.number]
    assert running[0].intermediate == [(1, 0.25), (2, 0.5)] and running[1].intermediate == []
    storage.delete_study("progress")
    with pytest.raises(StorageError, match="was deleted"):
        storage.running_trials(study._id)
