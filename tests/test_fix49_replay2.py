"""Replays by the rules of an older install: a study that does not record REINFORCE's two dated rule settings
(``std_start``, changed 2026-12-07 05:00 UTC, and ``stuck_codes``, 08:00) was replayed by the rules of its
``created_at`` and by today's only, so one made between the two dates by code older than both (a user's older
install) diverged and relearned; and the asks that gave up between stored ones were looked for by the first rules
only, so a study replayed by other rules that had gone on after giving up diverged on its next load."""

from __future__ import annotations

import json
import sqlite3
import warnings

import pytest

from nasforge import Study
from nasforge.exceptions import SpaceExhaustedWarning
from nasforge.spaces import ChainSpace
from nasforge.strategies import get_strategy
from nasforge.strategies.base import giving_up_as_before
from nasforge.strategies.reinforce import Reinforce

SMALL = ChainSpace([["a", "b", "c", "d"]] * 3)  # 64 architectures, each its own class
OLD = {"std_start": "one", "stuck_codes": "last_draw"}  # the rules of the code before 2026-12-07 05:00 UTC
BETWEEN = 1796626800.0  # 2026-12-07 07:00 UTC: after std_start's change, before stuck_codes'
AFTER = 1796640000.0  # 2026-12-07 10:40 UTC: after both


@pytest.fixture(autouse=True)
def few_tries(monkeypatch: pytest.MonkeyPatch) -> None:
    """As tests/test_fix49_limits1.py: asks give up early, with classes left, and end in uniform samples often."""
    monkeypatch.setattr(Reinforce, "max_dedup_tries", 3)
    for tries in ("own_tries", "stuck_tries"):
        monkeypatch.setattr(Reinforce, tries, 1)


def score(arch) -> dict[str, float]:
    return {"acc": float(sum(ord(c) for c in arch.genotype) % 7) + 0.1 * len(arch.genotype)}


def _as_stored_then(path, created_at: float) -> None:
    """Rewrite the study in ``path`` as the code before the rules were recorded stored it, created at
    ``created_at``."""
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE nasforge_studies SET strategy_config = ?, created_at = ?", (json.dumps({}), created_at))
    raw.close()


def _trace(n: int, **rules) -> list:
    """The architectures of ``n`` asks of a reinforce strategy by ``rules`` alone, each told :func:`score`."""
    strategy, archs = get_strategy("reinforce", SMALL, seed=0, **rules), []
    for _ in range(n):
        archs.append(strategy.ask())
        strategy.tell(archs[-1], score(archs[-1])["acc"])
    return archs


def test_a_study_of_an_older_install_made_between_two_rule_changes_replays_and_goes_on_by_its_rules(tmp_path):
    """Would fail: replayed by {std_start: data, stuck_codes: last_draw} (its time's) and today's rules only, it
    diverged and relearned (a warning), and went on by neither the code's rules nor its policy."""
    path, url = tmp_path / "s.db", f"sqlite:///{tmp_path / 's.db'}"
    study = Study(SMALL, "reinforce", objectives="acc", seed=0, name="s", storage=url, **OLD)
    for _ in range(30):
        trial = study.ask()
        study.tell(trial, score(trial.arch))
    study.close()
    _as_stored_then(path, BETWEEN)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # "the strategy's replay diverged"
        study = Study.load("s", url)
    assert {k: getattr(study.strategy, k) for k in OLD} == OLD
    for _ in range(10):
        trial = study.ask()
        study.tell(trial, score(trial.arch))
    study.close()
    alone = _trace(40, **OLD)
    assert [t.arch for t in sorted(study.trials, key=lambda t: t.number)] == alone
    assert alone[:30] != _trace(30, std_start="data", stuck_codes="last_draw")  # the rules of its time differ


@pytest.mark.parametrize("created_at", [BETWEEN, AFTER])
def test_an_older_study_that_gave_up_and_went_on_by_todays_optimize_replays_exactly(tmp_path, created_at):
    """The reviewer's case (seed 4): made by code before 2026-12-07 05:00 (which gave up, in two optimize calls,
    with classes left), created later (today's rules, or its time's, come first). Would fail: its first load went on
    after the asks that gave up, but the next load looked for them by the first rules only and relearned (a
    warning); made between the two changes, already the first load relearned."""
    path, url = tmp_path / "s.db", f"sqlite:///{tmp_path / 's.db'}"
    with giving_up_as_before(), warnings.catch_warnings():
        warnings.simplefilter("ignore", SpaceExhaustedWarning)
        Study(SMALL, "reinforce", objectives="acc", seed=4, name="s", storage=url, **OLD).optimize(score, n_trials=100)
        study = Study.load("s", url)
        study.optimize(score, n_trials=100)
    assert study.exhausted and len(study.trials) == 29
    saved = study.strategy_fingerprint()
    _as_stored_then(path, created_at)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # neither "replay diverged" nor "did not reproduce"
        study = Study.load("s", url)
        assert study.strategy_fingerprint() == saved
        assert {k: getattr(study.strategy, k) for k in OLD} == OLD
        with pytest.warns(SpaceExhaustedWarning, match="all 64 distinct"):
            study.optimize(score, n_trials=100)  # draws the classes not proposed
        loaded = Study.load("s", url)
    assert len(loaded.trials) == 64 and loaded.strategy_fingerprint() == study.strategy_fingerprint()


def test_a_tpe_study_by_another_combination_of_its_rules_replays_by_it(tmp_path):
    """With three rule settings the other combinations are tried last: a tpe study made with today's gamma and the
    older rank_power, stored without them (its trials all succeed: good_set makes no difference)."""
    path, url = tmp_path / "s.db", f"sqlite:///{tmp_path / 's.db'}"
    rules = {"gamma": 0.1, "rank_power": 0.0, "good_set": "successes"}
    study = Study(SMALL, "tpe", objectives="acc", seed=0, name="s", storage=url, **rules)
    for _ in range(30):
        trial = study.ask()
        study.tell(trial, score(trial.arch))
    study.close()
    _as_stored_then(path, 1796000000.0)  # 2026-11-30: before all three changes
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        study = Study.load("s", url)
    assert {k: getattr(study.strategy, k) for k in rules} == rules
