"""One seed's NaN score (Kendall tau of constant predictions) no longer turns a summary mean into nan: the mean
and spread are over the seeds that have a value, and a note says how many were left out."""

from __future__ import annotations

import json
import math

import pytest
from predictor_data import seed_table

import nasforge.predictors.evaluation as evaluation
from nasforge.cli import main
from nasforge.predictors.evaluation import nan_note, summarize

METRIC_NAMES = ("kendall_tau", "sparse_kendall_tau", "spearman", "r2", "mae", "rmse", "precision_top1pct")


def _records(taus: tuple[float, ...]) -> list[dict]:
    return [{"predictor": "gp", "train_size": 10, "seed": s, **{m: 0.5 for m in METRIC_NAMES}, "kendall_tau": t,
             "spearman": t, "fit_seconds": 1.0, "predict_seconds": 0.1} for s, t in enumerate(taus)]


def test_summary_mean_is_over_the_seeds_with_a_value():
    row = summarize(_records((-0.429, float("nan"), 0.071)))[0]
    assert row["kendall_tau"] == pytest.approx(-0.179) and row["kendall_tau_std"] == pytest.approx(0.3536, abs=1e-4)
    assert row["nan_seeds"] == {"kendall_tau": 1, "spearman": 1} and row["seeds"] == 3
    note = nan_note([row], ["kendall_tau", "spearman", "r2"])
    assert note.startswith("note: seeds whose score is undefined") and "gp n=10 kendall_tau, spearman: 1 of 3" in note
    assert nan_note([row], ["r2"]) == ""


def test_every_seed_nan_stays_nan():
    row = summarize(_records((float("nan"),) * 2))[0]
    assert math.isnan(row["kendall_tau"]) and math.isnan(row["kendall_tau_std"])
    assert row["nan_seeds"]["kendall_tau"] == 2


def test_cli_table_prints_the_mean_and_a_note(tmp_path, capsys, monkeypatch):
    path = tmp_path / "t.csv"
    seed_table(40, seeds=1).rename(columns={"val_acc_seed0": "val_acc"}).to_csv(path, index=False)
    monkeypatch.setattr(evaluation, "evaluate_predictors", lambda *a, **k: _records((-0.429, float("nan"), 0.071)))
    assert main(["predictors", "eval", "--table", str(path), "--predictors", "knn", "--train-sizes", "10",
                 "--test-size", "8", "--seeds", "3", "--out", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.split()[:2] == ["gp", "10"])
    assert "nan" not in row and "-0.179" in row
    assert "note: seeds whose score is undefined" in out and "gp n=10 kendall_tau, spearman: 1 of 3" in out
    summary = json.loads((tmp_path / "p" / "predictors.json").read_text())["summary"][0]
    assert summary["nan_seeds"] == {"kendall_tau": 1, "spearman": 1}
