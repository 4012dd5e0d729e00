"""Guards for logic kept in one place (refactor 38): each helper and the callers that now share it."""

from __future__ import annotations

import numpy as np
import pytest

from nasforge import Study
from nasforge.cli import main
from nasforge.spaces import get_space

from engine_evaluators import Toy


def test_one_regret_tolerance_for_the_harness_check_and_the_report():
    from nasforge.analysis.regret import RunTrace, regret_matrix, within_rounding
    from nasforge.analysis.studyreport.views import regret

    assert regret(19.956, 19.956000000000003, "maximize") == 0.0  # the optimum as a report shows it
    trace = RunTrace(np.array([19.956000000000003]), np.array([1.0]), ["a"])
    assert regret_matrix([trace], 19.956, budget=1)[0][0, 0] < 0  # negative within rounding: no UsageError
    assert within_rounding(-1e-9, 1.0, 0.0) and not within_rounding(-2e-9, 1.0, 0.0)
    assert not within_rounding(float("nan"), 1.0)


def test_a_benchmark_run_and_a_study_report_record_the_same_strategy_settings():
    from nasforge.analysis.harness import check_strategies, strategy_settings
    from nasforge.strategies import get_strategy

    space = get_space("nb201")
    recorded = check_strategies(space, ["evolution"], {"evolution": {"population_size": 7}})["evolution"]
    assert recorded == strategy_settings(get_strategy("evolution", space, seed=0, population_size=7))
    assert recorded["population_size"] == 7


def test_one_permission_denied_message_for_opening_and_using_a_storage():
    sa = pytest.importorskip("sqlalchemy")
    from nasforge.experiment.storage.sql import _rights_denied

    error = _rights_denied("storage 'x'", Exception("permission denied for table t\nDETAIL"),
                           sa.engine.make_url("postgresql://bob@host/db"))
    assert str(error) == ("storage 'x': permission denied for table t (role 'bob' lacks a right: reading needs SELECT "
                          "on nasforge's tables, writing INSERT, UPDATE and DELETE too)")


def test_the_trials_csv_of_no_trial_has_the_library_columns(tmp_path, monkeypatch, capsys):
    from nasforge.experiment._export import trials_columns, trials_dataframe

    monkeypatch.chdir(tmp_path)
    space = get_space("nb201")
    study = Study(space, "random", objectives="acc", seed=0, name="demo", storage="sqlite:///nasforge.db")
    study.optimize(Toy(), 2)
    frame = trials_dataframe(study.trials, lambda t: space.format(t.arch))
    assert list(frame.columns) == trials_columns(study.trials[0].metrics)  # acc and params
    study.storage.close()
    assert main(["trials", "demo", "--format", "csv", "--state", "pruned"]) == 0
    # the header of no trial shown is the study's: its objective, then its other metrics (here params)
    assert capsys.readouterr().out.splitlines() == [",".join(trials_columns(["acc", "params"]))]


def test_predictors_eval_choices_are_the_library_constants(capsys):
    from nasforge.pareto import DIRECTIONS
    from nasforge.predictors.evaluation import SPLITS

    for option, choices in (("--split", SPLITS), ("--direction", DIRECTIONS)):
        assert main(["predictors", "eval", option, "nope"]) == 2
        assert f"choose from {', '.join(map(repr, choices))}" in capsys.readouterr().err


def test_oneshot_study_refuses_any_given_noise_off_digits_hard(tmp_path, capsys):
    """``--noise 0.5`` is RankingConfig's default, which its validate accepts for any data: the CLI refuses it."""
    assert main(["oneshot", "study", "--data", "digits", "--noise", "0.5", "--out", str(tmp_path / "s")]) == 2
    assert "--noise 0.5 applies to digits-hard only, not digits" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
