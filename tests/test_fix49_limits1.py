"""Known limits of 2026-12-07: a study whose strategy gave up under the code before 2026-12-07 more than once (each
optimize call that found no new architecture ended with an ask that no trial records) loaded and resumed with "did
not reproduce the saved state" or "replay diverged", also once today's optimize had gone on with it."""

from __future__ import annotations

import warnings

import pytest

from nasforge import Study
from nasforge.cli import main
from nasforge.exceptions import SpaceExhaustedWarning
from nasforge.spaces import ChainSpace
from nasforge.strategies import RandomSearch
from nasforge.strategies.base import giving_up_as_before

SMALL = ChainSpace([["a", "b", "c", "d"]] * 3)  # 64 architectures, each its own class


@pytest.fixture(autouse=True)
def few_tries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RandomSearch, "max_dedup_tries", 3)  # asks give up early, with classes left
    for tries in ("own_tries", "stuck_tries"):  # then uniform samples, as with the 10,000 tries and 1,000 own ones
        monkeypatch.setattr(RandomSearch, tries, 1)


def score(arch) -> dict[str, float]:
    return {"acc": float(len(arch.genotype))}


def _old_runs(url: str, seed: int, runs: int) -> tuple[list[int], dict]:
    """``runs`` optimize calls as the code before 2026-12-07 made them (each in a study opened anew); the trials
    after each, and the fingerprint the last one saved."""
    counts = []
    with giving_up_as_before(), warnings.catch_warnings():
        warnings.simplefilter("ignore", SpaceExhaustedWarning)
        for run in range(runs):
            study = Study(SMALL, "random", objectives="acc", seed=seed, name="old", storage=url) if run == 0 \
                else Study.load("old", url)
            study.optimize(score, n_trials=100)
            counts.append(len(study.trials))
    return counts, study.strategy_fingerprint()


@pytest.mark.parametrize("seed, stops", [(0, [13, 31]), (5, [33, 33])])
def test_a_study_that_gave_up_twice_loads_and_resumes_quietly(tmp_path, capsys, seed, stops):
    """Seed 0: the second run went on after the first gave up, then gave up; seed 5: both gave up at 33 trials."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    counts, saved = _old_runs(url, seed, 2)
    assert counts == stops
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # neither "replay diverged" nor "did not reproduce"
        loaded = Study.load("old", url)
        assert loaded.strategy_fingerprint() == saved and loaded.exhausted
        capsys.readouterr()
        assert main(["resume", "old", "--storage", url]) == 0
    out, err = capsys.readouterr()
    assert "is finished" in out and "nothing to resume" in out and err == ""


def test_a_study_that_gave_up_and_went_on_by_todays_optimize_replays_exactly(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    _old_runs(url, 5, 2)  # gave up twice at 33 trials
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        study = Study.load("old", url)
        with pytest.warns(SpaceExhaustedWarning, match="all 64 distinct"):
            study.optimize(score, n_trials=100)  # draws the classes not proposed
        loaded = Study.load("old", url)
    assert len({SMALL.canonical_key(t.arch) for t in loaded.trials}) == len(loaded.trials) == 64
    assert loaded.strategy_fingerprint() == study.strategy_fingerprint()
