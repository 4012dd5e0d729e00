"""Known objectives (costs computed from the architecture) in multi-objective BO: the ``known``
surrogate, the cost registry, ts_hvi and qnehvi with exact costs, resume, the study's settings."""

import numpy as np
import pytest

from nasforge.exceptions import UsageError
from nasforge.experiment import Study
from nasforge.spaces import get_space
from nasforge.strategies import available_strategies, get_strategy
from nasforge.strategies.mobo import ThompsonHVI
from nasforge.strategies.model_based import make_surrogate
from nasforge.strategies.model_based.costs import COSTS, ParameterCount, make_cost
from nasforge.strategies.model_based.surrogates import KnownSurrogate

SPACE = get_space("nb201")
REF = (-1.0, -60.0)
KNOWN = {"name": "known", "cost": "conv_proxy", "sign": -1}
SMALL = {"name": "ensemble", "predictor": "lgb", "n_members": 3, "n_estimators": 30, "num_leaves": 7,
         "min_child_samples": 2}


def _metrics(arch):
    """Accuracy-like score that grows with convolutions (3x3 on the first edges most); cost = conv proxy."""
    g = arch.genotype
    acc = sum((2.0 + 0.3 * i) * (op == "nor_conv_3x3") + (1.0 + 0.1 * i) * (op == "nor_conv_1x1")
              + 0.2 * (op == "skip_connect") for i, op in enumerate(g))
    return acc, 9.0 * g.count("nor_conv_3x3") + g.count("nor_conv_1x1")


def _run(strategy, n):
    for _ in range(n):
        arch = strategy.ask()
        acc, cost = _metrics(arch)
        strategy.tell(arch, (acc, -cost))
    return strategy


def test_known_surrogate_is_exact_and_cached():
    archs = [SPACE.sample(np.random.default_rng(i)) for i in range(20)]
    known = make_surrogate(KNOWN, SPACE).fit([], np.array([]), seed=0)
    assert isinstance(known, KnownSurrogate)
    mean, std = known.predict(archs)
    assert np.array_equal(mean, [-_metrics(a)[1] for a in archs]) and not std.any()
    assert np.array_equal(known.sample(archs, np.random.default_rng(0)), mean)
    assert "conv_proxy" in COSTS and "params" in COSTS
    assert make_cost(lambda a: 1.0, SPACE)(archs[0]) == 1.0
    with pytest.raises(UsageError, match="unknown architecture cost"):
        make_surrogate({"name": "known", "cost": "nope"}, SPACE)


def test_parameter_count_matches_the_network_and_is_built_once():
    from nasforge.models import create_model

    count = make_cost({"name": "params", "num_classes": 10, "scale": 1e-6}, SPACE)
    assert isinstance(count, ParameterCount)
    arch = SPACE.sample(np.random.default_rng(3))
    network = create_model("nb201", arch, num_classes=10)
    assert count(arch) == pytest.approx(sum(p.numel() for p in network.parameters()) / 1e6)
    assert make_cost({"name": "params", "num_classes": 10, "scale": 1e-6}, SPACE) is count


@pytest.mark.parametrize("space_name,kwargs", [("nb201", {}), ("nb201", {"C": 8, "N": 2}), ("darts", {"C": 8, "N": 1}),
                                               ("nb101", {}), ("proxylessnas", {})])
def test_counted_operations_give_the_built_networks_count(space_name, kwargs):
    """The count tallies operations instead of building them (OpParameterTally); it must equal the
    parameters of the real network for every built-in model, dead edges and reductions included."""
    from nasforge.models import create_model
    from nasforge.models.layers import OpParameterTally, make_op

    space = get_space(space_name)
    count = ParameterCount(space, num_classes=7, in_channels=1, **kwargs)
    for seed in range(25):
        arch = space.sample(np.random.default_rng(seed))
        network = create_model(count.model, arch, **count.kwargs)
        assert count.count(arch) == sum(p.numel() for p in network.parameters()), arch
    with OpParameterTally() as tally:
        assert not list(make_op("nor_conv_3x3", 4, 4).parameters()) and tally.total == 4 * 4 * 9 + 2 * 4
    assert list(make_op("nor_conv_3x3", 4, 4).parameters())  # a real op again outside the tally


