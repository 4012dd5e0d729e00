"""Multi-objective fixes of stop 51: a constraint bound that overflows to infinity is refused up front, the
trials exports say which trials break the constraints, and the fallback front (nothing feasible) holds no trial
that another least-violating one dominates."""

from __future__ import annotations

import pytest

from nasforge import Result, Study, get_space
from nasforge.exceptions import UsageError
from nasforge.experiment.stages import FEASIBLE_ONLY
from nasforge.pareto import non_dominated_mask, non_dominated_sort
from nasforge.strategies.constraints import parse_constraints


def constrained_study(bound: float = 1.0, attrs: dict | None = None, storage: str = "memory") -> Study:
    """Two objectives (acc max, params min) under ``params <= bound``; six trials with params 2, 2, 2, 3, 3, 4."""
    study = Study(get_space("nb201"), "nsga2", objectives=["acc", "params"], directions=["max", "min"], seed=0,
                  constraints=[f"params <= {bound}"], user_attrs=attrs or {}, storage=storage, name="c")
    for acc, params in [(9.7, 2), (73.5, 2), (50.0, 2), (80.0, 3), (90.0, 3), (95.0, 4)]:
        trial = study.ask()
        study.tell(trial, Result(metrics={"acc": acc, "params": float(params)}))
    return study


@pytest.mark.parametrize("spec", ["params >= 1e400", "params <= -1e400", "params <= 1e400"])
def test_a_bound_that_overflows_is_refused_when_the_study_is_created(spec):
    """Would fail: 1e400 parsed as inf; every trial then failed with a NaN violation (or, for '<= 1e400', the
    constraint held for every trial) instead of a one-line refusal."""
    with pytest.raises(UsageError, match=r"^bad bound in constraint 'params [<>]= -?inf': not a finite number"):
        Study(get_space("nb201"), "nsga2", objectives=["acc", "params"], directions=["max", "min"], constraints=[spec])
    assert parse_constraints([spec])[0].bound in (float("inf"), float("-inf"))  # a stored study still loads


def test_cli_search_refuses_an_overflowing_bound_before_training(tmp_path, capsys):
    from nasforge.cli import main

    code = main(["search", "--constraints", "params >= 1e400", "--trials", "2", "--retrain", "0",
                 "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("nasforge search: error: --constraints: bad bound in constraint 'params >= inf': not a")
    assert "\n" not in err
    assert not (tmp_path / "run").exists()


def test_fallback_front_keeps_only_the_non_dominated_least_violating_trials():
    """Would fail: with nothing feasible the front held every trial of the least violation (params 2), the 9.7 and
    50.0 ones included, which the 73.5 one dominates (same params, higher acc)."""
    study = constrained_study()
    assert [t.metrics["acc"] for t in study.pareto_front()] == [73.5]


def test_status_and_report_show_the_same_fallback_front(tmp_path):
    from nasforge.analysis.studyreport import from_study

    study = constrained_study(storage=f"sqlite:///{tmp_path / 's.db'}")
    assert [t.metrics["acc"] for t in from_study(study).front()] == [73.5]


def test_strategies_keep_ranking_every_least_violating_point_alike():
    """The strategies' selection (non_dominated_sort's rank 0, non_dominated_mask's default) is unchanged, so
    stored studies replay the same proposals."""
    points, violation = [[9.7, -2], [73.5, -2], [80.0, -3]], [1.0, 1.0, 2.0]
    assert non_dominated_mask(points, violation=violation).tolist() == [True, True, False]
    assert non_dominated_sort(points, violation=violation).tolist() == [0, 0, 1]
    assert non_dominated_mask(points, violation=violation, least_violated_front=True).tolist() == [False, True, False]


def test_a_search_job_started_before_the_feasible_only_rule_keeps_its_retrain_front():
    """A job without FEASIBLE_ONLY chose its retrains from every least-violating trial: resuming it keeps them."""
    from nasforge.pipelines.search import feasible_front

    old = constrained_study()
    assert [t.metrics["acc"] for t in feasible_front(old)] == [9.7, 73.5, 50.0]
    assert feasible_front(constrained_study(attrs={FEASIBLE_ONLY: True})) == []
    feasible = constrained_study(bound=3.0)
    assert [t.metrics["acc"] for t in feasible_front(feasible)] == [73.5, 90.0]


def trials_export(study: Study, url: str, fmt: str, capsys) -> str:
    from nasforge.cli import main

    capsys.readouterr()
    assert main(["trials", study.name, "--storage", url, "--format", fmt]) == 0
    return capsys.readouterr().out


def test_trials_csv_and_json_say_which_trials_break_the_constraints(tmp_path, capsys):
    """Would fail: the table's infeasible column was missing from --format csv and json, which docs/engine.md
    says hold every field."""
    import csv
    import io
    import json

    url = f"sqlite:///{tmp_path / 's.db'}"
    study = constrained_study(bound=3.0, storage=url)
    failed = study.ask()
    study.tell(failed, Result(status="failed", error="boom"))
    expected = {"0": "False", "1": "False", "2": "False", "3": "False", "4": "False", "5": "True", "6": ""}
    rows = list(csv.DictReader(io.StringIO(trials_export(study, url, "csv", capsys))))
    assert list(rows[0])[-1] == "infeasible"
    assert {r["number"]: r["infeasible"] for r in rows} == expected
    data = json.loads(trials_export(study, url, "json", capsys))
    assert {str(t["number"]): t["infeasible"] for t in data["trials"]} == {
        k: {"True": True, "False": False, "": None}[v] for k, v in expected.items()}
    table = trials_export(study, url, "table", capsys)
    assert "infeasible" in table


def test_trials_exports_without_constraints_have_no_infeasible_field(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(get_space("nb201"), "mo_random", objectives=["acc", "params"], directions=["max", "min"], seed=0,
                  storage=url, name="u")
    study.tell(study.ask(), Result(metrics={"acc": 1.0, "params": 2.0}))
    assert "infeasible" not in trials_export(study, url, "csv", capsys)
    assert "infeasible" not in trials_export(study, url, "json", capsys)


def test_an_older_search_jobs_status_report_and_progress_show_the_front_it_retrains(tmp_path):
    """Review regression j: a search job without FEASIBLE_ONLY and nothing feasible retrains (front.json) every
    least-violating trial, but status, the report and the progress line showed only the non-dominated one."""
    from nasforge.analysis.studyreport import from_study
    from nasforge.experiment.scheduler import _front_size

    old_job = constrained_study(attrs={"pipeline": "search"}, storage=f"sqlite:///{tmp_path / 'o.db'}")
    assert [t.metrics["acc"] for t in from_study(old_job).front()] == [9.7, 73.5, 50.0]
    assert _front_size(old_job) == 3
    assert _front_size(constrained_study()) == 1  # a Python study: the non-dominated least-violating trial
