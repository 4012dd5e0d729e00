"""Fixes from the newcomer review 40: strategies' warm-up, search objectives and directions, messages."""

from __future__ import annotations

import pytest

from nasforge.spaces import get_space
from nasforge.strategies import get_strategy


@pytest.mark.parametrize("name", ["evolution", "mo_evolution", "nsga2"])
def test_warm_up_is_the_first_population_size_asks(name: str) -> None:
    """Duplicates ask rejects do not use up the warm-up: the first 20 asks are random search's 20 (item 1)."""
    space = get_space("nb201")
    for seed in range(20):
        strategy, random = get_strategy(name, space, seed=seed), get_strategy("random", space, seed=seed)
        for i in range(20):
            arch, expected = strategy.ask(), random.ask()
            assert space.canonical_key(arch) == space.canonical_key(expected), (seed, i)
            score = float(i % 7)
            strategy.tell(arch, score if name == "evolution" else (score, -float(i % 3)))
            random.tell(expected, score)
        assert strategy.n_random == 20
