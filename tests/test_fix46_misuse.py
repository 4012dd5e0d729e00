"""A UsageError subclass raised by the evaluator at the first trial (a data folder gone: MissingFileError, a missing
extra: MissingDependencyError) stops the run as misuse, as a plain UsageError does; other errors only fail trials."""

from __future__ import annotations

import pytest

from nasforge import Study
from nasforge.exceptions import MissingDependencyError, MissingFileError, UsageError


@pytest.mark.parametrize("error", [MissingFileError("data folder /gone not found"),
                                   MissingDependencyError("the thing needs foo: pip install foo")])
def test_a_usage_error_subclass_at_the_first_trial_stops_the_run(error):
    """Would fail: only the text 'UsageError: ' was recognised, so every trial failed with it instead."""
    def evaluate(arch):
        raise error

    study = Study("nb201", "random", objectives="acc", seed=0)
    with pytest.raises(UsageError, match=f"refused the trial as misuse before any result: {error}"):
        study.optimize(evaluate, n_trials=5)
    assert [t.state.name for t in study.trials] == ["FAILED"]


def test_another_error_at_the_first_trial_only_fails_trials():
    def evaluate(arch):
        raise FileNotFoundError("flaky network share")

    study = Study("nb201", "random", objectives="acc", seed=0)
    with pytest.warns(Warning):
        study.optimize(evaluate, n_trials=3, max_retries=0)
    assert [t.state.name for t in study.trials] == ["FAILED"] * 3
