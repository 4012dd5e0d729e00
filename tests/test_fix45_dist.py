"""Review 45 (several processes, PostgreSQL, Ray): a stopped server run keeps its folder's record, a resume never
writes over another run, status of such a folder, in-run retries of a server starting up, Ray's log lines."""

from __future__ import annotations

import json
import logging
import re

import pytest
import sqlalchemy as sa

from nasforge.cli import main
from nasforge.exceptions import StorageError, UsageError
from nasforge.experiment import get_storage
from nasforge.experiment.storage import sql
from nasforge.pipelines import search as pipeline
from nasforge.pipelines.search import SearchConfig, resume_search, run_search

from engine_backends import PG_URL

needs_pg = pytest.mark.skipif(not PG_URL, reason="NASFORGE_TEST_POSTGRES_URL is not set")
SERVER = "postgresql+psycopg://nf@db.example/nas"
PI = f"nasforge resume pi --storage {SERVER}"


def _config(tmp_path, **kw):
    return SearchConfig(**{"trials": 2, "retrain": 0, "search_epochs": 1, "workers": 1, "threads": 1, "seed": 2,
                           "out": str(tmp_path / "run"), "name": "job", **kw})


def _stopped_server_run(out):
    """The folder a server run stopped by Ctrl-C leaves: its lock, kept as the record of the run."""
    out.mkdir()
    with pytest.raises(KeyboardInterrupt), pipeline._holding(out, PI, started=lambda: True):
        raise KeyboardInterrupt
    assert [p.name for p in out.iterdir()] == [pipeline.LOCK] and (out / pipeline.LOCK).read_text() == PI


def test_a_stopped_server_run_keeps_its_record_and_another_study_is_refused_there(tmp_path):
    """Would fail: the lock was removed on a clean stop, so another study's search took the empty folder, and the
    first run's resume then wrote its outputs over that run's."""
    out = tmp_path / "run"
    _stopped_server_run(out)
    with pytest.raises(UsageError, match=r"out: .*/run is the run folder of study 'pi', stored in a database server, "
                                         r"whose run stopped before it finished .*; pick another out, or finish that "
                                         rf"run with: {re.escape(PI)} \(if that study was deleted, remove "
                                         r".*\.nasforge-run\.lock\)"):
        run_search(_config(tmp_path))
    assert [p.name for p in out.iterdir()] == [pipeline.LOCK] and (out / pipeline.LOCK).read_text() == PI
    with pipeline._holding(out, PI):  # the same study's run takes it, and keeps the record if it stops again
        pass
    assert (out / pipeline.LOCK).read_text() == PI
    (out / "summary.json").write_text(json.dumps({"name": "pi", "resume_command": PI}))
    with pipeline._holding(out, PI, started=lambda: True):  # finished: summary.json is the record now
        pass
    assert not (out / pipeline.LOCK).exists()


