"""Review 54 (regression review f) fixes of the extension-point fixes: the all-NaN acquisition warning, the
factory remedy of Study.load, the pruner name check, bench's --strategies check and the saved strategy state."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from bit_spaces import BitSpace

from nasforge import Strategy, Study
from nasforge.exceptions import UsageError
from nasforge.experiment.pruners import MedianPruner
from nasforge.strategies.model_based import ModelBasedStrategy
from nasforge.strategies.model_based.acquisitions import Acquisition


def _bits(arch):
    return {"val_acc": float(sum(arch.genotype))}


class NaNAcquisition(Acquisition):
    name = "fix54_regf_nan"

    def __call__(self, surrogate, archs, best, rng, pending=()):
        return np.full(len(archs), np.nan)


def _nan_model_based():
    return ModelBasedStrategy(BitSpace(8), seed=0, n_initial=3, surrogate="gp", acquisition=NaNAcquisition(),
                              optimizer="mutation")


# -- R1: the all-NaN warning is for a run, not for a replay --------------------------------------------------------
def test_loading_a_study_whose_asks_were_all_nan_does_not_warn_and_its_next_run_warns_once(tmp_path):
    """Would fail: Study.load warned (raised, under warnings-as-errors) and used up the warning of the run after it."""
    storage = f"sqlite:///{tmp_path / 'n.db'}"
    with pytest.warns(UserWarning, match="scored every candidate NaN"):
        Study(BitSpace(8), _nan_model_based(), objectives="val_acc", seed=0, storage=storage,
              name="n").optimize(_bits, n_trials=6, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        study = Study.load("n", storage, space=BitSpace(8), strategy=_nan_model_based())
    assert len(study.trials) == 6
    with pytest.warns(UserWarning, match="scored every candidate NaN") as caught:
        study.optimize(_bits, n_trials=3, progress=False)
    assert sum("scored every candidate NaN" in str(w.message) for w in caught) == 1


# -- R2: the factory remedy of Study.load(strategy=obj) is for a name that differs ---------------------------------
class Walk(Strategy):
    name = "fix54_regf_walk"  # its own name, which its registered factory's objects are recorded by

    def _propose(self):
        return self.space.sample(self.rng)


def make_walk(space, seed=None):
    """A registered factory (not a class) whose objects reload by its name."""
    return Walk(space, seed=seed)


def test_loading_a_factory_made_study_with_an_object_of_another_seed_says_to_pass_one_built_as_stored(tmp_path,
                                                                                                     monkeypatch):
    """Would fail: the message said to leave strategy= out as the object was recorded by its class's name, though
    only its seed differed and an object of the stored seed loads."""
    from nasforge.strategies import STRATEGIES

    monkeypatch.setattr(STRATEGIES, "_entries", dict(STRATEGIES._entries))
    monkeypatch.setattr(STRATEGIES, "_tags", dict(STRATEGIES._tags))
    STRATEGIES.register("fix54_regf_walk", make_walk)
    storage = f"sqlite:///{tmp_path / 'w.db'}"
    Study(BitSpace(8), "fix54_regf_walk", objectives="val_acc", seed=0, storage=storage, name="w").optimize(_bits, 2)
    with pytest.raises(UsageError, match=r"created with seed 0, not 1; pass a fresh strategy built as the stored "
                                         r"one \(or leave strategy= out"):
        Study.load("w", storage, space=BitSpace(8), strategy=make_walk(BitSpace(8), seed=1))
    assert len(Study.load("w", storage, space=BitSpace(8), strategy=make_walk(BitSpace(8), seed=0)).trials) == 2


# -- R3: the pruner's own-name check is where a pruner is recorded -------------------------------------------------
class CountingMedian(MedianPruner):  # inherits name = "median": a study would record it as the built-in
    calls = 0

    def should_prune(self, number, curves):
        CountingMedian.calls += 1
        return super().should_prune(number, curves)


def test_simulate_takes_a_pruner_subclass_that_inherits_its_name_and_optimize_refuses_it():
    """Would fail: simulate, which records no pruner and resumes nothing, refused it as a resume would rebuild
    another pruner."""
    from test_simulate import SPACE, Toy

    from nasforge.analysis.simulate import simulate
    from nasforge.strategies import get_strategy

    trace = simulate(get_strategy("random", SPACE, seed=0), Toy(), n_workers=2, max_evaluations=20,
                     pruner=CountingMedian())
    assert trace.n_evaluations == 20 and CountingMedian.calls > 0
    study = Study(BitSpace(8), "random", objectives="val_acc")
    with pytest.raises(UsageError, match=r"^pruner class CountingMedian has no name of its own"):
        study.optimize(_bits, n_trials=2, pruner=CountingMedian(), progress=False)


# -- R4: bench checks --strategies before the table, unless --space-module may register them -----------------------
@pytest.mark.parametrize("extra", [["--table", "/nonexistent/t.csv"], ["--workers-simulated", "4", "--secondary", "x"]])
def test_bench_names_an_unknown_strategy_first_without_a_space_module(extra, tmp_path, capsys):
    """Would fail: the table was read (or another option refused) before the typo in --strategies was named."""
    from nasforge.cli import main

    code = main(["bench", "--strategies", "rnadom", *extra, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "--strategies: unknown strategies ['rnadom'] (did you mean 'random'?)" in err


# -- R5: the NaN warning's flag is never part of a saved state -----------------------------------------------------
class OldTransient(ModelBasedStrategy):
    name = "fix54_regf_sub"
    transient = ("_model", "_surrogate_template")  # the base's tuple before the flag was added


def test_a_state_saved_before_the_nan_flag_loads_into_a_subclass_listing_the_old_transient():
    """Would fail: the subclass's state held the flag, so a state saved without it was refused ('no
    ['_warned_nan']')."""
    def made():
        return OldTransient(BitSpace(8), seed=0, n_initial=2, optimizer="mutation")

    strategy = made()
    for _ in range(3):
        arch = strategy.ask()
        strategy.tell(arch, float(sum(arch.genotype)))
    state = strategy.state_dict()
    assert "_warned_nan" not in state  # as a state saved before the flag existed
    loaded = made()
    loaded.load_state_dict(state)
    assert loaded.ask() == strategy.ask()
    made().load_state_dict({**state, "_warned_nan": True})  # one that held it loads too (not taken)
