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


def _recorded(tmp_path, **changed):
    """The pipeline config a ``nasforge search`` run in ``tmp_path`` records, with ``changed`` fields."""
    from nasforge.pipelines.search import SearchConfig

    config = SearchConfig(trials=2, workers=1, retrain=1, out=str(tmp_path), name="S").resolved().to_json()
    return {**config, **changed}


@pytest.mark.parametrize("field, value", [("retrain", "x"), ("objectives", 5), ("out", 5), ("out", None),
                                          ("data_dir", 5), ("storage", 5), ("storage", None), ("final_epochs", -1)])
def test_resume_refuses_a_recorded_setting_of_the_wrong_type_in_one_line(field, value, tmp_path, capsys):
    """Would fail: the stored config was checked only with --workers or --max-crash-reruns; without, these ended in a
    TypeError traceback (and a 'finish the run with' command that failed alike)."""
    _search_db(tmp_path, _recorded(tmp_path, **{field: value}))
    assert main(["resume", str(tmp_path)]) == 2
    assert f"the recorded {field} of study 'S' " in _one_line(capsys)


@pytest.mark.parametrize("config", ["oops", [1]])
def test_resume_refuses_a_pipeline_config_that_is_no_json_object(config, tmp_path, capsys):
    """Would fail: AttributeError ('str' object has no attribute 'items')."""
    _search_db(tmp_path, config)
    assert main(["resume", str(tmp_path)]) == 2
    assert "study 'S' in " in (line := _one_line(capsys)) and "its pipeline_config" in line
    assert f"must be a JSON object, got {type(config).__name__}" in line


def test_resume_given_workers_names_them_not_the_record(tmp_path):
    from nasforge.exceptions import UsageError
    from nasforge.pipelines.search import resume_search

    url = _search_db(tmp_path, _recorded(tmp_path))
    with pytest.raises(UsageError, match="^workers must be an integer >= 1, got 0$"):
        resume_search("S", url, workers=0)


def test_settings_older_releases_stored_still_resume(tmp_path):
    """Now that every resume checks its stored config: names a run got before 2026-12-05 (only dots, over 255 bytes,
    with --out) and a multi-fidelity strategy with the supernet evaluator (refused since 2026-12-05) pass."""
    from nasforge.exceptions import UsageError
    from nasforge.pipelines.search import SearchConfig

    for name in (".", "..", "é" * 150):
        config = SearchConfig.from_json(_recorded(tmp_path, name=name))
        config.validate(resumed=True)
        with pytest.raises(UsageError, match="name must be"):
            config.validate()
    supernet = SearchConfig.from_json(_recorded(tmp_path, evaluator="supernet", supernet=str(tmp_path), bn_mode=None,
                                                strategy="asha", objectives=["val_acc"], directions=["maximize"],
                                                supernet_score={"bn_mode": "inherited"}))
    supernet.validate(resumed=True)
    with pytest.raises(UsageError, match="strategy"):
        supernet.validate()


@pytest.mark.parametrize("prints", [(1, 2), (["a"], ["x"]), ("", "b")])
def test_a_recorded_data_fingerprint_that_is_no_text_is_ignored_by_the_comparison(prints):
    """Would fail: TypeError ('int' object is not subscriptable; unhashable type: 'list') in searched_data."""
    from nasforge.analysis.studyreport import render_study

    studies = []
    for name, fingerprint in zip("AB", prints):
        study = Study(get_space("chain", layers=[["a", "b"], ["x", "y"]]), "random", objectives="val_acc", seed=0,
                      name=name)
        study.optimize(lambda arch: {"val_acc": 1.0}, n_trials=2)
        study.set_user_attr("pipeline", "search")
        study.set_user_attr("pipeline_config", {"data": "npz", "data_dir": "/x.npz"})
        study.set_user_attr("data_fingerprint", fingerprint)
        studies.append(study)
    page = render_study(studies)
    assert "<td>A</td><td>random</td><td>npz /x.npz</td>" in page and "(content" not in page


@pytest.mark.parametrize("trial_attrs, study_attrs", [
    ({"stage": "retrain", "source_trial": [1], "model_dir": "x"}, {}),
    ({"stage": "retrain", "source_trial": True, "model_dir": "x"}, {}),
    ({"stage": "retrain", "source_trial": 0, "model_dir": 5}, {}),
    ({"stage": "retrain", "retrain_of": "0"}, {}),
    ({}, {"retrained": [1]}),
    ({}, {"retrained": {"x": {}, "1": "y", "٣": {}}}),
])
def test_stage_two_attributes_of_the_wrong_type_are_skipped(trial_attrs, study_attrs, tmp_path, capsys):
    """Would fail: report, the dashboard and export ended in TypeError/AttributeError/ValueError (unhashable
    source_trial, Path(5), int('x'), a list's .items())."""
    from nasforge.analysis.dashboard import serve_in_thread
    from nasforge.analysis.studyreport.data import load_study_data
    from nasforge.pipelines.search import saved_networks

    url = _search_db(tmp_path, _recorded(tmp_path), trial_attrs, **study_attrs)
    assert all(isinstance(r.source, int) for r in load_study_data(url, "S").retrained())  # else by architecture
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "r.html")]) == 0
    assert all(e["source_trial"] is None for e in saved_networks("S", url))  # the network of no search trial
    assert main(["export", str(tmp_path), "--format", "safetensors", "--out", str(tmp_path / "x.safetensors")]) == 2
    _one_line(capsys)
    import urllib.request

    server, address = serve_in_thread(url, port=0)
    try:
        with urllib.request.urlopen(address + "/study/body?name=S", timeout=30) as answer:
            assert answer.status == 200
    finally:
        server.shutdown()


def test_a_recorded_older_retrained_attribute_still_reads(tmp_path):
    from nasforge.analysis.studyreport.data import load_study_data

    url = _search_db(tmp_path, _recorded(tmp_path), retrained={"1": {"metrics": {"test_acc": 0.9}}, "03": {}})
    assert sorted((r.source, r.metrics.get("test_acc")) for r in load_study_data(url, "S").retrained()) == \
        [(1, 0.9), (3, None)]


def test_a_recorded_storage_of_a_moved_run_or_an_older_rule_still_resumes(tmp_path):
    """Would fail: every resume ran the new-run checks on the storage URL the run recorded, refusing a run folder
    moved or copied away from a folder now gone, and a URL with a query older releases took (?timeout=30)."""
    from nasforge.exceptions import UsageError
    from nasforge.pipelines.search import SearchConfig

    for storage in (f"sqlite:///{tmp_path / 'gone' / 'study.db'}", f"sqlite:///{tmp_path / 'study.db'}?timeout=30"):
        config = SearchConfig.from_json(_recorded(tmp_path, storage=storage))
        config.validate(resumed=True)
        with pytest.raises(UsageError, match="storage"):
            config.validate()
