"""The object an evaluator reports its learning curve to (a leaf: evaluators import it without the engine).

An evaluator that can report declares a ``reporter`` keyword::

    from nasforge.evaluators.reporter import TrialPruned   # or: from nasforge.exceptions import ...

    def evaluate(self, arch, fidelity=None, reporter=None):
        for epoch in range(1, epochs + 1):   # step = epochs completed: the last report is at the budget
            ...
            if reporter is not None:
                reporter.report(epoch, val_acc)   # raises TrialPruned when the engine stops the trial
        return Result(metrics={...})
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

from ..exceptions import TrialPruned

Decide = Callable[[int, float], bool]
"""Given a new report (step, value), whether the trial should stop now."""


class Reporter:
    """Handed to an evaluator to report intermediate values of one trial.

    ``decide`` is the engine's pruning hook (None: never prune); in worker processes it also carries
    the report to the driver, which stores the curve.
    """

    def __init__(self, decide: Decide | None = None) -> None:
        self._decide = decide
        self.curve: list[tuple[int, float]] = []
        self.pruned = False

    def report(self, step: int, value: float) -> None:
        """Record ``value`` at ``step`` (a whole number, e.g. epochs completed; steps strictly increasing); raise
        TrialPruned if the trial must stop. A step that is no whole number (1.5, True, "1") is a ValueError: the
        stored curve is the one reported."""
        step, value = _whole(step), float(value)
        if self.curve and step <= self.curve[-1][0]:
            raise ValueError(f"report steps must increase: got step {step} after step {self.curve[-1][0]}")
        if math.isnan(value):
            raise ValueError(f"reported value at step {step} is NaN")
        self.curve.append((step, value))
        if self._decide is not None and self._decide(step, value):
            self.pruned = True
            raise TrialPruned(f"pruned at step {step} (value {value:g})")

    def should_prune(self) -> bool:
        """True once a report was answered with a stop (for evaluators that catch TrialPruned)."""
        return self.pruned


def _whole(step: object) -> int:
    """``step`` as an int: an integer, or a number with no fractional part (2.0, a 0-d array or tensor, a Decimal);
    a ValueError naming it otherwise (a bool, text, 1.5, inf)."""
    if isinstance(step, numbers.Integral) and not isinstance(step, bool):
        return int(step)
    kind = str(getattr(step, "dtype", type(step).__name__))  # a NumPy or torch bool is no step either
    if not isinstance(step, (bool, str, bytes)) and "bool" not in kind and getattr(step, "ndim", 0) == 0:
        try:
            value = float(step)  # a 0-d array or tensor, a Decimal, a Fraction
        except (TypeError, ValueError, RuntimeError):  # RuntimeError: a tensor of several elements
            value = math.nan
        if value.is_integer():
            return int(value)
    raise ValueError(f"report step must be a whole number (e.g. epochs completed), got {step!r}")


__all__ = ["Decide", "Reporter", "TrialPruned"]
