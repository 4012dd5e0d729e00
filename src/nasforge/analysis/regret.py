"""Regret curves: best-so-far traces of search runs and their statistics across seeds."""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..checks import check_bool, check_int, check_real, float_array, is_real
from ..exceptions import UsageError
from ..pareto import DIRECTIONS


@dataclass
class RunTrace:
    """What one search run evaluated, in order: objective values, a secondary metric (e.g. test
    accuracy) and canonical keys (to spot evaluations of already-seen functions)."""

    values: np.ndarray
    secondary: np.ndarray
    keys: list[Hashable]
    seconds: float = 0.0

    @property
    def unique_mask(self) -> np.ndarray:
        """True at each evaluation whose canonical form had not been evaluated before."""
        seen: set = set()
        mask = np.zeros(len(self.keys), dtype=bool)
        for i, key in enumerate(self.keys):
            if key not in seen:
                seen.add(key)
                mask[i] = True
        return mask

    @property
    def n_duplicates(self) -> int:
        return int(len(self.keys) - self.unique_mask.sum())


def incumbent_curves(values: np.ndarray, secondary: np.ndarray, maximize: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Best-so-far objective and the secondary metric of that incumbent, per evaluation. NaN values (failed
    evaluations) never become the incumbent: both curves are NaN until the first non-NaN value. ``values`` and
    ``secondary`` are lists (or 1-D arrays) of numbers of one length, else a UsageError naming them; ``maximize``
    is True or False (a direction name such as "minimize" is a UsageError, not a truthy True)."""
    check_bool("maximize", maximize)
    values, secondary = float_array("values", values), float_array("secondary", secondary)
    if values.ndim != 1 or values.shape != secondary.shape:
        raise UsageError(f"values and secondary must be one number per evaluation each (two 1-D arrays of one "
                         f"length), got shapes {values.shape} and {secondary.shape}")
    signed = values if maximize else -values
    running = np.fmax.accumulate(signed)  # fmax skips NaN, maximum would carry it to the end
    previous = np.concatenate([[np.nan], running[:-1]])
    # the first evaluation reaching each running best
    is_new_best = (running > previous) | (np.isnan(previous) & ~np.isnan(running))
    best_idx = np.maximum.accumulate(np.where(is_new_best, np.arange(len(signed)), -1))
    found = best_idx >= 0
    return np.where(found, values[best_idx], np.nan), np.where(found, secondary[best_idx], np.nan)


def regret_matrix(traces: Sequence[RunTrace], optimum: float, budget: int, maximize: bool = True,
                  unique_only: bool = False, allow_negative: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Runs x evaluations arrays of simple regret and of the incumbent's secondary metric.

    ``unique_only`` drops repeated evaluations of an already-seen canonical form, so the x axis
    counts unique evaluations; runs that made fewer unique evaluations are NaN-padded (:func:`summarize` carries
    their last value forward), and a run is NaN
    until its first non-NaN value (NaN: a failed evaluation, which never becomes the incumbent).
    A value better than ``optimum`` (a negative regret) means the optimum is wrong: a UsageError naming both,
    unless ``allow_negative`` (noisy values measured against an optimum of means). ``optimum`` must be a finite
    number, ``budget`` a positive integer and ``maximize``, ``unique_only`` and ``allow_negative`` True or False:
    else a UsageError naming the argument; ``traces`` a list (or other sequence) of RunTraces, each with as many
    values as secondary values (lists or arrays of numbers), and as many keys with ``unique_only``: else a UsageError
    naming ``traces`` and the run.
    """
    if not isinstance(traces, Sequence) or isinstance(traces, (str, bytes)) or \
            not all(isinstance(t, RunTrace) for t in traces):
        raise UsageError(f"traces must be a list of RunTrace (one per run), got {type(traces).__name__} "
                         f"{traces!r:.60}")
    check_real("optimum", optimum, lambda v: True, "a finite number")
    budget = check_int("budget", budget, 1)
    for name, flag in (("maximize", maximize), ("unique_only", unique_only), ("allow_negative", allow_negative)):
        check_bool(name, flag)
    regret = np.full((len(traces), budget), np.nan)
    secondary = np.full((len(traces), budget), np.nan)
    for r, trace in enumerate(traces):
        values, second = _trace_arrays(r, trace, unique_only)
        if unique_only:
            try:
                mask = trace.unique_mask
            except TypeError as exc:  # e.g. a list as a key
                raise UsageError(f"traces: run {r}'s keys must be hashable (canonical forms), {exc}") from None
            values, second = values[mask], second[mask]
        n = min(budget, len(values))
        if n == 0:
            continue
        best, inc_second = incumbent_curves(values[:n], second[:n], maximize)
        regret[r, :n] = (optimum - best) if maximize else (best - optimum)
        secondary[r, :n] = inc_second
    if not allow_negative:
        _check_regret(regret, optimum, maximize)
    return regret, secondary


def _trace_arrays(run: int, trace: RunTrace, with_keys: bool) -> tuple[np.ndarray, np.ndarray]:
    """``trace``'s values and secondary metric as float arrays: both one-dimensional, of numbers, of one length, and
    as long as its keys when ``with_keys`` (``unique_only`` reads them); else a UsageError naming ``traces`` and the
    run."""
    arrays = []
    for field_name in ("values", "secondary"):
        given = getattr(trace, field_name)
        try:
            array = np.asarray(given, dtype=float)
        except (TypeError, ValueError):
            raise UsageError(f"traces: run {run}'s {field_name} must be numbers (NaN for a failed evaluation), got "
                             f"{given!r:.60}") from None
        if array.ndim != 1:
            raise UsageError(f"traces: run {run}'s {field_name} must be one-dimensional (one value per evaluation), "
                             f"got shape {array.shape}")
        arrays.append(array)
    if len(arrays[0]) != len(arrays[1]):
        raise UsageError(f"traces: run {run} has {len(arrays[0])} values and {len(arrays[1])} secondary values; "
                         "each needs one per evaluation")
    if with_keys:
        try:
            n_keys = len(trace.keys)
        except TypeError:
            raise UsageError(f"traces: run {run}'s keys must be a list (one per evaluation), got "
                             f"{type(trace.keys).__name__} {trace.keys!r:.60}") from None
        if n_keys != len(arrays[0]):
            raise UsageError(f"traces: run {run} has {len(arrays[0])} values and {n_keys} keys; unique_only needs "
                             "one key per evaluation")
    return arrays[0], arrays[1]


REGRET_TOLERANCE = 1e-9
"""Regrets within this fraction of the optimum are rounding, not a real gap: an optimum typed as a report shows
it (``19.956`` for a stored ``19.956000000000003``) is the optimum found."""


def within_rounding(gap: float, *scales: float) -> bool:
    """Whether ``gap`` is within :data:`REGRET_TOLERANCE` of the largest magnitude among ``scales`` (NaN: never)."""
    return bool(abs(gap) <= REGRET_TOLERANCE * max(abs(s) for s in scales))


def regret_axis(values: np.ndarray) -> tuple[float, list[float]]:
    """(floor, tick values) of a log regret axis for the regrets ``values`` drawn: the floor (where 0 is drawn,
    labelled 0) a decade below the smallest positive regret, then every decade up to the largest. The reports (bench
    folders, the progress of a study with a known optimum) and the bench plots (linear up to the floor) share it."""
    values = np.asarray(values, dtype=float)
    positive = values[np.isfinite(values) & (values > 0)]
    low = math.floor(math.log10(positive.min())) if positive.size else 0
    high = math.ceil(math.log10(positive.max())) if positive.size else 1
    return 10.0 ** (low - 1), [10.0 ** k for k in range(low - 1, max(high, low) + 1)]


def _check_regret(regret: np.ndarray, optimum: float, maximize: bool) -> None:
    """A UsageError when a regret is negative beyond rounding: a value better than ``optimum`` was found."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN matrix: nothing to check
        lowest = np.nanmin(regret) if regret.size else np.nan
    if lowest < 0 and not within_rounding(lowest, 1.0, optimum):
        run, evaluation = np.argwhere(regret == lowest)[0]
        direction = "maximize" if maximize else "minimize"
        raise UsageError(f"run {run} evaluation {evaluation + 1}: {negative_regret(lowest, optimum, direction)}")


def negative_regret(regret: float, optimum: Any, direction: Any, source: str = "", bound: bool = False) -> str:
    """Why a negative ``regret`` means ``optimum`` (named with its ``source``) is wrong: the value found that beats
    it, if ``optimum`` is a number and ``direction`` known; ``bound``: ``regret`` is a statistic across runs, so
    some run found at least (at most) that value."""
    known = direction in DIRECTIONS
    number = is_real(optimum)
    named = (f"{optimum:g}" if number else repr(optimum)) + (f" {source}" if source else "")
    how = direction if known else "direction unknown"
    text = f"regret {regret:g} is negative, so the optimum {named} is wrong ({how}"
    if known and number:
        found = optimum - regret if direction == "maximize" else optimum + regret
        bounded = ("at least " if direction == "maximize" else "at most ") if bound else ""
        text += f": a value of {bounded}{found:g} was found"
    return text + "); regret is never negative"


def carry_forward(matrix: np.ndarray) -> np.ndarray:
    """``matrix`` (runs x evaluations of best-so-far curves) with each run that stopped (NaN padding) continued at
    its last value: its incumbent cannot change without evaluations. NaN before a run's first value stays."""
    matrix = _runs_matrix(matrix)
    if matrix.size == 0:
        return matrix.copy()
    last = np.maximum.accumulate(np.where(np.isnan(matrix), -1, np.arange(matrix.shape[1])), axis=1)
    filled = np.take_along_axis(matrix, np.maximum(last, 0), axis=1)
    return np.where(last >= 0, filled, np.nan)


def _runs_matrix(matrix: Any) -> np.ndarray:
    """``matrix`` as a float array of runs x evaluations, else a UsageError naming it (e.g. one run's 1-D curve)."""
    matrix = float_array("matrix", matrix)
    if matrix.ndim != 2:
        raise UsageError(f"matrix must be 2-D (runs x evaluations; one run's curve as [curve]), got shape "
                         f"{matrix.shape}")
    return matrix


def summarize(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """Mean, median and quartiles across runs per evaluation, a run that stopped counting with its last value
    (:func:`carry_forward`: no survivor bias, so each statistic is non-increasing when the curves are), and
    ``n_runs``: the runs that actually reached that evaluation."""
    matrix = _runs_matrix(matrix)
    carried = carry_forward(matrix)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN, as intended
        return {
            "mean": np.nanmean(carried, axis=0),
            "median": np.nanmedian(carried, axis=0),
            "q25": np.nanquantile(carried, 0.25, axis=0),
            "q75": np.nanquantile(carried, 0.75, axis=0),
            "n_runs": np.sum(~np.isnan(matrix), axis=0),
        }
