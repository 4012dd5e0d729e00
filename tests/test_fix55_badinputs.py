"""Fixes found by bad_inputs.py's stop-54 cases (``--only s54``)."""

from __future__ import annotations

import pytest

from nasforge import Result, Study
from nasforge.cli import main
from nasforge.spaces import get_space


def _finished_search(folder, retrain_attrs):
    """A study.db in ``folder`` recorded as a finished ``nasforge search`` run (retrain 1) whose search trial 0 was
    retrained by trial 1, stored COMPLETE with user attributes ``retrain_attrs``. Returns its storage URL."""
    from nasforge.pipelines.search import SearchConfig

    url = f"sqlite:///{folder / 'study.db'}"
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="S", storage=url)
    config = SearchConfig(trials=1, workers=1, retrain=1, out=str(folder), name="S").resolved().to_json()
    for key, value in {"pipeline": "search", "pipeline_config": config, "search_done": True}.items():
        study.set_user_attr(key, value)
    study.tell(study.ask(), Result(metrics={"acc": 1.0}))
    study.tell(study.ask(), Result(metrics={"acc": 1.0, "test_acc": 0.5},
                                   user_attrs={"stage": "retrain", "source_trial": 0, **retrain_attrs}))
    study.storage.close()
    return url


@pytest.mark.parametrize("attrs, recorded", [({"model_dir": 5}, "model_dir 5, no folder name"),
                                             ({"model_dir": ""}, "model_dir '', no folder name"),
                                             ({}, "no network folder")])
def test_export_says_a_complete_retrain_saved_no_network_instead_of_that_it_failed(attrs, recorded, tmp_path, capsys):
    """Would fail: 'its 1 retrain trial(s) failed (trial 1: None)' for a retrain that completed (its model_dir
    damaged, or a search-size result stored without one), which a resume retrains again."""
    _finished_search(tmp_path, attrs)
    assert main(["export", str(tmp_path), "--format", "safetensors", "--out", str(tmp_path / "x.safetensors")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "failed" not in err, err
    assert (f"study S has no retrained network saved: its retrain trial 1 completed without a saved network (it "
            f"recorded {recorded}); retrain it with: nasforge resume S --storage ") in err
