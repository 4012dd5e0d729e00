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


@pytest.mark.parametrize("cls", ["RegularizedEvolution", "ModelBasedStrategy", "GridSearch", "TPE", "Reinforce"])
def test_strategy_classes_take_a_space_name(cls):
    import nasforge.strategies as strategies

    strategy = getattr(strategies, cls)("nb201", seed=0)
    assert strategy.space.name == "nb201"
    strategy.ask()
    with pytest.raises(UsageError, match="space must be a SearchSpace or a space name, got int"):
        getattr(strategies, cls)(5, seed=0)


def test_load_takes_a_space_name(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    Study("nb201", "random", seed=0, storage=url, name="a").optimize(lambda arch: 1.0, n_trials=2)
    assert len(Study.load("a", url, space="nb201").trials) == 2
    with pytest.raises(UsageError, match="searches space 'nb201'"):
        Study.load("a", url, space="darts")


def test_load_study_data_takes_a_url_and_refuses_other_objects(tmp_path):
    from nasforge.analysis.studyreport import load_study_data

    url = f"sqlite:///{tmp_path / 'a.db'}"
    Study("nb201", "random", seed=0, storage=url, name="a").optimize(lambda arch: 1.0, n_trials=2)
    assert len(load_study_data(url, "a").trials) == 2
    with pytest.raises(UsageError, match="load_study_data: storage must be a Storage or a storage URL, got int"):
        load_study_data(5, "a")


def test_simulation_refuses_wrong_objects():
    from nasforge.analysis.simulate import ModelledCurves, simulate

    with pytest.raises(UsageError, match="ModelledCurves needs a TabularBenchmark .*got str"):
        ModelledCurves("nb201")
    with pytest.raises(UsageError, match="simulate: strategy must be a strategy with ask.. and tell.. .*got int"):
        simulate(5, None)
    with pytest.raises(UsageError, match="simulate: bench must be a simulated benchmark .*got NoneType"):
        simulate(get_strategy("random", "nb201", seed=0), None)


def test_few_shot_functions_name_a_wrong_supernet_or_data():
    pytest.importorskip("torch")
    from nasforge.oneshot import build_supernet, choose_split, gradient_similarity, split_supernet

    net = build_supernet("nb201", 1, 10, C=2, N=1)
    with pytest.raises(UsageError, match="split_supernet: supernet must be a supernet.*got NoneType"):
        split_supernet(None, ["edge_0_3"])
    with pytest.raises(UsageError, match="choose_split: supernet must be a supernet"):
        choose_split(None, None)
    with pytest.raises(UsageError, match="choose_split: data must be an ImageDataset .*got int"):
        choose_split(net, 5)
    with pytest.raises(UsageError, match="gradient_similarity: data must be an ImageDataset .*got str"):
        gradient_similarity(net, "digits", "edge_0_3")


def test_dataset_subset_and_resized_check_their_arguments():
    import numpy as np

    torch = pytest.importorskip("torch")
    from nasforge.data import ImageDataset

    def images(n):
        return torch.rand(n, 1, 8, 8)

    data = ImageDataset("tiny", images(40), torch.arange(40) % 4, images(8), torch.arange(8) % 4, images(8),
                        torch.arange(8) % 4, num_classes=4)
    assert data.subset(0.5, seed=np.int64(1)).y_train.tolist() == data.subset(0.5, seed=1).y_train.tolist()
    assert data.subset(np.float64(0.5)).y_train.shape == data.subset(0.5).y_train.shape
    assert data.resized(np.int64(4)).x_train.shape[-2:] == (4, 4)
    for call, match in [(lambda: data.subset("0.5"), r"data fraction must be in \(0, 1\], got '0.5' \(a str"),
                        (lambda: data.subset(float("nan")), r"data fraction must be in \(0, 1\], got nan"),
                        (lambda: data.subset(0.5, seed=1.5), r"seed must be an integer >= 0, got 1.5"),
                        (lambda: data.subset(0.5, seed=-1), r"seed must be an integer >= 0, got -1"),
                        (lambda: data.resized("16"), r"resolution must be an integer >= 1, got '16'"),
                        (lambda: data.resized(16.0), r"resolution must be an integer >= 1, got 16.0"),
                        (lambda: data.resized(0), r"resolution must be an integer >= 1, got 0")]:
        with pytest.raises(UsageError, match=match):
            call()


def test_load_replay_and_ask_queued_are_checked_flags(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    study = Study("nb201", "random", seed=0, storage=url, name="a")
    for call in (lambda: study.ask(queued="no"), lambda: study.ask_until(5, queued=1)):
        with pytest.raises(UsageError, match="queued must be True or False"):
            call()
    assert study.trials == []  # nothing was proposed
    assert study.ask(queued=True).state.name == "WAITING"
    with pytest.raises(UsageError, match="replay must be True or False, got 'no'"):
        Study.load("a", url, replay="no")
