"""Review 54 of the analysis numbers: the optimum typed as shown, simulated tables between grid points, bench
regrets on fraction-scale metrics and the incumbent curves' direction check."""

from __future__ import annotations

import pytest

from nasforge import Study, get_space

from report_pages import figures

SPACE = get_space("nb201")


def _typed_study(values: list[float], direction: str) -> Study:
    study = Study(SPACE, "random", objectives="err", directions=direction, seed=0)
    for value in values:
        study.tell(study.ask(), {"err": value})
    return study


@pytest.mark.parametrize("values, direction, typed", [
    ([30.0, 26.715333333333334], "minimize", 26.7153),  # shown rounded down: better than the best as stored
    ([0.1, 0.12345651], "maximize", 0.123457),  # shown rounded up: better than the best as stored
])
def test_the_optimum_typed_as_shown_is_regret_zero_on_either_side(values, direction, typed):
    """Would fail: the found value replaced the typed one only when rounding made it worse, so these gave a regret
    of 3.3e-5 and 4.9e-7 on an axis grown six decades down, not the 0 the docs promise."""
    pytest.importorskip("plotly")
    from nasforge.analysis.studyreport import from_study, render_study, shown_optimum, views

    study = _typed_study(values, direction)
    assert views.number_text(study.best_value) == repr(typed)
    data = from_study(study)
    assert shown_optimum([data], typed) == study.best_value
    fig = figures(render_study(data, optimum=typed))["nf-plot-progress-trials"]
    assert fig["data"][0]["y"][-1] == fig["layout"]["yaxis"]["tickvals"][0]  # regret 0: the line labelled 0
    assert shown_optimum([data], typed - 0.001 if direction == "minimize" else typed + 0.001) != study.best_value


def _chain_bench():
    from nasforge.analysis.simulate import ModelledCurves
    from nasforge.benchmarks import TabularBenchmark
    from nasforge.spaces import ChainSpace

    space = ChainSpace([["a", "b", "c"]] * 2)
    rows = [{"arch": space.format(a), "acc": 50.0 + i} for i, a in enumerate(space.enumerate())]
    return ModelledCurves(TabularBenchmark(rows, space), metric="acc", cost=None)


def test_the_simulated_table_between_grid_points_gives_the_runs_values_at_that_time():
    """Would fail: a time between grid points took the value of the grid point before it under the asked time's
    label (hyperband's mean@0.08h was 8, its value at 0.05 h, though every run had found the optimum by then), and
    a NumPy array of times crashed (its truth value is ambiguous)."""
    import numpy as np

    from nasforge.analysis.simulate import compare_simulated
    from nasforge.exceptions import UsageError

    bench = _chain_bench()
    coarse = compare_simulated(bench, ["random", "hyperband"], seeds=3, n_workers=2, hours=0.1, grid_points=3)
    exact = compare_simulated(bench, ["random", "hyperband"], seeds=3, n_workers=2, hours=0.08, grid_points=2)
    rows = coarse.table(np.array([0.02, 0.08]))
    for row in rows:
        curve = exact.curves[row["strategy"]]
        assert (row["mean@0.08h"], row["median@0.08h"], row["found"]) == (
            curve["mean"][-1], curve["median"][-1], curve["n_found"][-1])
    assert rows[1]["mean@0.08h"] == 0 and coarse.curves["hyperband"]["mean"][1] == 8  # 8 at 0.05 h: no snapping
    default = coarse.table()
    assert [row["mean@0.1h"] for row in default] == [c["mean"][-1] for c in coarse.curves.values()]
    with pytest.raises(UsageError, match="at_hours must name at least one time"):
        coarse.table([])
    coarse.runs.clear()  # a report without its runs: only the grid's times
    assert coarse.table([0.05])[1]["mean@0.05h"] == 8
    with pytest.raises(UsageError, match=r"at_hours \[0.08\] are not times of this report's grid \(3 points from 0 "
                                         r"to 0.1 h\)"):
        coarse.table([0.05, 0.08])


