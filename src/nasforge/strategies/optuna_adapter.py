"""Run Optuna samplers as nasforge strategies over a space's categorical view (for peer comparisons)."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Hashable
from typing import Any

from ..checks import check_int, is_int, is_real
from ..exceptions import NoStateError, UsageError
from ..extras import require
from ..spaces import Architecture, SearchSpace
from .base import Score, Strategy, restoring
from .constraints import ConstrainedScore, checked_violation

OPTUNA_SAMPLERS = ("random", "tpe")
OPTUNA_SEEDS = 2**32
"""Optuna's samplers take seeds below 2**32: a larger strategy seed seeds them modulo 2**32."""


def _check_sampler_kwargs(cls: type, kwargs: dict[str, Any]) -> None:
    """Each of ``kwargs`` must be a setting of the sampler class ``cls`` of the type its annotation names (bool,
    int >= 0, float, a callable, None) before the sampler uses it at an ask; else a UsageError naming it."""
    params = inspect.signature(cls).parameters
    for name, value in kwargs.items():
        if name not in params:
            takes = [p for p in params if p != "seed"]
            raise UsageError(f"Optuna's {cls.__name__} takes no setting {name!r}; it takes "
                             + (", ".join(takes) if takes else "no settings besides the seed (use optuna_tpe for TPE "
                                                               "settings)"))
        kinds = {kind.strip() for kind in str(params[name].annotation).split("|")}
        integral = is_int(value)
        if not ((value is None and "None" in kinds) or (isinstance(value, bool) and "bool" in kinds)
                or (integral and value >= 0 and "int" in kinds) or (is_real(value) and "float" in kinds)
                or (callable(value) and any(kind.startswith("Callable") for kind in kinds))):
            want = " or ".join(sorted("an integer >= 0" if kind == "int" else kind for kind in kinds))
            raise UsageError(f"{name} must be {want} (a setting of Optuna's {cls.__name__}), got {value!r}")


def _check_sampler_values(cls: type, kwargs: dict[str, Any], n_objectives: int) -> None:
    """Optuna checks most setting values (``n_ei_candidates=0``, ``prior_weight=-1``) only as it samples: a
    throwaway ``cls`` sampler with ``kwargs`` samples once here, and a value it refuses is a UsageError naming the
    setting (the settings, when only their combination is refused), not an error at a later ask. Callable settings
    (``gamma``, ``weights``) keep Optuna's defaults here: the sampler calls them with inputs a probe cannot know."""
    kwargs = {name: value for name, value in kwargs.items() if not callable(value)}
    error = _sampling_error(cls, kwargs, n_objectives) if kwargs else None  # Optuna's defaults sample
    if error is None:
        return
    for name, value in kwargs.items():
        alone = _sampling_error(cls, {name: value}, n_objectives)
        if alone is not None:
            raise UsageError(f"Optuna's {cls.__name__} refuses {name}={value!r}: {alone}")
    settings = ", ".join(f"{name}={value!r}" for name, value in kwargs.items())
    raise UsageError(f"Optuna's {cls.__name__} refuses the settings {settings} together: {error}")


def _sampling_error(cls: type, kwargs: dict[str, Any], n_objectives: int) -> Exception | None:
    """The ValueError or TypeError a ``cls`` sampler with ``kwargs`` raises as it is built or asks once (past its
    random start-up: ``n_startup_trials=0``) on a scratch in-memory study of two finished trials; None if none. The
    sampler is a seeded copy of its own: the strategy's sampler, built after, draws exactly as without the check."""
    import optuna

    if "n_startup_trials" in inspect.signature(cls).parameters:
        kwargs = {**kwargs, "n_startup_trials": 0}
    distributions = {"x": optuna.distributions.CategoricalDistribution([0, 1])}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the strategy's own sampler gives the warnings its settings call for
            study = optuna.create_study(sampler=cls(seed=0, **kwargs), directions=["maximize"] * n_objectives)
            for value in (0, 1):
                study.add_trial(optuna.trial.create_trial(params={"x": value}, distributions=distributions,
                                                          values=[float(value)] * n_objectives))
            study.ask(distributions)
    except (TypeError, ValueError) as exc:
        return exc
    return None


