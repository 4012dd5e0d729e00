"""Multi-objective fixes of stop 45: a search run's report and progress show no front while no trial meets its
constraints, ts_hvi/qnehvi objective counts named in the CLI, contradictory constraints refused up front, the
reference= units warning, hypervolume's reference checks and the constraint parse message."""

from __future__ import annotations

import pytest

from nasforge import Result, Study, get_space
from nasforge.experiment.progress import _best_text
from nasforge.experiment.scheduler import _best, _front_size
from nasforge.experiment.stages import FEASIBLE_ONLY


def constrained_study(feasible_only: bool, bound: float = 1.0, n: int = 6) -> Study:
    """A two-objective nb201 study under ``params <= bound`` (every trial has params >= 2: none feasible)."""
    attrs = {FEASIBLE_ONLY: True} if feasible_only else {}
    study = Study(get_space("nb201"), "nsga2", objectives=["acc", "params"], directions=["max", "min"], seed=0,
                  constraints=[f"params <= {bound}"], user_attrs=attrs)
    for k in range(n):
        trial = study.ask()
        study.tell(trial, Result(metrics={"acc": float(k), "params": float(2 + (k * 7) % 5)}))
    return study


def test_report_of_a_search_run_with_no_feasible_trial_shows_no_front():
    """Would fail: the report listed the least-violating (infeasible) trial as the Pareto set ("Pareto set: 1
    trial") while status, front.json and summary.json said none."""
    pytest.importorskip("plotly")
    from nasforge.analysis.studyreport import from_study, render_study

    data = from_study(constrained_study(feasible_only=True))
    assert data.front() == []
    page = render_study(data)
    assert "Pareto set: none feasible (of 6 complete; 6 complete trials break the constraints)" in page
    assert "No complete trial yet" not in page
    assert "0 Pareto-optimal of 6 complete trials" in page


def test_python_api_study_keeps_the_least_violating_front():
    """Study.pareto_front()'s documented fallback (and so a Python study's report) is unchanged."""
    pytest.importorskip("plotly")
    from nasforge.analysis.studyreport import from_study

    study = constrained_study(feasible_only=False)
    assert study.pareto_front()
    assert [t.number for t in from_study(study).front()] == [t.number for t in study.pareto_front()]
    assert _front_size(study) == len(study.pareto_front())
    assert _best(study)


def test_progress_of_a_search_run_with_no_feasible_trial_says_none_feasible():
    """Would fail: the progress line said 'front 1 | best acc .. | best params ..' of infeasible trials."""
    study = constrained_study(feasible_only=True)
    assert study.pareto_front()  # the API's least-violating fallback is still there
    assert _front_size(study) == "none feasible"
    assert _best(study) == {}
    assert _best_text(_best(study), _front_size(study)) == "front none feasible"
    feasible = constrained_study(feasible_only=True, bound=3.0)
    assert _front_size(feasible) == len([t for t in feasible.pareto_front() if t.metrics["params"] <= 3])
    assert _best_text(_best(feasible), _front_size(feasible)).startswith(f"front {_front_size(feasible)} | best acc")
