"""Review 51 (extend) fixes: a user's own surrogate, acquisition, space, strategy and pruner that break their
contract are refused with one clear error naming them."""

from __future__ import annotations

import numpy as np
import pytest
from bit_spaces import BitSpace, Curve

from nasforge import Architecture, Study
from nasforge.exceptions import UsageError
from nasforge.experiment.pruners import Pruner
from nasforge.strategies.model_based import ModelBasedStrategy
from nasforge.strategies.model_based.acquisitions import Acquisition
from nasforge.strategies.model_based.surrogates import Surrogate


def _ones(arch):
    return {"val_acc": sum(arch.genotype) + 0.5 * arch.genotype[0]}


class MeanSur(Surrogate):
    """A least-squares surrogate, written as docs/strategies.md describes one."""

    name = "meansur_fix51"

    def fit(self, archs, y, seed):
        x = np.array([self.space.encode_onehot(a) for a in archs])
        self.w = np.linalg.lstsq(np.c_[x, np.ones(len(x))], y, rcond=None)[0]
        self.sd = float(np.std(y)) + 1e-6
        return self

    def predict(self, archs, pending=()):
        x = np.array([self.space.encode_onehot(a) for a in archs]).reshape(len(archs), -1)
        return np.c_[x, np.ones(len(x))] @ self.w, np.full(len(archs), self.sd)


def _optimize(surrogate=None, acquisition="ei", n_trials=8):
    space = BitSpace(8)
    strategy = ModelBasedStrategy(space, seed=0, surrogate=surrogate or MeanSur(space), acquisition=acquisition,
                                  optimizer="mutation", n_initial=3)
    study = Study(space, strategy, objectives="val_acc")
    study.optimize(_ones, n_trials=n_trials, progress=False)
    return study


# -- 6: a surrogate whose fit does not return self ------------------------------------------------------------------
class NoReturnFit(MeanSur):
    def fit(self, archs, y, seed):
        super().fit(archs, y, seed)  # forgets `return self`


def test_a_fit_that_returns_none_is_refused_naming_the_surrogate():
    """Would fail: AttributeError: 'NoneType' object has no attribute 'supports_pending'."""
    with pytest.raises(UsageError, match=r"surrogate NoReturnFit: fit returned NoneType, not the fitted surrogate "
                                         r"\(end fit with 'return self'\)"):
        _optimize(NoReturnFit(BitSpace(8)))


def test_a_surrogate_keeping_its_contract_runs():
    assert len(_optimize().trials) == 8


# -- 1: a surrogate or acquisition giving the wrong number of values, or NaN -------------------------------------
class ShortPredict(MeanSur):
    def predict(self, archs, pending=()):
        mean, std = super().predict(archs, pending)
        return mean[:1], std[:1]


class OnePredict(MeanSur):
    def predict(self, archs, pending=()):
        return super().predict(archs, pending)[0]  # the mean alone, not (mean, std)


class ShortAcquisition(Acquisition):
    def __call__(self, surrogate, archs, best, rng, pending=()):
        return np.zeros(1)


@pytest.mark.parametrize("surrogate, message", [
    (ShortPredict, r"surrogate ShortPredict: predict's mean: shape \(1,\) for (\d+) architectures, expected \(\1,\)"),
    (OnePredict, r"surrogate OnePredict: predict must return a pair \(mean, std\), got ndarray")])
def test_a_surrogate_predicting_other_than_one_value_per_architecture_is_refused(surrogate, message):
    """Would fail: the run completed as random search (ShortPredict) or unpacked the mean wrongly. (NaN passes: a
    stored study whose model learnt from an old out-of-range score replays through NaN scores.)"""
    with pytest.raises(UsageError, match=message):
        _optimize(surrogate(BitSpace(8)))


@pytest.mark.parametrize("acquisition, message", [
    (ShortAcquisition, r"acquisition ShortAcquisition: the scores it returned: shape \(1,\) for \d+ architectures"),
])
def test_an_acquisition_scoring_other_than_one_value_per_candidate_is_refused(acquisition, message):
    """Would fail: the run completed, looking only at the first candidate."""
    with pytest.raises(UsageError, match=message):
        _optimize(acquisition=acquisition())


