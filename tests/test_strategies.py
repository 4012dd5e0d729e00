import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from nasforge.exceptions import NoStateError
from nasforge.spaces import NASBench201Space, get_space
from nasforge.strategies import (GridSearch, LocalSearch, RandomSearch, RegularizedEvolution, SpaceExhausted,
                                 available_strategies, get_strategy)

SPACE = NASBench201Space()
TRUE_BEST = SPACE.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")


def toy_score(arch):
    """A smooth synthetic landscape: number of 3x3 convs plus a small bonus for 1x1 convs."""
    return sum(op == "nor_conv_3x3" for op in arch.genotype) + 0.1 * sum(op == "nor_conv_1x1" for op in arch.genotype)


def run(strategy, n):
    archs = []
    for _ in range(n):
        arch = strategy.ask()
        strategy.tell(arch, toy_score(arch))
        archs.append(arch)
    return archs


OURS = ["random", "grid", "evolution", "local_search"]


@pytest.mark.parametrize("name", OURS + ["optuna_random", "optuna_tpe"])
def test_same_seed_same_sequence(name):
    a = run(get_strategy(name, SPACE, seed=11), 40)
    b = run(get_strategy(name, SPACE, seed=11), 40)
    assert a == b
    if name != "grid":
        assert run(get_strategy(name, SPACE, seed=12), 40) != a


@pytest.mark.parametrize("name", OURS)
def test_never_repeats_a_canonical_form(name):
    archs = run(get_strategy(name, SPACE, seed=0), 400)
    keys = [SPACE.canonical_key(a) for a in archs]
    assert len(set(keys)) == len(keys)


def test_dedup_can_be_switched_off():
    archs = run(RandomSearch(SPACE, seed=0, dedup=False), 3000)
    assert len({SPACE.canonical_key(a) for a in archs}) < len(archs)


def test_pending_proposals_are_not_proposed_again():
    strategy = RegularizedEvolution(SPACE, seed=0, population_size=5, sample_size=2)
    pending = [strategy.ask() for _ in range(200)]  # nothing told yet
    assert len({SPACE.canonical_key(a) for a in pending}) == 200


@pytest.mark.parametrize("name", OURS)
def test_state_dict_resumes_exactly(name):
    reference = get_strategy(name, SPACE, seed=5)
    run(reference, 30)
    snapshot = reference.state_dict()
    expected = run(reference, 30)
    resumed = get_strategy(name, SPACE, seed=999)
    resumed.load_state_dict(snapshot)
    assert run(resumed, 30) == expected


def test_local_search_climbs_to_the_toy_optimum():
    for mode in ("first", "best"):
        archs = run(LocalSearch(SPACE, seed=3, mode=mode), 300)
        assert TRUE_BEST in archs, mode
    with pytest.raises(ValueError, match="mode"):
        LocalSearch(SPACE, mode="steepest")


def test_local_search_restarts_at_local_optima():
    strategy = LocalSearch(SPACE, seed=0)
    for _ in range(200):  # constant landscape: every start is a local optimum
        strategy.tell(strategy.ask(), 1.0)
    assert strategy.n_restarts >= 2


def test_evolution_population_ages_and_crossover_is_valid():
    strategy = RegularizedEvolution(SPACE, seed=0, population_size=10, sample_size=3, crossover_prob=0.5)
    archs = run(strategy, 200)
    assert len(strategy.population) == 10
    assert strategy.population[-1][0] == archs[-1]
    for arch in archs:
        SPACE.check(arch)
    with pytest.raises(ValueError, match="sample_size"):
        RegularizedEvolution(SPACE, population_size=3, sample_size=5)


def test_failed_results_do_not_enter_the_population():
    strategy = RegularizedEvolution(SPACE, seed=0, population_size=4, sample_size=2)
    for _ in range(20):
        strategy.tell(strategy.ask(), None)
    assert strategy.population == []
    strategy.ask()  # still proposes


