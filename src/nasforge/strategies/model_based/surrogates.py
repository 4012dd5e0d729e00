"""Surrogates: models of architecture -> score with a mean and a standard deviation.

A :class:`Surrogate` is fitted on architectures and their scores (higher is better) and predicts
``(mean, std)`` for any architectures; ``sample`` draws one posterior function value per candidate
for Thompson sampling. Adapters turn nasforge predictors into surrogates:

* :class:`PredictorSurrogate` - any predictor with ``predict_std`` (``rf``, ``gp``, ``ngb``, ``mlp``);
* :class:`EnsembleSurrogate` - any predictor, ``n_members`` copies on bootstrap resamples; the spread
  of the members is the uncertainty (BANANAS); a Thompson draw is Gaussian per candidate;
* :class:`GPSurrogate` - an exact Gaussian process in NumPy/SciPy with a categorical (Hamming)
  kernel on the space's categorical view or an RBF/Matern kernel on an encoding; pending
  architectures are conditioned on as fantasies (kriging believer);
* :class:`ResidualSurrogate` - a bootstrap ensemble whose mean is corrected by a second model (by
  default a Hamming GP) fitted on the ensemble's out-of-bag residuals (regression kriging);
* :class:`WarpedSurrogate` - any surrogate fitted on a monotone transform of the scores (``copula``,
  ``log_error``) that stretches the top; predictions are mapped back;
* :class:`SaasSurrogate` - a GP with BoTorch's SAAS prior, fitted by MAP (default) or NUTS (lazy torch import);
* :class:`KnownSurrogate` - an objective computed from the architecture (``costs.COSTS``), exactly.
"""

from __future__ import annotations

import contextvars
import copy
import warnings
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from ...checks import SEED_LIMIT, check_bool, check_int, check_real, is_real
from ...exceptions import NotFittedError, UsageError, user_stacklevel
from ...extras import check_installed, require
from ...registry import Registry
from ...spaces import Architecture, SearchSpace
from ..base import _cached, _remember, restoring, restoring_stored_settings

SURROGATES: Registry[type[Surrogate]] = Registry("surrogate")


class Surrogate(ABC):
    """A fitted model of the score; subclasses implement ``fit`` and ``predict``."""

    name = "surrogate"
    supports_pending = False  # True: ``predict(..., pending=)`` accounts for running evaluations itself

    def __init__(self, space: SearchSpace) -> None:
        self.space = space

    @abstractmethod
    def fit(self, archs: Sequence[Architecture], y: np.ndarray, seed: int) -> Surrogate:
        """Train on architectures and their scores (higher is better)."""

    @abstractmethod
    def predict(self, archs: Sequence[Architecture],
                pending: Sequence[Architecture] = ()) -> tuple[np.ndarray, np.ndarray]:
        """Predictive mean and standard deviation per architecture."""

    def sample(self, archs: Sequence[Architecture], rng: np.random.Generator,
               pending: Sequence[Architecture] = ()) -> np.ndarray:
        """One Thompson draw per architecture (default: independent normal draws)."""
        mean, std = self.predict(archs, pending)
        return mean + std * rng.standard_normal(len(mean))


def per_candidate(part: str, what: str, values: Any, n: int) -> np.ndarray:
    """``values`` as a float array of one value per candidate (``n`` of them); a ``UsageError`` naming ``part``
    (e.g. ``"surrogate MySurrogate"``) when it has another shape or is not numeric. NaN passes (ranked as it falls):
    a stored study whose model learnt from a score older releases took (1e200) gives NaN for every candidate, and
    its replay must go on as it ran."""
    try:
        out = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise UsageError(f"{part}: {what}: not an array of numbers: {values!r:.80}") from None
    if out.shape != (n,):
        raise UsageError(f"{part}: {what}: shape {out.shape} for {n} architectures, expected ({n},) "
                         "(one value per architecture)")
    return out


def fit_surrogate(template: Surrogate, archs: Sequence[Architecture], y: np.ndarray, seed: int) -> Surrogate:
    """``template.fit(archs, y, seed)``, checked: ``fit`` must return the fitted surrogate (a ``UsageError`` names
    the class otherwise), and a user's own ``predict`` and ``sample`` are checked on each call
    (:func:`check_calls`)."""
    part = f"surrogate {type(template).__name__}"
    model = _unchecked(template).fit(archs, y, seed=seed)
    if not isinstance(model, Surrogate):
        raise UsageError(f"{part}: fit returned {type(model).__name__}, not the fitted surrogate "
                         "(end fit with 'return self')")
    return check_calls(model)


def fit_part(inner: Surrogate, archs: Sequence[Architecture], y: np.ndarray, seed: int) -> Surrogate:
    """A surrogate inside another (``warped``'s inner, ``residual``'s base and correction), fitted as it always was
    (``copy(inner).fit(archs, y, seed)``: a copy of the outer surrogate, ``new_surrogate``, must not refit its
    original's inner one), a user's own ``predict`` and ``sample`` checked on each call like a strategy's
    surrogate (:func:`check_calls`), so an error names the user's surrogate, not the one around it."""
    return check_calls(_unchecked(copy.copy(inner)).fit(archs, y, seed))


def _unchecked(model: Surrogate) -> Surrogate:
    """``model`` without the checks :func:`check_calls` gave it (a shallow copy's would call its original), its own
    ``predict``/``sample`` attributes put back where it had them: its ``fit`` calls its own methods, as unchecked."""
    for name in _ANSWER_CHECKS:
        checked = vars(model).get(name)
        if isinstance(checked, _CheckedCall):
            if checked.replaced is None:
                delattr(model, name)
            else:
                setattr(model, name, checked.replaced)
    return model


