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
from collections.abc import Callable

from ..checks import is_int
from ..exceptions import TrialPruned, UsageError

Decide = Callable[[int, float], bool]
"""Given a new report (step, value), whether the trial should stop now."""


class Reporter:
    """Handed to an evaluator to report intermediate values of one trial.

    ``decide`` is the engine's pruning hook (None: never prune); in worker processes it also carries
    the report to the driver, which stores the curve.
    """

    def __init__(self, decide: Decide | None = None) -> None:
        if decide is not None and not callable(decide):
            raise UsageError(f"decide must be a callable f(step, value) -> bool or None, got {type(decide).__name__} "
                             f"{decide!r}")
        self._decide = decide
        self.curve: list[tuple[int, float]] = []
        self.pruned = False

    def report(self, step: int, value: float) -> None:
        """Record ``value`` at ``step`` (a whole number, e.g. epochs completed; steps strictly increasing); raise
        TrialPruned if the trial must stop. A step that is no whole number (1.5, True, "1"), a step that does not
        increase or a value that is no number (text, None) is a UsageError (a ValueError; misuse, so a study's run
        stops at its first trial with it): the stored curve is the one reported. A NaN value is a plain ValueError:
        it fails the trial (e.g. a diverged training) and the run goes on."""
        step = _whole(step)
        value = _number(step, value)
        if self.curve and step <= self.curve[-1][0]:
            raise UsageError(f"report steps must increase: got step {step} after step {self.curve[-1][0]}")
        if math.isnan(value):
            raise ValueError(f"reported value at step {step} is NaN")
        self.curve.append((step, value))
        if self._decide is not None and self._decide(step, value):
            self.pruned = True
            raise TrialPruned(f"pruned at step {step} (value {value:g})")

    def should_prune(self) -> bool:
        """True once a report was answered with a stop (for evaluators that catch TrialPruned)."""
        return self.pruned


def _number(step: int, value: object) -> float:
    """``value`` as a float: a number, a 0-d array or tensor; a UsageError naming it and ``step`` otherwise (a bool,
    text, None)."""
    if not isinstance(value, (bool, str, bytes)):
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError, RuntimeError, OverflowError):  # RuntimeError: a tensor of several elements
            pass
    raise UsageError(f"reported value at step {step} must be a number, got {type(value).__name__} {value!r:.60}")


def _whole(step: object) -> int:
    """``step`` as an int: an integer, or a number with no fractional part (2.0, a 0-d array or tensor, a Decimal);
    a UsageError naming it otherwise (a bool, text, 1.5, inf)."""
    if is_int(step):
        return int(step)
    kind = str(getattr(step, "dtype", type(step).__name__))  # a NumPy or torch bool is no step either
    if not isinstance(step, (bool, str, bytes)) and "bool" not in kind and getattr(step, "ndim", 0) == 0:
        try:
            value = float(step)  # a 0-d array or tensor, a Decimal, a Fraction
        except (TypeError, ValueError, RuntimeError):  # RuntimeError: a tensor of several elements
            value = math.nan
        if value.is_integer():
            return int(value)
    raise UsageError(f"report step must be a whole number (e.g. epochs completed), got {step!r}")


__all__ = ["Decide", "Reporter", "TrialPruned"]
