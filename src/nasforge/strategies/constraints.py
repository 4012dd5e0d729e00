"""Outcome constraints ("params <= 1.5") as first-class inputs of multi-objective strategies.

A strategy built with ``constraints=["params <= 1.5", "latency_ms <= 20"]`` keeps the specs (plain
strings, so a study records and rebuilds them); the study scores each result as a
:class:`ConstrainedScore`: the objective tuple plus the total violation of the constraints, measured
on the result's metrics. Strategies then rank feasible-first (see :mod:`nasforge.pareto`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..exceptions import UsageError

_SPEC = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*(<=|>=)\s*([-+0-9.eE]+)\s*$")


class ConstrainedScore(tuple):
    """Higher-is-better objective values with ``violation``: 0.0 when every constraint holds, else the
    sum of the relative amounts by which they are broken (a missing metric counts as violation 1)."""

    violation: float

    def __new__(cls, values: Sequence[float], violation: float = 0.0) -> ConstrainedScore:
        score = super().__new__(cls, (float(v) for v in values))
        score.violation = float(violation)
        return score

    def __reduce__(self) -> tuple[Any, ...]:
        return (ConstrainedScore, (tuple(self), self.violation))

    def __repr__(self) -> str:
        return f"ConstrainedScore({tuple(self)!r}, violation={self.violation:g})"


@dataclass(frozen=True)
class Constraint:
    """``metric <= bound`` or ``metric >= bound`` on a result's metrics."""

    metric: str
    op: str
    bound: float

    @classmethod
    def parse(cls, text: str) -> Constraint:
        match = _SPEC.match(text)
        if match is None:
            raise UsageError(f"bad constraint {text!r}; write it as 'METRIC <= NUMBER' or 'METRIC >= NUMBER'")
        try:
            bound = float(match.group(3))
        except ValueError:
            raise UsageError(f"bad bound in constraint {text!r}") from None
        return cls(match.group(1), match.group(2), bound)

    def violation(self, metrics: Mapping[str, float]) -> float:
        """0.0 when the constraint holds, else the excess relative to ``max(|bound|, 1e-12)``."""
        value = metrics.get(self.metric)
        if value is None or math.isnan(value):
            return 1.0
        excess = value - self.bound if self.op == "<=" else self.bound - value
        return max(0.0, excess) / max(abs(self.bound), 1e-12)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.bound:g}"


def parse_constraints(specs: Sequence[str] | str | None) -> list[Constraint]:
    """Constraints from strings like ``"params <= 1.5"`` (one string may hold several, comma-separated)."""
    if specs is None or (isinstance(specs, (str, list, tuple)) and not specs):
        return []
    if isinstance(specs, str):
        specs = [s for s in specs.split(",") if s.strip()]
    if not isinstance(specs, (list, tuple)) or not all(isinstance(s, str) for s in specs):
        raise UsageError(f"constraints must be a string or a list of strings such as 'params <= 1.5', got "
                         f"{specs!r:.100}; write each as 'METRIC <= NUMBER' or 'METRIC >= NUMBER'")
    return [Constraint.parse(s) for s in specs]


def check_satisfiable(constraints: Sequence[Constraint]) -> None:
    """``UsageError`` naming a constraint whose bound is not finite (``params >= 1e400`` overflows: its violation
    would be NaN), or two constraints on one metric whose bounds leave no value meeting both (``val_acc >= 50``
    and ``val_acc <= 40``): no trial could be feasible. Both sides are inclusive, so equal bounds hold together.
    Called where constraints are set, not where a stored study is loaded (it keeps what it recorded)."""
    for c in constraints:
        if not math.isfinite(c.bound):
            raise UsageError(f"bad bound in constraint '{c}': not a finite number (beyond +-1.8e308, a float "
                             "overflows); write a finite bound")
    lowest: dict[str, Constraint] = {}  # per metric: the tightest upper bound, the tightest lower bound
    highest: dict[str, Constraint] = {}
    for c in constraints:
        if c.op == "<=" and (c.metric not in lowest or c.bound < lowest[c.metric].bound):
            lowest[c.metric] = c
        if c.op == ">=" and (c.metric not in highest or c.bound > highest[c.metric].bound):
            highest[c.metric] = c
    for metric, lower in highest.items():
        upper = lowest.get(metric)
        if upper is not None and lower.bound > upper.bound:
            raise UsageError(f"constraints '{lower}' and '{upper}' cannot both hold: no {metric} is >= "
                             f"{lower.bound:g} and <= {upper.bound:g}")