def check_calls(model: Any) -> Any:
    """``model`` whose ``predict`` and ``sample``, where a user wrote them (not nasforge), are checked on each call
    (:class:`_CheckedCall`), not probed by an extra call (which would draw from the surrogate's own random state, or
    evict nasforge's cached candidate inputs): a user's model sees exactly the calls it saw unchecked."""
    part = f"surrogate {type(model).__name__}"
    for name, check in _ANSWER_CHECKS.items():
        written_in = getattr(getattr(type(model), name, None), "__module__", None) or "nasforge"
        if written_in.split(".")[0] != "nasforge" and not isinstance(vars(model).get(name), _CheckedCall):
            setattr(model, name, _CheckedCall(model, name, part, check))
    return model


class _CheckedCall:
    """``model.<name>(archs, ...)`` whose answer is checked by ``check(part, answer, len(archs))`` and passed on
    unchanged. An object, not a closure: a deep copy or a pickle of the model carries it along calling the copy (a
    closure would call the original, drawing from its random state), and it keeps what it replaced (an attribute
    the user's model set on itself) to put back (:func:`_unchecked`)."""

    def __init__(self, model: Any, name: str, part: str, check: Callable[[str, Any, int], Any]) -> None:
        self.model, self.name, self.part, self.check = model, name, part, check
        self.replaced = vars(model).get(name)

    def __call__(self, archs: Sequence[Architecture], *args: Any, **kwargs: Any) -> Any:
        method = self.replaced if self.replaced is not None else _class_attribute(self.model, self.name)
        answer = method(archs, *args, **kwargs)
        self.check(self.part, answer, len(archs))
        return answer


def _class_attribute(model: Any, name: str) -> Any:
    """``model.<name>`` as its class gives it, past the instance's own attribute (the check in its place): a method
    bound to ``model``, a staticmethod's function, a classmethod bound to the class, a callable without ``__get__``
    (a ``functools.partial``) as it is."""
    import inspect

    raw = inspect.getattr_static(type(model), name)
    return raw.__get__(model, type(model)) if hasattr(type(raw), "__get__") else raw


def _check_prediction(part: str, prediction: Any, n: int) -> None:
    """A pair (mean, std), the mean one number per architecture, the std the same where it is an array (a single
    number or None, which an acquisition may not read, as it is)."""
    if not isinstance(prediction, (tuple, list)) or len(prediction) != 2:
        raise UsageError(f"{part}: predict must return a pair (mean, std), got {type(prediction).__name__}")
    per_candidate(part, "predict's mean", prediction[0], n)
    if np.ndim(prediction[1]) > 0:
        per_candidate(part, "predict's std", prediction[1], n)


def _check_draws(part: str, draws: Any, n: int) -> None:
    """One Thompson draw per architecture; a column of them (``(n, 1)``), or one number for one architecture,
    passes too: ``ts_hvi`` stacks the draws as columns, which has always read those the same."""
    try:
        column = np.shape(draws) in ((n, 1), ())
    except ValueError:  # a ragged list: per_candidate names it
        column = False
    per_candidate(part, "sample's draws", np.ravel(draws) if column else draws, n)


_ANSWER_CHECKS: dict[str, Callable[[str, Any, int], Any]] = {"predict": _check_prediction, "sample": _check_draws}
"""The calls into a user's surrogate that are checked, and how."""


def check_predictor(space: SearchSpace, name: str, encoding: str, params: dict[str, Any]) -> None:
    """Build the predictor a surrogate will fit, so an unknown name or a bad parameter is a ``UsageError``
    when the surrogate is made, not at the first fit (after real evaluations)."""
    from ...predictors import get_predictor
    from ...predictors.registry import refuse_seed

    refuse_seed(params, f"surrogate {name!r}", "the strategy's seed seeds its surrogate (leave 'seed' out)")
    get_predictor(name, space, encoding=encoding, seed=0, **params)


def encoding_for(space: SearchSpace, preferred: str) -> str:
    """``preferred`` if the space has a graph view for it, else the space's own one-hot; a
    ``UsageError`` names the encodings when ``preferred`` is none of them."""
    from ...predictors.encodings import ENCODINGS
    from ...predictors.graphs import graph_view

    if preferred not in ENCODINGS:
        raise UsageError(f"unknown encoding {preferred!r}; choose from {', '.join(ENCODINGS)}")
    if preferred == "onehot":
        return preferred
    try:
        graph_view(space)
    except (KeyError, TypeError, ValueError):
        return "onehot"
    return preferred


@SURROGATES.register("predictor", builtin=True)
class PredictorSurrogate(Surrogate):
    """Any nasforge predictor; ``std`` from its ``predict_std`` (``rf``, ``gp``, ``ngb``, ``mlp``), zero
    for point predictors (``lgb``, ``xgb``: use them with the greedy ``mean`` acquisition)."""

    name = "predictor"

    def __init__(self, space: SearchSpace, predictor: str = "rf", encoding: str = "features",
                 **params: Any) -> None:
        super().__init__(space)
        self.predictor, self.encoding, self.params = predictor, encoding_for(space, encoding), params
        check_predictor(space, predictor, self.encoding, params)
        self._model = None

    @property
    def point_predictions(self) -> bool:
        """Whether the predictor gives no uncertainty (std 0: acquisitions that explore through it are greedy)."""
        from ...predictors import PREDICTORS

        return not getattr(PREDICTORS.get(self.predictor), "has_uncertainty", True)

    def fit(self, archs: Sequence[Architecture], y: np.ndarray, seed: int) -> PredictorSurrogate:
        from ...predictors import get_predictor

        self._model = get_predictor(self.predictor, self.space, encoding=self.encoding, seed=seed, **self.params)
        self._model.fit(archs, y)
        return self

    def predict(self, archs, pending=()):
        if self._model is None:
            raise NotFittedError("surrogate is not fitted")
        mean = self._model.predict(archs)
        if not self._model.has_uncertainty:  # a point predictor: greedy acquisitions only
            return mean, np.zeros_like(mean)
        return mean, self._model.predict_std(archs)


