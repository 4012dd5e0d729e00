"""Multi-fidelity and early-stopping fixes of review 43: ASHA judges reports that skip rung steps, a pruner object
serves several studies, reporter steps, ModelledCurves settings, get_pruner messages, min_points, budget rounding."""

from __future__ import annotations

import math
import re

import pytest

from nasforge import Study
from nasforge.analysis.simulate import simulate
from nasforge.evaluators import Result
from nasforge.experiment import TrialState
from nasforge.experiment.pruners import LearningCurvePruner, SuccessiveHalvingPruner
from nasforge.spaces import get_space
from nasforge.strategies import get_strategy

from test_pruners import ToyCurves

SPACE = get_space("nb201")


class Every:
    """Reports a rising curve every ``k`` epochs up to 12, ending at a value set by the architecture."""

    def __init__(self, k: int, epochs: int = 12) -> None:
        self.k, self.epochs = k, epochs

    def evaluate(self, arch, fidelity=None, reporter=None):
        from nasforge.spaces.nb201 import conv_proxy

        final = 30.0 + conv_proxy(arch)
        for epoch in range(self.k, self.epochs + 1, self.k):
            reporter.report(epoch, 10 + (final - 10) * (1 - math.exp(-epoch / 3)) / (1 - math.exp(-self.epochs / 3)))
        return Result(metrics={"val_acc": final})


def _pruned(study: Study) -> int:
    return sum(t.state == TrialState.PRUNED for t in study.trials)


def test_asha_judges_the_first_report_at_or_past_each_rung():
    asha = SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    assert asha.rungs_between(0, 2) == [1] and asha.rungs_between(2, 4) == [3] and asha.rungs_between(8, 10) == [9]
    assert asha.rungs_between(0, 10) == [1, 3, 9] and asha.rungs_between(4, 8) == []
    peers = {n: [(2, float(n)), (4, float(n))] for n in range(6)}  # every 2nd epoch: rung 1 at step 2, 3 at 4
    assert [asha.should_prune(n, {**peers, n: peers[n][:1]}) for n in range(6)] == [True] * 4 + [False] * 2
    assert [asha.should_prune(n, peers) for n in range(6)] == [True] * 4 + [False] * 2
    # a report passing several rungs is judged at each: good at rung 1 (first to report there) is not enough
    jump = {0: [(1, 5.0), (3, 5.0)], 1: [(1, 4.0), (3, 4.0)], 2: [(1, 3.0), (3, 3.0)], 9: [(4, 4.5)]}
    assert asha.should_prune(9, jump)
    assert not asha.should_prune(9, {**jump, 9: [(4, 5.5)]})


@pytest.mark.parametrize("k", [2, 4])
def test_asha_prunes_when_reports_skip_rung_steps_and_every_epoch_is_unchanged(k):
    every = Study(SPACE, "random", seed=0).optimize(Every(1), n_trials=30, pruner="asha")
    assert [t.state for t in every.trials].count(TrialState.PRUNED) == 26  # as before the fix
    skipping = Study(SPACE, "random", seed=0).optimize(Every(k), n_trials=30, pruner="asha")
    assert _pruned(skipping) > 10  # 0 before: no report landed on rung 1, 3 or 9


def test_a_curve_pruner_object_serves_a_second_study():
    shared = LearningCurvePruner(top_k=3)
    Study(SPACE, "random", seed=0).optimize(Every(1, 12), n_trials=20, pruner=shared)
    second = Study(SPACE, "random", seed=1).optimize(Every(1, 8), n_trials=30, pruner=shared)
    fresh = Study(SPACE, "random", seed=1).optimize(Every(1, 8), n_trials=30, pruner=LearningCurvePruner(top_k=3))
    assert _pruned(second) == _pruned(fresh) > 0  # 0 before: study 1's 12 steps stayed the final step


def test_a_curve_pruner_object_serves_several_simulated_runs():
    class Short(ToyCurves):
        max_budget = 8.0

    shared = LearningCurvePruner()
    simulate(get_strategy("random", SPACE, seed=0), ToyCurves(), n_workers=4, max_seconds=600.0, pruner=shared)
    again = simulate(get_strategy("random", SPACE, seed=0), Short(), n_workers=4, max_seconds=600.0, pruner=shared)
    fresh = simulate(get_strategy("random", SPACE, seed=0), Short(), n_workers=4, max_seconds=600.0,
                     pruner=LearningCurvePruner())
    assert again.n_pruned == fresh.n_pruned > 0


@pytest.mark.parametrize("step", [0.5, 1.5, True, "1", float("inf")])
def test_reporter_refuses_a_step_that_is_no_whole_number(step):
    from nasforge.evaluators.reporter import Reporter

    reporter = Reporter()
    with pytest.raises(ValueError, match=f"report step must be a whole number .*got {step!r}"):
        reporter.report(step, 1.0)
    assert reporter.curve == []


def test_reporter_keeps_whole_steps_as_reported():
    import numpy as np

    from nasforge.evaluators.reporter import Reporter

    reporter = Reporter()
    for step in (1, 2.0, np.int64(3), np.float64(4.0)):
        reporter.report(step, 1.0)
    assert reporter.curve == [(1, 1.0), (2, 1.0), (3, 1.0), (4, 1.0)] and all(type(s) is int for s, _ in reporter.curve)
    with pytest.raises(ValueError, match="got 4.5"):
        reporter.report(4.5, 1.0)  # the message names the step given, not a truncated one


