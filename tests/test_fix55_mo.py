"""Fixes of round 55 in multi-objective search (status of a constrained front)."""

from __future__ import annotations

import json

from nasforge import Result, Study, get_space
from nasforge.cli import main

SPACE = get_space("chain", layers=[["a", "b", "c"], ["x", "y"]])


def _constrained(tmp_path, bound: str) -> str:
    """A stored two-objective study of 6 trials under ``bound`` on params (params 1..6, acc 60..65); its URL."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(SPACE, "nsga2", objectives=["acc", "params"], directions=["max", "min"], seed=0, storage=url,
                  name="mo", constraints=[bound])
    count = iter(range(6))

    def evaluate(arch):
        k = next(count)
        return Result(metrics={"acc": 60.0 + k, "params": 1.0 + k})

    study.optimize(evaluate, n_trials=6)
    return url


def test_status_says_a_front_of_only_infeasible_trials_is_the_least_violating_one(tmp_path, capsys):
    """Would fail before: 'pareto front: 1 trial' listed an infeasible trial as if it met the constraints."""
    url = _constrained(tmp_path, "params <= 0.5")
    assert main(["status", "mo", "--storage", url]) == 0
    out = capsys.readouterr().out
    assert "constraints params <= 0.5: 6 of 6 complete trials infeasible" in out
    assert "pareto front: 1 trial (none feasible: the least-violating trials)" in out
    assert main(["status", "mo", "--storage", url, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["pareto_front"] == 1  # the JSON is unchanged


def test_status_of_a_feasible_front_adds_nothing(tmp_path, capsys):
    url = _constrained(tmp_path, "params <= 3")
    assert main(["status", "mo", "--storage", url]) == 0
    out = capsys.readouterr().out
    assert "pareto front: 3 trials\n" in out and "none feasible" not in out


def test_status_says_why_a_search_jobs_front_is_empty(tmp_path, capsys):
    """A `nasforge search` job's front holds only feasible trials: with none it is empty, and status says why."""
    from nasforge.pipelines import search as pipeline

    url = _constrained(tmp_path, "params <= 0.5")
    Study.load("mo", url).set_user_attr(pipeline.FEASIBLE_ONLY, True)
    assert main(["status", "mo", "--storage", url]) == 0
    assert "pareto front: 0 trials (none feasible)\n" in capsys.readouterr().out
