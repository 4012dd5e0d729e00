"""Stop 44 fixes of the live views: progress line (bests under constraints, ETA, names), status hint, dashboard
marks of dead runs, the studies table header, export's run-folder rule."""

from __future__ import annotations

import io

from nasforge import Study
from nasforge.experiment.progress import ProgressReporter
from nasforge.spaces import get_space

from engine_evaluators import Toy

SPACE = get_space("nb201")


def test_progress_bests_come_from_the_feasible_trials_as_the_front_does(capsys):
    study = Study(SPACE, "mo_random", objectives="acc", seed=0, constraints=["params <= 1"])
    study.optimize(Toy(), n_trials=20, progress=True)
    last = capsys.readouterr().err.splitlines()[-1]
    feasible = [t for t in study.trials if t.metrics["params"] <= 1]
    assert feasible and max(t.metrics["acc"] for t in study.trials) > max(t.metrics["acc"] for t in feasible)
    assert f"| best {study.best_value:.6g} |" in last and study.best_trial.metrics["params"] <= 1
    study = Study(SPACE, "mo_random", objectives=["acc", "params"], directions=["maximize", "minimize"], seed=0,
                  constraints=["acc <= 56"])
    study.optimize(Toy(), n_trials=20, progress=True)
    last = capsys.readouterr().err.splitlines()[-1]
    feasible = [t for t in study.trials if t.metrics["acc"] <= 56]
    assert feasible and max(t.metrics["acc"] for t in study.trials) > 56
    assert (f"| front {len(study.pareto_front())} | best acc {max(t.metrics['acc'] for t in feasible):.6g} "
            f"| best params {min(t.metrics['params'] for t in feasible):.6g} |") in last


def test_status_hint_of_a_dead_run_names_a_factory_off_the_allow_list_and_works(tmp_path, capsys, monkeypatch):
    """Would fail: the hint was "nasforge resume NAME --storage URL", which exits 2 for a factory of the user's."""
    import shlex

    from nasforge.cli import main
    from nasforge.experiment import identity
    from nasforge.experiment import study as study_module

    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(SPACE, "random", objectives="acc", seed=0, name="own", storage=url)
    study.optimize(Toy(), 2, evaluator_spec={"factory": "engine_evaluators:make_toy", "kwargs": {}})
    study.ask()
    study.close()
    for module in (identity, study_module):  # the trial asked here counts as of a dead process
        monkeypatch.setattr(module, "process_gone", lambda worker: True)
    assert main(["status", "own", "--storage", url]) == 0
    command = f"nasforge resume own --storage {url} --evaluator engine_evaluators:make_toy"
    assert f"(its process is gone: {command} re-runs it)" in capsys.readouterr().out
    assert main([*shlex.split(command)[1:], "--no-progress"]) == 0
    assert [t.state.value for t in Study.load("own", url).trials] == ["COMPLETE"] * 3


def test_dashboard_flags_running_trials_whose_process_is_gone_as_status_does(tmp_path, monkeypatch):
    """Would fail: index and study page said "1 RUNNING" forever after the run died; the page's version did not
    change either, so an open page kept its views."""
    import pytest

    pytest.importorskip("plotly")
    from html import unescape

    from nasforge.analysis.dashboard import Dashboard
    from nasforge.analysis.studyreport.data import study_version
    from nasforge.experiment import identity

    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(SPACE, "random", objectives="acc", seed=0, name="own", storage=url)
    study.optimize(Toy(), 2, evaluator_spec={"factory": "engine_evaluators:make_toy", "kwargs": {}})
    study.ask()
    app = Dashboard(url)
    alive_index, alive_body = app.index_section(), app.body("own")
    with app.storage() as storage:
        alive_version = study_version(storage, "own")
    assert "1 RUNNING" in alive_index[1] and "gone" not in alive_index[1] + alive_body
    monkeypatch.setattr(identity, "process_gone", lambda worker: True)
    index, body = app.index_section(), unescape(app.body("own"))
    with app.storage() as storage:
        assert study_version(storage, "own") != alive_version  # an open page fetches the new views
    assert index[0] != alive_index[0] and "1 RUNNING (1 of a process that is gone)" in index[1]
    assert (f"1 RUNNING (1 of a process that is gone: trial 2; nasforge resume own --storage {url} --evaluator "
            "engine_evaluators:make_toy re-runs it)") in body
    study.close()


def test_studies_table_calls_complete_trials_complete_as_its_csv_and_status_do(tmp_path, capsys, monkeypatch):
    """Would fail: the table's header was "done", which the progress line uses for every finished trial."""
    from nasforge.cli import main

    monkeypatch.setenv("COLUMNS", "200")
    url = f"sqlite:///{tmp_path / 's.db'}"
    Study(SPACE, "random", objectives="acc", seed=0, name="s", storage=url).optimize(Toy(), 2).close()
    assert main(["studies", "--storage", url]) == 0
    lines = capsys.readouterr().out.splitlines()  # the counts in one column, as status gives them (fix 46)
    assert "done" not in lines[0].split() and "complete 2" in lines[2]


