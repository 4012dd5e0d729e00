"""Model-based strategies: parts, every preset on every space, exact resume (also through a killed
Study on SQLite), parallel diversity, and learning on the NAS-Bench-201 table."""

import copy
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from nasforge.exceptions import UsageError
from nasforge.spaces import ChainSpace, DartsSpace, NASBench101Space, NASBench201Space
from nasforge.strategies import STRATEGIES, available_strategies, get_strategy
from nasforge.strategies.model_based import (ModelBasedStrategy, SearchContext, make_acquisition, make_optimizer,
                                             make_surrogate, unique_architectures)
from nasforge.strategies.model_based.surrogates import categorical_codes, oob_std_scale, out_of_bag_mean

NB201 = NASBench201Space()
SPACES = {"nb201": NB201, "darts": DartsSpace(), "nb101": NASBench101Space(),
          "chain": ChainSpace([["a", "b", "c"], ["x", "y"], ["a", "b", "c", "d"], ["p", "q", "r"]] * 2)}
FAST = {"n_initial": 4}
PRESETS = ["bananas", "npenas", "gp_bo", "smac"]


def toy_score(space, arch):
    """A landscape every space has: how often each parameter takes its first-listed choices."""
    view = space.to_params(arch)
    return float(sum(len(choices) - choices.index(view[name]) for name, choices in space.categorical_params().items()))


def run(strategy, n, score=None):
    archs = []
    for _ in range(n):
        arch = strategy.ask()
        strategy.tell(arch, (score or (lambda a: toy_score(strategy.space, a)))(arch))
        archs.append(arch)
    return archs


def test_registry_tags():
    model_based = available_strategies(model_based=True)
    for name in PRESETS + ["saasbo", "tpe", "reinforce"]:
        assert name in model_based
        assert STRATEGIES.tags(name)["multi_objective"] is False
    assert "random" not in model_based and "evolution" in available_strategies(model_based=False)
    with pytest.raises(UsageError, match="unknown strategy 'nope'"):
        get_strategy("nope", NB201)


@pytest.mark.parametrize("space_name", sorted(SPACES))
@pytest.mark.parametrize("name", PRESETS)
def test_presets_on_every_space(name, space_name):
    space = SPACES[space_name]
    strategy = get_strategy(name, space, seed=0, **FAST)
    archs = run(strategy, 7)  # 4 random, then 3 proposed by the model (on DARTS about 1 s of CPU each for smac)
    for arch in archs:
        space.validate(arch)
    assert len({space.canonical_key(a) for a in archs}) == 7
    assert strategy.n_fits >= 1  # the model was used, not only random warm-up


@pytest.mark.parametrize("name", PRESETS)
def test_same_seed_same_sequence_and_exact_resume(name):
    a = run(get_strategy(name, NB201, seed=3, **FAST), 12)
    assert run(get_strategy(name, NB201, seed=3, **FAST), 12) == a
    reference = get_strategy(name, NB201, seed=5, **FAST, refit_every=3)
    run(reference, 9)
    snapshot = reference.state_dict()
    assert "_model" not in snapshot
    expected = run(reference, 8)
    resumed = get_strategy(name, NB201, seed=999, **FAST, refit_every=3)
    resumed.load_state_dict(snapshot)
    assert run(resumed, 8) == expected


_KILLED_RUN = """
import os, sys
from nasforge import Study
from nasforge.spaces import NASBench201Space
sys.path.insert(0, {tests!r})
from test_strategies_model_based import study_score

def stop(study, trial):
    if len(study.completed()) == {kill_at}:
        os._exit(0)  # as abrupt as a kill: no cleanup, no final writes

study = Study(NASBench201Space(), {name!r}, objectives="acc", seed=7, name="s", storage={url!r}, **{kwargs!r})
study.optimize(study_score, n_trials={total}, callbacks=[stop])
"""


def study_score(arch):
    from nasforge import Result

    return Result(metrics={"acc": toy_score(NB201, arch)})


@pytest.mark.parametrize("name, kwargs", [("gp_bo", FAST), ("tpe", FAST),
                                          ("reinforce", {"algorithm": "ppo", "batch_size": 4})])
