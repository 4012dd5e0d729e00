"""Report fixes of review 43: feasible-first best trial with one objective, space settings compared, recorded
model diagnostics checked, the progress line carried to the last trial spent, compact progress hovers."""

from __future__ import annotations

import pytest

from nasforge import Result, Study, get_space
from nasforge.analysis.studyreport import from_study, load_study_data, open_readonly, render_study
from nasforge.cli import main
from nasforge.exceptions import UsageError
from nasforge.spaces import ChainSpace
from nasforge.strategies import get_strategy

from report_pages import figures

pytest.importorskip("plotly")


def constrained_study(url: str = "memory") -> Study:
    """One objective (acc, maximized) under ``cost <= 5``: trial 2 is the best acc but breaks it; trial 1 is
    the best feasible one; trial 3 (feasible, worse) finishes last."""
    space = get_space("nb201")
    strategy = get_strategy("mo_random", space, seed=0, constraints=["cost <= 5"])
    study = Study(space, strategy, objectives="acc", seed=0, name="c", storage=url)
    for acc, cost in ((50.0, 1.0), (70.0, 2.0), (90.0, 9.0), (60.0, 3.0)):
        trial = study.ask()
        study.tell(trial, Result(metrics={"acc": acc, "cost": cost}))
    return study


def test_single_objective_best_trial_is_feasible_first(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    study = constrained_study(url)
    assert study.best_trial.number == 1 and study.best_value == 70.0
    data = load_study_data(open_readonly(url), "c")
    assert data.best().number == 1
    progress = figures(render_study(data))["nf-plot-progress-trials"]["data"][0]
    assert max(progress["y"]) == 70.0  # the infeasible 90 is never the best so far
    assert main(["report", "c", "--storage", url, "--out", str(tmp_path / "r.html"), "--optimum", "80"]) == 0
    assert main(["status", "c", "--storage", url]) == 0
    assert "best: trial 1 acc=70" in capsys.readouterr().out


def test_single_objective_with_no_feasible_trial_ranks_the_least_violating():
    space = get_space("nb201")
    study = Study(space, get_strategy("mo_random", space, seed=0, constraints=["cost <= 0"]), objectives="acc")
    for acc, cost in ((50.0, 1.0), (90.0, 9.0), (40.0, 1.0)):
        study.tell(study.ask(), Result(metrics={"acc": acc, "cost": cost}))
    assert study.best_trial.number == 0
    page = render_study(study)
    assert "No complete trial meets the constraints yet." in page


def test_studies_of_different_spaces_with_one_name_are_not_compared():
    def chain_study(layers) -> Study:
        study = Study(ChainSpace(layers), "random", objectives="acc", seed=0)
        for _ in range(3):
            study.tell(study.ask(), Result(metrics={"acc": 1.0}))
        return study

    small = chain_study([["a", "b"], ["a", "b"]])
    other = chain_study([["a", "b", "c"]] * 3)
    with pytest.raises(UsageError, match="share their space: .* both name space 'chain', but its settings differ"):
        render_study([small, other])
    assert "2 studies of space chain overlaid" in render_study([small, chain_study([["a", "b"], ["a", "b"]])])


@pytest.mark.parametrize("recorded, reason", [
    ({"actual": [1, 2, 3], "predicted": [1.1, 2.2, 2.9], "rmse": "n/a"}, "has score 'rmse' 'n/a', not a number"),
    ({"actual": [1, 2, 3], "predicted": [1.1, 2.2], "lower": [0, 1, 2], "upper": [2, 3, 4]},
     "has 2 values in 'predicted' but 3 in 'actual'"),
    ({"actual": ["a", "b"], "predicted": [1, 2]}, "has a non-number in 'actual': 'a'"),
    ({"actual": [1, 2], "predicted": [1, 2], "upper": "x", "lower": [0, 1]}, "has 'upper' 'x', not a list"),
])
def test_unusable_recorded_model_diagnostics_skip_the_view_with_the_reason(recorded, reason):
    from html import escape

    study = Study(get_space("nb201"), "random", objectives="acc", seed=0)
    for _ in range(3):
        study.tell(study.ask(), Result(metrics={"acc": 1.0}))
    study.set_user_attr("model_diagnostics", recorded)
    page = render_study(study)
    assert escape(f'No model diagnostics: the study\'s user_attrs["model_diagnostics"] {reason}') in page


def test_progress_line_runs_to_the_last_trial_spent_and_has_a_point_per_change():
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0)
    values = [50.0, 40.0, 60.0, 60.0, 55.0, 70.0, 65.0] + [50.0] * 40
    for value in values:
        study.tell(study.ask(), Result(metrics={"acc": value}))
    for _ in range(3):  # spent budget after the last complete trial
        study.tell(study.ask(), Result(metrics={}, status="pruned"))
    figs = figures(render_study(study))
    line = figs["nf-plot-progress-trials"]["data"][0]
    # first point, each new best (trials 3 and 6), the last complete trial (47), then the last pruned one (50)
    assert line["x"] == [1, 3, 6, 47, 50] and line["y"] == [50.0, 60.0, 70.0, 70.0, 70.0]
    assert [c[0] for c in line["customdata"]] == [0, 2, 5, 5, 5] and line["text"] == ["0", "2", "5", "46", "49"]
    timed = figs["nf-plot-progress-time"]["data"][0]
    last = max(t.finished_at for t in study.trials)
    assert timed["x"][-1] == pytest.approx(last - min(t.started_at for t in study.trials))


