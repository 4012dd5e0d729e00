"""Fix of review multifidelity52: with several processes on one multi-fidelity study, each process's strategy ranks
the results the others finished at the budget they were evaluated at (before, it left them out of every rung)."""

from __future__ import annotations

import numpy as np
import pytest

from nasforge import Study
from nasforge.evaluators.base import Result
from nasforge.spaces import get_space

SPACE = get_space("nb201")
BUDGETS = (1, 4, 12)


def _score(arch, fidelity):
    base = sum(i * len(op) for i, op in enumerate(arch.genotype)) % 17
    return {"acc": base * fidelity["epochs"] / 12}


def _two_processes(tmp_path, name: str) -> tuple[Study, Study]:
    """Two Study objects on one stored study, each taking in what the other stored only when it syncs, as two
    processes do."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    return Study(SPACE, name, objectives="acc", seed=0, storage=url, name="s"), Study.load("s", url)


def _ranked(study: Study) -> list[int]:
    return [len(rung) for rung in study.strategy.rung_results]


def _stored(study: Study) -> list[int]:
    """Complete trials per budget."""
    done = [t.fidelity["epochs"] for t in study.trials if t.state.value == "COMPLETE"]
    return [done.count(budget) for budget in BUDGETS]


@pytest.mark.parametrize("name", ["hyperband", "asha", "bohb"])
def test_each_process_ranks_the_other_processes_results_at_their_budget(tmp_path, name):
    """Would fail: each strategy ranked only its own results, so its rungs held about half the stored ones."""
    first, second = _two_processes(tmp_path, name)
    for _ in range(8):
        first.optimize(_score, n_trials=3, progress=False)
        second.optimize(_score, n_trials=3, progress=False)
    first.sync()
    assert _stored(first)[1] > 0  # promotions ran
    assert _ranked(first) == _ranked(second) == _stored(first)


def test_asha_promotes_from_the_whole_rung_the_processes_filled_together(tmp_path):
    """Would fail: a promotion was decided on the results of one process, not in the top 1/eta of all those finished
    before it started."""
    first, second = _two_processes(tmp_path, "asha")
    for _ in range(10):
        first.optimize(_score, n_trials=2, progress=False)
        second.optimize(_score, n_trials=2, progress=False)
    trials, promotions = second.trials, 0
    for trial in trials:
        rung = BUDGETS.index(trial.fidelity["epochs"])
        if rung:
            below = sorted((t for t in trials if t.fidelity["epochs"] == BUDGETS[rung - 1]
                            and t.state.value == "COMPLETE" and t.finished_at <= trial.started_at),
                           key=lambda t: -t.metrics["acc"])
            top = [SPACE.canonical_key(t.arch) for t in below[: len(below) // 3]]
            assert SPACE.canonical_key(trial.arch) in top, trial.number
            promotions += 1
    assert promotions >= 4


@pytest.mark.filterwarnings("ignore::nasforge.exceptions.TrialFailedWarning")
def test_a_retry_another_process_ran_is_ranked_and_an_enqueued_trial_is_not(tmp_path):
    """A retry of a proposal was asked at its budget: ranked there by the other process too; an enqueued trial told
    to the strategy (and its retry) was not asked: left unranked there, as in the process that ran it."""
    first, second = _two_processes(tmp_path, "asha")
    enqueued = first.enqueue(SPACE.sample(np.random.default_rng(5)), {"epochs": 1}, tell_strategy=True)
    failed_once: set[object] = set()

    def flaky(arch, fidelity):
        key = SPACE.canonical_key(arch)
        if key not in failed_once:
            failed_once.add(key)
            return Result.failed("transient")
        return Result(metrics=_score(arch, fidelity))

    first.optimize(flaky, n_trials=2, max_retries=1, progress=False)
    retries = [t for t in first.trials if t.retry_of is not None and t.state.value == "COMPLETE"]
    assert len(retries) == 3 and retries[0].arch == enqueued.arch  # the enqueued trial's retry, then two proposals'
    second.sync()
    for study in (first, second):
        rung0 = study.strategy.rung_results[0]
        assert all(SPACE.canonical_key(t.arch) in rung0 for t in retries[1:])
        assert SPACE.canonical_key(enqueued.arch) not in rung0
