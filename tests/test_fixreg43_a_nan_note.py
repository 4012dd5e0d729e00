"""The NaN-seed note names the right cause: R2 is NaN only when the held-out values are constant (never because
of constant predictions), rank scores when either side is constant."""

from __future__ import annotations

import math

import numpy as np

from nasforge.predictors.evaluation import nan_note, summarize
from nasforge.predictors.metrics import r2


def test_r2_is_nan_for_constant_held_out_values_not_for_constant_predictions():
    assert math.isnan(r2(np.ones(5), np.arange(5.0)))
    assert math.isfinite(r2(np.arange(5.0), np.ones(5)))


def test_note_says_the_held_out_values_can_be_constant():
    records = [{"predictor": "knn", "train_size": 20, "seed": s, "kendall_tau": float("nan"),
                "sparse_kendall_tau": float("nan"), "spearman": float("nan"), "r2": float("nan"), "mae": 0.0,
                "rmse": 0.0, "precision_top1pct": 1.0, "fit_seconds": 1.0, "predict_seconds": 0.1} for s in range(3)]
    note = nan_note(summarize(records), ["kendall_tau", "r2"])
    assert "the held-out values" in note and "NaN: constant predictions" not in note
    assert "knn n=20 kendall_tau, r2: 3 of 3" in note
