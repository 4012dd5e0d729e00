"""Review of 2026-12-07 (engine docs): random search on NAS-Bench-201 stopped at 5,257 of the 5,260 distinct cells
with "no new architecture", because uniform samples rarely draw a cell written by one genotype only; once its tries
are all repeats, an ask on an enumerable space now draws one of the classes not proposed yet."""

from __future__ import annotations

import warnings

import pytest

from nasforge import Study, TableEvaluator
from nasforge.exceptions import SpaceExhausted, SpaceExhaustedWarning
from nasforge.spaces import ChainSpace, DartsSpace
from nasforge.strategies import RandomSearch, get_strategy
from nasforge.strategies.base import giving_up_as_before

FEW_TRIES = 200  # instead of 10,000: the classes samples miss are then many, and the test fast
SMALL = ChainSpace([["a", "b", "c", "d"]] * 3)  # 64 architectures, each its own class


@pytest.fixture
def few_tries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RandomSearch, "max_dedup_tries", FEW_TRIES)


def test_random_search_on_nb201_proposes_every_distinct_cell_then_says_all_were(nb201_table, few_tries):
    study = Study(nb201_table.space, "random", objectives="val_acc", seed=1)
    with pytest.warns(SpaceExhaustedWarning, match="all 5260 distinct architectures of space 'nb201' were proposed"):
        study.optimize(TableEvaluator(nb201_table), n_trials=6000)
    keys = {study.space.canonical_key(t.arch) for t in study.trials}
    assert len(study.trials) == len(keys) == 5260 and study.exhausted


def test_the_classes_not_proposed_are_drawn_with_the_strategys_seed(monkeypatch):
    monkeypatch.setattr(RandomSearch, "max_dedup_tries", 3)  # most asks then end on the classes not proposed

    def run(seed: int) -> list:
        strategy = get_strategy("random", SMALL, seed=seed)
        return [strategy.ask() for _ in range(64)]

    first = run(3)
    assert first == run(3) and first != run(4) and len({SMALL.canonical_key(a) for a in first}) == 64
    strategy = get_strategy("random", SMALL, seed=3)
    for _ in range(64):
        strategy.ask()
    with pytest.raises(SpaceExhausted, match="all 64 distinct"):
        strategy.ask()


def score(arch) -> dict[str, float]:
    return {"acc": float(len(arch.genotype))}


def test_a_space_that_cannot_be_enumerated_says_the_strategy_gave_up(monkeypatch):
    arch = get_strategy("random", DartsSpace(), seed=0).ask()
    strategy = get_strategy("random", DartsSpace(), seed=0)
    strategy.tell(arch, 1.0)  # its first sample is then a repeat
    monkeypatch.setattr(RandomSearch, "max_dedup_tries", 1)
    with pytest.raises(SpaceExhausted, match=r"gave up after 1 proposals that were all repeats, with 1 distinct "
                                             r"architectures proposed or told \(space 'darts' cannot be enumerated"):
        strategy.ask()


def test_a_study_stored_when_asks_gave_up_replays_exactly_and_optimize_finds_the_rest(tmp_path, monkeypatch):
    monkeypatch.setattr(RandomSearch, "max_dedup_tries", 3)
    storage = f"sqlite:///{tmp_path / 's.db'}"
    with giving_up_as_before(), warnings.catch_warnings():  # as the code before 2026-12-07 ran it
        warnings.simplefilter("ignore", SpaceExhaustedWarning)
        old = Study(SMALL, "random", objectives="acc", seed=0, name="old", storage=storage)
        old.optimize(score, n_trials=100)
    stopped = len(old.trials)
    assert stopped < 64 and old.exhausted
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no "replay diverged" nor "did not reproduce"
        loaded = Study.load("old", storage)
    assert [t.arch for t in loaded.trials] == [t.arch for t in old.trials]
    assert loaded.strategy_fingerprint() == old.strategy_fingerprint()
    assert loaded.exhausted and loaded.resume(score).n_proposals == stopped  # resume keeps its mark
    with pytest.warns(SpaceExhaustedWarning, match="all 64 distinct"):
        loaded.optimize(score, n_trials=100)
    assert len({SMALL.canonical_key(t.arch) for t in loaded.trials}) == len(loaded.trials) == 64
