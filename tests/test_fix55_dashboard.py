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


def test_export_beside_an_unsaved_retrain_still_tells_a_failed_ones_error(tmp_path, capsys):
    """Regression of 7c9b2003: a retrain that completed without a saved network hid a failed retrain's error
    ('CUDA out of memory', which the resume may meet again), which the message before it gave."""
    from nasforge import Result
    from nasforge.cli import main
    from nasforge.pipelines.search import SearchConfig

    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = Study(get_space("nb201"), "random", objectives=["val_acc", "params"], seed=0, name="S", storage=url)
    config = SearchConfig(trials=2, workers=1, retrain=2, out=str(tmp_path), name="S",
                          objectives=["val_acc", "params"]).resolved().to_json()
    for key, value in {"pipeline": "search", "pipeline_config": config, "search_done": True}.items():
        study.set_user_attr(key, value)
    study.tell(study.ask(), Result(metrics={"val_acc": 1.0, "params": 2.0}))
    study.tell(study.ask(), Result(metrics={"val_acc": 0.5, "params": 1.0}))
    study.tell(study.ask(), Result(metrics={"val_acc": 1.0, "params": 2.0, "test_acc": 0.5},
                                   user_attrs={"stage": "retrain", "source_trial": 0}))  # search-size: no network
    study.tell(study.ask(), Result(status="failed", error="RuntimeError: CUDA out of memory",
                                   user_attrs={"stage": "retrain", "source_trial": 1}))
    study.storage.close()
    assert main(["export", str(tmp_path), "--format", "safetensors", "--out", str(tmp_path / "x.safetensors")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert ("its retrain trial 2 completed without a saved network (it recorded no network folder), and its 1 "
            "retrain trial(s) failed (trial 3: RuntimeError: CUDA out of memory); retrain them with: nasforge "
            "resume S --storage ") in err, err
