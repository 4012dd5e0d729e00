"""A clean interrupt (Ctrl-C, SIGTERM) puts back to WAITING every trial the run claimed, also one claimed just
before the signal, and never a trial asked by hand or one another process runs."""

from __future__ import annotations

import pytest

from nasforge import Study
from nasforge.exceptions import StorageError
from nasforge.experiment import TrialState
from nasforge.experiment.storage.memory import InMemoryStorage
from nasforge.experiment.scheduler import _Loop
from nasforge.spaces import get_space

from engine_evaluators import Toy

SPACE = get_space("nb201")


def _study(url: str) -> Study:
    return Study(SPACE, "random", objectives="acc", seed=0, name="demo", storage=url)


@pytest.mark.parametrize("url", ["memory", "sqlite"])
def test_a_signal_between_the_claim_and_the_bookkeeping_leaves_no_trial_running(tmp_path, monkeypatch, url):
    url = None if url == "memory" else f"sqlite:///{tmp_path / 'i.db'}"
    study = _study(url)
    study.optimize(Toy(), n_trials=2)
    by_hand = study.ask()  # RUNNING under this study object, not the run's: it stays RUNNING

    def interrupted(loop, trial):  # the signal lands after the claim, before the loop records the trial
        raise KeyboardInterrupt

    monkeypatch.setattr(_Loop, "start", interrupted)
    with pytest.raises(KeyboardInterrupt):
        study.optimize(Toy(), n_trials=3)
    states = {t.number: (t.state, t.attempts) for t in study.trials}
    assert states[by_hand.number][0] == TrialState.RUNNING
    claimed = [n for n in states if n > by_hand.number]
    assert claimed and all(states[n] == (TrialState.WAITING, 1) for n in claimed), states  # no crash counted
    if url:
        stored = {t.number: t.state for t in Study.load("demo", url).trials}
        assert stored == {n: s for n, (s, _) in states.items()}


def test_an_interrupt_never_requeues_a_trial_another_process_took_over(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 't.db'}"
    study = _study(url)
    other = Study.load("demo", url)
    taken = {}
    start = _Loop.start

    def taken_over_then_interrupted(loop, trial):  # running here; the other process re-queues and claims it
        start(loop, trial)
        other.requeue([trial.number])
        other.sync()
        assert other.claim(other.trials[trial.number])
        taken["number"] = trial.number
        raise KeyboardInterrupt

    monkeypatch.setattr(_Loop, "start", taken_over_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        study.optimize(Toy(), n_trials=1)
    trial = Study.load("demo", url).trials[taken["number"]]
    assert trial.state == TrialState.RUNNING and trial.worker == other.worker_id


class _OldRequeue(InMemoryStorage):
    """A back end written to the contract before ``requeue`` took ``worker``."""

    def requeue(self, study_id, numbers=None, stale_before=None, crashed=True):
        return super().requeue(study_id, numbers=numbers, stale_before=stale_before, crashed=crashed)


class _Interrupting:
    """Raises KeyboardInterrupt (Ctrl-C) at its third call."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, arch):
        self.calls += 1
        if self.calls == 3:
            raise KeyboardInterrupt
        return {"acc": float(self.calls)}


def test_a_storage_whose_requeue_takes_no_worker_still_gets_the_trials_back():
    study = Study(SPACE, "random", objectives="acc", seed=0, name="demo", storage=_OldRequeue())
    with pytest.raises(KeyboardInterrupt):
        study.optimize(_Interrupting(), n_trials=5)
    assert [(t.state, t.attempts) for t in study.trials][2] == (TrialState.WAITING, 1)


def test_a_failed_read_at_the_interrupt_still_gives_back_the_trials_memory_knows(monkeypatch):
    study = _study(None)
    evaluator = _Interrupting()

    def failing_sync():
        if evaluator.calls >= 3:
            raise StorageError("the database went away")
        return real_sync()

    real_sync = study.sync
    monkeypatch.setattr(study, "sync", failing_sync)
    with pytest.raises(KeyboardInterrupt):
        study.optimize(evaluator, n_trials=5)
    stored = study.storage.trials(study.id)
    assert [(t.state, t.attempts) for t in stored][2] == (TrialState.WAITING, 1)
