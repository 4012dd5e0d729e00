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
