"""Review 46: a run folder whose study was deleted names no command that would find no study (search --out, and
status / trials / report / delete of a server run folder), and its files are left as they were."""

from __future__ import annotations

import json

import pytest

from nasforge.cli import main
from nasforge.exceptions import UsageError
from nasforge.experiment import Study
from nasforge.experiment.storage.urls import sqlite_url
from nasforge.pipelines.search import SearchConfig, resume_command, run_search, still_stored
from nasforge.spaces import get_space

from engine_backends import PG_URL

needs_pg = pytest.mark.skipif(not PG_URL, reason="NASFORGE_TEST_POSTGRES_URL is not set")


def _one_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def _finished_run(out, name: str, url: str) -> dict[str, bytes]:
    """A run folder of study ``name`` stored at ``url`` (as a finished search leaves it); its files' bytes."""
    out.mkdir()
    Study(get_space("nb201"), "random", name=name, storage=url, seed=0)
    (out / "summary.json").write_text(json.dumps({"name": name, "resume_command": resume_command(name, url)}))
    (out / "trials.csv").write_text("number,state\n")
    return _files(out)


def _files(out) -> dict[str, bytes]:
    """The run's outputs in ``out`` (not its study.db, which a delete changes)."""
    return {path.name: path.read_bytes() for path in out.iterdir() if path.name in ("summary.json", "trials.csv")}


def test_search_into_the_folder_of_a_deleted_study_names_no_resume(tmp_path, capsys):
    """Would fail: "rewrite its outputs with: nasforge resume sq1 --storage ...", which said "no study 'sq1'"."""
    out = tmp_path / "sqrun1"
    url = sqlite_url(out / "study.db")
    before = _finished_run(out, "sq1", url)
    assert main(["search", "--out", str(out), "--name", "sq2", "--trials", "1", "--no-progress"]) == 2
    assert f"rewrite its outputs with: {resume_command('sq1', url)})" in _one_line(capsys)
    assert main(["delete", str(out), "--yes"]) == 0
    capsys.readouterr()
    assert main(["search", "--out", str(out), "--name", "sq2", "--trials", "1", "--no-progress"]) == 2
    line = _one_line(capsys)
    assert "already holds the finished run of study 'sq1'" in line and "pick another --out for a new run" in line
    assert "nasforge resume" not in line
    assert f"its study was deleted from {url}, so no command rewrites these outputs: remove them yourself" in line
    assert _files(out) == before


def test_run_search_keeps_the_command_of_a_study_whose_database_file_is_missing(tmp_path):
    """A file not found now (an unmounted disk, a folder this user cannot search) is no proof of a deleted study."""
    out, elsewhere = tmp_path / "run", tmp_path / "kept" / "s.db"
    elsewhere.parent.mkdir()
    _finished_run(out, "r", sqlite_url(elsewhere))
    elsewhere.unlink()
    with pytest.raises(UsageError, match=r"rewrite its outputs with: nasforge resume r --storage sqlite:///.*/kept/s"):
        run_search(SearchConfig(trials=1, out=str(out), name="other"))


def test_still_stored(tmp_path):
    url = sqlite_url(tmp_path / "s.db")
    Study(get_space("nb201"), "random", name="here", storage=url, seed=0)
    assert still_stored("here", url) is True
    assert still_stored("gone", url) is False
    assert still_stored("here", sqlite_url(tmp_path / "none.db")) is None  # missing now: can't tell
    assert still_stored("here", "memory") is False
    (tmp_path / "bad.db").write_bytes(b"not a database" * 100)
    assert still_stored("here", sqlite_url(tmp_path / "bad.db")) is None
    assert still_stored("here", "postgresql+psycopg://nf@127.0.0.1:1/nas") is None  # out of reach: can't tell


@pytest.mark.parametrize("command", ["status", "trials", "report", "delete"])
def test_a_server_run_folder_of_a_deleted_study_says_it_was_deleted(tmp_path, monkeypatch, capsys, command):
    """Would fail: "run nasforge status srch1 --storage postgresql+psycopg://...", which found no study 'srch1'
    (the server is simulated: it answers that the study is not there)."""
    import nasforge.pipelines.search as search

    monkeypatch.chdir(tmp_path)
    url = "postgresql+psycopg://nf@db.example/nas"
    (tmp_path / "srun1").mkdir()
    (tmp_path / "srun1" / "summary.json").write_text(json.dumps({"name": "srch1",
                                                                 "resume_command": resume_command("srch1", url)}))
    monkeypatch.setattr(search, "still_stored", lambda study, storage: False if storage == url else None)
    assert main([command, "srun1", *(["--yes"] if command == "delete" else [])]) == 2
    assert _one_line(capsys).endswith(
        f"error: 'srun1' is the run folder of study 'srch1', which was deleted from its database server {url}: "
        "only the run's outputs are left in the folder (remove them yourself if they are not needed)")
    assert (tmp_path / "srun1" / "summary.json").is_file()


@needs_pg
def test_a_server_study_deleted_is_said_deleted_by_search_and_status(tmp_path, monkeypatch, capsys):
    import sqlalchemy as sa

    from nasforge.experiment.storage.display import display_url

    monkeypatch.chdir(tmp_path)
    url = sa.engine.make_url(PG_URL).render_as_string(hide_password=False)
    shown = display_url(url)
    name = "fix46_deleted_srch1"
    main(["delete", name, "--storage", url, "--yes", "--force"])
    capsys.readouterr()
    before = _finished_run(tmp_path / "srun1", name, url)
    assert still_stored(name, url) is True
    assert main(["status", "srun1"]) == 2
    assert f"run nasforge status {name} --storage" in _one_line(capsys)
    assert main(["delete", name, "--storage", url, "--yes"]) == 0
    capsys.readouterr()
    assert still_stored(name, url) is False
    assert main(["status", "srun1"]) == 2
    assert f"which was deleted from its database server {shown}: only the run's outputs" in _one_line(capsys)
    assert main(["search", "--out", "srun1", "--name", "sq2", "--storage", url, "--trials", "1",
                 "--no-progress"]) == 2
    line = _one_line(capsys)
    assert f"its study was deleted from {shown}, so no command" in line and "nasforge resume" not in line
    assert _files(tmp_path / "srun1") == before
