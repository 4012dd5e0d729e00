"""A newcomer's first hour with the CLI: hints that can be copied and run, help that says what applies, a study
name shown whole, constrained metrics in the trials table, and where to read about evaluator factories."""

from __future__ import annotations

import json
import shlex

import pytest

from nasforge.cli import main
from nasforge.cli.engine import refuse_server_run_folder
from nasforge.exceptions import UsageError
from nasforge.experiment import Study
from nasforge.experiment.storage.urls import sqlite_url
from nasforge.pipelines.search import resume_command
from nasforge.spaces import get_space


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def shared_run(tmp_path, monkeypatch):
    """./nasforge-runs/s1/, the run folder of study 's1' kept in ./shared.db (search --storage sqlite:///shared.db);
    returns that storage's URL."""
    monkeypatch.chdir(tmp_path)
    url = sqlite_url(tmp_path / "shared.db")
    Study(get_space("nb201"), "random", name="s1", storage=url, seed=0).close()
    folder = tmp_path / "nasforge-runs" / "s1"
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({"name": "s1", "resume_command": resume_command("s1", url)}))
    return url


def _hint(err: str) -> list[str]:
    """The command an error's 'run ...' hint gives, as words."""
    return shlex.split(_one_line(err).rpartition(": run ")[2])


@pytest.mark.parametrize("command", [["export", "s1", "--trial", "3", "--format", "torchscript", "--out", "s1.pt"],
                                     ["trials", "s1", "--format", "csv", "--out", "my s1.csv", "--limit", "2"],
                                     ["resume", "s1", "--workers", "2", "--no-progress"],
                                     ["report", "s1", "--out", "r.html", "--optimum", "-1"]])
def test_the_storage_hint_keeps_the_options_given(shared_run, capsys, command):
    """(Given in the parser's order, as the hint gives them.) Would fail: the hint kept only the command and study
    ('nasforge export s1 --storage URL'), without export's required --out, trials' --format/--out, ..."""
    assert main(command) == 2
    hint = _hint(capsys.readouterr().err)
    assert hint[:5] == ["nasforge", command[0], "s1", "--storage", shared_run]
    given = [("--optimum=-1.0" if word == "-1" else word) for word in command[2:] if word != "--optimum"]
    assert hint[5:] == given


def test_the_storage_hint_of_trials_runs_as_asked(shared_run, tmp_path, capsys):
    assert main(["trials", "s1", "--format", "json", "--out", "t.json"]) == 2
    hint = _hint(capsys.readouterr().err)
    assert main(hint[1:]) == 0
    assert json.loads((tmp_path / "t.json").read_text())["name"] == "s1"


def test_the_storage_hint_of_report_writes_the_run_folders_report(shared_run, capsys):
    """Would fail: the hinted 'nasforge report s1 --storage URL' wrote ./report.html, not the folder's own."""
    assert main(["report", "s1"]) == 2
    hint = _hint(capsys.readouterr().err)
    assert hint[5:] == ["--out", "nasforge-runs/s1/report.html", "--overwrite"]


def test_the_storage_hint_from_python_names_the_command_alone(tmp_path):
    """Called from Python (no command line runs) the hint is the command, the study and its storage."""
    url = sqlite_url(tmp_path / "shared.db")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "summary.json").write_text(json.dumps({"name": "s1", "resume_command": resume_command("s1",
                                                                                                                url)}))
    with pytest.raises(UsageError) as info:
        refuse_server_run_folder(tmp_path / "run", "nasforge export")
    assert str(info.value).endswith(f"run nasforge export s1 --storage {url}")