def test_a_refused_or_sqlite_run_leaves_no_lock(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    with pipeline._holding(out, PI):  # refused before its study was made
        pass
    with pipeline._holding(out, f"nasforge resume job --storage sqlite:///{out / 'study.db'}", started=lambda: True):
        pass
    assert not list(out.iterdir())


def test_an_abandoned_folder_holding_a_server_run_record_is_kept(tmp_path):
    import os
    import time

    old = time.time() - 120
    for name in ("server", "sqlite"):
        (tmp_path / name).mkdir()
        (tmp_path / name / pipeline.LOCK).write_text(PI if name == "server" else "nasforge resume x --storage "
                                                     "sqlite:///x.db")
        os.utime(tmp_path / name, (old, old))
    pipeline.remove_abandoned_run_folders(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["server"]


@pytest.mark.parametrize("command", ["status", "trials", "resume"])
def test_the_folder_of_a_stopped_server_run_names_its_study_and_storage(tmp_path, monkeypatch, capsys, command):
    """Would fail: "'run' is no run folder (no study.db in it)" before the run wrote its summary.json."""
    monkeypatch.chdir(tmp_path)
    _stopped_server_run(tmp_path / "run")
    assert main([command, "run"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.endswith(
        f"error: 'run' is the run folder of study 'pi', which is stored in a database server, not in the folder: run "
        f"nasforge {command} pi --storage {SERVER} (the password is not recorded: set PGPASSWORD, use ~/.pgpass, or "
        "add user:PASSWORD@ to the URL)")


@pytest.fixture
def sleeps(monkeypatch):
    taken: list[float] = []
    monkeypatch.setattr(sql.time, "sleep", taken.append)
    return taken


def _refusing(monkeypatch, store, message, times):
    real, calls = store._engine.connect, []

    def connect():
        calls.append(1)
        if len(calls) <= times:
            raise sa.exc.OperationalError("connect", {}, Exception(f"connection failed: {message}"))
        return real()

    monkeypatch.setattr(store._engine, "connect", connect)
    return calls


def test_a_server_starting_up_mid_run_is_tried_again(tmp_path, monkeypatch, sleeps):
    """Would fail: a read or write of a running loop met "the database system is starting up" (a server restart)
    and the run stopped with StorageUnreachableError; only the open was tried again."""
    store = get_storage(f"sqlite:///{tmp_path / 'a.db'}")
    calls = _refusing(monkeypatch, store, "FATAL:  the database system is starting up", 3)
    assert store.list_studies() == [] and len(calls) == 4 and sleeps == [1.0, 2.0, 4.0]
    calls = _refusing(monkeypatch, store, "FATAL:  too many connections for role \"nf\"", 9)
    with pytest.raises(StorageError, match="too many connections"):
        store.list_studies()
    assert len(calls) == 5 and sleeps == [1.0, 2.0, 4.0, 1.0, 2.0, 4.0, 8.0]
    store.close()


def test_other_connection_errors_are_not_tried_again_and_ctrl_c_stops_a_wait(tmp_path, monkeypatch, sleeps):
    store = get_storage(f"sqlite:///{tmp_path / 'a.db'}")
    calls = _refusing(monkeypatch, store, "connection refused", 1)
    with pytest.raises(StorageError, match="connection refused"):
        store.list_studies()
    assert len(calls) == 1 and sleeps == []

    def interrupted(_seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr(sql.time, "sleep", interrupted)
    calls = _refusing(monkeypatch, store, "the database system is starting up", 1)
    with pytest.raises(KeyboardInterrupt):
        store.list_studies()
    assert len(calls) == 1
    store.close()


@pytest.mark.parametrize("given, level", [({}, logging.ERROR), ({"logging_level": "INFO"}, "INFO")])
def test_ray_logs_only_errors_unless_asked(monkeypatch, given, level):
    """Would fail: Ray's INFO and WARNING lines (``Started a local Ray instance``) reached the CLI's stderr."""
    ray = pytest.importorskip("ray")
    from nasforge.experiment.executors.ray import RayExecutor

    seen = {}
    monkeypatch.setattr(ray, "init", lambda **kwargs: seen.update(kwargs))
    RayExecutor(1, init_kwargs=given)._init_ray()
    assert seen["logging_level"] == level and seen["log_to_driver"] is False


@needs_pg
def test_a_resume_never_writes_over_another_studys_run(tmp_path, monkeypatch):
    """Would fail: the folder of a stopped PostgreSQL run was empty; another search wrote its run there, and the
    resume replaced its summary.json, trials.csv and report."""
    name = "fix45_dist_pi"
    store = get_storage(PG_URL)
    if name in [s.name for s in store.list_studies()]:
        store.delete_study(name)
    store.close()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    real = pipeline._complete
    monkeypatch.setattr(pipeline, "_complete", interrupted)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_search(_config(tmp_path, name=name, storage=PG_URL), progress=False)
    lock = (out / pipeline.LOCK).read_text()
    assert [p.name for p in out.iterdir()] == [pipeline.LOCK] and lock.startswith(f"nasforge resume {name} ")
    with pytest.raises(UsageError, match="is the run folder of study 'fix45_dist_pi', stored in a database server"):
        run_search(_config(tmp_path, name="other"), progress=False)
    monkeypatch.setattr(pipeline, "_complete", real)
    (out / pipeline.LOCK).unlink()  # as before the fix: another run took the empty folder
    run_search(_config(tmp_path, name="other"), progress=False)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(UsageError, match=rf"out: study '{name}' records the run folder .*/run, which now holds the run "
                                         r"of study 'other' \(.*summary.json\); its outputs would replace that run's"):
        resume_search(name, PG_URL, progress=False)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    store = get_storage(PG_URL)
    store.delete_study(name)
    store.close()


def test_a_finished_server_run_folder_with_a_stale_lock_is_refused_as_finished_and_the_lock_removed(tmp_path):
    """Would fail: the lock a stopped holder left was checked before summary.json, so another study's search was
    told that the finished run "stopped before it finished"."""
    out = tmp_path / "run"
    _stopped_server_run(out)
    (out / "summary.json").write_text(json.dumps({"name": "pi", "resume_command": PI}))
    with pytest.raises(UsageError, match=r"already holds the finished run of study 'pi'"):
        run_search(_config(tmp_path))
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"]


def test_a_process_sharing_the_folder_removes_the_lock_its_stopped_holder_left_once_the_run_finished(tmp_path):
    """Would fail: the lock the interrupted holder kept outlived the run the sharing process finished."""
    import fcntl
    import os

    out = tmp_path / "run"
    _stopped_server_run(out)
    for holder_ends, lock_then, kept in ((True, PI, False), (False, PI, True),
                                         (True, "nasforge resume other --storage " + SERVER, True)):
        (out / pipeline.LOCK).write_text(PI)
        (out / "summary.json").unlink(missing_ok=True)
        holder = os.open(out / pipeline.LOCK, os.O_RDWR)
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pipeline._holding(out, PI) as shared:
            assert shared
            (out / "summary.json").write_text(json.dumps({"name": "pi", "resume_command": PI}))
            if holder_ends:
                (out / pipeline.LOCK).write_text(lock_then)
                os.close(holder)
        assert (out / pipeline.LOCK).exists() == kept  # a live holder, or another study's lock: left as it is
        if not holder_ends:
            os.close(holder)


def test_a_server_run_names_its_study_in_the_lock_only_once_the_study_exists(tmp_path, monkeypatch):
    """Would fail: the lock named the study from the start, so a run killed while loading its data left a folder
    naming a study that never existed, which remove_abandoned_run_folders kept for ever."""
    import os

    seen = []

    def look(*args):
        seen.append((tmp_path / "run" / pipeline.LOCK).read_text())
        return "data"

    monkeypatch.setattr(pipeline, "_check_server_storage", lambda url: None)
    monkeypatch.setattr(pipeline, "_load_data", look)
    monkeypatch.setattr(pipeline, "_check_network_fits", lambda *args: None)
    monkeypatch.setattr(pipeline, "_create_study", lambda *args: object())
    monkeypatch.setattr(pipeline, "_complete", lambda *args: look() and {})
    run_search(_config(tmp_path, name="pi", storage=SERVER), progress=False)
    assert seen == ["", "", PI]  # both evaluators' data loaded, then the study made
    folder = tmp_path / "runs" / "killed"
    folder.mkdir(parents=True)
    (folder / pipeline.LOCK).write_text(seen[0])  # what a run killed before its study existed leaves
    os.utime(folder, (0, 0))
    pipeline.remove_abandoned_run_folders(tmp_path / "runs")
    assert not folder.exists()
