"""Review 2026-12-06 (clihelp) items 1, 2, 7-10, 13, 14: file outputs, run folders, --overwrite, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nasforge import Result, Study
from nasforge.cli import main
from nasforge.spaces import get_space

from cli_lines import error_line


@pytest.fixture()
def run(tmp_path, monkeypatch):
    """A folder like the --out of 'nasforge search': its study.db holds one study, 'job'."""
    monkeypatch.chdir(tmp_path)
    Path("run").mkdir()
    study = Study(get_space("chain", layers=[["a", "b"], ["c", "d"]]), "random", objectives="acc", seed=0, name="job",
                  storage="sqlite:///run/study.db")
    for value in (1.0, 3.0, 2.0):
        study.tell(study.ask(), Result(metrics={"acc": value}))
    study.storage.close()
    return tmp_path / "run"

@pytest.mark.parametrize("argv", [["report", "run", "--out", "rdir/"], ["trials", "run", "--out", "tdir/"],
                                  ["trials", "run", "--out", "tdir/", "--format", "csv"]])
def test_an_out_file_ending_in_a_slash_is_refused(run, capsys, argv):
    """Item 1: `--out rdir/` wrote a FILE named rdir."""
    assert "ends in /, so it names a folder; name the file to write" in error_line(capsys, argv)
    assert not Path(argv[3].rstrip("/")).exists()


def test_trials_format_follows_the_out_suffix(run, capsys):
    """Item 2: `trials --out t.csv` wrote the human table into the .csv file."""
    assert main(["trials", "run", "--out", "t.csv"]) == 0
    assert Path("t.csv").read_text().startswith("number,state,arch,")
    assert main(["trials", "run", "--out", "T.JSON"]) == 0
    assert json.loads(Path("T.JSON").read_text())["name"] == "job"
    assert main(["trials", "run", "--out", "t.txt"]) == 0  # no format's suffix: the table
    assert Path("t.txt").read_text().split()[:3] == ["number", "state", "arch"]
    line = error_line(capsys, ["trials", "run", "--out", "x.json", "--format", "csv"])
    assert "--format csv does not match --out 'x.json' (a .json file)" in line
    assert "does not match" in error_line(capsys, ["trials", "run", "--out", "x.csv", "--format", "table"])
    assert not Path("x.json").exists() and not Path("x.csv").exists()
    assert main(["trials", "run", "--out", "same.csv", "--format", "csv"]) == 0  # agreeing: fine


@pytest.mark.parametrize("command", [["status"], ["trials"], ["resume"], ["delete", "--yes"]])
def test_study_commands_take_a_run_folder(run, capsys, command):
    """Item 7: `status RUN` looked for ./nasforge.db; `--storage RUN` said only 'bad storage URL'."""
    if command == ["resume"]:  # the study in run/study.db is found: it was made by ask and tell
        assert "study 'job' has no recorded optimize run to resume" in error_line(capsys, ["resume", "run"])
    else:
        assert main([command[0], "run", *command[1:]]) == 0
        out = capsys.readouterr().out
        assert "job" in out or "acc" in out
    line = error_line(capsys, [command[0], "job", "--storage", "run", *command[1:]])
    assert "--storage 'run' is a 'nasforge search' run folder, not a storage URL" in line
    assert f"--storage sqlite:///{run / 'study.db'}" in line


def test_delete_of_a_run_folder_deletes_its_study(run, capsys):
    assert "pass --yes to confirm" in error_line(capsys, ["delete", "run"])
    assert main(["delete", "run", "--yes"]) == 0
    assert "deleted study 'job'" in capsys.readouterr().out
    assert "holds no study" in error_line(capsys, ["status", "run"])


def test_report_and_trials_replace_an_earlier_output_only_with_overwrite(run, capsys):
    """Item 8: report --out and trials --out silently replaced their own earlier file."""
    for argv in (["trials", "run", "--out", "t.csv"], ["report", "run", "--out", "r.html"]):
        assert main(argv) == 0
        capsys.readouterr()
        before = Path(argv[3]).read_bytes()
        line = error_line(capsys, argv)
        assert f"--out '{argv[3]}' holds" in line and "pass --overwrite to replace it" in line
        assert Path(argv[3]).read_bytes() == before
        assert main([*argv, "--overwrite"]) == 0
    assert main(["report", "run"]) == 0 and main(["report", "run"]) == 0  # the run folder's own report.html
    assert main(["report", "job", "--storage", "sqlite:///run/study.db"]) == 0  # ./report.html
    capsys.readouterr()
    assert "pass --overwrite" in error_line(capsys, ["report", "job", "--storage", "sqlite:///run/study.db"])
    assert "standard output has nothing to replace" in error_line(capsys, ["trials", "run", "--overwrite"])


def test_export_refusal_names_only_the_command_line_flag(tmp_path):
    """Item 8: the CLI message said '--overwrite / overwrite=True'; the Python one names overwrite=True."""
    from nasforge.exceptions import UsageError
    from nasforge.export import export_target

    folder = tmp_path / "net"
    folder.mkdir()
    (tmp_path / "m.onnx").write_text("x")
    (tmp_path / "m.onnx.json").write_text('{"export_format": "onnx", "file": "m.onnx"}')  # a previous export
    with pytest.raises(UsageError, match=r"is a previous export; pass --overwrite to replace it$"):
        export_target(folder, "onnx", tmp_path / "m.onnx", flag="--overwrite")
    with pytest.raises(UsageError, match=r"is a previous export; pass overwrite=True to replace it$"):
        export_target(folder, "onnx", tmp_path / "m.onnx")


def test_delete_yes_help_says_what_it_does(capsys):
    """Item 9: the help said 'do not ask for confirmation', but delete never asks."""
    assert main(["delete", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "confirm the deletion (without it nothing is deleted" in text and "do not ask" not in text


@pytest.mark.parametrize("argv, needle", [
    ([], "nasforge: error: missing COMMAND: one of bench, search, studies,"),
    (["--debug"], "nasforge: error: missing COMMAND: one of bench,"),
    (["oneshot"], "nasforge oneshot: error: missing SUBCOMMAND: one of train, search, study"),
    (["surrogate"], "nasforge surrogate: error: missing SUBCOMMAND: one of fit, eval, info"),
    (["predictors"], "nasforge predictors: error: missing SUBCOMMAND: one of eval"),
])
def test_a_bare_command_or_group_is_one_line_naming_the_commands(capsys, argv, needle):
    """Item 10: a bare `nasforge` printed 31 lines of help (exit 2); a bare group one line."""
    assert error_line(capsys, argv).startswith(needle)


@pytest.mark.parametrize("argv, hint", [
    (["bench", "--seed", "3"], "--seed: did you mean --seeds?"),
    (["bench", "--strategy", "random"], "--strategy: did you mean --strategies?"),
    (["search", "--objective", "val_acc"], "--objective: did you mean --objectives?"),
    (["predictors", "eval", "--predictor", "knn"], "--predictor: did you mean --predictors?"),
    (["search", "--search_epochs", "2"], "--search_epochs: did you mean --search-epochs?"),
    (["search", "--search_epochs=2"], "--search_epochs: did you mean --search-epochs?"),
])
def test_near_miss_options_get_a_did_you_mean(capsys, argv, hint):
    """Item 13: only 'unrecognized arguments: ...'."""
    line = error_line(capsys, argv)
    assert f"unrecognized arguments: {' '.join(argv[-2:] if '=' not in argv[-1] else argv[-1:])}" in line
    assert line.endswith(f"; {hint} (see nasforge {' '.join(argv[:-2 if '=' not in argv[-1] else -1])} --help)")


def test_an_unlike_option_gets_no_guess(capsys):
    assert "did you mean" not in error_line(capsys, ["bench", "--colour", "red"])


@pytest.mark.parametrize("argv, expected", [
    (["trials", "-o", "x", "s"], "unrecognized arguments: -o x; -o is now --out"),
    (["trials", "--output=x", "s"], "unrecognized arguments: --output x; --output is now --out"),
    (["resume", "--n-workers", "2", "s"], "unrecognized arguments: --n-workers 2; --n-workers is now --workers"),
    (["trials", "-o"],
     "unrecognized arguments: -o; -o is now --out; also: the following arguments are required: STUDY"),
])
def test_renamed_option_hint_quotes_the_option_and_its_value(capsys, argv, expected):
    """Item 14: `trials -o x s` quoted '-o s' (x was taken as the study)."""
    assert f"error: {expected} (see nasforge {argv[0]} --help)" in error_line(capsys, argv)


def test_renamed_options_stay_out_of_help(capsys):
    assert main(["trials", "--help"]) == 0
    assert "--output" not in capsys.readouterr().out


@pytest.mark.parametrize("command", [["status"], ["trials"], ["delete", "--yes"]])
def test_a_run_folder_named_like_a_study_of_the_default_storage_is_refused_as_ambiguous(run, capsys, command):
    """Would fail: `delete run --yes` deleted the folder's study although ./nasforge.db holds a study 'run' too."""
    Study(get_space("nb201"), "random", objectives="acc", seed=0, name="run", storage="sqlite:///nasforge.db")
    line = error_line(capsys, [command[0], "run", *command[1:]])
    assert line.endswith(f"'run' is both a 'nasforge search' run folder and a study in sqlite:///nasforge.db: for "
                         f"the folder's study run nasforge {command[0]} job --storage sqlite:///{run / 'study.db'}, "
                         f"for the other nasforge {command[0]} run --storage sqlite:///nasforge.db")
    assert Study.load("run", "sqlite:///nasforge.db").name == "run"  # nothing deleted
    assert main([command[0], "job", "--storage", f"sqlite:///{run / 'study.db'}", *command[1:]]) == 0


def test_a_renamed_option_with_a_value_keeps_the_other_unknown_arguments_in_the_line(capsys):
    """Would fail: `bench --seed 1 --budget 5` named only `--budget 5`, dropping `--seed 1` and its hint."""
    line = error_line(capsys, ["bench", "--seed", "1", "--budget", "5"])
    assert "unrecognized arguments: --budget 5 --seed 1; --budget is now --trials; --seed: did you mean --seeds?" \
        in line