def test_grid_enumerates_everything_then_stops():
    strategy = GridSearch(SPACE, dedup=False)
    archs = [strategy.ask() for _ in range(SPACE.size)]
    assert len(set(archs)) == SPACE.size
    with pytest.raises(SpaceExhausted):
        strategy.ask()
    unique = GridSearch(SPACE, shuffle=True, seed=0)
    assert len([unique.ask() for _ in range(SPACE.count_unique())]) == 5_260
    with pytest.raises(SpaceExhausted):
        unique.ask()


def test_optuna_adapter_proposes_valid_archs_and_learns():
    strategy = get_strategy("optuna_tpe", SPACE, seed=0)
    archs = run(strategy, 60)
    assert all(a.space == "nb201" for a in archs)
    assert max(toy_score(a) for a in archs[30:]) >= max(toy_score(a) for a in archs[:10])
    deduped = get_strategy("optuna_random", SPACE, seed=0, dedup=True)
    keys = [SPACE.canonical_key(a) for a in run(deduped, 300)]
    assert len(set(keys)) == 300
    with pytest.raises(NoStateError, match="replaying"):  # a UsageError (one CLI line), and a TypeError as it was
        strategy.state_dict()


def test_optuna_seeds_beyond_32_bits_seed_the_sampler_modulo_2_32():
    """Would fail with Optuna's plain ValueError (a traceback in `nasforge search --seed 4294967296`)."""
    big, small = get_strategy("optuna_tpe", SPACE, seed=2**40 + 7), get_strategy("optuna_tpe", SPACE, seed=7)
    assert run(big, 12) == run(small, 12)


@pytest.mark.parametrize("kwargs, message", [
    ({"n_startup_trials": "x"}, "n_startup_trials must be an integer >= 0 (a setting of Optuna's TPESampler), got 'x'"),
    ({"n_startup_trials": -1}, "n_startup_trials must be an integer >= 0"),
    ({"multivariate": "yes"}, "multivariate must be None or bool"),
    ({"prior_weight": float("nan")}, "prior_weight must be None or float"),
    ({"bogus": 1}, "Optuna's TPESampler takes no setting 'bogus'"),
    ({"sampler": "random"}, "strategy 'optuna_tpe' runs Optuna's 'tpe' sampler, got sampler='random'"),
])
def test_optuna_sampler_settings_are_checked_at_construction(kwargs, message):
    """Would fail with a TypeError at the first ask (n_startup_trials="x") or none at all."""
    from nasforge.exceptions import UsageError

    with pytest.raises(UsageError) as info:
        get_strategy("optuna_tpe", SPACE, seed=0, **kwargs)
    assert message in str(info.value)


def test_a_study_of_an_optuna_strategy_object_records_its_settings(tmp_path):
    """Would fail: only {'dedup': False} was recorded, so the two-objective study could not be loaded and
    n_startup_trials=3 came back as Optuna's default 10."""
    from nasforge import Result, Study

    url = f"sqlite:///{tmp_path / 'o.db'}"
    strategy = get_strategy("optuna_tpe", SPACE, seed=1, n_objectives=2, n_startup_trials=3)
    study = Study(SPACE, strategy, objectives=["a", "b"], name="o", storage=url)
    assert study.record.strategy_config == {"dedup": False, "sampler": "tpe", "n_objectives": 2,
                                            "n_startup_trials": 3}
    study.optimize(lambda arch: Result(metrics={"a": toy_score(arch), "b": -toy_score(arch)}), n_trials=5)
    loaded = Study.load("o", url)
    assert loaded.strategy.n_objectives == 2 and loaded.strategy._study.sampler._n_startup_trials == 3
    assert [t.arch for t in loaded.trials] == [t.arch for t in study.trials]


def test_an_optuna_sampler_object_leaves_the_settings_incomplete():
    import optuna

    from nasforge.experiment.study import init_config
    from nasforge.strategies.optuna_adapter import OptunaStrategy

    assert init_config(OptunaStrategy(SPACE, seed=1, sampler=optuna.samplers.RandomSampler(seed=1))) is None


