"""Engine fixes of 2026-12-06 (stop 42): storage URLs built from paths with '?', '%', '#' or spaces name that very
file, a URL's folder is checked as the storage reads it, and a SQLite URL's dropped query is refused."""

from __future__ import annotations

import re
import sys

import pytest

from nasforge import Study
from nasforge.cli import main
from nasforge.exceptions import StorageError, UsageError
from nasforge.experiment.storage import get_storage, open_storage
from nasforge.experiment.storage.urls import check_storage_url, sqlite_path, sqlite_url
from nasforge.spaces import get_space

from engine_evaluators import Toy

SPACE = get_space("nb201")
ODD = ["run?x", "r%41", "a b", "h#1", "p%2520?q #", "tab\there", "ü ?%"]
"""Folder names a URL would misread if a path were pasted into it as it is."""


def _study(storage: str, name: str = "s") -> Study:
    study = Study(SPACE, "random", objectives="acc", seed=0, name=name, storage=storage)
    study.optimize(Toy(), n_trials=1)
    study.close()
    return study


@pytest.mark.parametrize("name", ODD)
def test_sqlite_url_and_sqlite_path_round_trip_as_sqlalchemy_reads_them(name):
    """Would fail: a '?' ended the file name and '%41' became 'A' (paths were pasted into URLs unencoded)."""
    sa = pytest.importorskip("sqlalchemy")
    path = f"/tmp/{name}/study.db"
    url = sqlite_url(path)
    assert sa.engine.make_url(url).database == path == sqlite_path(url)
    assert not sa.engine.make_url(url).query
    assert sqlite_path("postgresql://h/db") is None


def test_a_run_folder_with_odd_characters_holds_its_own_study_db(tmp_path, monkeypatch, capsys):
    """Would fail: --out 'r?x %41#' wrote the study into a sibling file ./r, and status could not find it."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "r?x %41#"
    argv = ["search", "--workers", "1", "--trials", "1", "--retrain", "0", "--search-epochs", "1", "--seed", "1",
            "--threads", "1", "--name", "odd", "--no-progress", "--out", str(out)]
    assert main(argv) == 0
    assert (out / "study.db").is_file() and sorted(p.name for p in tmp_path.iterdir()) == [out.name]
    capsys.readouterr()
    assert main(["status", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"study 'odd' ({sqlite_url(out / 'study.db')})")


@pytest.mark.parametrize("folder", ["run?z", "r%41", "a b"])
def test_a_copied_run_folder_is_read_from_its_own_study_db_not_a_sibling(tmp_path, monkeypatch, capsys, folder):
    """Would fail: status 'run?z' read ./run (another study) and labelled it run?z/study.db; 'r%41' read rA/."""
    from nasforge.pipelines.search import run_folder_storage, unfinished_runs

    monkeypatch.chdir(tmp_path)
    (tmp_path / folder).mkdir()
    _study(sqlite_url(tmp_path / folder / "study.db"), "mine")
    for decoy in ("run", "rA"):  # where the old URLs pointed
        _study(sqlite_url(tmp_path / decoy), "decoy")
    url = run_folder_storage(folder)
    with open_storage(url, readonly=True) as storage:
        assert [s.name for s in storage.list_studies()] == ["mine"]
    assert main(["status", folder]) == 0 and capsys.readouterr().out.startswith("study 'mine'")
    assert unfinished_runs(tmp_path) == [f"nasforge resume mine --storage {url}"]  # no summary.json: unfinished


def test_check_storage_url_reads_the_folder_as_the_storage_does(tmp_path, monkeypatch):
    """Would fail: search --storage 'sqlite:///a%20b/x.db' said folder 'a%20b' does not exist, though the storage
    (and every read command) uses 'a b'; the right spelling of a folder 'pct%20x' was refused."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a b").mkdir()
    (tmp_path / "pct%20x").mkdir()
    check_storage_url("sqlite:///a%20b/x.db")
    check_storage_url("sqlite:///pct%2520x/x.db")
    with pytest.raises(UsageError, match="folder '.*/pct x' of sqlite:///pct%20x/x.db does not exist"):
        check_storage_url("sqlite:///pct%20x/x.db")


@pytest.mark.parametrize("url", ["sqlite:///t1.db?readonly", "sqlite:///t2.db?", "sqlite:///what?.db",
                                 "sqlite:///d?x/s.db"])
def test_a_sqlite_url_query_sqlalchemy_would_drop_is_refused(tmp_path, monkeypatch, url):
    """Would fail: a '?' without '=' was dropped without a word, with the rest of the file name (what?.db -> what)."""
    monkeypatch.chdir(tmp_path)
    query = "?" + url.partition("?")[2]
    with pytest.raises(StorageError, match=rf"takes no query parameters.*\(got {re.escape(repr(query))}\).*as %3F"):
        get_storage(url)
    with pytest.raises(UsageError, match=r"^--storage: storage .*takes no query parameters"):
        check_storage_url(url, "--storage")
    assert list(tmp_path.iterdir()) == []


def test_a_plain_path_storage_is_the_file_it_names(tmp_path, monkeypatch):
    """Would fail: storage='res?v2.db' stored the study in a file 'res', 'res%41.db' in 'resA.db'."""
    monkeypatch.chdir(tmp_path)
    names = ["res?v2.db", "res%41.db", "a b#c.db"]
    for name in names:
        _study(name)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)


def test_oneshot_absolute_sqlite_keeps_the_file_from_a_working_folder_with_a_question_mark(tmp_path, monkeypatch):
    """Would fail: the working folder 'w?d' was pasted unencoded in front of a relative file."""
    from nasforge.experiment.storage.urls import absolute_sqlite_url as _absolute_sqlite

    work = tmp_path / "w?d %"
    work.mkdir()
    monkeypatch.chdir(work)
    assert sqlite_path(_absolute_sqlite("sqlite:///a%20b.db")) == str(work / "a b.db")
    assert _absolute_sqlite("sqlite:////abs/x.db") == "sqlite:////abs/x.db"


if sys.platform == "win32":  # '?' is not allowed in Windows file names
    pytestmark = pytest.mark.skip("POSIX file names")