@SURROGATES.register("ensemble", builtin=True)
class EnsembleSurrogate(Surrogate):
    """``n_members`` copies of any predictor, each on a bootstrap resample (``bootstrap=True``) and
    with its own seed. Mean and std over the members; a Thompson draw is ``mean + std * N(0, 1)``, drawn
    independently per candidate (not one random member).

    The members' spread understates the error (on NB201, held-out errors are 2-3 times it).
    ``std_scale`` multiplies the std by a number, or with ``"oob"`` by a factor estimated at each fit
    from the out-of-bag errors (:func:`oob_std_scale`; needs ``bootstrap``)."""

    name = "ensemble"

    def __init__(self, space: SearchSpace, predictor: str = "lgb", n_members: int = 5, bootstrap: bool = True,
                 encoding: str = "features", std_scale: float | str = 1.0, **params: Any) -> None:
        super().__init__(space)
        n_members = check_int("n_members", n_members, 2)
        check_bool("bootstrap", bootstrap)
        if std_scale == "oob" and not bootstrap:
            raise UsageError("std_scale='oob' needs bootstrap=True: without resamples there is no out-of-bag error")
        if std_scale != "oob" and not (is_real(std_scale) and std_scale > 0):
            raise UsageError(f"std_scale must be a finite positive number or 'oob', got {std_scale!r}")
        self.predictor, self.n_members, self.bootstrap, self.std_scale = predictor, n_members, bootstrap, std_scale
        self.scale = 1.0 if std_scale == "oob" else float(std_scale)
        self.encoding, self.params = encoding_for(space, encoding), params
        check_predictor(space, predictor, self.encoding, params)
        self._members: list = []
        self._cache = _SameList()
        self._in_bag: np.ndarray | None = None  # members x training rows: which rows each member was fitted on
        self._fitted_on: list[Architecture] = []

    def fit(self, archs: Sequence[Architecture], y: np.ndarray, seed: int) -> EnsembleSurrogate:
        from ...predictors import get_predictor

        rng = np.random.default_rng(seed)
        archs, y = list(archs), np.asarray(y, dtype=float)
        self._members, self._cache = [], _SameList()
        in_bag = np.zeros((self.n_members, len(y)), dtype=bool)
        for m in range(self.n_members):
            rows = rng.integers(len(y), size=len(y)) if self.bootstrap else np.arange(len(y))
            if np.ptp(y[rows]) == 0:  # a degenerate resample: use all data
                rows = np.arange(len(y))
            in_bag[m, rows] = True
            model = get_predictor(self.predictor, self.space, encoding=self.encoding, seed=seed * 1000 + m,
                                  **self.params)
            self._members.append(model.fit([archs[i] for i in rows], y[rows]))
        self._in_bag, self._fitted_on = in_bag, archs
        if self.std_scale == "oob":
            self.scale = oob_std_scale(self._on_training(), in_bag, y)
        return self

    def _on_training(self) -> np.ndarray:
        """Every member's predictions on the training rows (members x rows)."""
        return np.stack([m.predict(self._fitted_on) for m in self._members])

    def out_of_bag(self) -> np.ndarray:
        """Per training row, the mean prediction of the members that were not fitted on it."""
        if self._in_bag is None:
            raise NotFittedError("surrogate is not fitted")
        return out_of_bag_mean(self._on_training(), self._in_bag)

    def _member_predictions(self, archs: Sequence[Architecture]) -> np.ndarray:
        if not self._members:
            raise NotFittedError("surrogate is not fitted")
        # the exhaustive optimizer passes the same list object every ask: predict it once per fit
        cached = self._cache.get(archs)
        return cached if cached is not None else self._cache.put(archs, np.stack([m.predict(archs)
                                                                                 for m in self._members]))

    def predict(self, archs, pending=()):
        preds = self._member_predictions(archs)
        return preds.mean(0), self.scale * preds.std(0)

    def sample(self, archs, rng, pending=()):
        mean, std = self.predict(archs)
        return mean + std * rng.standard_normal(len(mean))


def out_of_bag_mean(predictions: np.ndarray, in_bag: np.ndarray) -> np.ndarray:
    """Per training row, the mean prediction of the members that were not fitted on it (all members'
    mean for a row every member saw). ``predictions`` and ``in_bag``: members x rows."""
    out = ~in_bag
    k = out.sum(0)
    return np.where(k > 0, (predictions * out).sum(0) / np.maximum(k, 1), predictions.mean(0))


