"""A warped surrogate around a point predictor warns as the bare predictor does (me42)."""

from __future__ import annotations

import warnings

import pytest

from nasforge import get_space
from nasforge.strategies import get_strategy


@pytest.mark.parametrize("strategy", ["ts_hvi", "model_based"])
def test_a_warped_point_predictor_warns_that_it_gives_no_uncertainty(strategy):
    """Would fail before: warped(lgb) gave std 0 silently, so Thompson draws / EI were greedy without a word."""
    space = get_space("nb201")
    options = {} if strategy == "ts_hvi" else {"acquisition": "ei"}
    warped = {"name": "warped", "inner": {"name": "predictor", "predictor": "lgb"}}
    with pytest.warns(UserWarning, match="'lgb' gives no uncertainty"):
        get_strategy(strategy, space, surrogate=warped, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_strategy(strategy, space, surrogate={**warped, "inner": {"name": "predictor", "predictor": "rf"}},
                     **options)
