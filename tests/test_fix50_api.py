"""Fixes from the review of the Python API (round 50)."""
from __future__ import annotations

import pytest

from nasforge import Study, UsageError, get_space
from nasforge.strategies import RegularizedEvolution


@pytest.mark.parametrize("kwargs, match", [
    ({"storag": "sqlite:///x.db"}, r"\['storag'\].*did you mean storage=\?"),
    ({"objective": "params", "directions": "minimize"}, r"\['objective'\].*did you mean objectives=\?"),
    ({"population_size": 5}, r"\['population_size'\].*RegularizedEvolution\(\.\.\.\) itself"),
])
def test_study_with_strategy_object_refuses_extra_keywords(kwargs, match):
    space = get_space("nb201")
    with pytest.raises(UsageError, match=match):
        Study(space, RegularizedEvolution(space, seed=0), **kwargs)
