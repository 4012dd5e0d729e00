"""Review 48 (tpe): a TPE study stored before its defaults changed (gamma 0.15 -> 0.1 and rank_power 0 -> 1 on
2026-12-05, the good set of successes only on 2026-12-06) resumes by the rules of its time."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import warnings

import pytest

from nasforge import Study
from nasforge.evaluators.base import Result
from nasforge.exceptions import UsageError
from nasforge.spaces import get_space
from nasforge.strategies import get_strategy

CHAIN = get_space("chain", layers=[["a", "b", "c", "d"]] * 6)
OPS = {"b": 0.01, "c": 0.02, "d": 0.03}
OLDER = {"gamma": 0.15, "rank_power": 0.0, "good_set": "all"}
BEFORE = 1796000000.0  # 2026-11-30: before all three changes
BETWEEN = 1796440000.0  # 2026-12-05 03:06 UTC: after gamma changed, before rank_power and the good set did
OLD_TPE = "49edf8fe5c708637"  # nasforge of 2026-12-04 (cd3e87ba), tpe seed 0, 40 asks on CHAIN by _acc, as _digest


def _acc(arch) -> float | None:
    """An accuracy, or a failure (None) for most architectures: the good-set rules differ while few succeeded."""
    if arch.genotype[0] != "d" or arch.genotype[5] == "a":
        return None
    return sum(OPS.get(op, 0.0) * (1 + 0.1 * i) for i, op in enumerate(arch.genotype))


def _trace(strategy, n: int) -> list:
    archs = []
    for _ in range(n):
        archs.append(strategy.ask())
        strategy.tell(archs[-1], _acc(archs[-1]))
    return archs


def _digest(archs: list) -> str:
    return hashlib.sha1("|".join(str(a.genotype) for a in archs).encode()).hexdigest()[:16]


def _tell(study, trial) -> None:
    value = _acc(trial.arch)
    if value is None:
        study.tell(trial, Result.failed("no result"))
    else:
        study.tell(trial, value)


def _stored_by_older_nasforge(path, rules: dict, created_at: float, n: int = 24) -> str:
    """A tpe study run by the ``rules`` of its time and stored as nasforge then stored it (made by name: no settings
    recorded), created at ``created_at``; its URL."""
    url = f"sqlite:///{path}"
    study = Study(CHAIN, "tpe", objectives="acc", seed=0, name="s", storage=url, **rules)
    for _ in range(n):
        _tell(study, study.ask())
    study.close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE nasforge_studies SET strategy_config = ?, created_at = ?", (json.dumps({}), created_at))
    raw.close()
    return url


def test_the_older_rules_propose_as_the_tpe_of_then():
    assert _digest(_trace(get_strategy("tpe", CHAIN, seed=0, **OLDER), 40)) == OLD_TPE


@pytest.mark.parametrize("created_at, rules", [
    (BEFORE, OLDER), (BETWEEN, {"gamma": 0.1, "rank_power": 0.0, "good_set": "all"})])
def test_a_study_stored_before_resumes_by_the_rules_of_its_time(tmp_path, created_at, rules):
    """Would fail without the recorded rules: the stored study replayed with today's defaults, diverged and went on
    relearning (a warning), no longer the search it began."""
    url = _stored_by_older_nasforge(tmp_path / "s.db", rules, created_at)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # "the strategy's replay diverged"
        study = Study.load("s", url)
    assert {k: getattr(study.strategy, k) for k in rules} == rules
    for _ in range(6):
        _tell(study, study.ask())
    study.close()
    alone = _trace(get_strategy("tpe", CHAIN, seed=0, **rules), 30)
    assert [t.arch for t in sorted(study.trials, key=lambda t: t.number)] == alone


def test_a_study_stored_before_loads_with_the_settings_it_used(tmp_path):
    """Would fail: the settings of then were refused as 'created with gamma=0.1, not 0.15, rank_power=1.0, ...'."""
    url = _stored_by_older_nasforge(tmp_path / "s.db", OLDER, BEFORE)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        study = Study.load("s", url, strategy=get_strategy("tpe", CHAIN, seed=0, gamma=0.15, rank_power=0))
    assert (study.strategy.gamma, study.strategy.good_set) == (0.15, "all")
    study.close()
    with pytest.raises(UsageError, match=r"gamma=0\.15, not 0\.3"):
        Study.load("s", url, strategy=get_strategy("tpe", CHAIN, seed=0, gamma=0.3, rank_power=0))
    resumed = Study(CHAIN, "tpe", objectives="acc", seed=0, name="s", storage=url, load_if_exists=True)  # by name
    assert resumed.strategy.gamma == 0.15
    resumed.close()


def test_a_new_study_records_the_rules(tmp_path):
    study = Study(CHAIN, "tpe", objectives="acc", seed=0, name="s", storage=f"sqlite:///{tmp_path / 's.db'}")
    assert study.record.strategy_config == {"gamma": 0.1, "rank_power": 1.0, "good_set": "successes"}
    study.close()


def test_an_unknown_good_set_is_refused():
    with pytest.raises(UsageError, match=r"good_set must be one of \['successes', 'all'\], got 'best'"):
        get_strategy("tpe", CHAIN, seed=0, good_set="best")


def test_bohb_keeps_the_good_set_rule_of_its_time(tmp_path, monkeypatch):
    """Would fail: bohb's model is TPE's, whose good set changed on 2026-12-06, with no setting to keep a bohb study
    stored before (failed results at a budget) replaying as it ran."""
    from nasforge.strategies import multi_fidelity, tpe

    assert multi_fidelity.BOHB.rules_of_its_time(BEFORE, ()) == {"good_set": "all"}
    assert multi_fidelity.BOHB.rules_of_its_time(1796600000.0, ()) == {}
    built = []
    real = tpe.TPE.__init__
    monkeypatch.setattr(tpe.TPE, "__init__", lambda self, *a, **kw: (built.append(kw.get("good_set")),
                                                                      real(self, *a, **kw))[1])
    strategy = get_strategy("bohb", CHAIN, seed=0, good_set="all", min_points_in_model=1, random_fraction=0.0)
    for _ in range(12):
        arch = strategy.ask()
        strategy.tell(arch, _acc(arch))
    assert built and set(built) == {"all"}
    study = Study(CHAIN, "bohb", objectives="acc", seed=0, name="b", storage=f"sqlite:///{tmp_path / 'b.db'}")
    assert study.record.strategy_config == {"good_set": "successes"}
    study.close()
    with pytest.raises(UsageError, match=r"bohb: good_set must be one of \['successes', 'all'\], got 'x'"):
        get_strategy("bohb", CHAIN, seed=0, good_set="x")


def test_a_tpe_state_keeps_its_rules_and_other_settings_are_refused():
    """Would fail: a state saved without good_set (every state before it existed, most following the successes
    rule) loaded as 'all'; a state of another gamma or rank_power was taken over without a word."""
    saved = get_strategy("tpe", CHAIN, seed=0)
    state = saved.state_dict()
    del state["good_set"]  # as state_dict() wrote it before 2026-12-07
    loaded = get_strategy("tpe", CHAIN, seed=0)
    loaded.load_state_dict(state)
    assert loaded.good_set == "successes"
    other = get_strategy("tpe", CHAIN, seed=0, gamma=0.3, rank_power=3.0).state_dict()
    with pytest.raises(UsageError, match=r"the state was saved with gamma=0.3, rank_power=3.0"):
        get_strategy("tpe", CHAIN, seed=0).load_state_dict(other)
    older = get_strategy("tpe", CHAIN, seed=0, gamma=0.15, rank_power=0.0).state_dict()
    taken = get_strategy("tpe", CHAIN, seed=0)
    taken.load_state_dict(older)  # the older rules are taken over (a replay by the rules of a study's time)
    assert (taken.gamma, taken.rank_power) == (0.15, 0.0)
