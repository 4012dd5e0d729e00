"""Review 39 of the reports: bench folders beside studies, constrained and multi-fidelity studies, the optimum as
shown, progress hovers, trials past the diagram limit, number display and argument checks."""

from __future__ import annotations

import json
import re

import pytest

from nasforge import Study, get_space
from nasforge.cli import main
from nasforge.exceptions import UsageError

from report_pages import figures, op_length_score

pytest.importorskip("plotly")
SPACE = get_space("nb201")


def _told_study(n: int) -> Study:
    """An in-memory random study of ``n`` complete trials scored by :func:`op_length_score`."""
    study = Study(SPACE, "random", objectives="acc", seed=0)
    for _ in range(n):
        trial = study.ask()
        study.tell(trial, {"acc": op_length_score(trial.arch)})
    return study


def stored_study(name: str, url: str, n: int = 5) -> Study:
    study = Study(SPACE, "random", objectives="acc", seed=0, name=name, storage=url)
    for _ in range(n):
        trial = study.ask()
        study.tell(trial, {"acc": op_length_score(trial.arch)})
    study.storage.close()
    return study


def bench_folder(path) -> None:
    path.mkdir()
    (path / "bench.json").write_text(json.dumps({"benchmark": "toy", "objective": "acc", "direction": "maximize",
                                                 "optimum": 12.0, "seeds": 1, "budget": 2}))
    (path / "bench_curves.csv").write_text("strategy,evaluations,regret_mean\nrandom,1,1.0\nrandom,2,0.5\n")