@SURROGATES.register("residual", builtin=True)
class ResidualSurrogate(Surrogate):
    """A bootstrap ensemble (``base``) plus a ``correction`` model fitted on its out-of-bag residuals
    (regression kriging): mean = base mean + correction mean, std = the base's std.

    Tree ensembles shrink the best architectures towards the average (on NB201 the best cell of a
    cost level is typically predicted 1.5-2.5 points low with a std of 0.3) and the Hamming GP on the
    residuals lifts the cells near evaluated ones that the trees under-predicted. The correction's own
    std is not added: it widens the intervals far from the data, and searches driven by them explore
    too much (docs/strategies.md). ``base`` must be an ``ensemble`` with ``bootstrap=True``.
    """

    name = "residual"

    def __init__(self, space: SearchSpace, base: str | dict[str, Any] | None = None,
                 correction: str | dict[str, Any] | None = None) -> None:
        super().__init__(space)
        base = base or {"name": "ensemble", "predictor": "lgb", "n_members": 5, "n_estimators": 100,
                        "learning_rate": 0.1, "num_leaves": 7, "min_child_samples": 2, "colsample_bytree": 0.5,
                        "encoding": "computed"}
        self.base = make_surrogate(base, space)
        if not isinstance(self.base, EnsembleSurrogate) or not self.base.bootstrap:
            raise UsageError("the residual surrogate's base must be an 'ensemble' with bootstrap=True "
                             f"(its out-of-bag predictions give the residuals), got {base!r}")
        self.correction = make_surrogate(correction or {"name": "gp", "kernel": "hamming"}, space)
        self._cache = _SameList()

    def fit(self, archs: Sequence[Architecture], y: np.ndarray, seed: int) -> ResidualSurrogate:
        y = np.asarray(y, dtype=float)
        self.base = fit_part(self.base, archs, y, seed)
        self.correction = fit_part(self.correction, archs, y - self.base.out_of_bag(), seed + 1)
        self._cache = _SameList()
        return self

    def predict(self, archs, pending=()):
        cached = self._cache.get(archs)
        if cached is None:
            mean, std = self.base.predict(archs)
            cached = self._cache.put(archs, (mean + self.correction.predict(archs)[0], std))
        return cached


@SURROGATES.register("warped", builtin=True)
class WarpedSurrogate(Surrogate):
    """Any surrogate (``inner``, default ``residual``) fitted on a monotone transform ``t = g(y)`` of
    the scores that stretches the top and squashes the bad tail (as HEBO and Gaussian-copula BO do);
    predictions are mapped back.

    ``transform="copula"``: ``t = Phi^-1((rank(y) - 0.5) / n)`` (ties get their average rank); ``y`` from
    ``t`` by linear interpolation between the training points, extended beyond the ends by the slope
    over the last ``tail`` distinct scores, so a prediction above the best score stays above it.
    ``transform="log_error"``: ``t = -log(c - y)`` with ``c = bound`` if given (e.g. 100 for an
    accuracy in percent), else the best score plus ``margin`` times the range; ``y = c - exp(-t)``.

    ``predict``: mean ``g^-1(mean_t)``; std ``std_t`` times the slope of ``g^-1`` over
    ``mean_t +- std_t`` (the delta method, by a secant, since ``g^-1`` may be piecewise linear).
    ``sample`` draws in ``t`` with the inner surrogate and maps each draw back (exact). ``pending``
    passes through to the inner surrogate.
    """

    name = "warped"
    TRANSFORMS = ("copula", "log_error")

    def __init__(self, space: SearchSpace, inner: str | dict[str, Any] | None = None, transform: str = "copula",
                 margin: float = 0.01, bound: float | None = None, tail: int = 5) -> None:
        super().__init__(space)
        if transform not in self.TRANSFORMS:
            raise UsageError(f"warped surrogate: unknown transform {transform!r}; "
                             f"choose from {', '.join(self.TRANSFORMS)}")
        check_real("warped surrogate: margin", margin, lambda m: m > 0, "a positive number")
        if bound is not None:
            check_real("warped surrogate: bound", bound, lambda b: True, "a finite number or None")
        tail = check_int("warped surrogate: tail", tail, 2)
        self.inner = make_surrogate(inner or {"name": "residual"}, space)
        self.supports_pending = self.inner.supports_pending
        self.transform, self.margin = transform, float(margin)
        self.bound, self.tail = None if bound is None else float(bound), tail
        self._knots: tuple[np.ndarray, np.ndarray] | None = None  # copula: (t, y), both increasing
        self._c: float | None = None  # log_error: the ceiling

    @property
    def point_predictions(self) -> bool:
        """Whether the inner surrogate gives no uncertainty (a warp maps std 0 to std 0)."""
        return getattr(self.inner, "point_predictions", False)

    @property
    def predictor(self) -> str:
        """The inner surrogate's predictor (or its name), for messages."""
        return getattr(self.inner, "predictor", self.inner.name)

    def forward(self, y: np.ndarray) -> np.ndarray:
        """``g(y)``: the training scores' transform (copula: only defined on them and between them)."""
        y = np.asarray(y, dtype=float)
        if self.transform == "log_error":
            return -np.log(self._c - y)
        knots_t, knots_y = self._knots
        return np.interp(y, knots_y, knots_t)

    def inverse(self, t: np.ndarray) -> np.ndarray:
        """``g^-1(t)``, monotone increasing."""
        t = np.asarray(t, dtype=float)
        if self.transform == "log_error":
            return self._c - np.exp(-t)
        knots_t, knots_y = self._knots
        if len(knots_t) == 1:
            return np.full_like(t, knots_y[0])
        k = min(self.tail, len(knots_t)) - 1
        low = (knots_y[k] - knots_y[0]) / (knots_t[k] - knots_t[0])
        high = (knots_y[-1] - knots_y[-1 - k]) / (knots_t[-1] - knots_t[-1 - k])
        return np.where(t < knots_t[0], knots_y[0] + low * (t - knots_t[0]),
                        np.where(t > knots_t[-1], knots_y[-1] + high * (t - knots_t[-1]),
                                 np.interp(t, knots_t, knots_y)))

    def fit(self, archs: Sequence[Architecture], y: np.ndarray, seed: int) -> WarpedSurrogate:
        from scipy.stats import norm, rankdata

        y = np.asarray(y, dtype=float)
        if self.transform == "log_error":
            self._c = float(self.bound) if self.bound is not None else \
                float(y.max() + self.margin * max(np.ptp(y), 1e-9))
            if y.max() >= self._c:
                raise UsageError(f"warped surrogate: bound {self.bound} must be above every score "
                                 f"(the best is {y.max()})")
            t = self.forward(y)
        else:
            t = norm.ppf((rankdata(y) - 0.5) / len(y))  # ties: average ranks, so equal scores get equal t
            knots_y, first = np.unique(y, return_index=True)
            self._knots = (t[first], knots_y)
        self.inner = fit_part(self.inner, archs, t, seed)
        return self

    def predict(self, archs, pending=()):
        if self._knots is None and self._c is None:
            raise NotFittedError("surrogate is not fitted")
        mean_t, std_t = self.inner.predict(archs, pending)
        mean = self.inverse(mean_t)
        step = np.maximum(std_t, 1e-6)
        slope = (self.inverse(mean_t + step) - self.inverse(mean_t - step)) / (2 * step)
        return mean, std_t * slope

    def sample(self, archs, rng, pending=()):
        if self._knots is None and self._c is None:
            raise NotFittedError("surrogate is not fitted")
        return self.inverse(self.inner.sample(archs, rng, pending))


