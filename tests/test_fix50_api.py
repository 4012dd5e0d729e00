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


def test_search_config_takes_paths_and_numpy_numbers(tmp_path):
    from nasforge.pipelines.search import SearchConfig

    config = SearchConfig(storage=tmp_path / "s.db", out=tmp_path / "run", data="folder", data_dir=tmp_path / "data",
                          trials=np.int64(5), seed=np.uint32(3), timeout=np.float32(2.5))
    config.validate()
    as_str = SearchConfig(storage=f"sqlite:///{tmp_path / 's.db'}", out=str(tmp_path / "run"),
                          data="folder", data_dir=str(tmp_path / "data"), trials=5, seed=3, timeout=2.5)
    assert config.to_json() == as_str.to_json()
    assert [type(config.trials), type(config.seed), type(config.timeout)] == [int, int, float]


@pytest.mark.parametrize("field", ["out", "data_dir"])
def test_search_config_refuses_a_path_that_is_no_path(field):
    from nasforge.pipelines.search import SearchConfig

    with pytest.raises(UsageError, match=f"{field} must be a path \\(str or Path\\), got int 5"):
        SearchConfig(**{field: 5}).validate()


@pytest.mark.parametrize("storage, match", [(5, r"storage must be a storage URL .*got 5"),
                                            ("", r"storage: '' is not a storage URL")])
def test_search_config_refuses_a_storage_that_is_no_url_as_a_url(storage, match):
    from nasforge.pipelines.search import SearchConfig

    with pytest.raises(UsageError, match=match):
        SearchConfig(storage=storage).validate()


@pytest.mark.parametrize("config", [{"trials": 2}, None])
def test_run_search_refuses_what_is_no_search_config(config):
    from nasforge.pipelines.search import run_search

    with pytest.raises(UsageError, match="run_search needs a SearchConfig"):
        run_search(config)


def test_training_evaluator_refuses_a_text_architecture():
    from nasforge.evaluators import TrainingEvaluator

    space = get_space("nb201")
    with pytest.raises(UsageError, match=r"arch must be an Architecture \(space.parse\(text\) reads one\), got str"):
        TrainingEvaluator(C=4, fidelity={"epochs": 1}).evaluate(space.format(space.sample(0)))


def test_training_evaluator_save_dir_must_be_a_path():
    from nasforge.evaluators import TrainingEvaluator

    with pytest.raises(UsageError, match="save_dir must be a path \\(str or Path\\), got int 5"):
        TrainingEvaluator(C=4, save_dir=5)
    assert TrainingEvaluator(C=4, save_dir="").save_dir == ""  # the working folder, as a stored spec may hold it


@pytest.fixture(scope="module")
def tiny_supernet():
    from nasforge.data import load_dataset
    from nasforge.oneshot import build_supernet

    data = load_dataset("digits").subset(0.1, seed=0)
    return build_supernet("nb201", data.num_classes, data.in_channels, C=4, N=1), data


@pytest.mark.parametrize("supernet", [None, "nb201", object()])
def test_train_supernet_refuses_what_is_no_supernet(supernet, tiny_supernet):
    from nasforge.oneshot import OneShotConfig, SubnetScorer, train_supernet

    _, data = tiny_supernet
    with pytest.raises(UsageError, match="train_supernet: supernet must be a supernet, an nn.Module"):
        train_supernet(supernet, data, OneShotConfig(epochs=1))
    with pytest.raises(UsageError, match="SubnetScorer: supernet must be a supernet"):
        SubnetScorer(supernet, data)


def test_subnet_scorer_repr(tiny_supernet):
    from nasforge.oneshot import ScoreConfig, SubnetScorer

    net, data = tiny_supernet
    scorer = SubnetScorer(net, data, ScoreConfig(bn_mode="recalibrate", recal_batches=1))
    assert repr(scorer) == (f"SubnetScorer(space='nb201', data={data.name!r}, bn_mode='recalibrate', split='val', "
                            "n_scored=0)")


@pytest.mark.parametrize("y_true, match", [
    (None, "y_true must be a list or array of numbers, got NoneType None"),
    ((x for x in [1, 2, 3]), r"y_true must be .* got generator .*an iterator is read once: give a list"),
    (["a", "b", "c"], r"y_true must be a list or array of numbers, got list \['a', 'b', 'c'\]"),
])
def test_metrics_refuse_what_is_no_list_of_numbers(y_true, match):
    from nasforge.predictors import kendall_tau

    with pytest.raises(UsageError, match=match):
        kendall_tau(y_true, [1, 3, 2])


@pytest.mark.parametrize("points", [None, (p for p in [[1, 2], [2, 1]]), [[1, 2], [3]], [["a", "b"]]])
def test_pareto_front_refuses_what_is_no_array_of_points(points):
    from nasforge.analysis.pareto import pareto_front

    with pytest.raises(UsageError, match="points must be a list or array of numbers"):
        pareto_front(points)


def test_hypervolume_refuses_no_reference():
    from nasforge.analysis.pareto import hypervolume

    with pytest.raises(UsageError, match="reference must be a list or array of numbers, got NoneType None"):
        hypervolume([[1, 2], [2, 1]], None)
    assert hypervolume([[1, 2], [2, 1]], [0, 0]) == 3.0