def test_export_of_a_server_run_folder_beside_a_default_storage_study_names_both_while_status_reads_the_db(
        tmp_path, capsys, monkeypatch):
    """Status reads ./nasforge.db's study NAME before the run folder nasforge-runs/NAME of a PostgreSQL study;
    export, where a run folder wins, refuses naming both studies' commands (tests/test_fix44_rege1.py)."""
    import json

    from nasforge.cli import main

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "nasforge-runs" / "foo"
    folder.mkdir(parents=True)
    for name in ("foo", "bar"):
        (folder.parent / name).mkdir(exist_ok=True)
        (folder.parent / name / "summary.json").write_text(json.dumps(
            {"name": name, "resume_command": f"nasforge resume {name} --storage postgresql://u@h/db"}))
    study = Study(SPACE, "random", objectives="acc", seed=0, name="foo", storage="sqlite:///nasforge.db")
    study.tell(study.ask(), 0.5)
    study.close()
    assert main(["status", "foo"]) == 0 and "study 'foo' (sqlite:///nasforge.db)" in capsys.readouterr().out
    assert main(["export", "foo", "--out", "m.onnx"]) == 2
    err = capsys.readouterr().err
    assert "is both the run folder of a study stored in a database server and a study in sqlite:///nasforge.db" \
        in err and "nasforge export foo --storage sqlite:///nasforge.db" in err
    for command in ("status", "export"):  # no study bar in ./nasforge.db: the server run folder is named
        assert main([command, "bar", *(["--out", "m.onnx"] if command == "export" else [])]) == 2
        assert f"nasforge {command} bar --storage postgresql://u@h/db" in capsys.readouterr().err


class Terminal(io.StringIO):
    def isatty(self):
        return True


def _frames(text: str) -> list[str]:
    """The bar's frames as shown, without escape sequences."""
    import re

    plain = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", text)
    return [frame for frame in re.split(r"\r|\n", plain) if frame.strip()]


def test_narrow_terminal_bar_keeps_done_total_and_the_eta(monkeypatch):
    """Would fail: at 80 columns the bar dropped done/total and the time remaining before the name and status."""
    for width in ("80", "40"):
        monkeypatch.setenv("COLUMNS", width)
        out = Terminal()
        bar = ProgressReporter("search-nb201-digits-20261206-173500", total=40, stream=out)
        bar.begin()
        bar.update(40, 0, 0, {"val_acc": 82.1234, "test_acc": 81.5}, front=1)
        bar.close()
        last = _frames(out.getvalue())[-1]
        assert "40/40" in last and "eta 0m00s" in last and "search-" in last and len(last) <= int(width)


def test_study_names_reach_the_terminal_as_text_not_markup_or_bidi_overrides(capsys):
    """Would fail: a name run[/x] crashed optimize(progress=True) on a terminal (rich MarkupError), and a U+202E
    in a name reached the terminal raw in the plain lines."""
    out = Terminal()
    bar = ProgressReporter("run[/x]", total=1, stream=out)
    bar.update(1, 0, 0, 1.0)
    bar.close()
    assert "run[/x]" in _frames(out.getvalue())[-1]
    study = Study(SPACE, "random", objectives="acc", seed=0, name="\u202eevil")
    study.optimize(Toy(), 2, progress=True)
    err = capsys.readouterr().err
    assert "[\\u202eevil] done 2/2" in err and "\u202e" not in err


def test_eta_starts_once_the_workers_are_ready_and_stops_at_the_timeout(monkeypatch):
    """Would fail: the ETA counted the workers' start-up as trial time, ran past the timeout, and the last line of
    a run the timeout stopped still gave an ETA (tests/test_fix44_rege3.py: the time to the timeout in its place)."""
    import types

    from nasforge.experiment import progress

    clock = types.SimpleNamespace(t=0.0)
    monkeypatch.setattr(progress, "time", types.SimpleNamespace(monotonic=lambda: clock.t))
    out = io.StringIO()
    bar = ProgressReporter("s", total=20, stream=out, min_interval=0.0)
    clock.t = 30.0  # the workers start
    bar.begin(deadline=30.0 + 100.0)
    bar.update(0, 0, 1, None)
    clock.t = 40.0
    bar.update(1, 0, 1, 1.0)
    clock.t = 50.0
    bar.update(2, 0, 1, 1.0)
    clock.t = 125.0
    bar.update(9, 0, 1, 1.0)
    bar.close("timeout")
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("| elapsed 0m00s | eta ? (timeout in 1m40s)")
    assert lines[2].endswith("| elapsed 0m20s | timeout in 1m20s")  # 10 s a trial, 18 left: 3m00s, but 80 s left
    assert lines[3].endswith("| timeout in 0m05s")
    assert lines[4].startswith("[s] done 9/20") and lines[4].endswith("| elapsed 1m35s | stopped: timeout")


def test_a_run_the_timeout_stopped_says_so_on_its_last_line(capsys):
    import re

    study = Study(SPACE, "random", objectives="acc", seed=0)
    study.optimize(Toy(sleep=0.2), n_trials=100, timeout=1.0, progress=True)
    lines = capsys.readouterr().err.splitlines()
    assert lines[-1].startswith(f"[study] done {len(study.trials)}/100") and lines[-1].endswith("| stopped: timeout")
    assert all(re.search(r"\| (timeout in 0m01s|timeout: finishing 1 trial|timeout reached)$", line)
               for line in lines[1:-1])  # 100 trials of 0.2 s: each ETA is past the timeout
    study.optimize(Toy(), n_trials=2, timeout=60.0, progress=True)  # done before its timeout: an ETA, no stop
    assert capsys.readouterr().err.splitlines()[-1].endswith("| eta 0m00s")