def test_resume_help_says_which_options_a_search_run_takes(capsys, monkeypatch):
    """Would fail: `resume --help` offered --timeout, --pruner, ... as overrides, which a search run always refuses."""
    from nasforge.cli.engine import SEARCH_RESUME_OPTIONS

    monkeypatch.setenv("COLUMNS", "200")  # no option cut at a hyphen
    assert main(["resume", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"A nasforge search run takes only {', '.join(SEARCH_RESUME_OPTIONS)}" in text


def test_studies_shows_a_default_run_name_whole_at_80_columns(tmp_path, monkeypatch, capsys):
    """Would fail: `nasforge studies` cut 'search-nb201-digits-20261207-110420' to 'search-nb20…207-110420' in an
    80-column terminal; the day (and then the space, both in a default name) are left out first."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "80")
    name = "search-nb201-digits-20261207-110420"
    Study(get_space("nb201"), "mo_evolution", name=name, objectives=["val_acc", "latency_ms"],
          directions=["maximize", "minimize"], storage="sqlite:///nasforge.db", seed=0).close()
    assert main(["studies"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["study", "space", "strat.", "objectives", "trials"]
    assert lines[2].split()[0] == name and max(map(len, lines)) <= 80
    assert main(["studies", "--format", "csv"]) == 0  # csv and json keep every column
    assert capsys.readouterr().out.splitlines()[0].endswith(",waiting,created")


def test_the_trials_table_shows_the_constrained_metrics_and_which_trials_break_them(tmp_path, monkeypatch, capsys):
    """Would fail: with --constraints 'params <= 100' the table had no params column and no mark, so the trials
    that status counts infeasible could not be told apart (only CSV/JSON had params)."""
    from nasforge import Result

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    study = Study(get_space("nb201"), "nsga2", name="mo", objectives=["val_acc", "latency_ms"],
                  directions=["maximize", "minimize"], constraints=["params <= 100"], storage="sqlite:///nasforge.db",
                  seed=0)
    for params in (50, 500):
        study.tell(study.ask(), Result(metrics={"val_acc": 0.5, "latency_ms": 1.0, "params": params}))
    study.close()
    assert main(["trials", "mo"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[3:7] == ["val_acc", "latency_ms", "params", "infeasible"]
    assert lines[2].split()[3:7] == ["0.5", "1", "50", "0"]  # feasible: no mark (then cost 0)
    assert lines[3].split()[3:7] == ["0.5", "1", "500", "yes"]


def test_resume_of_a_study_that_recorded_no_evaluator_points_to_the_factory_docs(tmp_path, monkeypatch, capsys):
    """Would fail: "recorded no evaluator; pass --evaluator package.module:callable" said nothing of where the
    factory pattern is explained. The anchor must be a heading of docs/engine.md."""
    import re
    from pathlib import Path

    from nasforge.cli.engine import FACTORY_DOCS

    monkeypatch.chdir(tmp_path)
    study = Study(get_space("nb201"), "random", name="py", objectives="acc", storage="sqlite:///nasforge.db", seed=0)
    study.optimize(lambda arch: {"acc": 1.0}, 1)
    study.set_run_config({**study.run_config, "n_trials_total": 3})  # interrupted: 2 trials left
    study.close()
    assert main(["resume", "py"]) == 2
    assert _one_line(capsys.readouterr().err).endswith(f"(see {FACTORY_DOCS})")
    page, _, anchor = FACTORY_DOCS.partition("#")
    text = (Path(__file__).resolve().parents[1] / page).read_text()
    slugs = {re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
             for line in text.splitlines() if line.startswith("#")}
    assert anchor in slugs


def test_a_hint_to_run_from_the_start_folder_gives_its_output_paths_absolute(tmp_path, monkeypatch, capsys):
    """Review regression c: with a relative recorded storage the hint is run from the folder the run started in, so
    report's added --out and the user's own relative --out must not be relative to the folder they are in now."""
    monkeypatch.chdir(tmp_path)
    Study(get_space("nb201"), "random", name="s1", storage="sqlite:///shared.db", seed=0).close()
    folder = tmp_path / "nasforge-runs" / "s1"
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({"name": "s1",
                                                     "resume_command": resume_command("s1", "sqlite:///shared.db")}))
    (tmp_path / "other").mkdir()
    monkeypatch.chdir(tmp_path / "other")
    for command, out in ((["report", "../nasforge-runs/s1"], folder / "report.html"),
                         (["trials", "../nasforge-runs/s1", "--out", "t.csv"], tmp_path / "other" / "t.csv")):
        assert main(command) == 2
        err = _one_line(capsys.readouterr().err)
        assert "(from the folder the run was started in" in err
        hint = shlex.split(err.rpartition(": run ")[2].partition(" (from the folder")[0])
        assert hint[hint.index("--out") + 1] == str(out)
