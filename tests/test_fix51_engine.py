"""Review 51 (engine) fixes: an evaluator's BaseException that is no Exception (asyncio.CancelledError, a library's
own) fails its trial in the inline executor too, instead of aborting the run with a traceback and leaving the trial
WAITING for every resume; a Result's ``user_attrs`` with keys that are no strings fail the trial as an invalid
result, instead of being stored as text (colliding keys lost a value)."""

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


# -- 2: user_attrs keys that are no strings ----------------------------------------------------------------------
@pytest.mark.parametrize("attrs, key", [
    ({"per_class": {0: 0.9, "0": 0.1}}, "the key 0 as '0'): got int 0"),
    ({"flags": [{True: 5}]}, "the key True as 'true'): got bool True"),
    ({5: 1}, "the key 5 as '5'): got int 5")])
def test_a_result_with_user_attrs_keys_that_are_no_strings_fails_its_trial(attrs, key):
    """Would fail: the trial was COMPLETE with the keys as text (``{'per_class': {'0': 0.1}}``: 0.9 lost)."""
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0)
    study.optimize(lambda arch: Result(metrics={"acc": 1.0}, user_attrs=attrs), n_trials=1, progress=False)
    trial = study.trials[0]
    assert trial.state == TrialState.FAILED and trial.user_attrs == {}
    assert trial.error == f"invalid result: user_attrs must have string keys (JSON stores {key}"


def test_tell_of_a_result_with_an_int_key_fails_the_trial_as_set_trial_user_attr_refuses_it(tmp_path):
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0, storage=f"sqlite:///{tmp_path / 't.db'}")
    trial = study.ask()
    with pytest.warns(RuntimeWarning, match="user_attrs must have string keys"):
        study.tell(trial, Result(metrics={"acc": 1.0}, user_attrs={"n": {5: 1}}))
    assert study.trials[0].state == TrialState.FAILED
    with pytest.raises(UsageError, match=r"^user attribute 'n' must have string keys \(JSON stores the key 5 as '5'\)"):
        study.set_trial_user_attr(study.trials[0], "n", {5: 1})
