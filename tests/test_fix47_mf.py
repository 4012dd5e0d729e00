"""Multi-fidelity budgets other than epochs (data_fraction, width, ...): pruners judge such trials at their epochs."""

from __future__ import annotations

import random
import re

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


class IterationCurves:
    """A custom evaluator whose budget ``iterations`` is its steps (it reports once per iteration)."""

    def evaluate(self, arch, fidelity=None, reporter=None):
        rng = random.Random(f"{SPACE.canonical_key(arch)}{sorted(fidelity.items())}")
        value = 0.0
        for step in range(1, int(fidelity["iterations"]) + 1):
            value = rng.random()
            reporter.report(step, value)
        return Result(metrics={"val_acc": value})


def test_a_custom_budget_is_still_the_trials_last_step():
    """Only a TrainingEvaluator budget that is no step (data_fraction, width, ...) is left out: a custom evaluator's
    iterations end its training, and a trial's last report is never pruned."""
    study = Study(SPACE, "hyperband", seed=0, fidelity="iterations", min_budget=1, max_budget=9, eta=3)
    study.optimize(IterationCurves(), n_trials=60, pruner="median", progress=False)
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert pruned and all(t.intermediate[-1][0] < t.fidelity["iterations"] for t in pruned)


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _search(fidelity: str, **settings):
    from nasforge.pipelines.search import SearchConfig

    low, high = (0.1, 1) if fidelity == "data_fraction" else (1, 8)
    budgets = {"min_budget": low, "max_budget": high}
    return SearchConfig(strategy="hyperband", objectives=["val_acc"], retrain=0,
                        strategy_kwargs={"fidelity": fidelity, **budgets, "eta": 2}, **settings)


@pytest.mark.parametrize("fidelity", ["data_fraction", "width"])
def test_search_takes_search_epochs_and_a_pruner_with_a_budget_that_is_not_epochs(fidelity):
    from nasforge.pipelines.search import search_training

    for settings in ({"pruner": "median"}, {"search_epochs": 6}, {"pruner": "curve", "search_epochs": 6}):
        _search(fidelity, **settings).validate(_option)  # no "budgets are all 1 epoch" / "chooses each trial's epochs"
    assert search_training(_search(fidelity, search_epochs=6), SPACE)["epochs"] == 6  # the trials train them


@pytest.mark.parametrize("settings, says", [
    ({"pruner": "curve"}, "--search-epochs must be set to 5 or more with the curve pruner"),
    ({"pruner": {"name": "median", "n_warmup_steps": 4}}, "but trials train 4 (the last report is never judged); "
                                                          "lower n_warmup_steps or set --search-epochs above 5"),
    ({"pruner": "median", "search_epochs": 1}, "--pruner does not apply with --search-epochs 1")])
def test_with_a_budget_that_is_not_epochs_the_pruner_is_checked_against_the_search_epochs(settings, says):
    from nasforge.exceptions import UsageError

    with pytest.raises(UsageError, match=re.escape(says)):
        _search("width", **settings).validate(_option)  # max_budget 8 is a width, not the 8 epochs trials train


def test_an_epochs_budget_still_refuses_search_epochs():
    from nasforge.exceptions import UsageError
    from nasforge.pipelines.search import SearchConfig

    config = SearchConfig(strategy="hyperband", objectives=["val_acc"], retrain=0, search_epochs=6)
    with pytest.raises(UsageError, match="chooses each trial's epochs itself"):
        config.validate(_option)


def test_a_stored_search_with_such_a_budget_and_the_curve_pruner_still_resumes():
    """Stored before the fix: width budgets up to 8 passed the curve pruner's 5-epoch check, the trials trained the
    preset's 4 epochs; ``nasforge resume --workers`` validates that config again."""
    _search("width", pruner="curve").validate(_option, resumed=True)
