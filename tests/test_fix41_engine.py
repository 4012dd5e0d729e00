"""Review 41 (engine): the empty-database message, StudyNotFoundError.studies, the recorded warm-up rule,
test_acc refused as a constraint, oneshot search --augment."""

from __future__ import annotations

import pickle
import sqlite3

import pytest

from nasforge import Study
from nasforge.cli import main
from nasforge.exceptions import StudyNotFoundError
from nasforge.experiment.storage import open_storage
from nasforge.spaces import get_space

SPACE = get_space("nb201")


def _one_line(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_the_empty_database_message_names_a_moved_database_too(tmp_path, capsys):
    """Would fail: the message blamed only a run killed as it started, though a run that opened the old path after
    the real file was moved away leaves the same empty file."""
    sqlite3.connect(tmp_path / "study.db").execute("PRAGMA user_version = 1").connection.close()
    err = _one_line(capsys, ["studies", "--storage", f"sqlite:///{tmp_path / 'study.db'}"])
    assert "is an empty database (no tables)" in err
    assert "killed as it started" in err and "moved or renamed" in err and "give its new path" in err
