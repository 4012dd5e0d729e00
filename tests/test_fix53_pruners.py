"""Fixes of review pruners53: a pruner read an evaluator's reports in the direction of the study's first objective,
so TrainingEvaluator's validation accuracy under a minimized first objective (``val_loss``, ``params``) had its best
trials pruned and its worst kept; pruner settings that can never stop a trial were accepted silently."""

from __future__ import annotations

import pytest

from nasforge import Study
from nasforge.exceptions import UsageError
from nasforge.experiment import TrialState
from nasforge.spaces import get_space

SPACE = get_space("nb201")


class _Accuracy:
    """Reports an accuracy curve (higher is better) per call, in order, and returns a loss."""

    report_direction = "maximize"

    def __init__(self, curves: list[list[float]]) -> None:
        self.curves = iter(curves)

    def evaluate(self, arch, fidelity=None, reporter=None):
        curve = next(self.curves)
        for step, value in enumerate(curve, 1):
            reporter.report(step, value)
        return {"val_loss": 100.0 - curve[-1]}


def test_reports_declared_maximized_are_pruned_as_such_under_a_minimized_first_objective():
    """Would fail: the loss study flipped the accuracy curves, so trial 1 (the best) was pruned and 2 kept."""
    study = Study(SPACE, "random", objectives="val_loss", directions="minimize", seed=0)
    evaluator = _Accuracy([[50.0, 60.0, 70.0], [90.0, 95.0, 99.0], [10.0, 10.0, 10.0]])
    study.optimize(evaluator, n_trials=3, pruner={"name": "median", "n_startup_trials": 1}, progress=False)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.PRUNED]
    assert study.trials[2].intermediate == [(1, 10.0)]  # stored raw, as reported


def test_reports_without_a_declared_direction_follow_the_first_objective():
    class Loss(_Accuracy):
        report_direction = None

    study = Study(SPACE, "random", objectives="val_loss", directions="minimize", seed=0)
    evaluator = Loss([[50.0, 40.0, 30.0], [90.0, 95.0, 99.0], [10.0, 10.0, 10.0]])
    study.optimize(evaluator, n_trials=3, pruner={"name": "median", "n_startup_trials": 1}, progress=False)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.PRUNED, TrialState.COMPLETE]


def test_a_resumed_study_prunes_by_the_declared_direction():
    """The stored complete curves reach the pruner oriented the same way as the new reports."""
    study = Study(SPACE, "random", objectives="val_loss", directions="minimize", seed=0)
    study.optimize(_Accuracy([[50.0, 60.0, 70.0]]), n_trials=1, progress=False)
    study.optimize(_Accuracy([[90.0, 95.0, 99.0], [10.0, 10.0, 10.0]]), n_trials=2,
                   pruner={"name": "median", "n_startup_trials": 1}, progress=False)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.PRUNED]


def test_a_report_direction_other_than_maximize_or_minimize_is_refused():
    class Bad(_Accuracy):
        report_direction = "max"

    study = Study(SPACE, "random", objectives="val_loss", directions="minimize", seed=0)
    with pytest.raises(UsageError, match="report_direction must be 'maximize' or 'minimize'.*'max'"):
        study.optimize(Bad([[1.0]]), n_trials=1, pruner="median", progress=False)
    assert not study.trials


def test_training_evaluator_declares_its_validation_accuracy_maximized():
    from nasforge.evaluators.training import TrainingEvaluator
    from nasforge.experiment.reporting import report_sign

    assert report_sign(TrainingEvaluator(), -1.0) == 1.0
    assert report_sign(lambda arch: 0.0, -1.0) == -1.0


NEVER = [{"name": "asha", "max_resource": 1}, {"name": "asha", "min_resource": 2, "max_resource": 2},
         {"name": "curve", "max_step": 4}, {"name": "curve", "max_step": 5, "min_points": 5}]