def _chain_table(tmp_path, scale: float):
    """``chain.csv`` of docs/cli.md with its accuracies times ``scale``, and its layers file."""
    import itertools
    import random

    rng = random.Random(0)
    rows = ["arch,acc,val_acc"]
    for arch in itertools.product(["conv3", "conv5", "skip"], ["conv3", "conv5", "skip"], ["conv3", "conv5"]):
        acc, val_acc = (round(rng.uniform(80, 95), 2) * scale for _ in range(2))
        rows.append(f"{'|'.join(arch)},{acc:.6g},{val_acc:.6g}")
    (tmp_path / "chain.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "layers.yaml").write_text("- [conv3, conv5, skip]\n- [conv3, conv5, skip]\n- [conv3, conv5]\n")
    return ["bench", "--table", str(tmp_path / "chain.csv"), "--space", "chain", "--space-config",
            str(tmp_path / "layers.yaml"), "--objective", "acc", "--trials", "15", "--seeds", "5"]


def test_bench_tables_print_small_regrets_to_significant_digits(tmp_path, monkeypatch, capsys):
    """Would fail: regrets were printed to 3 decimals, so on an accuracy held as a fraction local_search's mean
    regret 0.00016 and its exact 0 median both read 0.000, and the simulated table's likewise."""
    import json

    from nasforge.cli import main

    monkeypatch.setenv("COLUMNS", "200")
    args = _chain_table(tmp_path, 0.01)
    assert main([*args, "--strategies", "random,local_search", "--out", str(tmp_path / "plain")]) == 0
    table = capsys.readouterr().out
    rows = json.loads((tmp_path / "plain" / "bench.json").read_text())["summary"]
    summary = {row["strategy"]: row for row in rows}
    mean, median = summary["local_search"]["mean@15"], summary["local_search"]["median@15"]
    assert 0 < mean < 5e-4 and median == 0
    cells = next(line.split() for line in table.splitlines() if line.startswith("local_search"))
    assert cells[2] == cells[4] == f"{mean:.5f}" and float(cells[3]) == 0  # mean 0.00016 and median 0 read apart
    assert main([*args, "--strategies", "random", "--workers-simulated", "2", "--out", str(tmp_path / "sim")]) == 0
    simulated = capsys.readouterr().out
    last = json.loads((tmp_path / "sim" / "simulated.json").read_text())["summary"][0]["mean@0.25h"]
    header = next(line.split() for line in simulated.splitlines() if "mean@0.25h" in line)
    row = next(line.split() for line in simulated.splitlines() if line.startswith("random"))
    shown = row[header.index("mean@0.25h")]
    assert 0 < last < 1e-3 and float(shown) == pytest.approx(last, rel=0.05)


def test_bench_regret_columns_keep_3_decimals_unless_a_small_regret_needs_more():
    """Would fail at 6 significant digits: a mean over 12 seeds (0.0208571) widened every regret column, and a table
    that fit 80 columns fell back to blocks."""
    from nasforge.cli.output import regret_decimals

    rows = [{"mean": 0.0208571, "median": 0.0, "uniq": 1.97}, {"mean": 0.976, "median": 0.5, "uniq": 0.00016}]
    assert regret_decimals(rows, ["mean", "median", "uniq"]) == {"mean": 3, "median": 3, "uniq": 5}
    assert regret_decimals([{"mean": float("nan")}, {"mean": 0.0}], ["mean"]) == {"mean": 3}


def test_bench_plots_are_linear_only_below_the_smallest_positive_regret():
    """Would fail: the symlog axis was linear up to 0.01, where regrets of 1e-4 to 1e-3 could not be told from 0."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from nasforge.analysis import harness

    fig, ax = plt.subplots()
    harness.regret_yaxis(ax, [np.array([0.03, 0.0003, 0.0])])
    assert ax.get_yscale() == "symlog" and ax.yaxis.get_transform().linthresh == pytest.approx(1e-5)
    plt.close(fig)


def test_incumbent_curves_refuse_a_maximize_that_is_no_bool():
    """Would fail: any truthy value was taken as True, so "minimize" gave the maximizing curve [3, 3, 3]."""
    from nasforge.analysis.regret import incumbent_curves
    from nasforge.exceptions import UsageError

    with pytest.raises(UsageError, match="^maximize must be True or False, got 'minimize'$"):
        incumbent_curves([3.0, 1.0, 2.0], [0, 0, 0], maximize="minimize")
    assert list(incumbent_curves([3.0, 1.0, 2.0], [0, 0, 0], maximize=False)[0]) == [3, 1, 1]


def test_a_front_trial_worst_on_one_objective_adds_hypervolume():
    """Would fail: the reference lay 1e-9 beyond the worst value of each objective, so trial 1 (the best acc, the
    most params) raised the hypervolume by about 0, and a constant objective gave volumes of about 1e-8."""
    pytest.importorskip("plotly")
    from nasforge import Result
    from nasforge.analysis.studyreport import from_study, render_study
    from nasforge.pareto import reference_point

    study = Study(SPACE, "mo_random", objectives=["acc", "params"], directions=["maximize", "minimize"], seed=0)
    for acc, params in ((60.0, 3000.0), (70.0, 5000.0)):
        study.tell(study.ask(), Result(metrics={"acc": acc, "params": params}))
    progress = figures(render_study(from_study(study)))["nf-plot-progress-trials"]["data"][0]["y"]
    assert progress == pytest.approx([1 * 2200, 1 * 2200 + 10 * 200])  # reference (59, 5200): 10 % of each range
    assert list(reference_point([[3.0, 5.0], [3.0, 0.0]], ["maximize", "minimize"])) == pytest.approx([2.7, 5.5])
    assert list(reference_point([[0.0, 1.0]])) == pytest.approx([-0.1, 0.9])  # equal values: 10 % of |v| or of 1


def test_summary_json_measures_new_jobs_from_the_range_reference_and_keeps_an_earlier_job_s(tmp_path):
    """Would fail: summary.json's reference lay 1e-9 beyond the worst trial, so the front trial with the most
    params added nothing; a job started before the rule (no attribute) keeps that reference, so resuming it
    rewrites the hypervolume it had."""
    import json

    from nasforge import Result
    from nasforge.experiment.stages import RANGE_REFERENCE
    from nasforge.pipelines.search import SearchConfig, write_outputs

    study = Study(SPACE, "mo_random", objectives=["val_acc", "params"], directions=["maximize", "minimize"],
                  seed=0, name="job")
    for acc, params in ((60.0, 3000.0), (70.0, 5000.0)):
        study.tell(study.ask(), Result(metrics={"val_acc": acc, "params": params}))
    config = SearchConfig(out=str(tmp_path), name="job", workers=1, threads=1)
    before = write_outputs(study, config)
    assert before["hypervolume_reference"] == pytest.approx([60 - 61e-9, 5000 + 5001e-9], abs=1e-12)
    assert before["hypervolume"] == pytest.approx(0, abs=1e-3)  # both trials are extremes: about no volume
    study.set_user_attr(RANGE_REFERENCE, True)  # as nasforge search creates its jobs since 2026-12-07
    summary = write_outputs(study, config)
    assert summary["hypervolume_reference"] == pytest.approx([59, 5200])
    assert summary["hypervolume"] == pytest.approx(4200) == json.loads((tmp_path / "summary.json").read_text())[
        "hypervolume"]
