"""Fixes of review 49 (engine): a process worker dying unnoticed between trials or during a report, mo_evolution's
ranking per retried proposal, and REINFORCE's codes of the returned architecture."""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import Counter

import pytest

from nasforge import Study
from nasforge.experiment import TrialState
from nasforge.experiment.pruners import MedianPruner
from nasforge.spaces import get_space

from engine_evaluators import Curves, Toy

SPACE = get_space("nb201")


def _kill_workers() -> None:
    """SIGKILL this process's pool workers and wait until they are gone (their pipe ends closed)."""
    for process in multiprocessing.active_children():
        if process.name == "nasforge-worker":
            os.kill(process.pid, signal.SIGKILL)
            process.join()


def test_a_worker_killed_between_trials_is_replaced_and_its_next_task_is_not_failed(tmp_path):
    """Would fail: the next task was sent to the dead worker's pipe and optimize crashed with BrokenPipeError."""
    def kill_after_trial_1(study, trial):
        if trial.number == 1:
            _kill_workers()

    study = Study(SPACE, "random", objectives="acc", seed=0, name="idle", storage=f"sqlite:///{tmp_path / 'k.db'}")
    study.optimize(Toy(), 4, executor="process", callbacks=[kill_after_trial_1])
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 4  # the task went back to the queue


class _KillingPruner(MedianPruner):
    """Kills the worker (once) while it waits for the answer to its first report, and never prunes."""

    killed = False

    def should_prune(self, number, curves):
        if not self.killed:
            self.killed = True
            _kill_workers()
        return False


def test_a_worker_killed_while_its_report_is_answered_fails_its_trial_as_worker_died(tmp_path):
    """Would fail: answering the dead worker's report crashed optimize with BrokenPipeError."""
    study = Study(SPACE, "random", objectives="acc", seed=0, name="rep", storage=f"sqlite:///{tmp_path / 'r.db'}")
    with pytest.warns(UserWarning, match=r"FAILED: worker died \(killed by SIGKILL\)"):
        study.optimize(Curves(3), 3, executor="process", pruner=_KillingPruner())
    assert Counter(t.state for t in study.trials) == {TrialState.COMPLETE: 2, TrialState.FAILED: 1}
    assert [t.error for t in study.trials if t.state == TrialState.FAILED] == ["worker died (killed by SIGKILL)"]
