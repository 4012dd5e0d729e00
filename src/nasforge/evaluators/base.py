"""What every evaluator returns, and the evaluator interface."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..spaces import Architecture


@dataclass
class Result:
    """Outcome of evaluating one architecture: named metrics, cost in seconds, status.

    The engine checks a Result before storing it: metrics must be numbers, the cost a finite number of
    seconds >= 0 (None or NaN: unknown, stored as 0), the status one of "ok", "failed", "pruned"; a
    Result that breaks these makes its trial FAILED with the reason.

    ``user_attrs`` (JSON values, e.g. ``{"artifact": "runs/7/model.safetensors"}``) are stored with the trial by
    the experiment engine as JSON writes them (a key 0 as "0"; two keys of one dict written alike fail the trial)."""

    metrics: dict[str, float] = field(default_factory=dict)
    cost: float = 0.0
    status: str = "ok"  # "ok" | "failed" | "pruned"
    error: str | None = None
    intermediate: list[tuple[int, float]] = field(default_factory=list)
    user_attrs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def failed(cls, error: str, cost: float = 0.0) -> Result:
        """A failed outcome with its reason (the trial is stored FAILED with ``error``; the strategy sees None)."""
        return cls(status="failed", error=error, cost=cost)

    @property
    def ok(self) -> bool:
        """Whether the evaluation succeeded (status "ok")."""
        return self.status == "ok"

    def value(self, name: str) -> float:
        """One metric, with an error naming the metrics that exist."""
        try:
            value = float(self.metrics[name])
        except KeyError:
            raise KeyError(f"metric {name!r} not in result; available: {sorted(self.metrics)}") from None
        if math.isnan(value):
            raise ValueError(f"metric {name!r} is NaN")
        return value

    def to_json(self) -> dict[str, Any]:
        return {"metrics": dict(self.metrics), "cost": self.cost, "status": self.status, "error": self.error,
                "intermediate": [list(p) for p in self.intermediate], "user_attrs": dict(self.user_attrs)}


@runtime_checkable
class Evaluator(Protocol):
    """Turns an architecture (and an optional fidelity) into a Result (docs/engine.md, "Reporting intermediate
    values")."""

    def evaluate(self, arch: Architecture,
                 fidelity: dict[str, Any] | None = None) -> Result | dict[str, float] | float | Sequence[float]:
        """Evaluate ``arch`` at ``fidelity`` (e.g. ``{"epochs": 12}``; None: the evaluator's own). Return a
        :class:`Result`, a metrics dict, a number (one objective) or one number per objective, as ``Study.tell``
        takes. An ``evaluate(arch, fidelity=None, reporter=None)`` that also takes a ``reporter`` keyword gets one
        from the optimize loop: ``reporter.report(step, value)`` stores a learning curve and lets a pruner stop the
        trial (it raises ``TrialPruned``). An exception makes the trial FAILED with its text."""
        ...


class ArchNoise:
    """Noise generators of a noisy evaluator, one per architecture, seeded by ``(seed, architecture)``: a draw does
    not depend on which process (a worker, a Ray task) evaluates it or in what order, and evaluating an
    architecture again gives the same draw; ``seed=None`` picks a random seed, fixed when this is made."""

    def __init__(self, seed: int | None) -> None:
        self.entropy = int(np.random.SeedSequence().entropy if seed is None else seed)  # type: ignore[arg-type]

    def rng(self, arch: Architecture) -> np.random.Generator:
        """The generator of ``arch``: the same in every process."""
        digest = hashlib.sha256(json.dumps(arch.to_json(), sort_keys=True).encode()).digest()
        words = np.frombuffer(digest[:16], dtype=np.uint32).tolist()
        return np.random.default_rng(np.random.SeedSequence([self.entropy, *words]))
