"""Run folders whose study is stored in a SQLite file outside them: a folder named like its own study in
./nasforge.db is read there (no false ambiguity), and a resumed SQLite copy records its path absolute."""

from __future__ import annotations

import json

import pytest

from nasforge.cli import main
from nasforge.experiment import Study
from nasforge.experiment.storage.urls import sqlite_url
from nasforge.pipelines.search import SearchConfig, _copy_writes_beside_itself, resume_command
from nasforge.spaces import get_space


def _run_folder(folder, study: str, url: str) -> None:
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps({"name": study, "resume_command": resume_command(study, url)}))


@pytest.mark.parametrize("recorded", ["relative", "absolute"])
@pytest.mark.parametrize("command", [["status"], ["trials"], ["report", "--out", "r.html"], ["delete"]])
def test_a_run_folder_named_like_its_own_study_in_nasforge_db_reads_it(tmp_path, monkeypatch, capsys, recorded,
                                                                       command):
    """Would fail: "'runN' is both the run folder of a study stored in a SQLite file and a study in
    sqlite:///nasforge.db" (exit 2) for `search --out runN --name runN --storage sqlite:///nasforge.db`, whose two
    commands name the same study in the same file."""
    monkeypatch.chdir(tmp_path)
    url = "sqlite:///nasforge.db" if recorded == "relative" else sqlite_url(tmp_path / "nasforge.db")
    Study(get_space("nb201"), "random", name="runN", storage="sqlite:///nasforge.db", seed=0)
    _run_folder(tmp_path / "runN", "runN", url)
    code = main([command[0], "runN", *command[1:]])
    err = capsys.readouterr().err
    assert "both" not in err
    if command == ["delete"]:  # read as the study it is: only --yes is missing
        assert code == 2 and "--yes" in err
    else:
        assert code == 0, err


def test_a_run_folder_of_another_study_in_nasforge_db_is_still_ambiguous(tmp_path, monkeypatch, capsys):
    """The folder 'runN' records study 'other' of ./nasforge.db, which also holds a study 'runN': two studies."""
    monkeypatch.chdir(tmp_path)
    for name in ("runN", "other"):
        Study(get_space("nb201"), "random", name=name, storage="sqlite:///nasforge.db", seed=0)
    _run_folder(tmp_path / "runN", "other", "sqlite:///nasforge.db")
    assert main(["status", "runN"]) == 2
    assert "'runN' is both the run folder of a study stored in a SQLite file" in capsys.readouterr().err


def test_a_resumed_copy_records_its_path_absolute(tmp_path, monkeypatch):
    """Would fail: `nasforge resume runH --storage sqlite:///cp1/h.db` recorded that relative URL, so the resume
    command in cp1/summary.json worked only from the folder it was run in."""
    monkeypatch.chdir(tmp_path)
    stored = SearchConfig(storage=sqlite_url(tmp_path / "h.db"), out=str(tmp_path / "runH"), name="runH")
    config = _copy_writes_beside_itself("runH", "sqlite:///cp1/h.db", stored, None)
    assert config.out == str(tmp_path / "cp1") and config.storage == sqlite_url(tmp_path / "cp1" / "h.db")


def test_a_resumed_copy_is_its_own_run_however_its_path_was_recorded(tmp_path, monkeypatch):
    """The copy's folder records its run with the absolute path (resumed again from inside it), or with the
    relative one an earlier resume of the copy recorded: either is this copy's run, not another's."""
    stored = SearchConfig(storage=sqlite_url(tmp_path / "h.db"), out=str(tmp_path / "runH"), name="runH")
    copy = tmp_path / "cp1"
    _run_folder(copy, "runH", sqlite_url(copy / "h.db"))
    monkeypatch.chdir(copy)
    assert _copy_writes_beside_itself("runH", "sqlite:///h.db", stored, None).out == str(copy)
    (copy / "summary.json").write_text(json.dumps({"name": "runH",
                                                   "resume_command": resume_command("runH", "sqlite:///cp1/h.db")}))
    monkeypatch.chdir(tmp_path)
    assert _copy_writes_beside_itself("runH", "sqlite:///cp1/h.db", stored, None).out == str(copy)
