"""Intermediate reporting: how a running evaluation tells the engine its learning curve.

An evaluator that can report declares a ``reporter`` keyword::

    def evaluate(self, arch, fidelity=None, reporter=None):
        for epoch in range(epochs):
            ...
            if reporter is not None:
                reporter.report(epoch, val_acc)   # raises TrialPruned when the engine stops the trial
        return Result(metrics={...})

``report`` records ``(step, value)`` (value in the units of the study's first objective, so the
pruner can compare trials) and raises :class:`TrialPruned` when the study's pruner decides the
trial is hopeless. Letting the exception propagate (after any cleanup) is the normal way out; the
engine then stores the trial as PRUNED with its curve. Evaluators without a ``reporter`` parameter
are called as ``evaluate(arch, fidelity)``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from ..evaluators.base import Result
from ..spaces import Architecture

Decide = Callable[[int, float], bool]
"""Given a new report (step, value), whether the trial should stop now."""


from ..exceptions import TrialPruned  # noqa: E402  (re-exported)


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
        """Record ``value`` at ``step`` (steps strictly increasing); raise TrialPruned if the trial must stop."""
        step, value = int(step), float(value)
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


def accepts_reporter(evaluate: Callable[..., Any]) -> bool:
    """Whether ``evaluate`` takes a ``reporter`` keyword (explicitly or through ``**kwargs``)."""
    return _call_style(evaluate)[1]


def _call_style(evaluate: Callable[..., Any]) -> tuple[bool, bool]:
    """(takes a fidelity argument, takes a reporter keyword), cached per function: the loop asks
    for every trial and ``inspect.signature`` would otherwise dominate cheap evaluations."""
    func = getattr(evaluate, "__func__", None)
    try:
        return _signature_style(func, True) if func is not None else _signature_style(evaluate, False)
    except TypeError:  # unhashable callable object
        return _signature_style.__wrapped__(evaluate, False)


@lru_cache(maxsize=256)
def _signature_style(function: Callable[..., Any], bound: bool) -> tuple[bool, bool]:
    try:
        params = list(inspect.signature(function).parameters.values())[1 if bound else 0:]
    except (TypeError, ValueError):
        return True, False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    takes_fidelity = len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in positional)
    takes_reporter = any(p.name == "reporter" or p.kind is p.VAR_KEYWORD for p in params)
    return takes_fidelity, takes_reporter


def run_evaluation(evaluator: Any, arch: Architecture, fidelity: dict[str, Any] | None,
                   reporter: Reporter, catch: bool = True) -> Result:
    """Evaluate one architecture, turning exceptions into FAILED (unless ``catch=False``) and
    TrialPruned into PRUNED results.

    ``evaluator`` is an object with ``evaluate`` or a plain callable ``f(arch[, fidelity][, reporter=])``.
    The reported curve becomes the result's ``intermediate`` unless the evaluator filled it itself.
    """
    evaluate = evaluator.evaluate if hasattr(evaluator, "evaluate") else evaluator
    takes_fidelity, takes_reporter = _call_style(evaluate)
    kwargs = {"reporter": reporter} if takes_reporter else {}
    try:
        result = evaluate(arch, fidelity, **kwargs) if takes_fidelity else evaluate(arch, **kwargs)
        if not isinstance(result, Result):
            raise TypeError(f"evaluator returned {type(result).__name__}, expected a Result")
    except TrialPruned as exc:
        result = Result(status="pruned", error=str(exc))
    except Exception as exc:  # noqa: BLE001 - any evaluator error becomes a FAILED trial
        if not catch:
            raise
        result = Result.failed(f"{type(exc).__name__}: {exc}")
    if reporter.pruned and result.status == "ok":
        result.status = "pruned"
    if not result.intermediate:
        result.intermediate = list(reporter.curve)
    return result
