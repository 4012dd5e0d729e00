"""The CLI's error contract: bad input exits 2 in one line naming the culprit, a runtime failure exits 1
in one line, a bug keeps its traceback, --debug shows every traceback, old flag names are rejected."""

import sys

import pytest

import nasforge.cli.bench as bench_cli
from nasforge.cli import main
from nasforge.exceptions import StorageError, UsageError


def fail_with(monkeypatch, exc):
    def run(args):
        raise exc

    monkeypatch.setattr(bench_cli, "run", run)


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_usage_error_exits_2_in_one_line(monkeypatch, capsys):
    fail_with(monkeypatch, UsageError("--table: file not found: x.csv"))
    assert main(["bench"]) == 2
    assert one_line(capsys.readouterr().err) == "nasforge bench: error: --table: file not found: x.csv"


def test_runtime_error_exits_1_in_one_line(monkeypatch, capsys):
    fail_with(monkeypatch, StorageError("database is locked:\n  retry later"))
    assert main(["bench"]) == 1
    assert one_line(capsys.readouterr().err) == "nasforge bench: error: database is locked: retry later"


@pytest.mark.parametrize("bug", [TypeError("f() missing 1 required positional argument"), KeyError("y_scale"),
                                 ValueError("not ours")])
def test_bugs_keep_their_traceback(monkeypatch, bug):
    fail_with(monkeypatch, bug)
    with pytest.raises(type(bug)):
        main(["bench"])