class ScalarStd(MeanSur):
    def predict(self, archs, pending=()):
        return super().predict(archs)[0], self.sd  # one std for all: numpy broadcasts it


class CountingPredict(MeanSur):
    calls = 0

    def predict(self, archs, pending=()):
        type(self).calls += 1
        return super().predict(archs)


def test_a_scalar_std_still_runs_and_predict_is_not_called_beyond_the_acquisitions():
    """Review regression k: a single-number std was refused, and an extra predict after each fit drew from a user
    surrogate's own random state (stored studies replayed otherwise)."""
    assert len(_optimize(ScalarStd(BitSpace(8))).trials) == 8
    _optimize(CountingPredict(BitSpace(8)), acquisition="mean")
    assert CountingPredict.calls == 5  # one per model-based ask (8 trials, 3 initial)


# -- 2: a genotype holding NumPy scalars -------------------------------------------------------------------------
class NumpySample(BitSpace):
    """``tuple(rng.integers(0, 2, n))``, the obvious way to write ``sample``: NumPy integers."""

    def sample(self, rng):
        return Architecture(self.name, tuple(rng.integers(0, 2, self.n)))


@pytest.mark.parametrize("storage", ["memory", "sqlite"])
def test_a_genotype_of_numpy_integers_is_refused_naming_the_space_whatever_the_storage(storage, tmp_path):
    """Would fail: memory storage ran and stored np.int64 genotypes; SQLite failed with a raw TypeError (json)."""
    url = "memory" if storage == "memory" else f"sqlite:///{tmp_path / 'np.db'}"
    study = Study(NumpySample(8), "random", objectives="val_acc", storage=url, name="np")
    with pytest.raises(UsageError, match=r"strategy 'random' \(RandomSearch\) proposed what is no architecture of "
                                         r"space 'bits': its genotype holds int64 .*stored as JSON.*one of "
                                         r"NumpySample's returned it"):
        study.optimize(_ones, n_trials=3, progress=False)
    assert study.trials == []


def test_an_enqueued_genotype_of_numpy_integers_is_refused():
    study = Study(BitSpace(4), "random", objectives="val_acc")
    with pytest.raises(UsageError, match=r"enqueue: its genotype holds int64"):
        study.enqueue(Architecture("bits", tuple(np.int64(b) for b in (0, 1, 1, 0))))
    study.enqueue(Architecture("bits", (0, 1, 1, 0)))
    assert len(study.trials) == 1


# -- 4: register_space under a name other than the class's ------------------------------------------------------
class OtherBits(BitSpace):
    name = "fix51_otherbits"


def test_register_space_refuses_a_class_named_otherwise():
    """Would fail: accepted, and a stored study of it could not be loaded ('unknown search space')."""
    from nasforge.spaces import SPACES, register_space

    with pytest.raises(UsageError, match=r"register_space\('fix51_bits2', OtherBits\): its spaces are named "
                                         r"'fix51_otherbits' .* register_space\('fix51_otherbits', OtherBits\)"):
        register_space("fix51_bits2", OtherBits)
    assert "fix51_bits2" not in SPACES


# -- 5: a pruner whose config() is not its constructor's arguments as JSON ---------------------------------------
class HalfPruner(Pruner):
    name = "fix51_half"

    def __init__(self, below=0.5):
        self.below = below

    def should_prune(self, number, curves):
        return bool(curves[number][-1][1] < self.below)

    def config(self):
        return {"below": self.below}


class NoneConfig(HalfPruner):
    name = "fix51_noneconfig"

    def config(self):
        return None


class ObjectConfig(HalfPruner):
    name = "fix51_objectconfig"

    def config(self):
        return {"below": object()}


class OtherConfig(HalfPruner):
    name = "fix51_otherconfig"

    def config(self):
        return {"threshold": self.below}


