"""Known limits fixed at stop 49: gp_bo's code cache, summary.json's search_training, supernet option names."""

from __future__ import annotations

import pytest


def test_a_gp_bo_study_keeps_no_space_alive_once_dropped():
    import gc
    import weakref

    from nasforge import Study
    from nasforge.spaces import ChainSpace
    from nasforge.strategies.model_based import surrogates

    def study_over(space: ChainSpace) -> None:
        study = Study(space, "gp_bo", objectives="acc", seed=0, n_initial=3)
        study.optimize(lambda a: {"acc": float(len(set(a.genotype)))}, n_trials=5)

    kept, space = ChainSpace([["a", "b", "c"]] * 4), ChainSpace([["a", "b", "c"]] * 4)
    ref, key = weakref.ref(space), id(space)
    study_over(kept)
    study_over(space)
    del space
    gc.collect()
    assert ref() is None  # lru_cache's keys held every space gp_bo's codes were computed for
    assert key not in surrogates._CODES  # its entry went with it
    assert surrogates._CODES[id(kept)][0]() is kept and surrogates._CODES[id(kept)][1]  # a living one's stays


@pytest.mark.parametrize("data", [[], ["--data", "digits"], ["--data", "digits-hard"]])
def test_search_with_a_supernet_names_the_data_dir_option_for_built_in_data(data, tmp_path, capsys):
    pytest.importorskip("torch")
    from nasforge.cli import main
    from nasforge.oneshot import build_supernet
    from nasforge.oneshot.checkpoint import save_supernet

    save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), tmp_path / "ck", {"data": {"data": "digits"}})
    assert main(["search", "--evaluator", "supernet", "--supernet", str(tmp_path / "ck"), "--trials", "2",
                 "--retrain", "0", "--out", str(tmp_path / "run"), *data, "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    built_in = data[1] if data else "digits"  # left out: the supernet's own
    assert f"--data-dir applies to data read from files, not {built_in} (built in)" in err, err
    assert "data_dir" not in err and len(err.splitlines()) == 1
    assert not (tmp_path / "run").exists()


def _hyperband(fidelity: str, low: float, high: float):
    from nasforge.pipelines.search import SearchConfig

    return SearchConfig(strategy="hyperband", objectives=["val_acc"], retrain=0,
                        strategy_kwargs={"fidelity": fidelity, "min_budget": low, "max_budget": high, "eta": 2})


@pytest.mark.parametrize("fidelity, low, high, field, sizes", [
    ("width", 0.25, 1.0, "C", [2, 8]), ("cells", 1, 4, "N", [1, 4]), ("resolution", 4, 8, "resolution", [4, 8])])
def test_search_training_says_the_size_a_budget_sets_varies_per_trial(fidelity, low, high, field, sizes):
    """It recorded the preset's C=8, N=1 whatever size each trial trained at."""
    from nasforge.pipelines.search import search_training
    from nasforge.spaces import get_space

    trials = [{fidelity: b} for b in (high, low, (low + high) / 2)] + [{}]  # {}: a trial that never started
    recorded = search_training(_hyperband(fidelity, low, high), get_space("nb201"), trials)
    assert recorded["per_trial"] == {"budget": fidelity, "budgets": [low, high], field: sizes}
    assert (recorded["C"], recorded["N"]) == {"C": (None, 1), "N": (8, None), "resolution": (8, 1)}[field]
    assert {"epochs", "lr", "augment", "seed"} <= recorded.keys()  # the keys older readers take stay
    plain = search_training(_hyperband("data_fraction", 0.25, 1), get_space("nb201"), [{"data_fraction": 0.5}])
    assert (plain["C"], plain["N"]) == (8, 1) and "per_trial" not in plain  # as before: no size varies


def test_search_training_of_a_model_space_records_no_network_size(tmp_path):
    """It recorded C=1 (the preset's placeholder): a model space's module sets its own size."""
    pytest.importorskip("torch")
    from model_space_sources import TINY_MODEL_SPACE

    from nasforge.pipelines.search import SearchConfig, search_training
    from nasforge.spaces.model_space import ModelSpace

    (tmp_path / "net.py").write_text(TINY_MODEL_SPACE)
    space = ModelSpace(f"{tmp_path / 'net.py'}:Net", input_shape=(1, 8, 8))
    recorded = search_training(SearchConfig(objectives=["val_acc"]), space)
    assert (recorded["C"], recorded["N"], recorded["epochs"]) == (None, None, 4)
    assert search_training(_hyperband("width", 0.5, 1), space, [{"width": 0.5}, {"width": 1}])["per_trial"] == {
        "budget": "width", "budgets": [0.5, 1]}  # the module ignores the width: no size to give


def test_search_training_of_a_budget_the_network_refuses_records_no_size():
    """Would fail: a chain network (no cells to repeat) refused cells=2 inside search_training, so a hyperband search
    whose cells=2 trials had failed wrote no summary.json and could never be finished (resume failed the same)."""
    from nasforge.pipelines.search import search_training
    from nasforge.spaces import ChainSpace

    recorded = search_training(_hyperband("cells", 1, 2), ChainSpace([["conv3", "conv5"], ["conv3", "skip"]]),
                               [{"cells": 1}, {"cells": 2}])
    assert recorded["per_trial"] == {"budget": "cells", "budgets": [1, 2], "N": [None, None]}
