"""Multi-objective strategies: random search and regularized evolution with Pareto tournaments."""

import numpy as np
import pytest

from nasforge.analysis.pareto import hypervolume
from nasforge.spaces import get_space
from nasforge.strategies import MultiObjectiveEvolution, MultiObjectiveRandomSearch, get_strategy

SPACE = get_space("nb201")


def _scores(arch):
    """Two conflicting toy objectives: 'accuracy' grows with convolutions, 'cost' too (negated)."""
    g = arch.genotype
    acc = 2 * g.count("nor_conv_3x3") + g.count("nor_conv_1x1") + 0.1 * g.count("skip_connect")
    return acc, -(9.0 * g.count("nor_conv_3x3") + g.count("nor_conv_1x1"))


def _run(strategy, n):
    for _ in range(n):
        arch = strategy.ask()
        strategy.tell(arch, _scores(arch))
    return strategy


@pytest.mark.parametrize("name,cls", [("mo_random", MultiObjectiveRandomSearch),
                                      ("mo_evolution", MultiObjectiveEvolution), ("mo_re", MultiObjectiveEvolution)])
def test_registered(name, cls):
    assert isinstance(get_strategy(name, SPACE, seed=0), cls)


@pytest.mark.parametrize("cls", [MultiObjectiveRandomSearch, MultiObjectiveEvolution])
def test_archive_front_is_non_dominated_and_complete(cls):
    strategy = _run(cls(SPACE, seed=0), 80)
    front = strategy.pareto_front()
    told = [s for _, s in strategy.archive]
    assert len(told) == 80
    for _, s in front:
        assert not any(all(o >= v for o, v in zip(t, s)) and t != s for t in told)
    dominated = [s for s in told if s not in [f for _, f in front]]
    assert all(any(all(f >= v for f, v in zip(fs, s)) for _, fs in front) for s in dominated)
    assert strategy.hypervolume((-1.0, -60.0)) == hypervolume(np.array(told), (-1.0, -60.0))


def test_failed_trials_are_ignored_and_state_round_trips():
    strategy = MultiObjectiveEvolution(SPACE, seed=1, population_size=6, sample_size=3)
    for i in range(12):
        arch = strategy.ask()
        strategy.tell(arch, None if i % 4 == 0 else _scores(arch))
    assert len(strategy.archive) == 9 and len(strategy.population) == 6
    clone = MultiObjectiveEvolution(SPACE, seed=99, population_size=6, sample_size=3)
    clone.load_state_dict(strategy.state_dict())
    assert [clone.ask() for _ in range(5)] == [strategy.ask() for _ in range(5)]


def test_evolution_beats_random_on_hypervolume():
    """Pareto tournaments spread along the front: on average across seeds, a larger hypervolume than random."""
    ref = (-1.0, -60.0)
    evo = np.mean([_run(MultiObjectiveEvolution(SPACE, seed=s, population_size=10, sample_size=4), 60)
                   .hypervolume(ref) for s in range(6)])
    rand = np.mean([_run(MultiObjectiveRandomSearch(SPACE, seed=s), 60).hypervolume(ref) for s in range(6)])
    assert evo > rand


def test_evolution_rejects_bad_sizes():
    with pytest.raises(ValueError, match="sample_size"):
        MultiObjectiveEvolution(SPACE, population_size=3, sample_size=5)
