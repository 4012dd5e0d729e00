"""Public API checks: invalid Results, TableEvaluator's table and seed, missing data paths, data loader arguments,
Reporter errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from nasforge import Result, Study, TrialState
from nasforge.exceptions import UsageError


@pytest.mark.parametrize("attrs", [["a"], 5, "text"])
def test_user_attrs_that_are_no_dict_fail_the_trial_instead_of_stopping_the_run(tmp_path: Path, attrs) -> None:
    storage = f"sqlite:///{tmp_path / 'ua.db'}"
    study = Study("nb201", "random", seed=0, storage=storage, name="ua")
    study.optimize(lambda arch: Result(metrics={"val_acc": 1.0}, user_attrs=attrs), n_trials=2, progress=False)
    stored = Study.load("ua", storage=storage)
    assert [t.state for t in stored.trials] == [TrialState.FAILED] * 2
    assert all(t.error.startswith("invalid result: user_attrs must be a dict") and t.user_attrs == {}
               for t in stored.trials)
    told = Study("nb201", "random", seed=0)
    trial = told.ask()
    told.tell(trial, Result(metrics={"val_acc": 1.0}, user_attrs=attrs))
    assert told.trials[0].state == TrialState.FAILED and told.trials[0].user_attrs == {}
