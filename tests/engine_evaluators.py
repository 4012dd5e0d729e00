"""Picklable toy evaluators for the engine tests (worker processes import them by module name)."""

from __future__ import annotations

import ctypes
import importlib.util
import os
import random
import signal
import time

from nasforge.evaluators import Result


class Annealed:
    """A stand-in for training with a schedule stretched over the trial's epochs: an architecture's quality ``q``
    is reached at the trial's last epoch, linearly (so at one step a longer run is below a shorter one)."""

    def evaluate(self, arch, fidelity=None, reporter=None):
        from nasforge.spaces import get_space

        quality = random.Random(str(get_space(arch.space).canonical_key(arch))).uniform(50.0, 100.0)
        epochs = fidelity["epochs"]
        for epoch in range(1, epochs + 1):
            reporter.report(epoch, quality * epoch / epochs)
        return Result(metrics={"val_acc": quality})


def toy_metrics(arch) -> dict[str, float]:
    """A deterministic score: convolutions help, pooling hurts."""
    convs = sum(op.startswith("nor_conv") for op in arch.genotype)
    pools = sum(op == "avg_pool_3x3" for op in arch.genotype)
    tie_break = sum(i * len(op) for i, op in enumerate(arch.genotype)) / 100.0
    return {"acc": 50.0 + 5 * convs - 2 * pools + tie_break, "params": float(convs)}


class Toy:
    """Answers at once (or after ``sleep`` seconds)."""

    def __init__(self, sleep: float = 0.0) -> None:
        self.sleep = sleep

    def evaluate(self, arch, fidelity=None):
        if self.sleep:
            time.sleep(self.sleep)
        return Result(metrics=toy_metrics(arch), cost=self.sleep)


class Crashing:
    """Kills its own process for architectures with an ``avg_pool_3x3`` on the first edge
    (``how``: "sigkill" or "segfault"); sleeps ``hang`` seconds for those with ``none`` there."""

    def __init__(self, how: str = "sigkill", hang: float = 0.0) -> None:
        self.how, self.hang = how, hang

    def evaluate(self, arch, fidelity=None):
        if arch.genotype[0] == "avg_pool_3x3":
            if self.how == "segfault":
                ctypes.string_at(0)
            os.kill(os.getpid(), signal.SIGKILL)
        if self.hang and arch.genotype[0] == "none":
            time.sleep(self.hang)
        return Result(metrics=toy_metrics(arch))


class Curves:
    """Reports ``steps`` values rising towards the toy score; the threads it saw go in the metrics."""

    def __init__(self, steps: int = 9) -> None:
        self.steps = steps

    def evaluate(self, arch, fidelity=None, reporter=None):
        final = toy_metrics(arch)["acc"]
        for step in range(1, self.steps + 1):
            reporter.report(step, final * step / self.steps)
        threads = {"omp_threads": float(os.environ.get("OMP_NUM_THREADS", "0"))}
        return Result(metrics={"acc": final, **threads})


class Flaky:
    """Fails the first attempt at each architecture (state kept in files under ``directory``)."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def evaluate(self, arch, fidelity=None):
        marker = os.path.join(self.directory, "-".join(arch.genotype))
        if not os.path.exists(marker):
            open(marker, "w").close()
            raise RuntimeError("transient failure")
        return Result(metrics=toy_metrics(arch))


def toy_pair(arch) -> tuple[float, float]:
    """A plain callable returning (acc, params), as ``tell`` takes one value per objective."""
    metrics = toy_metrics(arch)
    return metrics["acc"], metrics["params"]


def make_toy(sleep: float = 0.0) -> Toy:
    """Factory used by ``nasforge resume --evaluator tests.engine_evaluators:make_toy``."""
    return Toy(sleep)


def make_curves(steps: int = 9) -> Curves:
    """Factory of a reporting evaluator (``nasforge resume --pruner ...``)."""
    return Curves(steps)


class TorchThreads:
    """Reports how many threads torch uses inside the worker."""

    def evaluate(self, arch, fidelity=None):
        import torch

        return Result(metrics={"acc": 1.0, "torch_threads": float(torch.get_num_threads())})


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


class Unsendable:
    """Returns a result the worker cannot pickle (a lock among the metrics)."""

    def evaluate(self, arch, fidelity=None):
        import threading

        return {"acc": 1.0, "lock": threading.Lock()}


class SleepingChild:
    """Runs ``sleep SECONDS`` as a child process, its pid written to ``pid_file``, and waits for it (``wait``) or
    returns at once, leaving it running."""

    def __init__(self, pid_file: str, seconds: float = 60.0, wait: bool = True) -> None:
        self.pid_file, self.seconds, self.wait = pid_file, seconds, wait

    def evaluate(self, arch, fidelity=None):
        import subprocess

        child = subprocess.Popen(["sleep", str(self.seconds)])
        with open(self.pid_file, "w") as out:
            out.write(str(child.pid))
        if self.wait:
            child.wait()
        return 1.0
