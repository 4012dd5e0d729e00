"""Review 55 (old data): studies, run folders and files stored by a release of 2026-12-05 (7294db39) load at HEAD."""

from __future__ import annotations

import sqlite3

import pytest

from nasforge import Study
from nasforge.exceptions import UsageError
from nasforge.spaces import get_space

SPACE = get_space("nb201")


def _score(arch) -> float:
    return float(sum(map(ord, SPACE.format(arch))) % 97)


def test_an_old_reinforce_study_with_ppo_only_settings_loads_and_continues(tmp_path):
    """Would fail: older versions took reinforce(batch_size=4) with algorithm='reinforce' (and ignored it); HEAD
    refused it on load, so Study.load / nasforge resume / report of such a stored study stopped with a UsageError."""
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    with Study(SPACE, "reinforce", objectives="acc", seed=3, name="r", storage=url) as study:
        study.optimize(_score, n_trials=6)
        asked = [SPACE.format(t.arch) for t in study.trials]
    with sqlite3.connect(path) as raw:  # as the release of 2026-12-05 stored it
        raw.execute("UPDATE nasforge_studies SET strategy_config = ?", ('{"batch_size": 4}',))
    raw.close()
    with pytest.warns(UserWarning, match=r"batch_size \(stored by an older version\) is ignored without"):
        study = Study.load("r", url)
    assert [SPACE.format(t.arch) for t in study.trials] == asked
    assert study.strategy.batch_size == 4 and study.strategy.algorithm == "reinforce"
    study.optimize(_score, n_trials=2)
    assert len(study.trials) == 8
    study.close()
    with pytest.raises(UsageError, match="batch_size needs algorithm='ppo'"):  # a new study is still told
        Study(SPACE, "reinforce", objectives="acc", seed=3, batch_size=4)


def test_an_old_gp_bo_study_with_an_encoding_beside_the_hamming_kernel_loads(tmp_path):
    """Would fail: older versions took surrogate={"name": "gp", "encoding": ...} with the default hamming kernel (the
    encoding was unused); HEAD refused it on load, so the stored study no longer opened."""
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    with Study(SPACE, "gp_bo", objectives="acc", seed=3, name="g", storage=url) as study:
        study.optimize(_score, n_trials=4)
    config = '{"surrogate": {"name": "gp", "kernel": "hamming", "encoding": "path"}}'
    with sqlite3.connect(path) as raw:  # as the release of 2026-12-05 stored it
        raw.execute("UPDATE nasforge_studies SET strategy_config = ?", (config,))
    raw.close()
    with pytest.warns(UserWarning, match="encoding 'path' .stored by an older version. is ignored by the hamming"):
        study = Study.load("g", url)
    study.optimize(_score, n_trials=1)
    assert len(study.trials) == 5
    study.close()
    with pytest.raises(UsageError, match="needs kernel 'rbf' or 'matern'"):  # a new study is still told
        Study(SPACE, "gp_bo", objectives="acc", seed=3, surrogate={"name": "gp", "encoding": "path"})
