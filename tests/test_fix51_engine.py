"""Review 51 (engine) fixes: an evaluator's BaseException that is no Exception (asyncio.CancelledError, a library's
own) fails its trial in the inline executor too, instead of aborting the run with a traceback and leaving the trial
WAITING for every resume; a Result's ``user_attrs`` with two keys of one dict that JSON writes alike fail the trial
as an invalid result, instead of losing a value (other keys are stored as JSON writes them, as before)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from nasforge import Study
from nasforge.cli import main
from nasforge.evaluators import Result
from nasforge.exceptions import UsageError
from nasforge.experiment import TrialState
from nasforge.spaces import get_space

from engine_evaluators import Toy

pytestmark = pytest.mark.filterwarnings("ignore::nasforge.exceptions.TrialFailedWarning",
                                        "ignore::nasforge.exceptions.AllTrialsFailedWarning")


class LibraryTimeout(BaseException):
    """A library's own exception outside Exception (as ``gevent.Timeout``)."""


def cancelled(arch):
    """An evaluator using asyncio whose data-loader task was cancelled."""
    async def train():
        raise asyncio.CancelledError("data loader task cancelled")
    return asyncio.run(train())


def make_cancelled(**kwargs):
    return cancelled


def _raising(exc: BaseException):
    def evaluate(arch):
        raise exc
    return evaluate


# -- 1: a BaseException of the evaluator in the inline executor ------------------------------------------------------
@pytest.mark.parametrize("exc, error", [
    (LibraryTimeout("slow"), "LibraryTimeout: slow"),
    (asyncio.CancelledError("stop"), "CancelledError: stop"),
    (GeneratorExit(), "GeneratorExit: (no message)")])
def test_an_inline_evaluator_raising_a_base_exception_fails_its_trial_and_the_run_goes_on(exc, error):
    """Would fail: the exception left ``optimize`` and its trial went back to WAITING."""
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0)
    study.optimize(_raising(exc), n_trials=2, progress=False)
    assert [(t.state, t.error) for t in study.trials] == [(TrialState.FAILED, error)] * 2
    assert "raise exc" in study.trials[0].user_attrs["traceback"]


def test_an_inline_base_exception_still_propagates_with_catch_false():
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0)
    with pytest.raises(LibraryTimeout):
        study.optimize(_raising(LibraryTimeout()), n_trials=1, catch=False, progress=False)


def test_cli_resume_with_an_evaluator_cancelled_by_asyncio_fails_the_trial(tmp_path, capsys):
    """Would fail: a traceback, exit 1, and the enqueued trial WAITING again for every later resume."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="s", storage=url)
    study.optimize(Toy(), n_trials=2, progress=False)
    study.enqueue(study.space.sample(np.random.default_rng(1)))
    study.storage.close()
    assert main(["resume", "s", "--storage", url, "--evaluator", f"{__name__}:make_cancelled", "--no-progress"]) == 0
    assert "Traceback" not in capsys.readouterr().err
    last = Study.load("s", storage=url).trials[-1]
    assert (last.state, last.error) == (TrialState.FAILED, "CancelledError: data loader task cancelled")


# -- 2: user_attrs keys that JSON writes alike -------------------------------------------------------------------
@pytest.mark.parametrize("attrs, clash", [
    ({"per_class": {0: 0.9, "0": 0.1}}, "keys 0 and '0', which JSON stores as one ('0')"),
    ({"flags": [{True: 5, "true": 6}]}, "keys True and 'true', which JSON stores as one ('true')")])
def test_a_result_whose_user_attrs_keys_collide_in_json_fails_its_trial(attrs, clash):
    """Would fail: the trial was COMPLETE with one of the two values (``{'per_class': {'0': 0.1}}``: 0.9 lost)."""
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0)
    study.optimize(lambda arch: Result(metrics={"acc": 1.0}, user_attrs=attrs), n_trials=1, progress=False)
    trial = study.trials[0]
    assert trial.state == TrialState.FAILED and trial.user_attrs  # the rest kept (e.g. a saved model's folder)
    assert trial.error == f"invalid result: user_attrs has {clash}: one value would be lost"


@pytest.mark.parametrize("status, state", [("failed", TrialState.FAILED), ("pruned", TrialState.PRUNED)])
def test_a_failed_or_pruned_result_with_colliding_keys_keeps_its_own_outcome(status, state):
    """Review regression f: an evaluator's own failure ('boom') became 'invalid result: ... keys 0 and '0'' and lost
    its user_attrs; a pruned result became FAILED."""
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0)
    outcome = Result(status=status, error="boom", user_attrs={"per_class": {0: 0.9, "0": 0.1}, "dir": "runs/1"})
    study.optimize(lambda arch: outcome, n_trials=1, progress=False)
    trial = study.trials[0]
    assert (trial.state, trial.error) == (state, "boom")
    assert trial.user_attrs == {"per_class": {"0": 0.1}, "dir": "runs/1"}


def test_a_result_with_int_keys_is_stored_as_json_writes_them_as_before(tmp_path):
    """An evaluator returning per-class dicts keyed by class number keeps working (review regression d)."""
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0, storage=f"sqlite:///{tmp_path / 't.db'}")
    study.optimize(lambda arch: Result(metrics={"acc": 1.0}, user_attrs={"per_class": {0: 0.9, 1: 0.8}}), 1,
                   progress=False)
    assert study.trials[0].state == TrialState.COMPLETE
    assert study.trials[0].user_attrs["per_class"] == {"0": 0.9, "1": 0.8}
    trial = study.ask()
    study.tell(trial, Result(metrics={"acc": 1.0}, user_attrs={"n": {5: 1}}))
    assert study.trials[1].user_attrs == {"n": {"5": 1}}
    with pytest.raises(UsageError, match=r"^user attribute 'n' must have string keys \(JSON stores the key 5 as '5'\)"):
        study.set_trial_user_attr(study.trials[0], "n", {5: 1})


# -- review regression d: Ctrl-C inside a task group; a pruner's BaseException -------------------------------------
def test_ctrl_c_inside_an_exception_group_still_interrupts_the_run():
    """Would fail: trio's nursery wraps Ctrl-C in a BaseExceptionGroup, which failed the trial and went on."""
    def evaluate(arch):
        raise BaseExceptionGroup("nursery", [ValueError("x"), BaseExceptionGroup("inner", [KeyboardInterrupt()])])

    study = Study(get_space("nb201"), "random", objectives="acc", seed=0)
    with pytest.raises(KeyboardInterrupt):
        study.optimize(evaluate, n_trials=3, progress=False)
    assert [t.state for t in study.trials] == [TrialState.WAITING]


def test_a_pruner_raising_a_base_exception_stops_the_run_naming_the_pruner():
    """Would fail: inline, the pruner's error reached the evaluator's catch and failed every trial."""
    from test_fix42_api import Bits, Curvy, Raises

    class Stop(BaseException):
        pass

    class Stops(Raises):
        name = "fix51_stops"

        def should_prune(self, number, curves):
            raise Stop("no more")

    study = Study(Bits(), "random", seed=0)
    with pytest.raises(UsageError, match="pruner 'fix51_stops': should_prune raised Stop: no more"):
        study.optimize(Curvy(), n_trials=4, pruner=Stops())
    assert "FAILED" not in [t.state.value for t in study.trials]
