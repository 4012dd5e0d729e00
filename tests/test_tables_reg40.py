"""Regressions of review tables40's fixes: gap rule of surrogate eval, noisy draws, mean + per-seed tables,
the default secondary's reads, the narrowing hint, simulated.json's table_path."""

import json

import numpy as np
import pandas as pd
import pytest

from nasforge.benchmarks import TabularBenchmark
from nasforge.cli import main
from nasforge.spaces import ChainSpace

SPACE = ChainSpace([["a", "b"], ["a", "b"]])
ARCHS = [SPACE.format(a) for a in SPACE.enumerate()]


def draws(columns: dict[str, float], metric: str = "acc", n: int = 400) -> dict[float, int]:
    """How often each value of ``metric`` comes out of ``n`` noisy queries on a table of ``columns``."""
    table = TabularBenchmark(pd.DataFrame({"arch": ARCHS, **{c: [v] * 4 for c, v in columns.items()}}), SPACE)
    rng = np.random.default_rng(0)
    values = [table.query(ARCHS[0], rng=rng)[metric] for _ in range(n)]
    return {v: values.count(v) for v in sorted(set(values))}


# -- item 1: surrogate eval reads only its metric, as surrogate fit does ------------------------------------------
def chain_table(tmp_path, layers=([["skip", "conv3", "conv5"]] * 4)) -> tuple[str, str]:
    """A complete chain table (``acc``, ``time``) with a gap in the unread ``acc_top5``, and its space config."""
    space = ChainSpace(list(layers))
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"arch": [space.format(a) for a in space.enumerate()]})
    frame["acc"], frame["time"] = rng.uniform(50, 90, len(frame)), rng.uniform(10, 20, len(frame))
    frame["acc_top5"] = frame["acc"] + 5
    frame.loc[3, "acc_top5"] = np.nan
    frame.to_csv(tmp_path / "gap.csv", index=False)
    (tmp_path / "s.json").write_text(json.dumps({"layers": list(layers)}))
    return str(tmp_path / "gap.csv"), str(tmp_path / "s.json")


def test_surrogate_eval_scores_on_the_table_surrogate_fit_took(tmp_path):
    """Would fail: fit ignored the gap in acc_top5 (a column it does not read), eval refused the same table."""
    table, config = chain_table(tmp_path)
    space = ["--table", table, "--space", "chain", "--space-config", config]
    assert main(["surrogate", "fit", *space, "--metrics", "acc", "--model", "knn", "--out", str(tmp_path / "s")]) == 0
    assert main(["surrogate", "eval", str(tmp_path / "s"), *space, "--seeds", "1", "--trials", "5",
                 "--strategies", "random", "--out", str(tmp_path / "e")]) == 0
    assert (tmp_path / "e" / "fidelity.json").is_file()


# -- item 4: bench reads only the secondary it resolves -----------------------------------------------------------
def test_bench_ignores_a_gap_in_a_default_secondary_it_does_not_take(tmp_path):
    """Would fail: every default (c100-test, then test_acc) counted as read, so test_acc's gap refused the run."""
    table, config = chain_table(tmp_path)
    frame = pd.read_csv(table)
    frame = frame.assign(**{"c100-val": frame.acc, "c100-test": frame.acc - 1, "test_acc": frame.acc + 1})
    frame.loc[5, "test_acc"] = np.nan
    frame.to_csv(table, index=False)
    assert main(["bench", "--table", table, "--space", "chain", "--space-config", config, "--objective", "c100-val",
                 "--strategies", "random", "--seeds", "1", "--trials", "5", "--workers", "1",
                 "--out", str(tmp_path / "b")]) == 0
    assert json.loads((tmp_path / "b" / "bench.json").read_text())["secondary"] == "c100-test"


def test_the_shared_tables_secondary_still_follows_the_objective(nb201_table, tmp_path):
    """Without --table the default secondary is resolved on the shared table: cifar100-val reports cifar100-test."""
    assert main(["bench", "--objective", "cifar100-val", "--strategies", "random", "--seeds", "1", "--trials", "5",
                 "--workers", "1", "--out", str(tmp_path / "b")]) == 0
    assert json.loads((tmp_path / "b" / "bench.json").read_text())["secondary"] == "cifar100-test"


# -- item 2: a noisy query stays noisy whatever seeds the other metrics have ------------------------------------
@pytest.mark.parametrize("columns, values", [
    ({"acc_seed0": 1.0, "acc_seed1": 2.0, "acc_seed2": 3.0, "time_seed0": 10.0}, [1.0, 2.0, 3.0]),
    ({"acc_seed1": 1.0, "acc_seed2": 2.0, "time_seed0": 10.0, "time_seed1": 20.0}, [1.0, 2.0]),
])
def test_a_noisy_query_draws_every_seed_of_a_metric(columns, values):
    """Would fail: acc was always seed 0 (or 1), the only seed every metric shared: a noise-free objective."""
    counts = draws(columns)
    assert sorted(counts) == values and min(counts.values()) > 400 / len(values) * 0.7


