"""Asynchronous benchmarking in simulated time: the event queue, modelled costs and curves, the CLI option."""

import json

import numpy as np
import pytest

from nasforge.analysis.simulate import ModelledCurves, SimTrace, compare_simulated, simulate
from nasforge.exceptions import UsageError
from nasforge.spaces.nb201 import conv_proxy
from nasforge.spaces import get_space
from nasforge.strategies import get_strategy

SPACE = get_space("nb201")


class Toy:
    """A simulated benchmark without data: value = conv proxy x budget / 12, time = budget x (1 + conv)."""

    space, max_budget, fidelity = SPACE, 12.0, "epochs"

    def evaluate(self, arch, budget):
        return conv_proxy(arch) * budget / 12, budget * (1.0 + conv_proxy(arch))

    def optimum(self):
        return 54.0

    def worst(self):
        return 0.0


def test_one_worker_runs_back_to_back_and_eight_overlap():
    one = simulate(get_strategy("random", SPACE, seed=0), Toy(), n_workers=1, max_evaluations=20)
    costs = [Toy().evaluate(a, 12)[1] for a in _replayed_asks("random", 0, 20)]
    assert np.allclose(one.times, np.cumsum(costs)) and one.n_evaluations == 20
    eight = simulate(get_strategy("random", SPACE, seed=0), Toy(), n_workers=8, max_seconds=float(one.times[-1]))
    assert eight.n_evaluations > 5 * one.n_evaluations
    assert np.all(np.diff(eight.times) >= 0) and eight.times[-1] <= one.times[-1]


def _replayed_asks(name, seed, n):
    strategy, out = get_strategy(name, SPACE, seed=seed), []
    for _ in range(n):
        arch = strategy.ask()
        out.append(arch)
        strategy.tell(arch, Toy().evaluate(arch, 12)[0])
    return out


def test_regret_counts_only_full_budget_results():
    trace = simulate(get_strategy("hyperband", SPACE, seed=1), Toy(), n_workers=4, max_evaluations=40)
    assert set(trace.budgets) <= {1.0, 4.0, 12.0} and (trace.budgets < 12).any()
    first_full = int(np.argmax(trace.budgets >= 12))
    assert np.isnan(trace.regret[:first_full]).all() and np.isfinite(trace.regret[first_full:]).all()
    assert np.all(np.diff(trace.regret[first_full:]) <= 0)
    grid = np.array([0.0, trace.times[-1]])
    assert trace.regret_at(grid, initial=99.0)[0] == 99.0


@pytest.mark.parametrize("settings, message", [
    ({"fidelity": "steps"}, "fidelity='steps', but the simulated benchmark's budgets are 'epochs'"),
    ({"max_budget": 6}, "max_budget=6, but the simulated benchmark's full budget .* is 12; give max_budget=12"),
    ({"max_budget": 200}, "max_budget=200, but the simulated benchmark's full budget")])
def test_a_strategys_budgets_must_be_the_benchs_before_any_work(settings, message):
    """Would fail without the check: steps ran everything at the full budget, 6 never found an incumbent (NaN
    regret), 200 charged 200 epochs for the 12-epoch value."""
    with pytest.raises(UsageError, match=message):
        simulate(get_strategy("hyperband", SPACE, seed=0, **settings), Toy(), max_evaluations=5)
    with pytest.raises(UsageError, match=message):
        compare_simulated(Toy(), ["random", "hyperband"], seeds=1, n_workers=2, hours=0.1,
                          strategy_kwargs={"hyperband": settings})


class Failing(Toy):
    """Toy whose first and third evaluations fail (NaN), as a crashed training would."""

    def __init__(self):
        self.calls = 0

    def evaluate(self, arch, budget):
        self.calls += 1
        value, seconds = super().evaluate(arch, budget)
        return (np.nan if self.calls in (1, 3) else value), seconds


