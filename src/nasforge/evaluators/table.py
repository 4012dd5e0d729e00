"""An evaluator that answers from a tabular benchmark."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..benchmarks.tabular import TabularBenchmark
from ..checks import check_bool, check_seed
from ..spaces import Architecture
from ..exceptions import UsageError
from ..settings import changed_settings
from .base import ArchNoise, Result


class TableEvaluator:
    """Evaluate by table lookup. ``noisy=True`` returns one drawn training seed per query instead of the seed mean
    where the table has per-seed columns (``<metric>_seed<k>``); on a table without them (the shipped NB201 table
    holds seed means only) every query is the mean, as with ``noisy=False``, and making the evaluator warns so
    (a warning, not an error: a stored study whose evaluator was made so still resumes, noise-free as it ran).
    ``cost_metric`` names a column holding the training time to report as cost.

    As with ``SurrogateEvaluator``, each draw comes from a generator seeded by ``(seed, architecture)``, so it
    does not depend on the executor (inline, worker processes, Ray tasks) or the order of the trials: every
    architecture gets its own draw, and evaluating it again gives the same one; another ``seed`` gives other draws
    (``seed=None``: a random one, fixed when the evaluator is made).

    A table holds one value per architecture, so it cannot answer at a given fidelity (the budget a
    multi-fidelity strategy such as hyperband asks for): ``evaluate`` refuses one (a UsageError, which stops a
    study's run at its first trial) rather than give every budget the full-budget value. Compare
    multi-fidelity strategies on modelled learning curves instead (``nasforge.analysis.simulate``);
    ``ignore_fidelity=True`` answers every fidelity with the table's value (a stand-in, e.g. for a retrain).
    An architecture the table holds neither itself nor through its canonical form (the same network) is a
    UsageError too (a study stops at its first trial with it; later, the trial is FAILED saying so): give a table
    of the whole space, or a space with only the choices it covers.

    ``benchmark``: a :class:`~nasforge.benchmarks.TabularBenchmark` (``load_nb201(path)``, or
    ``TabularBenchmark(table, space)`` for a data frame or records); anything else is a ``UsageError``."""

    def __init__(self, benchmark: TabularBenchmark, noisy: bool = False, seed: int | None = None,
                 cost_metric: str | None = None, ignore_fidelity: bool = False) -> None:
        check_bool("noisy", noisy)
        check_bool("ignore_fidelity", ignore_fidelity)
        if not isinstance(benchmark, TabularBenchmark):
            raise UsageError(f"TableEvaluator needs a TabularBenchmark: load_nb201(path) for an NB201 table file, or "
                             f"TabularBenchmark(table, space) for a data frame or records; got a "
                             f"{type(benchmark).__name__}")
        if seed is not None:
            check_seed("seed", seed)
        if noisy and not benchmark.seed_metrics:
            warnings.warn(f"TableEvaluator(noisy=True): table {benchmark.name!r} has no per-seed columns "
                          "(<metric>_seed<k>, e.g. val_acc_seed0), so every query returns the seed mean, as with "
                          "noisy=False", stacklevel=2)
        self.benchmark = benchmark
        self.noisy = noisy
        self.seed = seed
        self._noise = ArchNoise(seed)
        if cost_metric is not None and cost_metric not in benchmark.metrics:
            raise UsageError(f"cost metric {cost_metric!r} not in benchmark; available: {benchmark.metrics}")
        self.cost_metric = cost_metric
        self.ignore_fidelity = ignore_fidelity

    def __repr__(self) -> str:
        changed = "".join(f", {k}={v!r}" for k, v in changed_settings(self, skip=("self", "benchmark")).items())
        return f"TableEvaluator({self.benchmark.name!r}{changed})"

    def evaluate(self, arch: Architecture, fidelity: dict[str, Any] | None = None) -> Result:
        if fidelity and not self.ignore_fidelity:
            raise UsageError(f"TableEvaluator: table {self.benchmark.name!r} holds one value per architecture and "
                             f"cannot answer at fidelity {fidelity}; for a multi-fidelity strategy use modelled "
                             "learning curves (nasforge.analysis.simulate), or pass ignore_fidelity=True to answer "
                             "every fidelity with the table's value")
        arch = self.benchmark.space._own(arch)  # another space's architecture: a UsageError naming both
        if arch not in self.benchmark:
            raise UsageError(  # a plain UsageError: a study's run stops with it at its first trial
                f"TableEvaluator: architecture {self.benchmark.space.format(arch)} is not in benchmark "
                f"{self.benchmark.name!r} ({len(self.benchmark):,} rows); a table can only answer for the "
                "architectures it holds: give a complete table, or a space with only the choices it covers")
        metrics = self.benchmark.query(arch, rng=self._noise.rng(arch) if self.noisy else None)
        # a noisy draw of a time may fall below 0: it costs (about) nothing, and a NaN stays NaN (a failed result)
        cost = float(np.clip(metrics[self.cost_metric], 0, None)) if self.cost_metric else 0.0
        return Result(metrics=metrics, cost=cost)