def test_resumes_exactly_after_a_kill_through_a_sqlite_study(name, kwargs, tmp_path):
    pytest.importorskip("sqlalchemy")
    from nasforge import Study

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    total, kill_at = 16, 9
    code = _KILLED_RUN.format(tests=os.path.dirname(__file__), kill_at=kill_at, name=name, url=url, total=total,
                              kwargs=kwargs)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a diverging replay warns: fail on it
        study = Study.load("s", url)
        assert len(study.completed()) == kill_at
        study.optimize(study_score, n_trials=total - len(study.trials))
    reference = Study(NB201, name, objectives="acc", seed=7, **kwargs).optimize(study_score, n_trials=total)
    assert [t.arch for t in study.trials] == [t.arch for t in reference.trials]


@pytest.mark.parametrize("name", ["gp_bo", "bananas", "smac"])
def test_parallel_asks_are_distinct_and_spread(name):
    strategy = get_strategy(name, NB201, seed=1, **FAST)
    run(strategy, 12)
    batch = [strategy.ask() for _ in range(4)]  # four workers, nothing told yet
    codes = categorical_codes(NB201, batch)
    assert len({NB201.canonical_key(a) for a in batch}) == 4
    distances = [(codes[i] != codes[j]).sum() for i in range(4) for j in range(i + 1, 4)]
    assert max(distances) >= 2  # not all one edit apart: pending-aware, not the same idea four times
    assert set(strategy.pending) == {NB201.canonical_key(a) for a in batch}
    for arch in batch:
        strategy.tell(arch, toy_score(NB201, arch))
    assert not strategy.pending


def test_gp_fantasies_shrink_the_variance_near_pending():
    rng = np.random.default_rng(0)
    archs = [NB201.sample(rng) for _ in range(30)]
    gp = make_surrogate({"name": "gp", "kernel": "hamming"}, NB201).fit(archs, [toy_score(NB201, a) for a in archs], 0)
    probe = NB201.sample(rng)
    _, std = gp.predict([probe])
    _, std_pending = gp.predict([probe], pending=[probe])
    assert std_pending[0] < 0.9 * std[0]


def fit_toy(spec):
    """``spec``'s surrogate fitted on 80 toy-landscape results; 40 held-out architectures and their scores."""
    rng = np.random.default_rng(1)
    archs = [NB201.sample(rng) for _ in range(120)]
    y = np.array([toy_score(NB201, a) for a in archs])
    return make_surrogate(spec, NB201).fit(archs[:80], y[:80], seed=0), archs[80:], y[80:]


@pytest.mark.parametrize("spec", [{"name": "gp", "kernel": "hamming"}, {"name": "gp", "kernel": "matern"},
                                  {"name": "gp", "kernel": "rbf", "encoding": "path"},
                                  {"name": "ensemble", "predictor": "lgb", "n_members": 3, "n_estimators": 50},
                                  {"name": "predictor", "predictor": "rf", "n_estimators": 30},
                                  {"name": "residual"}])
def test_surrogates_fit_the_toy_landscape(spec):
    model, held_out, y = fit_toy(spec)
    mean, std = model.predict(held_out)
    assert np.corrcoef(mean, y)[0, 1] > 0.7
    assert np.all(std >= 0) and std.mean() > 0
    # no candidates left (e.g. every contender evaluated): empty answers, not an encoder's error
    assert [a.shape for a in model.predict([])] == [(0,), (0,)]
    assert model.sample([], np.random.default_rng(0)).shape == (0,)


@pytest.mark.parametrize("true_scale", [1.0, 3.0])
def test_oob_std_scale_recovers_how_much_the_spread_understates_the_error(true_scale):
    rng = np.random.default_rng(0)
    n, members = 400, 5
    centre, spread = rng.normal(size=n), rng.uniform(0.5, 2.0, size=n)
    predictions = centre + spread * rng.standard_normal((members, n))
    y = centre + true_scale * spread * rng.standard_normal(n)
    in_bag = np.stack([np.bincount(rng.integers(n, size=n), minlength=n) > 0 for _ in range(members)])
    scale = oob_std_scale(predictions, in_bag, y)
    # fresh scores: the scaled std of the full ensemble gives intervals of the nominal coverage
    fresh = centre + true_scale * spread * rng.standard_normal(n)
    error, std = np.abs(fresh - predictions.mean(0)), predictions.std(0)
    assert 0.42 < np.mean(error <= 0.6745 * scale * std) < 0.6
    assert 0.88 < np.mean(error <= 1.96 * scale * std) < 0.99
    assert scale >= true_scale  # a 5-member std is itself noisy: the factor exceeds the true ratio


