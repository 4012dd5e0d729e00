"""Fixes of review 49 (engine): a process worker dying unnoticed between trials or during a report, mo_evolution's
ranking per retried proposal, and REINFORCE's codes of the returned architecture."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import sqlite3
import warnings
from collections import Counter

import pytest

from nasforge import Study
from nasforge.exceptions import UsageError
from nasforge.experiment import TrialState
from nasforge.experiment.pruners import MedianPruner
from nasforge.pareto import rank_and_crowding
from nasforge.spaces import ChainSpace, get_space
from nasforge.strategies import get_strategy
from nasforge.strategies.constraints import ConstrainedScore
from nasforge.strategies.reinforce import Reinforce

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

    name = "fix49_killing"
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


# -- REINFORCE: the codes a stuck ask's architecture teaches ----------------------------------------------------------
OLD_STUCK_REINFORCE = "cfe6eac139d97d23"  # reinforce lr=1, seed 0, 60 asks on CHAIN with few tries, by the code of then
BEFORE_08 = 1796626800.0  # 2026-12-07 07:00 UTC: after std_start's change, before stuck_codes'


@pytest.fixture
def few_tries(monkeypatch):
    """Asks that give up their own draws after 3 (2 once stuck), so that many end in uniform samples."""
    monkeypatch.setattr(Reinforce, "own_tries", 3)
    monkeypatch.setattr(Reinforce, "stuck_tries", 2)
    monkeypatch.setattr(Reinforce, "max_dedup_tries", 6)


def _letters(arch) -> float:
    return float(sum(ord(choice[-1]) % 5 * (k + 1) for k, choice in enumerate(arch.genotype)))


def _reinforce_trace(n: int, **kwargs) -> tuple[list, int, int]:
    """The architectures of ``n`` asks (each told ``_letters``), the stuck asks, and the asks whose recorded codes are
    not those of the architecture returned."""
    strategy = get_strategy("reinforce", CHAIN, seed=0, lr=1.0, **kwargs)
    archs, stuck, wrong = [], 0, 0
    for _ in range(n):
        archs.append(strategy.ask())
        stuck += strategy.stuck
        wrong += strategy.actions[CHAIN.canonical_key(archs[-1])][0] != strategy._codes_of(archs[-1])
        strategy.tell(archs[-1], _letters(archs[-1]))
    return archs, stuck, wrong


def _digest(archs: list) -> str:
    return hashlib.sha1("|".join(str(a.genotype) for a in archs).encode()).hexdigest()[:16]


def test_reinforce_learns_the_codes_of_the_architecture_a_stuck_ask_returns(few_tries):
    """Would fail: an ask that ended in uniform samples recorded the codes of the last draw it had rejected, and its
    result taught the policy that draw instead."""
    archs, stuck, wrong = _reinforce_trace(60)
    assert stuck > 20 and wrong == 0
    assert _digest(archs) != OLD_STUCK_REINFORCE


def test_the_older_stuck_codes_rule_proposes_as_before(few_tries):
    archs, stuck, wrong = _reinforce_trace(60, stuck_codes="last_draw")
    assert _digest(archs) == OLD_STUCK_REINFORCE and wrong == stuck > 20


@pytest.mark.parametrize("config, created_at, rules", [
    ({"std_start": "data"}, BEFORE_08, {"stuck_codes": "last_draw"}),  # stored today before 08:00
    ({}, 1796000000.0, {"std_start": "one", "stuck_codes": "last_draw"}),  # stored before both changes
    # by an older install still in use after the changes: the rules a study does not record are the older ones
    ({}, BEFORE_08, {"std_start": "one", "stuck_codes": "last_draw"}),
    ({"std_start": "data"}, 1796632200.0, {"stuck_codes": "last_draw"})])  # 08:30
def test_a_reinforce_study_stored_before_the_fix_replays_and_goes_on_by_its_rule(tmp_path, few_tries, config,
                                                                                 created_at, rules):
    """Would fail without the recorded rule: a stored study with stuck asks replayed by today's rule, diverged and
    went on relearning (a warning)."""
    path, url = tmp_path / "s.db", f"sqlite:///{tmp_path / 's.db'}"
    study = Study(CHAIN, "reinforce", objectives="acc", seed=0, name="s", storage=url, lr=1.0, **rules)
    for _ in range(30):
        trial = study.ask()
        study.tell(trial, _letters(trial.arch))
    study.close()
    with sqlite3.connect(path) as raw:  # as the nasforge of then stored it: without the rule, made at that time
        raw.execute("UPDATE nasforge_studies SET strategy_config = ?, created_at = ?",
                    (json.dumps({"lr": 1.0, **config}), created_at))
    raw.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # "the strategy's replay diverged"
        study = Study.load("s", url)
    assert {k: getattr(study.strategy, k) for k in rules} == rules
    for _ in range(10):
        trial = study.ask()
        study.tell(trial, _letters(trial.arch))
    study.close()
    alone = _reinforce_trace(40, **rules)[0]
    assert [t.arch for t in sorted(study.trials, key=lambda t: t.number)] == alone
    assert alone[:30] != _reinforce_trace(30, **{**rules, "stuck_codes": "returned"})[0]  # the rules differ there


def test_a_reinforce_state_saved_before_stuck_codes_loads_with_the_older_rule():
    state = get_strategy("reinforce", CHAIN, seed=0).state_dict()
    del state["stuck_codes"]  # as state_dict() wrote it before
    loaded = get_strategy("reinforce", CHAIN, seed=0)
    loaded.load_state_dict(state)
    assert loaded.stuck_codes == "last_draw"


def test_an_unknown_stuck_codes_rule_is_refused():
    with pytest.raises(UsageError, match=r"stuck_codes must be one of \['returned', 'last_draw'\], got 'first'"):
        get_strategy("reinforce", CHAIN, seed=0, stuck_codes="first")


def test_a_study_without_its_rules_loads_with_the_older_rules_given(tmp_path):
    """Would fail: an older install's study (no rule recorded) created after the rule dates replays by the older
    rules, yet loading it with those rules given was refused as 'created with std_start='data', not 'one''."""
    path, url = tmp_path / "s.db", f"sqlite:///{tmp_path / 's.db'}"
    older = {"std_start": "one", "stuck_codes": "last_draw"}
    study = Study(CHAIN, "reinforce", objectives="acc", seed=0, name="s", storage=url, lr=1.0, **older)
    for _ in range(5):
        trial = study.ask()
        study.tell(trial, _letters(trial.arch))
    study.close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE nasforge_studies SET strategy_config = ?, created_at = ?",
                    (json.dumps({"lr": 1.0}), 1796640000.0))  # 2026-12-07 10:40 UTC
    raw.close()
    for rules in (older, {}):  # the older rules or today's
        Study.load("s", url, strategy=get_strategy("reinforce", CHAIN, seed=0, lr=1.0, **rules)).close()
    with pytest.raises(UsageError, match=r"created with strategy settings lr=1.0, not 0.5"):
        Study.load("s", url, strategy=get_strategy("reinforce", CHAIN, seed=0, lr=0.5, **older))


def test_a_tpe_study_without_its_rules_refuses_an_older_rule_its_time_did_not_follow(tmp_path):
    """tpe's rules were recorded only later: a study made after they changed followed today's, and loading it with
    an older one is refused (it went on, replaying by a rule it never followed), naming the rule of its time."""
    path, url = tmp_path / "s.db", f"sqlite:///{tmp_path / 's.db'}"
    Study(CHAIN, "tpe", objectives="acc", seed=0, name="s", storage=url).close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE nasforge_studies SET strategy_config = '{}', created_at = 1796550000.0")  # 12-06 09:40
    raw.close()
    with pytest.raises(UsageError, match=r"created with strategy settings gamma=0.1, not 0.15"):
        Study.load("s", url, strategy=get_strategy("tpe", CHAIN, seed=0, gamma=0.15))
