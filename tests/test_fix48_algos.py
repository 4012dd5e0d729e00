"""Review 48 (algos): REINFORCE's advantage without the objective's units, ParEGO's scalarization as Knowles'
(from the ideal point), and the older rules kept for the studies and states stored by them."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import warnings
from collections.abc import Callable

import numpy as np
import pytest

from nasforge import Study
from nasforge.spaces import get_space
from nasforge.strategies import Strategy, get_strategy
from nasforge.strategies.mobo import augmented_chebyshev, chebyshev

NB201 = get_space("nb201")
CHAIN = get_space("chain", layers=[["a", "b", "c", "d"]] * 4)
OPS = {"nor_conv_3x3": 0.03, "nor_conv_1x1": 0.02, "avg_pool_3x3": 0.01, "b": 0.01, "c": 0.02, "d": 0.03}
# the proposals of nasforge before 2026-12-07 (its code run on _acc / _two), as _digest writes them
OLD_REINFORCE = "f6b78daaab708453"  # reinforce, seed 0, 40 asks on NB201
OLD_PAREGO = "485fd69a277ffe49"  # parego, seed 0, n_initial 4, 10 asks on CHAIN
BEFORE_THE_CHANGE = 1796000000.0  # 2026-11-30: a study's creation time before the rules changed


def _acc(arch) -> float:
    """An accuracy told as a fraction (deltas of a few hundredths): the older REINFORCE rule's 1.0 dominates."""
    return sum(OPS.get(op, 0.0) * (1 + 0.1 * i) for i, op in enumerate(arch.genotype))


def _two(arch) -> tuple[float, float]:
    """(accuracy, -cost), both higher-is-better: the cost grows with the accuracy."""
    return _acc(arch), -sum(OPS.get(op, 0.0) ** 2 for op in arch.genotype) * 1e3


def _trace(strategy: Strategy, n: int, score: Callable) -> list:
    archs = []
    for _ in range(n):
        archs.append(strategy.ask())
        strategy.tell(archs[-1], score(archs[-1]))
    return archs


def _digest(archs: list) -> str:
    return hashlib.sha1("|".join(str(a.genotype) for a in archs).encode()).hexdigest()[:16]


def _parego(**kwargs) -> Strategy:
    return get_strategy("parego", CHAIN, seed=0, n_initial=4, **kwargs)


@pytest.mark.parametrize("kwargs", [{}, {"baseline_decay": 1.0}, {"baseline_decay": 0.0},
                                    {"algorithm": "ppo", "batch_size": 5}])
def test_reinforce_proposes_the_same_whatever_the_objectives_units(kwargs):
    """Would fail: the moving variance started at 1.0 in the score's units, so telling a fraction instead of a
    percentage gave other proposals (with baseline_decay=1 for good: the advantage stayed the raw difference)."""
    runs = [_trace(get_strategy("reinforce", NB201, seed=0, **kwargs), 60, lambda a, c=c: c * _acc(a))
            for c in (1.0, 100.0, 1e-3)]
    assert runs[0] == runs[1] == runs[2]


def test_the_older_reinforce_rule_proposes_as_before():
    assert _digest(_trace(get_strategy("reinforce", NB201, seed=0, std_start="one"), 40, _acc)) == OLD_REINFORCE
    assert _digest(_trace(get_strategy("reinforce", NB201, seed=0), 40, _acc)) != OLD_REINFORCE


def test_parego_scalarizes_from_the_ideal_point():
    """Would fail: min_i w_i z_i (from the worst point) scored every point with a 0 component about 0, and a weight
    mostly on accuracy aimed at the cheap end of the front."""
    points = np.array([[90.0, -10.0], [88.0, -6.0], [85.0, -4.0], [80.0, -2.0], [60.0, -1.0], [70.0, -8.0]])
    weights = np.array([0.9, 0.1])
    assert int(np.argmax(augmented_chebyshev(points, weights))) == 1  # the accurate end: (88, -6)
    assert int(np.argmax(chebyshev(points, weights))) == 3  # the worst-point form: (80, -2)
    assert int(np.argmax(augmented_chebyshev(points, np.array([1.0, 0.0])))) == 0  # a front's extreme is reachable
    assert _digest(_trace(_parego(scalarization="worst"), 10, _two)) == OLD_PAREGO
    assert _digest(_trace(_parego(), 10, _two)) != OLD_PAREGO


def _stored_by_older_nasforge(path, strategy: str, space, objectives: list[str], directions: list[str],
                              rule: dict, score: Callable, n: int, **kwargs) -> None:
    """A study run with the older ``rule`` and stored as a nasforge before 2026-12-07 stored it (its settings
    without the rule)."""
    study = Study(space, strategy, objectives=objectives, directions=directions, seed=0, name="s",
                  storage=f"sqlite:///{path}", **rule, **kwargs)
    for _ in range(n):
        trial = study.ask()
        study.tell(trial, list(score(trial.arch)))
    study.close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE nasforge_studies SET strategy_config = ?, created_at = ?",
                    (json.dumps(kwargs), BEFORE_THE_CHANGE))
    raw.close()


