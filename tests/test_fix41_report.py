"""Fixes of review 41 of the reports: retrain curves, failed retrains, constraints, the report path, one-point
bench traces, the Pareto caption and objective directions in study lists."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from nasforge import Study, get_space
from nasforge.analysis.studyreport import from_study, render_study
from nasforge.evaluators.base import Result
from nasforge.exceptions import UsageError

from report_pages import figures, op_length_score

pytest.importorskip("plotly")
SPACE = get_space("nb201")


def _study_with_retrain(n: int = 5) -> Study:
    """A single-objective in-memory study of ``n`` search trials and one enqueued stage-2 retrain (WAITING)."""
    study = Study(SPACE, "random", objectives="acc", seed=0)
    for _ in range(n):
        trial = study.ask()
        study.tell(trial, {"acc": op_length_score(trial.arch)})
    best = study.best_trial
    study.enqueue(best.arch, user_attrs={"stage": "retrain", "source_trial": best.number})
    return study


def test_learning_curves_leave_out_stage2_retrains():
    """Would fail without the fix: the retrain's long curve (steps to 151) was drawn among the search curves."""
    study = _study_with_retrain()
    retrain = study.trials[-1]
    study.tell(retrain, {"acc": 99.0})
    data = from_study(study)
    data.trials = [dataclasses.replace(t, intermediate=[(s, 1.0 * s) for s in (
        range(1, 152, 50) if t.number == retrain.number else (1, 2, 3))]) for t in data.trials]
    html = render_study(data)
    names = [trace["name"] for trace in figures(html)["nf-plot-curves"]["data"]]
    assert names == [f"trial {k}" for k in range(5)]
    assert "5 complete trial curves" in html and "1 stage-2 retrain curve left out" in html


def test_a_failed_retrain_is_not_counted_as_retrained():
    """Would fail without the fix: the summary read "retrained (stage 2) | 1 architecture(s)" for a failed retrain."""
    study = _study_with_retrain()
    retrain = study.trials[-1]
    study.tell(retrain, Result.failed("RuntimeError: retrain crashed: CUDA out of memory"))
    html = render_study(study)
    assert "0 of 1 architecture(s) retrained; 1 did not complete: trial 5 (RuntimeError: retrain crashed" in html
    assert "<th>retrain</th>" in html  # beside the best trial
    assert "retrained (" not in str(figures(html)["nf-plot-pareto"]["data"])  # no star


def test_a_completed_retrain_is_counted():
    study = _study_with_retrain()
    study.tell(study.trials[-1], {"acc": 99.0, "test_acc": 90.0})
    html = render_study(study)
    assert "1 of 1 architecture(s) retrained</td>" in html and "<th>retrained test_acc</th>" in html


def _two_objective_data(name: str, constraints: list[str]):
    study = Study(SPACE, "random", objectives=["acc", "cost"], directions=["maximize", "minimize"], seed=0, name=name)
    for _ in range(4):
        trial = study.ask()
        study.tell(trial, {"acc": op_length_score(trial.arch), "cost": float(trial.number)})
    return dataclasses.replace(from_study(study), constraints=constraints)


def test_studies_with_different_constraints_are_not_compared():
    """Would fail without the fix: the hypervolume of all trials and of the feasible ones shared one axis, labelled
    after the first study."""
    free, bound = _two_objective_data("free", []), _two_objective_data("bound", ["cost<=1"])
    for pair, message in (([free, bound], "'free' has no constraints, 'bound' has constraints ['cost<=1']"),
                          ([bound, free], "'bound' has constraints ['cost<=1'], 'free' has no constraints")):
        with pytest.raises(UsageError, match="studies to compare must share constraints: " + re.escape(message)):
            render_study(pair)
    same = _two_objective_data("same", ["cost <= 1.0"])  # the same constraint written another way
    assert "hypervolume of the feasible complete trials" in render_study([bound, same])


def test_report_path_none_is_the_default_and_a_non_path_is_named(tmp_path, monkeypatch):
    """Would fail without the fix: report(study, None) raised a bare TypeError from Path(None)."""
    from nasforge.analysis import report

    monkeypatch.chdir(tmp_path)
    study = _study_with_retrain()
    assert report(study, None).resolve() == tmp_path / "report.html" and (tmp_path / "report.html").is_file()
    for bad in (5, ["a.html"]):
        with pytest.raises(UsageError, match="report path must be a file path \\(a str or a Path\\), got"):
            report(study, bad)


