"""Stop 44 fixes of the live views: progress line (bests under constraints, ETA, names), status hint, dashboard
marks of dead runs, the studies table header, export's run-folder rule."""

from __future__ import annotations

import io

from nasforge import Study
from nasforge.experiment.progress import ProgressReporter
from nasforge.spaces import get_space

from engine_evaluators import Toy

SPACE = get_space("nb201")


def test_progress_bests_come_from_the_feasible_trials_as_the_front_does(capsys):
    study = Study(SPACE, "mo_random", objectives="acc", seed=0, constraints=["params <= 1"])
    study.optimize(Toy(), n_trials=20, progress=True)
    last = capsys.readouterr().err.splitlines()[-1]
    feasible = [t for t in study.trials if t.metrics["params"] <= 1]
    assert feasible and max(t.metrics["acc"] for t in study.trials) > max(t.metrics["acc"] for t in feasible)
    assert f"| best {study.best_value:.6g} |" in last and study.best_trial.metrics["params"] <= 1
    study = Study(SPACE, "mo_random", objectives=["acc", "params"], directions=["maximize", "minimize"], seed=0,
                  constraints=["acc <= 56"])
    study.optimize(Toy(), n_trials=20, progress=True)
    last = capsys.readouterr().err.splitlines()[-1]
    feasible = [t for t in study.trials if t.metrics["acc"] <= 56]
    assert feasible and max(t.metrics["acc"] for t in study.trials) > 56
    assert (f"| front {len(study.pareto_front())} | best acc {max(t.metrics['acc'] for t in feasible):.6g} "
            f"| best params {min(t.metrics['params'] for t in feasible):.6g} |") in last
