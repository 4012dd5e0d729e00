"""Review 42 fix (strategies): numpy population settings are recorded as Python numbers, so the study loads by
name (``Study.load`` / ``nasforge resume`` rebuild the strategy)."""

from __future__ import annotations

import numpy as np
import pytest

from nasforge import Study, get_strategy
from nasforge.experiment._replay import init_config


@pytest.mark.parametrize(("name", "settings"), [
    ("evolution", {"population_size": np.int64(10), "sample_size": np.int64(3), "crossover_prob": np.float32(0.5)}),
    ("mo_evolution", {"population_size": np.int64(10), "sample_size": np.int32(3)}),
    ("nsga2", {"population_size": np.int64(10), "crossover_prob": np.float32(0.25)}),
])
def test_numpy_population_settings_leave_a_loadable_study(tmp_path, name, settings):
    strategy = get_strategy(name, "nb201", seed=0, **settings)
    config = init_config(strategy)
    assert config is not None and all(config[k] == v and type(config[k]) in (int, float) for k, v in settings.items())
    assert "population_size=10" in repr(strategy)
    url = f"sqlite:///{tmp_path / 'np.db'}"
    objectives = ["val_acc", "params"] if name != "evolution" else "val_acc"
    study = Study(strategy.space, strategy, objectives=objectives, storage=url, name="np", seed=0)
    for _ in range(12):
        arch = study.ask()
        study.tell(arch, 1.0 if name == "evolution" else (1.0, 2.0))
    study.close()
    loaded = Study.load("np", url)  # was: "settings were not recorded; pass a fresh one as strategy="
    assert loaded.strategy.population_size == 10 and type(loaded.strategy.population_size) is int


def test_optuna_n_objectives_is_recorded_as_a_python_int():
    pytest.importorskip("optuna")
    strategy = get_strategy("optuna_tpe", "nb201", seed=0, n_objectives=np.int64(1))
    assert type(strategy.n_objectives) is int and init_config(strategy) is not None
