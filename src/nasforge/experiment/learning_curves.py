"""Learning-curve extrapolation: where will a partly observed curve end?

After Domhan, Springenberg and Hutter (IJCAI 2015), with least squares instead of MCMC: each of a
few saturating parametric families is fitted to the observed points, and its prediction at the final
step gets a Gaussian error from the fit's parameter covariance (delta method) plus the residual
noise. The ensemble is the equal-weight mixture of the families that fitted, so one family's
over-confident extrapolation cannot decide alone. Values are higher-is-better; ``x`` counts reports
from 1.

Every family is ``c - a * g(x; b)`` with ``a >= 0`` (it rises towards the asymptote ``c``): linear
in ``a`` and ``c`` for a fixed shape ``b``, so a fit is a closed-form regression per value of a grid
of ``b`` (variable projection) in NumPy: about 0.3 ms of CPU for the three families, cheap enough
to run at every report.

- ``pow3``:  ``g = x**-b`` (power law, slow saturation: the optimistic member);
- ``exp3``:  ``g = exp(-b * x)`` (exponential saturation);
- ``ilog2``: ``g = 1 / log(x + 1)`` (logarithmic rise; no ``b``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..exceptions import UsageError

Basis = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Family:
    """``c - a * g(x; b)``: the basis ``g``, its derivative in ``b`` and the grid of ``b`` (None: no ``b``)."""

    g: Basis
    dg: Basis | None = None
    grid: np.ndarray | None = None


FAMILIES: dict[str, Family] = {
    "pow3": Family(lambda x, b: np.power(x, -b), lambda x, b: -np.log(x) * np.power(x, -b),
                   np.geomspace(0.01, 5.0, 120)),
    "exp3": Family(lambda x, b: np.exp(-b * x), lambda x, b: -x * np.exp(-b * x), np.geomspace(1e-3, 10.0, 120)),
    "ilog2": Family(lambda x, b: 1.0 / np.log(x + 1.0)),
}


@dataclass(frozen=True)
class Extrapolation:
    """Per fitted family: the predicted final value and its standard deviation."""

    families: tuple[str, ...]
    means: np.ndarray
    stds: np.ndarray

    def prob_above(self, threshold: float) -> float:
        """Probability under the equal-weight Gaussian mixture that the final value exceeds ``threshold``."""
        z = (threshold - self.means) / self.stds
        return float(np.mean([0.5 * math.erfc(v / math.sqrt(2.0)) for v in z]))

    @property
    def mean(self) -> float:
        return float(np.mean(self.means))


def extrapolate(xs: Sequence[float], ys: Sequence[float], x_final: float,
                families: Sequence[str] = ("pow3", "exp3", "ilog2"), min_std: float = 1e-3) -> Extrapolation | None:
    """Fit each family to the points ``(xs, ys)`` (``xs`` > 0) and predict the value at ``x_final``.

    A family with at least as many parameters as points is left out; None when none fitted.
    ``min_std`` (a fraction of the observed range) keeps a perfect fit from claiming certainty."""
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise UsageError(f"unknown learning-curve families {unknown}; known: {', '.join(FAMILIES)}")
    x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    span = float(np.ptp(y)) or 1.0
    names, means, stds = [], [], []
    for name in families:
        fitted = _fit(FAMILIES[name], x, y, float(x_final))
        if fitted is not None:
            names.append(name)
            means.append(fitted[0])
            stds.append(max(fitted[1], min_std * span))
    if not names:
        return None
    return Extrapolation(tuple(names), np.array(means), np.array(stds))


def _fit(family: Family, x: np.ndarray, y: np.ndarray, x_final: float) -> tuple[float, float] | None:
    """Least-squares fit of ``c - a * g(x; b)``; (prediction at ``x_final``, its standard deviation)."""
    n_params = 2 if family.grid is None else 3
    if len(x) <= n_params:
        return None
    grid = np.array([np.nan]) if family.grid is None else family.grid
    g = family.g(x[None, :], grid[:, None])                    # one row per b
    gc = g - g.mean(1, keepdims=True)
    yc = y - y.mean()
    slope = (gc @ yc) / np.maximum((gc * gc).sum(1), 1e-300)   # y = c + slope * g, so a = -slope
    a = np.maximum(-slope, 0.0)
    c = y.mean() + a * g.mean(1)
    ssr = ((c[:, None] - a[:, None] * g - y) ** 2).sum(1)
    best = int(np.argmin(ssr))
    a_hat, c_hat, b_hat = float(a[best]), float(c[best]), float(grid[best])
    noise = float(ssr[best]) / (len(x) - n_params)
    g_hat, g_final = g[best], float(family.g(np.array([x_final]), b_hat)[0])
    columns = [-g_hat, np.ones_like(x)]
    grad = [-g_final, 1.0]
    if family.dg is not None:
        columns.append(-a_hat * family.dg(x, b_hat))
        grad.append(-a_hat * float(family.dg(np.array([x_final]), b_hat)[0]))
    jac, grad_v = np.column_stack(columns), np.array(grad)
    cov = noise * np.linalg.pinv(jac.T @ jac)
    var = float(grad_v @ cov @ grad_v) + noise
    return c_hat - a_hat * g_final, math.sqrt(max(var, 0.0))


__all__ = ["FAMILIES", "Extrapolation", "Family", "extrapolate"]