def test_debug_shows_the_traceback(monkeypatch, capsys):
    fail_with(monkeypatch, UsageError("bad"))
    assert main(["bench", "--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and err.strip().endswith("nasforge bench: error: bad")
    assert main(["--debug", "bench"]) == 2 and "Traceback" in capsys.readouterr().err


def test_debug_traceback_masks_passwords(monkeypatch, capsys):
    fail_with(monkeypatch, UsageError("cannot open postgresql+psycopg://me:s3cret@db/x"))
    assert main(["bench", "--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "s3cret" not in err and "postgresql+psycopg://me:***@db/x" in err


@pytest.mark.parametrize("argv, culprit", [
    (["bench", "--workers", "0"], "argument --workers: must be a positive integer, got 0"),
    (["bench", "--workers", "-2"], "argument --workers: must be a positive integer, got -2"),
    (["bench", "--seeds", "x"], "argument --seeds: must be a positive integer, got 'x'"),
    (["bench", "--budget", "5"], "unrecognized arguments: --budget 5"),
    (["surrogate", "eval", "a", "--runs", "2"], "unrecognized arguments: --runs 2"),
    (["surrogate", "fit", "--trials", "t.csv", "--out", "o"], "unrecognized arguments: --trials t.csv"),
    (["surrogate", "fit", "--version", "2", "--out", "o"], "unrecognized arguments: --version 2"),
    (["surrogate", "info", "a", "--json"], "unrecognized arguments: --json"),
    (["surrogate", "fit", "--seed", "-1", "--out", "o"], "argument --seed: must be a non-negative integer, got -1"),
    (["bench", "--direction", "up"], "argument --direction: invalid choice: 'up'"),
    (["nope"], "invalid choice: 'nope'"),
])
def test_argument_errors_are_one_line_naming_the_option(argv, culprit, capsys):
    assert main(argv) == 2
    assert culprit in one_line(capsys.readouterr().err)


def test_version_and_help_show_defaults(capsys):
    from nasforge import __version__

    assert main(["--version"]) == 0 and capsys.readouterr().out.strip() == f"nasforge {__version__}"
    assert main(["bench", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "evaluations per run (default: 300)" in text and "--debug" in text


def test_a_reader_that_stops_is_not_an_error(monkeypatch):
    """`nasforge trials S --format csv | head`: the reader stopping early is no failure; the command runs on (to
    save its outputs) and its output is dropped from then on."""
    import io
    import os

    class Out(io.StringIO):
        def write(self, text):
            raise BrokenPipeError

        def fileno(self):
            return 99

    redirected, done = [], []

    def run(args):
        print("a table")
        done.append("saved")
        return 0

    monkeypatch.setattr(os, "dup2", lambda src, dst: redirected.append(dst))
    monkeypatch.setattr("sys.stdout", Out())
    monkeypatch.setattr(bench_cli, "run", run)
    assert main(["bench"]) == 0 and done == ["saved"] and redirected == [99]


def test_a_broken_pipe_elsewhere_is_no_success(monkeypatch):
    """Only stdout's reader may stop: a broken pipe of anything else (e.g. a worker's) is not exit status 0."""
    fail_with(monkeypatch, BrokenPipeError())
    with pytest.raises(BrokenPipeError):
        main(["bench"])


def test_options_are_never_abbreviated(capsys):
    """`--seed 7` is no `--seeds 7` (bench would run 7 seeds); renamed options still name their new form."""
    assert main(["bench", "--seed", "7"]) == 2
    assert one_line(capsys.readouterr().err) == ("nasforge bench: error: unrecognized arguments: --seed 7; --seed: "
                                                 "did you mean --seeds? (see nasforge bench --help)")
    assert main(["predictors", "eval", "--metr", "acc"]) == 2
    assert "unrecognized arguments: --metr acc" in one_line(capsys.readouterr().err)


@pytest.mark.parametrize("argv, option", [
    (["oneshot", "train", "--noise", "-1"], "--noise"),
    (["oneshot", "train", "--drop-path", "-1"], "--drop-path"),
    (["oneshot", "train", "--sdarts-epsilon", "-1"], "--sdarts-epsilon"),
    (["oneshot", "train", "--few-shot-epochs", "-1"], "--few-shot-epochs"),
    (["oneshot", "train", "--lr", "0"], "--lr"),
    (["oneshot", "study", "--N", "-1"], "--N"),
    (["oneshot", "study", "--C", "-1"], "--C"),
    (["oneshot", "study", "--seed", "-1"], "--seed"),
    (["oneshot", "study", "--finetune-steps", "-1"], "--finetune-steps"),
    (["oneshot", "search", "--checkpoint", "x", "--seed", "-1"], "--seed"),
    (["dashboard", "--port", "70000"], "--port"),
    (["dashboard", "--interval", "0"], "--interval"),
])
def test_numeric_options_checked_before_any_work(argv, option, capsys):
    assert main(argv) == 2
    assert f"argument {option}:" in one_line(capsys.readouterr().err)


def test_unknown_option_names_the_command_and_its_help(capsys):
    assert main(["bench", "--colour", "red"]) == 2
    assert one_line(capsys.readouterr().err) == ("nasforge bench: error: unrecognized arguments: --colour red "
                                                 "(see nasforge bench --help)")
    assert main(["surrogate", "fit", "--out", "o", "--colour"]) == 2
    assert one_line(capsys.readouterr().err).startswith("nasforge surrogate fit: error: unrecognized arguments: "
                                                        "--colour (see nasforge surrogate fit --help)")
    assert main(["--colour"]) == 2
    assert one_line(capsys.readouterr().err) == "nasforge: error: unrecognized arguments: --colour (see nasforge --help)"


def renamed_in_docs() -> set[tuple[str, str]]:
    """(command, old option) of each row of the "Renamed options" table of docs/cli.md."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text()
    table = text.split("## Renamed options", 1)[1].split("\n## ", 1)[0]
    pairs = set()
    for command, old in re.findall(r"^\| `([a-z ]+)` \| (.+?) \|", table, flags=re.M):
        pairs |= {(command, option) for option in re.findall(r"(?<![\w-])--?[a-z][\w-]*\*?", old)}
    return pairs


def test_renamed_options_match_the_docs():
    from nasforge.cli import RENAMED

    assert renamed_in_docs() == {(command, old) for command, names in RENAMED.items() for old in names}


REQUIRED = {"surrogate eval": ["a"], "surrogate info": ["a"], "surrogate fit": ["--out", "o"], "resume": ["S"],
            "trials": ["S"]}


@pytest.mark.parametrize("command, old", sorted(renamed_in_docs()))
def test_renamed_option_suggests_the_new_one(command, old, capsys):
    from nasforge.cli import RENAMED

    given = old.replace("*", "epochs")
    assert main([*command.split(), *REQUIRED.get(command, []), given, "1"]) == 2
    new = RENAMED[command][old].replace("*", "epochs")
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"nasforge {command}: error: unrecognized arguments: {given} 1")
    assert line.endswith(f"; {given} is now {new} (see nasforge {command} --help)")


OUR_COMMANDS = ["bench", "search", "studies", "status", "trials", "resume", "delete", "predictors eval", "surrogate fit",
                "surrogate eval", "surrogate info", "report", "dashboard", "export", "oneshot train", "oneshot search",
                "oneshot study"]


def command_parser(command: str):
    import argparse

    from nasforge.cli import build_parser

    parser = build_parser()
    for word in command.split():
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[word]
    return parser


@pytest.mark.parametrize("command", OUR_COMMANDS)
def test_help_shows_the_default_of_every_option(command):
    """docs/cli.md: `nasforge COMMAND --help` lists the options with defaults (flags and required ones aside)."""
    parser = command_parser(command)
    formatter = parser._get_formatter()
    missing = [action.option_strings[0] for action in parser._actions
               if action.option_strings and not action.required and action.nargs != 0
               and "default" not in formatter._get_help_string(action).lower()]
    assert not missing, f"nasforge {command} --help shows no default for {missing}"


@pytest.mark.parametrize("command", OUR_COMMANDS)
def test_every_option_is_documented(command):
    """Each option is in docs/cli.md, or for search and oneshot on the page cli.md points to."""
    import re
    from pathlib import Path

    pages = ["cli.md", *{"search": ["training.md", "oneshot.md"]}.get(command, []),
             *(["oneshot.md"] if command.startswith("oneshot") else [])]
    text = "".join((Path(__file__).resolve().parents[1] / "docs" / page).read_text() for page in pages)
    options = [o for action in command_parser(command)._actions for o in action.option_strings
               if o.startswith("--") and o not in ("--help", "--debug")]
    missing = [o for o in options if not re.search(re.escape(o) + r"(?![\w-])", text)]
    assert not missing, f"nasforge {command}: {missing} documented in none of {pages}"


@pytest.mark.parametrize("command", OUR_COMMANDS)
def test_help_shows_no_empty_default_and_names_only_its_own_options(command):
    import re

    parser = command_parser(command)
    assert "(default: )" not in " ".join(parser.format_help().split())
    own = {o for action in parser._actions for o in action.option_strings}
    named = {o for action in parser._actions for o in re.findall(r"(?<![\w-])--[a-z][\w-]*[a-z]", action.help or "")}
    assert named <= own, f"nasforge {command} --help names options it lacks: {sorted(named - own)}"


def test_help_shows_a_default_of_zero(capsys):
    assert main(["surrogate", "fit", "--help"]) == 0
    assert "seed of the hold-out split and the model (default: 0)" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("command", [["studies"], ["status", "s"], ["trials", "s"], ["delete", "s", "--yes"],
                                     ["resume", "s"]])
def test_no_error_line_shows_a_database_password(capsys, command):
    """Every command's one-line error masks a URL's password (storages name their URL in their messages)."""
    url = "postgresql+psycopg://nf:secretpw@127.0.0.1:1/db"  # nothing listens on port 1
    assert main([*command, "--storage", url]) == 2
    err = one_line(capsys.readouterr().err)
    assert "secretpw" not in err and "nf:***@127.0.0.1:1/db" in err


@pytest.mark.parametrize("command", [["studies"], ["status", "s"], ["trials", "s"], ["resume", "s"],
                                     ["delete", "s", "--yes"], ["report", "s"], ["dashboard"]])
def test_commands_reading_stored_studies_refuse_memory_storage(capsys, command):
    """An in-memory storage ends with its process: 'memory' is refused as search refuses it, not an empty list."""
    assert main([*command, "--storage", "memory"]) == 2
    assert one_line(capsys.readouterr().err).endswith(f"{command[0]}: error: --storage: 'memory' is not a storage "
                                                      "URL (an in-memory storage ends with the process that filled "
                                                      "it); use sqlite:///FILE.db or postgresql://...")


@pytest.mark.parametrize("url", ["postgresql+psycopg://nf:secretpw@host:notaport/db",
                                 "postgresql+psycopg://nf:secretpw@[::1:5432/db"])
def test_a_url_whose_port_is_no_number_is_one_line(capsys, url):
    assert main(["studies", "--storage", url]) == 2
    err = one_line(capsys.readouterr().err)
    assert "bad storage URL" in err and "port is not a number" in err and "secretpw" not in err


# -- optional packages that are not installed (simulated: sys.modules[name] = None makes its import fail) -------
def test_a_missing_optional_package_is_one_line_naming_its_extra(monkeypatch, capsys):
    fail_with(monkeypatch, ModuleNotFoundError("No module named 'plotly'", name="plotly"))
    with pytest.raises(ModuleNotFoundError):  # installed: a missing part of it is no missing extra
        main(["bench"])
    monkeypatch.setitem(sys.modules, "plotly", None)  # not installed
    assert main(["bench"]) == 2
    assert one_line(capsys.readouterr().err) == "nasforge bench: error: this command needs plotly: pip install " \
                                                "'nasforge[report]'"
    fail_with(monkeypatch, ModuleNotFoundError("No module named 'left_pad'", name="left_pad"))
    with pytest.raises(ModuleNotFoundError):  # not an optional package of nasforge: a bug, with its traceback
        main(["bench"])


def test_a_missing_package_in_a_worker_process_is_one_line(monkeypatch, tmp_path, capsys, nb201_table):
    import nasforge.analysis.harness as harness

    def run_trace(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'lightgbm'", name="lightgbm")

    monkeypatch.setattr(harness, "run_trace", run_trace)  # the forked workers see it
    monkeypatch.setitem(sys.modules, "lightgbm", None)  # and the driver finds it not installed
    out = tmp_path / "b"
    assert main(["bench", "--strategies", "random", "--seeds", "2", "--trials", "5", "--workers", "2",
                 "--out", str(out)]) == 2
    assert "pip install 'nasforge[boost]'" in one_line(capsys.readouterr().err)
    assert not out.exists()


def test_storage_without_sqlalchemy(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)
    monkeypatch.delitem(sys.modules, "nasforge.experiment.storage.sql", raising=False)  # imported again, without it
    assert main(["studies", "--storage", f"sqlite:///{tmp_path / 'x.db'}"]) == 2
    assert one_line(capsys.readouterr().err) == ("nasforge studies: error: a sqlite:/// or postgresql:// storage "
                                                 "needs sqlalchemy: pip install 'nasforge[sql]'")
    assert not (tmp_path / "x.db").exists()


def test_bench_strategy_whose_surrogate_needs_lightgbm_is_refused_before_work(monkeypatch, tmp_path, capsys,
                                                                              nb201_table):
    monkeypatch.setitem(sys.modules, "lightgbm", None)
    out = tmp_path / "b"
    assert main(["bench", "--strategies", "random,bananas", "--seeds", "1", "--trials", "12",
                 "--out", str(out)]) == 2
    assert one_line(capsys.readouterr().err) == ("nasforge bench: error: --strategies: strategy 'bananas': "
                                                 "predictor 'lgb' needs lightgbm: pip install 'nasforge[boost]'")
    assert not out.exists()


def test_bench_skips_default_strategies_whose_package_is_missing(monkeypatch, tmp_path, capsys, nb201_table):
    monkeypatch.setitem(sys.modules, "optuna", None)
    assert main(["bench", "--seeds", "1", "--trials", "5", "--out", str(tmp_path / "b")]) == 0
    captured = capsys.readouterr()
    assert ("nasforge bench: note: skipping default strategy optuna_tpe: the Optuna sampler needs optuna: pip install "
            "'nasforge[peers]'") in captured.err
    assert "local_search" in captured.out and "optuna" not in captured.out
    assert main(["bench", "--strategies", "random,optuna_tpe", "--seeds", "1", "--trials", "5",
                 "--out", str(tmp_path / "c")]) == 2  # asked for by name: refused
    assert "nasforge[peers]" in one_line(capsys.readouterr().err)


def test_report_and_dashboard_without_plotly(monkeypatch, tmp_path, capsys, nb201_table):
    out = tmp_path / "b"
    assert main(["bench", "--strategies", "random", "--seeds", "1", "--trials", "5", "--out", str(out)]) == 0
    capsys.readouterr()
    monkeypatch.setitem(sys.modules, "plotly", None)
    assert main(["report", str(out)]) == 2
    assert one_line(capsys.readouterr().err) == ("nasforge report: error: the HTML report needs plotly: pip install "
                                                 "'nasforge[report]'")
    assert not (out / "report.html").exists()
    assert main(["dashboard", "--storage", f"sqlite:///{tmp_path / 'x.db'}", "--port", "0"]) == 2  # not started
    assert one_line(capsys.readouterr().err) == ("nasforge dashboard: error: the dashboard needs plotly: pip install "
                                                 "'nasforge[report]'")
