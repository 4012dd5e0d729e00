"""Multi-fidelity budgets other than epochs (data_fraction, width, ...): pruners judge such trials at their epochs."""

from __future__ import annotations

import random

import pytest

from nasforge import Study
from nasforge.evaluators import Result
from nasforge.experiment import TrialState
from nasforge.spaces import get_space

SPACE = get_space("nb201")


class RandomCurves:
    """Reports a random value per epoch (the trial's ``epochs``), the same for one architecture and fidelity."""

    def evaluate(self, arch, fidelity=None, reporter=None):
        rng = random.Random(f"{SPACE.canonical_key(arch)}{sorted(fidelity.items())}")
        value = 0.0
        for epoch in range(1, fidelity["epochs"] + 1):
            value = rng.random()
            reporter.report(epoch, value)
        return Result(metrics={"val_acc": value})


@pytest.mark.parametrize("key, low, high", [("width", 1, 9), ("data_fraction", 0.1, 1.0)])
def test_a_non_epochs_budget_is_no_step_trials_are_judged_until_their_last_epoch(key, low, high):
    study = Study(SPACE, "hyperband", seed=0, fidelity=key, min_budget=low, max_budget=high, eta=3)
    study.optimize(RandomCurves(), n_trials=60, pruner="median", fidelity={"epochs": 3}, progress=False)
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert pruned  # a budget below 3 (width 1, data fraction 0.11) no longer counts as the trial's last step
    assert {t.fidelity[key] for t in pruned} == set(study.strategy.budgets)  # judged at every budget
    assert all(t.intermediate[-1][0] < 3 for t in pruned)  # never at epoch 3, where training ends


def test_an_epochs_budget_is_still_the_trials_last_step():
    study = Study(SPACE, "hyperband", seed=0, min_budget=1, max_budget=9, eta=3)
    study.optimize(RandomCurves(), n_trials=60, pruner="median", progress=False)
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert pruned and all(t.intermediate[-1][0] < t.fidelity["epochs"] for t in pruned)
    assert all(t.state == TrialState.COMPLETE for t in study.trials if t.fidelity["epochs"] == 1)
