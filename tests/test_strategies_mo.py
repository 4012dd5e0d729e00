"""Multi-objective strategies: NSGA-II, ParEGO, constraints; learning, resume through SQLite, parallel asks."""

import json

import numpy as np
import pytest

from nasforge import pareto
from nasforge.exceptions import UsageError
from nasforge.experiment import Study
from nasforge.spaces import get_space
from nasforge.strategies import NSGA2, available_strategies, get_strategy
from nasforge.strategies.constraints import ConstrainedScore, Constraint, constrain, parse_constraints
from nasforge.strategies.mobo import (ParEGO, ThompsonHVI, chebyshev, hypervolume_improvement,
                                     probability_not_dominated)

SPACE = get_space("nb201")
REF = (-1.0, -60.0)


def _metrics(arch):
    """Two conflicting toy objectives with structure: accuracy-like grows with convolutions (3x3 on
    the first edges most), cost is the conv proxy."""
    g = arch.genotype
    acc = sum((2.0 + 0.3 * i) * (op == "nor_conv_3x3") + (1.0 + 0.1 * i) * (op == "nor_conv_1x1")
              + 0.2 * (op == "skip_connect") for i, op in enumerate(g))
    return {"acc": acc, "cost": 9.0 * g.count("nor_conv_3x3") + g.count("nor_conv_1x1")}


def _run(strategy, n, constraints=None):
    for _ in range(n):
        arch = strategy.ask()
        m = _metrics(arch)
        strategy.tell(arch, constrain((m["acc"], -m["cost"]), m, constraints))
    return strategy


def test_registered_with_tags():
    assert {"nsga2", "parego", "ts_hvi", "mo_random", "mo_evolution"} <= set(available_strategies(multi_objective=True))
    assert isinstance(get_strategy("nsga2", SPACE, seed=0), NSGA2)
    assert isinstance(get_strategy("parego", SPACE, seed=0), ParEGO)


def test_nsga2_beats_random_on_hypervolume_over_seeds():
    """Would fail if NSGA-II stopped learning: a clearly larger mean hypervolume than random at 80 evaluations."""
    nsga = [_run(NSGA2(SPACE, seed=s, population_size=12), 80).hypervolume(REF) for s in range(8)]
    rand = [_run(get_strategy("mo_random", SPACE, seed=s), 80).hypervolume(REF) for s in range(8)]
    assert np.mean(nsga) > np.mean(rand) + 2 * np.std(rand) / np.sqrt(8)
    assert sum(a > b for a, b in zip(nsga, rand)) >= 6


def test_nsga2_front_is_the_archives_non_dominated_set():
    strategy = _run(NSGA2(SPACE, seed=3, population_size=10), 60)
    points = np.array([s for _, s in strategy.archive])
    front = {tuple(s) for _, s in strategy.pareto_front()}
    assert front == {tuple(p) for p in points[pareto.pareto_front(points)]}
    assert len(strategy.population) == 10


def test_parallel_asks_are_distinct():
    for name, kwargs in [("nsga2", {"population_size": 6}), ("parego", {"n_initial": 4})]:
        strategy = _run(get_strategy(name, SPACE, seed=0, **kwargs), 8)
        pending = [strategy.ask() for _ in range(8)]  # 8 workers, nothing told yet
        assert len({SPACE.canonical_key(a) for a in pending}) == 8


def test_constraint_specs_parse_and_measure():
    c = Constraint.parse("params <= 1.5")
    assert (c.metric, c.op, c.bound) == ("params", "<=", 1.5)
    assert c.violation({"params": 1.0}) == 0.0 and c.violation({"params": 3.0}) == pytest.approx(1.0)
    assert Constraint.parse("acc >= 80").violation({"acc": 60}) == pytest.approx(0.25)
    assert c.violation({}) == 1.0
    assert len(parse_constraints("params <= 1, latency_ms <= 20")) == 2
    with pytest.raises(UsageError, match="bad constraint"):
        Constraint.parse("params < 1")
    with pytest.raises(UsageError, match="bad constraint"):
        NSGA2(SPACE, constraints=["params << 1"])
    score = constrain((1.0, -2.0), {"cost": 12.0}, ["cost <= 10"])
    assert isinstance(score, ConstrainedScore) and tuple(score) == (1.0, -2.0) and score.violation == pytest.approx(0.2)
    assert constrain(1.0, {}, None) == 1.0 and constrain(None, {}, ["cost <= 1"]) is None


