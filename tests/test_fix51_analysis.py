"""Review 51 (analysis numbers): simulated benchmarks of a minimized metric, the default curve floor, summary
checkpoints out of range, the hypervolume reference message, and clear errors from the public analysis helpers."""

import numpy as np
import pytest

from nasforge.analysis.simulate import ModelledCurves
from nasforge.benchmarks import TabularBenchmark
from nasforge.exceptions import UsageError
from nasforge.spaces import ChainSpace

SPACE = ChainSpace([["a", "b", "c"]] * 2)


def _table(values, column="acc"):
    """A 9-architecture chain table holding ``values`` (one per architecture) in ``column``."""
    return TabularBenchmark([{"arch": SPACE.format(a), column: float(v)} for a, v in zip(SPACE.enumerate(), values)],
                            SPACE)


def test_a_minimized_metric_is_refused_naming_it_and_its_direction():
    table = _table(np.linspace(15, 90, 9), "val_error")
    with pytest.raises(UsageError, match="only a maximized metric .* val_error is minimized \\(from its name\\)"):
        ModelledCurves(table, metric="val_error", cost=None)
    with pytest.raises(UsageError, match="val_error is minimized$"):
        ModelledCurves(table, metric="val_error", cost=None, direction="min")
    kept = ModelledCurves(table, metric="val_error", cost=None, direction="maximize")  # larger is better after all
    assert kept.optimum() == 90 and kept.direction == "maximize"


def test_bench_cli_simulates_a_loss_named_metric_declared_maximized(tmp_path, capsys):
    import pandas as pd

    from nasforge.cli import main

    rows = [{"arch": SPACE.format(a), "neg_loss": -float(i)} for i, a in enumerate(SPACE.enumerate())]
    pd.DataFrame(rows).to_csv(tmp_path / "t.csv", index=False)
    args = ["bench", "--table", str(tmp_path / "t.csv"), "--space", "chain", "--objective", "neg_loss",
            "--workers-simulated", "2", "--strategies", "random", "--seeds", "1", "--trials", "4"]
    assert main([*args, "--out", str(tmp_path / "refused")]) == 2
    assert "--objective neg_loss is minimized (from its name)" in capsys.readouterr().err
    assert main([*args, "--direction", "maximize", "--out", str(tmp_path / "out")]) == 0