# -- 1: a bench folder named like a study -----------------------------------------------------------
def test_report_with_storage_reports_the_study_not_a_bench_folder_of_that_name(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    bench_folder(tmp_path / "b1")
    stored_study("b1", "sqlite:///other.db")
    assert main(["report", "b1", "--storage", "sqlite:///other.db", "--out", "r.html"]) == 0
    assert "<title>nasforge study b1</title>" in (tmp_path / "r.html").read_text()
    assert main(["report", "b2", "--storage", "sqlite:///other.db", "--out", "r2.html"]) == 2
    bench_folder(tmp_path / "b2")
    capsys.readouterr()
    assert main(["report", "b2", "--storage", "sqlite:///other.db", "--out", "r2.html"]) == 2
    err = capsys.readouterr().err
    assert "b2 is a 'nasforge bench --out' folder: leave out --storage" in err and "bench.json is missing" not in err


def test_report_of_a_bench_folder_named_like_a_study_of_the_default_storage_is_ambiguous(tmp_path, monkeypatch,
                                                                                         capsys):
    monkeypatch.chdir(tmp_path)
    bench_folder(tmp_path / "b1")
    assert main(["report", "b1", "--out", "bench.html"]) == 0  # no study of that name: the folder
    assert "nasforge bench: toy" in (tmp_path / "bench.html").read_text()
    stored_study("b1", "sqlite:///nasforge.db")
    capsys.readouterr()
    assert main(["report", "b1", "--out", "x.html"]) == 2
    err = capsys.readouterr().err.strip()
    assert "both a 'nasforge bench --out' folder and a study in sqlite:///nasforge.db" in err
    assert "nasforge report ./b1," in err and len(err.splitlines()) == 1 and not (tmp_path / "x.html").exists()
    assert main(["report", "./b1", "--out", "bench2.html"]) == 0  # the folder, named as a path
    assert "nasforge bench: toy" in (tmp_path / "bench2.html").read_text()


# -- 2: the comparison's best of constrained studies ------------------------------------------------
def test_comparison_best_of_constrained_studies_is_feasible():
    from nasforge.analysis.studyreport import from_study, render_study

    datas = []
    for seed in (0, 1):
        study = Study(SPACE, "mo_random", objectives=["acc", "cost"], directions=["maximize", "minimize"], seed=seed,
                      name=f"c{seed}", constraints=["big <= 0"])
        for _ in range(40):
            trial = study.ask()
            acc = op_length_score(trial.arch)
            study.tell(trial, {"acc": acc, "cost": acc, "big": float(acc > 15)})  # the best ones are infeasible
        datas.append(from_study(study))
    html = render_study(datas)
    table = html[html.index('<section id="nf-studies">'):]
    for data in datas:
        feasible = max(t.metrics["acc"] for t in data.complete if t.metrics["big"] == 0)
        assert max(t.metrics["acc"] for t in data.complete) > feasible
        row = re.search(rf"<tr><td>{data.name}</td>(.*?)</tr>", table).group(1)
        assert re.findall(r"<td>([^<]*)</td>", row)[3] == views_number(feasible)


def views_number(value: float) -> str:
    from nasforge.analysis.studyreport.views import number_text

    return number_text(value)


# -- 3: the optimum typed as the report shows it ----------------------------------------------------
def test_optimum_typed_as_shown_is_the_optimum_found(tmp_path, monkeypatch, capsys):
    from nasforge.analysis.studyreport import from_study, render_study

    monkeypatch.chdir(tmp_path)
    study = Study(SPACE, "random", objectives="score", seed=0, name="third", storage="sqlite:///third.db")
    for _ in range(8):
        trial = study.ask()
        study.tell(trial, {"score": op_length_score(trial.arch) / 3})
    best = study.best_value
    shown = views_number(best)
    assert float(shown) != best and float(shown) < best  # rounded down: worse than the best as stored
    study.storage.close()
    assert main(["report", "third", "--storage", "sqlite:///third.db", "--optimum", shown, "--out", "r.html"]) == 0
    curve = figures((tmp_path / "r.html").read_text())["nf-plot-progress-trials"]["data"][0]["y"]
    floor = figures((tmp_path / "r.html").read_text())["nf-plot-progress-trials"]["layout"]["yaxis"]["tickvals"][0]
    assert curve[-1] == floor  # regret 0: drawn on the line labelled 0
    lower = float(shown) - 0.0001  # shown differently: a real gap
    capsys.readouterr()
    assert main(["report", "third", "--storage", "sqlite:///third.db", "--optimum", repr(lower), "--out",
                 "r2.html"]) == 2
    assert f"--optimum {views_number(lower)} is worse than the best score found ({shown}, trial" in \
        capsys.readouterr().err
    with pytest.raises(UsageError, match="worse than the best"):
        render_study(from_study(Study.load("third", "sqlite:///third.db")), optimum=lower)


# -- 4: the progress hover names the incumbent ------------------------------------------------------
def test_progress_points_name_the_trial_holding_the_best_value_drawn():
    from nasforge.analysis.studyreport import from_study, render_study

    study = Study(SPACE, "random", objectives="acc", seed=0)
    for _ in range(30):
        trial = study.ask()
        study.tell(trial, {"acc": op_length_score(trial.arch)})
    data = from_study(study)
    by_number = {t.number: t for t in data.trials}
    for key in ("nf-plot-progress-trials", "nf-plot-progress-time"):
        trace = figures(render_study(data))[key]["data"][0]
        assert "best so far" in trace["hovertemplate"]
        numbers = [c[0] for c in trace["customdata"]]
        assert [by_number[n].metrics["acc"] for n in numbers] == trace["y"]
        assert numbers != trace["text"]  # some point's incumbent is an earlier trial than the one that finished


# -- 5: trials past the diagram limit ---------------------------------------------------------------
def test_trials_past_the_diagram_limit_show_their_text_form(monkeypatch):
    from nasforge.analysis.studyreport import from_study, views

    monkeypatch.setattr(views, "MAX_DIAGRAMS", 3)
    data = from_study(_told_study(6))
    html = views.architecture_view(data)
    templates = dict(re.findall(r'<template id="nf-arch-(\d+)">(.*?)</template>', html, re.S))
    assert len(templates) == 3 and all("<svg" in body for body in templates.values())
    forms = json.loads(re.search(r'id="nf-arch-text">(.*?)</script>', html, re.S).group(1))["trials"]
    assert sorted(map(int, [*templates, *forms])) == list(range(6))  # the others' text form: built on click
    for number, (_, arch, _, pairs) in forms.items():
        assert arch == data.arch_text[int(number)]
        assert views.number_text(data.trials[int(number)].metrics["acc"]) == str(pairs[1])


# -- 6: budgets of multi-fidelity studies -----------------------------------------------------------
def test_multi_fidelity_reports_show_each_trials_budget():
    from nasforge.analysis.studyreport import from_study, render_study, views

    study = Study(SPACE, "hyperband", objectives="acc", seed=0)
    for _ in range(40):
        trial = study.ask()
        epochs = (trial.fidelity or {}).get("epochs", 200)
        study.tell(trial, {"acc": op_length_score(trial.arch) + (5 if epochs < 200 else 0)})  # low budgets look better
    data = from_study(study)
    budgets = {views.budget_text(t) for t in data.complete}
    assert len(budgets) > 1 and None not in budgets
    html = render_study(data)
    scatter = figures(html)["nf-plot-pareto"]["data"]
    assert sorted(trace["name"] for trace in scatter) == sorted(f"budget {b}" for b in budgets)
    for trace in scatter:
        assert all(trace["name"] in c[2] for c in trace["customdata"])  # each hover names its budget
    table = html[html.index('id="nf-trials-table"'):]
    assert "<th>budget</th>" in table and "{&quot;epochs&quot;: " in table
    low = next(t for t in data.complete if t.fidelity != data.best().fidelity)
    template = re.search(rf'<template id="nf-arch-{low.number}">(.*?)</template>', html, re.S).group(1)
    assert f"<td>budget</td><td>{views.escape(views.budget_text(low))}</td>" in template
    assert "Multi-fidelity: these use the complete trials of all" in html


# -- 7: trials prints significant digits ------------------------------------------------------------
def test_trials_prints_small_objectives_to_6_significant_digits(tmp_path, monkeypatch, capsys):
    from nasforge.cli.output import significant_decimals

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    study = Study(SPACE, "random", objectives="loss", directions="minimize", seed=0, name="tiny",
                  storage="sqlite:///nasforge.db")
    for _ in range(5):
        trial = study.ask()
        study.tell(trial, {"loss": op_length_score(trial.arch) * 1e-5})
    study.storage.close()
    capsys.readouterr()
    assert main(["trials", "tiny"]) == 0
    out = capsys.readouterr().out
    for t in study.trials:
        assert views_number(t.metrics["loss"]) in out
    assert " 0.000 " not in out
    assert significant_decimals([{"a": 1.5e9 + 0.5}, {"b": 1e-30}], ["a", "b"]) == {"a": 0, "b": 12}


# -- 8: WAITING trials never started ----------------------------------------------------------------
def test_a_study_of_waiting_trials_only_has_no_wall_time():
    from nasforge.analysis.studyreport import from_study, render_study

    study = Study(SPACE, "random", objectives="acc", seed=0)
    study.enqueue(SPACE.sample(1))
    assert study.trials[0].state.value == "WAITING" and study.trials[0].started_at
    data = from_study(study)
    assert data.wall_seconds() is None and data.first_start() is None
    html = render_study(data)
    assert "no trial started yet" in html and "0.0 s (first start" not in html


# -- 9: learning curves beyond the limit ------------------------------------------------------------
def test_learning_curves_note_says_how_many_curves_are_left_out(monkeypatch):
    from nasforge.analysis.studyreport import from_study, views

    monkeypatch.setattr(views, "MAX_CURVES", 4)
    data = from_study(_told_study(6))
    for t in data.trials:
        t.intermediate = [(1, 1.0), (2, 2.0)]
    html = views.curves_view(data)
    assert "Showing the last 4 of 6 trials&#x27; curves: 4 complete trial curves" in html


# -- 10: regret_matrix's arguments ------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, needle", [
    ({"maximize": "minimize"}, "maximize must be True or False, got 'minimize'"),
    ({"optimum": float("nan")}, "optimum must be a finite number, got nan"),
    ({"optimum": float("inf")}, "optimum must be a finite number, got inf"),
    ({"optimum": "5"}, "optimum must be a finite number, got '5'"),
    ({"budget": -1}, "budget must be an integer >= 1, got -1"),
    ({"budget": 0}, "budget must be an integer >= 1, got 0"),
    ({"budget": 2.5}, "budget must be an integer >= 1, got 2.5"),
    ({"unique_only": 1}, "unique_only must be True or False, got 1"),
])
def test_regret_matrix_refuses_bad_arguments(kwargs, needle):
    import numpy as np

    from nasforge.analysis.regret import RunTrace, regret_matrix

    traces = [RunTrace(np.array([1.0, 3.0, 2.0]), np.zeros(3), ["a", "b", "c"])]
    args = {"optimum": 5.0, "budget": 3, **kwargs}
    with pytest.raises(UsageError, match=re.escape(needle)):
        regret_matrix(traces, **args)
    assert regret_matrix(traces, np.float32(5.0), np.int64(3), maximize=np.bool_(True))[0].shape == (1, 3)