def test_failed_evaluations_are_told_none_and_never_freeze_the_regret():
    trace = simulate(get_strategy("random", SPACE, seed=0), Failing(), n_workers=1, max_evaluations=20)
    assert trace.n_evaluations == 20 and np.isnan(trace.values[[0, 2]]).all()
    best = np.maximum.accumulate(np.where(np.isnan(trace.values), -np.inf, trace.values))
    np.testing.assert_allclose(trace.regret, np.where(np.isfinite(best), 54.0 - best, np.nan))
    assert np.isnan(trace.regret[0]) and np.isfinite(trace.regret[1:]).all()


def test_sim_trace_regret_at_is_a_step_function():
    trace = SimTrace(np.array([1.0, 2.0, 3.0]), np.full(3, 12.0), np.zeros(3), np.array([5.0, 3.0, 1.0]), 3)
    assert list(trace.regret_at(np.array([0.5, 1.0, 2.5, 9.0]), 7.0)) == [7.0, 5.0, 3.0, 1.0]


@pytest.fixture(scope="module")
def nb201():
    from nasforge.benchmarks import load_nb201

    try:
        return load_nb201()
    except (FileNotFoundError, OSError) as exc:
        pytest.skip(f"NAS-Bench-201 table not available: {exc}")


def test_modelled_curves_end_at_the_table_and_cost_follows_the_conv_proxy(nb201):
    bench = ModelledCurves(nb201)
    arch = nb201.best("val_acc")
    value, seconds = bench.evaluate(arch, 12)
    assert value == nb201.value(arch, "val_acc") and seconds == 12 * (10.0 + conv_proxy(arch))
    assert bench.evaluate(arch, 1) == bench.evaluate(arch, 1)  # deterministic
    low = [bench.curve(a, 1) for a in nb201.archs[:300]]
    final = [nb201.value(a, "val_acc") for a in nb201.archs[:300]]
    assert np.mean(low) < np.mean(final) - 5
    assert 0.3 < np.corrcoef(low, final)[0, 1] < 0.995  # informative but imperfect low fidelity


def test_hyperband_uses_low_budgets_and_beats_random_per_simulated_hour(nb201):
    """Would fail if Hyperband stopped using (or learning from) low fidelities."""
    bench = ModelledCurves(nb201)
    report = compare_simulated(bench, ["random", "hyperband"], seeds=6, n_workers=8, hours=1.5, grid_points=4)
    assert report.stats["hyperband"]["full_budget_share"] < 0.4
    assert report.stats["hyperband"]["evaluations"] > 2 * report.stats["random"]["evaluations"]
    hb, rand = report.curves["hyperband"]["mean"], report.curves["random"]["mean"]
    assert hb[-1] < rand[-1]
    json.dumps(report.to_json())


@pytest.mark.slow
def test_bohb_beats_random_per_simulated_hour(nb201):
    bench = ModelledCurves(nb201)
    report = compare_simulated(bench, ["random", "bohb"], seeds=8, n_workers=8, hours=4, grid_points=5)
    assert report.curves["bohb"]["mean"][-1] < report.curves["random"]["mean"][-1] - 0.1


