"""Strategy fixes (review 46): Optuna sampler settings out of range refused when the strategy is built, the
message for a setting optuna_random does not take, and get_strategy checking what a registered factory returns."""

from __future__ import annotations

import re

import pytest

from nasforge import Strategy, Study
from nasforge.cli import main
from nasforge.exceptions import UsageError
from nasforge.strategies import STRATEGIES, get_strategy, optuna_adapter

pytest.importorskip("optuna")


def test_optuna_random_says_it_takes_no_settings_besides_the_seed():
    """Would fail: the message ended in "it takes " with nothing after it."""
    with pytest.raises(UsageError, match=r"RandomSampler takes no setting 'n_startup_trials'; it takes no settings "
                                         r"besides the seed \(use optuna_tpe for TPE settings\)$"):
        get_strategy("optuna_random", "nb201", seed=0, n_startup_trials=3)


@pytest.mark.parametrize(("settings", "refused"), [
    ({"n_startup_trials": 2, "n_ei_candidates": 0}, "n_ei_candidates=0: The size of `samples` must be positive"),
    ({"prior_weight": -1.0}, "prior_weight=-1.0: A non-negative value must be specified for prior_weight"),
    ({"n_ei_candidates": 0, "prior_weight": -1.0}, "n_ei_candidates=0: The size"),  # the first one, its own error
    ({"group": True, "multivariate": False}, "the settings group=True, multivariate=False together: ``group``"),
])
@pytest.mark.parametrize("n_objectives", [1, 2])
def test_optuna_settings_out_of_range_are_refused_when_built(settings, refused, n_objectives):
    """Would fail: n_ei_candidates=0 and prior_weight=-1 were taken, and the first TPE ask raised a raw ValueError
    (a traceback in `nasforge search`, after trial 0 trained)."""
    with pytest.raises(UsageError, match=f"^Optuna's TPESampler refuses {re.escape(refused)}"):
        get_strategy("optuna_tpe", "nb201", seed=0, n_objectives=n_objectives, **settings)


def test_the_search_cli_refuses_an_optuna_setting_out_of_range_in_one_line(tmp_path, capsys):
    """Would fail: exit 1 with an 88-line traceback at the second ask, trial 0 trained."""
    assert main(["search", "--strategy", "optuna_tpe", "--objectives", "val_acc", "--strategy-kwargs",
                 '{"n_ei_candidates": 0, "n_startup_trials": 1}', "--trials", "3", "--out", str(tmp_path / "runs"),
                 "--threads", "1", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("nasforge search: error: Optuna's TPESampler refuses n_ei_candidates=0: The size of `samples` "
                   "must be positive, but got 0.")
    assert not (tmp_path / "runs").exists()


def test_the_check_leaves_valid_settings_drawing_exactly_as_before(monkeypatch):
    """The check samples with a sampler of its own: with it or without it, the strategy asks the same."""
    def asks(strategy):
        keys = []
        for i in range(8):
            arch = strategy.ask()
            keys.append(strategy.space.canonical_key(arch))
            strategy.tell(arch, (i * 7 % 5) / 5)
        return keys

    settings = {"n_startup_trials": 2, "n_ei_candidates": 5, "constant_liar": False}
    checked = asks(get_strategy("optuna_tpe", "nb201", seed=3, dedup=True, **settings))
    monkeypatch.setattr(optuna_adapter, "_check_sampler_values", lambda *args: None)
    assert asks(get_strategy("optuna_tpe", "nb201", seed=3, dedup=True, **settings)) == checked


def test_get_strategy_checks_what_a_registered_factory_returns_as_study_does():
    """Would fail: get_strategy returned a bare object(), and a strategy skipping super().__init__ failed at ask with
    an AttributeError ('dedup'); Study refused both, and now gives the same messages from the same check."""
    class Bad(Strategy):
        name = "fix46_bad"

        def __init__(self, space, seed=None):
            pass

        def _propose(self):
            return self.space.sample(self.rng)

    STRATEGIES.register("fix46_notstrat", lambda space, seed=None: object())
    STRATEGIES.register("fix46_bad", Bad)
    try:
        for build in (lambda name: get_strategy(name, "nb201"), lambda name: Study("nb201", name)):
            with pytest.raises(UsageError, match=r"^strategy 'fix46_notstrat': its registered factory returned "
                                                 r"object <object .*>, not a Strategy$"):
                build("fix46_notstrat")
            with pytest.raises(UsageError, match=r"^strategy Bad was not initialised: its __init__ must call "
                                                 r"super\(\).__init__\(space, seed\)$"):
                build("fix46_bad")
    finally:
        for name in ("fix46_notstrat", "fix46_bad"):
            STRATEGIES._entries.pop(name)
            STRATEGIES._tags.pop(name)
