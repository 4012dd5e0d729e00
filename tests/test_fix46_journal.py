"""A SQLite file in rollback-journal mode whose writer crashed mid-transaction (a hot FILE-journal beside it):
read-only commands say so and how to recover (they said only 'attempt to write a readonly database'), and a
writable open rolls the crashed transaction back, as SQLite's recovery does (it was refused the same way)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

from nasforge import Study
from nasforge.cli import main

CRASH = """
import os, sqlite3
conn = sqlite3.connect('j.db', isolation_level=None)
conn.execute('PRAGMA cache_size=1')
conn.execute('BEGIN')
conn.execute('DELETE FROM nasforge_trials')
os._exit(0)
"""


def _crashed_writer(folder):
    study = Study("nb201", "random", objectives="acc", seed=0, name="j", storage=f"sqlite:///{folder / 'j.db'}")
    study.optimize(lambda arch: {"acc": 1.0}, n_trials=3)
    study.storage.close()
    with sqlite3.connect(folder / "j.db") as conn:
        conn.execute("PRAGMA journal_mode=delete")
    subprocess.run([sys.executable, "-c", CRASH], cwd=folder, check=True)
    assert (folder / "j.db-journal").exists()
    return f"sqlite:///{folder / 'j.db'}"


def test_read_only_commands_name_the_crashed_writers_journal(tmp_path, capsys):
    url = _crashed_writer(tmp_path)
    assert main(["status", "j", "--storage", url]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "left its journal" in err and "PRAGMA quick_check" in err, err


def test_a_writable_open_rolls_the_crashed_transaction_back(tmp_path, capsys):
    url = _crashed_writer(tmp_path)
    assert len(Study.load("j", url).trials) == 3  # the uncommitted delete is undone
    assert not (tmp_path / "j.db-journal").exists()
    assert main(["status", "j", "--storage", url]) == 0 and "complete 3" in capsys.readouterr().out


def test_a_read_only_folder_gets_one_line_not_a_traceback(tmp_path, monkeypatch):
    """Would fail (regression): the roll-back's sqlite3 error escaped as a traceback."""
    import pytest

    from nasforge.exceptions import StorageError
    from nasforge.experiment.storage import sql

    url = _crashed_writer(tmp_path)

    def refused(*args, **kwargs):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    real = sqlite3.connect
    monkeypatch.setattr(sql.sqlite3, "connect", lambda target, *a, **k: (refused() if "immutable" not in str(target)
                                                                         and "mode=ro" not in str(target)
                                                                         else real(target, *a, **k)))
    with pytest.raises(StorageError, match="attempt to write a readonly database: a writer stopped .*j.db-journal"):
        Study.load("j", url)


def test_another_applications_file_is_not_rolled_back(tmp_path):
    """Would fail (regression): the crashed journal of a foreign file was rolled back (the file written) before the
    file was refused as another application's."""
    import pytest

    from nasforge.exceptions import ForeignStorageError

    with sqlite3.connect(tmp_path / "j.db") as conn:
        conn.execute("PRAGMA journal_mode=delete")
        conn.execute("CREATE TABLE notes (x)")
        conn.executemany("INSERT INTO notes VALUES (?)", [("x" * 500,) for _ in range(2000)])
    subprocess.run([sys.executable, "-c", CRASH.replace("nasforge_trials", "notes")], cwd=tmp_path, check=True)
    before = (tmp_path / "j.db").read_bytes()
    with pytest.raises(ForeignStorageError, match="another application's database"):
        Study.load("j", f"sqlite:///{tmp_path / 'j.db'}")
    assert (tmp_path / "j.db").read_bytes() == before and (tmp_path / "j.db-journal").exists()
