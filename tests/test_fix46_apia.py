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


@pytest.fixture(scope="module")
def table():
    from nasforge.benchmarks import load_nb201

    return load_nb201()


def test_table_evaluator_refuses_what_is_no_tabular_benchmark_at_construction(table) -> None:
    from nasforge import TableEvaluator
    from nasforge.benchmarks import find_data_file, read_table

    for given in (read_table(find_data_file("nb201_hp12.csv.gz")), "nb201_hp12.csv.gz", None):
        with pytest.raises(UsageError, match=r"TableEvaluator needs a TabularBenchmark: load_nb201\(path\) .*"
                                             r"TabularBenchmark\(table, space\)"):
            TableEvaluator(given)


@pytest.mark.parametrize("seed", [-1, "1", 1.5, True, 2**63])
def test_table_evaluator_checks_its_seed(table, seed) -> None:
    from nasforge import TableEvaluator

    with pytest.raises(UsageError, match=r"^seed must be"):
        TableEvaluator(table, noisy=True, seed=seed)
    assert TableEvaluator(table, noisy=True, seed=3).seed == 3


def test_a_missing_data_dir_is_refused_when_the_training_evaluator_is_built(tmp_path: Path) -> None:
    from nasforge.evaluators import TrainingEvaluator
    from nasforge.exceptions import MissingFileError

    typo = tmp_path / "cifar_typo"
    for options in (None, {}):
        with pytest.raises(MissingFileError, match=f"data path '{typo}' for data set 'cifar10' does not exist"):
            TrainingEvaluator("cifar10", data_dir=typo, data_options=options, C=4, N=1)
    for bad in (5, " "):
        with pytest.raises(UsageError, match=r"data_dir must be a path \(str or Path\) to the files of data set 'npz'"):
            TrainingEvaluator("npz", data_dir=bad)
    typo.mkdir()
    TrainingEvaluator("cifar10", data_dir=typo, C=4, N=1)  # no data is read at construction


def test_missing_data_files_are_usage_errors_that_stay_file_not_found_errors(tmp_path: Path) -> None:
    from nasforge.data import load_dataset
    from nasforge.exceptions import MissingFileError

    (tmp_path / "split" / "train" / "a").mkdir(parents=True)
    (tmp_path / "split" / "train" / "b").mkdir()
    cases = [("cifar10", tmp_path / "gone", "does not exist"), ("cifar100", tmp_path, "no CIFAR-100 batches in"),
             ("folder", tmp_path / "split", "has train/ but no test split folder")]
    for name, path, message in cases:
        with pytest.raises(MissingFileError, match=message) as caught:
            load_dataset(name, path)
        assert isinstance(caught.value, FileNotFoundError) and isinstance(caught.value, UsageError)