@pytest.mark.parametrize("name, space, objectives, directions, rule, score, kwargs", [
    ("reinforce", CHAIN, ["acc"], ["maximize"], {"std_start": "one"}, lambda a: [_acc(a)], {}),
    ("parego", CHAIN, ["acc", "cost"], ["maximize", "minimize"], {"scalarization": "worst"},
     lambda a: [_two(a)[0], -_two(a)[1]], {"n_initial": 4}),
])
def test_a_study_stored_before_the_fix_replays_and_goes_on_by_its_rule(tmp_path, name, space, objectives,
                                                                        directions, rule, score, kwargs):
    """Would fail without the recorded rule: the stored study replayed with the new rule, diverged and went on
    relearning (a warning), no longer the search it began."""
    _stored_by_older_nasforge(tmp_path / "s.db", name, space, objectives, directions, rule, score, 7, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # "the strategy's replay diverged"
        study = Study.load("s", f"sqlite:///{tmp_path / 's.db'}")
    (key, older), = rule.items()
    assert getattr(study.strategy, key) == older
    for _ in range(3):
        trial = study.ask()
        study.tell(trial, list(score(trial.arch)))
    study.close()
    signs = np.array([1.0 if d == "maximize" else -1.0 for d in directions])
    told = (lambda a: float(score(a)[0])) if len(objectives) == 1 else (lambda a: tuple(signs * score(a)))
    alone = _trace(get_strategy(name, space, seed=0, **rule, **kwargs), 10, told)
    assert [t.arch for t in sorted(study.trials, key=lambda t: t.number)] == alone


def test_a_new_study_records_the_new_rule(tmp_path):
    study = Study(CHAIN, "reinforce", objectives="acc", seed=0, name="s", storage=f"sqlite:///{tmp_path / 's.db'}")
    assert study.record.strategy_config == {"std_start": "data", "stuck_codes": "returned"}
    assert study.strategy.std_start == "data"
    study.close()


@pytest.mark.parametrize("build, key, older", [(lambda: get_strategy("reinforce", NB201, seed=0), "std_start", "one"),
                                               (_parego, "scalarization", "worst")])
def test_a_state_saved_before_the_rule_loads_with_the_older_rule(build, key, older):
    saved = build()
    state = saved.state_dict()
    del state[key]  # as state_dict() wrote it before 2026-12-07
    loaded = build()
    loaded.load_state_dict(state)
    assert getattr(loaded, key) == older


@pytest.mark.parametrize("strategy, kwargs, match", [
    ("reinforce", {"std_start": "zero"}, r"std_start must be one of \['data', 'one'\], got 'zero'"),
    ("parego", {"scalarization": "min"}, r"scalarization must be one of \['ideal', 'worst'\], got 'min'"),
    ("parego", {"scalarization": ["worst"]}, r"scalarization must be one of \['ideal', 'worst'\], got \['worst'\]")])
def test_an_unknown_rule_is_refused(strategy, kwargs, match):
    from nasforge.exceptions import UsageError

    with pytest.raises(UsageError, match=match):
        get_strategy(strategy, NB201, seed=0, **kwargs)


def test_a_study_stored_before_whose_replay_diverges_by_both_rules_relearns_by_the_older(tmp_path):
    """Would fail: where neither rule replayed (another writer, an edited trial), the study relearned by today's rule
    and went on mixing two rules; before the change it relearned by the one it began with."""
    path = tmp_path / "s.db"
    _stored_by_older_nasforge(path, "reinforce", CHAIN, ["acc"], ["maximize"], {"std_start": "one"},
                              lambda a: [_acc(a)], 6)
    with sqlite3.connect(path) as raw:  # two proposals swapped: the replay diverges by both rules
        columns = "arch, arch_key, genotype"
        first, third = raw.execute(f"SELECT {columns} FROM nasforge_trials WHERE number IN (1, 3) ORDER BY number")
        assert first != third
        for number, values in ((1, third), (3, first)):
            raw.execute("UPDATE nasforge_trials SET arch = ?, arch_key = ?, genotype = ? WHERE number = ?",
                        (*values, number))
    raw.close()
    with pytest.warns(RuntimeWarning, match="diverged"):
        study = Study.load("s", f"sqlite:///{path}")
    assert study.strategy.std_start == "one"
    study.close()


def test_a_new_study_whose_factory_records_no_rule_goes_on_by_todays(tmp_path):
    """Would fail: a study made since the change through a factory that does not take the setting records none,
    and a short one (both rules replay it) went on by the older rule on reload."""
    from nasforge.strategies import STRATEGIES
    from nasforge.strategies.reinforce import Reinforce

    def mine(space, seed=None, lr=0.3):
        return Reinforce(space, seed=seed, lr=lr)

    STRATEGIES.register("mine_rf48", mine)
    try:
        study = Study(CHAIN, "mine_rf48", objectives="acc", seed=0, name="s", storage=f"sqlite:///{tmp_path / 's.db'}")
        for _ in range(2):
            trial = study.ask()
            study.tell(trial, _acc(trial.arch))
        study.close()
        loaded = Study.load("s", f"sqlite:///{tmp_path / 's.db'}")
        assert loaded.record.strategy_config == {} and loaded.strategy.std_start == "data"
        loaded.close()
    finally:
        STRATEGIES._entries.pop("mine_rf48")
        STRATEGIES._tags.pop("mine_rf48", None)