def test_ensemble_std_scale_widens_the_std_and_oob_calibrates_it():
    spec = {"name": "ensemble", "predictor": "lgb", "n_members": 5, "n_estimators": 50}
    rng = np.random.default_rng(2)
    archs = [NB201.sample(rng) for _ in range(300)]
    y = np.array([toy_score(NB201, a) for a in archs]) + rng.normal(scale=1.5, size=len(archs))  # noisy scores
    plain = make_surrogate(spec, NB201).fit(archs[:150], y[:150], seed=0)
    doubled = make_surrogate({**spec, "std_scale": 2}, NB201).fit(archs[:150], y[:150], seed=0)
    oob = make_surrogate({**spec, "std_scale": "oob"}, NB201).fit(archs[:150], y[:150], seed=0)
    (mean, std), (mean2, std2) = plain.predict(archs[150:]), doubled.predict(archs[150:])
    np.testing.assert_allclose(mean2, mean)
    np.testing.assert_allclose(std2, 2 * std)

    def coverage(model):  # share of held-out scores inside the 95 % interval
        mu, sd = model.predict(archs[150:])
        return float(np.mean(np.abs(y[150:] - mu) <= 1.96 * sd))
    assert oob.scale > 1.5
    assert coverage(plain) < 0.8 and abs(coverage(oob) - 0.95) < abs(coverage(plain) - 0.95)
    for bad in ({"std_scale": 0}, {"std_scale": True}, {"std_scale": "wide"}, {"std_scale": "oob", "bootstrap": False}):
        with pytest.raises(UsageError, match="std_scale"):
            make_surrogate({**spec, **bad}, NB201)


def test_residual_surrogate_corrects_the_shrunken_tree_ensemble():
    """The trees under-predict the best architectures; the GP on their out-of-bag residuals lifts them."""
    base = {"name": "ensemble", "predictor": "lgb", "n_members": 3, "n_estimators": 50}
    rng = np.random.default_rng(0)
    archs = [NB201.sample(rng) for _ in range(400)]
    y = np.array([toy_score(NB201, a) for a in archs])
    trees = make_surrogate(base, NB201).fit(archs[:100], y[:100], seed=0)
    corrected = make_surrogate({"name": "residual", "base": base}, NB201).fit(archs[:100], y[:100], seed=0)
    (tree_mean, tree_std), (mean, std) = trees.predict(archs[100:]), corrected.predict(archs[100:])
    truth = y[100:]
    top = truth >= np.quantile(truth, 0.9)
    assert (mean - truth)[top].mean() > (tree_mean - truth)[top].mean() + 1.0  # measured: -2.9 against -4.4
    assert np.sqrt(np.mean((mean - truth) ** 2)) < 0.85 * np.sqrt(np.mean((tree_mean - truth) ** 2))
    np.testing.assert_allclose(std, tree_std)  # the base's std, the correction's is not added
    np.testing.assert_allclose(mean, tree_mean + corrected.correction.predict(archs[100:])[0])
    # the residuals come from the members that did not see a row (all members where every one did)
    predictions = np.array([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]])
    in_bag = np.array([[True, False, True], [False, False, True]])
    np.testing.assert_allclose(out_of_bag_mean(predictions, in_bag), [3.0, 3.0, 4.0])
    refitted = copy.copy(corrected).fit(archs[200:300], y[200:300], seed=1)  # as new_surrogate and loo_cv copy it
    np.testing.assert_array_equal(corrected.predict(list(archs[100:]))[0], mean)  # the original's models stay
    assert not np.array_equal(refitted.predict(archs[100:])[0], mean)
    for bad in ({"name": "gp"}, {**base, "bootstrap": False}):
        with pytest.raises(UsageError, match="bootstrap=True"):
            make_surrogate({"name": "residual", "base": bad}, NB201)


@pytest.mark.parametrize("space_name", list(SPACES))
def test_residual_surrogate_on_every_space(space_name):
    space = SPACES[space_name]
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(30)]
    y = np.array([toy_score(space, a) for a in archs])
    model = make_surrogate({"name": "residual"}, space).fit(archs[:20], y[:20], seed=0)
    mean, std = model.predict(archs[20:])
    assert mean.shape == (10,) and np.all(np.isfinite(mean)) and np.all(std >= 0)