def oob_std_scale(predictions: np.ndarray, in_bag: np.ndarray, y: np.ndarray) -> float:
    """The factor that makes an ensemble's std match its out-of-bag errors (at least 1).

    ``predictions`` (members x n) on the training rows, ``in_bag`` (members x n) marks the rows each
    member was fitted on. For each row some members did not see, its error against their mean is
    compared with the spread of all members; the robust scale (median absolute ratio / 0.6745) is
    corrected for the noise of a mean of ``k`` out-of-bag members (``s^2 = raw^2 - median(1/k)``).
    """
    k = (~in_bag).sum(0)
    spread = predictions.std(0)
    rows = (k > 0) & (spread > 0)
    if rows.sum() < 5:  # too few out-of-bag rows to estimate a scale
        return 1.0
    oob_mean = out_of_bag_mean(predictions, in_bag)[rows]
    raw = np.median(np.abs(y[rows] - oob_mean) / spread[rows]) / 0.6745
    return float(np.sqrt(max(raw ** 2 - np.median(1.0 / k[rows]), 1.0)))


_CODES: dict[int, tuple[weakref.ref, dict[Architecture, tuple[int, ...]]]] = {}  # id(space) -> (it, arch -> codes)
CODES_KEPT = 1 << 18
"""The most architectures whose codes are kept per space (the cache starts over when full)."""


def _codes_of(space: SearchSpace, arch: Architecture, kept: dict[Architecture, tuple[int, ...]]) -> tuple[int, ...]:
    """The categorical codes of ``arch``'s canonical form, kept in ``kept`` (``space``'s cache)."""
    codes = kept.get(arch)
    if codes is None:
        if len(kept) >= CODES_KEPT:
            kept.clear()
        params = space.categorical_params()
        view = space.to_params(space.canonical(arch))
        codes = kept[arch] = tuple(choices.index(view[name]) for name, choices in params.items())
    return codes


def categorical_codes(space: SearchSpace, archs: Sequence[Architecture]) -> np.ndarray:
    """Integer matrix of the canonical forms' categorical views (one column per parameter; cached while ``space``
    lives: the cache keeps no space alive)."""
    n_params = len(space.categorical_params())
    kept = _cached(_CODES, space)
    if kept is None:
        kept = _remember(_CODES, space, {})
    return np.array([_codes_of(space, a, kept) for a in archs], dtype=np.int16).reshape(len(archs), n_params)


def categorical_onehot(space: SearchSpace, archs: Sequence[Architecture]) -> np.ndarray:
    """One-hot of the canonical categorical view, parameters side by side."""
    sizes = [len(c) for c in space.categorical_params().values()]
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    onehot = np.zeros((len(archs), int(sum(sizes))))
    np.put_along_axis(onehot, categorical_codes(space, archs).astype(np.int64) + offsets, 1.0, axis=1)
    return onehot


class _SameList:
    """Remembers one value computed for one list object (the exhaustive candidate list is reused)."""

    def __init__(self) -> None:
        self.key: object = None
        self.value: Any = None

    def get(self, archs: Sequence[Architecture]) -> Any:
        return self.value if self.key is archs else None

    def put(self, archs: Sequence[Architecture], value: Any) -> Any:
        self.key, self.value = archs, value  # holding the list keeps its identity unique
        return value


