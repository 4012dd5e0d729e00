"""Review 53 (trial failures): what the exports say was told, one-line errors for evaluator modules, where a
wrapped error was raised, the failure-rate abort message, deeply nested results."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import nasforge

from nasforge import Result, Study
from nasforge.cli import main
from nasforge.exceptions import ArchitectureError, StudyAborted
from nasforge.experiment import Trial, TrialState
from nasforge.experiment.evaluator_spec import EvaluatorFactoryError, resolve
from nasforge.experiment.reporting import TRACEBACK, failed_result
from nasforge.experiment.scheduler import _check_failure_rate
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
    ("from os import no_such_name", "ImportError: cannot import name 'no_such_name' from 'os' ({1})"),
])
def test_an_evaluator_module_that_raises_on_import_is_one_line(tmp_path, monkeypatch, capsys, source, error):
    module = f"fix53_broken_{len(source)}"
    (tmp_path / f"{module}.py").write_text(source + "\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module, raising=False)
    error = error.format(len(source), os.__file__)
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


def _wrapper_in(filename: str):
    """A function that wraps ``_network_forward``'s error as training does, compiled as if in ``filename``."""
    code = ("def wraps(forward):\n    try:\n        forward()\n    except ValueError as exc:\n"
            "        raise ArchitectureError('the network of x failed while training') from exc\n")
    space = {"ArchitectureError": ArchitectureError}
    exec(compile(code, filename, "exec"), space)
    return space["wraps"]


def _where(wraps) -> str:
    try:
        wraps(_network_forward)
    except ArchitectureError as exc:
        return failed_result(exc).user_attrs[TRACEBACK]
    raise AssertionError("no error")


def test_a_wrapped_error_keeps_where_its_cause_was_raised():
    training = os.path.join(os.path.dirname(nasforge.__file__), "evaluators", "training.py")
    where = _where(_wrapper_in(training))
    assert where.endswith(f'line {_network_forward.__code__.co_firstlineno + 1}, in _network_forward\n'
                          '    raise ValueError("bad value in training")  # the user\'s line\n')
    assert "raise ArchitectureError" not in where


def test_a_users_own_raise_from_keeps_its_own_frames(tmp_path):
    where = _where(_wrapper_in(str(tmp_path / "users_module.py")))
    assert 'users_module.py", line 5, in wraps' in where and "in _network_forward" not in where


# -- 4. the max_failure_rate abort: its last error, bounded and escaped, and a way out from the CLI ------------------
class NoErrorText:
    """Fails every trial without an error text."""

    def __call__(self, arch):
        return Result(status="failed")


def make_no_error_text():
    return NoErrorText()


def test_the_abort_names_the_last_error_in_one_bounded_escaped_line():
    last = Trial(7, None, TrialState.FAILED, error="\x1b[31mRED " + "x" * 100_000 + "\nsecond line")
    with pytest.raises(StudyAborted) as caught:
        _check_failure_rate(SimpleNamespace(name="s"), 5, 3, 0.5, 5, last)
    message = str(caught.value)
    assert "last error: \\x1b[31mRED xxx" in message and "\x1b" not in message and "second line" not in message
    assert len(message) < 600 and "nasforge resume --max-failure-rate RATE|none" in message


def test_resume_max_failure_rate_lifts_or_changes_the_recorded_bound(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    study = Study(SPACE, "random", objectives="acc", seed=0, name="a", storage=url)
    with pytest.warns(UserWarning), pytest.raises(StudyAborted, match="last error: FAILED with no error text; to go"):
        study.optimize(NoErrorText(), n_trials=12, max_failure_rate=0.5)
    study.storage.close()
    resume = ["resume", "a", "--storage", url, "--evaluator", f"{__name__}:make_no_error_text", "--no-progress"]
    capsys.readouterr()
    assert main(resume + ["--max-failure-rate", "2"]) == 2
    assert capsys.readouterr().err == ("nasforge resume: error: argument --max-failure-rate: must be a number in "
                                       "[0, 1] or none, got 2 (see nasforge resume --help)\n")
    assert main(resume) == 1  # the recorded bound aborts again
    assert "max_failure_rate 50%" in capsys.readouterr().err
    assert main(resume + ["--max-failure-rate", "none"]) == 0
    loaded = Study.load("a", storage=url)
    assert loaded.run_config["max_failure_rate"] is None  # recorded for later resumes
    assert [t.state for t in loaded.trials] == [TrialState.FAILED] * 12


# -- 5. user attributes nested too deeply -------------------------------------------------------------------------
class DeepAttrs:
    """Returns user attributes nested 5,000 levels deep."""

    def __call__(self, arch):
        deep: list = []
        for _ in range(5000):
            deep = [deep]
        return Result(metrics={"acc": 1.0}, cost=2.0, user_attrs={"x": deep})


@pytest.mark.parametrize("executor", ["inline", "process"])
def test_deeply_nested_user_attrs_fail_the_trial(tmp_path, executor):
    study = Study(SPACE, "random", objectives="acc", seed=0, name="d", storage=f"sqlite:///{tmp_path / 'd.db'}")
    options = {"start_method": "fork"} if executor == "process" else None
    with pytest.warns(UserWarning, match="invalid result: user_attrs nest too deeply"):
        study.optimize(DeepAttrs(), n_trials=2, executor=executor, executor_options=options)
    assert [(t.state, t.error, t.cost) for t in study.trials] == [
        (TrialState.FAILED, "invalid result: user_attrs nest too deeply to be stored as JSON", 2.0)] * 2


# -- 6. what docs/engine.md says of SIGTERM and the workers ----------------------------------------------------------
class TermsItself:
    def __call__(self, arch):
        os.kill(os.getpid(), signal.SIGTERM)


def test_a_worker_sent_sigterm_dies_as_the_docs_say(tmp_path):
    text = " ".join((Path(__file__).parents[1] / "docs" / "engine.md").read_text().split())
    assert "(workers ignore both)" not in text
    assert "a SIGTERM sent to a worker itself kills it, `worker died (killed by SIGTERM)`" in text
    study = Study(SPACE, "random", objectives="acc", seed=0)
    with pytest.warns(UserWarning):
        study.optimize(TermsItself(), n_trials=1, executor="process", executor_options={"start_method": "fork"})
    assert study.trials[0].error == "worker died (killed by SIGTERM)"


def test_nasforge_s_own_refusal_while_an_evaluator_module_imports_stays_itself(tmp_path, monkeypatch):
    """Would fail with this stop's first fix: an unknown space named at import became an EvaluatorFactoryError
    (exit 1) instead of the UsageError (exit 2) it was."""
    from nasforge.exceptions import UsageError

    (tmp_path / "fix53_badspace.py").write_text('from nasforge.spaces import get_space\nget_space("no_such")\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fix53_badspace", raising=False)
    with pytest.raises(UsageError, match="unknown search space 'no_such'"):
        resolve("fix53_badspace:f")
