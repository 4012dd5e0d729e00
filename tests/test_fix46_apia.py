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
