"""Review docs38 items 2, 5, 7, 11, 13: run-folder advice that works, --storage RUN_FOLDER everywhere, path-like
STUDY arguments, the default report.html refusal and compressed trials exports."""

from __future__ import annotations

from pathlib import Path

import pytest

from nasforge import Result, Study
from nasforge.cli import main
from nasforge.spaces import get_space

from cli_lines import error_line


def _study(name: str, storage: str) -> None:
    study = Study(get_space("chain", layers=[["a", "b"], ["c", "d"]]), "random", objectives="acc", seed=0, name=name,
                  storage=storage)
    for value in (1.0, 3.0):
        study.tell(study.ask(), Result(metrics={"acc": value}))
    study.storage.close()


@pytest.fixture()
def run(tmp_path, monkeypatch):
    """A folder like the --out of 'nasforge search': its study.db holds one study, 'job-20261206'."""
    monkeypatch.chdir(tmp_path)
    Path("run").mkdir()
    _study("job-20261206", "sqlite:///run/study.db")
    return tmp_path / "run"

@pytest.mark.parametrize("command", ["status", "trials", "report"])
def test_the_ambiguous_run_folder_advice_names_the_study_inside(run, capsys, command):
    """Item 2: the advice said `--storage RUN/study.db` with the folder's name, which is no study there."""
    _study("run", "sqlite:///nasforge.db")
    line = error_line(capsys, [command, "run"])
    url = f"sqlite:///{run / 'study.db'}"
    assert f"for the folder's study run nasforge {command} job-20261206 --storage {url}, for the other nasforge " \
           f"{command} run --storage sqlite:///nasforge.db" in line
    assert main([command, "job-20261206", "--storage", url]) == 0  # the advice works
    assert main([command, "run", "--storage", "sqlite:///nasforge.db", *(["--overwrite"] * (command == "report"))]) == 0


@pytest.mark.parametrize("argv", [["studies"], ["export", "x", "--out", "m.onnx"], ["status", "x"], ["report", "x"],
                                  ["dashboard"], ["search", "--trials", "1", "--out", "new"]])
def test_a_run_folder_as_storage_is_named_so_by_every_command(run, capsys, argv):
    """Item 5: `studies --storage RUN` and `export --storage RUN` said only 'bad storage URL'."""
    line = error_line(capsys, [*argv, "--storage", "run"])
    assert "--storage 'run' is a 'nasforge search' run folder, not a storage URL" in line
    assert line.endswith(f"pass --storage sqlite:///{run / 'study.db'}")


def test_a_sqlite_url_of_a_run_folder_suggests_its_study_db(run, capsys):
    """Item 5: `--storage sqlite:///RUN` suggested RUN/nasforge.db, which does not exist."""
    assert "e.g. sqlite:///run/study.db" in error_line(capsys, ["studies", "--storage", "sqlite:///run"])
    Path("plain").mkdir()
    assert "e.g. sqlite:///plain/nasforge.db" in error_line(capsys, ["studies", "--storage", "sqlite:///plain"])


@pytest.mark.parametrize("study, expected", [
    ("nosuch-run/",
     "'nosuch-run/' is no run folder (no such folder), nor a run name (nasforge-runs/nosuch-run/ does not exist)"),
    ("empty/", "'empty/' is no run folder (no study.db in it)"),
    ("run/study.db", "'run/study.db' is the database of the run folder 'run': name the folder"),
    ("other.db", "'other.db' is a file, not a run folder or a study name: to read a database file pass the study "
                 "name with --storage sqlite:///"),
])
def test_a_path_like_study_is_reported_as_that_path(run, capsys, study, expected):
    """Item 7: such a STUDY was reported as a missing ./nasforge.db that the user never named."""
    Path("empty").mkdir()
    Path("other.db").write_bytes(b"")
    for command in ("status", "trials", "delete"):
        line = error_line(capsys, [command, study])
        assert expected in line and "no database file" not in line


def test_a_study_of_the_default_storage_may_hold_a_slash(run, capsys):
    _study("team/a", "sqlite:///nasforge.db")
    assert main(["status", "team/a"]) == 0


def test_the_default_report_is_refused_without_naming_an_out_never_given(run, capsys, tmp_path):
    """Item 11: the refusal said `--out 'report.html'` though no --out was given."""
    _study("two", "sqlite:///run2.db")
    Path("report.html").write_text("")
    Path("run2").mkdir()
    Path("run2.db").rename("run2/study.db")
    assert main(["report", "run", "run2"]) == 0
    capsys.readouterr()
    line = error_line(capsys, ["report", "run", "run2"])
    assert line.endswith("'report.html' (the default --out) holds a report written by nasforge already; choose "
                         "another --out, or pass --overwrite to replace it")
    assert main(["report", "run", "run2", "--out", "x.html"]) == 0
    capsys.readouterr()
    assert "--out 'x.html' holds" in error_line(capsys, ["report", "run", "run2", "--out", "x.html"])  # given: named


@pytest.mark.parametrize("out, plain", [("t.csv.gz", "t.csv and compress it afterwards"), ("T.GZ", "T.csv and"),
                                        ("t.tsv", "t.csv"), ("d/t.csv.xz", "d/t.csv and")])
def test_trials_refuses_a_compressed_or_tab_separated_out(run, capsys, out, plain):
    """Item 13: `trials --out t.csv.gz` wrote the plain table into a file that readers take for gzip."""
    line = error_line(capsys, ["trials", "run", "--out", out])
    assert f"--out {out!r}: trials writes no " in line and f"write e.g. --out {plain}" in line
    assert not Path(out).exists()


def test_a_path_like_study_beside_an_unreadable_default_storage_gets_the_storage_s_own_error(tmp_path, monkeypatch,
                                                                                            capsys):
    """Would fail: with a damaged ./nasforge.db, `status grp/exp` said the study was not in it."""
    monkeypatch.chdir(tmp_path)
    Path("nasforge.db").write_text("garbage")
    Path("grp").mkdir()
    assert error_line(capsys, ["status", "grp/exp"]).endswith("cannot open storage 'sqlite:///nasforge.db': file is "
                                                               "not a database")


def test_a_renamed_option_keeps_a_bad_value_error_and_a_tar_gz_out_gets_a_csv_suggestion(tmp_path, monkeypatch,
                                                                                         capsys):
    """Would fail: the renamed -o hid --format's bad value; --out x.tar.gz suggested x.tar."""
    monkeypatch.chdir(tmp_path)
    line = error_line(capsys, ["trials", "-o", "x.csv", "--format", "bogus", "plain"])
    assert "-o is now --out; also: argument --format: invalid choice: 'bogus'" in line
    _study("plain", "sqlite:///nasforge.db")
    assert "write e.g. --out x.csv and compress" in error_line(capsys, ["trials", "plain", "--out", "x.tar.gz"])
