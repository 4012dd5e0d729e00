"""Fixes of review mf41: last-step protection with parallel workers, relearning after a diverged replay, and the
pruner and budget checks."""

from __future__ import annotations

import warnings

import pytest

from nasforge import Study
from nasforge.experiment.pruners import get_pruner
from nasforge.experiment.scheduler import _Loop
from nasforge.spaces import get_space

SPACE = get_space("nb201")


def _loop(study: Study, pruner, fidelity=None) -> _Loop:
    return _Loop(study, None, 10, None, 2, 0, 3, None, get_pruner(pruner), fidelity, (), None, 10.0, 60.0, None)


def _running(study: Study, loop: _Loop, fidelity=None):
    trial = study.ask(fidelity)
    loop.running[trial.number] = trial
    return trial


def test_a_trial_judged_before_any_trial_completed_is_stopped_at_its_next_report_not_at_its_last():
    study = Study(SPACE, "random", objectives="acc", seed=0)
    loop = _loop(study, "asha")
    good, bad = _running(study, loop), _running(study, loop)
    for step in range(1, 10):
        assert not loop.decide(good.number, step, 50.0 + step)
    assert loop.last_step(bad) is None  # nothing says where trials end, and none completed
    assert not loop.decide(bad.number, 9, 1.0)  # its 9th report, below the other's: judged, but it may be the last
    assert bad.number in loop.doomed
    assert loop.decide(bad.number, 10, 1.0)  # another report came: the judged one was not the last


@pytest.mark.parametrize("given", ["run", "evaluator"])
def test_the_epochs_a_trial_trains_are_its_last_step(given):
    from nasforge.evaluators.training import TrainingEvaluator

    study = Study(SPACE, "random", objectives="acc", seed=0)
    loop = _loop(study, "asha", {"epochs": 9} if given == "run" else None)
    if given == "evaluator":
        from nasforge.experiment.scheduler import _default_epochs

        loop.default_epochs = _default_epochs(TrainingEvaluator(fidelity={"epochs": 9}))
    good, bad = _running(study, loop, loop.fidelity), _running(study, loop, loop.fidelity)
    assert loop.last_step(bad) == 9
    for step in range(1, 10):
        assert not loop.decide(good.number, step, 50.0 + step)
    assert not loop.decide(bad.number, 9, 1.0) and bad.number not in loop.doomed  # the last report: never judged
    assert loop.decide(bad.number, 10, 1.0) is False  # at or after the last step nothing is stopped


def test_the_earliest_of_the_trials_end_and_the_pruners_end_is_the_last_step():
    study = Study(SPACE, "random", objectives="acc", seed=0)
    loop = _loop(study, {"name": "asha", "max_resource": 3}, {"epochs": 9})
    assert loop.last_step(_running(study, loop, {"epochs": 9})) == 3