@SURROGATES.register("gp", builtin=True)
class GPSurrogate(Surrogate):
    """Exact GP regression in NumPy/SciPy on standardized scores.

    ``kernel="hamming"``: ``k(x, x') = a * exp(-w * #differing parameters)`` on the canonical
    categorical view; ``"rbf"`` or ``"matern"`` on the ``encoding`` (columns standardized). The
    weight (or length scale) and the noise are picked from a grid by log marginal likelihood on at
    most ``max_opt_points`` points, with the amplitude ``a`` profiled out in closed form; the
    posterior then uses every point. ``predict(..., pending=)`` adds the pending architectures as
    fantasies at the posterior mean (kriging believer): the variance shrinks around them, so
    parallel asks spread out.
    """

    name = "gp"
    supports_pending = True
    NOISE_GRID = (1e-3, 1e-2, 0.05, 0.2)

    def __init__(self, space: SearchSpace, kernel: str = "hamming", encoding: str | None = None,
                 max_opt_points: int = 100) -> None:
        super().__init__(space)
        if kernel not in ("hamming", "rbf", "matern"):
            raise UsageError(f"gp surrogate: unknown kernel {kernel!r}; choose from hamming, rbf, matern")
        if kernel == "hamming" and encoding is not None and restoring():
            # older versions took an encoding beside the hamming kernel and ignored it: such a study loads as it did
            if not _REMAKING.get():  # said once, as the strategy was built
                warnings.warn(f"gp surrogate: encoding {encoding!r} (stored by an older version) is ignored by the "
                              f"hamming kernel, as then", UserWarning, stacklevel=user_stacklevel())
        elif kernel == "hamming" and encoding is not None:
            raise UsageError(f"gp surrogate: encoding {encoding!r} needs kernel 'rbf' or 'matern' "
                             "(the hamming kernel works on the categorical view)")
        check_int("gp surrogate: max_opt_points", max_opt_points, 1)
        self.kernel, self.max_opt_points = kernel, max_opt_points
        self.encoding = encoding_for(space, "features" if encoding is None else encoding)
        self._fit: dict[str, Any] | None = None
        self._candidates = _SameList()  # inputs of the exhaustive candidate list, shared by refits

    def _inputs(self, archs: Sequence[Architecture]) -> np.ndarray:
        if self.kernel == "hamming":
            return categorical_onehot(self.space, archs)
        from ...predictors import encode

        return encode(self.space, archs, self.encoding).astype(np.float64)

    def _distance(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Differing parameters (hamming) or squared Euclidean distance."""
        if self.kernel == "hamming":
            return len(self.space.categorical_params()) - a @ b.T
        return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T, 0.0)

    def _correlation(self, dist: np.ndarray, scale: float) -> np.ndarray:
        if self.kernel == "hamming":
            return np.exp(-scale * dist)
        d2 = dist / scale ** 2
        if self.kernel == "rbf":
            return np.exp(-0.5 * d2)
        r = np.sqrt(5.0 * d2)
        return (1.0 + r + r * r / 3.0) * np.exp(-r)

    def _scale_grid(self, dim: int) -> np.ndarray:
        if self.kernel == "hamming":
            return np.array([0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.5])
        return np.sqrt(dim) * np.array([0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.5, 4.0])

    def fit(self, archs: Sequence[Architecture], y: np.ndarray, seed: int) -> GPSurrogate:
        from scipy.linalg import LinAlgError, cho_factor, cho_solve

        y = np.asarray(y, dtype=float)
        y_mean, y_scale = float(y.mean()), float(y.std()) or 1.0
        z = (y - y_mean) / y_scale
        x = self._inputs(archs)
        if self.kernel == "hamming":
            x_mean, x_scale = np.zeros(x.shape[1]), np.ones(x.shape[1])
        else:
            x_mean, x_scale = x.mean(0), np.where(x.std(0) > 0, x.std(0), 1.0)
        x = (x - x_mean) / x_scale
        rows = np.random.default_rng(seed).permutation(len(z))[: self.max_opt_points]
        dist_opt, z_opt = self._distance(x[rows], x[rows]), z[rows]
        best = (np.inf, 1.0, 0.05, 1.0)
        for scale in self._scale_grid(x.shape[1]):
            corr = self._correlation(dist_opt, scale)
            for noise in self.NOISE_GRID:
                try:
                    factor = cho_factor(corr + noise * np.eye(len(z_opt)), lower=True)
                except LinAlgError:
                    continue
                amp = max(float(z_opt @ cho_solve(factor, z_opt)) / len(z_opt), 1e-6)  # profiled amplitude
                nll = 0.5 * len(z_opt) * np.log(amp) + np.log(np.diag(factor[0])).sum()
                if nll < best[0]:
                    best = (nll, scale, noise, amp)
        _, scale, noise, amp = best
        k = amp * (self._correlation(self._distance(x, x), scale) + (noise + 1e-8) * np.eye(len(z)))
        factor = cho_factor(k, lower=True)
        self._fit = {"x": x, "z": z, "scale": scale, "noise": noise, "amp": amp, "factor": factor,
                     "alpha": cho_solve(factor, z), "x_mean": x_mean, "x_scale": x_scale,
                     "y_mean": y_mean, "y_scale": y_scale}
        return self

    def _k(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        fit = self._fit
        return fit["amp"] * self._correlation(self._distance(a, b), fit["scale"])

    def _standardized(self, archs: Sequence[Architecture]) -> np.ndarray:
        fit = self._fit
        if self.kernel == "hamming":  # no column scaling: cache across refits
            cached = self._candidates.get(archs)
            return cached if cached is not None else self._candidates.put(archs, self._inputs(archs))
        return (self._inputs(archs) - fit["x_mean"]) / fit["x_scale"]

    def predict(self, archs, pending=()):
        from scipy.linalg import cho_factor, cho_solve, solve_triangular

        if self._fit is None:
            raise NotFittedError("surrogate is not fitted")
        if len(archs) == 0:  # the encoders need at least one row to know the width
            return np.zeros(0), np.zeros(0)
        fit = self._fit
        xs = self._standardized(archs)
        x, alpha, factor = fit["x"], fit["alpha"], fit["factor"]
        if len(pending):
            xp = (self._inputs(list(pending)) - fit["x_mean"]) / fit["x_scale"]
            zp = self._k(xp, x) @ alpha  # believed values: the posterior mean
            x = np.vstack([x, xp])
            factor = cho_factor(self._k(x, x) + fit["amp"] * (fit["noise"] + 1e-8) * np.eye(len(x)), lower=True)
            alpha = cho_solve(factor, np.concatenate([fit["z"], zp]))
        k_star = self._k(xs, x)
        mean = k_star @ alpha
        v = solve_triangular(factor[0], k_star.T, lower=True, check_finite=False)
        var = np.maximum(fit["amp"] - (v * v).sum(0), 1e-12)
        return mean * fit["y_scale"] + fit["y_mean"], np.sqrt(var) * fit["y_scale"]


@contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Torch on one thread inside (the process keeps its own count): on a GP's small matrices more threads
    cost several times the CPU time (and more wall time on a busy machine) without speeding anything up."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@SURROGATES.register("saas", builtin=True)
class SaasSurrogate(Surrogate):
    """A GP with BoTorch's SAAS prior (sparse axis-aligned subspace: half-Cauchy shrinkage of the
    inverse length scales, so only the dimensions that matter stay active), on an encoding.

    ``inference`` picks how the hyper-parameters are found:

    * ``"map"`` (default): BoTorch's MAP-SAAS model (``get_fitted_map_saas_model``: Matern-5/2,
      the global shrinkage ``tau`` with its HC(0.1) prior, all fitted by L-BFGS-B on the log
      posterior, at most ``maxiter`` iterations, ``None``: BoTorch's default); a fraction of a second;
    * ``"ensemble"``: ``EnsembleMapSaasSingleTaskGP``, ``num_taus`` MAP fits with fixed ``tau``
      drawn from HC(0.1), mixed with equal weights;
    * ``"nuts"``: the fully Bayesian ``SaasFullyBayesianSingleTaskGP`` sampled by NUTS
      (``warmup``/``num_samples``/``thinning``; NumPyro/JAX; tens of seconds per fit).

    At most ``max_train`` training points are used (the best half and a random rest); constant
    columns are dropped. Predictions (moments of the mixture over hyper-parameter samples or taus)
    are computed from the kernel in one batched solve, and cached for the exhaustive candidate list
    until the next fit. Needs ``pip install 'nasforge[bo,torch]'``.
    """

    name = "saas"
    INFERENCE = ("map", "ensemble", "nuts")
    FEATURE = "the saas surrogate"

    def __init__(self, space: SearchSpace, encoding: str = "onehot", inference: str = "map", num_taus: int = 4,
                 maxiter: int | None = 50, warmup: int = 32, num_samples: int = 32, thinning: int = 8,
                 max_train: int = 100) -> None:
        super().__init__(space)
        if inference not in self.INFERENCE:
            raise UsageError(f"saas surrogate: unknown inference {inference!r}; "
                             f"choose from {', '.join(self.INFERENCE)}")
        # now, not at the first fit after real evaluations; torch named too: [bo] alone takes an unpinned torch
        if inference == "nuts":  # NUTS runs in NumPyro/JAX, which BoTorch needs only at its first NUTS fit
            check_installed(("botorch", "torch", "jax", "numpyro"), f"{self.FEATURE}'s inference 'nuts'")
        else:
            check_installed(("botorch", "torch"), self.FEATURE)
        for name, value, low in (("num_taus", num_taus, 1), ("warmup", warmup, 0), ("num_samples", num_samples, 1),
                                 ("thinning", thinning, 1), ("max_train", max_train, 2)):
            check_int(f"saas surrogate: {name}", value, low)
        if maxiter is not None:
            check_int("saas surrogate: maxiter (or None: BoTorch's default)", maxiter, 1)
        self.encoding, self.inference, self.num_taus = encoding_for(space, encoding), inference, num_taus
        self.maxiter = maxiter
        self.warmup, self.num_samples, self.thinning, self.max_train = warmup, num_samples, thinning, max_train
        self._model = None
        self._cache = _SameList()

    def _x(self, archs: Sequence[Architecture]) -> np.ndarray:
        from ...predictors import encode

        return encode(self.space, archs, self.encoding).astype(np.float64)[:, self._keep]

    def fit(self, archs: Sequence[Architecture], y: np.ndarray, seed: int) -> SaasSurrogate:
        require("botorch", self.FEATURE)
        import torch
        from botorch.fit import fit_gpytorch_mll, get_fitted_map_saas_model
        from botorch.models.map_saas import EnsembleMapSaasSingleTaskGP
        from gpytorch.mlls import ExactMarginalLogLikelihood

        archs, y = list(archs), np.asarray(y, dtype=float)
        if len(y) > self.max_train:  # keep the best half, subsample the rest
            rng = np.random.default_rng(seed)
            order = np.argsort(-y)
            half = self.max_train // 2
            rows = np.concatenate([order[:half], rng.choice(order[half:], self.max_train - half, replace=False)])
            archs, y = [archs[i] for i in rows], y[rows]
        from ...predictors import encode

        full = encode(self.space, archs, self.encoding).astype(np.float64)
        self._keep = np.flatnonzero(full.std(0) > 0)
        x = full[:, self._keep]
        self._lo, self._hi = x.min(0), np.maximum(x.max(0), x.min(0) + 1e-9)
        self._y_mean, self._y_scale = float(y.mean()), float(y.std(ddof=1)) or 1.0  # BoTorch's convention
        tx = torch.tensor((x - self._lo) / (self._hi - self._lo), dtype=torch.float64)
        ty = torch.tensor((y - self._y_mean) / self._y_scale, dtype=torch.float64).unsqueeze(-1)
        options = {} if self.maxiter is None else {"options": {"maxiter": self.maxiter}}
        with _one_torch_thread(), torch.random.fork_rng(devices=[]):  # the caller's generator is left alone
            torch.manual_seed(seed % SEED_LIMIT)
            if self.inference == "map":
                model = get_fitted_map_saas_model(tx, ty, optimizer_kwargs=options)
            elif self.inference == "ensemble":
                model = EnsembleMapSaasSingleTaskGP(tx, ty, num_taus=self.num_taus, outcome_transform=None)
                fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model), optimizer_kwargs=options)
            else:
                model = self._fit_nuts(tx, ty)
        self._model, self._cache = model.eval(), _SameList()
        return self

    def _fit_nuts(self, tx: Any, ty: Any) -> Any:
        from botorch.fit import fit_fully_bayesian_model_nuts
        from botorch.models.fully_bayesian import SaasFullyBayesianSingleTaskGP

        model = SaasFullyBayesianSingleTaskGP(tx, ty)
        fit_fully_bayesian_model_nuts(model, warmup_steps=self.warmup, num_samples=self.num_samples,
                                      thinning=self.thinning, disable_progbar=True)
        return model

    def _moments(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance per hyper-parameter sample, shape ``(samples, n)``, from the
        kernel (BoTorch's joint posterior over thousands of points would form their full covariance)."""
        import torch

        model = self._model
        with torch.no_grad(), _one_torch_thread():
            xs = torch.tensor(x, dtype=torch.float64)
            tx, ty = model.train_inputs[0], model.train_targets
            k = model.covar_module(tx).to_dense()
            k = k + torch.diag_embed(model.likelihood.noise.expand(k.shape[:-1]))
            chol = torch.linalg.cholesky(k)
            constant = model.mean_module.constant.unsqueeze(-1)
            alpha = torch.cholesky_solve((ty - constant).unsqueeze(-1), chol)
            k_star = model.covar_module(xs, tx).to_dense()
            mean = (k_star @ alpha).squeeze(-1) + constant
            v = torch.linalg.solve_triangular(chol, k_star.transpose(-1, -2), upper=False)
            var = model.covar_module(xs, diag=True) - (v * v).sum(-2)
        return mean.reshape(-1, len(x)).numpy(), var.reshape(-1, len(x)).numpy()

    def predict(self, archs, pending=()):
        if self._model is None:
            raise NotFittedError("surrogate is not fitted")
        if len(archs) == 0:
            return np.zeros(0), np.zeros(0)
        cached = self._cache.get(archs)  # the exhaustive candidate list: once per fit
        if cached is None:
            means, variances = self._moments((self._x(archs) - self._lo) / (self._hi - self._lo))
            mean = means.mean(0)  # moments of the mixture over the hyper-parameter samples
            var = np.maximum(variances, 0.0).mean(0) + means.var(0)
            cached = self._cache.put(archs, (mean * self._y_scale + self._y_mean,
                                             np.sqrt(np.maximum(var, 1e-12)) * self._y_scale))
        return cached[0].copy(), cached[1].copy()


