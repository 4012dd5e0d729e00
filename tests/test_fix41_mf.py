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
    return _Loop(study, None, 10, None, 2, 0, 3, None, get_pruner(pruner), study.signs[0], fidelity, (), None, 10.0,
                 60.0, None)


def _running(study: Study, loop: _Loop, fidelity=None):
    trial = study.ask(fidelity)
    loop.running[trial.number] = trial
    return trial


def test_no_report_is_pruned_while_the_last_step_is_unknown_then_judged_once_it_is_known():
    """Would fail twice: before, a report judged while the last step was unknown was pruned (maybe the trial's
    last, its training thrown away); then it was stopped at its next report, which could be the last as well."""
    study = Study(SPACE, "random", objectives="acc", seed=0)
    loop = _loop(study, "asha")
    good, bad = _running(study, loop), _running(study, loop)
    for step in range(1, 10):
        assert not loop.decide(good.number, step, 50.0 + step)
    assert loop.last_step(bad) is None  # nothing says where trials end, and none completed
    for step in (1, 2):  # far below the other's: either report may be its last, so none is pruned
        assert not loop.decide(bad.number, step, 1.0)
    study.tell(good, 59.0)  # the first complete trial says where trials end: step 9
    del loop.running[good.number]
    assert loop.last_step(bad) == 9
    assert loop.decide(bad.number, 3, 1.0)  # judged now at ASHA's rung 3, before its end


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
    assert not loop.decide(bad.number, 9, 1.0)  # the last report: never judged
    assert loop.decide(bad.number, 10, 1.0) is False  # at or after the last step nothing is stopped


def test_the_earliest_of_the_trials_end_and_the_pruners_end_is_the_last_step():
    study = Study(SPACE, "random", objectives="acc", seed=0)
    loop = _loop(study, {"name": "asha", "max_resource": 3}, {"epochs": 9})
    assert loop.last_step(_running(study, loop, {"epochs": 9})) == 3


def _score(arch, fidelity):
    base = sum(i * len(op) for i, op in enumerate(arch.genotype)) % 17
    return {"acc": base * fidelity["epochs"] / 12}


@pytest.mark.parametrize("name", ["hyperband", "asha", "bohb"])
def test_after_a_diverged_replay_stored_results_are_ranked_at_their_budget_and_promoted(tmp_path, name,
                                                                                       monkeypatch):
    from nasforge.experiment import _replay

    url = f"sqlite:///{tmp_path / 's.db'}"
    first = Study(SPACE, name, objectives="acc", seed=0, storage=url, name="s")
    second = Study.load("s", url)
    for _ in range(6):  # two writers: the stored asks interleave
        first.optimize(_score, n_trials=3)
        second.optimize(_score, n_trials=3)
    asked = [(study, study.ask()) for study in (first, second) * 3]  # told together: promotions are left to make
    for study, trial in asked:
        study.tell(trial, _score(trial.arch, trial.fidelity))
    # as where no single strategy replays them (ASHA's two writers may: each ranks the other's results)
    monkeypatch.setattr(_replay, "_diverges_at", lambda study, events, *rest: 0)
    with pytest.warns(RuntimeWarning, match="replay diverged"):
        study = Study.load("s", url)
    strategy, n_stored = study.strategy, len(study.trials)
    stored = {(study.space.canonical_key(t.arch), t.fidelity["epochs"]) for t in study.trials}
    assert [len(r) for r in strategy.rung_results] == [
        sum(b == budget for _, b in stored) for budget in (1, 4, 12)]
    study.optimize(_score, n_trials=6)
    old = {key for key, _ in stored}
    promoted = [t for t in study.trials[n_stored:] if study.space.canonical_key(t.arch) in old]
    assert promoted and all(t.fidelity["epochs"] > 1 for t in promoted)
    pairs = [(study.space.canonical_key(t.arch), t.fidelity["epochs"]) for t in study.trials]
    assert len(pairs) == len(set(pairs))  # no stored (architecture, budget) is evaluated again


def test_the_simulator_judges_no_report_at_or_after_the_pruners_last_step_and_warns_as_the_engine():
    from nasforge.analysis.simulate import simulate
    from nasforge.strategies import get_strategy
    from test_pruners import ToyCurves

    trace = simulate(get_strategy("random", SPACE, seed=0), ToyCurves(), n_workers=4, max_seconds=600.0,
                     pruner={"name": "asha", "max_resource": 3})
    assert trace.n_pruned and set(trace.budgets[trace.budgets < 12]) == {1.0}  # the rung at 3 is the end: not judged
    with pytest.warns(RuntimeWarning, match="max_step=20"):
        trace = simulate(get_strategy("random", SPACE, seed=0), ToyCurves(), n_workers=4, max_seconds=600.0,
                         pruner={"name": "curve", "max_step": 20})
    assert trace.n_pruned == 0


