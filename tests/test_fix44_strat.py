"""Review 44 (strategies): Optuna learns from every tell; Study.load checks strategy=; constraints=None/[]."""

from __future__ import annotations

import numpy as np
import pytest

from nasforge import Study
from nasforge.exceptions import UsageError
from nasforge.experiment import _replay
from nasforge.spaces import get_space
from nasforge.strategies import get_strategy


def test_optuna_learns_results_it_did_not_ask():
    pytest.importorskip("optuna")
    space = get_space("nb201")
    strategy = get_strategy("optuna_tpe", space, seed=0, dedup=True)
    strategy.tell(space.sample(np.random.default_rng(5)), 99.0)
    strategy.tell(space.sample(np.random.default_rng(6)), None)
    assert [t.state.name for t in strategy._study.trials] == ["COMPLETE", "FAIL"]
    assert strategy._study.trials[0].value == 99.0


def test_optuna_tells_the_pending_trial_of_an_identical_cell():
    pytest.importorskip("optuna")
    space = get_space("nb201")
    strategy = get_strategy("optuna_random", space, seed=0, dedup=True)
    asked = next(a for a in iter(strategy.ask, None) if space.canonical(a) != a)
    n_trials = len(strategy._study.trials)
    strategy.tell(space.canonical(asked), 1.0)  # another cell computing the same function
    assert len(strategy._study.trials) == n_trials  # the asked trial was told, none added
    assert [t.value for t in strategy._study.trials if t.state.name == "COMPLETE"] == [1.0]
    assert space.canonical_key(asked) not in strategy._pending


def test_optuna_study_relearns_every_result_after_a_diverged_replay(tmp_path, monkeypatch):
    pytest.importorskip("optuna")
    space = get_space("nb201")
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(space, "optuna_tpe", objectives="val_acc", seed=0, storage=url, name="o", dedup=True)
    study.enqueue(space.sample(np.random.default_rng(1)), tell_strategy=True)
    study.tell(study.next_waiting(), {"val_acc": 50.0})  # a warm start, told without an ask
    for i in range(6):
        trial = study.ask()
        study.tell(trial, {"val_acc": float(i)})
    assert len(study.strategy._study.trials) == study.strategy.n_told == 7  # the enqueued result too
    monkeypatch.setattr(_replay, "_diverges_at", lambda study, events: 0)  # as if another process wrote it
    with pytest.warns(RuntimeWarning, match="replay diverged"):
        loaded = Study.load("o", url)
    assert len(loaded.strategy._study.trials) == loaded.strategy.n_told == 7


@pytest.fixture()
def stored_tpe(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study("nb201", "tpe", objectives="val_acc", seed=0, storage=url, name="a")
    for i in range(3):
        study.tell(study.ask(), {"val_acc": float(i)})
    study.close()
    return url


@pytest.mark.parametrize("strategy, message", [
    ("evolution", "created with strategy 'tpe', not 'evolution'; leave strategy= out"),
    (lambda: get_strategy("evolution", "nb201", seed=0), "created with strategy 'tpe', not 'evolution'"),
    (lambda: get_strategy("tpe", "nb201", seed=5), "created with seed 0, not 5"),
    (lambda: get_strategy("tpe", "nb201", seed=0, gamma=0.3), "strategy settings gamma=0.1, not 0.3"),
    (lambda: get_strategy("mo_random", "nb201", seed=0), "created with strategy 'tpe', not 'mo_random'"),
    (3, "strategy= must be a Strategy object"),
])
def test_load_refuses_another_strategy(stored_tpe, strategy, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        Study.load("a", stored_tpe, strategy=strategy() if callable(strategy) else strategy)


def test_load_takes_the_stored_strategy_by_name_or_as_a_fresh_object(stored_tpe):
    for strategy in ("tpe", get_strategy("tpe", "nb201", seed=0)):
        loaded = Study.load("a", stored_tpe, strategy=strategy)
        assert type(loaded.strategy).__name__ == "TPE" and loaded.strategy.n_told == 3
        loaded.close()


@pytest.mark.parametrize("constraints", [None, [], ()])
def test_no_constraints_are_taken_by_every_strategy(constraints):
    assert get_strategy("tpe", "nb201", seed=0, constraints=constraints).name == "tpe"
    study = Study("nb201", "tpe", objectives="val_acc", seed=0, constraints=constraints)
    assert study.strategy.name == "tpe"
    with pytest.raises(UsageError, match="takes no constraints"):
        get_strategy("tpe", "nb201", seed=0, constraints=["params <= 1"])


@pytest.mark.parametrize("score", [1e300, -1e308, (1.0, 1e160)])
def test_a_score_beyond_the_models_range_is_refused_naming_it(score):
    name = "ts_hvi" if isinstance(score, tuple) else "gp_bo"
    strategy = get_strategy(name, "nb201", seed=0)
    with pytest.raises(UsageError, match=r"within \+-1e\+150 .*got .*e\+"):
        strategy.tell(strategy.ask(), score)
    assert strategy.n_told == 0


def test_a_study_fails_a_trial_whose_score_the_strategy_cannot_take():
    study = Study("nb201", "gp_bo", objectives="val_acc", seed=0)
    trial = study.ask()
    with pytest.warns(RuntimeWarning, match="FAILED: invalid result: gp_bo: .* within"):
        study.tell(trial, {"val_acc": 1e200})
    assert trial.state.name == "FAILED" and trial.metrics == {"val_acc": 1e200} and study.strategy.n_told == 1


def test_reinforce_draws_a_bounded_number_of_times_per_ask_once_its_policy_collapsed():
    space = get_space("nb201")
    strategy = get_strategy("reinforce", space, seed=0)
    for logits in strategy.policy.logits:
        logits[:] = [40.0, 0.0, 0.0, 0.0, 0.0]  # one choice per parameter at probability 1.0
    rejected = []
    for _ in range(30):
        strategy.tell(strategy.ask(), 1.0)
        rejected.append(strategy._rejected)
    assert max(rejected) < 60  # linear warming needed hundreds of draws per ask here
    assert strategy.temperature(20) == 2.0 and strategy.temperature(10) == 1.5  # unchanged for the first 20
