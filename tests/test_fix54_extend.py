"""Review 54 (extend) fixes: a user's own pruner, strategy and acquisition optimizer are recorded and blamed as
themselves, not as nasforge's built-ins."""

from __future__ import annotations

import numpy as np
import pytest
from bit_spaces import BitSpace, Curve

from nasforge import Architecture, Strategy, Study
from nasforge.exceptions import UsageError
from nasforge.experiment.pruners import PRUNERS, MedianPruner, Pruner
from nasforge.experiment.storage import get_storage
from nasforge.strategies.model_based import ModelBasedStrategy
from nasforge.strategies.model_based.acquisitions import Acquisition
from nasforge.strategies.model_based.optimizers import AcquisitionOptimizer
from nasforge.strategies.model_based.surrogates import Surrogate


# -- 1: a pruner recorded under a built-in's name ------------------------------------------------------------------
class AlwaysMedian(MedianPruner):  # inherits name = "median"
    def should_prune(self, number, curves):
        return True


class NamedMedian(Pruner):  # another class taking the built-in's name
    name = "median"

    def __init__(self, n_startup_trials=5):
        self.n_startup_trials = n_startup_trials

    def should_prune(self, number, curves):
        return True

    def config(self):
        return {"n_startup_trials": self.n_startup_trials}


@pytest.mark.parametrize("pruner, message", [
    (AlwaysMedian(n_startup_trials=1), r"^pruner class AlwaysMedian has no name of its own \(it would be recorded as "
                                       r"'median', so a resume would rebuild another pruner\)"),
    (NamedMedian(), r"^pruner class NamedMedian is named 'median', the name of pruner class MedianPruner \(a resume "
                    r"would rebuild a MedianPruner\)")])
def test_a_pruner_a_resume_would_rebuild_as_a_built_in_is_refused_before_any_trial(pruner, message, tmp_path):
    """Would fail: recorded as {'name': 'median', ...}, and a resume quietly pruned by nasforge's MedianPruner."""
    study = Study(BitSpace(8), "random", objectives="val_acc", storage=f"sqlite:///{tmp_path / 'p.db'}", name="p")
    with pytest.raises(UsageError, match=message):
        study.optimize(Curve(), n_trials=3, pruner=pruner, progress=False)
    assert study.trials == []


def test_a_built_in_pruner_and_a_class_registered_under_its_name_run(monkeypatch):
    study = Study(BitSpace(8), "random", objectives="val_acc")
    study.optimize(Curve(), n_trials=2, pruner=MedianPruner(), progress=False)
    monkeypatch.setattr(PRUNERS, "_entries", dict(PRUNERS._entries))
    monkeypatch.setattr(PRUNERS, "_tags", dict(PRUNERS._tags))
    PRUNERS.register("median", AlwaysMedian, replace=True)  # the user's own, by its inherited name
    study.optimize(Curve(), n_trials=2, pruner=AlwaysMedian(n_startup_trials=1), progress=False)
    assert len(study.trials) == 4


# -- 2: a strategy class whose own name is a built-in's ------------------------------------------------------------
class Ones(Strategy):
    name = "random"  # its own, not registered: the name of nasforge's RandomSearch

    def _propose(self):
        return self.space.sample(self.rng)


def _bits(arch):
    return {"val_acc": float(sum(arch.genotype))}


@pytest.mark.parametrize("stored", [False, True])
def test_a_strategy_named_as_another_registered_class_is_refused_when_a_study_is_created(stored, tmp_path):
    """Would fail: recorded as 'random', and Study.load rebuilt a RandomSearch."""
    storage = f"sqlite:///{tmp_path / 's.db'}" if stored else None
    with pytest.raises(UsageError, match=r"^strategy class Ones is named 'random', the name of strategy class "
                                         r"RandomSearch \(so Study.load would rebuild a RandomSearch\): set another "
                                         r"name = '...' in the class, or register it"):
        Study(BitSpace(8), Ones(BitSpace(8), seed=0), objectives="val_acc", storage=storage, name="s")
    if stored:
        assert get_storage(storage).list_studies() == []  # nothing stored


def test_a_stored_study_recorded_by_that_name_is_continued_as_before(tmp_path):
    """Only a new study is refused: one stored under the name continues with the object as it did."""
    storage = f"sqlite:///{tmp_path / 's.db'}"
    Study(BitSpace(8), "random", objectives="val_acc", seed=0, storage=storage, name="s").optimize(_bits, 2)
    study = Study(BitSpace(8), Ones(BitSpace(8), seed=0), objectives="val_acc", storage=storage, name="s",
                  load_if_exists=True)
    assert len(study.trials) == 2
    assert type(Study.load("s", storage, strategy=Ones(BitSpace(8), seed=0),
                           space=BitSpace(8)).strategy) is Ones


# -- 3: an acquisition scoring every candidate NaN -----------------------------------------------------------------
class NaNAcquisition(Acquisition):
    name = "fix54_nan"

    def __call__(self, surrogate, archs, best, rng, pending=()):
        return np.full(len(archs), np.nan)


class LeastSquares(Surrogate):
    name = "fix54_lsq"

    def fit(self, archs, y, seed):
        x = np.array([self.space.encode_onehot(a) for a in archs])
        self.w = np.linalg.lstsq(np.c_[x, np.ones(len(x))], y, rcond=None)[0]
        return self

    def predict(self, archs, pending=()):
        x = np.array([self.space.encode_onehot(a) for a in archs]).reshape(len(archs), -1)
        return np.c_[x, np.ones(len(x))] @ self.w, np.ones(len(archs))


def _model_based(**parts):
    space = BitSpace(8)
    return ModelBasedStrategy(space, seed=0, n_initial=3, **{"surrogate": LeastSquares(space), "acquisition": "ucb",
                                                             "optimizer": "mutation", **parts})