@pytest.mark.parametrize("pruner, message", [
    (NoneConfig, r"pruner 'fix51_noneconfig' \(NoneConfig\): config\(\) must return a dict of its constructor "
                 r"arguments as JSON values .*, got None"),
    (ObjectConfig, r"pruner 'fix51_objectconfig' \(ObjectConfig\): config\(\) must return a dict .*got \{'below': "
                   r"<object"),
    (OtherConfig, r"pruner 'fix51_otherconfig' \(OtherConfig\): config\(\) returns \{'threshold': 0.3\}, which its "
                  r"constructor does not take \(got an unexpected keyword argument 'threshold'\)")])
def test_a_pruner_config_that_cannot_rebuild_it_is_refused_before_any_trial(pruner, message, tmp_path, monkeypatch):
    """Would fail: a raw TypeError (None, object()), or (threshold) accepted and a later resume refused."""
    from nasforge.experiment.pruners import PRUNERS

    monkeypatch.setitem(PRUNERS._entries, pruner.name, pruner)  # registered: a resume rebuilds it from config()
    study = Study(BitSpace(8), "random", objectives="val_acc", storage=f"sqlite:///{tmp_path / 'p.db'}", name="p")
    with pytest.raises(UsageError, match=message):
        study.optimize(Curve(), n_trials=3, pruner=pruner(0.3), progress=False)
    assert study.trials == []


def test_an_unregistered_pruners_config_is_not_checked_against_its_constructor():
    """Review regression k: a pruner no registry rebuilds (a resume passes it again) was refused for a config() its
    constructor does not take, also when resuming a study stored before."""
    study = Study(BitSpace(8), "random", objectives="val_acc")
    study.optimize(Curve(), n_trials=3, pruner=OtherConfig(0.3), progress=False)
    assert len(study.trials) == 3


def test_a_pruner_whose_config_rebuilds_it_runs():
    study = Study(BitSpace(8), "random", objectives="val_acc")
    study.optimize(Curve(), n_trials=3, pruner=HalfPruner(0.3), progress=False)
    assert len(study.trials) == 3


# -- 8: a strategy built on the space with other options ----------------------------------------------------------
def test_a_space_options_mismatch_shows_the_options_that_differ():
    """Would fail: 'the strategy searches BitSpace(), the study BitSpace()': two identical reprs."""
    with pytest.raises(UsageError, match=r"the strategy searches BitSpace with options \{'n': 6\}, the study with "
                                         r"\{'n': 8\}: their options differ"):
        Study(BitSpace(8), ModelBasedStrategy(BitSpace(6), seed=0), objectives="val_acc")


# -- 7: Study.load given a strategy object set up otherwise than the study's ----------------------------------------
def test_a_diverged_replay_names_a_strategy_object_set_up_otherwise(tmp_path):
    """Would fail: the warning blamed several processes, nondeterminism or an older nasforge, not the object."""
    from nasforge.strategies.model_based.acquisitions import UpperConfidenceBound

    space, url = BitSpace(8), f"sqlite:///{tmp_path / 'i.db'}"

    def strategy(beta):
        return ModelBasedStrategy(space, seed=0, surrogate=MeanSur(space), acquisition=UpperConfidenceBound(beta),
                                  optimizer="mutation", n_initial=3)

    study = Study(space, strategy(0.0), objectives="val_acc", storage=url, name="i")
    study.optimize(_ones, n_trials=8, progress=False)
    assert study.record.strategy_config is None  # a surrogate object: its settings are not recorded
    with pytest.warns(RuntimeWarning, match=r"replay diverged from the stored trials \(the strategy object given "
                                            r"may differ from the one the study was made with"):
        Study.load("i", url, strategy=strategy(50.0), space=space)


# -- 3: nasforge resume of a study on the user's own space, and the hint status prints ---------------------------
TASK = '''from bit_spaces import BitSpace
from nasforge.spaces import register_space


class CliBits(BitSpace):
    name = "fix51_cli_bits"


register_space("fix51_cli_bits", CliBits)


def make_evaluator():
    return lambda arch: {"val_acc": float(sum(arch.genotype))}
'''


