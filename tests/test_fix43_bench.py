"""Fix 43 (bench review): Python compare()/compare_simulated() charge the Optuna peers and refuse repeated
strategies as ``nasforge bench`` does; bench_curves.csv at 12 significant digits; bench's notes within 80
columns; ``--objective`` naming the architecture column."""

from __future__ import annotations

import csv

import pytest

from nasforge.analysis.harness import compare
from nasforge.analysis.simulate import ModelledCurves, compare_simulated
from nasforge.cli import main
from nasforge.exceptions import UsageError


def test_compare_charges_the_optuna_peers_as_bench_unless_told(nb201_table):
    """Would fail before: compare() ran plain Optuna (dedup False, ~27 repeats a run) where bench ran dedup."""
    pytest.importorskip("optuna")
    report = compare(nb201_table, ["optuna_random"], seeds=2, budget=60, secondary=None, workers=1)
    assert report.strategy_settings["optuna_random"]["dedup"] is True
    assert report.strategies["optuna_random"].mean_duplicates == 0
    plain = compare(nb201_table, ["optuna_random"], seeds=2, budget=60, secondary=None, workers=1,
                    strategy_kwargs={"optuna_random": {"dedup": False}})
    assert plain.strategy_settings["optuna_random"]["dedup"] is False


def test_compare_simulated_charges_the_optuna_peers_as_bench(nb201_table):
    pytest.importorskip("optuna")
    report = compare_simulated(ModelledCurves(nb201_table), ["optuna_random"], seeds=1, n_workers=2, hours=0.05,
                               grid_points=2)
    assert report.strategy_settings["optuna_random"]["dedup"] is True


@pytest.mark.parametrize("names, message", [(["random", "random"], r"strategies: random given more than once"),
                                            (["evolution", "re"], r"evolution and re \(the same strategy\)")])
def test_python_comparisons_refuse_a_strategy_given_twice(nb201_table, names, message):
    """Would fail before: the repeat was run twice and merged silently into one row."""
    with pytest.raises(UsageError, match=message):
        compare(nb201_table, names, seeds=1, budget=5, workers=1)
    with pytest.raises(UsageError, match=message):
        compare_simulated(ModelledCurves(nb201_table), names, seeds=1, n_workers=2, hours=0.05)


def test_bench_curves_csv_has_12_significant_digits(nb201_table, tmp_path):
    report = compare(nb201_table, ["random"], seeds=3, budget=20, workers=1)
    paths = report.save(tmp_path)
    with open(paths["csv"]) as f:
        values = [v for row in csv.DictReader(f) for k, v in row.items() if k.startswith("regret") and v]
    assert values and all(len(v.replace("-", "").replace(".", "").lstrip("0")) <= 12 for v in values)


def test_bench_lines_fit_80_columns(nb201_table, tmp_path, capsys):
    assert main(["bench", "--workers-simulated", "8", "--strategies", "random", "--seeds", "2", "--trials", "40",
                 "--out", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "found: runs (of 2)" in out and "simulated hours" in out
    assert max(len(line) for line in out.splitlines() if "wrote" not in line) <= 80


def test_bench_objective_naming_the_architecture_column(tmp_path, capsys):
    table = tmp_path / "t.csv"
    table.write_text("arch,acc\n" + "".join(f"{a}-{b},{i}\n" for i, (a, b) in
                                            enumerate([(x, y) for x in ("c3", "c5") for y in ("c3", "c5")])))
    assert main(["bench", "--table", str(table), "--space", "chain", "--objective", "arch", "--seeds", "1",
                 "--trials", "2", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "'arch' is the architecture column of table 't.csv' (--arch-column), not a metric" in err