def test_constrained_nsga2_front_is_feasible_and_it_searches_the_feasible_region():
    spec = ["cost <= 10"]
    strategy = _run(NSGA2(SPACE, seed=1, population_size=12, constraints=spec), 100, spec)
    assert all(_metrics(a)["cost"] <= 10 for a, _ in strategy.pareto_front())
    late = [a for a, _ in strategy.archive[-40:]]
    unconstrained = _run(NSGA2(SPACE, seed=1, population_size=12), 100)
    late_free = [a for a, _ in unconstrained.archive[-40:]]
    feasible = np.mean([_metrics(a)["cost"] <= 10 for a in late])
    assert feasible > np.mean([_metrics(a)["cost"] <= 10 for a in late_free]) and feasible >= 0.6


def test_chebyshev_prefers_balanced_points_and_parego_learns():
    points = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.6]])
    assert int(np.argmax(chebyshev(points, np.array([0.5, 0.5])))) == 2
    strategy = _run(ParEGO(SPACE, seed=0, n_initial=6, surrogate={"name": "gp", "kernel": "hamming",
                                                                   "max_opt_points": 30}), 24)
    rand = _run(get_strategy("mo_random", SPACE, seed=0), 24)
    assert strategy.hypervolume(REF) > rand.hypervolume(REF)


def test_hypervolume_improvement_matches_the_hypervolume_difference():
    rng = np.random.default_rng(0)
    front = pareto_points = rng.uniform(0, 10, size=(12, 2))
    front = pareto_points[pareto.pareto_front(pareto_points)]
    candidates = rng.uniform(0, 12, size=(40, 2))
    base = pareto.hypervolume(front, (1.0, 1.0))
    expected = [pareto.hypervolume(np.vstack([front, c]), (1.0, 1.0)) - base for c in candidates]
    assert np.allclose(hypervolume_improvement(front, candidates, (1.0, 1.0)), expected)


def test_probability_not_dominated_is_exact():
    """Matches a Monte Carlo estimate with both objectives uncertain, and is 0 or 1 when both are known."""
    rng = np.random.default_rng(1)
    points = rng.uniform(0, 10, size=(15, 2))
    front = points[pareto.pareto_front(points, ["maximize", "maximize"])]
    mean, std = rng.uniform(2, 11, size=(30, 2)), rng.uniform(0.2, 2.0, size=(30, 2))
    draws = mean + std * rng.standard_normal((40_000, 30, 2))
    dominated = ((front[:, 0] >= draws[..., 0, None]) & (front[:, 1] >= draws[..., 1, None])).any(-1)
    assert np.allclose(probability_not_dominated(front, mean, std), 1 - dominated.mean(0), atol=0.012)
    known = probability_not_dominated(front, mean, np.zeros_like(std))
    exact = ~((front[:, 0] >= mean[:, 0, None]) & (front[:, 1] >= mean[:, 1, None])).any(-1)
    assert np.array_equal(known, exact.astype(float))
    assert np.array_equal(probability_not_dominated(front[:0], mean, std), np.ones(30))


def _pnd_rank_of_proposal(gain, seed, n):
    """Rank, by probability of not being dominated, of a ts_hvi proposal among all unseen canonical
    forms (0 = the likeliest, up to the tie-break)."""
    from nasforge.strategies.model_based import unique_architectures

    known = {"name": "known", "cost": "conv_proxy", "sign": -1}
    small = {"name": "ensemble", "predictor": "lgb", "n_members": 3, "n_estimators": 30, "num_leaves": 7,
             "min_child_samples": 2}
    strategy = _run(ThompsonHVI(SPACE, seed=seed, n_initial=6, refit_every=100, surrogate=small,
                                surrogates=[None, known], gain=gain), n)
    archs = [a for a in unique_architectures(SPACE)[0] if SPACE.canonical_key(a) not in strategy._scores]
    models = strategy.models()  # the fit the next ask uses
    points, _ = strategy._points(strategy.archive)
    front = points[pareto.pareto_front(points, ["maximize", "maximize"])]
    mean, std = (np.column_stack(part) for part in zip(*(m.predict(archs) for m in models)))
    chance = probability_not_dominated(front, mean, std)
    proposal = archs.index(strategy.ask())
    return int((chance > chance[proposal] + 2e-3).sum())