@pytest.mark.parametrize("settings, names", [
    ({"base_seconds": -20.0}, "base_seconds"),
    ({"seconds_per_conv": -1.0}, "seconds_per_conv"), ({"max_budget": 0}, "max_budget"),
    ({"max_budget": float("nan")}, "max_budget"), ({"tau_range": (0, 0)}, "tau_range"),
    ({"tau_range": (5, 1)}, "tau_range"), ({"tau_range": (1,)}, "tau_range"), ({"tau_range": "15"}, "tau_range"),
    ({"noise": -1.0}, "noise"), ({"floor": 200.0}, "floor"), ({"fidelity": ""}, "fidelity"),
    ({"seed": -1}, "seed"), ({"cost": 5}, "cost")])
def test_modelled_curves_refuses_bad_settings_naming_them(nb201_table, settings, names):
    from nasforge.analysis.simulate import ModelledCurves
    from nasforge.exceptions import UsageError

    with pytest.raises(UsageError, match=f"^{names} must be"):
        ModelledCurves(nb201_table, **settings)


def test_modelled_curves_takes_edge_settings_that_make_sense(nb201_table):
    from nasforge.analysis.simulate import ModelledCurves

    bench = ModelledCurves(nb201_table, tau_range=[2, 2], noise=0, seconds_per_conv=0, floor=50)
    value, seconds = bench.evaluate(nb201_table.archs[0], 3)
    assert seconds == 30.0 and math.isfinite(value)


def test_get_pruner_says_a_name_is_missing():
    from nasforge.exceptions import UsageError
    from nasforge.experiment.pruners import get_pruner

    with pytest.raises(UsageError, match=r"have no 'name': give one of asha, curve, median"):
        get_pruner({"reduction_factor": 2})


def test_curve_families_take_one_name_as_one_family():
    from nasforge.exceptions import UsageError
    from nasforge.experiment.pruners import get_pruner

    assert get_pruner({"name": "curve", "families": "pow3"}).families == ("pow3",)
    assert LearningCurvePruner(families=("exp3", "ilog2")).families == ("exp3", "ilog2")
    for bad in ("pow4", [], 5, [[1]], b"pow3"):
        with pytest.raises(UsageError, match=r"families must name one or more of pow3, exp3, ilog2 \(a name or a "
                                             rf"list\), got {re.escape(repr(bad))}"):
            get_pruner({"name": "curve", "families": bad})


def test_curve_min_points_3_warns_once_that_one_family_decides_and_2_is_refused(monkeypatch):
    """3 was refused for a while, which stopped the resume of studies stored with it: it warns instead, once a
    process (a search builds its pruner three times)."""
    import warnings

    from nasforge.exceptions import UsageError
    from nasforge.experiment import pruners
    from nasforge.experiment.learning_curves import extrapolate

    monkeypatch.setitem(pruners._SAID, "min_points=3", False)
    with pytest.warns(UserWarning, match=r"min_points=3\): at 3 reports only the two-parameter ilog2"):
        assert LearningCurvePruner(min_points=3).min_points == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LearningCurvePruner(min_points=3)
    with pytest.raises(UsageError, match="min_points must be an integer >= 3, got 2"):
        LearningCurvePruner(min_points=2)
    assert extrapolate([1, 2, 3], [20.0, 40.0, 50.0], 12).families == ("ilog2",)  # why 3 warns
    assert set(extrapolate([1, 2, 3, 4], [20.0, 40.0, 50.0, 55.0], 12).families) == {"pow3", "exp3", "ilog2"}


def test_whole_budgets_round_halves_to_even_as_stored_studies_were_run():
    from nasforge.strategies.multi_fidelity import rung_budgets

    assert rung_budgets(1, 5, 2) == [1, 2, 5]  # 2.5 -> 2 and 3.5 -> 4 below: halves to even, as always
    assert rung_budgets(1, 7, 2) == [2, 4, 7]
    assert rung_budgets(1, 3, 2) == [2, 3]  # the lowest budget may lie above min_budget (docs/strategies.md)
    assert get_strategy("hyperband", SPACE, max_budget=5, eta=2).budgets == [1, 2, 5]
    for (low, high), budgets in {(1, 12): [1, 4, 12], (1, 4): [1, 4], (1, 3): [1, 3], (1, 27): [1, 3, 9, 27]}.items():
        assert rung_budgets(low, high, 3) == budgets


def test_whole_steps_as_tensors_arrays_and_decimals_are_accepted_as_before():
    """Regression of the step check: torch.arange's tensors (and 0-d arrays, Decimals) failed every trial."""
    import decimal

    import numpy as np
    import torch

    from nasforge.evaluators.reporter import _whole

    for step in (torch.tensor(2), torch.tensor(2.0), np.array(2), np.array(2.0), decimal.Decimal(2), np.int64(2)):
        assert _whole(step) == 2 and type(_whole(step)) is int
    for bad in (torch.tensor([1, 2]), torch.tensor([3]), np.array([2]), np.bool_(True), torch.tensor(True), True, "2",
                1.5, float("inf")):
        with pytest.raises(ValueError, match="report step must be a whole number"):
            _whole(bad)


def test_modelled_curves_take_zero_base_seconds_with_a_per_conv_cost_and_array_tau_ranges():
    """Regression: base_seconds=0 with seconds_per_conv > 0 (a time model of its own) and a NumPy tau range."""
    import numpy as np

    from nasforge.analysis.simulate import _check_model
    from nasforge.exceptions import UsageError

    _check_model(12, "epochs", 0, 0.5, np.array([1.0, 5.0]), None, 0, len)
    with pytest.raises(UsageError, match="base_seconds 0 with cost=None: every evaluation would take no time"):
        _check_model(12, "epochs", 0, 1.0, (1, 5), None, 0, None)
    with pytest.raises(UsageError, match="base_seconds 0 with seconds_per_conv 0"):
        _check_model(12, "epochs", 0, 0, (1, 5), None, 0, len)
    _check_model(12, "epochs", 0, 0, (1, 5), None, 0, None, time_column="seconds")  # the table's times
