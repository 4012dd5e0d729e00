"""A newcomer's mistakes, review 55: a SQLite URL with two slashes, an old flag with a missing argument, chain
layers given to another space, and the status of a search stopped with Ctrl-C."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from cli_lines import error_line
from nasforge.cli import main
from nasforge.exceptions import StorageError
from nasforge.experiment import Study
from nasforge.spaces import get_space


@pytest.mark.parametrize("command", [["studies"], ["status", "s"], ["resume", "s"], ["trials", "s"],
                                     ["search", "--out", "run"]])
def test_a_sqlite_url_with_two_slashes_names_the_spelling_meant(command, tmp_path, monkeypatch, capsys):
    """Would fail: readers said "no database file 'x.db'" (the folder dropped: SQLAlchemy read 'runs' as a host),
    search that the URL "names no database file"."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    line = error_line(capsys, [*command, "--storage", "sqlite://runs/x.db"])
    assert "a SQLite URL has no host ('runs'" in line and "sqlite:///runs/x.db" in line, line


def test_a_sqlite_url_with_two_slashes_is_refused_in_python(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StorageError, match=r"sqlite:///runs/x\.db"):
        Study(get_space("nb201"), "random", objectives="acc", storage="sqlite://runs/x.db", name="t")
    with pytest.raises(StorageError, match="names no database file"):  # still: no file at all
        Study(get_space("nb201"), "random", objectives="acc", storage="sqlite://", name="t")


@pytest.mark.parametrize("argv, renamed", [(["trials", "--csv"], "--csv is now --format csv"),
                                           (["surrogate", "info", "--json"], "--json is now --format json")])
def test_a_renamed_flag_without_the_argument_is_named_as_renamed(argv, renamed, capsys):
    """Would fail: "'--csv' was read as an option: an argument starting with '-' goes after '--' (nasforge trials
    [OPTIONS] -- --csv)", as if --csv were the study's name."""
    line = error_line(capsys, argv)
    assert renamed in line and "the following arguments are required" in line and "goes after '--'" not in line


def test_an_unknown_dash_word_without_the_argument_keeps_its_hint(capsys):
    line = error_line(capsys, ["trials", "-x"])
    assert "goes after '--'" in line and "is now" not in line


@pytest.mark.parametrize("config", ["- [conv3, conv5]\n- [conv3, skip]\n", '{"layers": [["conv3", "conv5"]]}'])
@pytest.mark.parametrize("command", [["search"], ["bench", "--space", "nb101"]])
def test_chain_layers_given_to_another_space_say_use_space_chain(config, command, tmp_path, monkeypatch, capsys):
    """Would fail: "space 'nb201' takes a mapping of options, got list" (or an unknown option 'layers')."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "layers.yaml").write_text(config)
    line = error_line(capsys, [*command, "--space-config", "layers.yaml"])
    assert "lists the layers of a chain space" in line and "use --space chain" in line, line


def _stopped_run(folder: Path, search_done: bool, waiting: bool) -> None:
    """A search run's study.db: one complete trial, optionally one waiting (put back by a Ctrl-C)."""
    study = Study(get_space("nb201"), "random", objectives="val_acc", seed=0, name="r",
                  storage=f"sqlite:///{folder / 'study.db'}")
    study.set_user_attr("pipeline", "search")
    if search_done:
        study.set_user_attr("search_done", True)
    study.tell(study.ask(), 50.0)
    if waiting:
        study.enqueue(study.space.sample(1))
    study.close()


@pytest.mark.parametrize("search_done, waiting, summary, shown",
                         [(False, True, False, True), (False, False, False, True), (True, True, False, True),
                          (True, False, True, False), (False, True, True, False)])
def test_status_of_a_stopped_search_says_how_to_finish_it(search_done, waiting, summary, shown, tmp_path,
                                                          monkeypatch, capsys):
    """Would fail: after a Ctrl-C, status said only 'complete 1, waiting 1', no command to go on with."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "nasforge-runs" / "r"
    folder.mkdir(parents=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _stopped_run(folder, search_done, waiting)
    if summary:
        (folder / "summary.json").write_text("{}")
    assert main(["status", "r"]) == 0
    out = capsys.readouterr().out
    assert ("unfinished: the run stopped before its end" in out) == shown, out
    if shown:
        assert "nasforge resume r --storage sqlite:///" in out and out.rstrip().endswith("finishes it")


def test_status_of_a_python_study_has_no_unfinished_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    study = Study(get_space("nb201"), "random", objectives="val_acc", seed=0, name="p", storage="sqlite:///study.db")
    study.tell(study.ask(), 50.0)
    study.close()
    assert main(["status", "p", "--storage", "sqlite:///study.db"]) == 0
    assert "unfinished" not in capsys.readouterr().out


def test_status_of_a_search_at_work_has_no_unfinished_line(tmp_path, monkeypatch, capsys):
    """Would fail: a live run with no trial running for a moment (its study just stored, between two trials or its
    stages) was said to have stopped, with the resume command that 'finishes it'. A live run holds its lock."""
    import fcntl

    from nasforge.pipelines.search import LOCK

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "nasforge-runs" / "r"
    folder.mkdir(parents=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _stopped_run(folder, search_done=False, waiting=False)
    with open(folder / LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as the run's process holds it while it works
        assert main(["status", "r"]) == 0
        assert "unfinished" not in capsys.readouterr().out
    assert main(["status", "r"]) == 0  # a lock file no process holds (a run killed): stopped
    assert "unfinished: the run stopped before its end" in capsys.readouterr().out