def test_ts_hvi_uses_the_known_cost_and_beats_random():
    """Would fail if the known surrogate were ignored (the second model would not be exact) or if
    the model stopped guiding the search: a clearly larger mean hypervolume than random."""
    kwargs = {"n_initial": 6, "refit_every": 8, "surrogates": [None, KNOWN]}
    strategy = _run(ThompsonHVI(SPACE, seed=0, **kwargs), 12)
    models = strategy.models()
    assert isinstance(models[1], KnownSurrogate) and not isinstance(models[0], KnownSurrogate)
    ts = [_run(ThompsonHVI(SPACE, seed=s, **kwargs), 30).hypervolume(REF) for s in range(5)]
    rand = [_run(get_strategy("mo_random", SPACE, seed=s), 30).hypervolume(REF) for s in range(5)]
    assert np.mean(ts) > np.mean(rand) + 1.5 * np.std(rand) / np.sqrt(5)  # measured 590 vs 552 (sd 34)


def test_ts_hvi_rejects_a_wrong_number_of_surrogates():
    with pytest.raises(UsageError, match="2 objectives"):
        ThompsonHVI(SPACE, surrogates=[None, KNOWN, KNOWN])


@pytest.mark.parametrize("name,kwargs,setting", [
    ("qnehvi", {"reference": [0, 1, 2]}, "reference"),
    ("qnehvi", {"surrogates": [None, None, KNOWN]}, "surrogates"),
])
def test_per_objective_settings_of_another_length_are_refused_before_the_study_is_stored(tmp_path, name, kwargs,
                                                                                         setting):
    url = f"sqlite:///{tmp_path / 's.db'}"
    with pytest.raises(UsageError, match=rf"{setting}= of strategy '{name}' has 3 entries but the study has 2"):
        Study(SPACE, name, objectives=["acc", "cost"], directions=["maximize", "minimize"], seed=0, storage=url,
              **kwargs)
    assert _stored(url) == []


def _stored(url):
    from nasforge.experiment import get_storage

    return [s.name for s in get_storage(url).list_studies()]


def test_qnehvi_with_every_objective_known_picks_by_their_hypervolume():
    """Nothing to model: past the random start it proposes what adds the most exact hypervolume (no GP)."""
    strategy = get_strategy("qnehvi", SPACE, seed=0, n_initial=3, surrogates=[KNOWN, KNOWN])
    costs = []
    for _ in range(4):
        arch = strategy.ask()
        costs.append(_metrics(arch)[1])
        strategy.tell(arch, (-costs[-1], -costs[-1]))
    assert min(costs[:3]) > 0 and costs[3] == 0  # the cheapest architecture adds the most


@pytest.mark.parametrize("name", ["ts_hvi", "bananas", "smac"])
def test_a_bad_surrogate_encoding_fails_when_the_strategy_is_built(name):
    with pytest.raises(UsageError, match="unknown encoding 'bogus'.*functional"):
        get_strategy(name, SPACE, seed=0, surrogate={"name": "ensemble", "predictor": "lgb", "encoding": "bogus"})


