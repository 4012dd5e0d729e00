"""Fixes of review mf49: under a multi-fidelity strategy a pruner compares a trial only with trials trained at its
budget (before, with an epochs budget, a promoted trial was judged against shorter runs whose learning-rate schedule
had already annealed, and stopped)."""

from __future__ import annotations


import pytest

from nasforge import Study
from nasforge.experiment import TrialState
from nasforge.experiment.pruners import get_pruner
from nasforge.experiment.scheduler import _Loop
from nasforge.spaces import get_space
from engine_evaluators import Annealed

SPACE = get_space("nb201")


def test_the_pruner_sees_only_the_curves_of_trials_at_the_judged_trials_budget():
    study = Study(SPACE, "hyperband", objectives="val_acc", seed=0, max_budget=8, eta=2)
    loop = _Loop(study, None, 10, None, 2, 0, 3, None, get_pruner("median"), 1.0, None, (), None, 10.0,
                 60.0, None)
    trials = [study.ask() for _ in range(3)]
    for trial, budget in zip(trials, (1, 2, 1)):
        trial.fidelity = {"epochs": budget}
        trial.intermediate = [(1, 10.0 * budget)]
        loop.running[trial.number] = trial
    assert set(loop.curves.current(trials[0].number)) == {trials[0].number, trials[2].number}
    assert set(loop.curves.current(trials[1].number)) == {trials[1].number}


@pytest.mark.parametrize("pruner", [{"name": "median", "n_startup_trials": 1}, {"name": "asha", "reduction_factor": 2}])
@pytest.mark.parametrize("strategy", ["hyperband", "asha"])
def test_a_promoted_trial_is_not_stopped_by_shorter_runs_on_an_annealed_schedule(pruner, strategy):
    """Would fail: the promoted trials (the best of their rung) were pruned against lower budgets' curves."""
    study = Study(SPACE, strategy, objectives="val_acc", seed=0, max_budget=8, eta=2)
    study.optimize(Annealed(), n_trials=30, pruner=pruner, progress=False)
    for trial in study.trials:
        if trial.state == TrialState.PRUNED:  # below the trials of its own budget, at the step it was stopped at
            step, value = trial.intermediate[-1]
            peers = [dict(t.intermediate).get(step) for t in study.trials if t.number != trial.number
                     and t.fidelity == trial.fidelity]
            assert value < max(v for v in peers if v is not None)
    top = [t for t in study.trials if t.fidelity["epochs"] == 8]
    assert top and any(t.state == TrialState.COMPLETE for t in top)


def test_search_training_of_an_epochs_budget_records_the_epochs_the_trials_trained():
    """Would fail: summary.json said the preset's 4 epochs, which no trial of the 1..8-epoch search trained."""
    from nasforge.pipelines.search import SearchConfig, search_training

    config = SearchConfig(strategy="hyperband", objectives=["val_acc"], retrain=0,
                          strategy_kwargs={"max_budget": 8, "eta": 2})
    recorded = search_training(config, SPACE, [{"epochs": 2}, {"epochs": 8}, {"epochs": 1}])
    assert recorded["epochs"] is None and (recorded["C"], recorded["N"]) == (8, 1)  # the size does not vary
    assert recorded["per_trial"] == {"budget": "epochs", "budgets": [1, 8]}
    assert search_training(config, SPACE)["epochs"] is None  # before any trial: still no single epoch count


@pytest.mark.parametrize("space, kwargs, says", [
    (["--space", "nb101"], {"fidelity": "width", "min_budget": 0.125, "max_budget": 1, "eta": 2},
     "NAS-Bench-101 cells need C >= 5"),
    (["--space", "chain", "--space-config", "CHAIN"],
     {"fidelity": "cells", "min_budget": 1, "max_budget": 4, "eta": 2}, "the chain network has no cells to repeat")])
def test_a_budget_the_network_cannot_be_built_at_is_refused_before_anything_runs(tmp_path, capsys, space, kwargs,
                                                                                    says):
    """Would fail: NB101 at width 0.125 (C=1) stopped only after trial 0 was stored, with a resume that could never
    finish; a chain with a cells budget failed every trial above 1 cell."""
    import json

    from nasforge.cli import main

    chain = tmp_path / "chain.json"
    chain.write_text('[["conv3", "skip"], ["conv3", "skip"]]')
    space = [str(chain) if a == "CHAIN" else a for a in space]
    out = tmp_path / "run"
    assert main(["search", *space, "--objectives", "val_acc", "--strategy", "hyperband", "--strategy-kwargs",
                 json.dumps(kwargs), "--search-epochs", "1", "--trials", "4", "--retrain", "0",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "which the training evaluator refuses" in err and says in err, err
    assert not out.exists()


def test_a_run_stored_with_a_budget_the_network_refuses_still_resumes():
    """The size check is for new searches: a run stored before it resumed, and rewrote its outputs, as it did."""
    from nasforge.pipelines.search import SearchConfig, _check_budgets
    from nasforge.spaces import ChainSpace

    config = SearchConfig(strategy="hyperband", objectives=["val_acc"], retrain=0,
                          strategy_kwargs={"fidelity": "cells", "min_budget": 1, "max_budget": 2, "eta": 2})
    _check_budgets(config, ChainSpace([["conv3", "skip"], ["conv3", "skip"]]), None)  # a resume: no refusal