def test_unknown_strategy():
    assert {"random", "evolution", "local_search", "optuna_tpe"} <= set(available_strategies())
    with pytest.raises(ValueError, match="unknown strategy 'annealing'"):
        get_strategy("annealing", SPACE)
    with pytest.raises(ValueError, match=r"unknown strategy 'optuna_cmaes' \(did you mean 'optuna_tpe'\?\); "
                                         r"choose from .*optuna_tpe"):
        get_strategy("optuna_cmaes", SPACE)


def test_evolution_beats_random_on_nb201(nb201_table):
    """Over 30 fixed seeds, RE's regret after 100 evaluations is clearly below random search's."""
    values = nb201_table.values("val_acc")
    optimum = values.max()

    def final_regret(name, seed):
        strategy = get_strategy(name, nb201_table.space, seed=seed)
        best = -np.inf
        for _ in range(100):
            arch = strategy.ask()
            score = values[nb201_table.row(arch)]
            strategy.tell(arch, score)
            best = max(best, score)
        return optimum - best

    random_regret = [final_regret("random", s) for s in range(30)]
    evolution_regret = [final_regret("evolution", s) for s in range(30)]
    assert np.mean(random_regret) - np.mean(evolution_regret) > 0.3
    assert mannwhitneyu(evolution_regret, random_regret, alternative="less").pvalue < 0.01


@pytest.mark.parametrize("space_name", ["nb101", "darts", "proxylessnas"])
@pytest.mark.parametrize("make", [
    lambda s: RandomSearch(s, seed=3),
    lambda s: RegularizedEvolution(s, seed=3, population_size=8, sample_size=3, crossover_prob=0.5),
    lambda s: LocalSearch(s, seed=3),
    lambda s: LocalSearch(s, seed=3, mode="best"),
], ids=["random", "evolution", "ls_first", "ls_best"])
def test_strategies_run_on_every_space(space_name, make):
    """Valid, never-repeated, seed-determined proposals on every space, under a fixed random linear score."""
    space = get_space(space_name)
    weights = np.random.default_rng(0).normal(size=space.encode([space.sample(np.random.default_rng(0))]).shape[1])

    def search():
        strategy, asked = make(space), []
        for _ in range(40):
            arch = strategy.ask()
            space.check(arch)
            strategy.tell(arch, float(space.encode([space.canonical(arch)])[0] @ weights))
            asked.append(arch)
        return asked

    first = search()
    assert len({space.canonical_key(a) for a in first}) == len(first)
    assert search() == first