@SURROGATES.register("known", builtin=True)
class KnownSurrogate(Surrogate):
    """An objective known without training (parameter count, FLOPs proxy): ``sign * cost(arch)`` with
    std 0, so acquisitions use it exactly. ``cost`` is a name of :data:`~.costs.COSTS`, a spec
    ``{"name": ..., **params}``, or (from Python only: it cannot be recorded) a callable;
    ``sign=-1`` for a minimized cost, since strategies are told higher-is-better scores.
    ``metric``: the result metric the cost equals (e.g. ``"params"``), so a strategy checks
    constraints on that metric before it proposes an architecture (see :func:`known_metrics`)."""

    name = "known"

    def __init__(self, space: SearchSpace, cost: Any = "params", sign: float = 1.0, metric: str | None = None) -> None:
        from .costs import make_cost

        super().__init__(space)
        if sign not in (1, -1):
            raise UsageError(f"sign must be 1 (a maximized objective) or -1 (a minimized one), got {sign!r}")
        if metric is not None and (not isinstance(metric, str) or not metric.strip()):
            raise UsageError(f"metric must be None or the name of the result metric the cost equals (e.g. "
                             f"'params'), got {metric!r}")
        self.cost, self.sign, self.metric = make_cost(cost, space), float(sign), metric
        self._cache = _SameList()

    def fit(self, archs: Sequence[Architecture], y: np.ndarray, seed: int) -> KnownSurrogate:
        return self  # nothing to learn

    def predict(self, archs, pending=()):
        values = self._cache.get(archs)  # the exhaustive candidate list: computed once
        if values is None:
            values = self._cache.put(archs, self.sign * np.array([self.cost(a) for a in archs], dtype=float))
        return values, np.zeros(len(values))

    def sample(self, archs, rng, pending=()):
        return self.predict(archs)[0]