def test_an_acquisition_scoring_every_candidate_nan_is_warned_once_and_proposes_as_before():
    """Would fail: no warning, and the search quietly turned random (NaN is taken: old studies must replay)."""
    study = Study(BitSpace(8), _model_based(acquisition=NaNAcquisition()), objectives="val_acc")
    with pytest.warns(UserWarning, match=r"acquisition NaNAcquisition scored every candidate NaN .*as a random "
                                         r"search would") as caught:
        study.optimize(_bits, n_trials=7, progress=False)
    assert sum("scored every candidate NaN" in str(w.message) for w in caught) == 1  # once, not per ask
    assert len(study.trials) == 7


# -- 4: a bad architecture from the user's acquisition optimizer ---------------------------------------------------
class BadOptimizer(AcquisitionOptimizer):
    name = "fix54_bad"

    def propose(self, score, ctx, k=8):
        return [Architecture(ctx.space.name, (9,) * ctx.space.n)]


class PoolOptimizer(AcquisitionOptimizer):
    name = "fix54_pool"

    def propose(self, score, ctx, k=8):
        pool = [ctx.space.sample(ctx.rng) for _ in range(16)]
        order = np.argsort(-score(pool), kind="stable")
        return [pool[i] for i in order[:k]]


def test_a_bad_architecture_from_a_users_optimizer_is_blamed_on_the_optimizer():
    """Would fail: blamed on BitSpace's own methods (or on a _propose the user never wrote)."""
    study = Study(BitSpace(8), _model_based(optimizer=BadOptimizer()), objectives="val_acc")
    with pytest.raises(UsageError, match=r"^model_based: acquisition optimizer BadOptimizer proposed what is no "
                                         r"architecture of space 'bits': not a 8-bit architecture"):
        study.optimize(_bits, n_trials=6, progress=False)
    assert len(study.trials) == 3  # the random initial ones; nothing of the optimizer's was stored


def test_a_users_optimizer_proposing_architectures_runs():
    study = Study(BitSpace(8), _model_based(optimizer=PoolOptimizer()), objectives="val_acc")
    study.optimize(_bits, n_trials=6, progress=False)
    assert len(study.trials) == 6


# -- 6: Study.load(strategy=obj) of a study made by a registered factory -------------------------------------------
def make_mb(space, seed=None, beta=2.0):
    """A registered factory (not a class) returning a ModelBasedStrategy."""
    return ModelBasedStrategy(space, seed=seed, n_initial=3, surrogate=LeastSquares(space),
                              acquisition={"name": "ucb", "beta": beta}, optimizer="mutation")


def test_loading_a_factory_made_study_with_an_object_says_to_load_it_by_name(tmp_path, monkeypatch):
    """Would fail: the message said to pass a fresh strategy built as the stored one, which no object passes."""
    from nasforge.strategies import STRATEGIES

    monkeypatch.setattr(STRATEGIES, "_entries", dict(STRATEGIES._entries))
    monkeypatch.setattr(STRATEGIES, "_tags", dict(STRATEGIES._tags))
    STRATEGIES.register("fix54_mb", make_mb)
    storage = f"sqlite:///{tmp_path / 'f.db'}"
    Study(BitSpace(8), "fix54_mb", objectives="val_acc", seed=2, storage=storage, name="m").optimize(_bits, 2)
    with pytest.raises(UsageError, match=r"created with strategy 'fix54_mb', not 'model_based'.*; a study made by "
                                         r"the registered factory 'fix54_mb' reloads by that name: leave strategy= "
                                         r"out"):
        Study.load("m", storage, space=BitSpace(8), strategy=make_mb(BitSpace(8), seed=2))
    assert len(Study.load("m", storage, space=BitSpace(8)).trials) == 2


# -- 7: bench --strategies naming a strategy the --space-module file registers -------------------------------------
def test_bench_finds_the_strategies_its_space_module_registers(tmp_path, capsys, monkeypatch):
    """Would fail: '--strategies: unknown strategies ['fix54_walk']', checked before the file was imported."""
    from nasforge.cli import main
    from nasforge.spaces import SPACES
    from nasforge.strategies import STRATEGIES

    for registry in (STRATEGIES, SPACES):
        monkeypatch.setattr(registry, "_entries", dict(registry._entries))
        monkeypatch.setattr(registry, "_tags", dict(registry._tags))
    (tmp_path / "fix54_mine.py").write_text(
        "from bit_spaces import BitSpace\nfrom nasforge import Strategy\nfrom nasforge.strategies import STRATEGIES\n"
        "\n\nclass Walk(Strategy):\n    name = 'fix54_walk'\n\n    def _propose(self):\n"
        "        return self.space.sample(self.rng)\n\n\nSTRATEGIES.register('fix54_walk', Walk)\n")
    (tmp_path / "bits.json").write_text('{"n": 4}')
    rows = "".join(f"{i:04b},{i / 16}\n" for i in range(16))
    (tmp_path / "t.csv").write_text(f"arch,acc\n{rows}")
    table = ["--table", str(tmp_path / "t.csv"), "--space-module", f"{tmp_path / 'fix54_mine.py'}:BitSpace",
             "--space-config", str(tmp_path / "bits.json"), "--objective", "acc"]
    code = main(["bench", *table, "--strategies", "fix54_walk,fix54_walk", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err  # known: the next check (a name given twice) speaks
    assert code == 2 and "--strategies: fix54_walk given more than once" in err
    code = main(["bench", *table, "--strategies", "fix54_wlk", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "--strategies: unknown strategies ['fix54_wlk'] (did you mean 'fix54_walk'?)" in err
    assert not (tmp_path / "o").exists()
