"""One ask/tell strategy for every surrogate x acquisition x acquisition-optimizer combination."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...checks import check_int
from ...exceptions import MissingDependencyError, UsageError, user_stacklevel
from ...settings import constructor_settings, is_plain, owned_by_nasforge
from ...spaces import Architecture, SearchSpace, as_space
from ..base import PendingAware, Score, _built_in, restoring
from .acquisitions import Acquisition, make_acquisition
from .optimizers import AcquisitionOptimizer, SearchContext, make_optimizer
from .surrogates import (Surrogate, categorical_codes, fit_surrogate, make_surrogate, per_candidate,
                         remake_surrogate)

SurrogateSpec = str | dict[str, Any] | Surrogate


def warn_no_uncertainty(surrogate: Surrogate, acquisition: Acquisition) -> None:
    """A UserWarning when ``acquisition`` needs a std that ``surrogate`` (a point predictor) does not give."""
    if getattr(surrogate, "point_predictions", False) and acquisition.uses_std:
        warnings.warn(f"surrogate predictor {surrogate.predictor!r} gives no uncertainty (std 0), so acquisition "
                      f"{acquisition.name!r} cannot explore through it; use the 'mean' acquisition, or a predictor "
                      "with uncertainty (rf, gp, ngb, mlp) or an ensemble surrogate", UserWarning,
                      stacklevel=user_stacklevel())


def _python(value: Any) -> Any:
    """``value`` with numpy scalars (also inside lists, tuples and dicts) as the Python numbers they hold."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_python(v) for v in value]
    if isinstance(value, dict):
        return {k: _python(v) for k, v in value.items()}
    return value


def described_part(part: Any) -> dict[str, Any]:
    """A built part (surrogate, acquisition, acquisition optimizer) as plain data: its class and public plain
    attributes, so parts built from different spellings of the same settings compare equal."""
    fields = {k: _python(v) for k, v in sorted(getattr(part, "__dict__", {}).items()) if not k.startswith("_")}
    return {"class": type(part).__name__, **{k: v for k, v in fields.items() if is_plain(v)}}