@pytest.mark.parametrize("name,kwargs", [
    ("ts_hvi", {"n_initial": 4, "refit_every": 3, "surrogate": SMALL, "surrogates": [None, KNOWN]}),
    ("ts_hvi", {"n_initial": 4, "refit_every": 3, "surrogate": SMALL, "surrogates": [None, KNOWN], "gain": "pnd"}),
    ("ts_hvi", {"n_initial": 4, "refit_every": 3, "surrogates": [{"name": "residual", "base": SMALL}, KNOWN],
                "gain": "pnd"}),
    ("qnehvi", {"n_initial": 4, "refit_every": 4, "surrogates": [None, KNOWN]}),
])
def test_known_cost_strategies_resume_exactly_through_a_study(tmp_path, name, kwargs):
    """The settings (surrogate specs included) are recorded; a reloaded study continues identically."""
    url = f"sqlite:///{tmp_path / 's.db'}"

    def run(study, n):
        for _ in range(n):
            trial = study.ask()
            acc, cost = _metrics(trial.arch)
            study.tell(trial, {"acc": acc, "cost": cost})

    common = {"objectives": ["acc", "cost"], "directions": ["maximize", "minimize"], "seed": 5, **kwargs}
    whole = Study(SPACE, name, **common)
    run(whole, 10)
    first = Study(SPACE, name, name="mo", storage=url, **common)
    run(first, 7)
    del first
    again = Study.load("mo", url)
    run(again, 3)
    assert [t.arch for t in again.trials] == [t.arch for t in whole.trials]


def test_qnehvi_registered_and_state_dict_round_trip():
    assert "qnehvi" in available_strategies(multi_objective=True, model_based=True)
    strategy = _run(get_strategy("qnehvi", SPACE, seed=1, n_initial=4, surrogates=[None, KNOWN]), 8)
    clone = get_strategy("qnehvi", SPACE, seed=7, n_initial=4, surrogates=[None, KNOWN])
    clone.load_state_dict(strategy.state_dict())
    assert [clone.ask() for _ in range(3)] == [strategy.ask() for _ in range(3)]
    pending = [strategy.ask() for _ in range(3)]  # with running trials as X_pending: distinct proposals
    assert len({SPACE.canonical_key(a) for a in pending}) == 3
    with pytest.raises(UsageError, match="GP or takes them as 'known'"):
        get_strategy("qnehvi", SPACE, surrogates=[None, "ensemble"])


def test_qnehvi_without_botorch_is_refused_when_built(monkeypatch):
    """Would fail: it was built, then its first model-based ask raised a raw ModuleNotFoundError 'torch'."""
    import sys

    from nasforge.exceptions import MissingDependencyError

    monkeypatch.setitem(sys.modules, "botorch", None)  # not installed
    with pytest.raises(MissingDependencyError, match=r"^strategy 'qnehvi' needs botorch: pip install 'nasforge\[bo]'"):
        get_strategy("qnehvi", SPACE, seed=0, surrogates=[None, KNOWN])


def test_qnehvi_leaves_the_process_torch_thread_count_alone():
    """Would fail: a model-based ask set torch's thread count to 1 for the whole process."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        _run(get_strategy("qnehvi", SPACE, seed=1, n_initial=4, surrogates=[None, KNOWN]), 5)  # the 5th: the model
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_search_pipeline_passes_the_parameter_count_as_a_known_objective(tmp_path):
    """``nasforge search --strategy ts_hvi`` (or qnehvi) with a ``params`` objective: the study's strategy
    gets the deployed network's exact count, the one the search evaluator reports."""
    from nasforge.pipelines.search import SearchConfig, _evaluators, _known_objectives

    config = SearchConfig(strategy="ts_hvi", out=str(tmp_path)).resolved()
    space = get_space("nb201")
    evaluator = _evaluators(config, space)[0]
    kwargs = _known_objectives(config, space, evaluator)
    assert kwargs["surrogates"][0] is None and kwargs["surrogates"][1]["sign"] == -1.0
    assert kwargs["surrogates"][1]["metric"] == "params"  # so a "params <= X" constraint is screened
    known = make_surrogate(kwargs["surrogates"][1], space)
    arch = space.sample(np.random.default_rng(0))
    data = evaluator.dataset()
    from nasforge.models import create_model

    deployed = create_model(evaluator.model, arch, num_classes=data.num_classes, in_channels=data.in_channels,
                            **evaluator.deploy, **evaluator.model_kwargs)
    assert known.predict([arch])[0][0] == -sum(p.numel() for p in deployed.parameters())
    assert _known_objectives(SearchConfig(strategy="nsga2", out=str(tmp_path)).resolved(), space, evaluator) == {}


