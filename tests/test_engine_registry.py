"""Executors and pruners come from nasforge.registry.Registry: a user-registered one runs and resumes by name;
Reporter/TrialPruned are importable without the engine."""

from __future__ import annotations

import pytest

from nasforge import Study
from nasforge.exceptions import UsageError
from nasforge.experiment.executors import EXECUTORS
from nasforge.experiment.executors.inline import InlineExecutor
from nasforge.experiment.pruners import PRUNERS, Pruner
from nasforge.spaces import get_space

from engine_evaluators import Curves

SPACE = get_space("nb201")


class StopAtTwo(Pruner):
    name = "stop-at-two"

    def __init__(self, step: int = 2) -> None:
        self.step = step

    def should_prune(self, number, curves):
        return curves[number][-1][0] >= self.step

    def config(self):
        return {"step": self.step}


class CountingInline(InlineExecutor):
    started = 0

    def start(self, evaluator, decide):
        CountingInline.started += 1
        super().start(evaluator, decide)


@pytest.fixture()
def registered():
    PRUNERS.register("stop-at-two", StopAtTwo)
    EXECUTORS.register("counting", lambda n_workers=1, trial_timeout=None, **kw: CountingInline(**kw))
    yield
    for registry, name in ((PRUNERS, "stop-at-two"), (EXECUTORS, "counting")):
        registry._entries.pop(name), registry._tags.pop(name)


def test_registered_executor_and_pruner_run_and_resume_by_name(tmp_path, registered):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    study = Study(SPACE, "random", objectives="acc", seed=0, name="r", storage=url)
    study.optimize(Curves(steps=5), 3, executor="counting", pruner={"name": "stop-at-two", "step": 3})
    # the first trial runs to its end (5 reports): until one completes, the loop cannot tell a trial's last report
    assert [len(t.intermediate) for t in study.trials] == [5, 3, 3]
    assert [t.state.value for t in study.trials] == ["COMPLETE", "PRUNED", "PRUNED"]
    assert study.run_config["pruner"] == {"name": "stop-at-two", "step": 3}
    study.set_run_config({**study.run_config, "n_trials_total": 5})
    before = CountingInline.started
    Study.load("r", url).resume(Curves(steps=5))
    loaded = Study.load("r", url)
    assert CountingInline.started == before + 1 and len(loaded.trials) == 5
    assert [len(t.intermediate) for t in loaded.trials] == [5, 3, 3, 3, 3]
    assert EXECUTORS.names(parallel=True) == ["process", "ray"]


def test_unknown_names_list_the_registered_ones():
    with pytest.raises(UsageError, match="unknown executor 'gpu'; choose from inline, process, ray"):
        Study(SPACE, "random", objectives="acc").optimize(Curves(), 1, executor="gpu")
    with pytest.raises(UsageError, match="unknown pruner 'magic'; choose from asha, curve, median"):
        Study(SPACE, "random", objectives="acc").optimize(Curves(), 1, pruner="magic")


def test_evaluators_import_reporter_without_the_engine():
    import subprocess
    import sys

    code = ("import sys; from nasforge.evaluators.reporter import Reporter, TrialPruned; "
            "from nasforge.exceptions import TrialPruned as T; assert TrialPruned is T; "
            "import nasforge.experiment.reporting as r; assert r.Reporter is Reporter; print('ok')")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "ok\n"
