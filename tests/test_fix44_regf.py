"""Ctrl-C while a run stops: every press raises KeyboardInterrupt, in the CLI and the Python API (a hold-off of
2026-12-06 ignored the later ones: storage waits ran to their end, an evaluator that caught one never saw another),
and the stop puts its trials back even when a second press cuts the workers' shutdown short."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from nasforge import Study
from nasforge.cli import main
from nasforge.experiment import TrialState
from nasforge.experiment import study as study_module
from nasforge.experiment.executors.inline import InlineExecutor
from nasforge.experiment.storage.base import StorageUnreachableError
from nasforge.spaces import get_space

from engine_evaluators import Toy


def _stored(tmp_path, total: int) -> str:
    """A study of one finished trial in an SQLite file, with ``total`` trials to reach at its resume."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="s", storage=url)
    study.optimize(Toy(), n_trials=1)
    study.set_run_config({**study.run_config, "n_trials_total": total})
    study.storage.close()
    return url


def _ctrl_c_in(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


class CatchesCtrlC:
    """A training loop that ends early at Ctrl-C and still reports a result (some training libraries do so)."""

    caught = 0

    def __call__(self, arch):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(2)
        except KeyboardInterrupt:
            CatchesCtrlC.caught += 1
        return {"acc": 0.5}


def make_catching(**kwargs):
    return CatchesCtrlC()


def interrupted(arch):
    os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C
    time.sleep(2)
    raise AssertionError("no KeyboardInterrupt")


def make_interrupted(**kwargs):
    return interrupted


def _unreachable(calls: list[float], blocks: float = 0.0):
    """A Study.release whose database server does not answer (each try blocks ``blocks`` s); its first try is
    followed by a Ctrl-C 0.3 s later."""
    def release(self, keep=()):
        calls.append(time.monotonic())
        if len(calls) == 1:
            _ctrl_c_in(0.3)
        time.sleep(blocks)
        raise StorageUnreachableError("server unreachable (simulated)")
    return release


def test_cli_every_ctrl_c_reaches_an_evaluator_that_catches_it(tmp_path, capsys):
    url = _stored(tmp_path, total=4)
    CatchesCtrlC.caught = 0
    started = time.monotonic()
    assert main(["resume", "s", "--storage", url, "--evaluator", f"{__name__}:make_catching", "--no-progress"]) == 0
    assert CatchesCtrlC.caught == 3 and time.monotonic() - started < 5  # ignored presses slept 2 s each
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_cli_a_second_ctrl_c_ends_the_waits_for_an_unreachable_database(tmp_path, capsys, monkeypatch):
    url = _stored(tmp_path, total=4)
    calls: list[float] = []
    monkeypatch.setattr(study_module.Study, "release", _unreachable(calls))
    capsys.readouterr()
    assert main(["resume", "s", "--storage", url, "--evaluator", f"{__name__}:make_interrupted",
                 "--no-progress"]) == 130
    assert len(calls) == 1 and time.monotonic() - calls[0] < 1  # not all 5 tries and 15 s of waits
    assert capsys.readouterr().err == "nasforge resume: interrupted\n"


def test_api_a_ctrl_c_during_a_storage_try_that_blocks_ends_the_stop(monkeypatch):
    calls: list[float] = []
    monkeypatch.setattr(study_module.Study, "release", _unreachable(calls, blocks=2.0))
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0)
    with pytest.raises(KeyboardInterrupt):
        study.optimize(interrupted, n_trials=2)
    assert len(calls) == 1 and time.monotonic() - calls[0] < 1.5  # it was ignored: 5 tries of 2 s + 15 s waits


def test_cli_a_ctrl_c_while_the_workers_shut_down_still_puts_the_trials_back(tmp_path, capsys, monkeypatch):
    def shutdown(self):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C again while the workers stop
        time.sleep(0.5)

    url = _stored(tmp_path, total=3)
    monkeypatch.setattr(InlineExecutor, "shutdown", shutdown)
    before = signal.getsignal(signal.SIGINT)
    capsys.readouterr()
    assert main(["resume", "s", "--storage", url, "--evaluator", f"{__name__}:make_interrupted",
                 "--no-progress"]) == 130
    err = capsys.readouterr().err
    assert err.startswith("nasforge resume: interrupted\n") and "Traceback" not in err
    study = Study.load("s", storage=url)
    assert [(t.state, t.attempts) for t in study.trials[1:]] == [(TrialState.WAITING, 1)]
    assert signal.getsignal(signal.SIGINT) is before  # called as a function: the caller's handler is back


def test_a_ctrl_c_during_the_workers_join_still_kills_every_workers_process_group(monkeypatch):
    """Would fail before: a KeyboardInterrupt in one worker's join skipped killing the other workers' groups, so
    processes their evaluators started could outlive the run."""
    from types import SimpleNamespace

    from nasforge.experiment.executors import process as process_module

    killed = []
    monkeypatch.setattr(process_module, "_kill_group", lambda p: killed.append(p.name))

    def joiner(name):
        def join(timeout=None):
            if name == "w0":
                raise KeyboardInterrupt
        return join

    executor = process_module.ProcessExecutor(2)
    executor._workers = [SimpleNamespace(task=1, conn=SimpleNamespace(close=lambda: None, send=lambda _: None),
                                         process=SimpleNamespace(name=n, join=joiner(n), is_alive=lambda: True))
                         for n in ("w0", "w1")]
    with pytest.raises(KeyboardInterrupt):
        executor.shutdown()
    assert killed == ["w0", "w1"] and executor._workers == []
