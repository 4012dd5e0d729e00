"""``nasforge surrogate`` and ``nasforge predictors`` refuse bad input up front: one line, exit status 2."""

from __future__ import annotations

import json

import pytest
from predictor_data import seed_table

from nasforge.cli import main


def err_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("t") / "t.csv"
    seed_table(80, seeds=1).rename(columns={"val_acc_seed0": "val_acc"}).to_csv(path, index=False)
    return path


def test_an_ensemble_with_a_member_that_cannot_save_is_refused_before_fitting(table, tmp_path, capsys):
    params = json.dumps({"members": [{"predictor": "rf"}]})
    assert main(["surrogate", "fit", "--table", str(table), "--model", "ensemble", "--params", params,
                 "--out", str(tmp_path / "s")]) == 2
    assert "--model ensemble: an ensemble member has no safe file format" in err_line(capsys)
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("argv, message", [
    (["surrogate", "fit", "--params", '{"seed": 3}'],
     "--params sets 'seed'; use --seed (it seeds the hold-out split and the models)"),
    (["predictors", "eval", "--predictors", "lgb", "--params", '{"lgb": {"seed": 1}}'],
     "--params: lgb sets 'seed'; the runs are seeded 0..N-1 by --seeds"),
])
def test_a_seed_in_params_is_refused_naming_the_option(table, tmp_path, capsys, argv, message):
    assert main([*argv, "--table", str(table), "--out", str(tmp_path / "o")]) == 2
    assert err_line(capsys).endswith(message)
