"""Fixes of review 46 (a newcomer's first hour): refusals print one line, and say what they found."""

from __future__ import annotations

import sys

from predictor_data import seed_table

from nasforge.cli import main


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_bench_into_a_used_out_prints_only_the_error_not_the_skipped_default_notes(monkeypatch, tmp_path, capsys,
                                                                                  nb201_table):
    """Would fail: without optuna, a refused --out printed two "note: skipping default strategy optuna_*" lines
    about a run that never started, before its one-line error."""
    monkeypatch.setitem(sys.modules, "optuna", None)
    out = tmp_path / "b"
    out.mkdir()
    (out / "bench.json").write_text("{}")
    assert main(["bench", "--seeds", "1", "--trials", "5", "--out", str(out)]) == 2
    assert _one_line(capsys.readouterr().err).startswith(f"nasforge bench: error: --out {str(out)!r} already holds "
                                                         "an earlier bench run (bench.json)")


def test_predictors_eval_into_a_used_out_prints_only_the_error(monkeypatch, tmp_path, capsys):
    """Would fail: the skipped default predictor's note came before the refusal of an earlier run's --out."""
    import nasforge.cli.predictors as cli_predictors

    monkeypatch.setitem(sys.modules, "ngboost", None)
    monkeypatch.setattr(cli_predictors, "DEFAULT_PREDICTORS", "knn,ngb")
    seed_table(200, seeds=1).rename(columns={"val_acc_seed0": "cifar10-val"}).to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "eval"
    out.mkdir()
    (out / "predictors.json").write_text("{}")
    assert main(["predictors", "eval", "--table", str(tmp_path / "t.csv"), "--train-sizes", "30", "--test-size",
                 "100", "--seeds", "1", "--out", str(out)]) == 2
    assert "already holds an earlier predictors eval run" in _one_line(capsys.readouterr().err)
