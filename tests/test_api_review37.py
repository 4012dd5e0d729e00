"""Python API review fixes: numpy values, harness checks, partial tables, table lookups, messages and reprs."""

from __future__ import annotations

import pathlib

import numpy as np
import pandas as pd
import pytest

import nasforge
from nasforge import Result, Study, TableEvaluator, UsageError, get_space, get_strategy
from nasforge.benchmarks import TabularBenchmark


@pytest.fixture(scope="module")
def part_table(nb201_table, tmp_path_factory) -> TabularBenchmark:
    """The first 200 rows of the NB201 table: far from every architecture of the space."""
    path = tmp_path_factory.mktemp("part") / "part.csv"
    pd.DataFrame({"arch": [nb201_table.space.format(a) for a in nb201_table.archs[:200]],
                  "acc": nb201_table.values("val_acc")[:200]}).to_csv(path, index=False)
    return TabularBenchmark(path, nb201_table.space)


# -- numpy integers: seeds and counts ---------------------------------------------------------------
def test_numpy_seeded_strategy_leaves_a_loadable_study(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    strategy = get_strategy("evolution", "nb201", seed=np.int64(1))
    assert type(strategy.seed) is int
    Study(strategy.space, strategy, storage=url, name="c").close()
    loaded = Study.load("c", url)
    assert loaded.seed == 1 and type(loaded.seed) is int


def test_study_takes_a_numpy_seed_as_the_strategies_do():
    study = Study("nb201", "evolution", seed=np.int64(3))
    assert study.seed == 3 and type(study.seed) is int
    with pytest.raises(UsageError, match="seed"):
        Study("nb201", "evolution", seed=np.float64(3))


def test_optimize_takes_numpy_counts():
    study = Study("nb201", "random", seed=0)
    study.optimize(lambda arch: 1.0, n_trials=np.int64(2), n_workers=np.int64(1))
    assert len(study.trials) == 2 and study.run_config["n_workers"] == 1


def test_check_int_returns_a_python_int():
    from nasforge.checks import check_int, check_seed

    assert type(check_int("n", np.int32(4))) is int and type(check_seed("seed", np.uint8(4))) is int
    with pytest.raises(UsageError):
        check_int("n", np.True_)


# -- numpy values in results and attributes --------------------------------------------------------
def test_numpy_user_attrs_are_stored_as_plain_values(tmp_path):
    def train(arch):
        curve = np.array([50.0, 60.0, 70.0])
        return Result(metrics={"val_acc": float(curve.max())}, user_attrs={"best_epoch": curve.argmax(),
                                                                            "curve": curve})

    study = Study("nb201", "random", seed=0, storage=f"sqlite:///{tmp_path / 'a.db'}")
    study.optimize(train, n_trials=2)
    assert [t.state.value for t in study.trials] == ["COMPLETE", "COMPLETE"]
    assert study.trials[0].user_attrs == {"best_epoch": 2, "curve": [50.0, 60.0, 70.0]}
    study.set_trial_user_attr(study.trials[0], "k", np.int64(5))
    study.set_user_attr("n", np.float32(0.5))
    trial = study.enqueue(study.space.sample(np.random.default_rng(1)), user_attrs={"i": np.int64(1)},
                          fidelity={"epochs": np.int64(4)})
    assert trial.fidelity == {"epochs": 4} and type(trial.fidelity["epochs"]) is int
    again = Study.load(study.name, study.storage)
    assert again.trials[0].user_attrs["k"] == 5 and again.user_attrs["n"] == 0.5


def test_multi_objective_tell_takes_a_numpy_row():
    study = Study("nb201", "random", objectives=["val_acc", "params"], directions=["maximize", "minimize"], seed=0)
    trial = study.tell(study.ask(), np.array([90.0, 1e5]))
    assert trial.metrics == {"val_acc": 90.0, "params": 1e5}


# -- partial tables and table lookups ---------------------------------------------------------------
def test_compare_refuses_a_table_missing_architectures(part_table):
    from nasforge.analysis.harness import compare

    with pytest.raises(UsageError, match=r"holds \d+ of the 5,260 distinct architectures .*compare needs every one"):
        compare(part_table, ["random"], seeds=2, budget=20, objective="acc", secondary=None, workers=1)


def test_table_evaluator_stops_a_study_at_a_missing_architecture(part_table, nb201_table):
    study = Study(nb201_table.space, "evolution", objectives="acc", seed=0)
    with pytest.raises(UsageError, match="TableEvaluator: architecture .* is not in benchmark 'part.csv'"):
        study.optimize(TableEvaluator(part_table), n_trials=50)
    assert len(study.trials) == 1


def test_table_lookups_raise_nasforge_errors(part_table):
    from nasforge.benchmarks.tabular import ArchNotInTableError

    missing = next(a for a in part_table.space.enumerate() if a not in part_table)
    for lookup in (part_table.row, part_table.query, lambda a: part_table.value(a, "acc")):
        with pytest.raises(ArchNotInTableError, match="is not in benchmark 'part.csv'") as caught:
            lookup(missing)
        assert isinstance(caught.value, KeyError) and not str(caught.value).startswith("'")
    darts = get_space("darts").sample(np.random.default_rng(0))
    with pytest.raises(UsageError, match="architecture belongs to space 'darts', not 'nb201'"):
        part_table.query(darts)
    with pytest.raises(UsageError, match="belongs to space 'darts'"):
        TableEvaluator(part_table).evaluate(darts)


# -- harness arguments ----------------------------------------------------------------------------------
def test_harness_functions_take_one_name_for_a_list(nb201_table):
    from nasforge.analysis.harness import compare
    from nasforge.analysis.simulate import ModelledCurves, compare_simulated
    from nasforge.predictors.evaluation import evaluate_predictors

    assert list(compare(nb201_table, "random", seeds=1, budget=5, workers=1).strategies) == ["random"]
    assert list(compare_simulated(ModelledCurves(nb201_table), "random", seeds=1, hours=0.2).curves) == ["random"]
    records = evaluate_predictors(nb201_table.space, nb201_table.archs, nb201_table.values("val_acc"), "knn",
                                  [20], seeds=1, test_size=100)
    assert {r["predictor"] for r in records} == {"knn"}


@pytest.mark.parametrize("seeds, message", [("2", "seeds must be an integer >= 1, got '2'"),
                                            (2.0, "seeds must be an integer >= 1, got 2.0"),
                                            (0, "seeds must be an integer >= 1, got 0")])
def test_compare_checks_its_counts(nb201_table, seeds, message):
    from nasforge.analysis.harness import compare

    with pytest.raises(UsageError, match=message):
        compare(nb201_table, ["random"], seeds=seeds, budget=5, workers=1)


def test_simulation_and_predictor_comparisons_check_their_counts(nb201_table):
    from nasforge.analysis.simulate import ModelledCurves, compare_simulated
    from nasforge.predictors.evaluation import evaluate_predictors

    with pytest.raises(UsageError, match="seeds must be an integer >= 1, got 0"):
        compare_simulated(ModelledCurves(nb201_table), ["random"], seeds=0)
    with pytest.raises(UsageError, match="train_sizes must be a list of training-set sizes, got 20"):
        evaluate_predictors(nb201_table.space, nb201_table.archs, nb201_table.values("val_acc"), ["knn"], 20)
    with pytest.raises(UsageError, match="strategies must be a name or a non-empty list of names"):
        compare_simulated(ModelledCurves(nb201_table), [], seeds=1)


# -- Path storage and the Trial repr ------------------------------------------------------------------------
def test_storage_may_be_a_path(tmp_path):
    path = tmp_path / "p.db"
    Study("nb201", "random", storage=path, name="p").close()
    assert Study.load("p", pathlib.Path(path)).name == "p"


def test_trial_repr_is_short():
    study = Study("darts", "random", seed=0)
    study.optimize(lambda arch: 1.0, n_trials=1)
    text = repr(study.trials[0])
    assert text.startswith("Trial(number=0, state=COMPLETE, arch=darts:(") and "metrics={'val_acc': 1.0}" in text
    assert len(text) < 200 and "heartbeat" not in text
    assert nasforge  # the package imported


# -- deliberate errors are NasforgeErrors; a missing torch extra names it ---------------------------------------
def test_data_model_and_pareto_errors_are_usage_errors():
    from nasforge.data import load_dataset
    from nasforge.models import create_model
    from nasforge.pareto import pareto_front

    arch = get_space("nb201").sample(np.random.default_rng(0))
    darts = get_space("darts").sample(np.random.default_rng(0))
    calls = [(lambda: load_dataset("bogus"), "unknown data set 'bogus'"),
             (lambda: load_dataset("npz"), "needs a data directory"),
             (lambda: load_dataset("digits").subset(1.5), r"data fraction must be in \(0, 1\]"),
             (lambda: create_model("nb201", arch, num_classes=10, C=0), "needs C >= 1"),
             (lambda: create_model("nb201", darts, num_classes=10), "cannot be built from an architecture of space"),
             (lambda: pareto_front([1, 2, 3]), "points must be a 2-D array")]
    for call, message in calls:
        with pytest.raises(UsageError, match=message):
            call()


def test_a_missing_torch_extra_is_one_line_naming_it():
    import subprocess
    import sys

    script = """
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
import nasforge
for load in (lambda: __import__("nasforge.data"), lambda: __import__("nasforge.models"),
             lambda: __import__("nasforge.oneshot", fromlist=["x"]).build_supernet,
             lambda: __import__("nasforge.spaces.model_space", fromlist=["x"]).ModelSpace):
    try:
        load()
    except nasforge.NasforgeError as exc:
        print(exc)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [f"{what} needs torch: pip install 'nasforge[torch]'" for what in (
        "training on a data set (nasforge.data)", "nasforge.models", "nasforge.oneshot.build_supernet",
        "nasforge.spaces.model_space.ModelSpace")]


def test_loading_a_study_of_an_unregistered_strategy_says_to_register_it(tmp_path, monkeypatch):
    from nasforge.strategies import STRATEGIES

    class Mine(nasforge.Strategy):
        name = "mine"

        def _propose(self):
            return self.space.sample(self.rng)

    url = f"sqlite:///{tmp_path / 'm.db'}"
    monkeypatch.setattr(STRATEGIES, "_entries", dict(STRATEGIES._entries))
    monkeypatch.setattr(STRATEGIES, "_tags", dict(STRATEGIES._tags))
    STRATEGIES.register("mine", Mine)
    Study("nb201", "mine", storage=url, name="s").close()
    del STRATEGIES._entries["mine"]
    with pytest.raises(UsageError, match=r"strategy 'mine', which is not registered in this process .*"
                                         r"STRATEGIES.register\('mine', MyStrategy\)"):
        Study.load("s", url)
