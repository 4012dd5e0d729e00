"""Strategy fixes (review 46): Optuna sampler settings out of range refused when the strategy is built, the
message for a setting optuna_random does not take, and get_strategy checking what a registered factory returns."""

from __future__ import annotations

import pytest

from nasforge.exceptions import UsageError
from nasforge.strategies import get_strategy

pytest.importorskip("optuna")


def test_optuna_random_says_it_takes_no_settings_besides_the_seed():
    """Would fail: the message ended in "it takes " with nothing after it."""
    with pytest.raises(UsageError, match=r"RandomSampler takes no setting 'n_startup_trials'; it takes no settings "
                                         r"besides the seed \(use optuna_tpe for TPE settings\)$"):
        get_strategy("optuna_random", "nb201", seed=0, n_startup_trials=3)
