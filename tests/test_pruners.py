"""Learning-curve extrapolation pruning: the fit, the rule, the engine and the simulator."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from nasforge import Study
from nasforge.analysis.simulate import simulate
from nasforge.spaces.nb201 import conv_proxy
from nasforge.evaluators import Result
from nasforge.exceptions import UsageError
from nasforge.experiment import TrialState
from nasforge.experiment.learning_curves import extrapolate
from nasforge.experiment.pruners import PRUNERS, LearningCurvePruner, MedianPruner, get_pruner, pruner_spec
from nasforge.spaces import get_space
from nasforge.strategies import get_strategy

SPACE = get_space("nb201")


def saturating(final: float, tau: float, upto: int, steps: int = 12, noise: float = 0.0, seed: int = 0):
    """``(step, value)`` for steps 1..upto of a curve rising from 10 to ``final`` at ``steps``."""
    rng = np.random.default_rng(seed)
    scale = 1 - math.exp(-steps / tau)
    return [(s, 10 + (final - 10) * (1 - math.exp(-s / tau)) / scale + noise * rng.standard_normal())
            for s in range(1, upto + 1)]


FINISHED = {n: saturating(80.0 + n, 2.0, 12) for n in range(5)}  # best final 84


def curve_pruner(**settings) -> LearningCurvePruner:
    """A LearningCurvePruner told that the trials of FINISHED completed (as the loop tells it)."""
    pruner = LearningCurvePruner(**settings)
    for curve in FINISHED.values():
        pruner.trial_completed(curve)
    return pruner


def test_extrapolation_recovers_a_saturating_curve_and_its_uncertainty_shrinks():
    for tau in (1.5, 3.0):
        points = saturating(70.0, tau, 6)
        fit = extrapolate([s for s, _ in points], [v for _, v in points], 12, families=["exp3"])
        assert fit.families == ("exp3",) and fit.mean == pytest.approx(70.0, abs=0.5)
    short, long = (saturating(70.0, 3.0, n, noise=0.5) for n in (5, 10))
    fits = [extrapolate([s for s, _ in c], [v for _, v in c], 12) for c in (short, long)]
    assert set(fits[0].families) == {"pow3", "exp3", "ilog2"}
    assert fits[1].stds.mean() < fits[0].stds.mean()
    assert fits[1].prob_above(60.0) > 0.9 > 0.1 > fits[1].prob_above(85.0)
    assert extrapolate([1, 2], [1.0, 2.0], 12, families=["exp3"]) is None  # fewer points than parameters


def test_curve_pruner_stops_hopeless_curves_and_spares_steep_slow_starters():
    pruner, median = curve_pruner(), MedianPruner(n_startup_trials=5)
    for upto in (5, 8):
        flat = {**FINISHED, 9: saturating(50.0, 2.0, upto, noise=0.5)}      # saturating far below 84
        slow_bad = {**FINISHED, 9: saturating(60.0, 8.0, upto, noise=0.5)}  # still rising, but to 60
        assert pruner.should_prune(9, flat) and pruner.should_prune(9, slow_bad)
        steep = {**FINISHED, 9: saturating(92.0, 8.0, upto, noise=0.5)}     # behind now, ends above 84
        near = {**FINISHED, 9: saturating(83.0, 2.0, upto, noise=0.5)}      # close to the best
        assert not pruner.should_prune(9, steep) and not pruner.should_prune(9, near)
        assert median.should_prune(9, steep)  # the median rule cannot see the trend
    assert curve_pruner(top_k=5).should_prune(9, {**FINISHED, 9: saturating(70.0, 2.0, 6)})
    assert not curve_pruner(top_k=5).should_prune(9, {**FINISHED, 9: saturating(80.5, 2.0, 6)})


def test_curve_pruner_waits_for_references_points_and_the_final_step():
    hopeless = saturating(40.0, 2.0, 8)
    assert not LearningCurvePruner().should_prune(9, {**FINISHED, 9: hopeless})  # no trial told complete yet
    pruner = curve_pruner()
    assert pruner.should_prune(9, {**FINISHED, 9: hopeless})
    four = {n: c for n, c in FINISHED.items() if n < 4}
    assert not pruner.should_prune(9, {**four, 9: hopeless})                       # 4 finished < n_startup_trials
    assert not pruner.should_prune(9, {**FINISHED, 9: hopeless[:3]})               # 3 reports < min_points
    assert not pruner.should_prune(9, {**FINISHED, 9: saturating(40.0, 2.0, 12)})  # already at the final step
    # with max_step=20 the 12-step curves are not finished trials, so nothing is compared yet
    assert not LearningCurvePruner(max_step=20).should_prune(9, {**FINISHED, 9: hopeless})
    zero_based = {n: [(s - 1, v) for s, v in c] for n, c in {**FINISHED, 9: hopeless}.items()}
    zero_pruner = LearningCurvePruner()
    for n in FINISHED:
        zero_pruner.trial_completed(zero_based[n])
    assert zero_pruner.should_prune(9, zero_based)  # training reports epochs from 0


def test_curve_pruner_is_registered_and_configurable():
    assert "curve" in PRUNERS
    pruner = get_pruner({"name": "curve", "threshold": 0.1, "top_k": 3, "families": ["exp3", "pow3"]})
    assert isinstance(pruner, LearningCurvePruner)
    again = get_pruner(pruner_spec(pruner))
    assert again.config() == pruner.config() and again.families == ("exp3", "pow3")
    for bad in ({"threshold": 1.5}, {"top_k": 0}, {"min_points": 2}, {"families": ["sigmoid"]}, {"max_step": 0}):
        with pytest.raises(UsageError):
            LearningCurvePruner(**bad)


class Saturating:
    """Reports 12 epochs of a saturating curve towards a toy final score (convolutions help)."""

    def evaluate(self, arch, fidelity=None, reporter=None):
        final = 60.0 + 3.0 * sum(op.startswith("nor_conv") for op in arch.genotype)
        for step, value in saturating(final, 2.0, 12):
            reporter.report(step, value)
        return Result(metrics={"acc": final})


def test_study_prunes_with_the_curve_pruner_and_keeps_the_best():
    study = Study(SPACE, "random", objectives="acc", seed=0).optimize(Saturating(), 40, pruner="curve")
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(pruned) >= 10 and all(4 <= len(t.intermediate) < 12 for t in pruned)
    best_complete = max(t.metrics["acc"] for t in complete)
    finals = {t.number: 60.0 + 3.0 * sum(op.startswith("nor_conv") for op in t.arch.genotype) for t in pruned}
    assert max(finals.values()) < best_complete  # nothing pruned could have beaten the best
    assert study.run_config["pruner"]["name"] == "curve"


def test_a_curve_pruner_whose_max_step_no_trial_reaches_says_so_once():
    """max_step beyond the real curves (12 steps) would make no trial count as finished: nothing was ever pruned,
    without a word. A warning names the setting once; a max_step the trials reach, or none, stays silent."""
    with pytest.warns(RuntimeWarning, match=r"max_step=20, but the curves of the 5 complete trials end by step 12") \
            as caught:
        Study(SPACE, "random", objectives="acc", seed=0).optimize(Saturating(), 15, pruner={"name": "curve",
                                                                                          "max_step": 20})
    assert sum("max_step=20" in str(w.message) for w in caught) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for pruner in ({"name": "curve", "max_step": 12}, "curve"):
            Study(SPACE, "random", objectives="acc", seed=0).optimize(Saturating(), 10, pruner=pruner)
        # budget-1 Hyperband trials end at their budget, not at the pruner's max_step
        Study(SPACE, "hyperband", objectives="acc", seed=0).optimize(
            Budgeted(), 12, pruner={"name": "curve", "max_step": 9})


class ToyCurves:
    """A simulated benchmark: the value after b epochs rises to ``30 + conv`` at 12; one epoch = 1 + conv/9 s."""

    space, max_budget, fidelity = SPACE, 12.0, "epochs"

    def final(self, arch):
        return 30.0 + conv_proxy(arch)

    def evaluate(self, arch, budget):
        value = 10 + (self.final(arch) - 10) * (1 - math.exp(-budget / 2)) / (1 - math.exp(-6))
        return value, budget * (1.0 + conv_proxy(arch) / 9)

    def optimum(self):
        return 84.0

    def worst(self):
        return 30.0


class Recording:
    """A strategy wrapper that keeps every (arch, told score)."""

    def __init__(self, strategy):
        self.strategy, self.told = strategy, []

    def ask(self):
        return self.strategy.ask()

    def tell(self, arch, score):
        self.told.append((arch, score))
        self.strategy.tell(arch, score)


def test_simulated_pruning_saves_time_without_losing_good_architectures():
    bench = ToyCurves()
    plain = simulate(get_strategy("random", SPACE, seed=0), bench, n_workers=4, max_seconds=600.0)
    recording = Recording(get_strategy("random", SPACE, seed=0))
    pruned = simulate(recording, bench, n_workers=4, max_seconds=600.0, pruner="curve")
    assert pruned.n_pruned >= 0.3 * pruned.n_evaluations and plain.n_pruned == 0
    assert pruned.n_evaluations > 1.3 * plain.n_evaluations
    stopped = [bench.final(a) for a, score in recording.told if score is None]
    kept = [score for _, score in recording.told if score is not None]
    assert len(stopped) == pruned.n_pruned and max(stopped) < max(kept)
    assert set(pruned.budgets[pruned.budgets < 12]) <= set(range(4, 12))  # pruned after >= min_points epochs


def test_bench_cli_simulates_pruning(nb201_table, tmp_path, capsys):
    from nasforge.cli import main

    assert main(["bench", "--workers-simulated", "8", "--strategies", "random", "--pruner", "curve", "--seeds", "1",
                 "--trials", "60", "--out", str(tmp_path)]) == 0
    stats = json.loads((tmp_path / "simulated.json").read_text())["stats"]["random"]
    assert stats["pruned"] > 0 and stats["full_budget_share"] < 1
    assert main(["bench", "--strategies", "random", "--pruner", "curve", "--out", str(tmp_path)]) == 2
    assert "--pruner curve: needs --workers-simulated" in capsys.readouterr().err


def test_simulation_ends_when_the_strategy_runs_out_of_proposals():
    from nasforge.exceptions import SpaceExhausted

    class Few(Recording):
        def ask(self):
            if len(self.told) + 4 >= 10:  # at most 10 started with 4 workers
                raise SpaceExhausted("nothing new")
            return self.strategy.ask()

    trace = simulate(Few(get_strategy("random", SPACE, seed=0)), ToyCurves(), n_workers=4, max_seconds=1e6)
    assert 4 <= trace.n_evaluations <= 10


class Budgeted:
    """Reports steps 1..fidelity["epochs"] (default 9) rising to a toy score, with a late jump that reorders
    the trials at the last step, then returns the last value."""

    def evaluate(self, arch, fidelity=None, reporter=None):
        base = 60.0 + 3.0 * sum(op.startswith("nor_conv") for op in arch.genotype)
        jump = 4.0 * (sum(i * len(op) for i, op in enumerate(arch.genotype)) % 5)
        epochs = int((fidelity or {}).get("epochs", 9))
        for step in range(1, epochs + 1):
            reporter.report(step, base * step / epochs + (jump if step == epochs else 0.0))
        return Result(metrics={"acc": base + jump})


@pytest.mark.parametrize("strategy, pruner", [("random", "asha"), ("random", "median"), ("hyperband", "median"),
                                              ("random", {"name": "asha", "max_resource": 9})])
def test_a_report_at_the_trials_last_step_is_never_pruned(strategy, pruner):
    study = Study(SPACE, strategy, objectives="acc", seed=0).optimize(Budgeted(), 40, pruner=pruner)
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert pruned and all(t.intermediate[-1][0] < (t.fidelity or {}).get("epochs", 9) for t in pruned)
    finished = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert all(t.metrics["acc"] > 0 for t in finished)


def test_pruner_settings_are_checked_as_usage_errors():
    for bad in ({"name": "asha", "reduction_factor": 2.5}, {"name": "asha", "min_resource": 0.5},
                {"name": "asha", "max_resource": 0}, {"name": "median", "n_warmup_steps": float("nan")},
                {"name": "median", "n_startup_trials": "5"}, {"name": "curve", "threshold": "x"}):
        with pytest.raises(UsageError, match=next(k for k in bad if k != "name")):
            get_pruner(bad)
    assert get_pruner({"name": "asha", "max_resource": 27}).last_step() == 27
    assert get_pruner("curve").last_step() is None and get_pruner({"name": "curve", "max_step": 12}).last_step() == 12


def test_a_pruner_repr_shows_its_settings():
    assert repr(MedianPruner()) == "MedianPruner(n_startup_trials=5, n_warmup_steps=0)"
    assert repr(get_pruner({"name": "asha", "reduction_factor": 2})) == \
        "SuccessiveHalvingPruner(min_resource=1, reduction_factor=2, min_peers=0, max_resource=None)"
    assert repr(LearningCurvePruner(top_k=2)).startswith("LearningCurvePruner(threshold=0.05, top_k=2, ")
