"""Watching a running study: the progress line's counts and ETA (fix55, dashboard)."""

from __future__ import annotations

import io
import warnings

import pytest

from nasforge import Study
from nasforge.experiment import StudyAborted, progress
from nasforge.experiment.progress import ProgressReporter
from nasforge.spaces import get_space

from engine_evaluators import Toy


def test_queued_trials_are_waiting_not_running_on_the_progress_line(capsys):
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0)
    study.optimize(Toy(), 6, max_pending=3, progress=True)  # one worker: one running, two queued behind it
    first = capsys.readouterr().err.splitlines()[0]
    assert "| running 1 | waiting 2 |" in first, first


def test_the_eta_does_not_count_queued_trials_as_under_way(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: now[0])
    out = io.StringIO()
    bar = ProgressReporter("q", total=20, stream=out, min_interval=0.0)  # 2 workers, 6 more queued, 60 s a trial
    bar.begin()
    bar.update(0, 0, 2, None, waiting=6)
    now[0] = 60.0
    bar.update(2, 0, 2, 1.0, waiting=6)
    line = out.getvalue().splitlines()[-1]
    assert "| running 2 | waiting 6 |" in line and line.endswith("eta 9m00s"), line  # 18 left, 2 at a time


def test_a_run_whose_strategy_runs_out_ends_its_progress_at_what_it_ran(capsys):
    space = get_space("chain", layers=[["a", "b"], ["c", "d", "e"]])  # 6 architectures
    study = Study(space, "random", objectives="acc", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(Toy(), 10, progress=True)
    last = capsys.readouterr().err.splitlines()[-1]
    assert "done 6/6 |" in last and last.endswith("eta 0m00s"), last  # not 6/10 with an ETA for 4 never run


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_dumb_terminal_gets_plain_lines_as_trials_finish(monkeypatch):
    monkeypatch.setenv("TERM", "dumb")  # Emacs' shell: rich draws no bar there until it stops
    out = _Terminal()
    bar = ProgressReporter("d", total=4, stream=out, min_interval=0.0)
    bar.update(1, 0, 2, 0.5)
    assert out.getvalue().startswith("[d] done 1/4 | failed 0 | pruned 0 | running 2 | best 0.5 |"), out.getvalue()
    bar.close()


def _failing(arch):
    raise RuntimeError("no such layer")


def test_an_aborted_run_says_why_it_stopped_in_place_of_an_eta(capsys):
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0)
    with warnings.catch_warnings(), pytest.raises(StudyAborted):
        warnings.simplefilter("ignore")
        study.optimize(_failing, 20, max_failure_rate=0.5, min_trials_for_failure_rate=2, progress=True)
    last = capsys.readouterr().err.splitlines()[-1]
    assert "done 2/20 | failed 2 |" in last and last.endswith("| stopped: too many failed trials"), last