def test_bench_cli_option(nb201, tmp_path, capsys):
    from nasforge.cli import main

    assert main(["bench", "--workers-simulated", "4", "--strategies", "random,asha", "--seeds", "2",
                 "--trials", "20", "--out", str(tmp_path), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["strategy"] for r in rows] == ["random", "asha"] and rows[1]["full"] < 1.0 == rows[0]["full"]
    assert (tmp_path / "simulated_regret.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["bench", "--workers-simulated", "4", "--strategies", "random", "--pruner", "median", "--seeds", "2",
                 "--trials", "20", "--out", str(tmp_path / "pruned"), "--format", "json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert list(row)[-3:] == ["evals", "full", "pruned"] and row["pruned"] > 0  # the column docs/strategies.md shows


@pytest.mark.parametrize("options, message", [({"n_workers": 0}, "n_workers must be an integer >= 1"),
                                              ({"max_seconds": -1}, "max_seconds must be a positive number"),
                                              ({"max_evaluations": 0}, "max_evaluations must be an integer >= 1")])
def test_simulate_refuses_bad_budgets(options, message):
    with pytest.raises(UsageError, match=message):
        simulate(get_strategy("random", SPACE, seed=0), Toy(), **options)


@pytest.mark.parametrize("option, message", [(["--direction", "minimize"], "only a maximized --objective"),
                                            (["--workers", "2"], "--workers: not used with --workers-simulated")])
def test_bench_cli_refuses_simulated_options_before_making_the_folder(nb201, tmp_path, capsys, option, message):
    from nasforge.cli import main

    out = tmp_path / "out"
    assert main(["bench", "--workers-simulated", "4", *option, "--strategies", "random", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and not out.exists()


def _chain_table(tmp_path=None):
    """A 9-architecture chain table with accuracies (percent) and training seconds; written as CSV with a path."""
    from nasforge.benchmarks import TabularBenchmark
    from nasforge.spaces import ChainSpace

    space = ChainSpace([["a", "b", "c"]] * 2)
    records = [{"arch": space.format(a), "acc": 60.0 + 10 * "abc".index(a.genotype[0]) + "abc".index(a.genotype[1]),
                "seconds": 120.0 * (1 + "abc".index(a.genotype[1]))} for a in space.enumerate()]
    if tmp_path is not None:
        import pandas as pd

        pd.DataFrame(records).to_csv(tmp_path / "chain.csv", index=False)
    return TabularBenchmark(records, space)


def test_modelled_curves_take_the_tables_training_time():
    """The conv proxy is NAS-Bench-201's (a chain scored 0: a constant time): on another space the time comes
    from a column of the table, or equal times are asked for; the default is refused there."""
    table = _chain_table()
    arch = table.archs[-1]
    timed = ModelledCurves(table, metric="acc", time_column="seconds")
    assert timed.evaluate(arch, 4) == (timed.curve(arch, 4), 4 * table.value(arch, "seconds") / 12)
    assert timed.hours_for(10, 2) == pytest.approx(10 * 240.0 / 2 / 3600)
    with pytest.raises(UsageError, match="conv proxy\\) does not apply to space 'chain'.*time_column="):
        ModelledCurves(table, metric="acc")
    assert ModelledCurves(table, metric="acc", cost=None).evaluate(arch, 3)[1] == 30.0
    with pytest.raises(UsageError, match="time column 'acc2' is not in table"):
        ModelledCurves(table, metric="acc", time_column="acc2")


def test_bench_cli_time_column(tmp_path, capsys):
    from nasforge.cli import main

    _chain_table(tmp_path)
    base = ["bench", "--table", str(tmp_path / "chain.csv"), "--space", "chain", "--objective", "acc",
            "--strategies", "random", "--seeds", "1", "--trials", "4", "--format", "json"]
    assert main([*base, "--workers-simulated", "2", "--out", str(tmp_path / "equal")]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "same time per epoch; --time-column" in warnings[0]
    assert main([*base, "--workers-simulated", "2", "--time-column", "seconds", "--out", str(tmp_path / "timed")]) == 0
    assert "warning" not in capsys.readouterr().err
    hours = json.loads((tmp_path / "timed" / "simulated.json").read_text())["hours"][-1]
    assert hours == pytest.approx(4 * 240.0 / 2 / 3600)  # --trials 4 average evaluations of the column's mean
    assert main([*base, "--time-column", "seconds", "--out", str(tmp_path / "plain")]) == 2
    assert "--time-column: needs --workers-simulated" in capsys.readouterr().err and not (tmp_path / "plain").exists()


def test_modelled_curves_scale_with_the_tables_metric(nb201):
    """The floor (10) and noise (1 point) assumed percentages: accuracy as a fraction got curves falling from
    10 to below 1. Both now follow the table's range: NB201 CIFAR-10 gets 9 (its 9.712 rounded down; 10 before
    2026-12-07, the floor of the figures in docs/strategies.md) and 1."""
    from nasforge.benchmarks import TabularBenchmark

    cifar10 = ModelledCurves(nb201)
    assert (cifar10.floor, cifar10.noise) == (9.0, 1.0)
    archs = nb201.archs[:300]
    fractions = TabularBenchmark([{"arch": nb201.space.format(a), "acc": nb201.value(a, "val_acc") / 100}
                                  for a in archs], nb201.space)
    bench = ModelledCurves(fractions, metric="acc")
    assert (bench.floor, bench.noise) == (0.09, 0.01)
    low = np.array([bench.curve(a, 1) for a in archs])
    assert np.allclose(low, np.array([cifar10.curve(a, 1) for a in archs]) / 100)


class TinyChain(Toy):
    """Toy on a chain space of 8 architectures: value = conv5 count x budget, time = budget."""

    space = get_space("chain", layers=[["conv3", "conv5"]] * 3)

    def evaluate(self, arch, budget):
        return self.space.format(arch).count("conv5") * budget, budget

    def optimum(self):
        return 36.0


@pytest.mark.parametrize("name", ["hyperband", "asha"])
def test_a_used_up_small_space_still_promotes_to_the_full_budget(name):
    """With nothing new left, a multi-fidelity strategy waits for running evaluations (WaitingForResults)
    instead of ending the run: the best architecture still reaches 12 epochs."""
    bench = TinyChain()
    trace = simulate(get_strategy(name, bench.space, seed=0), bench, n_workers=4, max_seconds=1e6)
    assert trace.budgets.max() == 12.0 and trace.regret[-1] == 0.0


def test_regret_at_before_any_result_is_the_initial_regret():
    """A run that finished nothing (horizon shorter than its first evaluation) crashed regret_at (IndexError);
    before a run's first full-budget result its regret is the initial one, never a later result's."""
    empty = SimTrace(np.array([]), np.array([]), np.array([]), np.array([]), 0)
    assert list(empty.regret_at(np.array([0.0, 5.0]), 7.0)) == [7.0, 7.0]
    assert not empty.found_at(np.array([0.0, 5.0])).any()
    low_first = SimTrace(np.array([1.0, 4.0]), np.array([3.0, 12.0]), np.zeros(2), np.array([np.nan, 2.0]), 2)
    assert list(low_first.regret_at(np.array([0.5, 1.0, 3.9, 4.0]), 7.0)) == [7.0, 7.0, 7.0, 2.0]
    assert list(low_first.found_at(np.array([0.5, 1.0, 3.9, 4.0]))) == [False, False, False, True]


def test_a_short_horizon_counts_runs_without_a_result():
    """Runs without a full-budget result count at the initial regret (the mean never rises) and n_found says
    how many have one."""
    report = compare_simulated(Toy(), ["random"], seeds=3, n_workers=8, hours=1e-4, grid_points=3)
    curve = report.curves["random"]
    assert list(curve["n_found"]) == [0, 0, 0] and list(curve["mean"]) == [54.0] * 3
    assert report.table()[0]["found"] == 0
    with pytest.raises(UsageError, match="past the simulated horizon"):  # would repeat the last value as mean@1h
        report.table([1.0])


def test_simulated_json_records_what_was_simulated(nb201, tmp_path):
    from nasforge.cli import main

    out = tmp_path / "sim"
    assert main(["bench", "--workers-simulated", "4", "--strategies", "random", "--pruner", "median", "--seeds", "1",
                 "--trials", "8", "--out", str(out), "--format", "table"]) == 0
    data = json.loads((out / "simulated.json").read_text())
    assert (data["objective"], data["direction"], data["trials"]) == ("val_acc", "maximize", 8)
    assert data["optimum"] == pytest.approx(nb201.optimum("val_acc"))
    assert data["initial_regret"] == pytest.approx(nb201.optimum("val_acc") - nb201.values("val_acc").min())
    assert data["pruner"]["name"] == "median"
    assert data["model"]["time_column"] is None and data["model"]["cost"] == "conv_proxy"


def test_bench_cli_simulated_header_names_the_time_horizon(nb201, tmp_path, capsys):
    from nasforge.cli import main

    assert main(["bench", "--workers-simulated", "4", "--strategies", "random", "--pruner", "asha", "--seeds", "1",
                 "--trials", "8", "--out", str(tmp_path / "h")]) == 0
    out = " ".join(capsys.readouterr().out.split())  # bench wraps its lines at 80 columns
    assert "1 strategy x 1 seed x 0." in out and "simulated hours (the time 4 workers need for 8 average full" in out
    assert "x 8 evaluations" not in out and "pruner asha" in out


@pytest.mark.parametrize("option, message", [
    (["--trials", "6"], "--trials 6: with --workers-simulated 8 the horizon"),
    (["--trials", "20", "--secondary", "test_acc"], "--secondary: not used with --workers-simulated")])
def test_bench_cli_refuses_a_horizon_or_secondary_it_cannot_honour(nb201, tmp_path, capsys, option, message):
    from nasforge.cli import main

    out = tmp_path / "out"
    assert main(["bench", "--workers-simulated", "8", *option, "--strategies", "random", "--seeds", "2",
                 "--out", str(out), "--format", "csv"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and not out.exists()


def _bench_with_time_column(tmp_path, seconds):
    """Exit status of a simulated bench on a 4-architecture chain table whose 'secs' column holds ``seconds``."""
    from nasforge.cli import main

    table = tmp_path / "t.csv"
    table.write_text("arch,acc,secs\n" + "".join(f"{a},{acc},{t}\n" for a, acc, t in
                                               zip(("a|x", "a|y", "b|x", "b|y"), (0.5, 0.6, 0.7, 0.8), seconds)))
    return main(["bench", "--table", str(table), "--space", "chain", "--objective", "acc", "--workers-simulated", "2",
                 "--trials", "2", "--time-column", "secs", "--strategies", "random", "--seeds", "1",
                 "--out", str(tmp_path / "out")])


def test_a_bad_time_column_names_its_data_row_from_1(tmp_path, capsys):
    assert _bench_with_time_column(tmp_path, (10, 0, 10, 10)) == 2
    assert "data row 2 (1 = the first row after the header) holds 0.0" in capsys.readouterr().err


def test_a_text_time_column_is_named_not_numeric(tmp_path, capsys):
    from nasforge.benchmarks import TabularBenchmark

    assert _bench_with_time_column(tmp_path, ("abc",) * 4) == 2
    err = capsys.readouterr().err
    assert "--time-column: metric 'secs' is a column of table 't.csv' that is not numeric; available: ['acc']" in err
    with pytest.raises(UsageError, match="time column 'secs' is a column of table .* that is not numeric"):
        ModelledCurves(TabularBenchmark(str(tmp_path / "t.csv"), get_space("chain", layers=[["a", "b"], ["x", "y"]])),
                       metric="acc", time_column="secs")


def test_bench_cli_simulated_trials_are_a_horizon_not_capped_by_the_tables_architectures(tmp_path, capsys):
    """Would fail without the fix: --trials 30 was refused as more than the table's 9 architectures."""
    from nasforge.cli import main

    _chain_table(tmp_path)
    base = ["bench", "--table", str(tmp_path / "chain.csv"), "--space", "chain", "--objective", "acc",
            "--seeds", "1", "--trials", "30", "--format", "json"]
    assert main([*base, "--strategies", "random,hyperband", "--workers-simulated", "2", "--time-column", "seconds",
                 "--out", str(tmp_path / "sim")]) == 0
    assert json.loads((tmp_path / "sim" / "simulated.json").read_text())["trials"] == 30
    assert main([*base, "--strategies", "random", "--out", str(tmp_path / "plain")]) == 2  # evaluations: capped
    assert "--trials 30 exceeds the 9 distinct architectures" in capsys.readouterr().err
