"""Fixes from the review of the Python API (round 50)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from nasforge import Study, UsageError, get_space, get_strategy
from nasforge.spaces import ChainSpace, NASBench201Space
from nasforge.strategies import RegularizedEvolution


@pytest.mark.parametrize("kwargs, match", [
    ({"storag": "sqlite:///x.db"}, r"\['storag'\].*did you mean storage=\?"),
    ({"objective": "params", "directions": "minimize"}, r"\['objective'\].*did you mean objectives=\?"),
    ({"population_size": 5}, r"\['population_size'\].*RegularizedEvolution\(\.\.\.\) itself"),
])
def test_study_with_strategy_object_refuses_extra_keywords(kwargs, match):
    space = get_space("nb201")
    with pytest.raises(UsageError, match=match):
        Study(space, RegularizedEvolution(space, seed=0), **kwargs)


@pytest.mark.parametrize("ours, theirs", [
    (ChainSpace(layers=[["a", "b"]] * 3), ChainSpace(layers=[["a", "b", "c"], ["a", "b"], ["a", "b"], ["x", "y"]])),
    (NASBench201Space("functional"), NASBench201Space("network")),
])
def test_study_refuses_strategy_on_space_with_other_options(ours, theirs):
    with pytest.raises(UsageError, match="their options differ"):
        Study(theirs, RegularizedEvolution(ours, seed=0))


def test_study_takes_strategy_on_equal_space():
    study = Study(get_space("nb201"), RegularizedEvolution(get_space("nb201"), seed=0))
    study.optimize(lambda arch: 1.0, n_trials=2)
    assert len(study.trials) == 2


@pytest.mark.parametrize("score", [np.float32(5), np.float16(5), (np.float32(5),)])
def test_a_float32_score_is_told_without_overflow_warning(score):
    strategy = get_strategy("evolution", get_space("nb201"), seed=0)
    arch = strategy.ask()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        strategy.tell(arch, score)
    assert strategy.known_score(arch) == 5.0


def test_a_float32_score_beyond_the_limit_is_still_refused():
    strategy = get_strategy("evolution", get_space("nb201"), seed=0)
    with pytest.raises(UsageError, match="must lie within"):
        strategy.tell(strategy.ask(), np.float64(1e200))


def _small_table():
    from nasforge.benchmarks import TabularBenchmark

    space = ChainSpace(layers=[["a", "b"]] * 2)
    records = [{"arch": space.format(a), "val_acc_seed0": 50.0 + i, "val_acc_seed1": 60.0 + i}
               for i, a in enumerate(space.enumerate())]
    return TabularBenchmark(records, space)


@pytest.mark.parametrize("flag", ["noisy", "ignore_fidelity"])
def test_table_evaluator_flags_must_be_bools(flag):
    from nasforge import TableEvaluator

    table = _small_table()
    with pytest.raises(UsageError, match=f"{flag} must be True or False, got 'false'"):
        TableEvaluator(table, seed=1, **{flag: "false"})
    TableEvaluator(table, seed=1, **{flag: np.bool_(True)})


def test_study_load_if_exists_must_be_a_bool(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    Study("nb201", "random", seed=0, name="a", storage=url).close()
    with pytest.raises(UsageError, match="load_if_exists must be True or False, got 'no'"):
        Study("nb201", "random", seed=0, name="a", storage=url, load_if_exists="no")


def test_optimize_catch_must_be_a_bool():
    with pytest.raises(UsageError, match="catch must be True or False, got 'no'"):
        Study("nb201", "random", seed=0).optimize(lambda arch: 1 / 0, n_trials=1, catch="no")


def test_surrogate_evaluator_flags_must_be_bools():
    from nasforge.evaluators import SurrogateEvaluator

    with pytest.raises(UsageError, match="noisy must be True or False, got 'no'"):
        SurrogateEvaluator("unused", noisy="no")
