"""Regression and ranking metrics of predictions."""

from __future__ import annotations

import numpy as np
import pytest

from nasforge.predictors import kendall_tau, mae, precision_at_k, r2, rmse, score_all, sparse_kendall_tau, spearman


def test_perfect_and_reversed_rankings():
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert kendall_tau(y, y) == pytest.approx(1.0) and spearman(y, 2 * y) == pytest.approx(1.0)
    assert kendall_tau(y, -y) == pytest.approx(-1.0) and spearman(y, -y) == pytest.approx(-1.0)
    assert r2(y, y) == pytest.approx(1.0) and r2(y, np.full(5, y.mean())) == pytest.approx(0.0)


def test_errors():
    y, p = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 4.0])
    assert mae(y, p) == pytest.approx(1.0)
    assert rmse(y, p) == pytest.approx(np.sqrt(5 / 3))


def test_sparse_kendall_tau_treats_tiny_differences_as_ties():
    y = np.array([70.0, 70.02, 71.0, 72.0])
    p = np.array([70.03, 70.01, 71.0, 72.0])  # swaps a pair 0.02 points apart
    assert kendall_tau(y, p) < 1.0
    assert sparse_kendall_tau(y, p) == pytest.approx(1.0)


def test_precision_of_the_predicted_top_k():
    y = np.arange(10.0)
    p = np.array([9.5, 1, 2, 3, 4, 5, 6, 7, 8, 9])  # predicted best: items 0, 9, 8
    assert precision_at_k(y, p, 2) == pytest.approx(0.5)
    assert precision_at_k(y, p, 0.3) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="top-k size"):
        precision_at_k(y, p, 11)
    assert precision_at_k(y, p, 2.0) == pytest.approx(0.5)  # a whole count given as a float
    for k in (2.5, True, float("nan")):  # never silently rounded down
        with pytest.raises(ValueError, match=r"k must be a whole count or a fraction below 1"):
            precision_at_k(y, p, k)


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="3 values but y_pred has 2"):
        mae([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="finite"):
        kendall_tau([1.0, np.nan], [1.0, 2.0])


def test_score_all_names_every_metric():
    scores = score_all(np.arange(200.0), np.arange(200.0) + 0.5)
    assert set(scores) >= {"kendall_tau", "sparse_kendall_tau", "spearman", "r2", "mae", "rmse", "precision_top1pct"}
    assert scores["mae"] == pytest.approx(0.5) and scores["precision_top1pct"] == 1.0