def test_the_curve_pruner_counts_only_completed_trials_as_finished():
    from nasforge.experiment.pruners import LearningCurvePruner
    from test_pruners import FINISHED, saturating

    running = {n: c[:6] for n, c in FINISHED.items()}  # the longest curves belong to trials still running
    hopeless = {**running, 9: saturating(40.0, 2.0, 4)}
    pruner = LearningCurvePruner()
    assert not pruner.should_prune(9, hopeless)  # no trial completed: none is finished, whatever the longest curve
    for n, curve in FINISHED.items():
        pruner.trial_completed(curve)
    assert pruner.should_prune(9, {**FINISHED, 9: saturating(40.0, 2.0, 4)})


@pytest.mark.parametrize("warmup", [1, 2])
def test_median_warmup_protects_the_first_reports_counted_from_one(warmup):
    from nasforge.experiment.pruners import MedianPruner

    pruner = MedianPruner(n_startup_trials=2, n_warmup_steps=warmup)
    curves = {0: [(s, 50.0 + s) for s in range(1, 4)], 1: [(s, 60.0 + s) for s in range(1, 4)]}
    weak = [(s, 10.0 + s) for s in range(1, 4)]
    assert not pruner.should_prune(2, {**curves, 2: weak[:warmup]})  # its first `warmup` reports: not judged
    assert pruner.should_prune(2, {**curves, 2: weak[:warmup + 1]})


def test_a_resumed_run_tells_the_pruner_the_stored_complete_trials():
    from nasforge.experiment.pruners import LearningCurvePruner
    from test_pruners import Saturating

    class Counting(LearningCurvePruner):
        name = "counting"
        told: list = []

        def trial_completed(self, curve):
            Counting.told.append(curve[-1][0])
            super().trial_completed(curve)

    study = Study(SPACE, "random", objectives="acc", seed=0).optimize(Saturating(), 3)
    study.optimize(Saturating(), 1, pruner=Counting())
    assert Counting.told == [12] * 4  # the 3 stored complete trials, then the new one


@pytest.mark.parametrize("kwargs, pruner, says", [
    ('{"max_budget": 3}', "curve", "curve needs a largest budget of 5 epochs or more"),
    ('{"max_budget": 1}', "asha", "budgets are all 1 epoch")])
def test_search_refuses_a_pruner_the_strategys_budgets_leave_nothing_to_do(tmp_path, capsys, kwargs, pruner, says):
    from nasforge.cli import main

    rc = main(["search", "--strategy", "hyperband", "--objectives", "val_acc", "--trials", "1", "--retrain", "0",
               "--no-progress", "--strategy-kwargs", kwargs, "--pruner", pruner, "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert rc == 2 and says in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_search_says_once_that_the_budgets_are_one(tmp_path):
    from nasforge.cli import main

    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        rc = main(["search", "--strategy", "hyperband", "--objectives", "val_acc", "--trials", "1", "--retrain", "0",
                   "--no-progress", "--strategy-kwargs", '{"max_budget": 2}', "--out", str(tmp_path / "run")])
    assert rc == 0 and sum("give one budget" in str(w.message) for w in said) == 1


@pytest.mark.parametrize("setting, says", [({"max_budget": float("inf")}, "got inf (not a finite number)"),
                                           ({"max_budget": "12"}, "got '12' (a str, not a number)"),
                                           ({"min_budget": float("nan")}, "got nan (not a finite number)")])
def test_a_budget_that_is_no_finite_number_is_told_so(setting, says):
    from nasforge.exceptions import UsageError
    from nasforge.strategies import get_strategy

    with pytest.raises(UsageError, match=r"_budget must be > 0, " + says.replace("(", r"\(").replace(")", r"\)")):
        get_strategy("bohb", SPACE, **setting)


def test_csv_rows_carry_no_float_noise():
    import io

    from nasforge.cli.output import print_rows

    out = io.StringIO()
    print_rows([{"strategy": "hyperband", "regret": 84.123 - 80.93, "evals": 11.991, "n": 3, "x": None,
                 "tiny": 1.2345678901234567e-07}], fmt="csv", out=out)
    assert out.getvalue().splitlines()[1] == "hyperband,3.193,11.991,3,,1.23456789012e-07"


@pytest.mark.parametrize("name", ["hyperband", "bohb", "asha"])
def test_repeats_with_dedup_false_never_leave_brackets_waiting_or_fill_a_rung(name):
    from collections import deque

    from nasforge.strategies import get_strategy

    space = get_space("chain", layers=[["conv3", "conv5"], ["conv3", "conv5", "skip"]])  # 6 architectures
    strategy = get_strategy(name, space, seed=0, dedup=False)
    in_flight: deque = deque()
    for _ in range(600):
        while len(in_flight) < 4:
            in_flight.append(strategy.ask())
        arch = in_flight.popleft()
        strategy.tell(arch, float(sum(map(len, arch.genotype))))
    for bracket in getattr(strategy, "brackets", []):
        assert all(key in strategy.pending for key in bracket["running"])  # each waits for an evaluation in flight
    assert len(getattr(strategy, "brackets", [])) <= 3
    for ranking in getattr(strategy, "ranking", []):
        keys = [key for _, _, key in ranking]
        assert len(keys) == len(set(keys))  # a repeated configuration is ranked once, by its latest result