def _resolved_settings(sampler: Any) -> dict[str, Any]:
    """The settings an Optuna ``sampler`` resolved that change what it does between Optuna versions: TPE's
    ``multivariate`` and ``constant_liar`` (Optuna 3.5-4.x defaults both to False, Optuna 5 to True and ignores
    ``multivariate=False``), its start-up and candidate counts, NSGA-II's population. They are read from the sampler's
    private attributes; one another Optuna lacks is left out."""
    parzen = getattr(sampler, "_parzen_estimator_parameters", None)
    found = {"multivariate": getattr(parzen, "multivariate", None),
             "constant_liar": getattr(sampler, "_constant_liar", None),
             "n_startup_trials": getattr(sampler, "_n_startup_trials", None),
             "n_ei_candidates": getattr(sampler, "_n_ei_candidates", None),
             "population_size": getattr(sampler, "_population_size", None)}
    return {name: value for name, value in found.items() if isinstance(value, (bool, int))}


def _constraints(score: Score) -> dict[str, float]:
    """Optuna's constraint values for ``score``: ``{"violation": v}`` for a :class:`ConstrainedScore` (feasible
    when v is 0, as Optuna reads values <= 0), none for a plain score."""
    return {"violation": score.violation} if isinstance(score, ConstrainedScore) else {}


