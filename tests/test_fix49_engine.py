"""Fixes of review 49 (engine): a process worker dying unnoticed between trials or during a report, mo_evolution's
ranking per retried proposal, and REINFORCE's codes of the returned architecture."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
from collections import Counter

import pytest

from nasforge import Study
from nasforge.experiment import TrialState
from nasforge.experiment.pruners import MedianPruner
from nasforge.pareto import rank_and_crowding
from nasforge.spaces import ChainSpace, get_space
from nasforge.strategies import get_strategy
from nasforge.strategies.constraints import ConstrainedScore

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


def _mo_evolution_proposals(space, n: int, constrained: bool) -> str:
    """A digest of the ``n`` architectures a seeded mo_evolution proposes on ``space`` (asking until it is used up),
    told a deterministic two-objective score (with a violation when ``constrained``)."""
    strategy = get_strategy("mo_evolution", space, seed=3, population_size=8, sample_size=3,
                            constraints=["params <= 1"] if constrained else None)
    proposed = []
    for _ in range(n):
        arch = strategy.ask()
        codes = [sum(map(ord, str(choice))) % 7 for choice in arch.genotype]
        score = (float(sum(i * c for i, c in enumerate(codes))), -float(sum(codes[::2])))
        strategy.tell(arch, ConstrainedScore(score, codes[-1] / 3) if constrained else score)
        proposed.append(space.format(arch))
    return hashlib.sha256("\n".join(proposed).encode()).hexdigest()[:16]


CHAIN = ChainSpace.uniform(4, ["a", "b", "c", "d"])


def test_mo_evolution_proposes_what_it_did_before_its_ranking_was_cached():
    """Stored studies replay: the digests were computed by the code that ranked the population for every proposal
    (the 256-architecture chain is asked until used up, so most proposals are retries)."""
    assert _mo_evolution_proposals(CHAIN, 256, False) == "0f2cda7f266e1a4f"
    assert _mo_evolution_proposals(CHAIN, 256, True) == "7c3f71a68d63a836"
    assert _mo_evolution_proposals(get_space("nb201"), 300, False) == "a310f6f4cb16e0c8"


def test_mo_evolution_ranks_its_population_once_per_change_not_per_retried_proposal(monkeypatch):
    """Would fail: each of an ask's retried proposals ranked the unchanged population anew (57x the ask cost on a
    filling NB-201)."""
    from nasforge.strategies import multi_objective

    counted = Counter()

    def counting(*args, **kwargs):
        counted["rankings"] += 1
        return rank_and_crowding(*args, **kwargs)

    monkeypatch.setattr(multi_objective, "rank_and_crowding", counting)
    child = multi_objective.MultiObjectiveEvolution._child
    monkeypatch.setattr(multi_objective.MultiObjectiveEvolution, "_child",
                        lambda self: counted.update(["children"]) or child(self))
    strategy = get_strategy("mo_evolution", CHAIN, seed=0, population_size=4, sample_size=2)
    for value in range(200):
        strategy.tell(strategy.ask(), (float(value % 9), float(-value % 5)))
    assert counted["children"] > 400 and counted["rankings"] <= 200  # at most once per result told


def test_a_loaded_mo_evolution_state_ranks_its_own_population_and_saves_no_ranking():
    def run(strategy, n):
        archs = []
        for value in range(n):
            archs.append(strategy.ask())
            strategy.tell(archs[-1], (float(value % 7), float(-value % 3)))
        return [CHAIN.format(a) for a in archs]

    original, other = (get_strategy("mo_evolution", CHAIN, seed=s, population_size=4, sample_size=2) for s in (0, 1))
    run(original, 40)
    run(other, 30)
    other.ask()  # its cached ranking is of another population
    state = original.state_dict()
    assert "_ranking" not in state  # states saved before the cache load, and saved states stay as they were
    other.load_state_dict(state)
    assert run(other, 60) == run(original, 60)