# -- 11: the same study twice -----------------------------------------------------------------------
def test_report_refuses_the_same_study_twice_in_python_as_the_cli_does(tmp_path):
    from nasforge.analysis.studyreport import from_study, load_study_data, open_readonly, render_study, report

    url = f"sqlite:///{tmp_path / 's.db'}"
    stored_study("mixed", url)
    study = Study.load("mixed", url)
    with pytest.raises(UsageError, match="'mixed' .* is given more than once"):
        report([study, study], tmp_path / "x.html")
    with pytest.raises(UsageError, match="given more than once"):
        render_study([from_study(study), load_study_data(open_readonly(url), "mixed")])
    assert not (tmp_path / "x.html").exists()
    memory = []
    for _ in range(2):  # two studies in memory of the same default name are two studies
        other = Study(SPACE, "random", objectives="acc", seed=0)
        other.tell(other.ask(), {"acc": 1.0})
        memory.append(other)
    assert "nasforge: 2 studies" in render_study(memory)
    with pytest.raises(UsageError, match="given more than once"):
        render_study([memory[0], memory[0]])


# -- 12: bench polish -------------------------------------------------------------------------------
def test_bench_report_counts_in_the_singular_and_a_missing_folder_says_so(tmp_path):
    from nasforge.analysis.harness import counted
    from nasforge.analysis.studyreport import bench_report

    bench_folder(tmp_path / "b1")
    html = bench_report(tmp_path / "b1").read_text()
    assert "toy: 1 strategy x 1 seed x 2 evaluations;" in html
    assert counted(3, "strategy") == "3 strategies" and counted("?", "seed") == "? seeds"
    with pytest.raises(UsageError, match=r"nope: no such folder \(of 'nasforge bench --out'\)"):
        bench_report(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="is a file, not a folder"):
        bench_report(tmp_path / "file")
