"""precision_at_k with ties in the true values (fix41 report item 4)."""

import pytest

from nasforge.predictors import precision_at_k


def test_precision_at_k_counts_a_pick_tied_with_the_kth_best_true_value():
    assert precision_at_k([90.0, 90.0, 80.0, 70.0], [0.1, 0.9, 0.2, 0.3], k=1) == 1.0
    assert precision_at_k([90.0, 90.0, 80.0, 70.0], [0.9, 0.1, 0.2, 0.3], k=1) == 1.0
    assert precision_at_k([70.0, 80.0, 90.0, 90.0], [0.1, 0.2, 0.9, 0.3], k=1) == 1.0
    assert precision_at_k([90.0, 90.0, 80.0, 70.0], [0.1, 0.2, 0.9, 0.3], k=1) == 0.0


def test_precision_at_k_ties_for_a_lower_is_better_metric():
    assert precision_at_k([1.0, 1.0, 2.0, 3.0], [5.0, 0.0, 4.0, 3.0], k=1, maximize=False) == 1.0
    assert precision_at_k([1.0, 2.0, 2.0, 3.0], [0.0, 4.0, 0.5, 3.0], k=2, maximize=False) == pytest.approx(1.0)
    assert precision_at_k([1.0, 2.0, 2.0, 3.0], [0.0, 4.0, 9.0, 0.5], k=2, maximize=False) == pytest.approx(0.5)
