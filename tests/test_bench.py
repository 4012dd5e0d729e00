import json

import numpy as np
import pytest

from nasforge.analysis.harness import compare
from nasforge.analysis.regret import RunTrace, incumbent_curves, regret_matrix
from nasforge.cli import main


def test_incumbent_curves_track_best_and_its_secondary():
    best, second = incumbent_curves(np.array([1.0, 3.0, 2.0, 5.0]), np.array([10.0, 30.0, 20.0, 50.0]))
    assert list(best) == [1, 3, 3, 5] and list(second) == [10, 30, 30, 50]
    best, second = incumbent_curves(np.array([4.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]), maximize=False)
    assert list(best) == [4, 2, 2] and list(second) == [1, 2, 2]


def test_regret_per_unique_evaluation_skips_repeats():
    trace = RunTrace(np.array([1.0, 1.0, 2.0, 4.0]), np.zeros(4), ["a", "a", "b", "c"])
    assert trace.n_duplicates == 1
    per_eval, _ = regret_matrix([trace], optimum=5.0, budget=4)
    per_unique, _ = regret_matrix([trace], optimum=5.0, budget=4, unique_only=True)
    assert list(per_eval[0]) == [4, 4, 3, 1]
    assert list(per_unique[0][:3]) == [4, 3, 1] and np.isnan(per_unique[0][3])


def test_compare_on_nb201(nb201_table, tmp_path):
    report = compare(nb201_table, ["random", "local_search", "optuna_random"], seeds=4, budget=40, workers=1)
    for name, rep in report.strategies.items():
        curve = rep.per_eval["mean"]
        assert np.all(np.diff(curve) <= 1e-12) and np.all(curve >= 0), name
        assert rep.n_runs == 4
    assert report.strategies["random"].mean_duplicates == 0
    paths = report.save(tmp_path)
    data = json.loads(paths["json"].read_text())
    assert data["optimum"] == pytest.approx(84.892) and len(data["summary"]) == 3
    assert paths["png"].stat().st_size > 10_000
    assert "regret_unique_mean" in paths["csv"].read_text().splitlines()[0]


def test_bench_cli(nb201_table, tmp_path, capsys):
    code = main(["bench", "--strategies", "random,evolution", "--seeds", "3", "--trials", "20",
                 "--workers", "1", "--out", str(tmp_path)])
    assert code == 0 and (tmp_path / "bench.json").exists()
    assert "evolution" in capsys.readouterr().out


def test_bench_cli_bad_input_exits_2(tmp_path, capsys):
    assert main(["bench", "--strategies", "annealing", "--out", str(tmp_path)]) == 2
    assert "unknown strategies" in capsys.readouterr().err
    assert main(["bench", "--table", str(tmp_path / "nope.csv"), "--out", str(tmp_path)]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["bench", "--trials", "0", "--strategies", "random", "--out", str(tmp_path)]) == 2