def test_loo_cv_refits_without_each_result_and_can_refit_another_surrogate():
    from nasforge.strategies.model_based import loo_cv

    spec = {"name": "ensemble", "predictor": "lgb", "n_members": 3, "n_estimators": 30}
    strategy = ModelBasedStrategy(NB201, seed=0, surrogate=spec, n_initial=4)
    run(strategy, 12)
    result = loo_cv(strategy)
    assert list(result.actual) == [v for _, v in strategy.history] and np.all(result.std >= 0)
    assert 0.0 <= result.summary()["coverage_95"] <= 1.0
    doubled = loo_cv(strategy, surrogate={**spec, "std_scale": 2})  # same history and seeds, only the std moves
    np.testing.assert_allclose(doubled.mean, result.mean)
    np.testing.assert_allclose(doubled.std, 2 * result.std)
    with pytest.raises(UsageError, match="std_scale"):
        loo_cv(strategy, surrogate={**spec, "std_scale": -1})
    with pytest.raises(UsageError, match="model-based"):
        loo_cv(get_strategy("random", NB201, seed=0))
    with pytest.warns(UserWarning, match="no uncertainty .std 0, a point predictor., so coverage_95"):
        loo_cv(strategy, surrogate={"name": "predictor", "predictor": "lgb", "n_estimators": 30})


def test_loo_cv_of_a_minimizing_study_reports_its_own_units_and_checks_max_points():
    from nasforge.experiment import Study
    from nasforge.strategies.model_based import loo_cv

    study = Study(NB201, "gp_bo", objectives="err", directions="minimize", seed=0, n_initial=4)
    for _ in range(8):
        trial = study.ask()
        study.tell(trial, {"err": float(trial.arch.genotype.count("none")) + 1.0})
    result = loo_cv(study)
    assert list(result.actual) == [t.metrics["err"] for t in study.trials] and result.units == "err"
    assert result.to_json()["units"] == "err"
    scores = loo_cv(study.strategy)  # the strategy's own, higher-is-better scores
    np.testing.assert_allclose(scores.actual, -result.actual)
    np.testing.assert_allclose(scores.mean, -result.mean)
    assert scores.units == "score (higher is better)"
    for bad in (0, -1, 2.5):
        with pytest.raises(UsageError, match="max_points must be an integer >= 1"):
            loo_cv(study, max_points=bad)


def test_loo_plot_writes_into_a_folder_and_never_replaces_a_foreign_file(tmp_path):
    from nasforge.strategies.model_based.diagnostics import LOOResult

    result = LOOResult(["a", "b", "c"], np.array([1.0, 2.0, 3.0]), np.array([1.1, 2.0, 2.5]), np.array([0.1, 0.2, 0.3]))
    assert result.plot(tmp_path) == tmp_path / "loo.png" and (tmp_path / "loo.png").stat().st_size > 0
    assert result.plot(tmp_path) == tmp_path / "loo.png"  # an earlier plot is replaced
    assert not (tmp_path.parent / f"{tmp_path.name}.png").exists()
    precious = tmp_path / "loo2.png"
    precious.write_text("not a plot")
    with pytest.raises(UsageError, match="is not a leave-one-out plot nasforge wrote; not overwriting"):
        result.plot(precious)
    assert precious.read_text() == "not a plot"
    assert result.plot(precious, overwrite=True) == precious and precious.read_bytes().startswith(b"\x89PNG")
    assert result.plot(tmp_path / "named") == tmp_path / "named.png"
    assert result.plot(tmp_path / "loo.pdf").read_bytes().startswith(b"%PDF")  # the suffix names the format
    with pytest.raises(UsageError, match="not a leave-one-out plot nasforge wrote"):
        result.plot(tmp_path / "loo.pdf")  # a PDF carries no mark: replaced only with overwrite=True
    assert result.plot(tmp_path / "loo.pdf", overwrite=True) == tmp_path / "loo.pdf"
    with pytest.raises(UsageError, match="matplotlib writes no 'docx' files"):
        result.plot(tmp_path / "loo.docx")


