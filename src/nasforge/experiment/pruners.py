"""Trial-level early stopping from intermediate values: the median rule, successive halving (ASHA) and
learning-curve extrapolation."""

from __future__ import annotations

import reprlib
import statistics
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..checks import check_int, check_real
from ..exceptions import UsageError, user_stacklevel
from ..registry import Registry
from ..settings import bind_error, is_plain, keyword_names

Curve = Sequence[tuple[int, float]]


def _value_at(curve: Curve, step: int) -> float | None:
    for s, v in curve:
        if s == step:
            return v
    return None


def _first_at(curve: Curve, step: int) -> float | None:
    """The value of the curve's first report at or past ``step`` (None: it did not reach it)."""
    for s, v in curve:
        if s >= step:
            return v
    return None


class Pruner(ABC):
    """Decides, at each report, whether a trial should stop. Values are higher-is-better (the loop flips
    lower-is-better reports: :func:`~nasforge.experiment.reporting.report_sign`); ``curves`` maps trial numbers to their reported curves so far,
    including the deciding trial's, whose last point is the new report (under a multi-fidelity strategy, only
    the trials trained at the deciding trial's budget: another budget's curve followed another schedule; a study
    created before 2026-12-07 keeps every budget's curves).

    The loop never asks about a report at a trial's last step (see :meth:`last_step`): stopping a
    trial whose training is done would only throw its result away."""

    name: str
    end_setting = "last_step()"
    """The setting :meth:`last_step` answers, as messages name it (e.g. ``max_resource``)."""
    counts_reports = False
    """Whether :meth:`first_decision` counts reports rather than steps: an evaluator whose steps start at 0 reaches
    it one step sooner."""

    def last_step(self) -> int | None:
        """The step at which every trial ends, when the pruner's settings say so (None: unknown)."""
        return None

    def first_decision(self) -> tuple[str, int, int] | None:
        """Where the pruner's own settings put the first report :meth:`should_prune` may stop a trial at (reports
        every epoch, from 1): ``(setting, its value, that step)``; None (the default): its rule is its own. A search
        whose trials end by that step is refused, as no trial could be stopped. A subclass that changes
        ``should_prune`` answers this anew (or inherits None: see :func:`first_decision`)."""
        return None

    def reset(self) -> None:
        """Forget what earlier runs taught (e.g. where trials end): the loop and ``simulate`` call it as each run
        starts, before they pass the stored COMPLETE trials to :meth:`trial_completed`, so one object serves study
        after study (one run at a time); nothing by default."""

    def trial_completed(self, curve: Curve) -> None:
        """Called by the loop with the curve of each COMPLETE trial that did not end at a lower multi-fidelity
        budget (the top budget counts), e.g. to check the settings against real curves; nothing by default."""

    @abstractmethod
    def should_prune(self, number: int, curves: Mapping[int, Curve]) -> bool:
        """True to stop trial ``number`` now, False to let it go on (any other answer, or an error raised here,
        stops the run with a UsageError naming the pruner); ``curves``: the trials' ``(step, value)`` reports."""

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """Constructor arguments, so a resumed study rebuilds the same pruner."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.config().items())})"


class MedianPruner(Pruner):
    """Stop a trial whose best value so far is below the median of the other trials' values at the
    same step, once ``n_startup_trials`` others reached that step and after ``n_warmup_steps`` (steps count from
    1, so the first ``n_warmup_steps`` reports are never judged, as Optuna's steps counted from 0). The others are
    every trial with a report at that step, pruned and running ones too (Optuna's counts complete trials only)."""

    name = "median"

    def __init__(self, n_startup_trials: int = 5, n_warmup_steps: int = 0) -> None:
        check_int("n_startup_trials", n_startup_trials, 1)
        check_int("n_warmup_steps", n_warmup_steps, 0)
        self.n_startup_trials = n_startup_trials
        self.n_warmup_steps = n_warmup_steps

    def should_prune(self, number: int, curves: Mapping[int, Curve]) -> bool:
        curve = curves[number]
        step = curve[-1][0]
        if step <= self.n_warmup_steps:
            return False
        others = [v for n, c in curves.items() if n != number and (v := _value_at(c, step)) is not None]
        if len(others) < self.n_startup_trials:
            return False
        return max(v for _, v in curve) < statistics.median(others)

    def first_decision(self) -> tuple[str, int, int]:
        return "n_warmup_steps", self.n_warmup_steps, self.n_warmup_steps + 1

    def config(self) -> dict[str, Any]:
        return {"n_startup_trials": self.n_startup_trials, "n_warmup_steps": self.n_warmup_steps}


class SuccessiveHalvingPruner(Pruner):
    """Asynchronous successive halving (ASHA, Li et al. 2020) as a stopping rule.

    Rungs sit at steps ``min_resource * reduction_factor**k``. A trial reaching a rung (its first report at or
    past it: reports need not land on rungs) continues only if that value is within the top ``1/reduction_factor``
    of all values recorded at that rung so far (at least the best one passes), once ``min_peers`` other trials
    reached the rung.
    ``max_resource`` (optional) is the step at which trials end: the top rung, where none is stopped.
    """

    name = "asha"
    end_setting = "max_resource"

    def __init__(self, min_resource: int = 1, reduction_factor: int = 3, min_peers: int = 0,
                 max_resource: int | None = None) -> None:
        check_int("min_resource", min_resource, 1)
        check_int("reduction_factor", reduction_factor, 2)
        check_int("min_peers", min_peers, 0)
        if max_resource is not None:
            check_int("max_resource", max_resource, min_resource)
        self.min_resource = min_resource
        self.reduction_factor = reduction_factor
        self.min_peers = min_peers
        self.max_resource = max_resource

    def last_step(self) -> int | None:
        return self.max_resource

    def first_decision(self) -> tuple[str, int, int]:
        return "min_resource", self.min_resource, self.min_resource

    def is_rung(self, step: int) -> bool:
        """Whether ``step`` is a rung: ``min_resource * reduction_factor**k`` for some k >= 0."""
        return step in self.rungs_between(step - 1, step)

    def rungs_between(self, before: int, step: int) -> list[int]:
        """The rungs in ``(before, step]``: those a report at ``step`` is the first to reach, after one at
        ``before``."""
        rungs, rung = [], self.min_resource
        while rung <= step:
            if rung > before:
                rungs.append(rung)
            rung *= self.reduction_factor
        return rungs

    def should_prune(self, number: int, curves: Mapping[int, Curve]) -> bool:
        """Judge the report at each rung it is the trial's first report at or past (as Optuna's
        SuccessiveHalvingPruner): a trial validated every 2nd epoch is judged at rung 1 by its step-2 value. A
        rung's values are each trial's first report at or past it."""
        curve = curves[number]
        step, value = curve[-1]
        for rung in self.rungs_between(curve[-2][0] if len(curve) > 1 else 0, step):
            others = [v for n, c in curves.items() if n != number and (v := _first_at(c, rung)) is not None]
            if len(others) < self.min_peers:
                return False  # fewer trials reach a later rung than this one
            competing = sorted(others + [value], reverse=True)
            keep = max(1, len(competing) // self.reduction_factor)
            if value < competing[keep - 1]:
                return True
        return False

    def config(self) -> dict[str, Any]:
        return {"min_resource": self.min_resource, "reduction_factor": self.reduction_factor,
                "min_peers": self.min_peers, "max_resource": self.max_resource}


_SAID = {"min_points=3": False}
"""Warnings given once a process."""


class LearningCurvePruner(Pruner):
    """Learning-curve extrapolation (after Domhan et al. 2015): stop a trial whose curve, extrapolated
    to the final step, beats the ``top_k``-th best finished trial with probability below ``threshold``.

    The curve is fitted by an ensemble of saturating families (``nasforge.experiment.learning_curves``;
    scipy). Finished trials are those whose curve reached the final step: ``max_step`` or, when None,
    the last step of the longest curve of a trial that completed (as the loop tells :meth:`trial_completed`;
    a running trial's curve never sets it). Nothing is pruned before ``n_startup_trials`` finished
    trials exist, before the curve has ``min_points`` reports, or while its last value already beats
    the reference. Unlike the median rule and ASHA, a slow starter with a steep curve keeps running.
    """

    name = "curve"
    end_setting = "max_step"
    counts_reports = True  # min_points reports

    def __init__(self, threshold: float = 0.05, top_k: int = 1, n_startup_trials: int = 5, min_points: int = 4,
                 max_step: int | None = None, families: Sequence[str] = ("pow3", "exp3", "ilog2")) -> None:
        from .learning_curves import FAMILIES

        check_real("threshold", threshold, lambda v: 0.0 < v < 1.0, "a number in (0, 1)")
        check_int("top_k", top_k, 1)
        check_int("n_startup_trials", n_startup_trials, 1)
        check_int("min_points", min_points, 3)
        if min_points == 3 and not _SAID["min_points=3"]:  # kept for stored studies (refusing them stops a resume)
            _SAID["min_points=3"] = True  # once a process: a search builds its pruner several times
            warnings.warn("LearningCurvePruner(min_points=3): at 3 reports only the two-parameter ilog2 family fits, "
                          "so it decides alone until a 4th report; 4 (the default) lets every family vote",
                          UserWarning, stacklevel=user_stacklevel())
        if max_step is not None:
            check_int("max_step", max_step, 1)
        names = [families] if isinstance(families, str) else families  # one name is one family, not its letters
        if (isinstance(names, bytes) or not isinstance(names, Sequence) or not names
                or any(not isinstance(f, str) or f not in FAMILIES for f in names)):
            raise UsageError(f"families must name one or more of {', '.join(FAMILIES)} (a name or a list), "
                             f"got {families!r}")
        self.threshold, self.top_k, self.n_startup_trials = threshold, top_k, n_startup_trials
        self.min_points, self.max_step, self.families = min_points, max_step, tuple(names)
        self.reset()

    def reset(self) -> None:
        """Forget the complete curves seen so far (those of another study or run)."""
        self._complete_ends: list[int] | None = []  # last steps of complete trials' curves, until max_step is checked
        self._longest: int | None = None  # the last step of the longest complete curve (the default final step)

    def last_step(self) -> int | None:
        return self.max_step

    def first_decision(self) -> tuple[str, int, int]:
        return "min_points", self.min_points, self.min_points

    def trial_completed(self, curve: Curve) -> None:
        """Warn once when as many complete trials as pruning needs all ended before ``max_step``: no curve then
        counts as finished, so nothing would ever be pruned. Without ``max_step`` the longest complete curve's last
        step becomes the final step."""
        if curve:
            self._longest = max(self._longest or 0, int(curve[-1][0]))
        if self.max_step is None or not curve or self._complete_ends is None:
            return
        if curve[-1][0] >= self.max_step:
            self._complete_ends = None  # trials do reach max_step: nothing to say
            return
        self._complete_ends.append(curve[-1][0])
        if len(self._complete_ends) >= max(self.n_startup_trials, self.top_k):
            warnings.warn(f"pruner 'curve': max_step={self.max_step}, but the curves of the "
                          f"{len(self._complete_ends)} complete trials end by step {max(self._complete_ends)}, so "
                          "no trial counts as finished and nothing is pruned; set max_step to the step at which "
                          "trials end (or leave it out to use the longest curve)", RuntimeWarning,
                          stacklevel=user_stacklevel())
            self._complete_ends = None

    def should_prune(self, number: int, curves: Mapping[int, Curve]) -> bool:
        curve = curves[number]
        if len(curve) < self.min_points:
            return False
        final_step = self.max_step if self.max_step is not None else self._longest
        step = curve[-1][0]
        if final_step is None or step >= final_step:  # None: no trial completed yet, so none is finished
            return False
        finals = sorted((c[-1][1] for n, c in curves.items() if n != number and c and c[-1][0] >= final_step),
                        reverse=True)
        if len(finals) < max(self.n_startup_trials, self.top_k):
            return False
        reference = finals[self.top_k - 1]
        if max(v for _, v in curve) >= reference:
            return False
        from .learning_curves import extrapolate

        first = curve[0][0]
        fit = extrapolate([s - first + 1 for s, _ in curve], [v for _, v in curve], final_step - first + 1,
                          self.families)
        return fit is not None and fit.prob_above(reference) < self.threshold

    def config(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "top_k": self.top_k, "n_startup_trials": self.n_startup_trials,
                "min_points": self.min_points, "max_step": self.max_step, "families": list(self.families)}


def pruner_hint(name: object, strategy_option: str | None = None) -> str:
    """`` (did you mean 'median'?)`` for an unknown pruner ``name`` close to a registered one; for the name of a
    multi-fidelity strategy (``hyperband``, ``bohb``), that it is a strategy, to give with the command-line option
    ``strategy_option`` (e.g. ``--strategy``; None: as a new study's strategy, as a study's strategy is fixed when
    it starts); a registered pruner's name in other case gets the did-you-mean hint."""
    from ..registry import did_you_mean
    from ..strategies import STRATEGIES

    strategy = name.strip().lower() if isinstance(name, str) else None
    if strategy in STRATEGIES and strategy not in PRUNERS and STRATEGIES.tags(strategy).get("multi_fidelity"):
        where = f"{strategy_option} {strategy}" if strategy_option else "the strategy of a new study"
        return (f" ({strategy!r} is a multi-fidelity strategy, not a pruner: it chooses each trial's budget itself; "
                f"give it as {where})")
    return did_you_mean(name, PRUNERS.names())


PRUNERS: Registry[Callable[..., Pruner]] = Registry("pruner", hint=pruner_hint)
"""Pruner classes (or factories taking keyword settings) by name; a registered one also resumes by name."""
PRUNERS.register("median", MedianPruner, builtin=True)
PRUNERS.register("asha", SuccessiveHalvingPruner, builtin=True)
PRUNERS.register("curve", LearningCurvePruner, builtin=True)


def get_pruner(spec: Pruner | str | Mapping[str, Any] | None) -> Pruner | None:
    """A pruner from an object, a name ("median", "asha", "curve") or ``{"name": ..., **kwargs}``; None: no pruning."""
    if isinstance(spec, Pruner) and not isinstance(getattr(spec, "name", None), str):
        raise UsageError(f"pruner {type(spec).__name__} has no name: set name = 'mine' on the class (a study records "
                         "its pruner by name, and a resume rebuilds a registered one by it)")
    if spec is None or isinstance(spec, Pruner):
        return spec
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping):
        raise UsageError(f"pruner must be a name, a dict with a 'name' or a Pruner, got {type(spec).__name__}")
    kwargs = dict(spec)
    if "name" not in kwargs:
        raise UsageError(f"pruner settings {kwargs!r} have no 'name': give one of {', '.join(PRUNERS.names())} "
                         "with them, e.g. {'name': 'asha', 'reduction_factor': 2}")
    name = kwargs.pop("name")
    factory = PRUNERS.get(name)
    takes = keyword_names(factory)
    unknown = [] if takes is None else sorted(set(kwargs) - set(takes))
    if unknown:
        raise UsageError(f"pruner {name!r}: unknown setting{'s' * (len(unknown) > 1)} {', '.join(unknown)}; "
                         f"it takes {', '.join(takes) or 'none'}")
    try:
        return factory(**kwargs)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"pruner {name!r}: {exc}") from None


def check_own_name(pruner: Pruner) -> None:
    """A UsageError for a pruner object (named: :func:`get_pruner` built it) that a study would record by a name that
    rebuilds another pruner on resume: one with only its base class's name (a class registered under that name
    aside), or with the name of another registered class. Checked where a pruner is recorded (``optimize``), not
    by ``simulate``, which records none."""
    cls, name = type(pruner), pruner.name
    if name in PRUNERS and PRUNERS.get(name) is cls:
        return
    if "name" not in vars(cls) and "name" not in vars(pruner):
        raise UsageError(f"pruner class {cls.__name__} has no name of its own (it would be recorded as {name!r}, so "
                         f"a resume would rebuild another pruner): set name = '...' in the class")
    if (other := PRUNERS.other_class(name, cls)) is not None:
        raise UsageError(f"pruner class {cls.__name__} is named {name!r}, the name of pruner class {other.__name__} "
                         f"(a resume would rebuild a {other.__name__}): set another name = '...' in the class")


def first_decision(pruner: Pruner) -> tuple[str, int, int] | None:
    """:meth:`Pruner.first_decision`, where the class that answers it defines the pruner's rule (``should_prune``)
    or inherits it; None where a subclass changed the rule without answering anew (an inherited answer would
    describe another rule)."""
    def owner(method: str) -> type:
        return next(cls for cls in type(pruner).__mro__ if method in vars(cls))

    return pruner.first_decision() if issubclass(owner("first_decision"), owner("should_prune")) else None


def never_stops(pruner: Pruner, first_step: int = 0) -> str | None:
    """Why ``pruner``'s own settings let it stop no trial in any run: its :func:`first_decision` at or past its own
    :meth:`~Pruner.last_step`, where trials end and no report is judged; None where they do not say so.
    ``first_step`` is the step of a trial's first report: 1 for nasforge's own evaluators and the simulator (epochs
    completed), 0 where an evaluator of the user's may count from 0. (Not refused by the constructors: a study stored
    with such settings still resumes, warned.)"""
    first, last = first_decision(pruner), pruner.last_step()
    if first is None or last is None:
        return None
    setting, value, step = first
    if pruner.counts_reports:
        step += first_step - 1
    if step < last:
        return None
    return (f"can never stop a trial: with {setting} {value} its first decision is at step {step}, but its "
            f"{pruner.end_setting} {last} ends every trial by then (the last report is never judged); raise "
            f"{pruner.end_setting} above {step}")


def pruner_spec(pruner: Pruner | None) -> dict[str, Any] | None:
    """The JSON form ``get_pruner`` reads back; a ``UsageError`` naming the pruner when its ``config()`` is not a
    dict of JSON values, or one its registered factory does not take, which a resume could not rebuild it from."""
    if pruner is None:
        return None
    config = pruner.config()
    what = f"pruner {pruner.name!r} ({type(pruner).__name__})"
    if not isinstance(config, dict) or not is_plain(config):
        raise UsageError(f"{what}: config() must return a dict of its constructor arguments as JSON values (str, "
                         f"number, bool, None, list, dict), got {reprlib.repr(config)}")
    # a pruner not registered is rebuilt from no record (a resume passes it again): its config is only shown
    if pruner.name in PRUNERS and (bad := bind_error(PRUNERS.get(pruner.name), **config)) is not None:
        raise UsageError(f"{what}: config() returns {reprlib.repr(config)}, which its constructor does not take "
                         f"({bad}); config() returns the constructor's arguments, so a resume rebuilds the same "
                         "pruner")
    return {"name": pruner.name, **config}
