"""`predictors eval --direction` left out: the metric's name decides (a loss is minimized, with a note), as for
`nasforge bench` and `surrogate eval`; a given direction wins."""

from __future__ import annotations

import json

import pytest
from predictor_data import seed_table

from nasforge.cli import main


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("t") / "t.csv"
    frame = seed_table(40, seeds=1).rename(columns={"val_acc_seed0": "val_acc"})
    frame["val_loss"] = 100.0 - frame["val_acc"]
    frame.to_csv(path, index=False)
    return path


def _eval(table, tmp_path, metric: str, *extra: str) -> int:
    return main(["predictors", "eval", "--table", str(table), "--metric", metric, "--predictors", "knn",
                 "--train-sizes", "10", "--test-size", "8", "--seeds", "1", "--out", str(tmp_path / "p"), *extra])


@pytest.mark.parametrize(("metric", "extra", "direction", "noted"), [
    ("val_loss", (), "minimize", True), ("val_acc", (), "maximize", False),
    ("val_loss", ("--direction", "max"), "maximize", False)])
def test_direction_follows_the_metric_name(table, tmp_path, capsys, metric, extra, direction, noted):
    assert _eval(table, tmp_path, metric, *extra) == 0
    out = capsys.readouterr().out
    assert json.loads((tmp_path / "p" / "predictors.json").read_text())["direction"] == direction
    note = "note: --metric val_loss is minimized (its name has the part 'loss'); pass --direction maximize"
    assert (note in out) == noted
