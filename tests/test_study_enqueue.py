"""Study.enqueue: given architectures run as WAITING trials with their own fidelity and user attributes,
kept from the strategy by default; per-trial user attributes from results and from the caller."""

from __future__ import annotations

import csv
import io
import json

import pytest

from nasforge import Result, Study
from nasforge.exceptions import UsageError
from nasforge.experiment import TrialState
from nasforge.spaces import get_space

from engine_backends import url  # noqa: F401  (a fixture)
from engine_evaluators import Toy, toy_metrics

SPACE = get_space("nb201")


class Retrain:
    """Records the fidelity it saw and where it "saved" the weights."""

    def evaluate(self, arch, fidelity=None):
        return Result(metrics={"acc": toy_metrics(arch)["acc"] + 1000}, cost=1.0,
                      user_attrs={"artifact": f"runs/{'-'.join(arch.genotype)}.safetensors",
                                  "epochs_seen": (fidelity or {}).get("epochs")})


def test_enqueued_trials_run_first_and_are_kept_from_the_strategy(url):
    study = Study(SPACE, "evolution", objectives="acc", seed=3, name="two-stage", storage=url, population_size=5)
    study.optimize(Toy(), 8)
    fingerprint = study.strategy_fingerprint()
    best = study.best_trial
    queued = study.enqueue(best.arch, fidelity={"epochs": 30}, user_attrs={"stage": "retrain", "of": best.number})
    assert (queued.number, queued.state, queued.is_proposal) == (8, TrialState.WAITING, False)
    study.optimize(Retrain(), n_trials=0)  # runs just the queue
    done = study.trials[8]
    assert done.state == TrialState.COMPLETE and done.fidelity == {"epochs": 30}
    assert done.user_attrs == {"stage": "retrain", "of": best.number, "epochs_seen": 30,
                               "artifact": f"runs/{'-'.join(best.arch.genotype)}.safetensors"}
    assert study.strategy_fingerprint() == fingerprint  # the strategy never heard of the retrain
    assert study.best_trial.number == best.number  # retrains are listed, not ranked with the search
    assert study.n_proposals == 8 and len(study.trials) == 9

    loaded = Study.load("two-stage", url)  # stored, resumed and listed like any trial
    assert loaded.trials[8].user_attrs == done.user_attrs and loaded.trials[8].tell_strategy is False
    assert loaded.strategy_fingerprint() == fingerprint
    assert loaded.to_json()["trials"][8]["user_attrs"]["stage"] == "retrain"
    assert loaded.trials_dataframe()["user_attrs_stage"].tolist()[-1] == "retrain"
    loaded.optimize(Toy(), 4)  # the search goes on exactly as if nothing was enqueued
    reference = Study(SPACE, "evolution", objectives="acc", seed=3, population_size=5).optimize(Toy(), 12)
    assert [t.arch for t in loaded.trials if t.is_proposal] == [t.arch for t in reference.trials]


def test_enqueued_trial_left_waiting_is_run_by_resume(url):
    study = Study(SPACE, "random", objectives="acc", seed=0, name="q", storage=url)
    study.optimize(Toy(), 3)
    study.enqueue(study.trials[0].arch, fidelity={"epochs": 2}, user_attrs={"stage": "retrain"})
    study.enqueue(study.trials[1].arch, user_attrs={"stage": "retrain"})
    loaded = Study.load("q", url)
    assert [t.state for t in loaded.trials[3:]] == [TrialState.WAITING] * 2
    loaded.resume(Retrain())  # the recorded 3 proposals are done: only the queue runs
    assert [t.state for t in loaded.trials] == [TrialState.COMPLETE] * 5 and loaded.n_proposals == 3
    assert loaded.trials[3].user_attrs["epochs_seen"] == 2


class _NoScan(list):
    """A study's trial list that refuses to be walked whole: finding a WAITING trial must not cost every trial."""

    def __iter__(self):
        raise AssertionError("every trial was scanned")


def test_next_waiting_claims_the_lowest_waiting_trial_without_scanning_every_trial(url):
    study = Study(SPACE, "random", objectives="acc", seed=0, name="queue", storage=url)
    study.optimize(Toy(), 30)
    queued = [study.enqueue(study.trials[i].arch).number for i in range(3)]
    other = Study.load("queue", url)  # another process's handle on the study
    assert other.next_waiting().number == queued[0]
    study._trials = _NoScan(study._trials)
    assert study.next_waiting().number == queued[1]  # the other process took the first: passed over
    other.requeue([queued[0]], crashed=False)
    assert study.next_waiting().number == queued[2]  # as of its last look, trial 30 is RUNNING elsewhere
    study.sync()
    assert [t.number for t in study.waiting()] == [queued[0]]  # the re-queued trial, seen once synced
    assert study.next_waiting().number == queued[0] and study.next_waiting() is None
    study._trials = study._trials[:]  # a plain list again (orphans() walks every trial)
    assert study.work_left() == 0
    study.close()
    other.close()


