"""precision@k does not depend on the order of items tied in the predictions (me42)."""

from __future__ import annotations

import numpy as np
import pytest

from nasforge.predictors.metrics import precision_at_k


def test_predictions_tied_at_the_cut_share_the_places_left_whatever_the_order():
    """Would fail before: a stable argsort took the first tied item, so reordering the rows changed the score
    (1.0 one way, 0.0 the other)."""
    y_true = np.array([10.0, 1.0, 2.0, 3.0])
    y_pred = np.array([5.0, 5.0, 0.0, 0.0])  # the best (10) and a bad one (1) tied at the top
    assert precision_at_k(y_true, y_pred, k=1) == pytest.approx(0.5)
    assert precision_at_k(y_true[::-1], y_pred[::-1], k=1) == pytest.approx(0.5)
    assert precision_at_k(y_true, y_pred, k=2) == pytest.approx(0.5)  # both picked: one hit of two
    assert precision_at_k(y_true, -y_pred, k=3, maximize=False) == pytest.approx((1 + 2 * 0.5) / 3)


def test_untied_predictions_score_as_before():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.normal(size=200), rng.normal(size=200)
    top = np.argsort(-y_pred)[:20]
    assert precision_at_k(y_true, y_pred, k=20) == pytest.approx(np.mean(y_true[top] >= np.sort(y_true)[-20]))
