"""max_failure_rate (review 46): the failed share is checked after every finished trial, not only after a failure,
so a run whose early failures exceed the limit by the minimum number of trials aborts there."""

from __future__ import annotations

import itertools

import pytest

from nasforge import Study
from nasforge.exceptions import StudyAborted


def test_a_run_over_the_failure_limit_at_the_minimum_aborts_though_the_next_trials_complete():
    """Would fail: 4 failures then completions (80 % failed at 5 trials, limit 50 %) ran to the end."""
    count = itertools.count()

    def evaluate(arch):
        if next(count) < 4:
            raise ValueError("setup not ready")
        return 1.0

    study = Study("nb201", "random", objectives="val_acc", seed=0)
    with pytest.raises(StudyAborted, match="4 of 5 trials failed .*last error: ValueError: setup not ready"):
        study.optimize(evaluate, n_trials=8, max_failure_rate=0.5, progress=False)
    assert [t.state.name for t in study.trials] == ["FAILED"] * 4 + ["COMPLETE"]


def test_a_run_under_the_limit_is_not_aborted():
    count = itertools.count()

    def evaluate(arch):
        if next(count) % 8 == 0:
            raise ValueError("flaky")
        return 1.0

    study = Study("nb201", "random", objectives="val_acc", seed=0)
    study.optimize(evaluate, n_trials=8, max_failure_rate=0.3, progress=False)
    assert len(study.trials) == 8


CRASHING_RUN = """
import os, sys
from nasforge import Study
study = Study("nb201", "random", objectives="val_acc", seed=0, name="c", storage=sys.argv[1])
study.optimize(lambda arch: os._exit(0), n_trials=4, progress=False)
"""


def test_a_trial_failed_for_its_process_dying_counts_towards_the_abort(tmp_path):
    """Would fail (regression review): a trial FAILED because its process died more than max_crash_reruns times
    counted as failed but never triggered the check, so the run went on."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'c.db'}"
    subprocess.run([sys.executable, "-c", CRASHING_RUN, url], check=True)
    study = Study.load("c", url)
    with pytest.raises(StudyAborted, match="1 of 1 trials failed .*process died 1 time"):
        study.optimize(lambda arch: 1.0, n_trials=3, max_crash_reruns=0, max_failure_rate=0.5,
                       min_trials_for_failure_rate=1, progress=False)
