"""Acquisition functions: turn a surrogate's predictions on candidates into scores to maximize.

Each acquisition is called with the surrogate, the candidates, the incumbent score ``best``, the
strategy's random generator and the pending architectures, and returns one score per candidate.
Scores are higher-is-better, like everything a strategy is told.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...checks import check_real
from ...registry import Registry
from ...spaces import Architecture
from .surrogates import Surrogate

ACQUISITIONS: Registry[type[Acquisition]] = Registry("acquisition")


def _normal_pdf_cdf(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from scipy.special import ndtr

    return np.exp(-0.5 * u * u) / np.sqrt(2.0 * np.pi), ndtr(u)


class Acquisition(ABC):
    """Scores candidates; ``deterministic`` ones need help from the strategy to diversify parallel asks."""

    name = "acquisition"
    deterministic = True
    uses_std = True  # explores through the surrogate's uncertainty (greedy with a point predictor's std 0)

    @abstractmethod
    def __call__(self, surrogate: Surrogate, archs: Sequence[Architecture], best: float,
                 rng: np.random.Generator, pending: Sequence[Architecture] = ()) -> np.ndarray:
        """One score per candidate."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


@ACQUISITIONS.register("ei", builtin=True)
class ExpectedImprovement(Acquisition):
    """E[max(f - best - xi, 0)] under the predictive normal."""

    name = "ei"

    def __init__(self, xi: float = 0.0) -> None:
        check_real(f"acquisition {self.name!r}: xi", xi, lambda v: v >= 0, ">= 0")
        self.xi = xi

    def __call__(self, surrogate, archs, best, rng, pending=()):
        mean, std = surrogate.predict(archs, pending)
        std = np.maximum(std, 1e-9)
        gain = mean - best - self.xi
        pdf, cdf = _normal_pdf_cdf(gain / std)
        return gain * cdf + std * pdf


@ACQUISITIONS.register("pi", builtin=True)
class ProbabilityOfImprovement(Acquisition):
    """P(f > best + xi) under the predictive normal."""

    name = "pi"

    def __init__(self, xi: float = 0.0) -> None:
        check_real(f"acquisition {self.name!r}: xi", xi, lambda v: v >= 0, ">= 0")
        self.xi = xi

    def __call__(self, surrogate, archs, best, rng, pending=()):
        mean, std = surrogate.predict(archs, pending)
        return _normal_pdf_cdf((mean - best - self.xi) / np.maximum(std, 1e-9))[1]


@ACQUISITIONS.register("ucb", builtin=True)
class UpperConfidenceBound(Acquisition):
    """mean + beta * std."""

    name = "ucb"

    def __init__(self, beta: float = 2.0) -> None:
        check_real(f"acquisition {self.name!r}: beta", beta, lambda v: v >= 0, ">= 0")
        self.beta = beta

    def __call__(self, surrogate, archs, best, rng, pending=()):
        mean, std = surrogate.predict(archs, pending)
        return mean + self.beta * std


@ACQUISITIONS.register("mean", builtin=True)
class PosteriorMean(Acquisition):
    """The predicted mean alone (greedy; NPENAS-NP style, exploration comes from the candidate pool)."""

    name = "mean"
    uses_std = False

    def __call__(self, surrogate, archs, best, rng, pending=()):
        return surrogate.predict(archs, pending)[0]


@ACQUISITIONS.register("its", builtin=True)
class ThompsonSampling(Acquisition):
    """Independent Thompson sampling (BANANAS): one posterior draw per candidate, fresh every ask,
    so parallel asks differ without any fantasy."""

    name = "its"
    deterministic = False

    def __call__(self, surrogate, archs, best, rng, pending=()):
        return surrogate.sample(archs, rng, pending)


def make_acquisition(spec: str | dict[str, Any] | Acquisition) -> Acquisition:
    """An acquisition from a name, ``{"name": ..., **params}``, or an instance."""
    if isinstance(spec, Acquisition):
        return spec
    return ACQUISITIONS.build(spec)
