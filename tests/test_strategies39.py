"""Search strategies, review of 2026-12-06: seeds up to 2**63 - 1 in the torch-based strategies, ``exhaustive`` on
a space that cannot be enumerated, TPE's good set with failures, the saas surrogate's generator and threads,
qnehvi's ``surrogates=`` length, the ``loo_cv`` and ``constraints=`` messages."""

import math

import numpy as np
import pytest

from nasforge.exceptions import UsageError
from nasforge.spaces import get_space
from nasforge.strategies import get_strategy
from nasforge.strategies.constraints import parse_constraints
from nasforge.strategies.multi_fidelity import BOHB
from nasforge.strategies.tpe import TPE

SPACE = get_space("nb201")
BIG_SEED = 2**63 - 1


def _score(arch, objectives: int = 1):
    """A synthetic score from the genotype: convolutions help, the second objective counts them (a cost)."""
    g = arch.genotype
    acc = sum((2.0 + 0.3 * i) * (op == "nor_conv_3x3") + (op == "nor_conv_1x1") for i, op in enumerate(g))
    return acc if objectives == 1 else (acc, -float(g.count("nor_conv_3x3")))


def _run(strategy, n: int, objectives: int = 1):
    for _ in range(n):
        arch = strategy.ask()
        strategy.tell(arch, _score(arch, objectives))
    return strategy


# -- 1: any seed below 2**63 ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, kwargs, objectives", [
    ("saasbo", {"n_initial": 3, "refit_every": 2}, 1),
    ("qnehvi", {"n_initial": 3, "refit_every": 2}, 2),
    ("parego", {"n_initial": 3}, 2),
])
def test_torch_strategies_take_the_largest_seed(name, kwargs, objectives):
    pytest.importorskip("botorch")
    strategy = _run(get_strategy(name, SPACE, seed=BIG_SEED, **kwargs), 6, objectives)  # past a refit
    assert len({SPACE.canonical_key(a) for a, _ in getattr(strategy, "history", None) or strategy.archive}) == 6


def test_saas_surrogate_fit_takes_any_integer_seed():
    pytest.importorskip("botorch")
    from nasforge.strategies.model_based import make_surrogate

    archs = [SPACE.sample(np.random.default_rng(i)) for i in range(8)]
    y = np.array([_score(a) for a in archs])
    mean, _ = make_surrogate({"name": "saas", "maxiter": 5}, SPACE).fit(archs, y, seed=2**70 + 3).predict(archs)
    assert np.isfinite(mean).all()


# -- 2: exhaustive on DARTS -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["parego", "ts_hvi", "qnehvi"])
def test_exhaustive_on_a_space_that_cannot_be_enumerated_is_refused_when_built(name):
    pytest.importorskip("botorch")
    with pytest.raises(UsageError, match="optimizer 'exhaustive' needs an enumerable space"):
        get_strategy(name, "darts", seed=0, optimizer="exhaustive", n_initial=2)


# -- 3: TPE's good set holds successes only ---------------------------------------------------------------------
def test_tpe_good_set_holds_only_successes():
    tpe = TPE(SPACE, seed=0, gamma=0.1, prior_weight=1.0)
    k = len(tpe._choices[0][1])
    tpe.codes = [[0] * len(tpe._choices)] * 5 + [[1] * len(tpe._choices)] * 95  # failures all use choice 1
    tpe.values = [1.0, 2.0, 3.0, 4.0, 5.0] + [-math.inf] * 95
    l_dens, g_dens = tpe._densities()
    # ceil(0.1 * 5) = 1 success in the good set: choice 1 gets the prior's share only
    assert l_dens[0][1] == pytest.approx((1.0 / k) / (1.0 + 1.0))
    assert g_dens[0][1] > 0.9  # the failures went to the rest


def test_tpe_with_only_failures_proposes_from_the_prior():
    tpe = _run_failures(TPE(SPACE, seed=0, n_initial=3), 5)
    l_dens, _ = tpe._densities()
    assert all(np.allclose(p, 1.0 / len(p)) for p in l_dens)
    assert tpe.ask() is not None


def _run_failures(strategy, n: int):
    for _ in range(n):
        strategy.tell(strategy.ask(), None)
    return strategy