def test_acquisitions_prefer_what_they_should():
    class Fixed:
        supports_pending = False

        def predict(self, archs, pending=()):
            return np.array([1.0, 1.0, 2.0]), np.array([0.1, 2.0, 0.1])

        def sample(self, archs, rng, pending=()):
            mean, std = self.predict(archs)
            return mean + std * rng.standard_normal(3)

    rng = np.random.default_rng(0)
    ucb = make_acquisition({"name": "ucb", "beta": 3.0})(Fixed(), [None] * 3, 2.0, rng)
    assert np.argmax(ucb) == 1
    assert np.argmax(make_acquisition("mean")(Fixed(), [None] * 3, 2.0, rng)) == 2
    ei = make_acquisition("ei")(Fixed(), [None] * 3, 2.0, rng)
    assert ei[1] > ei[0] and ei[2] > ei[0]
    pi = make_acquisition("pi")(Fixed(), [None] * 3, 2.0, rng)
    assert pi[2] == pytest.approx(0.5) and pi[0] < 1e-6
    draws = np.array([make_acquisition("its")(Fixed(), [None] * 3, 2.0, rng) for _ in range(200)])
    assert draws[:, 1].std() > 5 * draws[:, 0].std()
    with pytest.raises(UsageError, match="unknown acquisition"):
        make_acquisition("nope")


def test_optimizers_return_unseen_candidates_best_first():
    archs, index = unique_architectures(NB201)
    assert len(archs) == len(index) == len({NB201.canonical_key(a) for a in NB201.enumerate()})
    assert unique_architectures(NB201)[0] is archs  # built once per space
    rng = np.random.default_rng(0)
    ranked = [NB201.sample(rng) for _ in range(5)]
    seen = {NB201.canonical_key(a): 1.0 for a in ranked}

    def score(candidates):
        return np.array([toy_score(NB201, a) for a in candidates])

    for name in ("exhaustive", "mutation", "local", "auto"):
        out = make_optimizer(name).propose(score, SearchContext(NB201, ranked, seen, rng), k=5)
        assert out and all(NB201.canonical_key(a) not in seen for a in out)
        values = score(out)
        assert list(values) == sorted(values, reverse=True)
    best = make_optimizer("exhaustive").propose(score, SearchContext(NB201, ranked, seen, rng), k=1)[0]
    assert toy_score(NB201, best) == max(score(archs))


def test_bad_settings_and_multi_objective_scores():
    with pytest.raises(UsageError, match="n_initial"):
        ModelBasedStrategy(NB201, n_initial=1)
    with pytest.raises(UsageError, match="surrogate"):
        ModelBasedStrategy(NB201, surrogate="nope")
    with pytest.raises(UsageError, match="kernel"):
        ModelBasedStrategy(NB201, surrogate={"name": "gp", "kernel": "nope"})
    strategy = ModelBasedStrategy(NB201, seed=0)
    with pytest.raises(UsageError, match="one objective"):
        strategy.tell(strategy.ask(), (1.0, 2.0))


