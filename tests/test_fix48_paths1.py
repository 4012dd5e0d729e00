"""Review 48 (paths): a relative SQLite --storage of nasforge search is recorded absolute, an old study that
recorded one says from which folder to resume it, and a run folder whose study is in a SQLite file elsewhere names
that file's command instead of "no run folder"."""

from __future__ import annotations

import io
import json

import pytest

from nasforge.cli import main
from nasforge.experiment import Study
from nasforge.experiment.storage.urls import sqlite_path, sqlite_url
from nasforge.pipelines.search import SearchConfig, _copy_writes_beside_itself, resume_command
from nasforge.spaces import get_space


def _one_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_a_relative_sqlite_storage_is_recorded_absolute(tmp_path, monkeypatch):
    """Would fail: the config kept 'sqlite:///s.db', so the resume command in summary.json worked only from the
    folder the run started in, and a resume from another folder took the same file for a copy."""
    monkeypatch.chdir(tmp_path)
    config = SearchConfig(storage="sqlite:///runs/s%20b.db", out="o", name="rel").resolved()
    assert sqlite_path(config.storage) == str(tmp_path / "runs" / "s b.db")
    url = sqlite_url(tmp_path / "runs" / "s b.db")
    assert resume_command("rel", config.storage) == f"nasforge resume rel --storage {url}"
    monkeypatch.chdir(tmp_path / "..")  # the same file, spelled from another folder: no copy
    same = _copy_writes_beside_itself("rel", url, config, None)
    assert same.out == str(tmp_path / "o") and same.storage == config.storage


def test_an_old_relative_sqlite_study_resumed_from_elsewhere_names_the_folder_to_resume_from(tmp_path, monkeypatch):
    """Would fail: the resume called the run's own file a copy without saying that it cannot tell, or from which
    folder the run's outputs go into its --out. A study so stored still resumes as before (as a copy here)."""
    from rich.console import Console

    start = tmp_path / "a"
    start.mkdir()
    stored = SearchConfig(storage="sqlite:///s.db", out=str(start / "o"), name="rel")  # as stored before the fix
    monkeypatch.chdir(tmp_path)
    text = io.StringIO()
    config = _copy_writes_beside_itself("rel", "sqlite:///a/s.db", stored, Console(file=text, width=1000))
    assert config.out == str(start) and config.storage == sqlite_url(start / "s.db")  # recorded absolute
    said = " ".join(text.getvalue().split())
    assert "relative to the folder its run was started in" in said
    assert f"cd {start} && nasforge resume rel --storage sqlite:///s.db" in said
    text.truncate(0)  # a file of another name: a copy, said as before
    _copy_writes_beside_itself("rel", "sqlite:///a/copy.db", stored, Console(file=text, width=1000))
    assert "this copy writes its outputs beside itself" in text.getvalue()


@pytest.mark.parametrize("command", ["status", "report", "trials"])
def test_a_run_folder_whose_study_is_in_a_sqlite_file_elsewhere_names_it(tmp_path, monkeypatch, capsys, command):
    """Would fail: "no study 'o' here: no run folder 'o' or nasforge-runs/o/, ..." for a run folder whose
    summary.json names its study in s.db beside it."""
    monkeypatch.chdir(tmp_path)
    url = sqlite_url(tmp_path / "s.db")
    Study(get_space("nb201"), "random", name="rel", storage=url, seed=0)
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "summary.json").write_text(json.dumps({"name": "rel", "resume_command": resume_command("rel",
                                                                                                            url)}))
    assert main([command, "o"]) == 2
    writes = " --out o/report.html --overwrite" if command == "report" else ""  # where report would have written
    assert _one_line(capsys).endswith(f"error: 'o' is the run folder of study 'rel', which is stored in a SQLite "
                                      f"file, not in the folder: run nasforge {command} rel --storage {url}{writes}")


def test_a_run_folder_of_a_relative_sqlite_study_says_where_to_run_from(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / ".nasforge-run.lock").write_text(resume_command("rel", "sqlite:///s.db"))
    assert main(["status", "o"]) == 2
    assert _one_line(capsys).endswith("run nasforge status rel --storage sqlite:///s.db (from the folder the run was "
                                      "started in: the path is relative to it)")


def test_a_run_folder_whose_own_study_db_is_missing_is_no_run_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "summary.json").write_text(json.dumps({
        "name": "rel", "resume_command": resume_command("rel", sqlite_url(tmp_path / "o" / "study.db"))}))
    assert main(["status", "o"]) == 2
    assert "no study 'o' here: no run folder 'o'" in _one_line(capsys)