class OptunaStrategy(Strategy):
    """An Optuna sampler behind ask/tell. Each categorical parameter of ``space.categorical_params()``
    becomes a ``suggest_categorical``; assignments the space rejects are told to Optuna as failed.

    ``sampler`` is "random", "tpe" (seeded with ``seed % 2**32``, checked ``sampler_kwargs``), or any
    ``optuna.samplers.BaseSampler``. The settings are kept under their own names (``extra_settings`` for the
    sampler's), so a study records them; a sampler object is not plain data (a study asks for the strategy
    object again at load); a strategy rebuilt from a stored study's settings skips the sampling check
    (:func:`~nasforge.strategies.base.restoring_stored_settings`), and a setting Optuna refuses is named at the
    ask that fails. Optuna does not avoid
    repeats itself: with ``dedup=True`` a repeated proposal is told its known score without being
    evaluated; with ``dedup=False`` (plain Optuna) repeats are evaluated like any other proposal. nasforge's own
    strategies never evaluate a repeat, so a comparison charged by the same rule runs the peer with ``dedup=True``
    (as ``benchmarks/strategies_learning.py`` does); plain Optuna TPE spent 38 % of a 300-evaluation budget on
    repeats on NAS-Bench-201.

    A :class:`~.constraints.ConstrainedScore` told (as :func:`~.constraints.constrain` makes it, with the violation
    of outcome constraints such as ``"params <= 1.5"``) gives Optuna's trial the constraint ``violation`` (0 when
    every constraint holds, else the violation; :meth:`optuna.trial.Trial.set_constraint`), which Optuna's NSGA-II
    and TPE samplers rank feasible-first; a plain score sets no constraint.
    """

    name = "optuna"

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = False,
                 sampler: Any = "tpe", n_objectives: int = 1, **sampler_kwargs: Any) -> None:
        optuna = require("optuna", "the Optuna sampler")
        n_objectives = check_int("n_objectives", n_objectives, 1)  # a numpy integer is recorded as a Python int
        super().__init__(space, seed, dedup)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.sampler, self.n_objectives, self.sampler_kwargs = sampler, n_objectives, dict(sampler_kwargs)
        if isinstance(sampler, str):
            if sampler not in OPTUNA_SAMPLERS:
                raise UsageError(f"unknown Optuna sampler {sampler!r}; choose from {list(OPTUNA_SAMPLERS)}")
            self.name = f"optuna_{sampler}"
            cls = optuna.samplers.TPESampler if sampler == "tpe" else optuna.samplers.RandomSampler
            _check_sampler_kwargs(cls, sampler_kwargs)
            if not restoring():  # a stored study's settings load as they did; its next ask names a refused one
                _check_sampler_values(cls, sampler_kwargs, n_objectives)
            sampler = cls(seed=None if seed is None else int(seed) % OPTUNA_SEEDS, **sampler_kwargs)
        elif sampler_kwargs:
            raise UsageError(f"sampler settings {sorted(sampler_kwargs)} go with a sampler name, not with the "
                             f"{type(sampler).__name__} object (configure it yourself)")
        self._params = self.space.categorical_params()
        self.objective_counts = (n_objectives, n_objectives)
        self._study = optuna.create_study(sampler=sampler, directions=["maximize"] * n_objectives)
        self._pending: dict[Hashable, list[Any]] = {}  # canonical key -> Optuna trials asked and not yet told
        self._proposed: Any = None  # the trial of this ask's last proposal, until ask returns or rejects it
        self._constrained: bool | None = None  # whether the results told carry constraints (None: none told yet)

    def checked_score(self, score: Any) -> Score:
        """As :meth:`Strategy.checked_score`; a :class:`ConstrainedScore`'s violation must also be a number >= 0, and
        the results told must all be constrained or all plain (Optuna's samplers need every trial's constraints)."""
        score = super().checked_score(score)
        if score is None:
            return score
        constrained = isinstance(score, ConstrainedScore)
        if constrained:
            score = checked_violation(self.name, score)
        if self._constrained is not None and constrained != self._constrained:
            kinds = ("constrained", "plain") if constrained else ("plain", "constrained")
            raise UsageError(f"{self.name}: a {kinds[0]} score after {kinds[1]} ones ({score!r:.100}): Optuna needs "
                             "the results of a study all constrained or all plain")
        return score

    def ask(self) -> Architecture:
        self._proposed = None
        return super().ask()

    def _record(self, arch: Architecture, score: Score) -> None:
        if score is not None:
            self._constrained = isinstance(score, ConstrainedScore)
        super()._record(arch, score)

    def _propose(self) -> Architecture:
        import optuna

        while True:
            try:
                trial = self._study.ask()
                params = {name: trial.suggest_categorical(name, choices) for name, choices in self._params.items()}
            except (TypeError, ValueError):
                self._name_refused_setting()
                raise
            try:
                arch = self.space.from_params(params)
            except ValueError:
                self._study.tell(trial, state=optuna.trial.TrialState.FAIL)
                continue
            self._pending.setdefault(self.space.canonical_key(arch), []).append(trial)
            self._proposed = trial
            return arch

    def _name_refused_setting(self) -> None:
        """Where the sampler failed to sample: a UsageError naming the setting it refuses, as a new strategy's check
        names it (a stored study rebuilt without that check asks here); nothing when no setting is to blame."""
        if isinstance(self.sampler, str):  # built from its name and settings
            _check_sampler_values(type(self._study.sampler), self.sampler_kwargs, self.n_objectives)

    def _observe(self, arch: Architecture, score: Score) -> None:
        """Tell Optuna the oldest trial pending for ``arch`` (or a functionally identical architecture); a result
        no trial waits for (an architecture told without an ask, or proposed by a uniform sample of ``ask``) is
        added to Optuna's study as a finished trial of its own, so that Optuna learns from every tell."""
        key = self.space.canonical_key(arch)
        trials = self._pending.get(key)
        if trials:
            self._tell(trials.pop(0), score)
            if not trials:
                del self._pending[key]
        else:
            self._add(arch, score)

    def _on_duplicate(self, arch: Architecture, score: Score) -> None:
        """The proposal ``ask`` rejected as a repeat is told its known score (a failure while none is known);
        a repeat drawn by a uniform sample has no Optuna trial."""
        trial, self._proposed = self._proposed, None
        if trial is None:
            return
        key = self.space.canonical_key(arch)
        self._pending[key].remove(trial)
        if not self._pending[key]:
            del self._pending[key]
        self._tell(trial, score)

    def _tell(self, trial: Any, score: Score) -> None:
        import optuna

        if score is None:
            self._study.tell(trial, state=optuna.trial.TrialState.FAIL)
            return
        for name, value in _constraints(score).items():
            trial.set_constraint(name, value)
        self._study.tell(trial, list(score) if isinstance(score, tuple) else score)

    def _add(self, arch: Architecture, score: Score) -> None:
        """Add ``arch``'s result to Optuna's study as a finished trial (failed when ``score`` is None)."""
        import optuna

        distributions = {name: optuna.distributions.CategoricalDistribution(choices)
                         for name, choices in self._params.items()}
        values = None if score is None else list(score) if isinstance(score, tuple) else [score]
        state = optuna.trial.TrialState.FAIL if score is None else optuna.trial.TrialState.COMPLETE
        self._study.add_trial(optuna.trial.create_trial(params=self.space.to_params(arch), distributions=distributions,
                                                        values=values, state=state,
                                                        constraints=_constraints(score)))

    def extra_settings(self) -> dict[str, Any]:
        """The sampler's settings (the constructor's ``**sampler_kwargs``), for :func:`constructor_settings`."""
        return dict(self.sampler_kwargs)

    def library_settings(self) -> dict[str, Any]:
        """``{"optuna": {...}}``: Optuna's version, the sampler's class and the settings it resolved
        (:func:`_resolved_settings`). The same name runs another algorithm under another Optuna (``optuna_tpe`` is
        univariate TPE without constant liar under Optuna 3.5-4.x, multivariate with constant liar under 5), so a
        benchmark records which one ran."""
        import optuna

        sampler = self._study.sampler
        return {"optuna": {"version": optuna.__version__, "sampler": type(sampler).__name__,
                           **_resolved_settings(sampler)}}

    def state_dict(self) -> dict:
        raise NoStateError("Optuna-backed strategies keep their state inside Optuna and cannot be snapshotted; "
                           "resume them by replaying the stored trials")
