"""Review 53 (trial failures): what the exports say was told, one-line errors for evaluator modules, where a
wrapped error was raised, the failure-rate abort message, deeply nested results."""

from __future__ import annotations

import pytest

from nasforge import Study
from nasforge.spaces import get_space

SPACE = get_space("nb201")


class FailsFirst:
    """Fails each architecture's first attempt, then scores it."""

    def __init__(self):
        self.seen: set = set()

    def evaluate(self, arch, fidelity=None):
        if arch.genotype not in self.seen:
            self.seen.add(arch.genotype)
            raise RuntimeError("transient")
        return {"acc": 1.0}


@pytest.mark.filterwarnings("ignore::nasforge.exceptions.TrialFailedWarning")
def test_a_retried_failure_is_exported_as_not_told(tmp_path):
    url = f"sqlite:///{tmp_path / 'told.db'}"
    study = Study(SPACE, "evolution", objectives="acc", seed=0, name="t", storage=url)
    study.optimize(FailsFirst(), n_trials=1, max_retries=1)
    study.enqueue(study.best_arch)
    study.ask()  # left RUNNING
    expected = [False, True, False, False]  # retried failure, its told retry, enqueued (WAITING), running
    assert study.trials_dataframe()["told_to_strategy"].tolist() == expected
    assert [t["told_to_strategy"] for t in study.to_json()["trials"]] == expected
    loaded = Study.load("t", storage=url)
    assert [t.told for t in loaded.trials] == expected
    assert loaded.trials_dataframe()["told_to_strategy"].tolist() == expected
