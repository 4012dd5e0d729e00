"""Fixes of review 47 of ``nasforge predictors eval`` and ``evaluate_predictors``."""

from __future__ import annotations

import pytest
from predictor_data import seed_table

from nasforge.cli import main


@pytest.fixture
def table(tmp_path):
    """200 NAS-Bench-201 rows: held out 100 by whole classes, seed 1 leaves 99 for training."""
    path = tmp_path / "t.csv"
    frame = seed_table(200, seeds=1).rename(columns={"val_acc_seed0": "val_acc"})
    frame["val_loss"] = 100.0 - frame["val_acc"]
    frame.to_csv(path, index=False)
    return path


def eval_argv(table, out, *extra: str) -> list[str]:
    return ["predictors", "eval", "--table", str(table), "--seeds", "2", "--test-size", "100", "--out", str(out),
            *extra]


def test_a_class_split_too_small_for_the_sizes_is_one_line_without_the_run_header(table, tmp_path, capsys):
    """Would fail: the run header (and a metric's direction note) went to stdout before the refusal."""
    assert main(eval_argv(table, tmp_path / "out", "--predictors", "knn", "--train-sizes", "100",
                          "--metric", "val_loss")) == 2
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err.count("\n") == 1 and "largest training set 100 exceeds the 99 architectures left for seed 1" \
        in printed.err
    assert not (tmp_path / "out").exists()
