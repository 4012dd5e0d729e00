"""The reporter interface evaluators use for learning curves and early stopping."""

import numpy as np
import pytest

from nasforge.evaluators import Result
from nasforge.experiment.reporting import Reporter, TrialPruned, accepts_reporter, run_evaluation
from nasforge.spaces import get_space

SPACE = get_space("nb201")


class Curve:
    def evaluate(self, arch, fidelity=None, reporter=None):
        for step in range(5):
            reporter.report(step, 10.0 * step)
        return Result(metrics={"val_acc": 40.0})


def test_report_records_curve_and_result_gets_it():
    reporter = Reporter()
    result = run_evaluation(Curve(), SPACE.sample(np.random.default_rng(0)), None, reporter)
    assert result.ok and result.intermediate == [(s, 10.0 * s) for s in range(5)]


def test_decide_prunes_and_result_is_pruned_with_curve():
    reporter = Reporter(decide=lambda step, value: step >= 2)
    arch = SPACE.parse(SPACE.format(SPACE.sample(np.random.default_rng(1))))
    result = run_evaluation(Curve(), arch, None, reporter)
    assert result.status == "pruned" and "step 2" in result.error
    assert result.intermediate == [(0, 0.0), (1, 10.0), (2, 20.0)] and reporter.should_prune()


def test_report_rejects_bad_steps_and_nan():
    reporter = Reporter()
    reporter.report(3, 1.0)
    with pytest.raises(ValueError, match="step 3 after step 3"):
        reporter.report(3, 2.0)
    with pytest.raises(ValueError, match="NaN"):
        reporter.report(4, float("nan"))
    with pytest.raises(TrialPruned):
        Reporter(decide=lambda s, v: True).report(0, 1.0)


def test_signature_detection_and_plain_callables():
    assert accepts_reporter(Curve().evaluate)
    assert accepts_reporter(lambda arch, **kw: None)
    assert not accepts_reporter(lambda arch, fidelity=None: None)
    arch = SPACE.sample(np.random.default_rng(2))
    plain = run_evaluation(lambda a: Result(metrics={"val_acc": 1.0}), arch, None, Reporter())
    assert plain.metrics == {"val_acc": 1.0}
    failed = run_evaluation(lambda a, f: 1 / 0, arch, None, Reporter())
    assert failed.status == "failed" and "ZeroDivisionError" in failed.error
    wrong = run_evaluation(lambda a: 3.0, arch, None, Reporter())
    assert wrong.status == "failed" and "expected a Result" in wrong.error
    assert run_evaluation(lambda a: 3.0, arch, None, Reporter(), objectives=("acc",)).metrics == {"acc": 3.0}


def test_a_reporter_keyword_with_a_default_is_not_taken_for_a_fidelity():
    def f(arch, reporter=None):
        reporter.report(1, 5.0)
        return 7.0

    class G:
        def evaluate(self, arch, reporter=None):
            return f(arch, reporter)

    arch = SPACE.sample(np.random.default_rng(3))
    for evaluator in (f, G()):
        result = run_evaluation(evaluator, arch, None, Reporter(), objectives=("acc",))
        assert result.ok and result.metrics == {"acc": 7.0} and result.intermediate == [(1, 5.0)]


def test_an_evaluator_that_cannot_be_called_stops_the_run_at_its_first_trial():
    from nasforge import Study
    from nasforge.exceptions import UsageError

    study = Study(SPACE, "random", objectives="acc", seed=0)
    with pytest.raises(UsageError, match="cannot be called as evaluate\\(arch, fidelity\\).*'c'"):
        study.optimize(lambda a, b, c: 1.0, n_trials=5)
    assert len(study.trials) == 1 and study.trials[0].error.startswith("UsageError: ")
    inner = run_evaluation(lambda a: len(None), SPACE.sample(np.random.default_rng(4)), None, Reporter())
    assert inner.error.startswith("TypeError: object of type 'NoneType'")  # raised inside: a failed trial


def test_sys_exit_and_an_empty_memory_error_fail_their_trial_with_a_reason():
    import sys

    from nasforge import Study

    arch = SPACE.sample(np.random.default_rng(5))
    assert run_evaluation(lambda a: sys.exit(2), arch, None, Reporter()).error == "SystemExit: 2"
    assert run_evaluation(lambda a: sys.exit(), arch, None, Reporter()).error == \
        "SystemExit: the evaluator called sys.exit()"
    assert run_evaluation(lambda a: (_ for _ in ()).throw(MemoryError()), arch, None, Reporter()).error == \
        "MemoryError: out of memory"
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C stays the run's clean interrupt
        run_evaluation(lambda a: (_ for _ in ()).throw(KeyboardInterrupt()), arch, None, Reporter())
    study = Study(SPACE, "random", objectives="acc", seed=0)
    study.optimize(lambda a: sys.exit(2), n_trials=2)  # the inline study goes on, nothing left WAITING
    assert [(t.state.value, t.error) for t in study.trials] == [("FAILED", "SystemExit: 2")] * 2