@pytest.mark.parametrize("name, kwargs, message", [
    ("model_based", {"surrogate": {"name": "ensemble", "predictor": "foo"}}, "unknown predictor 'foo'"),
    ("model_based", {"surrogate": {"name": "ensemble", "n_estimatorz": 3}}, "n_estimatorz"),
    ("model_based", {"surrogate": {"name": "predictor", "predictor": "rf", "bogus": 1}}, "bogus"),
    ("bananas", {"surrogate": {"name": "ensemble", "predictor": "lgb", "seed": 3}}, "the strategy's seed seeds"),
    ("model_based", {"surrogate": {"name": "residual", "base": {"name": "ensemble", "predictor": "foo"}}}, "'foo'"),
    ("model_based", {"surrogate": {"name": "known", "cost": "nope"}}, "unknown architecture cost 'nope'"),
    ("bananas", {"surrogate": {"name": "ensemble", "predictor": "lgbm"}}, "unknown predictor 'lgbm'"),
    ("parego", {"surrogate": {"name": "ensemble", "predictor": "foo"}}, "unknown predictor 'foo'"),
    ("ts_hvi", {"surrogates": [{"name": "ensemble", "predictor": "foo"}, None]}, "unknown predictor 'foo'"),
    ("gp_bo", {"acquisition": {"name": "ucb", "beta": -1}}, "^gp_bo: acquisition 'ucb': beta must be >= 0, got -1"),
    ("smac", {"optimizer": {"name": "local", "max_steps": -1}}, "^smac: optimizer 'local': max_steps must be"),
    ("gp_bo", {"optimizer": "exhaustive", "space": DartsSpace()}, "'exhaustive' needs an enumerable space; DartsSpace"),
    ("gp_bo", {"surrogate": {"name": "gp", "max_opt_points": 0}}, "max_opt_points must be an integer >= 1, got 0"),
    ("gp_bo", {"surrogate": {"name": "gp", "max_opt_points": "x"}}, "max_opt_points must be an integer"),
    ("gp_bo", {"surrogate": {"name": "gp", "encoding": "path"}}, "encoding 'path' needs kernel 'rbf' or 'matern'"),
    ("saasbo", {"surrogate": {"name": "saas", "max_train": 0}}, "saas surrogate: max_train must be an integer >= 2"),
    ("saasbo", {"surrogate": {"name": "saas", "max_train": -3}}, "max_train must be an integer >= 2, got -3"),
    ("saasbo", {"surrogate": {"name": "saas", "maxiter": "50"}}, "maxiter .or None.*got '50'"),
    ("saasbo", {"surrogate": {"name": "saas", "maxiter": 0}}, "maxiter .or None.*got 0"),
    ("saasbo", {"surrogate": {"name": "saas", "num_taus": 2.5}}, "num_taus must be an integer >= 1, got 2.5"),
    ("saasbo", {"surrogate": {"name": "saas", "num_taus": "4"}}, "num_taus must be an integer >= 1, got '4'"),
    ("saasbo", {"surrogate": {"name": "saas", "num_samples": 0}}, "num_samples must be an integer >= 1"),
    ("saasbo", {"surrogate": {"name": "saas", "warmup": -1}}, "warmup must be an integer >= 0"),
    ("saasbo", {"surrogate": {"name": "saas", "thinning": 1.5}}, "thinning must be an integer >= 1"),
])
def test_bad_surrogate_predictors_are_refused_at_construction(name, kwargs, message):
    kwargs = dict(kwargs)
    with pytest.raises(UsageError, match=message):
        get_strategy(name, kwargs.pop("space", NB201), seed=0, n_initial=3, **kwargs)


def test_failed_results_are_not_trained_on():
    strategy = get_strategy("gp_bo", NB201, seed=0, **FAST)
    for i in range(10):
        arch = strategy.ask()
        strategy.tell(arch, None if i % 2 else toy_score(NB201, arch))
    assert len(strategy.history) == 5 and not strategy.pending


# -- SAASBO (the 'bo' extra, installed by `make test`) --------------------------------------------
def test_saasbo_uses_map_saas_and_resumes_exactly():
    pytest.importorskip("botorch")
    from botorch.models import SingleTaskGP
    from botorch.models.fully_bayesian import SaasFullyBayesianSingleTaskGP

    reference = get_strategy("saasbo", NB201, seed=5, **FAST)  # refits every 5 results
    run(reference, 7)
    snapshot = reference.state_dict()
    expected = run(reference, 6)
    surrogate = reference.model()
    assert surrogate.inference == "map" and isinstance(surrogate._model, SingleTaskGP)
    assert not isinstance(surrogate._model, SaasFullyBayesianSingleTaskGP)
    resumed = get_strategy("saasbo", NB201, seed=999, **FAST)
    resumed.load_state_dict(snapshot)
    assert run(resumed, 6) == expected  # the model is rebuilt from the same data and seed


@pytest.mark.parametrize("space_name", sorted(SPACES))
def test_saasbo_on_every_space(space_name):  # DARTS: 81 non-constant one-hot columns after 12 results
    pytest.importorskip("botorch")
    space = SPACES[space_name]
    strategy = get_strategy("saasbo", space, seed=0, **FAST)
    archs = run(strategy, 12)
    for arch in archs:
        space.validate(arch)
    assert len({space.canonical_key(a) for a in archs}) == 12 and strategy.n_fits == 2