class ModelBasedStrategy(PendingAware):
    """Bayesian optimization over architectures, built from parts.

    The first ``n_initial`` proposals are random. Afterwards every ask fits (or reuses) the
    ``surrogate`` on all finished results, and proposes the unseen candidate of the ``optimizer``
    with the highest ``acquisition``. The surrogate is refitted once ``refit_every`` new results
    have arrived since the last fit (between refits the cached predictions are reused, so asks are
    cheap). Parts are given by name, as ``{"name": ..., **params}``, or as instances. The optimizer
    is asked for ``n_candidates`` candidates and the best is proposed (the number matters only for
    ``auto`` on large spaces, which rescores that many of its mutation pool with the hill climb's).

    Parallel asks (pending evaluations) stay diverse: surrogates that support it condition on the
    pending architectures (GP: kriging believer); otherwise random acquisitions (Thompson) differ by
    themselves and deterministic ones rank candidates within one edit of a pending architecture last.

    The state is the history and the random generator; the fitted model is not stored but rebuilt
    deterministically (same data, same seed) after ``load_state_dict``, so resuming is exact.
    """

    name = "model_based"
    multi_objective = False
    transient = ("_model", "_surrogate_template")

    def __init__(self, space: SearchSpace | str, seed: int | None = None, dedup: bool = True,
                 surrogate: SurrogateSpec = "gp", acquisition: str | dict | Acquisition = "ei",
                 optimizer: str | dict | AcquisitionOptimizer = "auto", n_initial: int = 10,
                 refit_every: int = 1, n_candidates: int = 8) -> None:
        space = as_space(space)  # a space name too, as get_strategy takes
        try:  # every part is built now, so a bad setting is refused before any evaluation
            check_int("n_initial", n_initial, 2)
            check_int("refit_every", refit_every, 1)
            check_int("n_candidates", n_candidates, 1)
            self._surrogate_template = make_surrogate(surrogate, space)
            self.acquisition = make_acquisition(acquisition)
            self.optimizer = make_optimizer(optimizer, space)
        except MissingDependencyError:  # names its feature and extra already, and stays one (defaults skip it)
            raise
        except UsageError as exc:
            raise UsageError(f"{self.name}: {exc}") from exc
        super().__init__(space, seed, dedup)
        self.surrogate_spec = surrogate
        self._parts_given = {"acquisition": acquisition, "optimizer": optimizer}  # as given: recorded_settings
        warn_no_uncertainty(self._surrogate_template, self.acquisition)
        self.n_initial, self.refit_every, self.n_candidates = n_initial, refit_every, n_candidates
        self.history: list[tuple[Architecture, float]] = []
        self.fit_size = 0  # results the current model was fitted on
        self.n_fits = 0
        self._model: Surrogate | None = None
        self._warned_nan = False  # an ask whose acquisition values were all NaN was warned about

    # -- ask / tell ------------------------------------------------------------------------------
    def _observe(self, arch: Architecture, score: Score) -> None:
        if score is None:
            return
        self.history.append((arch, float(score)))

    def _propose(self) -> Architecture:
        values = [y for _, y in self.history]
        if len(self.history) < self.n_initial or np.ptp(values) == 0:
            return self.space.sample(self.rng)
        model = self.model()
        ranked = [a for a, _ in sorted(self.history, key=lambda h: -h[1])]
        best = max(values)
        pending = list(self.pending.values())
        fantasies = pending if model.supports_pending else []
        all_nan: list[bool] = []  # per scored batch of this ask

        def score(archs: Sequence[Architecture]) -> np.ndarray:
            out = per_candidate(f"acquisition {type(self.acquisition).__name__}", "the scores it returned",
                                self.acquisition(model, archs, best, self.rng, fantasies), len(archs))
            all_nan.append(bool(np.isnan(out).all()))
            if pending and not model.supports_pending and self.acquisition.deterministic:
                out = self._penalize_near(out, archs, pending)
            return out

        ctx = SearchContext(self.space, ranked, self._scores, self.rng)
        candidates = self.optimizer.propose(score, ctx, self.n_candidates)
        if all_nan and all(all_nan):
            self._warn_all_nan()
        if not candidates:
            return self.space.sample(self.rng)
        if not _built_in(self.optimizer):  # a user's optimizer: its bug is named, not the space or _propose
            self._check_candidate(candidates[0])
        return candidates[0]

    def _check_candidate(self, arch: Any) -> None:
        """A UsageError naming the acquisition optimizer when ``arch``, its best candidate, is no architecture of
        the space (checked as the study checks a proposal)."""
        try:
            self.space.check(arch)
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            raise UsageError(f"{self.name}: acquisition optimizer {type(self.optimizer).__name__} proposed what is "
                             f"no architecture of space {self.space.name!r}: {exc}; its propose must return "
                             "architectures of ctx.space (e.g. ctx.space.sample(ctx.rng))") from None

    def _warn_all_nan(self) -> None:
        """Warn (once per strategy object) that an ask's acquisition values were all NaN: the optimizer's order
        alone chose the proposal, as a random search would. NaN is not refused: old studies must replay as they
        ran. Not while a study replays its stored asks (:func:`~nasforge.strategies.base.restoring`): a study loaded
        for inspection says nothing, and the run's first such ask warns."""
        if self._warned_nan or restoring():
            return
        self._warned_nan = True
        warnings.warn(f"{self.name}: acquisition {type(self.acquisition).__name__} scored every candidate NaN (with "
                      f"surrogate {type(self._model).__name__}), so the optimizer's order chose the proposal, as a "
                      "random search would; check that the surrogate's predictions and the acquisition are numbers",
                      UserWarning, stacklevel=user_stacklevel())

    # -- the model -------------------------------------------------------------------------------
    def model(self) -> Surrogate:
        """The surrogate, refitted if ``refit_every`` results arrived since the last fit."""
        n = len(self.history)
        if n < 2:
            raise UsageError(f"{self.name}: the model needs at least 2 finished results, got {n}")
        due = self.fit_size == 0 or n - self.fit_size >= self.refit_every
        if not due and self._model is not None:
            return self._model
        if due:
            self.fit_size, self.n_fits = n, self.n_fits + 1
        archs = [a for a, _ in self.history[: self.fit_size]]
        y = np.array([v for _, v in self.history[: self.fit_size]])
        self._model = fit_surrogate(self.new_surrogate(), archs, y, seed=(self.seed or 0) * 100_003 + self.n_fits)
        return self._model

    def new_surrogate(self) -> Surrogate:
        """An unfitted surrogate configured like this strategy's."""
        return copy.copy(self._surrogate_template)

    def _penalize_near(self, values: np.ndarray, archs: Sequence[Architecture],
                       pending: Sequence[Architecture]) -> np.ndarray:
        """Rank candidates within one edit (canonical categorical view) of a pending one last."""
        codes, near = categorical_codes(self.space, archs), np.zeros(len(archs), dtype=bool)
        for row in categorical_codes(self.space, pending):
            near |= (codes != row).sum(1) <= 1
        finite = values[np.isfinite(values)]
        return np.where(near, values - (np.ptp(finite) + 1.0 if finite.size else 1.0), values)

    # -- persistence -----------------------------------------------------------------------------
    def _settings(self, values: dict[str, Any]) -> dict[str, Any]:
        """The constructor's settings, also those a preset takes as ``**kwargs`` and the parts (described by
        their repr: a part object is compared by class and settings, a surrogate object by class)."""
        def described(value: Any) -> Any:
            if is_plain(value):
                return value
            return repr(value) if isinstance(value, (Acquisition, AcquisitionOptimizer)) else type(value).__name__

        parts = ("surrogate_spec", "acquisition", "optimizer", "n_initial", "refit_every", "n_candidates")
        return {**super()._settings(values), **{k: described(values[k]) for k in parts if k in values}}

    def _left_out(self) -> set[str]:
        """Also the once-only warning's flag and the parts as given, which states saved before them lack."""
        return super()._left_out() | {"_warned_nan", "_parts_given"}

    def recorded_settings(self) -> dict[str, Any] | None:
        """The settings a stored study records to rebuild this strategy (``Study.load``, ``nasforge resume``):
        the constructor's, with the surrogate, acquisition and optimizer as given (kept under other names, or built
        into objects, so :func:`~nasforge.settings.constructor_settings` cannot read them back); None when one was
        given as an object, or for a subclass with a constructor of its own (its arguments are read back as any
        strategy's)."""
        settings, complete = constructor_settings(self)
        given = getattr(self, "_parts_given", None)
        if not owned_by_nasforge(self) or given is None:
            return settings if complete else None
        parts = {"dedup": self.dedup, "surrogate": self.surrogate_spec, **given, "n_initial": self.n_initial,
                 "refit_every": self.refit_every, "n_candidates": self.n_candidates}
        return {**settings, **parts} if all(is_plain(v) for v in parts.values()) else None

    def compared_settings(self, recorded: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """The settings a stored study compares when it is continued with this object (``Study.load(...,
        strategy=...)``, ``load_if_exists``): this object's, or with ``recorded`` those a study recorded (parts as
        given), with the parts described by the objects they build (:func:`described_part`) and numpy numbers as
        Python's, so that the same setting spelled otherwise ("ei", ``{"name": "ei"}``, an ``ExpectedImprovement()``
        object, ``np.int64(3)``) compares equal. A subclass with a constructor of its own compares as any
        strategy (its :meth:`recorded_settings`)."""
        if not owned_by_nasforge(self) or getattr(self, "_parts_given", None) is None:
            return self.recorded_settings() if recorded is None else recorded
        if recorded is None:
            values: dict[str, Any] = {"dedup": self.dedup, "n_initial": self.n_initial, "refit_every": self.refit_every,
                                      "n_candidates": self.n_candidates}
            built = {"surrogate": self._surrogate_template, "acquisition": self.acquisition,
                     "optimizer": self.optimizer}
        else:
            values, built = dict(recorded), {}
            makers = {"surrogate": lambda spec: make_surrogate(spec, self.space), "acquisition": make_acquisition,
                      "optimizer": lambda spec: make_optimizer(spec, self.space)}
            for key, make in makers.items():
                if key in values and is_plain(values[key]):
                    try:
                        built[key] = make(values[key])
                    except (UsageError, ValueError, TypeError, KeyError):  # compared as recorded
                        continue
        return {**{k: _python(v) for k, v in values.items()}, **{k: described_part(v) for k, v in built.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._model = None
        self._surrogate_template = remake_surrogate(self.surrogate_spec, self.space)  # as built
