"""Trial-level early stopping from intermediate values: the median rule and successive halving (ASHA)."""

from __future__ import annotations

import statistics
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..exceptions import UsageError
from ..registry import Registry

Curve = Sequence[tuple[int, float]]


def _value_at(curve: Curve, step: int) -> float | None:
    for s, v in curve:
        if s == step:
            return v
    return None


class Pruner(ABC):
    """Decides, at each report, whether a trial should stop. Values are higher-is-better (the study
    flips minimized objectives); ``curves`` maps trial numbers to their reported curves so far,
    including the deciding trial's, whose last point is the new report."""

    name: str

    @abstractmethod
    def should_prune(self, number: int, curves: Mapping[int, Curve]) -> bool: ...

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """Constructor arguments, so a resumed study rebuilds the same pruner."""


class MedianPruner(Pruner):
    """Stop a trial whose best value so far is below the median of the other trials' values at the
    same step, once ``n_startup_trials`` others reached that step and after ``n_warmup_steps``."""

    name = "median"

    def __init__(self, n_startup_trials: int = 5, n_warmup_steps: int = 0) -> None:
        if n_startup_trials < 1 or n_warmup_steps < 0:
            raise UsageError(f"need n_startup_trials >= 1 and n_warmup_steps >= 0, "
                             f"got {n_startup_trials} and {n_warmup_steps}")
        self.n_startup_trials = n_startup_trials
        self.n_warmup_steps = n_warmup_steps

    def should_prune(self, number: int, curves: Mapping[int, Curve]) -> bool:
        curve = curves[number]
        step = curve[-1][0]
        if step < self.n_warmup_steps:
            return False
        others = [v for n, c in curves.items() if n != number and (v := _value_at(c, step)) is not None]
        if len(others) < self.n_startup_trials:
            return False
        return max(v for _, v in curve) < statistics.median(others)

    def config(self) -> dict[str, Any]:
        return {"n_startup_trials": self.n_startup_trials, "n_warmup_steps": self.n_warmup_steps}


class SuccessiveHalvingPruner(Pruner):
    """Asynchronous successive halving (ASHA, Li et al. 2020) as a stopping rule.

    Rungs sit at steps ``min_resource * reduction_factor**k``. A trial reaching a rung continues
    only if its value is within the top ``1/reduction_factor`` of all values recorded at that rung
    so far (at least the best one passes), once ``min_peers`` other trials reached the rung.
    """

    name = "asha"

    def __init__(self, min_resource: int = 1, reduction_factor: int = 3, min_peers: int = 0) -> None:
        if min_resource < 1 or reduction_factor < 2 or min_peers < 0:
            raise UsageError(f"need min_resource >= 1, reduction_factor >= 2, min_peers >= 0; got "
                             f"{min_resource}, {reduction_factor}, {min_peers}")
        self.min_resource = min_resource
        self.reduction_factor = reduction_factor
        self.min_peers = min_peers

    def is_rung(self, step: int) -> bool:
        rung = self.min_resource
        while rung < step:
            rung *= self.reduction_factor
        return rung == step

    def should_prune(self, number: int, curves: Mapping[int, Curve]) -> bool:
        step, value = curves[number][-1]
        if not self.is_rung(step):
            return False
        others = [v for n, c in curves.items() if n != number and (v := _value_at(c, step)) is not None]
        if len(others) < self.min_peers:
            return False
        competing = sorted(others + [value], reverse=True)
        keep = max(1, len(competing) // self.reduction_factor)
        return value < competing[keep - 1]

    def config(self) -> dict[str, Any]:
        return {"min_resource": self.min_resource, "reduction_factor": self.reduction_factor,
                "min_peers": self.min_peers}


PRUNERS: Registry[Callable[..., Pruner]] = Registry("pruner")
"""Pruner classes (or factories taking keyword settings) by name; a registered one also resumes by name."""
PRUNERS.register("median", MedianPruner)
PRUNERS.register("asha", SuccessiveHalvingPruner)


def get_pruner(spec: Pruner | str | Mapping[str, Any] | None) -> Pruner | None:
    """A pruner from an object, a name ("median", "asha") or ``{"name": ..., **kwargs}``; None: no pruning."""
    if spec is None or isinstance(spec, Pruner):
        return spec
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping):
        raise UsageError(f"pruner must be a name, a dict with a 'name' or a Pruner, got {type(spec).__name__}")
    kwargs = dict(spec)
    name = kwargs.pop("name", None)
    factory = PRUNERS.get(name)
    try:
        return factory(**kwargs)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"pruner {name!r}: {exc}") from None


def pruner_spec(pruner: Pruner | None) -> dict[str, Any] | None:
    """The JSON form ``get_pruner`` reads back."""
    return None if pruner is None else {"name": pruner.name, **pruner.config()}
