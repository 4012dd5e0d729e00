"""Fixes of security review 54: stored attributes of the wrong type (a received or hand-edited study.db) are read as
no record, skipped, or refused in one line instead of ending in a traceback."""

from __future__ import annotations

import pytest

from nasforge import Result, Study
from nasforge.cli import main
from nasforge.spaces import get_space


def _search_db(folder, config, trial_attrs=None, **study_attrs):
    """A study.db in ``folder`` recorded as a finished ``nasforge search`` run with pipeline config ``config``; its last
    trial gets ``trial_attrs``. Returns its storage URL."""
    url = f"sqlite:///{folder / 'study.db'}"
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="S", storage=url)
    for key, value in {"pipeline": "search", "pipeline_config": config, "search_done": True, **study_attrs}.items():
        study.set_user_attr(key, value)
    for attrs in ({}, trial_attrs or {}):
        study.tell(study.ask(), Result(metrics={"acc": 1.0, "test_acc": 0.5}, user_attrs=attrs))
    study.storage.close()
    return url


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize("config", ["oops", [1], 5])
def test_a_pipeline_config_that_is_no_json_object_is_read_as_no_search_record(config, tmp_path, capsys):
    """Would fail: status and export ended in AttributeError ('str' object has no attribute 'get')."""
    from nasforge.pipelines.search import _run_folder, saved_networks

    url = _search_db(tmp_path, config)
    assert main(["status", "S", "--storage", url]) == 0
    capsys.readouterr()
    assert main(["export", str(tmp_path), "--format", "safetensors", "--out", str(tmp_path / "x.safetensors")]) == 2
    assert "no retrained network" in _one_line(capsys)
    assert saved_networks("S", url) == []
    from nasforge.experiment.storage import open_storage

    with open_storage(url, readonly=True) as store:
        assert _run_folder(store.load_study("S")) is None
