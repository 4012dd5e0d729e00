"""Regressions of review 42 (e): runs recorded before 2026-12-06 under a name starting with '-' resume as they did,
and the command line's messages say what happened."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nasforge.cli import main
from nasforge.exceptions import UsageError
from nasforge.pipelines import search as pipeline
from nasforge.pipelines.search import SearchConfig, resume_command


def _old_summary(folder: Path, name: str, url: str) -> None:
    """A summary.json as nasforge wrote it before 2026-12-06 (a '-' name before --storage)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps({"name": name,
                                                     "resume_command": f"nasforge resume {name} --storage {url}"}))


def test_both_spellings_of_a_dash_name_resume_the_same_run():
    url = "sqlite:////runs/-x/study.db"
    for stored in (f"nasforge resume -x --storage {url}", f"nasforge resume --storage {url} -- -x",
                   "nasforge resume -x --storage sqlite:////runs/-x/study.db"):
        assert pipeline._resumes(stored, resume_command("-x", url))
    assert pipeline._resumes("nasforge resume s --storage postgresql://u:pw@h/db",  # a password stored before
                             resume_command("s", "postgresql://u@h/db"))
    assert not pipeline._resumes(f"nasforge resume -y --storage {url}", resume_command("-x", url))
    assert not pipeline._resumes(None, resume_command("-x", url))
    assert not pipeline._resumes(["a list"], resume_command("-x", url))  # an edited summary.json


def test_a_copied_run_of_a_dash_name_recorded_before_writes_beside_itself(tmp_path):
    """It was refused: the copy's summary.json (old spelling) was taken for 'another run'."""
    original = tmp_path / "nasforge-runs" / "-x"
    url = f"sqlite:///{original / 'study.db'}"
    copy = tmp_path / "D2" / "-x"
    _old_summary(copy, "-x", url)
    config = SearchConfig(storage=url, name="-x", out=str(original))
    copied = pipeline._copy_writes_beside_itself("-x", f"sqlite:///{copy / 'study.db'}", config, None)
    assert Path(copied.out) == copy.resolve()


def test_a_dash_run_whose_folder_is_not_its_databases_resumes_in_place(tmp_path):
    """It was refused: outz/summary.json names the run in the old spelling, and outz holds a file of the user's."""
    url = f"sqlite:///{tmp_path / 'other.db'}"
    out = tmp_path / "outz"
    _old_summary(out, "-z", url)
    (out / "notes.txt").write_text("mine")
    config = SearchConfig(storage=url, name="-z", out=str(out))
    assert pipeline._copy_writes_beside_itself("-z", url, config, None) is config


@pytest.mark.parametrize("line", [["trials", "--out", "-"], ["report", "--optimum", "-1"],
                                  ["trials", "--state", "-1"], ["status", "--storage=-x"]])
def test_an_options_value_starting_with_a_dash_gets_no_read_as_an_option_hint(line, capsys):
    """It said e.g. "'-' was read as an option" for the '-' that was --out's value (standard output)."""
    assert main(line) == 2
    err = capsys.readouterr().err
    assert "the following arguments are required" in err and "read as an option" not in err


def test_a_study_name_read_as_an_option_still_gets_the_hint(capsys):
    assert main(["trials", "--out", "-", "-x"]) == 2
    assert "'-x' was read as an option" in capsys.readouterr().err


def test_a_path_like_study_found_nowhere_is_not_called_a_missing_run_name(tmp_path, monkeypatch, capsys):
    """It said "nor a run name (nasforge-runs//tmp/nonexist/run/ does not exist)", and "nasforge-runs/empty.db/ does
    not exist" of a folder that is there (holding no study.db)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "nasforge-runs" / "empty.db").mkdir(parents=True)
    missing = str(tmp_path / "nonexist" / "run")
    assert main(["status", missing]) == 2
    err = capsys.readouterr().err
    assert f"'{missing}' is no run folder (no such folder); check the path" in err and "run name" not in err
    assert main(["status", "empty.db"]) == 2
    err = capsys.readouterr().err
    assert "and nasforge-runs/empty.db/ holds no study.db; check the path" in err and "does not exist" not in err


@pytest.mark.parametrize(("name", "fmt", "suggested"), [
    ("m.onnx.bak", "onnx", "name the file m.onnx (or m.onnx.bak.onnx)"),
    ("model.xyz", "onnx", "name the file model.onnx (or model.xyz.onnx)"),
    ("v1.2", "torchscript", "name the file v1.pt (or v1.2.pt)")])
def test_export_suggests_a_name_with_one_suffix_of_the_format(tmp_path, name, fmt, suggested):
    """For m.onnx.bak it suggested m.onnx.onnx."""
    from nasforge.export import export_target

    with pytest.raises(UsageError) as refused:
        export_target(tmp_path, fmt, str(tmp_path / name))
    assert suggested in str(refused.value) and ".onnx.onnx" not in str(refused.value)
