"""An evaluator that answers from a fitted surrogate benchmark."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..benchmarks.surrogate import SurrogateBenchmark
from ..checks import check_bool, check_seed
from ..exceptions import MissingFileError, UsageError
from ..spaces import Architecture
from .base import ArchNoise, Result


class SurrogateEvaluator:
    """Evaluate with a surrogate's prediction. ``noisy=True`` draws each query around the predicted
    mean with the surrogate's noise model, like one training run; ``cost_metric`` names a modelled metric to
    report as cost.

    Each draw comes from a generator seeded by ``(seed, architecture)``, so it does not depend on which
    worker process runs the trial or in what order: inline and worker runs of one study get the same
    values, and every architecture its own draw. Like a table's recorded run, evaluating an architecture
    again gives the same draw; another ``seed`` gives other draws (``seed=None``: a random one, fixed
    when the evaluator is made).

    A surrogate predicts the full-budget value of an architecture, so like ``TableEvaluator`` it cannot
    answer at a given fidelity (the budget a multi-fidelity strategy such as hyperband asks for):
    ``evaluate`` refuses one (a UsageError, which stops a study's run at its first trial);
    ``ignore_fidelity=True`` answers every fidelity with the full-budget prediction.

    ``surrogate``: a ``SurrogateBenchmark``, or the folder of a saved one (a str or path), loaded with
    ``SurrogateBenchmark.load(folder)`` (so an ``evaluator_spec`` can name it in its JSON keyword arguments);
    anything else is a ``UsageError``."""

    def __init__(self, surrogate: SurrogateBenchmark | str | os.PathLike[str], noisy: bool = False,
                 seed: int | None = None, cost_metric: str | None = None, ignore_fidelity: bool = False) -> None:
        check_bool("noisy", noisy)
        check_bool("ignore_fidelity", ignore_fidelity)
        if isinstance(surrogate, (str, os.PathLike)):
            try:
                surrogate = SurrogateBenchmark.load(surrogate)
            except MissingFileError as exc:  # named as the argument it is (e.g. of a stored evaluator_spec)
                raise MissingFileError(f"SurrogateEvaluator's surrogate {os.fspath(surrogate)!r}: {exc}") from None
        elif not isinstance(surrogate, SurrogateBenchmark):
            raise UsageError(f"SurrogateEvaluator needs a SurrogateBenchmark or the folder of a saved one "
                             f"(SurrogateBenchmark.load(folder)), got {type(surrogate).__name__} {surrogate!r:.60}")
        if seed is not None:
            check_seed("seed", seed)
        if noisy and not any(surrogate.noise.values()):
            raise UsageError(f"surrogate {surrogate.name!r} has no noise model; fit it with noise_model=... "
                             "or evaluate with noisy=False")
        if cost_metric is not None and cost_metric not in surrogate.metrics:
            raise UsageError(f"cost metric {cost_metric!r} not modelled by {surrogate.name!r}; "
                             f"available: {surrogate.metrics}")
        self.surrogate = surrogate
        self.noisy = noisy
        self.cost_metric = cost_metric
        self.ignore_fidelity = ignore_fidelity
        self._noise = ArchNoise(seed)

    def evaluate(self, arch: Architecture, fidelity: dict[str, Any] | None = None) -> Result:
        if fidelity and not self.ignore_fidelity:
            raise UsageError(f"SurrogateEvaluator: surrogate {self.surrogate.name!r} predicts one full-budget value "
                             f"per architecture and cannot answer at fidelity {fidelity}; for a multi-fidelity "
                             "strategy use modelled learning curves (nasforge.analysis.simulate), or pass "
                             "ignore_fidelity=True to answer every fidelity with the full-budget prediction")
        metrics = self.surrogate.query(arch, rng=self._noise.rng(arch) if self.noisy else None)
        # a noisy draw of a time may fall below 0: it costs (about) nothing, and a NaN stays NaN (a failed result)
        return Result(metrics=metrics, cost=float(np.clip(metrics[self.cost_metric], 0, None))
                      if self.cost_metric else 0.0)
