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
    assert len(err.splitlines()) == 1 and "left its journal" in err and "PRAGMA quick_check" in err


def test_a_writable_open_rolls_the_crashed_transaction_back(tmp_path, capsys):
    url = _crashed_writer(tmp_path)
    assert len(Study.load("j", url).trials) == 3  # the uncommitted delete is undone
    assert not (tmp_path / "j.db-journal").exists()
    assert main(["status", "j", "--storage", url]) == 0 and "complete 3" in capsys.readouterr().out