def test_tell_strategy_true_tells_the_outcome(url):
    study = Study(SPACE, "random", objectives="acc", seed=0, name="warm", storage=url)
    arch = SPACE.sample(study.strategy.rng)
    study.enqueue(arch, tell_strategy=True)
    study.optimize(Toy(), 2)
    assert study.strategy.n_told == 3 and study.strategy.known_score(arch) == toy_metrics(arch)["acc"]
    assert Study.load("warm", url).strategy.n_told == 3


def test_trial_user_attrs_and_bad_enqueue_input(url):
    study = Study(SPACE, "random", objectives="acc", seed=0, name="attrs", storage=url)
    trial = study.ask()
    study.set_trial_user_attr(trial, "artifact", "w.safetensors")
    study.tell(trial, 1.0)
    study.set_trial_user_attr(0, "checked", True)
    assert Study.load("attrs", url).trials[0].user_attrs == {"artifact": "w.safetensors", "checked": True}
    with pytest.raises(UsageError, match="JSON values"):
        study.enqueue(trial.arch, user_attrs={"f": object()})
    with pytest.raises(UsageError, match="JSON values"):
        study.set_trial_user_attr(0, "x", float("nan"))
    with pytest.raises(ValueError, match="belongs to space"):
        study.enqueue(get_space("darts").sample(study.strategy.rng))
    with pytest.raises(UsageError, match="has no trial 999"):
        study.tell(999, 1.0)


@pytest.mark.parametrize("kwargs, message", [
    ({"fidelity": 3}, r"fidelity must be a dict such as \{'epochs': 4\}, got 3"),
    ({"fidelity": [1]}, r"fidelity must be a dict such as \{'epochs': 4\}, got \[1\]"),
    ({"fidelity": {"epochs": float("nan")}}, "fidelity must hold JSON values"),
    ({"tell_strategy": "no"}, "tell_strategy must be True or False, got 'no'"),
    ({"tell_strategy": 1}, "tell_strategy must be True or False, got 1"),
])
def test_enqueue_checks_fidelity_like_ask_and_wants_a_real_bool(kwargs, message):
    study = Study(SPACE, "random", objectives="acc", seed=0)
    with pytest.raises(UsageError, match=message):
        study.enqueue(SPACE.sample(study.strategy.rng), **kwargs)
    assert study.trials == []


def test_the_dataframe_tells_budgets_and_enqueued_retrains_apart():
    study = Study(SPACE, "random", objectives="acc", seed=0)
    study.optimize(Toy(), 2, fidelity={"epochs": 4})
    study.enqueue(study.best_arch, fidelity={"epochs": 200, "batch": 64}, user_attrs={"stage": "retrain"})
    study.optimize(Retrain(), n_trials=0)
    study.tell(study.ask(), {"acc": 1.0, "fidelity": 3.0})  # a metric named like the column keeps its value
    frame = study.trials_dataframe()
    assert frame["fidelity"].tolist() == ['{"epochs": 4}'] * 2 + ['{"batch": 64, "epochs": 200}', None]
    assert frame["told_to_strategy"].tolist() == [True, True, False, True]
    assert frame["metric_fidelity"].tolist()[-1] == 3.0
    assert list(frame.columns[:3]) == ["number", "state", "arch"] and "user_attrs_stage" in frame.columns


class Fails:
    def evaluate(self, arch, fidelity=None):
        raise RuntimeError("nope")


def test_the_csv_export_keeps_retry_links_integral_and_nested_attributes_as_json():
    study = Study(SPACE, "random", objectives="acc", seed=0)
    study.enqueue(SPACE.sample(study.strategy.rng), fidelity={"epochs": 3}, user_attrs={"nested": {"k": [1, 2]}})
    study.optimize(Fails(), n_trials=0, max_retries=2)
    study.set_trial_user_attr(0, "earlier_curves", [[[1, 50.0]]])
    frame = study.trials_dataframe()
    assert frame["retry_of"].tolist()[1:] == [0, 1] and str(frame["retry_of"].dtype) == "Int64"
    assert frame["user_attrs_nested"].tolist() == ['{"k": [1, 2]}'] * 3
    rows = list(csv.DictReader(io.StringIO(frame.to_csv(index=False))))
    assert [r["retry_of"] for r in rows] == ["", "0", "1"]  # not 0.0 and 1.0
    assert json.loads(rows[0]["user_attrs_nested"]) == {"k": [1, 2]}  # JSON, not a Python repr
    assert json.loads(rows[0]["user_attrs_earlier_curves"]) == [[[1, 50.0]]]
