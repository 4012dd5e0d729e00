"""Shared fixtures: the NAS-Bench-201 table from ../shared/data (skipped with a reason when absent),
torch limited to one thread for tests of tiny networks, a tiny learnable image data set, and a Ctrl-C at the
n-th supernet scoring, and CIFAR batch files read in one child process."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nasforge.benchmarks import find_data_file, load_nb201

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="session")
def nb201_table():
    try:
        find_data_file("nb201_hp12.csv.gz")
    except FileNotFoundError as exc:
        pytest.skip(f"NAS-Bench-201 table not available: {exc}")
    return load_nb201()


@pytest.fixture
def torch_one_thread():
    """Tiny networks run fastest on one thread (and do not fight other processes for cores)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def ck(tmp_path):
    """A tiny untrained NB201 supernet saved for digits (a checkpoint folder for the one-shot CLI tests)."""
    from nasforge.oneshot import build_supernet
    from nasforge.oneshot.checkpoint import save_supernet

    folder = tmp_path / "ck"
    save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), folder, {"data": {"data": "digits", "data_options": {}}})
    return folder


@pytest.fixture(scope="module")
def toy_images():
    """160 noisy 8x8 one-channel images of 4 classes (class k brightens the diagonal by k), split
    96 / 48 / 16 into train / validation / test, with crop augmentation: learnable in one epoch."""
    from nasforge.data import from_arrays

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 160)
    x = rng.normal(size=(160, 8, 8)).astype(np.float32) + y[:, None, None] * np.eye(8, dtype=np.float32)
    return from_arrays("toy", (x[:96], y[:96]), (x[96:144], y[96:144]), (x[144:], y[144:]), 4, augment="crop")


@pytest.fixture
def interrupt_scoring(monkeypatch):
    """``interrupt_scoring(at)``: every SupernetEvaluator raises KeyboardInterrupt (a Ctrl-C) at the ``at``-th
    scoring; ``interrupt_scoring(None)`` restores plain scoring."""
    from nasforge.evaluators import SupernetEvaluator

    evaluate = SupernetEvaluator.evaluate

    def patch(at: int | None) -> None:
        if at is None:
            monkeypatch.setattr(SupernetEvaluator, "evaluate", evaluate)
            return
        calls = []

        def interrupted(self, arch, fidelity=None):
            calls.append(arch)
            if len(calls) == at:
                raise KeyboardInterrupt
            return evaluate(self, arch, fidelity)

        monkeypatch.setattr(SupernetEvaluator, "evaluate", interrupted)

    return patch



@pytest.fixture()
def bench_module():
    """Import a script of ``benchmarks/`` by name (its folder on ``sys.path``, as when run)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module
    finally:
        sys.path.remove(str(BENCHMARKS))

_READ_CIFAR_BATCHES = """
import json
import sys
from pathlib import Path
from nasforge.data.sources import _read_cifar_batch
from nasforge.exceptions import UsageError
for name in sys.argv[1:]:
    try:
        _read_cifar_batch(Path(name), b"labels")
    except UsageError as exc:
        print(json.dumps([name, f"REFUSED {exc}"]), flush=True)
    else:
        print(json.dumps([name, "LOADED"]), flush=True)
"""


@pytest.fixture(scope="session")
def read_cifar_batches_in_a_child():
    """``read(paths)``: ``{str(path): "REFUSED <message>" or "LOADED"}`` from reading each CIFAR batch file (labels
    key ``b"labels"``) in ONE child process, so a crafted pickle that crashes the reader (SIGSEGV) fails its test
    instead of the test run; a path the child never answered reads "CRASHED (exit N): <its stderr>". One start of
    Python and nasforge (about 1.4 s of CPU) serves all the files."""
    src = str(Path(__file__).resolve().parents[1] / "src")

    def read(paths: list[Path]) -> dict[str, str]:
        run = subprocess.run([sys.executable, "-c", _READ_CIFAR_BATCHES, *map(str, paths)], capture_output=True,
                             text=True, timeout=120, env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"})
        names = [str(p) for p in paths]
        said = dict(json.loads(line) for line in run.stdout.splitlines())
        if run.returncode != 0:  # the paths it left unanswered crashed it (all of them: it crashed on the way out)
            crashed = [name for name in names if name not in said] or names
            said.update(dict.fromkeys(crashed, f"CRASHED (exit {run.returncode}): {run.stderr[-500:]}"))
        return {name: said[name] for name in names}

    return read