def test_importance_forest_fits_a_fixed_random_subset_of_a_large_study(monkeypatch):
    from sklearn.ensemble import RandomForestRegressor

    from nasforge.analysis.studyreport import importance, views

    study = Study(get_space("nb201"), "random", objectives="acc", seed=0)
    for k in range(40):
        study.tell(study.ask(), Result(metrics={"acc": float(k % 7)}))
    fitted = []
    fit = RandomForestRegressor.fit
    monkeypatch.setattr(RandomForestRegressor, "fit", lambda self, X, y: fitted.append(len(X)) or fit(self, X, y))
    monkeypatch.setattr(importance, "MAX_FOREST_ROWS", 25)
    monkeypatch.setattr(views, "MAX_FOREST_ROWS", 25)
    first = render_study(study)
    assert fitted == [25] and "fitted on 25 of the 40 complete trials, drawn at random with a fixed seed" in first
    data = from_study(study)  # a fixed seed: the same subset, the same page every time
    assert importance.forest_importance(data, "acc") == importance.forest_importance(data, "acc")


def test_bench_folder_without_curve_rows_is_one_line(tmp_path, capsys):
    import json

    (tmp_path / "bench.json").write_text(json.dumps({"benchmark": "nb201", "summary": []}))
    (tmp_path / "bench_curves.csv").write_text("strategy,evaluations,regret_mean\n")
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("bench_curves.csv: no data rows (only the header): the bench wrote no curve")
    assert len(err.splitlines()) == 1


def test_regret_matrix_names_traces_that_are_not_a_list():
    import numpy as np

    from nasforge.analysis.regret import RunTrace, regret_matrix

    trace = RunTrace(np.array([1.0, 2.0]), np.array([1.0, 2.0]), [0, 1])
    with pytest.raises(UsageError, match="traces must be a list of RunTrace .*got RunTrace"):
        regret_matrix(trace, 3.0, 2)
    with pytest.raises(UsageError, match="traces must be a list of RunTrace .*got list"):
        regret_matrix([[1.0, 2.0]], 3.0, 2)
    assert regret_matrix((trace,), 2.0, 2)[0].tolist() == [[1.0, 0.0]]


def test_model_diagnostics_fit_on_the_last_results_only(monkeypatch):
    pytest.importorskip("nasforge.strategies.model_based")
    from nasforge.analysis import studyreport
    from nasforge.analysis.studyreport import model_diagnostics

    study = Study(get_space("nb201"), "model_based", objectives="acc", seed=0, n_initial=4)
    for k in range(10):
        study.tell(study.ask(), Result(metrics={"acc": float(k)}))
    found = model_diagnostics(from_study(study), max_history=6)
    assert found["history"] == [6, 10] and sorted(found["actual"]) == [4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    monkeypatch.setattr(studyreport.model_diagnostics, "__defaults__", (40, 6))
    assert "fitted on the others of the last 6 of 10 results" in render_study(study)
