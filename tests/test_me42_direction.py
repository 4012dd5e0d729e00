"""camelCase metric names follow the loss/error direction rule (me42)."""

from __future__ import annotations

import pytest

from nasforge.benchmarks.tabular import objective_direction


@pytest.mark.parametrize(("metric", "expected"), [
    ("valLoss", "minimize"), ("top1Error", "minimize"), ("ValLOSS", "minimize"), ("LOSS", "minimize"),
    ("losslessAcc", "maximize"), ("valAcc", "maximize")])
def test_camel_case_humps_split_a_metric_name_into_parts(metric, expected):
    """Would fail before: valLoss (one part 'valloss') was maximized."""
    assert objective_direction(metric) == expected
