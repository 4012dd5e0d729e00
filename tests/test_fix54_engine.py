"""A study whose first optimize call was refused at its first result (the evaluator misused): how its WAITING trials
run, and no retry queued that could only fail the same way."""

import pytest

from nasforge import Study
from nasforge.cli import main
from nasforge.evaluators import Result
from nasforge.exceptions import TrialFailedWarning, UsageError


def _wrong_type(arch):
    return "hello"  # no outcome at all: the run stops at its first result


def _ok(arch):
    return {"val_acc": 1.0}


def _refused_study(url: str, queued: int = 0, **options) -> Study:
    """A study whose first optimize call stopped at its first result; ``queued`` trials enqueued before it."""
    study = Study("nb201", "random", objectives="val_acc", seed=0, name="w", storage=url)
    for seed in range(queued):
        study.enqueue(study.space.sample(seed))
    with pytest.raises(UsageError, match="the evaluator's first result cannot be used"):
        study.optimize(_wrong_type, n_trials=10, progress=False, **options)
    return study


def test_resume_and_status_name_the_waiting_trials_and_the_call_that_runs_them(tmp_path, capsys):
    """Would fail before: resume said only 'has no recorded optimize run to resume', status gave no next step."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    _refused_study(url, queued=3)  # the first ran and was refused: two stay WAITING
    with pytest.raises(UsageError) as refused:
        Study.load("w", url).resume(_ok)
    message = str(refused.value)
    assert message == ("study 'w' has 2 WAITING trials but no recorded optimize run to resume (its first optimize "
                       "call was refused, or none ran): run them in Python with "
                       f"Study.load('w', '{url}').optimize(evaluator, n_trials) (n_trials: new proposals beside "
                       "them, 0 for none)")
    capsys.readouterr()
    assert main(["resume", "w", "--storage", url, "--evaluator", "nasforge.evaluators:TableEvaluator"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].endswith(message), error
    assert main(["status", "w", "--storage", url]) == 0
    starting = message.replace("or none ran)", "or none ran, unless one is starting now)")
    assert starting in capsys.readouterr().out.splitlines()  # status cannot tell a first call still starting
    study = Study.load("w", url)
    study.optimize(_ok, n_trials=0, progress=False)  # the way named: the WAITING trials run, nothing new
    assert [t.state.value for t in study.trials] == ["FAILED", "COMPLETE", "COMPLETE"]


def test_a_study_without_waiting_trials_keeps_the_plain_refusal_and_status_line(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    _refused_study(url)
    with pytest.raises(UsageError, match=r"^study 'w' has no recorded optimize run to resume$"):
        Study.load("w", url).resume(_ok)
    assert main(["status", "w", "--storage", url]) == 0
    assert "resume" not in capsys.readouterr().out


def test_an_in_memory_study_is_pointed_at_its_own_optimize():
    study = Study("nb201", "random", objectives="val_acc", seed=0, name="w")
    study.enqueue(study.space.sample(0))
    with pytest.raises(UsageError, match=r"run it in Python with study\.optimize\(evaluator, n_trials\) "):
        study.resume(_ok)


def _misused(arch):
    raise UsageError("the table has no 'epochs' budget")  # the evaluator itself misused


def _lacks_objective(arch):
    return {"acc": 1.0}


@pytest.mark.parametrize("evaluator, stop", [
    (_wrong_type, "the evaluator's first result cannot be used"),
    (_lacks_objective, "the evaluator's first result lacks an objective"),
])
def test_a_first_result_that_stops_the_run_as_misuse_queues_no_retry(tmp_path, evaluator, stop):
    """Would fail before: a retry of the misused trial was queued WAITING (retry_of 0), bound to fail alike."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    study = Study("nb201", "random", objectives="val_acc", seed=0, name="w", storage=url)
    with pytest.raises(UsageError, match=stop):
        study.optimize(evaluator, n_trials=10, max_retries=2, progress=False)
    stored = Study.load("w", url)
    assert [(t.state.value, t.retry_of) for t in stored.trials] == [("FAILED", None)]
    assert stored.trials[0].error  # kept as it was


def test_a_failure_before_any_result_that_is_no_misuse_is_still_retried():
    calls = []

    def flaky(arch):
        calls.append(arch)
        if len(calls) == 1:
            raise RuntimeError("a file read while it was written")
        return {"val_acc": 1.0}

    study = Study("nb201", "random", objectives="val_acc", seed=0, name="w")
    with pytest.warns(TrialFailedWarning, match="a file read while it was written"):
        study.optimize(flaky, n_trials=1, max_retries=1, progress=False)
    assert [(t.state.value, t.retry_of) for t in study.trials] == [("FAILED", None), ("COMPLETE", 0)]


def test_a_stored_study_holding_such_a_retry_keeps_it_and_runs_it(tmp_path):
    """Stored studies load as they did: the retry an older version queued stays WAITING and linked, and runs."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    study = Study("nb201", "random", objectives="val_acc", seed=0, name="w", storage=url)
    trial = study.ask()
    study.record_result(trial, "hello", retry=True)  # what the run stored before: the misused trial, its retry
    stored = Study.load("w", url)
    assert [(t.state.value, t.retry_of) for t in stored.trials] == [("FAILED", None), ("WAITING", 0)]
    stored.optimize(_ok, n_trials=0, progress=False)
    assert [(t.state.value, t.retry_of) for t in stored.trials] == [("FAILED", None), ("COMPLETE", 0)]


def test_a_raised_usage_error_at_the_first_result_keeps_its_retry(tmp_path):
    """A UsageError the evaluator raised stops the run but keeps its retry (a data reader's error may pass)."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    study = Study("nb201", "random", objectives="val_acc", seed=0, name="w", storage=url)
    with pytest.raises(UsageError, match="the evaluator refused the trial as misuse"):
        study.optimize(_misused, n_trials=10, max_retries=2, progress=False)
    assert [(t.state.value, t.retry_of) for t in Study.load("w", url).trials][:2] == [("FAILED", None),
                                                                                       ("WAITING", 0)]


def test_a_curve_given_as_an_iterator_is_stored_with_retries_on():
    """Would fail before: checking the first result for misuse read the iterator, and the trial stored no curve."""
    def curve(arch):
        accs = [0.5, 0.6, 0.7]
        return Result(metrics={"val_acc": accs[-1]}, intermediate=enumerate(accs))

    study = Study("nb201", "random", objectives="val_acc", seed=0, name="w")
    study.optimize(curve, n_trials=2, max_retries=1, progress=False)
    assert [t.intermediate for t in study.trials] == [[(0, 0.5), (1, 0.6), (2, 0.7)]] * 2
