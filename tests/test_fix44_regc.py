"""Review 44 regressions (rc): old studies holding scores beyond +-1e150 load and resume, and the score-limit
message names the objective and its value as measured."""

import math
import warnings

import pytest

from nasforge import Study
from nasforge.exceptions import UsageError
from nasforge.strategies import base, get_strategy


def _old_study(url, strategy, monkeypatch, n=4, **kwargs):
    """A study as nasforge before 2026-12 stored it: a result of 1e200 stored COMPLETE and told as it was."""
    with monkeypatch.context() as patched, warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the overflow of an old model told 1e200
        patched.setattr(base, "SCORE_LIMIT", math.inf)
        study = Study("nb201", strategy, objectives="val_acc", seed=0, storage=url, name="big", **kwargs)
        for i in range(n):
            study.tell(study.ask(), {"val_acc": 1e200 if i == 1 else float(i)})
        study.close()


@pytest.mark.parametrize("strategy", ["random", "evolution", "tpe", "gp_bo", "hyperband"])
def test_an_old_study_holding_a_score_beyond_the_limit_loads_and_continues(tmp_path, monkeypatch, strategy):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _old_study(url, strategy, monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an exact replay: the 1e200 result is told as the failure a run now stores
        study = Study.load("big", url)
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 4  # nothing stored changes
    assert study.trials[1].metrics == {"val_acc": 1e200} and study.best_trial.number == 1
    assert study.strategy.n_told == 4
    assert study.strategy.known_score(study.trials[1].arch) is None
    study.tell(study.ask(), {"val_acc": 5.0})
    assert study.strategy.n_told == 5
    study.close()


def test_an_old_study_whose_replay_diverges_for_such_a_score_relearns_it_as_a_failure(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _old_study(url, "evolution", monkeypatch, n=12, population_size=3, sample_size=2)
    with pytest.warns(RuntimeWarning, match="replay diverged"):  # it chose 1e200's architecture as a parent
        study = Study.load("big", url)
    assert study.strategy.n_told == 12 and study.trials[1].state.name == "COMPLETE"
    study.tell(study.ask(), {"val_acc": 5.0})
    study.close()


def test_a_study_loaded_while_an_old_process_stores_such_a_score_tells_it_as_a_failure(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _old_study(url, "random", monkeypatch, n=1)
    study = Study.load("big", url)
    with monkeypatch.context() as patched:  # another process, of the older version, stores a result
        patched.setattr(base, "SCORE_LIMIT", math.inf)
        old = Study.load("big", url)
        old.tell(old.ask(), {"val_acc": 1e200})
        old.close()
    study.sync()
    assert study.strategy.n_told == 2 and study.trials[1].state.name == "COMPLETE"
    study.close()


def test_the_limit_message_names_the_objective_and_its_stored_value_for_any_strategy():
    study = Study("nb201", "random", objectives=["val_loss"], directions="minimize", seed=0)
    trial = study.ask()
    with pytest.warns(RuntimeWarning, match="FAILED: invalid result"):
        study.tell(trial, {"val_loss": 1e200})
    assert trial.state.name == "FAILED" and trial.metrics == {"val_loss": 1e200}
    assert "objective 'val_loss' is 1e+200, not within +-1e+150" in trial.error
    assert "-1e+200" not in trial.error and "rescale the metric" in trial.error
    assert "(models square" not in trial.error and "model-based ones square" in trial.error
    strategy = get_strategy("random", "nb201", seed=0)
    with pytest.raises(UsageError, match=r"within \+-1e\+150 \(the range every strategy takes: model-based") as exc:
        strategy.tell(strategy.ask(), 1e200)
    assert "(models square" not in str(exc.value)


def test_the_report_of_an_old_model_based_study_holding_such_a_score_fits_without_it(tmp_path, monkeypatch):
    pytest.importorskip("nasforge.strategies.model_based")
    from nasforge.analysis.studyreport import from_study, model_diagnostics

    url = f"sqlite:///{tmp_path / 'old.db'}"
    _old_study(url, "model_based", monkeypatch, n=8, n_initial=4)
    with pytest.warns(RuntimeWarning, match="replay diverged"):  # its model had learnt from 1e200
        study = Study.load("big", url)
    found = model_diagnostics(from_study(study))
    assert found["history"] == [7, 7] and 1e200 not in found["actual"]
    study.close()
