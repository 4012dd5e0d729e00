"""Regressions of review 37a: SIGTERM in evaluator subprocesses, concurrent targets beside an n_trials_total run,
read-only ?mode=ro, per-architecture model errors, zipapp main modules, Trial repr, oneshot without torch, the
all-failed warning, KeyError of table lookups."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nasforge import Result, Study
from nasforge.cli import main
from nasforge.exceptions import StorageError
from nasforge.experiment import TrialState
from nasforge.experiment.storage import open_storage
from nasforge.experiment.trial import Trial
from nasforge.spaces import get_space

from engine_evaluators import Toy

SPACE = get_space("nb201")
TESTS = Path(__file__).parent


def stops_a_child(arch, fidelity=None) -> float:
    """Starts a subprocess and stops it with SIGTERM (as Popen.terminate, Pool exit and timeout wrappers do)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    time.sleep(0.2)
    child.terminate()
    return float(child.wait(timeout=20))


class Failing:
    def evaluate(self, arch, fidelity=None):
        raise RuntimeError("boom")


def make_failing() -> Failing:
    return Failing()


def _study(url: str, name: str = "demo") -> Study:
    return Study(SPACE, "random", objectives="acc", seed=0, name=name, storage=url)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), *sys.path])}


def test_an_evaluators_subprocess_can_be_terminated_in_a_process_worker():
    """Would fail: workers ignored SIGTERM, so their evaluator's children did too and terminate() hung."""
    study = Study(SPACE, "random", seed=0)
    study.optimize(stops_a_child, n_trials=1, executor="process")
    assert [(t.state, t.metrics) for t in study.trials] == [(TrialState.COMPLETE, {"val_acc": -15.0})]


def _another_run(monkeypatch, other: Study, config: dict) -> None:
    """While the study's next optimize starts, ``other`` records ``config`` and runs its first trial."""
    from nasforge.experiment.executors.inline import InlineExecutor

    start = InlineExecutor.start

    def under_way(self, evaluator, decide):
        other.set_run_config(config, keep_target=True)
        other.ask()
        monkeypatch.setattr(InlineExecutor, "start", start)
        start(self, evaluator, decide)

    monkeypatch.setattr(InlineExecutor, "start", under_way)


def test_n_trials_beside_a_live_n_trials_total_run_does_not_raise_the_target(tmp_path, monkeypatch):
    """Would fail: the target became 8 + 2 although the total run counts this run's proposals too."""
    url = f"sqlite:///{tmp_path / 'c.db'}"
    study = _study(url, "conc")
    other = Study.load("conc", url)
    _another_run(monkeypatch, other, {"n_trials_total": 8, "run_n_trials": None})  # a total run, or a resume
    study.optimize(Toy(), n_trials=2)
    assert study.stored_run_config()["n_trials_total"] == 8 and study.run_config["run_n_trials"] == 2