@pytest.mark.parametrize("name, kwargs, message", [
    ("tpe", {"gamma": 5}, "gamma must be in (0, 1), got 5"),
    ("tpe", {"n_initial": 0}, "n_initial must be an integer >= 1, got 0"),
    ("tpe", {"prior_weight": -1}, "prior_weight must be > 0, got -1"),
    ("tpe", {"max_good": 0}, "max_good must be an integer >= 1, got 0"),
    ("tpe", {"n_candidates": 0}, "n_candidates must be an integer >= 1, got 0"),
    ("tpe", {"rank_power": -0.5}, "rank_power must be >= 0, got -0.5"),
    ("nsga2", {"population_size": -3}, "population_size must be an integer >= 2, got -3"),
    ("nsga2", {"population_size": 2.5}, "population_size must be an integer >= 2, got 2.5"),
    ("nsga2", {"crossover_prob": 1.5}, "crossover_prob must be in [0, 1], got 1.5"),
    ("nsga2", {"extra_mutations": -1}, "extra_mutations must be >= 0, got -1"),
    ("evolution", {"population_size": 0}, "population_size must be an integer >= 1, got 0"),
    ("evolution", {"sample_size": 30}, "need 1 <= sample_size (30) <= population_size (20)"),
    ("evolution", {"crossover_prob": -0.1}, "crossover_prob must be in [0, 1], got -0.1"),
    ("mo_evolution", {"sample_size": 0}, "sample_size must be an integer >= 1, got 0"),
    ("local_search", {"mode": "worst"}, "mode must be 'first' or 'best'"),
    ("reinforce", {"baseline_decay": 2}, "baseline_decay must be in [0, 1], got 2"),
    ("reinforce", {"lr": -1}, "lr must be > 0, got -1"),
    ("reinforce", {"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
    ("reinforce", {"clip": -1}, "clip must be > 0, got -1"),
    ("reinforce", {"entropy_coef": -0.1}, "entropy_coef must be >= 0, got -0.1"),
    ("reinforce", {"ppo_epochs": 0}, "ppo_epochs must be an integer >= 1, got 0"),
    ("hyperband", {"eta": 2.5}, "eta must be an integer >= 2, got 2.5"),
    ("asha", {"min_budget": 0}, "min_budget must be > 0, got 0"),
    ("bohb", {"min_budget": 20, "max_budget": 12}, "need min_budget <= max_budget, got 20 and 12"),
    ("bohb", {"min_points_in_model": 0}, "min_points_in_model must be an integer >= 1, got 0"),
    ("bohb", {"gamma": 1.0}, "gamma must be in (0, 1), got 1.0"),
    ("bohb", {"random_fraction": 1.5}, "random_fraction must be in [0, 1], got 1.5"),
    ("bohb", {"n_candidates": 0}, "n_candidates must be an integer >= 1, got 0"),
    ("parego", {"rho": -1}, "rho must be >= 0, got -1"),
    ("parego", {"n_initial": 1}, "n_initial must be an integer >= 2, got 1"),
    ("ts_hvi", {"samples": 0}, "samples must be an integer >= 1, got 0"),
    ("ts_hvi", {"refit_every": 0}, "refit_every must be an integer >= 1, got 0"),
    ("qnehvi", {"max_train": 1}, "max_train must be an integer >= 2, got 1"),
    ("qnehvi", {"mc_samples": 0}, "mc_samples must be an integer >= 1, got 0"),
    ("qnehvi", {"max_baseline": 0}, "max_baseline must be an integer >= 1, got 0"),
    ("model_based", {"n_candidates": 0}, "n_candidates must be an integer >= 1, got 0"),
    ("bananas", {"refit_every": 0}, "refit_every must be an integer >= 1, got 0"),
    ("saasbo", {"n_initial": 1}, "n_initial must be an integer >= 2, got 1"),
    ("optuna_tpe", {"n_objectives": 0}, "n_objectives must be an integer >= 1, got 0"),
])
def test_bad_strategy_parameters_are_usage_errors(name, kwargs, message):
    from nasforge.exceptions import UsageError
    from nasforge.strategies import get_strategy

    with pytest.raises(UsageError) as info:  # the CLI turns these into one line and exit status 2
        get_strategy(name, SPACE, seed=0, **kwargs)
    assert message in str(info.value)


def _numeric_settings(name):
    """The constructor settings of a registered strategy whose default is a number (not a bool)."""
    import inspect

    from nasforge.strategies import STRATEGIES
    from nasforge.strategies.optuna_adapter import OptunaStrategy

    factory = STRATEGIES.get(name)
    settings = {}
    for cls in (factory if isinstance(factory, type) else OptunaStrategy).__mro__:
        init = cls.__dict__.get("__init__")
        for param in inspect.signature(init).parameters.values() if init else ():
            if isinstance(param.default, (int, float)) and not isinstance(param.default, bool):
                settings.setdefault(param.name, param.default)
    return settings


@pytest.mark.parametrize("name", available_strategies())
def test_every_numeric_setting_of_every_strategy_is_checked_at_construction(name):
    from nasforge.exceptions import UsageError

    for setting in _numeric_settings(name):
        for bad in ("1", float("nan"), True, [1]):
            with pytest.raises(UsageError) as info:
                get_strategy(name, SPACE, seed=0, **{setting: bad})
            assert f"{setting} must be" in str(info.value) and repr(bad) in str(info.value)
    get_strategy(name, SPACE, seed=0, **_numeric_settings(name))  # the defaults themselves pass


@pytest.mark.parametrize("name", available_strategies())
def test_every_bool_setting_of_every_strategy_is_a_bool(name):
    """Would fail: dedup="no" (a truthy string) ran with de-duplication on, grid's shuffle="yes" shuffled."""
    import inspect

    from nasforge.exceptions import UsageError
    from nasforge.strategies import STRATEGIES
    from nasforge.strategies.optuna_adapter import OptunaStrategy

    factory = STRATEGIES.get(name)
    flags = {p.name for cls in (factory if isinstance(factory, type) else OptunaStrategy).__mro__
             if "__init__" in cls.__dict__ for p in inspect.signature(cls.__dict__["__init__"]).parameters.values()
             if isinstance(p.default, bool)}
    assert "dedup" in flags
    for flag in flags:
        for bad in ("no", 1, None):
            with pytest.raises(UsageError, match=f"{flag} must be True or False, got {bad!r}"):
                get_strategy(name, SPACE, seed=0, **{flag: bad})


@pytest.mark.parametrize("bad", [3, "", None])
def test_a_fidelity_is_a_name(bad):
    """Would fail: fidelity=3 was taken (trials stored {3: 1}, read back as {'3': 1})."""
    from nasforge.exceptions import UsageError

    with pytest.raises(UsageError, match="fidelity must be the name of the budget"):
        get_strategy("hyperband", SPACE, seed=0, fidelity=bad)


def test_an_ensemble_bootstrap_is_a_bool():
    from nasforge.exceptions import UsageError

    with pytest.raises(UsageError, match="bootstrap must be True or False, got 'no'"):
        get_strategy("model_based", SPACE, seed=0, surrogate={"name": "ensemble", "bootstrap": "no"})


def _part_settings():
    """(kind, part name, setting) for every numeric setting of a registered acquisition and optimizer."""
    import inspect

    from nasforge.strategies.model_based.acquisitions import ACQUISITIONS
    from nasforge.strategies.model_based.optimizers import OPTIMIZERS

    out = []
    for kind, registry in (("acquisition", ACQUISITIONS), ("optimizer", OPTIMIZERS)):
        for part in registry.names():
            for param in inspect.signature(registry.get(part)).parameters.values():
                if isinstance(param.default, (int, float)) and not isinstance(param.default, bool):
                    out.append((kind, part, param.name))
    return out


@pytest.mark.parametrize("kind, part, setting", _part_settings())
def test_every_numeric_setting_of_acquisitions_and_optimizers_is_checked_at_construction(kind, part, setting):
    """Would fail if a bad acquisition/optimizer setting got through get_strategy (it failed at a later ask)."""
    from nasforge.exceptions import UsageError

    for bad in ("1", float("nan"), True, [1], -1):
        with pytest.raises(UsageError) as info:
            get_strategy("model_based", SPACE, seed=0, **{kind: {"name": part, setting: bad}})
        assert f"{setting} must be" in str(info.value) and repr(bad) in str(info.value)


def test_the_local_optimizer_needs_a_start():
    from nasforge.exceptions import UsageError

    with pytest.raises(UsageError, match="n_starts \\+ n_random >= 1"):
        get_strategy("smac", SPACE, seed=0, optimizer={"name": "local", "n_starts": 0, "n_random": 0})


@pytest.mark.parametrize("name, objectives, message", [
    ("evolution", ["val_acc", "params"], "strategy 'evolution' handles 1 objective(s), got 2 (val_acc, params); "
                                         "for several objectives use a multi-objective strategy"),
    ("ts_hvi", ["val_acc"], "strategy 'ts_hvi' handles 2 objective(s), got 1 (val_acc)"),
    ("qnehvi", ["val_acc"], "strategy 'qnehvi' handles at least 2 objective(s), got 1"),
])
def test_a_study_refuses_a_strategy_that_cannot_handle_its_objectives(name, objectives, message, tmp_path):
    from nasforge.exceptions import UsageError
    from nasforge.experiment import Study
    from nasforge.experiment.storage import get_storage

    url = f"sqlite:///{tmp_path / 's.db'}"
    with pytest.raises(UsageError) as info:
        Study(SPACE, name, objectives=objectives, directions=["maximize"] * len(objectives), name="s", storage=url)
    assert message in str(info.value)
    assert get_storage(url).list_studies() == []  # refused before anything was stored
    for fine in (["val_acc"], ["val_acc", "params"]):  # random search reads no scores: any number
        Study(SPACE, "random", objectives=fine, directions=["maximize"] * len(fine), name=f"r{len(fine)}")


@pytest.mark.parametrize("name", ["evolution", "mo_evolution"])
def test_a_strategy_whose_children_keep_failing_still_proposes_new_architectures(name):
    """Only three evaluations succeed: evolution's three parents run out of untried children after about
    40 asks, and uniform samples then take over instead of a false "space exhausted"."""
    strategy = get_strategy(name, NASBench201Space(), seed=0)
    keys = set()
    for n in range(300):
        arch = strategy.ask()
        keys.add(strategy.space.canonical_key(arch))
        score = (float(n), -float(n)) if name == "mo_evolution" else float(n)
        strategy.tell(arch, score if n < 3 else None)
    assert len(keys) == 300 and strategy.stuck


def test_an_enumerable_space_used_up_is_known_without_proposing():
    space = get_space("chain", layers=[["conv3", "conv5", "skip"], ["skip", "conv3"]])
    strategy = get_strategy("evolution", space, seed=0, population_size=2, sample_size=1)
    calls = []
    real = strategy._propose
    strategy._propose = lambda: calls.append(1) or real()
    for _ in range(6):
        strategy.tell(strategy.ask(), None)
    calls.clear()
    with pytest.raises(SpaceExhausted, match="all 6 distinct architectures"):
        strategy.ask()
    assert calls == []


def _snapshot(strategy):
    """The strategy's state, comparable (the random generator by its state)."""
    state = strategy.state_dict()
    return repr({**state, "rng": state["rng"].bit_generator.state})


def _told(strategy, n=3):
    for _ in range(n):
        strategy.tell(strategy.ask(), 1.0)
    return strategy


@pytest.mark.parametrize("target, state, message", [
    (lambda: RegularizedEvolution(SPACE, seed=0, population_size=50), None,
     "saved with population_size=5, this strategy has population_size=50"),
    (lambda: RegularizedEvolution(get_space("chain", layers=[["a", "b"], ["x", "y"]]), seed=0, population_size=5,
                                  sample_size=2), None, "space 'nb201', not on 'chain'"),
    (lambda: RegularizedEvolution(get_space("nb201", canonical_rule="functional"), seed=0, population_size=5), None,
     "on space 'nb201' with other options"),
    (lambda: get_strategy("tpe", SPACE, seed=0), None, "saved by a RegularizedEvolution strategy, not a TPE"),
    (lambda: get_strategy("tpe", SPACE, seed=0), {"x": 1}, "not a strategy state from state_dict()"),
    (lambda: get_strategy("tpe", SPACE, seed=0), "state", "a strategy state is the dict state_dict() returns"),
])
def test_load_state_dict_refuses_a_state_of_another_strategy_space_or_settings(target, state, message):
    from nasforge.exceptions import UsageError

    saved = _told(RegularizedEvolution(SPACE, seed=0, population_size=5)).state_dict()
    strategy = target()
    before = _snapshot(strategy)
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        strategy.load_state_dict(saved if state is None else None if state == "state" else state)
    assert _snapshot(strategy) == before  # nothing taken over
    unknown = {**saved, "extra": 1}
    with pytest.raises(UsageError, match=r"unknown key\(s\) \['extra'\]"):
        RegularizedEvolution(SPACE, seed=0, population_size=5).load_state_dict(unknown)


@pytest.mark.parametrize("name, kwargs, bad, message", [
    ("evolution", {}, "abc", "a score must be a finite number"),
    ("evolution", {}, float("nan"), "a score must be a finite number"),
    ("evolution", {}, float("inf"), "a score must be a finite number"),
    ("evolution", {}, True, "a score must be a finite number"),
    ("tpe", {}, (1.0, 2.0), "strategy 'tpe' handles one objective, got a score of 2 value(s)"),
    ("ts_hvi", {"n_initial": 2}, (1.0, 2.0, 3.0), "strategy 'ts_hvi' handles 2 objectives, got a score of 3"),
    ("ts_hvi", {"n_initial": 2}, 1.0, "strategy 'ts_hvi' handles 2 objectives, got a score of 1"),
    ("mo_random", {}, (1.0, 2.0, 3.0), "the scores told so far had 2 value(s), got 3"),
])
def test_tell_refuses_a_bad_score_and_changes_nothing(name, kwargs, bad, message):
    from nasforge.exceptions import UsageError

    strategy = get_strategy(name, SPACE, seed=0, **kwargs)
    width = 2 if name in ("ts_hvi", "mo_random") else 1
    for _ in range(3):
        arch = strategy.ask()
        strategy.tell(arch, tuple(toy_score(arch) + i for i in range(width)) if width > 1 else toy_score(arch))
    arch = strategy.ask()
    before = _snapshot(strategy)
    with pytest.raises(UsageError) as info:
        strategy.tell(arch, bad)
    assert message in str(info.value)
    assert _snapshot(strategy) == before
    strategy.tell(arch, None)  # a failed evaluation is still told as None
    for _ in range(3):  # and the strategy goes on
        arch = strategy.ask()
        strategy.tell(arch, tuple(toy_score(arch) + i for i in range(width)) if width > 1 else toy_score(arch))


@pytest.mark.parametrize("name", ["evolution", "random", "grid", "local_search", "tpe", "reinforce", "bananas",
                                  "hyperband"])
def test_tell_refuses_an_architecture_not_of_the_space_and_changes_nothing(name):
    from nasforge.exceptions import UsageError
    from nasforge.spaces import Architecture

    strategy, twin = get_strategy(name, SPACE, seed=0), get_strategy(name, SPACE, seed=0)
    run(strategy, 3), run(twin, 3)
    for bad, message in [(Architecture("nb201", ("x",) * 6), "unknown NAS-Bench-201 operation"),
                         (get_space("nb101").sample(0), "belongs to space 'nb101', not 'nb201'"),
                         (SPACE.format(TRUE_BEST), "expected an Architecture, got str")]:
        with pytest.raises(UsageError, match=message):
            strategy.tell(bad, 99.0)
    assert strategy.n_told == 3 and strategy.known_score(TRUE_BEST) is None
    assert run(strategy, 5) == run(twin, 5)  # it goes on as if never told


def test_a_strategy_repr_shows_the_settings_that_differ_from_the_defaults():
    assert repr(get_strategy("evolution", SPACE, seed=1)) == "RegularizedEvolution(space='nb201', seed=1)"
    assert repr(get_strategy("evolution", SPACE, seed=1, population_size=7)) == \
        "RegularizedEvolution(space='nb201', seed=1, population_size=7)"
    assert repr(get_strategy("nsga2", SPACE, constraints=["params <= 3"])) == \
        "NSGA2(space='nb201', seed=None, constraints=['params <= 3'])"


def test_get_strategy_takes_a_space_name_and_refuses_anything_else():
    from nasforge.exceptions import UsageError

    assert get_strategy("tpe", "nb201", seed=0).space.name == "nb201"
    assert run(get_strategy("random", "nb201"), 2)
    for bad in (None, 3):
        with pytest.raises(UsageError, match="space must be a SearchSpace or a space name"):
            get_strategy("tpe", bad, seed=0)


def test_constraints_on_a_single_objective_strategy_name_the_strategies_that_take_them():
    from nasforge.exceptions import UsageError
    from nasforge.experiment import Study

    with pytest.raises(UsageError, match="strategy 'tpe' takes no constraints: constraints need a multi-objective "
                                         r"strategy \(.*nsga2.*ts_hvi"):
        Study(SPACE, "tpe", objectives="val_acc", constraints=["params <= 3"])


def test_ts_hvi_with_surrogates_for_three_objectives_names_the_objective_count():
    from nasforge.exceptions import UsageError

    with pytest.raises(UsageError, match="strategy 'ts_hvi' handles 2 objectives, got 3"):
        get_strategy("ts_hvi", SPACE, seed=0, surrogates=[None, None, None])