def test_thompson_hvi_pnd_proposes_the_likeliest_new_front_point():
    """With ``gain="pnd"`` the proposal is (up to the 1e-3 tie-break) the unseen canonical form most
    likely not to be dominated; the hypervolume draw of the default gain proposes a less likely one
    (so this fails if the gain were ignored). An unknown gain is refused."""
    seeds = range(4)  # measured: the hypervolume draw picks a less likely cell on seed 1
    assert all(_pnd_rank_of_proposal("pnd", seed, 40) == 0 for seed in seeds)
    assert sum(_pnd_rank_of_proposal("hvi", seed, 40) > 0 for seed in seeds) >= 1
    with pytest.raises(UsageError, match="gain must be one of"):
        ThompsonHVI(SPACE, gain="most")


def test_probability_not_dominated_with_student_t_tails():
    """``df`` gives a candidate far below the front a larger chance than normal tails do (so a dropped
    ``df`` fails), the same chance for a known value, and approaches the normal one as ``df`` grows."""
    front = np.array([[10.0, -5.0], [8.0, -3.0]])
    mean, std = np.array([[6.0, -4.0], [9.0, -6.0], [11.0, -3.0]]), np.array([[0.5, 0.0], [0.5, 0.0], [0.5, 0.0]])
    normal = probability_not_dominated(front, mean, std)
    for df in (1, 3, 10):
        t = probability_not_dominated(front, mean, std, df)
        assert t[0] > 10 * normal[0] and t[0] > 1e-3  # 4 stds below: ~3e-5 with normal tails
        assert t[2] < normal[2] < 1  # far above: t tails leave more doubt
    assert np.allclose(probability_not_dominated(front, mean, std, 1e6), normal, atol=1e-6)
    known = np.zeros_like(std)
    exact = probability_not_dominated(front, mean, known)
    assert np.array_equal(probability_not_dominated(front, mean, known, 3), exact)


def test_thompson_hvi_tail_df_ranks_by_the_student_t_probability():
    """With ``tail_df`` every candidate is scored by its probability under Student-t tails (up to the
    1e-3 tie-break), not the normal one (fails if the option is ignored)."""
    from nasforge.strategies.model_based import unique_architectures
    from nasforge.strategies.model_based.optimizers import Exhaustive

    class Spy(Exhaustive):
        def propose(self, score, ctx, k=8):
            self.values = np.asarray(score(unique_architectures(ctx.space)[0]), dtype=float)
            return super().propose(score, ctx, k)

    known = {"name": "known", "cost": "conv_proxy", "sign": -1}
    small = {"name": "ensemble", "predictor": "lgb", "n_members": 3, "n_estimators": 30, "num_leaves": 7,
             "min_child_samples": 2}
    spy = Spy()
    strategy = _run(ThompsonHVI(SPACE, seed=0, n_initial=6, refit_every=100, surrogate=small, optimizer=spy,
                                surrogates=[None, known], gain="pnd", tail_df=1), 30)
    archs = unique_architectures(SPACE)[0]
    points, _ = strategy._points(strategy.archive)
    front = points[pareto.pareto_front(points, ["maximize", "maximize"])]
    mean, std = (np.column_stack(part) for part in zip(*(m.predict(archs) for m in strategy.models())))
    strategy.ask()
    t, normal = probability_not_dominated(front, mean, std, 1), probability_not_dominated(front, mean, std)
    assert np.abs(spy.values - t).max() < 2e-3
    assert np.abs(t - normal).max() > 0.05


@pytest.mark.parametrize("kwargs,message", [
    ({"gain": "pnd", "tail_df": 0}, "tail_df must be"), ({"gain": "pnd", "tail_df": "3"}, "tail_df must be"),
    ({"tail_df": 3}, "tail_df needs gain='pnd'")])
def test_thompson_hvi_refuses_bad_tail_settings(kwargs, message):
    known = {"name": "known", "cost": "conv_proxy", "sign": -1}
    with pytest.raises(UsageError, match=message):
        ThompsonHVI(SPACE, **{"surrogates": [None, known], **kwargs})