def test_metrics_with_the_drawn_seed_share_it():
    """Common random numbers: acc and loss measured with the same seeds come from the same seed."""
    table = TabularBenchmark(pd.DataFrame({"arch": ARCHS, **{f"acc_seed{k}": [float(k)] * 4 for k in range(3)},
                                           **{f"loss_seed{k}": [10.0 * k] * 4 for k in range(3)},
                                           "time_seed0": [1.0] * 4}), SPACE)
    rng = np.random.default_rng(1)
    for _ in range(50):
        q = table.query(ARCHS[1], rng=rng)
        assert q["loss"] == 10 * q["acc"] and q["time"] == 1.0


# -- item 3: a mean column beside its per-seed columns ----------------------------------------------------------
def test_a_plain_column_beside_its_seed_columns_is_the_metrics_value():
    """Would fail: the table was refused ("both define metric 'acc'"); before that, acc/acc_std were replaced."""
    frame = pd.DataFrame({"arch": ARCHS, "acc": [9.0] * 4, "acc_std": [0.5] * 4, "acc_seed0": [1.0] * 4,
                          "acc_seed1": [3.0] * 4, "time": [5.0] * 4, "time_seed0": [4.0] * 4,
                          "time_seed1": [8.0] * 4})
    table = TabularBenchmark(frame, SPACE)
    q = table.query(ARCHS[0])
    assert (q["acc"], q["acc_std"], q["time"], q["time_std"]) == (9.0, 0.5, 5.0, 2.0)
    assert set(table.seed_metrics) == {"acc", "time"} and table.values("acc").tolist() == [9.0] * 4
    rng = np.random.default_rng(0)
    assert {table.query(ARCHS[0], rng=rng)["acc"] for _ in range(50)} == {1.0, 3.0}
    assert TabularBenchmark(frame, SPACE, metrics=["acc"]).metrics == ["acc"]  # the user's acc_std is not replaced


# -- item 6: simulated.json records the table too ---------------------------------------------------------------
def test_simulated_json_records_the_table_path(tmp_path):
    """Would fail: table_path was written to bench.json only."""
    table, config = chain_table(tmp_path)
    assert main(["bench", "--table", table, "--space", "chain", "--space-config", config, "--objective", "acc",
                 "--workers-simulated", "2", "--strategies", "random", "--seeds", "1", "--trials", "4",
                 "--out", str(tmp_path / "b")]) == 0
    report = json.loads((tmp_path / "b" / "simulated.json").read_text())
    assert report["table_path"] == str((tmp_path / "gap.csv").resolve())


# -- item 5: the narrowing hint only where a --space-config can narrow -----------------------------------------
def test_no_space_config_hint_for_the_proxylessnas_preset(tmp_path, capsys):
    """Would fail: proxylessnas (a chain space whose preset takes no options) was told to give a --space-config."""
    from nasforge.spaces import get_space

    space, rng = get_space("proxylessnas"), np.random.default_rng(0)
    pd.DataFrame({"arch": [space.format(space.sample(rng)) for _ in range(30)], "acc": np.arange(30.0)}).to_csv(
        tmp_path / "pl.csv", index=False)
    assert main(["bench", "--table", str(tmp_path / "pl.csv"), "--space", "proxylessnas", "--objective", "acc",
                 "--strategies", "random", "--seeds", "1", "--trials", "5", "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "--space-config" not in err and "bench cannot run on a partial table of this space" in err


def test_giving_dataset_does_not_make_its_unread_test_column_required(tmp_path, nb201_table):
    """--dataset (even its default) reads only the columns the run uses: a gap in cifar10-test is ignored by a
    bench run without a secondary, as without --dataset (docs review 40, item 2)."""
    from nasforge.benchmarks import find_data_file, read_table

    frame = read_table(find_data_file("nb201_hp12.csv.gz"))
    frame.loc[frame.index[5], "cifar10-test"] = float("nan")
    frame.to_csv(tmp_path / "gap.csv", index=False)
    for dataset in ([], ["--dataset", "cifar10"]):
        assert main(["bench", "--table", str(tmp_path / "gap.csv"), "--secondary", "", *dataset, "--seeds", "1",
                     "--trials", "5", "--strategies", "random", "--workers", "1",
                     "--out", str(tmp_path / f"b{len(dataset)}")]) == 0
