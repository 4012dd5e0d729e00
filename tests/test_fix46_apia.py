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
    with pytest.raises(UsageError, match=r"data_dir must be a path \(str or Path\) to the files of data set 'npz'"):
        TrainingEvaluator("npz", data_dir=5)
    with pytest.raises(UsageError, match=r"data_dir must name the files of data set 'npz', got ' ' \(an unset shell"):
        TrainingEvaluator("npz", data_dir=" ")
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


@pytest.mark.parametrize("call, message", [
    (lambda: _data().load_dataset("digits", val_fraction="0.1"), r"val_fraction must be a number, got str '0.1'"),
    (lambda: _data().load_dataset("digits", test_fraction=True), r"test_fraction must be a number, got bool True"),
    (lambda: _data().load_dataset("digits", seed=-1), r"^seed must be an integer >= 0, got -1"),
    (lambda: _data().load_dataset("cifar10", "/nowhere", seed="a"), r"^seed must be an integer >= 0, got 'a'"),
    (lambda: _data().load_dataset("npz", 5), r"^data_dir must be a path \(str or Path\) .* got int 5"),
    (lambda: _data().load_digits(noise=-1), r"^noise must be >= 0 .*got -1"),
    (lambda: _data().load_digits(noise="x"), r"^noise must be >= 0 .*got 'x' \(a str, not a number\)"),
    (lambda: _data().load_digits(seed=1.5), r"seed must be an integer >= 0, got 1.5"),
    (lambda: _data().split_indices("10", 0.2, 0.2, 0), r"^n must be an integer >= 0, got '10'"),
    (lambda: _data().split_indices(10, 0.2, 0.2, -1), r"^seed must be an integer >= 0, got -1"),
    (lambda: _data().split_indices(10, "0.2", 0.2, 0), r"^val_fraction must be a number, got str '0.2'"),
    (lambda: _data().load_npz(None), r"^path must be a path \(str or Path\) to the files of data set 'npz'"),
    (lambda: _data().load_cifar(None), r"^path must be a path \(str or Path\) to the files of data set 'cifar10'"),
    (lambda: _data().load_image_folder(None), r"^path must be a path \(str or Path\) .* data set 'folder'"),
])
def test_data_loaders_name_a_bad_argument_in_one_usage_error(call, message) -> None:
    with pytest.raises(UsageError, match=message):
        call()


def _data():
    import nasforge.data

    return nasforge.data


def test_loaders_take_a_path_as_text_and_refuse_a_missing_one(tmp_path: Path) -> None:
    import numpy as np

    from nasforge.data import load_npz
    from nasforge.exceptions import MissingFileError

    np.savez(tmp_path / "two.npz", x=np.arange(40 * 16, dtype=np.uint8).reshape(40, 4, 4), y=np.arange(40) % 2)
    assert len(load_npz(str(tmp_path / "two.npz")).y_train) == 28
    with pytest.raises(MissingFileError, match="data path .*gone.npz' for data set 'npz' does not exist"):
        load_npz(str(tmp_path / "gone.npz"))


@pytest.mark.parametrize("name", [None, 5, ""])
def test_find_data_file_refuses_what_is_no_file_name(name) -> None:
    from nasforge.benchmarks import find_data_file

    with pytest.raises(UsageError, match=r"^name must be the file name of a benchmark file \(str or Path\)"):
        find_data_file(name)


def test_reporter_misuse_is_a_usage_error_naming_the_value_or_step() -> None:
    from nasforge.evaluators.reporter import Reporter

    with pytest.raises(UsageError, match=r"^decide must be a callable f\(step, value\) -> bool or None, got int 5"):
        Reporter(5)
    reporter = Reporter()
    reporter.report(1, 0.5)
    with pytest.raises(UsageError, match=r"^reported value at step 3 must be a number, got str 'x'"):
        reporter.report(3, "x")
    with pytest.raises(UsageError, match=r"^reported value at step 3 must be a number, got NoneType None"):
        reporter.report(3, None)
    with pytest.raises(UsageError, match=r"^report steps must increase: got step 1 after step 1"):
        reporter.report(1, 0.6)
    with pytest.raises(UsageError, match=r"^report step must be a whole number"):
        reporter.report(1.5, 0.6)
    with pytest.raises(ValueError, match="NaN") as nan:  # an outcome (a diverged training), not misuse
        reporter.report(4, float("nan"))
    assert not isinstance(nan.value, UsageError)
    assert reporter.curve == [(1, 0.5)]


def test_a_misused_reporter_stops_a_run_at_its_first_trial() -> None:
    def evaluate(arch, fidelity=None, reporter=None):
        reporter.report(1, "high")
        return {"val_acc": 1.0}

    study = Study("nb201", "random", seed=0)
    with pytest.raises(UsageError, match="reported value at step 1 must be a number, got str 'high'"):
        study.optimize(evaluate, n_trials=3, progress=False)
    assert len(study.trials) == 1 and study.trials[0].state == TrialState.FAILED
