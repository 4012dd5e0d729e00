"""Known limits fixed at stop 49: gp_bo's code cache, summary.json's search_training, supernet option names."""

from __future__ import annotations


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