@pytest.mark.parametrize("spec", [{"name": "saas"}, {"name": "saas", "inference": "ensemble", "num_taus": 2}])
def test_saas_surrogate_fits_the_toy_landscape(spec):
    pytest.importorskip("botorch")
    model, held_out, y = fit_toy(spec)
    mean, std = model.predict(held_out)
    assert np.corrcoef(mean, y)[0, 1] > 0.9
    assert np.all(std > 0)
    assert [a.shape for a in model.predict([])] == [(0,), (0,)]
    mean[:] = 0.0  # callers own the arrays: the cache of the candidate list stays intact
    assert np.array_equal(model.predict(held_out)[0], model.predict(held_out)[0])
    assert np.corrcoef(model.predict(held_out)[0], y)[0, 1] > 0.9
    with pytest.raises(UsageError, match="saas surrogate: unknown inference 'hmc'"):
        make_surrogate({"name": "saas", "inference": "hmc"}, NB201)


@pytest.mark.slow
def test_saasbo_with_nuts_fits_and_proposes():  # one NUTS fit: about 25 s of CPU, mostly NumPyro compiling
    pytest.importorskip("botorch")
    from botorch.models.fully_bayesian import SaasFullyBayesianSingleTaskGP

    strategy = get_strategy("saasbo", NB201, seed=0, n_initial=4, surrogate={
        "name": "saas", "inference": "nuts", "warmup": 8, "num_samples": 8, "thinning": 4})
    archs = run(strategy, 6)
    assert strategy.n_fits >= 1 and len({NB201.canonical_key(a) for a in archs}) == 6
    assert isinstance(strategy.model()._model, SaasFullyBayesianSingleTaskGP)


# -- learning on the NAS-Bench-201 table -----------------------------------------------------------
def _table():
    from nasforge.benchmarks import load_nb201
    from nasforge.exceptions import MissingFileError

    try:
        return load_nb201()
    except MissingFileError as exc:
        pytest.skip(f"NAS-Bench-201 table not available: {exc}")


def _final_regrets(name, seeds, budget, **kwargs):
    from nasforge.analysis.harness import run_trace

    table = _table()
    optimum = table.optimum("val_acc", "maximize")
    return np.array([optimum - run_trace(table, name, seed, budget, "val_acc", **kwargs).values.max()
                     for seed in seeds])


def _assert_beats_random(name, seeds, budget, **kwargs):
    from scipy.stats import mannwhitneyu

    ours = _final_regrets(name, seeds, budget, **kwargs)
    rand = _final_regrets("random", seeds, budget)
    assert ours.mean() < 0.5 * rand.mean(), (ours, rand)
    assert mannwhitneyu(ours, rand, alternative="less").pvalue < 0.01, (ours, rand)


@pytest.mark.parametrize("name, seeds", [("gp_bo", 8), ("tpe", 12)])
def test_learns_on_the_nb201_table_fast(name, seeds):
    """60 evaluations per seed: gp_bo on 8 seeds (p = 1.3e-3, mean regret 0.26 of random's; each GP run costs
    about 1.4 s, 12 seeds gave p = 2e-4), tpe on 12 (p = 4e-5). 8 seeds of 40 evaluations were too few for
    gp_bo under the NB201 "network" rule: p = 0.02."""
    _assert_beats_random(name, range(seeds), 60)


def test_tpe_weighs_good_results_by_rank():
    """With 30 results and gamma 0.1 the 3 best are good; rank_power=1 weighs them 1 : 1/2 : 1/3 (rescaled to
    3 in all), rank_power=0 equally; the rest (``g``) is unweighted either way; a negative power is refused."""
    from nasforge.strategies.tpe import TPE

    archs = [NB201.sample(np.random.default_rng(i)) for i in range(30)]
    codes = categorical_codes(NB201, archs)
    densities = {}
    for power in (0.0, 1.0):
        tpe = TPE(NB201, seed=0, rank_power=power)
        for i, arch in enumerate(archs):
            tpe.tell(arch, float(i))  # the last arch is the best
        densities[power] = tpe._densities()
    weights = {0.0: np.ones(3), 1.0: np.array([1.0, 1 / 2, 1 / 3]) * 3 / (1 + 1 / 2 + 1 / 3)}
    for power, (l_dens, g_dens) in densities.items():
        for d, choices in enumerate(NB201.categorical_params().values()):
            k = len(choices)
            good = np.bincount(codes[[29, 28, 27], d], weights=weights[power], minlength=k) + 1 / k
            rest = np.bincount(codes[:27, d], minlength=k) + 1 / k
            np.testing.assert_allclose(l_dens[d], good / good.sum())
            np.testing.assert_allclose(g_dens[d], rest / rest.sum())
    assert any(not np.allclose(a, b) for a, b in zip(densities[0.0][0], densities[1.0][0]))
    with pytest.raises(ValueError, match="rank_power"):
        TPE(NB201, rank_power=-1)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bananas", "npenas", "smac"])
