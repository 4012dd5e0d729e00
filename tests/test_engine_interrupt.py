"""A clean interrupt (Ctrl-C, SIGTERM) puts back to WAITING every trial the run claimed, also one claimed just
before the signal, and never a trial asked by hand or one another process runs."""

from __future__ import annotations

import pytest

from nasforge import Study
from nasforge.experiment import TrialState
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