def test_a_one_evaluation_bench_draws_a_dot(tmp_path):
    """Would fail without the fix: a one-point trace in "lines" mode drew nothing (bench --trials 1)."""
    from nasforge.analysis import bench_report

    folder = tmp_path / "bench"
    folder.mkdir()
    (folder / "bench.json").write_text(json.dumps({"benchmark": "toy", "objective": "acc", "direction": "maximize",
                                                   "optimum": 12.0, "seeds": 1, "budget": 2}))
    (folder / "bench_curves.csv").write_text("strategy,evaluations,regret_mean,regret_q25,regret_q75\n"
                                             "random,1,1.5,1.5,1.5\nevolution,1,0.5,0.5,0.5\n"
                                             "evolution,2,0.25,0.2,0.3\n")
    figs = figures(bench_report(folder).read_text())
    means = {t["name"]: t["mode"] for t in figs["nf-plot-bench-eval"]["data"] if "mode" in t and not t.get("fill")}
    assert means == {"random": "lines+markers", "evolution": "lines"}


def test_the_pareto_caption_says_which_trials_break_the_constraints():
    """Would fail without the fix: "Pareto set (2 of 4 complete trials, 2 of them infeasible)" read as 2 of the
    set."""
    free, bound = _two_objective_data("free", []), _two_objective_data("bound", ["cost<=1"])
    assert len(bound.infeasible()) == 2
    front = len(bound.front())
    caption = f"Pareto set: {front} trial{'s' if front != 1 else ''} (of 4 complete; 2 complete trials break the"
    assert caption + " constraints)</h3>" in render_study(bound)
    one = _two_objective_data("one", ["cost<=2"])
    assert "; 1 complete trial breaks the constraints)</h3>" in render_study(one)
    assert f"trial{'s' if len(free.front()) != 1 else ''} (of 4 complete)</h3>" in render_study(free)


def test_study_listings_show_each_objective_with_its_direction(tmp_path, monkeypatch, capsys):
    """Would fail without the fix: `nasforge studies` and the dashboard index listed 'acc' for a maximized and a
    minimized study alike."""
    import csv
    import io
    import sqlite3

    from nasforge.analysis.dashboard import Dashboard
    from nasforge.cli import main

    monkeypatch.chdir(tmp_path)
    url = "sqlite:///s.db"
    for name, direction in (("up", "maximize"), ("down", "minimize")):
        study = Study(SPACE, "random", objectives=["acc", "cost"], directions=[direction, "minimize"], seed=0,
                      name=name, storage=url)
        study.storage.close()
    assert main(["studies", "--storage", url, "--format", "csv"]) == 0
    rows = {r["study"]: r["objectives"] for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert rows == {"up": "acc:max,cost:min", "down": "acc:min,cost:min"}
    html = Dashboard(url).index_section()[1]
    assert "<td>acc:max, cost:min</td>" in html and "<td>acc:min, cost:min</td>" in html
    with sqlite3.connect("s.db") as raw:  # a damaged directions field: the listing still shows the study
        raw.execute("UPDATE nasforge_studies SET directions = '{' WHERE name = 'up'")
    assert main(["studies", "--storage", url, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["objectives"] == "acc:?,cost:?"
    memory = Study(SPACE, "random", objectives="acc", directions="minimize", seed=0, name="m")
    assert [s.objective_specs for s in memory.storage.list_studies()] == [["acc:min"]]


def test_status_counts_the_complete_trials_that_break_the_constraints(tmp_path, capsys):
    """Would fail: nasforge status said nothing of infeasible trials (the report's summary did)."""
    import json

    from nasforge import Study, get_space
    from nasforge.cli import main

    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(get_space("nb201"), "nsga2", objectives=["acc", "cost"], directions=["maximize", "minimize"],
                  seed=0, constraints=["cost <= 2"], name="c", storage=url)
    study.optimize(lambda a: {"acc": float(len(set(a.genotype))), "cost": float(a.genotype.count("none"))}, 12)
    broken = sum(t.metrics["cost"] > 2 for t in study.trials)
    assert main(["status", "c", "--storage", url]) == 0
    assert f"constraints cost <= 2: {broken} of 12 complete trials infeasible" in capsys.readouterr().out
    assert main(["status", "c", "--storage", url, "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["constraints"], info["infeasible"]) == (["cost <= 2"], broken)
    Study(get_space("nb201"), "random", objectives="acc", seed=0, name="u", storage=url).close()
    assert main(["status", "u", "--storage", url, "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith(",best_value,infeasible")  # last, with or without
    Study(get_space("nb201"), "nsga2", objectives=["acc", "cost"], directions=["maximize", "minimize"], seed=0,
          constraints="cost <= 2", name="one", storage=url).close()  # one constraint given as a string
    assert main(["status", "one", "--storage", url]) == 0
    assert "constraints cost <= 2: 0 of 0 complete trials infeasible" in capsys.readouterr().out
