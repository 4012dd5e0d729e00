"""The Ray executor against a local Ray instance (skipped where Ray is not installed: pip install '.[ray]')."""

from __future__ import annotations

import pytest

from nasforge import Study
from nasforge.experiment import TrialState
from nasforge.spaces import get_space

from engine_evaluators import Crashing, Curves

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'nasforge[ray]')")
SPACE = get_space("nb201")


@pytest.fixture(scope="module")
def local_ray():
    yield {"init_kwargs": {"num_cpus": 2}}
    ray.shutdown()


@pytest.mark.slow  # about 30 s: starting Ray dominates
def test_ray_runs_reports_prunes_and_survives_crashes(tmp_path, local_ray):
    url = f"sqlite:///{tmp_path / 'ray.db'}"
    study = Study(SPACE, "random", objectives="acc", seed=0, name="r", storage=url)
    study.optimize(Curves(steps=9), 8, n_workers=2, executor="ray", pruner="asha", executor_options=local_ray)
    assert {t.state for t in study.trials} == {TrialState.COMPLETE, TrialState.PRUNED}
    assert all(len(t.intermediate) == 9 for t in study.trials if t.state == TrialState.COMPLETE)

    crashy = Study(SPACE, "random", objectives="acc", seed=5, name="c", storage=url)
    crashy.optimize(Crashing("sigkill", hang=60.0), 8, n_workers=2, executor="ray", trial_timeout=3.0,
                    executor_options=local_ray)
    errors = {t.arch.genotype[0]: t.error for t in crashy.trials if t.state == TrialState.FAILED}
    assert errors["avg_pool_3x3"] == "worker died (WorkerCrashedError)"
    assert errors["none"] == "timed out after 3 s (task cancelled)"
    assert all(t.cost == 0.0 for t in crashy.trials)  # executor-made failures report no cost, as the others do
    assert any(t.state == TrialState.COMPLETE for t in crashy.trials)
