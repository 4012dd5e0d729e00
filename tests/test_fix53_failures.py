"""Review 53 (trial failures): what the exports say was told, one-line errors for evaluator modules, where a
wrapped error was raised, the failure-rate abort message, deeply nested results."""

from __future__ import annotations

import sys

import pytest

from nasforge import Study
from nasforge.cli import main
from nasforge.exceptions import ArchitectureError
from nasforge.experiment.evaluator_spec import EvaluatorFactoryError, resolve
from nasforge.experiment.reporting import TRACEBACK, failed_result
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


# -- 2. an evaluator module that raises while it is imported -------------------------------------------------------
@pytest.mark.parametrize("source, error", [
    ('raise RuntimeError("module import broke")', "RuntimeError: module import broke"),
    ("def f(:", "SyntaxError: invalid syntax (fix53_broken_{0}.py, line 1)"),
])
def test_an_evaluator_module_that_raises_on_import_is_one_line(tmp_path, monkeypatch, capsys, source, error):
    module = f"fix53_broken_{len(source)}"
    (tmp_path / f"{module}.py").write_text(source + "\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module, raising=False)
    error = error.format(len(source))
    with pytest.raises(EvaluatorFactoryError, match="^importing evaluator module") as caught:
        resolve(f"{module}:f")
    assert str(caught.value) == f"importing evaluator module {module!r} raised {error}"
    assert caught.value.__cause__ is not None  # --debug shows where
    url = f"sqlite:///{tmp_path / 'r.db'}"
    study = Study(SPACE, "random", objectives="acc", seed=0, name="r", storage=url)
    study.optimize(lambda arch: {"acc": 1.0}, n_trials=1)
    study.set_run_config({**study.run_config, "n_trials_total": 3})
    study.storage.close()
    capsys.readouterr()
    assert main(["resume", "r", "--storage", url, "--evaluator", f"{module}:f", "--no-progress"]) == 1
    assert capsys.readouterr().err == f"nasforge resume: error: importing evaluator module {module!r} raised {error}\n"


# -- 3. where an error wrapped by training was raised ---------------------------------------------------------------
def _network_forward():
    raise ValueError("bad value in training")  # the user's line


def _training_wraps():
    try:
        _network_forward()
    except ValueError as exc:
        raise ArchitectureError("the network of x failed while training: ValueError: bad value in training") from exc


def test_a_wrapped_error_keeps_where_its_cause_was_raised():
    try:
        _training_wraps()
    except ArchitectureError as exc:
        where = failed_result(exc).user_attrs[TRACEBACK]
    assert where.endswith(f'line {_network_forward.__code__.co_firstlineno + 1}, in _network_forward\n'
                          '    raise ValueError("bad value in training")  # the user\'s line\n')
    assert "raise ArchitectureError" not in where
