"""Fixes from the review of the Python API (round 52)."""
from __future__ import annotations

import pytest

from nasforge import Study, UsageError, get_space, get_strategy


def _used(space, n=3):
    """An evolution strategy that has asked and been told ``n`` times already (tried by hand first)."""
    strategy = get_strategy("evolution", space, seed=0)
    for _ in range(n):
        strategy.tell(strategy.ask(), 50.0)
    return strategy


def test_stored_study_refuses_used_strategy_object(tmp_path):
    space = get_space("nb201")
    with pytest.raises(UsageError, match=r"already asked 3 .*pass a fresh strategy object"):
        Study(space, _used(space), storage=f"sqlite:///{tmp_path / 'a.db'}", name="u")
    in_memory = Study(space, _used(space))  # nothing is replayed in memory: taken as before
    in_memory.optimize(lambda arch: 1.0, n_trials=2)
    assert len(in_memory.trials) == 2


def test_stored_study_refuses_a_strategy_object_another_study_used(tmp_path):
    space = get_space("nb201")
    strategy = get_strategy("evolution", space, seed=0)
    first = Study(space, strategy, storage=f"sqlite:///{tmp_path / 'a.db'}", name="a")  # a fresh object: taken
    first.optimize(lambda arch: 1.0, n_trials=2)
    with pytest.raises(UsageError, match=r"already asked 2 and been told 2 .*fresh"):
        Study(space, strategy, storage=f"sqlite:///{tmp_path / 'b.db'}", name="b")


def test_load_refuses_used_strategy_object_and_takes_fresh_one(tmp_path):
    space, url = get_space("nb201"), f"sqlite:///{tmp_path / 'v.db'}"
    study = Study(space, "evolution", seed=0, storage=url, name="v")
    study.optimize(lambda arch: 1.0, n_trials=4)
    study.close()
    with pytest.raises(UsageError, match=r"Study.load\('v'\): .*already asked 5 .*pass a fresh strategy object"):
        Study.load("v", url, strategy=_used(space, 5))
    again = Study.load("v", url, strategy=get_strategy("evolution", space, seed=0))
    assert again.strategy.n_told == 4  # the replay of the stored trials
