"""Review 51 (engine) fixes: an evaluator's BaseException that is no Exception (asyncio.CancelledError, a library's
own) fails its trial in the inline executor too, instead of aborting the run with a traceback and leaving the trial
WAITING for every resume."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from nasforge import Study
from nasforge.cli import main
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
