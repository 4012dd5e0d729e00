"""Optuna's sampling check (review 46, regressions of 01648f36): a stored optuna_tpe study whose settings the check
refuses loads as it did (Python, ``nasforge export``), continuing it names the refused setting in one line, and
callable settings are not called by the check."""

from __future__ import annotations

import math
import re

import pytest

from nasforge import Result, Study
from nasforge.cli import main
from nasforge.exceptions import UsageError
from nasforge.experiment.storage import open_storage
from nasforge.strategies import get_strategy, optuna_adapter

pytest.importorskip("optuna")

REFUSED = "Optuna's TPESampler refuses n_ei_candidates=0: The size of `samples` must be positive, but got 0."
SETTINGS = {"n_startup_trials": 2, "n_ei_candidates": 0}


def _score(arch, fidelity=None):
    return Result(metrics={"acc": float(len(str(arch)) % 7)})


def _stored(folder, monkeypatch):
    """A study stored as the code before the check stored it: n_ei_candidates=0 taken, its 2 start-up trials done
    (the ask past them is where that version failed), recorded as a run of ``nasforge search`` that did not finish."""
    url = f"sqlite:///{folder / 'study.db'}"
    with monkeypatch.context() as patch:
        patch.setattr(optuna_adapter, "_check_sampler_values", lambda *args: None)
        study = Study("nb201", "optuna_tpe", objectives="acc", seed=0, name="job", storage=url, **SETTINGS,
                      user_attrs={"pipeline": "search", "pipeline_config": {"out": str(folder), "retrain": 1}})
        study.optimize(_score, 2)
    study.storage.close()
    return url


def test_a_stored_study_with_a_refused_setting_loads_and_lists_its_trials(tmp_path, monkeypatch):
    """Would fail: Study.load raised the sampling check's UsageError, even read-only with replay=False."""
    url = _stored(tmp_path, monkeypatch)
    study = Study.load("job", url)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    assert study.strategy.sampler_kwargs == SETTINGS
    with open_storage(url, readonly=True) as store:
        assert len(Study.load("job", store, replay=False).trials_dataframe()) == 2
    study.storage.close()


def test_it_loads_when_its_replay_diverges(tmp_path, monkeypatch):
    """Would fail: two writers make the replay diverge, and the strategy rebuilt then ran the check."""
    url = f"sqlite:///{tmp_path / 'two.db'}"
    with monkeypatch.context() as patch:
        patch.setattr(optuna_adapter, "_check_sampler_values", lambda *args: None)
        first, second = (Study("nb201", "optuna_tpe", objectives="acc", seed=0, name="two", storage=url,
                               load_if_exists=True, **SETTINGS) for _ in range(2))
        first.optimize(_score, 1)
        second.optimize(_score, 1)  # the same seed: it proposes the first's architecture again
    first.storage.close()
    second.storage.close()
    with pytest.warns(RuntimeWarning, match="replay diverged"):
        study = Study.load("two", url)
    assert len(study.trials) == 2 and study.strategy.n_told == 2
    study.storage.close()


def test_export_of_its_run_says_what_is_missing(tmp_path, monkeypatch, capsys):
    """Would fail: `nasforge export` gave the Optuna message instead of "no retrained network ... nasforge resume"."""
    _stored(tmp_path, monkeypatch)
    assert main(["export", str(tmp_path), "--out", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "study job has no retrained network saved: its search stopped before " \
        "retraining" in err and "finish it with: nasforge resume job" in err, err


def test_continuing_it_names_the_refused_setting_in_one_line(tmp_path, monkeypatch):
    """Loading skips the check; the first ask past the start-up trials is refused as a new study's check refuses."""
    url = _stored(tmp_path, monkeypatch)
    study = Study.load("job", url)
    with pytest.raises(UsageError) as info:
        study.optimize(_score, 1)
    assert str(info.value) == REFUSED
    study.storage.close()


def test_a_new_study_with_the_setting_is_still_refused_before_any_trial(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    with pytest.raises(UsageError, match=f"^{re.escape(REFUSED)}$"):
        Study("nb201", "optuna_tpe", objectives="acc", seed=0, name="new", storage=url, **SETTINGS)
    assert not (tmp_path / "new.db").exists()


@pytest.mark.filterwarnings("ignore:`gamma` has been deprecated:FutureWarning")
@pytest.mark.parametrize("gamma", [lambda n: 1 // (n - 2), lambda n: max(1, int(math.log(n - 5)))])
def test_callable_settings_are_not_called_by_the_check(gamma):
    """Would fail: the check called gamma(2) at build, a raw ZeroDivisionError (a UsageError for the math domain
    error); the sampler itself calls it only past its start-up trials (10), where it works."""
    strategy = get_strategy("optuna_tpe", "nb201", seed=0, gamma=gamma)
    for i in range(15):
        strategy.tell(strategy.ask(), i / 15)


def test_its_report_shows_the_effective_settings(tmp_path, monkeypatch):
    """Would fail: the report's strategy line fell back on the stored settings alone (the check refused them)."""
    from nasforge.analysis.studyreport.data import load_study_data

    url = _stored(tmp_path, monkeypatch)
    with open_storage(url, readonly=True) as store:
        settings = load_study_data(store, "job").strategy_settings()
    assert settings["n_ei_candidates"] == 0 and settings["sampler"] == "tpe"
