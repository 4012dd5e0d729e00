"""The Ray executor's start and stop (signals, resources, its own Ray instance) and its failure texts, on a local
Ray instance (skipped where Ray is not installed: pip install '.[ray]'), and the command line's SIGTERM under Ray."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import pytest

from nasforge import Result, Study
from nasforge.cli import engine as engine_cli, main
from nasforge.exceptions import UsageError
from nasforge.experiment.executors import get_executor
from nasforge.spaces import get_space

from engine_evaluators import Toy, toy_metrics

try:
    import ray
except ImportError:
    ray = None
needs_ray = pytest.mark.skipif(ray is None, reason="Ray is not installed (pip install 'nasforge[ray]')")
SPACE = get_space("nb201")
LOCAL = {"num_cpus": 2, "num_gpus": 0}


class Interrupting:
    """Raises a KeyboardInterrupt of its own."""

    def evaluate(self, arch, fidelity=None):
        raise KeyboardInterrupt("from evaluator")


class Locking:
    """Returns a metric that cannot be pickled."""

    def evaluate(self, arch, fidelity=None):
        return Result(metrics={**toy_metrics(arch), "lock": threading.Lock()})


def _handler(signum, frame):  # a SIGTERM handler set before the run, as the command line sets its own
    raise KeyboardInterrupt


@needs_ray
@pytest.mark.slow  # starts Ray
def test_own_ray_keeps_sigterm_handler_counts_cpus_and_is_reused_only_with_the_same_settings(monkeypatch):
    previous = signal.signal(signal.SIGTERM, _handler)
    try:
        pool = get_executor("ray", n_workers=4, init_kwargs=LOCAL)
        pool.start(Toy(), lambda *_: False)
        try:
            assert signal.getsignal(signal.SIGTERM) is _handler  # ray.init replaced it with sys.exit
            assert pool.free_slots() == 2  # 2 CPUs, 1 per trial: not the 4 workers asked for
        finally:
            pool.shutdown()
        assert signal.getsignal(signal.SIGTERM) is _handler
        node = ray.get_runtime_context().get_node_id()  # left up for the next run with the same settings
        again = get_executor("ray", n_workers=1, init_kwargs=LOCAL)
        again.start(Toy(), lambda *_: False)
        again.shutdown()
        assert ray.get_runtime_context().get_node_id() == node  # reused, not started again
        other = get_executor("ray", n_workers=1, init_kwargs={**LOCAL, "num_cpus": 1})
        other.start(Toy(), lambda *_: False)
        try:
            assert ray.get_runtime_context().get_node_id() != node and other.free_slots() == 1  # its own settings
        finally:
            other.shutdown()
    finally:
        ray.shutdown()
        signal.signal(signal.SIGTERM, previous)


@needs_ray
@pytest.mark.slow  # starts Ray twice
@pytest.mark.parametrize("option", [{"cpus_per_trial": 4}, {"gpus_per_trial": 1}])
def test_resources_no_node_has_are_refused_before_any_trial(option):
    study = Study(SPACE, "random", objectives="acc", seed=0)
    with pytest.raises(UsageError, match=f"executor option {next(iter(option))}="):
        study.optimize(Toy(), 2, n_workers=2, executor="ray", executor_options={**option, "init_kwargs": LOCAL})
    assert study.trials == []
    assert not ray.is_initialized()


@pytest.fixture
def user_ray():
    path = os.pathsep.join(p for p in sys.path if p)  # the tasks unpickle this file's evaluators
    ray.init(include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": path}}, **LOCAL)
    yield
    ray.shutdown()


@needs_ray
@pytest.mark.slow  # starts Ray
def test_running_ray_is_used_as_it_is_and_failures_read_as_in_worker_processes(user_ray):
    study = Study(SPACE, "random", objectives="acc", seed=0)
    with pytest.raises(UsageError, match="Ray is already initialised .* executor option address and init_kwargs"):
        study.optimize(Toy(), 1, executor="ray", executor_options={"address": "ray://10.0.0.99:10001",
                                                                    "init_kwargs": {"num_cpus": 1}})
    for evaluator, error in ((Interrupting(), "KeyboardInterrupt: from evaluator"),
                             (Locking(), "invalid result: metric 'lock' is <unlocked _thread.lock")):
        study = Study(SPACE, "random", objectives="acc", seed=0)
        study.optimize(evaluator, 1, executor="ray")
        assert study.trials[0].error.startswith(error)
    assert ray.is_initialized()  # the user's Ray is left running


def test_sigterm_that_a_library_re_raised_as_plain_interrupt_still_stops_as_terminated(monkeypatch, tmp_path, capsys):
    def studies(args):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        except KeyboardInterrupt:
            raise KeyboardInterrupt from None  # what ray.wait makes of the CLI's Terminated

    monkeypatch.setattr(engine_cli, "cmd_studies", studies)
    assert main(["studies", "--storage", f"sqlite:///{tmp_path / 'x.db'}"]) == 143
    assert "nasforge studies: terminated (SIGTERM)" in capsys.readouterr().err