def test_n_trials_beside_a_live_n_trials_run_adds_to_the_target(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    study = _study(url, "conc")
    other = Study.load("conc", url)
    _another_run(monkeypatch, other, {"n_trials_total": 10, "run_n_trials": 10})
    study.optimize(Toy(), n_trials=10)
    assert study.run_config["n_trials_total"] == 20 and study.n_proposals == 11
    other.requeue([0])  # the other run is killed: the resume makes what both were asked for
    study.resume(Toy())
    assert study.n_proposals == 20 == Study.load("conc", url).run_config["n_trials_total"]
    assert "run_n_trials" in study.run_config and study.run_config["run_n_trials"] is None  # a resume: a total run


def test_a_resume_beside_an_n_trials_run_records_itself_as_a_total_run(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    study = _study(url, "conc")
    study.optimize(Toy(), n_trials=3)
    study.set_run_config({**study.run_config, "n_trials_total": 5})
    study.resume(Toy())
    assert study.run_config["run_n_trials"] is None and study.n_proposals == 5


def test_read_only_opens_accept_mode_ro_and_writers_refuse_it(tmp_path, monkeypatch, capsys):
    """Would fail: status/studies/open_storage(readonly=True) refused ?mode=ro, advising what the user did."""
    monkeypatch.chdir(tmp_path)
    study = _study("sqlite:///r.db", "r")
    study.optimize(Toy(), n_trials=2)
    study.storage.close()
    url = "sqlite:///r.db?mode=ro"
    assert main(["status", "r", "--storage", url]) == 0 and main(["studies", "--storage", url]) == 0
    assert "trials: 2" in capsys.readouterr().out
    assert open_storage(url, readonly=True).load_study("r").name == "r"
    with pytest.raises(StorageError, match="'mode'.*this opens it for writing: for read-only access"):
        open_storage(url)
    with pytest.raises(StorageError, match=r"takes no query parameters but \?mode=ro in a read-only open \(got 'x'\)"):
        open_storage("sqlite:///r.db?x=1", readonly=True)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_an_architecture_a_chain_network_cannot_build_is_a_failed_trial_whatever_the_seed(seed):
    """Would fail for seeds 2 and 3: a skip that changes the shape at the first trial stopped the run as misuse."""
    pytest.importorskip("torch")
    from nasforge.models.chain import ChainNetwork

    space = get_space("chain", layers=[["conv3", "conv5"], ["skip", "conv3"]])

    def evaluate(arch):
        ChainNetwork(arch, 10, C=4, stages=(1, 1), widths=(4, 8))
        return 0.5

    study = Study(space, "random", seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(evaluate, n_trials=4)
    states = sorted(t.state.value for t in study.trials)
    assert states == ["COMPLETE", "COMPLETE", "FAILED", "FAILED"]
    assert all("ArchitectureError: a 'skip' layer must keep the shape" in t.error
               for t in study.trials if t.state == TrialState.FAILED)


def test_a_zipapp_main_runs_with_the_process_executor(tmp_path):
    """Would fail: its __main__.__file__ is inside the archive (no file), so the check refused it."""
    archive = tmp_path / "app.pyz"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("myev.py", "def ev(arch):\n    return 0.5\n")
        zf.writestr("__main__.py", "from myev import ev\nfrom nasforge import Study\n"
                                   "if __name__ == '__main__':\n"
                                   "    s = Study('nb201', 'random', seed=1)\n"
                                   "    s.optimize(ev, n_trials=2, executor='process', n_workers=2)\n"
                                   "    print('states', [t.state.value for t in s.trials])\n")
    out = subprocess.run([sys.executable, str(archive)], env=_env(), capture_output=True, text=True, timeout=240)
    assert "states ['COMPLETE', 'COMPLETE']" in out.stdout, out.stderr


def test_trial_repr_never_raises_for_loosely_built_trials():
    arch = SPACE.sample(np.random.default_rng(0))
    assert "state=COMPLETE" in repr(Trial(1, arch, state="COMPLETE"))
    assert repr(Trial(2, arch.genotype)).startswith("Trial(number=2, state=RUNNING, arch=('")
    assert "error='42'" in repr(Trial(3, arch, error=42))


def test_arch_sampler_imports_without_torch():
    """Would fail: every lazy name of nasforge.oneshot required torch, ArchSampler (numpy only) too."""
    code = ("import sys, importlib.abc\n"
            "class Block(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path, target=None):\n"
            "        if name == 'torch' or name.startswith('torch.'):\n"
            "            raise ModuleNotFoundError(name, name=name)\n"
            "sys.meta_path.insert(0, Block())\n"
            "from nasforge.oneshot import ArchSampler\n"
            "try:\n"
            "    from nasforge.oneshot import NB201Supernet\n"
            "except ImportError as exc:\n"
            "    print('refused:', exc)\n")
    out = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "refused: nasforge.oneshot.NB201Supernet needs torch" in out.stdout, out.stderr


def test_the_all_failed_warning_never_says_none():
    study = Study(SPACE, "random", seed=1)
    with pytest.warns(UserWarning, match="the only trial of this run failed; the first error: FAILED with no error "
                                         "text"):
        study.optimize(lambda arch: Result(status="failed"), n_trials=1)


def test_resume_reports_all_failed_trials_once(tmp_path, monkeypatch, capsys):
    """Would fail: a warning said it, then the last line said it again."""
    monkeypatch.chdir(tmp_path)
    study = _study("sqlite:///f.db", "f")
    study.optimize(Toy(), n_trials=1, evaluator_spec={"factory": "engine_evaluators:make_toy", "kwargs": {}})
    study.set_run_config({**study.run_config, "n_trials_total": 3})
    study.storage.close()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["resume", "f", "--storage", "sqlite:///f.db", "--no-progress", "--evaluator",
                     "test_regressions37a:make_failing"]) == 0
    captured = capsys.readouterr()
    assert "2 trials finished in this run (2 failed, the last: RuntimeError: boom)" in captured.out
    assert "of this run failed" not in captured.err and not [w for w in caught if "of this run" in str(w.message)]


def test_table_lookups_of_another_space_or_a_bare_genotype_are_key_errors():
    from nasforge.benchmarks import TabularBenchmark

    arch = SPACE.sample(np.random.default_rng(0))
    bench = TabularBenchmark([{"arch": SPACE.format(arch), "v": 1.0}], SPACE)
    other = get_space("nb101").sample(np.random.default_rng(0))
    for bad in (other, arch.genotype):
        with pytest.raises(KeyError):
            bench.query(bad)
        with pytest.raises(ValueError):  # and a UsageError, as it is now
            bench.row(bad)
    assert bench.query(arch) == {"v": 1.0}
