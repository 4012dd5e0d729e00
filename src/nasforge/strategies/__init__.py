"""Ask/tell search strategies; they know a SearchSpace, never an evaluator."""

from __future__ import annotations

from typing import Any

from ..spaces import SearchSpace
from .base import Score, SpaceExhausted, Strategy
from .evolution import RegularizedEvolution
from .local_search import LocalSearch
from .multi_objective import MultiObjectiveEvolution, MultiObjectiveRandomSearch
from .random_search import GridSearch, RandomSearch

_REGISTRY: dict[str, Any] = {
    "random": RandomSearch,
    "grid": GridSearch,
    "evolution": RegularizedEvolution,
    "re": RegularizedEvolution,
    "local_search": LocalSearch,
    "ls": LocalSearch,
    "mo_random": MultiObjectiveRandomSearch,
    "mo_evolution": MultiObjectiveEvolution,
    "mo_re": MultiObjectiveEvolution,
}


def get_strategy(name: str, space: SearchSpace, seed: int | None = None, **kwargs: Any) -> Strategy:
    """Build a strategy by name: random, grid, evolution (re), local_search (ls), mo_random, mo_evolution
    (mo_re), optuna_random, optuna_tpe."""
    if name.startswith("optuna_"):
        from .optuna_adapter import OptunaStrategy

        return OptunaStrategy(space, seed=seed, sampler=name.removeprefix("optuna_"), **kwargs)
    if name not in _REGISTRY:
        raise ValueError(f"unknown strategy {name!r}; choose from {available_strategies()}")
    return _REGISTRY[name](space, seed=seed, **kwargs)


def available_strategies() -> list[str]:
    return sorted(_REGISTRY) + ["optuna_random", "optuna_tpe"]


__all__ = ["GridSearch", "LocalSearch", "MultiObjectiveEvolution", "MultiObjectiveRandomSearch", "RandomSearch",
           "RegularizedEvolution", "Score", "SpaceExhausted", "Strategy", "available_strategies", "get_strategy"]
