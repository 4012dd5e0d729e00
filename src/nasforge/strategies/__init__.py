"""Ask/tell search strategies; they know a SearchSpace, never an evaluator.

``STRATEGIES`` is a :class:`nasforge.registry.Registry`: each entry is a factory
``(space, seed=None, **kwargs) -> Strategy`` tagged ``multi_objective``, ``multi_fidelity``, ``model_based`` (a
learned surrogate), ``peer`` (another library's) and ``known_objectives`` (all False unless registered True), so
``STRATEGIES.names(multi_objective=True)`` lists what fits a study.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterable
from typing import Any

from ..exceptions import UsageError
from ..registry import Registry
from ..spaces import SearchSpace, as_space
from .base import Score, SpaceExhausted, Strategy
from .evolution import RegularizedEvolution
from .local_search import LocalSearch
from .model_based import GPBO, Bananas, ModelBasedStrategy, Npenas, Saasbo, Smac
from .multi_objective import MultiObjectiveEvolution, MultiObjectiveRandomSearch
from .mobo import ParEGO, ThompsonHVI
from .multi_fidelity import ASHA, BOHB, Hyperband
from .nsga2 import NSGA2
from .qnehvi import QNEHVI
from .random_search import GridSearch, RandomSearch
from .reinforce import Reinforce
from .tpe import TPE

STRATEGIES: Registry[Any] = Registry("strategy", multi_objective=False, multi_fidelity=False, model_based=False,
                                     peer=False, known_objectives=False)


def _optuna(sampler: str) -> Any:
    def build(space: SearchSpace, seed: int | None = None, **kwargs: Any) -> Strategy:
        from .optuna_adapter import OptunaStrategy  # optuna loads only when used

        given = kwargs.pop("sampler", sampler)  # a study records it: the same name is fine
        if given != sampler:
            raise UsageError(f"strategy 'optuna_{sampler}' runs Optuna's {sampler!r} sampler, got sampler={given!r}; "
                             "build OptunaStrategy(space, sampler=...) for another")
        return OptunaStrategy(space, seed=seed, sampler=sampler, **kwargs)
    return build


for _names, _factory, _tags in [
    (("random",), RandomSearch, {}),
    (("grid",), GridSearch, {}),
    (("evolution", "re"), RegularizedEvolution, {}),
    (("local_search", "ls"), LocalSearch, {}),
    (("tpe",), TPE, {"model_based": True}),
    (("reinforce",), Reinforce, {"model_based": True}),
    (("bananas",), Bananas, {"model_based": True}),
    (("npenas",), Npenas, {"model_based": True}),
    (("gp_bo",), GPBO, {"model_based": True}),
    (("saasbo",), Saasbo, {"model_based": True}),
    (("smac",), Smac, {"model_based": True}),
    (("model_based",), ModelBasedStrategy, {"model_based": True}),
    (("optuna_random",), _optuna("random"), {"peer": True}),
    (("optuna_tpe",), _optuna("tpe"), {"model_based": True, "peer": True}),
    (("mo_random",), MultiObjectiveRandomSearch, {"multi_objective": True}),
    (("mo_evolution", "mo_re"), MultiObjectiveEvolution, {"multi_objective": True}),
    (("nsga2",), NSGA2, {"multi_objective": True}),
    (("parego",), ParEGO, {"multi_objective": True, "model_based": True}),
    (("ts_hvi",), ThompsonHVI, {"multi_objective": True, "model_based": True, "known_objectives": True}),
    (("qnehvi",), QNEHVI, {"multi_objective": True, "model_based": True, "known_objectives": True}),
    (("hyperband",), Hyperband, {"multi_fidelity": True}),
    (("asha",), ASHA, {"multi_fidelity": True}),
    (("bohb",), BOHB, {"multi_fidelity": True, "model_based": True}),
]:
    for _name in _names:
        STRATEGIES.register(_name, _factory, builtin=True, **_tags)


def get_strategy(name: str, space: SearchSpace | str, seed: int | None = None, **kwargs: Any) -> Strategy:
    """Build a registered strategy by name (see :func:`available_strategies`) on ``space`` (a SearchSpace
    or a space name, see :func:`~nasforge.spaces.get_space`); a parameter the strategy does not take
    raises :class:`~nasforge.exceptions.UsageError`, as for every registry, and so does a factory returning anything
    but an initialised Strategy (:func:`checked_strategy`). ``constraints=`` None or ``[]`` means
    no constraints, which every strategy takes; actual constraints need a multi-objective strategy."""
    space = as_space(space)
    if "constraints" in kwargs and not STRATEGIES.tags(name)["multi_objective"] \
            and not _no_constraints(kwargs.pop("constraints")):  # None or an empty list: no constraints, taken by all
        raise UsageError(f"strategy {name!r} takes no constraints: constraints need a multi-objective strategy "
                         f"({', '.join(available_strategies(multi_objective=True))})")
    return checked_strategy(name, STRATEGIES.build({"name": name, "seed": seed, **kwargs}, space))


def checked_strategy(name: str, strategy: Any) -> Strategy:
    """``strategy``, built by the factory registered as ``name``, when it is an initialised Strategy; a UsageError
    naming the entry otherwise (as for a strategy object, before the first trial)."""
    if not isinstance(strategy, Strategy):
        raise UsageError(f"strategy {name!r}: its registered factory returned {type(strategy).__name__} "
                         f"{reprlib.repr(strategy)}, not a Strategy")
    check_initialised(strategy)
    return strategy


def check_initialised(strategy: Strategy) -> None:
    """A strategy object whose ``__init__`` skipped ``Strategy.__init__`` (which sets its space, seed and random
    generator) is refused in one line."""
    if not all(hasattr(strategy, attr) for attr in ("space", "seed", "rng")):
        raise UsageError(f"strategy {type(strategy).__name__} was not initialised: its __init__ must call "
                         "super().__init__(space, seed)")


def check_fresh(strategy: Strategy, what: str) -> None:
    """A strategy object that has already asked (tried by hand, or in another study) is refused in one line naming
    ``what`` (the study, or the load): a stored study replays its own trials into a fresh strategy, so one that has
    learnt others would not continue the same search, nor would any later load of the study. Tells alone do not
    count: a class whose constructor tells itself prior results makes every new object the same."""
    if strategy.n_asked:
        raise UsageError(f"{what}: the {type(strategy).__name__} object has already asked {strategy.n_asked} and "
                         f"been told {strategy.n_told} time(s); pass a fresh strategy object (a stored study replays "
                         "its own trials into it)")


def _no_constraints(value: Any) -> bool:
    """Whether a ``constraints=`` value says "no constraints": None or an empty list or tuple."""
    return value is None or (isinstance(value, (list, tuple)) and not value)


def check_single_fidelity(names: Iterable[str], option: str, reason: str, instead: str) -> None:
    """A ``UsageError`` naming ``option`` and those of ``names`` tagged ``multi_fidelity`` (names not registered
    are left to the registry) for an evaluation that cannot honour the budget they choose: ``reason`` says why
    (it follows "chooses a budget per evaluation (multi-fidelity),"), ``instead`` what to do."""
    multi = [name for name in names if name in STRATEGIES and STRATEGIES.tags(name)["multi_fidelity"]]
    if multi:
        verb = "chooses" if len(multi) == 1 else "choose"
        raise UsageError(f"{option}: {', '.join(multi)} {verb} a budget per evaluation (multi-fidelity), {reason}; "
                         f"{instead}")


def available_strategies(**tags: Any) -> list[str]:
    """Registered strategy names, optionally only those with matching tags (e.g. ``model_based=True``)."""
    return STRATEGIES.names(**tags)


__all__ = ["ASHA", "BOHB", "GPBO", "Hyperband", "NSGA2", "ParEGO", "QNEHVI", "STRATEGIES", "TPE", "Bananas", "GridSearch",
           "LocalSearch", "ModelBasedStrategy",
           "MultiObjectiveEvolution", "MultiObjectiveRandomSearch", "Npenas", "RandomSearch",
           "RegularizedEvolution", "Reinforce", "Saasbo", "Score", "Smac", "SpaceExhausted", "Strategy",
           "available_strategies", "check_fresh", "check_initialised", "check_single_fidelity", "checked_strategy",
           "get_strategy"]