class CliBits(BitSpace):
    name = "fix51_cli_bits"  # what the task module registers; unregistered in this process until it is imported


@pytest.fixture()
def cli_bits_study(tmp_path, monkeypatch):
    """A stored study on the space fix51_task.py registers, made without registering it here, with trial 1
    waiting and trial 2 running in a process that is gone; the space is unregistered again afterwards."""
    import sys

    from nasforge.experiment import identity
    from nasforge.spaces import SPACES

    url = f"sqlite:///{tmp_path / 'b.db'}"
    study = Study(CliBits(4), "random", objectives="val_acc", storage=url, name="b")
    study.optimize(_ones, n_trials=1, progress=False)
    study.enqueue(Architecture("fix51_cli_bits", (1, 1, 0, 1)))  # work left for a resume
    study.ask()
    study.close()
    (tmp_path / "fix51_task.py").write_text(TASK)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(identity, "process_gone", lambda worker: True)
    yield url
    SPACES._entries.pop("fix51_cli_bits", None)
    sys.modules.pop("fix51_task", None)


def test_status_names_python_and_the_module_that_registers_the_space(cli_bits_study, capsys):
    """Would fail: status printed 'nasforge resume b --storage URL --evaluator package.module:callable or ...',
    whose first form exits 2 for a space nasforge does not know."""
    from nasforge.cli import main

    assert main(["status", "b", "--storage", cli_bits_study]) == 0
    assert (f"(its process is gone: Study.load('b', '{cli_bits_study}').resume(evaluator) in Python, where space "
            f"'fix51_cli_bits' is registered (or nasforge resume b --storage {cli_bits_study} --evaluator "
            "package.module:callable, if that module registers it) re-runs it)") in capsys.readouterr().out


def test_resume_imports_the_evaluator_module_before_loading_the_study(cli_bits_study, capsys):
    """Would fail: exit 2, 'searches the space 'fix51_cli_bits', which nasforge does not know', although the module
    --evaluator names registers it."""
    from nasforge.cli import main

    assert main(["resume", "b", "--storage", cli_bits_study, "--evaluator", "fix51_task:make_evaluator",
                 "--no-progress"]) == 0, capsys.readouterr().err
    waited = Study.load("b", cli_bits_study).trials[1]
    assert (waited.state.value, waited.metrics) == ("COMPLETE", {"val_acc": 3.0})  # by the module's evaluator


def test_resume_of_a_finished_study_does_not_import_the_evaluator_module(tmp_path, monkeypatch, capsys):
    """Review regression k: the --evaluator module was imported before the study was loaded, so a finished study
    with a module that cannot be imported here failed instead of saying there is nothing to resume."""
    from engine_evaluators import Toy

    from nasforge.cli import main
    from nasforge.spaces import get_space

    monkeypatch.chdir(tmp_path)
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="done", storage="sqlite:///d.db")
    study.optimize(Toy(), 2, evaluator_spec={"factory": "engine_evaluators:make_toy", "kwargs": {"sleep": 0.0}})
    capsys.readouterr()
    assert main(["resume", "done", "--storage", "sqlite:///d.db", "--evaluator", "not_here_fix51:make"]) == 0


def test_a_preset_subclass_keeping_a_registered_name_can_be_registered(monkeypatch):
    """Review regression k: a subclass of a built-in space keeping its name (NB201 with another canonical rule) was
    refused, with advice that itself failed (a built-in's name needs replace=True)."""
    from nasforge.spaces import SPACES, NASBench201Space, register_space

    class Functional(NASBench201Space):
        def __init__(self):
            super().__init__(canonical_rule="functional")

    monkeypatch.setitem(SPACES._entries, "nb201_functional_fix51", None)  # removed again after the test
    register_space("nb201_functional_fix51", Functional, replace=True)
    assert SPACES.get("nb201_functional_fix51") is Functional
