"""Review mb41: constraints in plain ask/tell, violation checks, ensemble/known settings checked at construction,
did-you-mean for model-based presets, ParEGO's no-uncertainty warning."""

import math
import warnings

import numpy as np
import pytest

from nasforge import Study
from nasforge.exceptions import UsageError
from nasforge.spaces import get_space
from nasforge.strategies import get_strategy
from nasforge.strategies.constraints import ConstrainedScore, constrain
from nasforge.strategies.model_based.surrogates import EnsembleSurrogate

SPACE = get_space("nb201")
MO = ["nsga2", "mo_random", "ts_hvi", "parego"]


def _metrics(arch):
    g = arch.genotype
    return {"acc": float(g.count("nor_conv_3x3")), "cost": float(9 * g.count("nor_conv_3x3") + g.count("skip_connect"))}


# -- 1: a constrained strategy refuses a plain tuple; constrain() is the documented way -------------------------
@pytest.mark.parametrize("name", MO)
def test_plain_tuple_refused_with_constraints(name):
    strategy = get_strategy(name, SPACE, seed=0, constraints=["cost <= 1"])
    arch = strategy.ask()
    with pytest.raises(UsageError, match=r"must carry its violation.*constrain\(score, metrics"):
        strategy.tell(arch, (1.0, -2.0))
    assert strategy.n_told == 0
    m = _metrics(arch)
    strategy.tell(arch, constrain((m["acc"], -m["cost"]), m, strategy.constraints))
    assert strategy.n_told == 1
    strategy.tell(strategy.ask(), None)  # a failure needs no violation


def test_infeasible_results_do_not_count_in_hypervolume():
    strategy = get_strategy("ts_hvi", SPACE, seed=0, constraints=["cost <= -1"])  # nothing is feasible
    for _ in range(12):
        arch = strategy.ask()
        m = _metrics(arch)
        strategy.tell(arch, constrain((m["acc"], -m["cost"]), m, strategy.constraints))
    assert strategy.hypervolume([-100, -100]) == 0.0


def test_plain_tuple_fine_without_constraints():
    strategy = get_strategy("ts_hvi", SPACE, seed=0)
    strategy.tell(strategy.ask(), (1.0, 2.0))
    assert strategy.n_told == 1


def test_study_with_constraints_still_works():
    study = Study(SPACE, "parego", objectives=["acc", "cost"], directions=["maximize", "minimize"], seed=0,
                  constraints=["cost <= 10"])

    def evaluate(arch):
        return _metrics(arch)

    study.optimize(evaluate, n_trials=4)
    assert len(study.trials) == 4 and study.pareto_front()


# -- 2: one violation rule for every strategy ------------------------------------------------------------------
@pytest.mark.parametrize("name", MO)
@pytest.mark.parametrize("violation", [math.nan, -1.0, -math.inf])
def test_bad_violation_refused(name, violation):
    strategy = get_strategy(name, SPACE, seed=0, constraints=["cost <= 1"])
    with pytest.raises(UsageError, match="violation must be a number >= 0"):
        strategy.tell(strategy.ask(), ConstrainedScore((1.0, 2.0), violation))
    assert strategy.n_told == 0


def test_bad_violation_refused_without_constraints():
    strategy = get_strategy("nsga2", SPACE, seed=0)
    with pytest.raises(UsageError, match="violation must be a number >= 0"):
        strategy.tell(strategy.ask(), ConstrainedScore((1.0, 2.0), math.nan))


@pytest.mark.parametrize("name", ["nsga2", "mo_evolution", "mo_random", "ts_hvi", "parego"])
def test_a_study_whose_constrained_metric_is_infinite_runs(name):
    """Would fail (regression of the violation check): a Study turns an infinite constrained metric into an
    infinite violation, which was refused, so such a study crashed and a stored one could not be loaded."""
    from nasforge import Study

    study = Study(SPACE, name, objectives=["acc", "cost"], directions=["maximize", "minimize"], seed=0,
                  constraints=["lat <= 10"], **({"n_initial": 3} if name == "parego" else {}))

    def evaluate(arch):
        lat = math.inf if hash(arch.genotype) % 2 else 5.0
        return {"acc": float(len(set(arch.genotype))), "cost": float(arch.genotype.count("none")), "lat": lat}

    study.optimize(evaluate, n_trials=8)
    assert len(study.trials) == 8 and all(t.state.value == "COMPLETE" for t in study.trials)


# -- 3, 6, 7: ensemble settings ----------------------------------------------------------------------------------
@pytest.mark.parametrize("n_members", [2.5, 2.0, "5", 1, True])
def test_ensemble_n_members_must_be_integer(n_members):
    with pytest.raises(UsageError, match=r"n_members must be an integer >= 2, got"):
        get_strategy("bananas", SPACE, surrogate={"name": "ensemble", "n_members": n_members})


def test_ensemble_n_members_numpy_integer_ok():
    assert EnsembleSurrogate(SPACE, n_members=np.int64(3)).n_members == 3


