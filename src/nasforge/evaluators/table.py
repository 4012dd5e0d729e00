"""An evaluator that answers from a tabular benchmark."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..benchmarks.tabular import TabularBenchmark
from ..spaces import Architecture
from ..exceptions import UsageError
from .base import Result


class TableEvaluator:
    """Evaluate by table lookup. ``noisy=True`` returns one drawn training seed per query (where the
    table has per-seed columns) instead of the seed mean; ``cost_metric`` names a column holding
    the training time to report as cost."""

    def __init__(self, benchmark: TabularBenchmark, noisy: bool = False, seed: int | None = None,
                 cost_metric: str | None = None) -> None:
        self.benchmark = benchmark
        self.noisy = noisy
        self._rng = np.random.default_rng(seed)
        if cost_metric is not None and cost_metric not in benchmark.metrics:
            raise UsageError(f"cost metric {cost_metric!r} not in benchmark; available: {benchmark.metrics}")
        self.cost_metric = cost_metric

    def evaluate(self, arch: Architecture, fidelity: dict[str, Any] | None = None) -> Result:
        if arch not in self.benchmark:
            raise KeyError(f"architecture {self.benchmark.space.format(arch)} is not in benchmark "
                           f"{self.benchmark.name!r}; a table can only answer for the architectures it holds")
        metrics = self.benchmark.query(arch, rng=self._rng if self.noisy else None)
        cost = metrics[self.cost_metric] if self.cost_metric else 0.0
        return Result(metrics=metrics, cost=cost)