def test_learns_on_the_nb201_table(name):
    _assert_beats_random(name, range(10), 60)


@pytest.mark.slow
def test_saasbo_learns_on_the_nb201_table():  # MAP-SAAS starts slowly (mean regret 0.72 at 50, 0.19 at 100)
    pytest.importorskip("botorch")
    _assert_beats_random("saasbo", range(10), 100)


@pytest.mark.parametrize("name, saved, mine, message", [
    ("bananas", {"n_initial": 20}, {"n_initial": 5}, "saved with n_initial=20, this strategy has n_initial=5"),
    ("model_based", {"acquisition": "ei"}, {"acquisition": "ucb"},
     "acquisition='ExpectedImprovement(xi=0.0)', this strategy has acquisition='UpperConfidenceBound(beta=2.0)'"),
    ("model_based", {"acquisition": {"name": "ucb", "beta": 1.0}}, {"acquisition": "ucb"}, "beta=1.0"),
    ("gp_bo", {"refit_every": 3}, {}, "saved with refit_every=3, this strategy has refit_every=1"),
    ("npenas", {"optimizer": "local"}, {}, "LocalSearchOnAcquisition"),
    ("model_based", {"surrogate": "ensemble"}, {}, "surrogate_spec='ensemble', this strategy has surrogate_spec='gp'"),
])
def test_a_state_saved_with_other_settings_is_refused(name, saved, mine, message):
    """Would fail: the presets' **kwargs and the part objects were not compared, so the state was adopted."""
    state = get_strategy(name, "nb201", seed=0, **saved).state_dict()
    with pytest.raises(UsageError) as info:
        get_strategy(name, "nb201", seed=0, **mine).load_state_dict(state)
    assert message in str(info.value)
    get_strategy(name, "nb201", seed=0, **saved).load_state_dict(state)  # the same settings load


def test_a_point_predictor_with_an_exploring_acquisition_is_warned_about():
    """Would fail: lgb (std 0) with ei was accepted silently (its leave-one-out coverage is 0)."""
    import warnings

    from nasforge.strategies import get_strategy

    with pytest.warns(UserWarning, match="predictor 'lgb' gives no uncertainty .* acquisition 'ei' cannot explore"):
        get_strategy("model_based", "nb201", surrogate={"name": "predictor", "predictor": "lgb"}, acquisition="ei")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_strategy("model_based", "nb201", surrogate={"name": "predictor", "predictor": "lgb"}, acquisition="mean")
        get_strategy("model_based", "nb201", surrogate={"name": "predictor", "predictor": "rf"}, acquisition="ei")


def test_strategies_learning_refuses_merging_seeds_of_another_run(tmp_path):
    """--seed-start over a stored row of other --trials or --strategy-kwargs is refused, nothing replaced."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    stored = {"trials": 20, "strategy_kwargs": {}, "canonical_rule": "network", "per_seed": {"0": {}, "1": {}}}
    path = tmp_path / "strategies_learning_cifar10.json"
    path.write_text(json.dumps({"tpe": stored}))
    for extra, message in ((["--trials", "30"], "stored row ran 20 trials, not --trials 30"),
                           (["--trials", "20", "--canonical-rule", "nb201"], "canonical-rule 'network', not 'nb201'")):
        proc = subprocess.run([sys.executable, os.path.join(root, "benchmarks", "strategies_learning.py"),
                               "--strategies", "tpe", "--seed-start", "2", "--seeds", "1", "--out", str(tmp_path),
                               *extra], capture_output=True, text=True, env={**os.environ, "MPLBACKEND": "Agg"})
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
        assert json.loads(path.read_text()) == {"tpe": stored}
    sys.path.insert(0, os.path.join(root, "benchmarks"))
    try:
        from strategies_learning import merge_refusal
    finally:
        sys.path.pop(0)
    assert "strategy-kwargs {}, not {'n_initial': 5}" in merge_refusal("tpe+x", stored, 20, {"n_initial": 5}, "network")
    assert merge_refusal("tpe", stored, 20, {}, "network") is None
    assert merge_refusal("tpe", {"trials": 20}, 20, {"n_initial": 5}, "network") is None  # an older row: unknown