@pytest.mark.parametrize("std_scale", [math.inf, -math.inf, math.nan, 0, "x"])
def test_ensemble_std_scale_must_be_finite_positive(std_scale):
    with pytest.raises(UsageError, match="std_scale must be a finite positive number or 'oob'"):
        get_strategy("bananas", SPACE, surrogate={"name": "ensemble", "std_scale": std_scale})


# -- 4: a known cost's settings are checked when the strategy is built ------------------------------------------
@pytest.mark.parametrize("cost, match", [
    ({"name": "params", "scale": "x"}, "scale must be a number > 0"),
    ({"name": "params", "scale": -1}, "scale must be a number > 0"),
    ({"name": "params", "scale": math.inf}, "scale must be a number > 0"),
    ({"name": "params", "widht": 3}, "cannot be built with.*widht"),
    ({"name": "params", "C": 0}, "cannot be built with.*C"),
    ({"name": "params", "num_classes": 0}, "num_classes must be an integer >= 1"),
    ({"name": "params", "in_channels": 1.5}, "in_channels must be an integer >= 1"),
])
def test_known_cost_checked_at_construction(cost, match):
    with pytest.raises(UsageError, match=match):
        get_strategy("ts_hvi", SPACE, seed=0, surrogates=[None, {"name": "known", "cost": cost, "sign": -1}])


# -- 5: presets taking **kwargs get a did-you-mean naming the preset --------------------------------------------
@pytest.mark.parametrize("name", ["bananas", "gp_bo", "smac", "npenas", "saasbo"])
def test_preset_typo_did_you_mean(name):
    with pytest.raises(UsageError) as info:
        get_strategy(name, SPACE, seed=0, n_inital=5)
    message = str(info.value)
    assert f"strategy {name!r}" in message and "'n_inital': did you mean 'n_initial'?" in message
    assert "ModelBasedStrategy" not in message


# -- 8: ParEGO warns about a surrogate without uncertainty --------------------------------------------------------
def test_parego_warns_point_predictor():
    with pytest.warns(UserWarning, match="gives no uncertainty"):
        get_strategy("parego", SPACE, seed=0, surrogate={"name": "predictor", "predictor": "lgb"}, acquisition="ei")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_strategy("parego", SPACE, seed=0, surrogate={"name": "predictor", "predictor": "lgb"},
                     acquisition="mean")


# -- 9: a known surrogate's metric is a name -------------------------------------------------------------------
@pytest.mark.parametrize("metric", [5, "", ["params"]])
def test_known_metric_must_be_a_name(metric):
    with pytest.raises(UsageError, match="metric must be None or the name"):
        get_strategy("ts_hvi", SPACE, seed=0,
                     surrogates=[None, {"name": "known", "cost": "conv_proxy", "sign": -1, "metric": metric}])


# -- 10: the ensemble docstring says how a Thompson draw is made -----------------------------------------------
def test_ensemble_docstring_matches_sample():
    assert "one random member" not in EnsembleSurrogate.__doc__.replace("(not one random member)", "")
    assert "independently per candidate" in EnsembleSurrogate.__doc__


def test_a_users_strategy_passing_kwargs_to_a_helper_keeps_the_helpers_error(monkeypatch):
    """Would fail (regression of the preset hint): the hint replaced make_model()'s own error with the class's
    base-class settings, hiding which callee refused the option."""
    from nasforge.strategies import STRATEGIES
    from nasforge.strategies.base import Strategy

    def make_model(depth=2, width=8):
        return depth, width

    class Mine(Strategy):
        def __init__(self, space, seed=None, dedup=True, **model_opts):
            super().__init__(space, seed, dedup)
            self.model = make_model(**model_opts)

        def _propose(self):
            return self.space.sample(self.rng)

    monkeypatch.setattr(STRATEGIES, "_entries", dict(STRATEGIES._entries))
    monkeypatch.setattr(STRATEGIES, "_tags", dict(STRATEGIES._tags))
    STRATEGIES.register("mine41mb", Mine)
    with pytest.raises(UsageError, match=r"'mine41mb': \S*make_model\(\) got an unexpected keyword argument 'widht'$"):
        get_strategy("mine41mb", SPACE, seed=0, widht=3)


def test_ts_hvi_warns_when_a_surrogate_gives_no_uncertainty():
    """Would fail: with a point predictor (lgb) ts_hvi's Thompson draws are the means, a greedy search, silently
    (ParEGO and model_based warn in that case)."""
    import warnings

    with pytest.warns(UserWarning, match=r"ts_hvi: surrogate predictor 'lgb' gives no uncertainty"):
        get_strategy("ts_hvi", SPACE, seed=0, surrogate={"name": "predictor", "predictor": "lgb"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_strategy("ts_hvi", SPACE, seed=0)  # the default ensemble has a spread
        get_strategy("ts_hvi", SPACE, seed=0, surrogates=[None, {"name": "known", "cost": "params", "sign": -1}])
