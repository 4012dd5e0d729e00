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


@pytest.mark.parametrize("url", ["memory", "sqlite"])
def test_study_not_found_carries_the_study_names(tmp_path, url):
    url = "memory" if url == "memory" else f"sqlite:///{tmp_path / 'x.db'}"
    storage = open_storage(url)
    for name in ("b", "a"):
        Study(SPACE, "random", objectives="acc", seed=0, name=name, storage=storage)
    for call in (storage.load_study, storage.delete_study):
        with pytest.raises(StudyNotFoundError) as info:
            call("nosuch")
        assert set(info.value.studies) == {"a", "b"}
        assert pickle.loads(pickle.dumps(info.value)).studies == info.value.studies
    assert StudyNotFoundError("no study").studies is None


def test_the_default_storage_miss_lists_names_from_the_exception_not_its_text(tmp_path, monkeypatch, capsys):
    """Would fail: the names were cut from the message at its last '; studies: ', which a study name may hold."""
    monkeypatch.chdir(tmp_path)
    Study(SPACE, "random", objectives="acc", seed=0, name="x; studies: y", storage="sqlite:///nasforge.db").close()
    err = _one_line(capsys, ["status", "nosuch"])
    assert "(the default --storage; studies: ['x; studies: y'])" in err