@pytest.mark.parametrize("pruner", NEVER)
def test_a_search_refuses_a_pruner_whose_own_end_comes_at_or_before_its_first_decision(pruner):
    """Would fail: accepted, and no trial could ever be stopped (the pruner's own end is never judged)."""
    from nasforge.pipelines.search import SearchConfig

    config = SearchConfig(data="digits", search_epochs=10, pruner=pruner, trials=4, retrain=0,
                          objectives=["val_acc", "params"], directions=["maximize", "minimize"])
    setting = "max_resource" if pruner["name"] == "asha" else "max_step"
    with pytest.raises(UsageError, match=f"pruner '{pruner['name']}' can never stop a trial: .*raise {setting}"):
        config.validate()


@pytest.mark.parametrize("pruner", [*NEVER[:2], {"name": "curve", "max_step": 3}])
def test_optimize_and_the_command_line_refuse_such_a_pruner(pruner):
    from engine_evaluators import Curves
    from nasforge.cli.options import parse_pruner
    import json

    study = Study(SPACE, "random", objectives="acc", seed=0)
    with pytest.raises(UsageError, match="can never stop a trial"):
        study.optimize(Curves(9), n_trials=1, pruner=pruner, progress=False)
    assert not study.trials
    with pytest.raises(UsageError, match="^--pruner: pruner .* can never stop a trial"):
        parse_pruner(json.dumps(pruner))
    assert parse_pruner('{"name": "asha", "max_resource": 3}') == {"name": "asha", "max_resource": 3}


def test_a_study_recorded_with_such_a_pruner_still_resumes_warned():
    from engine_evaluators import Curves
    from nasforge.experiment.pruners import pruner_spec, get_pruner

    study = Study(SPACE, "random", objectives="acc", seed=0)
    study.optimize(Curves(3), n_trials=1, progress=False)
    recorded = {**study.run_config, "pruner": pruner_spec(get_pruner(NEVER[0])), "n_trials_total": 2}
    study.set_run_config(recorded)  # as an older release stored it
    with pytest.warns(UserWarning, match="recorded pruner 'asha' can never stop a trial"):
        study.resume(Curves(3))
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2


def test_the_median_rule_counts_pruned_and_running_trials_as_documented():
    """docs/engine.md: unlike Optuna's, the median (and n_startup_trials) counts every other trial with a report at
    the step; only one of the two others here completed, so Optuna's rule would not judge yet."""
    from nasforge.experiment.pruners import MedianPruner

    curves = {0: [(1, 50.0)], 1: [(1, 60.0), (2, 70.0), (3, 80.0)], 2: [(1, 10.0)]}  # 0 was pruned at step 1
    assert MedianPruner(n_startup_trials=2).should_prune(2, curves)


class _FromZero:
    """Reports steps 0..4 (a user's evaluator may count from 0): two good curves, then flat low ones."""

    def __init__(self):
        self.calls = 0

    def __call__(self, arch, fidelity=None, reporter=None):
        self.calls += 1
        good = self.calls <= 2
        for step in range(5):
            reporter.report(step, 50.0 + 10 * step if good else 10.0)
        return {"acc": 90.0 if good else 10.0}


def test_a_curve_pruner_that_can_stop_trials_counted_from_0_is_taken_by_optimize():
    """Would fail with this stop's first check: max_step 4 was refused, but the 4th report of a curve counted from 0
    is at step 3, which the pruner judges (it pruned both flat trials before)."""
    study = Study(SPACE, "random", objectives="acc", seed=0)
    study.optimize(_FromZero(), n_trials=4, pruner={"name": "curve", "max_step": 4, "n_startup_trials": 2},
                   progress=False)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2 + [TrialState.PRUNED] * 2


def test_report_direction_is_read_only_with_a_pruner_and_through_a_bound_method():
    """Would fail: an evaluator declaring an unrelated report_direction was refused even without a pruner, and a
    bound method's object was not asked."""
    from nasforge.experiment.reporting import report_sign

    class Odd:
        report_direction = "max"

        def __call__(self, arch):
            return {"acc": 1.0}

    study = Study(SPACE, "random", objectives="acc", seed=0)
    study.optimize(Odd(), n_trials=2, progress=False)
    assert len(study.trials) == 2

    class Declares:
        report_direction = "maximize"

        def evaluate(self, arch, fidelity=None, reporter=None):
            return {"acc": 1.0}

    assert report_sign(Declares().evaluate, -1.0) == 1.0
