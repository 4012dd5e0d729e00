"""Known problems of tables and surrogates fixed on 2026-12-06: an objective's direction from its name, a run named
after its objective's data set, a mean column beside blank seed cells, manifest.json read once, a surrogate's
default name following its data set."""

import json

import numpy as np
import pandas as pd
import pytest

from nasforge.cli import main
from nasforge.exceptions import UsageError


def _loss_table(tmp_path, blank_seeds: bool = False):
    """A 9-architecture chain table as CSV: acc = the choices' positions summed, val_loss = 10 - acc; with
    ``blank_seeds``, acc_seed0/1 columns whose cells are blank on data row 3."""
    from nasforge.spaces import ChainSpace

    space = ChainSpace([["a", "b", "c"]] * 2)
    lines = ["arch,acc,val_loss" + (",acc_seed0,acc_seed1" if blank_seeds else "")]
    for i, arch in enumerate(space.enumerate()):
        acc = float(sum("abc".index(c) for c in arch.genotype))
        seeds = ("" if not blank_seeds else ",," if i == 2 else f",{acc + 0.1},{acc - 0.1}")
        lines.append(f"{space.format(arch)},{acc},{10 - acc}{seeds}")
    path = tmp_path / "chain.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, space


def _bench(path, out, *extra):
    return main(["bench", "--table", str(path), "--space", "chain", "--strategies", "random", "--seeds", "1",
                 "--trials", "3", "--workers", "1", "--secondary", "", "--out", str(out), *extra])


def test_a_mean_column_serves_a_row_with_blank_seed_cells(tmp_path):
    """Would fail: a row with acc but blank acc_seed0/1 was refused ('no value in any of the seed columns')."""
    from nasforge.benchmarks import TabularBenchmark

    path, space = _loss_table(tmp_path, blank_seeds=True)
    table = TabularBenchmark(path, space)
    arch = table.archs[2]
    assert table.value(arch, "acc") == 2.0 and np.isnan(table.seed_values("acc")[2]).all()
    assert np.isnan(table.query(arch)["acc_std"])
    assert table.query(arch, rng=np.random.default_rng(0))["acc"] == 2.0  # no seed to draw: the mean
    assert table.query(table.archs[4], rng=np.random.default_rng(0))["acc"] in (2.1, 1.9)
    frame = pd.read_csv(path)
    frame.loc[2, "acc"] = np.nan  # neither a mean nor a seed value: still refused, naming the row
    with pytest.raises(UsageError, match=r"column\(s\) \['acc'\] hold NaN/inf .* in data row 3 "):
        TabularBenchmark(frame, space)
    frame = pd.read_csv(path).drop(columns="acc")  # no mean column: the seeds must hold a value
    with pytest.raises(UsageError, match=r"data row 3 .* has no value in any of the seed columns"):
        TabularBenchmark(frame, space)


def test_bench_runs_on_a_table_with_blank_seed_cells_beside_the_mean(tmp_path, capsys):
    path, _ = _loss_table(tmp_path, blank_seeds=True)
    assert _bench(path, tmp_path / "b", "--objective", "acc") == 0
