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