def test_bohb_model_learns_its_good_set_from_successes_only(monkeypatch):
    bohb = BOHB(SPACE, seed=0, min_points_in_model=2, random_fraction=0.0, gamma=0.15)
    n_params = len(SPACE.categorical_params())
    for i in range(40):
        bohb.rung_results[0][f"k{i}"] = float(i) if i < 3 else -math.inf  # 3 of 40 succeeded at the lowest rung
        bohb.codes[f"k{i}"] = [0] * n_params if i < 3 else [1] * n_params
    seen = []
    original = TPE._densities

    def spy(self):
        seen.append(original(self))
        return seen[-1]

    monkeypatch.setattr(TPE, "_densities", spy)
    bohb._new_config()
    l_dens, _ = seen[0]
    k = len(l_dens[0])
    assert l_dens[0][1] == pytest.approx((1.0 / k) / (1.0 + 1.0))  # ceil(0.15 * 3) = 1 good result, a success


# -- 4 and 5: the saas fit leaves the caller's generator and thread count alone, and runs on one thread ----------
def test_saas_fit_keeps_the_callers_torch_generator_and_threads(monkeypatch):
    pytest.importorskip("botorch")
    import botorch.fit
    import torch

    from nasforge.strategies.model_based import make_surrogate

    during = []
    original = botorch.fit.get_fitted_map_saas_model

    def spy(*args, **kwargs):
        during.append(torch.get_num_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(botorch.fit, "get_fitted_map_saas_model", spy)
    archs = [SPACE.sample(np.random.default_rng(i)) for i in range(8)]
    y = np.array([_score(a) for a in archs])
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        torch.manual_seed(123)
        expected = torch.rand(1).item()
        torch.manual_seed(123)
        make_surrogate({"name": "saas", "maxiter": 5}, SPACE).fit(archs, y, seed=0)
        assert torch.rand(1).item() == expected
        assert during == [1]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)


# -- 6: qnehvi's surrogates= ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    ({"surrogates": [None]}, r"needs at least 2 surrogates= entries \(one per objective\), got 1"),
    ({"surrogates": [None, None, None], "reference": [0.0, 0.0]}, r"needs 2 \(as the reference point\) surrogates="),
])
def test_qnehvi_surrogates_length_is_checked_when_built(kwargs, match):
    pytest.importorskip("botorch")
    with pytest.raises(UsageError, match=match):
        get_strategy("qnehvi", SPACE, seed=0, **kwargs)


def test_qnehvi_refuses_scores_with_another_number_of_objectives_than_surrogates():
    pytest.importorskip("botorch")
    known = {"name": "known", "cost": "conv_proxy", "sign": -1}
    strategy = get_strategy("qnehvi", SPACE, seed=0, n_initial=3, surrogates=[None, known, None, None])
    arch = strategy.ask()
    with pytest.raises(UsageError, match="surrogates= has 4 entries .* the score has 2 objectives"):
        strategy.tell(arch, _score(arch, 2))


# -- 7: loo_cv's message ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, objectives", [("tpe", 1), ("parego", 2)])
def test_loo_cv_names_the_strategies_it_supports(name, objectives):
    from nasforge.strategies.model_based import loo_cv

    strategy = _run(get_strategy(name, SPACE, seed=0), 3, objectives)
    with pytest.raises(UsageError, match=rf"supports bananas, gp_bo, .*saasbo, smac .*strategy '{name}' has none"):
        loo_cv(strategy)


# -- 8: constraints= of the wrong type --------------------------------------------------------------------------
@pytest.mark.parametrize("value", [5, 1.5, {"params": 1.5}, ["params <= 1", 3], True])
def test_constraints_of_the_wrong_type_say_how_to_write_them(value):
    with pytest.raises(UsageError, match=r"constraints must be a string or a list of strings .*'METRIC <= NUMBER'"):
        parse_constraints(value)
    with pytest.raises(UsageError, match="METRIC <= NUMBER"):
        get_strategy("nsga2", SPACE, seed=0, constraints=value)


@pytest.mark.parametrize("value", [None, [], (), ""])
def test_no_constraints_still_means_none(value):
    assert parse_constraints(value) == []