@pytest.mark.slow
def test_thompson_hvi_learns():
    """Would fail if the per-objective models stopped guiding the search: a larger mean hypervolume
    than random over 4 seeds (measured 596 vs 564)."""
    kwargs = {"n_initial": 8, "refit_every": 4}
    ts = [_run(ThompsonHVI(SPACE, seed=s, **kwargs), 32).hypervolume(REF) for s in range(4)]
    rand = [_run(get_strategy("mo_random", SPACE, seed=s), 32).hypervolume(REF) for s in range(4)]
    assert np.mean(ts) > np.mean(rand) + 15


@pytest.mark.parametrize("name,kwargs", [("nsga2", {"population_size": 6, "crossover_prob": 0.5}),
                                         ("ts_hvi", {"n_initial": 4, "refit_every": 3}),
                                         ("parego", {"n_initial": 4,
                                                     "surrogate": {"name": "gp", "max_opt_points": 20}}),
                                         ("mo_evolution", {"population_size": 6, "sample_size": 3})])
def test_exact_resume_through_study_with_sqlite(tmp_path, name, kwargs):
    """Killed after 10 trials and reloaded, the study continues with the same trials as an uninterrupted one."""
    url = f"sqlite:///{tmp_path / 's.db'}"

    def evaluate(arch):
        m = _metrics(arch)
        return {"acc": m["acc"], "cost": m["cost"]}

    def run(study, n):
        for _ in range(n):
            trial = study.ask()
            study.tell(trial, evaluate(trial.arch))

    whole = Study(SPACE, name, objectives=["acc", "cost"], directions=["maximize", "minimize"], seed=5, **kwargs)
    run(whole, 16)
    first = Study(SPACE, name, objectives=["acc", "cost"], directions=["maximize", "minimize"], seed=5,
                  name="mo", storage=url, **kwargs)
    run(first, 10)
    del first  # the process "dies": nothing but the database survives
    again = Study.load("mo", url)
    run(again, 6)
    assert [t.arch for t in again.trials] == [t.arch for t in whole.trials]
    front = again.pareto_front()
    assert front and all(t.state.value == "COMPLETE" for t in front)
    json.dumps(again.to_json())


def test_nsga2_state_dict_round_trip():
    strategy = _run(NSGA2(SPACE, seed=2, population_size=8), 20)
    clone = NSGA2(SPACE, seed=99, population_size=8)
    clone.load_state_dict(strategy.state_dict())
    assert [clone.ask() for _ in range(5)] == [strategy.ask() for _ in range(5)]


@pytest.mark.parametrize("name, reference, message", [
    ("ts_hvi", [0, 0, 0], "reference must have 2 values (one per objective), got 3: [0, 0, 0]"),
    ("ts_hvi", [0], "reference must have 2 values (one per objective), got 1"),
    ("ts_hvi", "abc", "reference must be a list of finite numbers (one per objective), got 'abc'"),
    ("ts_hvi", [0, float("nan")], "reference must be a list of finite numbers"),
    ("ts_hvi", [0, "1"], "reference must be a list of finite numbers"),
    ("ts_hvi", 3.0, "reference must be a list of finite numbers (one per objective), got 3.0"),
    ("qnehvi", [0], "reference must have at least 2 values (one per objective), got 1"),
    ("qnehvi", [0, True], "reference must be a list of finite numbers"),
])
def test_a_bad_reference_point_is_refused_at_construction(name, reference, message):
    with pytest.raises(UsageError) as info:
        get_strategy(name, SPACE, seed=0, n_initial=3, reference=reference)
    assert message in str(info.value)


def test_a_reference_point_of_another_length_than_the_scores_is_refused_at_the_first_tell():
    strategy = get_strategy("qnehvi", SPACE, seed=0, n_initial=3, reference=np.array([0, -100, 0]))
    assert strategy.reference == [0.0, -100.0, 0.0]
    arch = strategy.ask()
    with pytest.raises(UsageError, match=r"qnehvi: the reference point has 3 values but the score has 2 objectives"):
        strategy.tell(arch, (1.0, -2.0))
    assert strategy.n_told == 0 and strategy.archive == [] and strategy.told_width is None  # unchanged
    strategy.tell(arch, (1.0, -2.0, 0.5))
    assert strategy.n_told == 1
    fine = _run(get_strategy("ts_hvi", SPACE, seed=0, n_initial=3, reference=(-1, -100)), 5)
    assert fine.reference == [-1.0, -100.0] and len(fine.archive) == 5