def constrain(score: float | tuple[float, ...] | None, metrics: Mapping[str, float],
              specs: Sequence[str] | None) -> float | tuple[float, ...] | None:
    """``score`` with the violation of ``specs`` on ``metrics`` attached (unchanged without specs or score)."""
    if score is None or not specs:
        return score
    values = score if isinstance(score, tuple) else (score,)
    return ConstrainedScore(values, sum(c.violation(metrics) for c in parse_constraints(specs)))


def checked_violation(owner: str, score: ConstrainedScore) -> ConstrainedScore:
    """``score`` if its violation is a number >= 0 (0: feasible; inf: a constrained metric that is infinite, as
    :meth:`Constraint.violation` gives it), else a UsageError naming ``owner`` (NaN, negative)."""
    violation = score.violation
    if math.isnan(violation) or violation < 0:
        raise UsageError(f"{owner}: a violation must be a number >= 0 (0 when every constraint holds; inf for an "
                         f"infinite constrained metric), got {violation!r} in {score!r:.100}")
    return score


def violation_of(score: Any) -> float:
    """The violation carried by a score (0.0 for plain scores)."""
    return float(getattr(score, "violation", 0.0))


class KnownScreen:
    """The constraints a strategy can check before evaluating: those on metrics in ``known``
    (``metric -> function of the architecture``, e.g. an exact parameter count).

    :meth:`wrap` turns an acquisition into one that ranks every candidate breaking such a constraint
    below every candidate that keeps them (the least-violating first), so the strategy proposes an
    infeasible architecture only when no feasible one is left among the candidates; :meth:`sample`
    draws the random starts the same way.
    """

    def __init__(self, constraints: Sequence[str] | None, known: Mapping[str, Callable[[Any], float]]) -> None:
        self.checks = [c for c in parse_constraints(constraints) if c.metric in known]
        self.known = dict(known)
        self._cached: tuple[object, np.ndarray | None] = (None, None)

    def __bool__(self) -> bool:
        return bool(self.checks)

    def violation(self, archs: Sequence[Any]) -> np.ndarray:
        """Total violation of the known constraints per architecture (0 where all hold)."""
        if self._cached[0] is archs:  # the exhaustive candidate list is one object, reused every ask
            return self._cached[1]
        values = {m: np.array([self.known[m](a) for a in archs], dtype=float) for m in {c.metric for c in self.checks}}
        total = np.zeros(len(archs))
        for check in self.checks:
            total += [check.violation({check.metric: v}) for v in values[check.metric]]
        self._cached = (archs, total)
        return total

    def sample(self, space: Any, rng: Any, tries: int = 100) -> Any:
        """A random architecture of ``space`` that keeps the known constraints (of ``tries`` draws, the
        first that does, else the least violating)."""
        draws = []
        for _ in range(tries if self.checks else 1):
            draws.append(space.sample(rng))
            if not self.checks or self.violation(draws[-1:])[0] == 0:
                return draws[-1]
        return draws[int(np.argmin(self.violation(draws)))]

    def wrap(self, score: Callable[[Sequence[Any]], np.ndarray]) -> Callable[[Sequence[Any]], np.ndarray]:
        """``score`` with the candidates that break a known constraint ranked last (unchanged without checks)."""
        if not self.checks:
            return score

        def screened(archs: Sequence[Any]) -> np.ndarray:
            values = np.asarray(score(archs), dtype=float)
            violation = self.violation(archs)
            finite = values[np.isfinite(values)]
            floor = float(finite.min()) if finite.size else 0.0
            return np.where(violation > 0, floor - 1.0 - violation, values)

        return screened