def known_metrics(specs: Sequence[Any] | None, space: SearchSpace) -> dict[str, Any]:
    """``metric -> cost function`` of the ``known`` surrogate specs among ``specs`` that name a ``metric``:
    the result metrics a strategy can compute for any architecture before it is evaluated."""
    models = [make_surrogate(spec, space) for spec in specs or []
              if isinstance(spec, dict) and spec.get("name") == "known" and spec.get("metric")]
    return {model.metric: model.cost for model in models}


def make_surrogate(spec: str | dict[str, Any] | Surrogate, space: SearchSpace) -> Surrogate:
    """A surrogate from a name, ``{"name": ..., **params}``, or an instance (returned as is)."""
    if isinstance(spec, Surrogate):
        return spec
    return SURROGATES.build(spec, space)


_REMAKING: contextvars.ContextVar[bool] = contextvars.ContextVar("remaking_surrogate", default=False)


def remake_surrogate(spec: str | dict[str, Any] | Surrogate, space: SearchSpace) -> Surrogate:
    """:func:`make_surrogate` again for a spec a strategy was built with (at a refit, in ``load_state_dict``): it was
    checked then, or taken from a study stored by an older version with a warning, so it is taken as then, without a
    second warning; a refusal meant only for new settings would stop such a study's search after it loaded."""
    token = _REMAKING.set(True)
    try:
        with restoring_stored_settings():
            return make_surrogate(spec, space)
    finally:
        _REMAKING.reset(token)
