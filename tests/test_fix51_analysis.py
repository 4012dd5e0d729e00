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


@pytest.mark.parametrize("values, floor", [(np.linspace(95, 99, 9), 90.0), (np.linspace(0.96, 0.99, 9), 0.9),
                                           (np.linspace(9.712, 84.9, 9), 9.0), (np.linspace(-9.7, 5, 9), -10.0),
                                           (np.linspace(0.3, 0.9, 9), 0.3), (np.linspace(0, 1, 9), 0.0)])
def test_the_default_floor_is_rounded_down_so_curves_rise(values, floor):
    curves = ModelledCurves(_table(values), metric="acc", cost=None, noise=0.0)
    assert curves.floor == floor and curves.floor <= values.min()
    worst = next(a for a in SPACE.enumerate() if curves.curve(a, 12) == values.min())
    steps = [curves.curve(worst, b) for b in (1, 2, 4, 8, 12)]
    assert steps == sorted(steps)  # noiseless: the worst architecture's curve never falls


def test_a_constant_table_keeps_its_flat_curves_and_a_given_floor_must_lie_below_the_best_value():
    curves = ModelledCurves(_table([10.0] * 9), metric="acc", cost=None)  # simulated before the floor rounded down
    assert curves.floor == 10
    with pytest.raises(UsageError, match="floor must be below the table's best acc \\(10\\)"):
        ModelledCurves(_table([10.0] * 9), metric="acc", cost=None, floor=10)
    assert ModelledCurves(_table([10.0] * 9), metric="acc", cost=None, floor=5).floor == 5


def _bench_report():
    from nasforge.analysis.harness import compare

    return compare(_table(np.arange(9.0)), ["random"], seeds=2, budget=5, objective="acc", secondary=None, workers=1)


@pytest.mark.parametrize("checkpoints, message", [([0], "checkpoints must be an integer >= 1, got 0"),
                                                  ([-1], "checkpoints must be an integer >= 1, got -1"),
                                                  ([2.5], "checkpoints must be an integer >= 1, got 2.5")])
def test_bench_summary_refuses_checkpoints_that_are_no_count(checkpoints, message):
    report = _bench_report()
    with pytest.raises(UsageError, match=message):
        report.table(checkpoints=checkpoints)
    with pytest.raises(UsageError, match="n must be an integer >= 1 and <= 5, got 0"):
        report.strategies["random"].at(0)
    assert list(report.table(checkpoints=[1, 5, 6])[0])[1:4] == ["mean@1", "median@1", "mean_unique@1"]


def test_simulated_summary_refuses_negative_hours():
    from nasforge.analysis.simulate import compare_simulated

    report = compare_simulated(ModelledCurves(_table(np.arange(50.0, 59.0)), metric="acc", cost=None), ["random"],
                               seeds=1, n_workers=2, hours=0.1, grid_points=3)
    with pytest.raises(UsageError, match="at_hours must be simulated hours >= 0 .*, got -1.0"):
        report.table(at_hours=[-1.0, 0.0])
    assert "mean@0h" in report.table(at_hours=[0.0, 0.1])[0]


@pytest.mark.parametrize("points, reference, got", [([[1]], 0, "shape (): 0.0"),
                                                    ([[1, 2]], [[0, 0]], "shape (1, 2): [[0.0, 0.0]]"),
                                                    ([[1, 2]], [0, 0, 0], "3 values for 2 objectives: [0.0, 0.0, 0.0]")])
def test_the_hypervolume_reference_error_says_the_shape_it_got(points, reference, got):
    from nasforge.pareto import hypervolume

    with pytest.raises(UsageError) as error:
        hypervolume(points, reference)
    assert str(error.value) == (f"hypervolume reference must be one list of {len(points[0])} numbers (one per "
                                f"objective), got {got}")


def test_public_analysis_helpers_name_their_bad_argument():
    from nasforge.analysis.regret import carry_forward, incumbent_curves, summarize
    from nasforge.pareto import non_dominated_mask

    with pytest.raises(UsageError, match="violation must be a list or array of numbers, got list \\['a', 'b'\\]"):
        non_dominated_mask([[1, 2], [2, 1]], violation=["a", "b"])
    with pytest.raises(UsageError, match="values and secondary must be .*got shapes \\(3,\\) and \\(2,\\)"):
        incumbent_curves([1, 2, 3], [1, 2])
    with pytest.raises(UsageError, match="values must be a list or array of numbers"):
        incumbent_curves(["x"], [1])
    for helper in (summarize, carry_forward):
        with pytest.raises(UsageError, match="matrix must be 2-D \\(runs x evaluations.*got shape \\(2,\\)"):
            helper(np.array([1.0, 2.0]))
    assert summarize([[3.0, 1.0]])["mean"].tolist() == [3.0, 1.0]