def test_known_screen_ranks_candidates_that_break_a_known_constraint_last():
    from nasforge.strategies.constraints import KnownScreen
    from nasforge.spaces.nb201 import conv_proxy

    archs = [SPACE.sample(np.random.default_rng(i)) for i in range(40)]
    screen = KnownScreen(["conv <= 9", "acc >= 3"], {"conv": conv_proxy})
    assert screen and [str(c) for c in screen.checks] == ["conv <= 9"]  # acc is not known: left to the study
    values = screen.wrap(lambda a: np.arange(len(a), dtype=float))(archs)
    cost = np.array([conv_proxy(a) for a in archs])
    assert (cost > 9).any() and (cost <= 9).any()
    assert values[cost > 9].max() < values[cost <= 9].min()
    assert np.array_equal(values[cost <= 9], np.flatnonzero(cost <= 9))  # feasible ones untouched
    worst = np.argmin(np.where(cost > 9, values, np.inf))
    assert cost[worst] == cost.max()  # among infeasible ones, the larger violation ranks lower
    assert not KnownScreen(["acc >= 3"], {"conv": conv_proxy})


@pytest.mark.parametrize("name,kwargs", [
    ("ts_hvi", {"n_initial": 6, "refit_every": 8, "surrogate": SMALL}),
    ("qnehvi", {"n_initial": 6, "refit_every": 8}),
])
def test_constraints_on_a_known_metric_are_checked_before_proposing(name, kwargs):
    """With ``metric`` on the known cost every proposal is feasible, the random starts included; without
    it (the constraint is only seen in the told scores) the strategy proposes infeasible cells: the
    check would fail if the screen were ignored."""
    from nasforge.strategies.constraints import constrain

    def proposals(known):
        strategy = get_strategy(name, SPACE, seed=3, constraints=["conv <= 10"], surrogates=[None, known], **kwargs)
        costs = []
        for _ in range(18):
            arch = strategy.ask()
            acc, cost = _metrics(arch)
            strategy.tell(arch, constrain((acc, -cost), {"conv": cost}, ["conv <= 10"]))
            costs.append(cost)
        return np.array(costs)

    assert (proposals({**KNOWN, "metric": "conv"}) <= 10).all()
    assert (proposals(KNOWN) > 10).any()


def test_known_screen_samples_feasible_random_starts():
    from nasforge.spaces.nb201 import conv_proxy
    from nasforge.strategies.constraints import KnownScreen

    rng = np.random.default_rng(0)
    screen = KnownScreen(["conv <= 1"], {"conv": conv_proxy})
    assert all(conv_proxy(screen.sample(SPACE, rng)) <= 1 for _ in range(20))
    impossible = KnownScreen(["conv <= -1"], {"conv": conv_proxy})  # nothing keeps it: the least violating
    assert conv_proxy(impossible.sample(SPACE, rng, tries=200)) == 0
    unchecked = KnownScreen([], {"conv": conv_proxy})
    assert unchecked.sample(SPACE, np.random.default_rng(3)) == SPACE.sample(np.random.default_rng(3))


def test_a_known_cost_needs_sign_1_or_minus_1():
    from nasforge.exceptions import UsageError
    from nasforge.strategies import get_strategy

    with pytest.raises(UsageError, match="sign must be 1 .* or -1 .*, got 2"):
        get_strategy("ts_hvi", SPACE, seed=0, surrogates=[None, {**KNOWN, "sign": 2}])


@pytest.mark.parametrize("space_name", ["darts", "nb101", "proxylessnas"])
def test_the_conv_proxy_cost_is_refused_outside_nb201(space_name):
    """Would fail: conv_proxy was silently 0 for every architecture of these spaces."""
    with pytest.raises(UsageError, match=f"cost 'conv_proxy' is NAS-Bench-201's FLOPs proxy.*{space_name!r}"):
        get_strategy("ts_hvi", space_name, seed=0, surrogates=[None, KNOWN])
