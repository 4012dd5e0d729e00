"""The Python API as a notebook uses it: interrupted asks and tells, a Study shared by threads, results of the
wrong type, failed trials' errors, printed trials and numpy trial numbers."""

import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest

from nasforge import Result, Study
from nasforge.exceptions import TrialFailedWarning
from nasforge.spaces import NASBench201Space

SPACE = NASBench201Space()


def acc(arch):
    return 50.0 + 5 * sum(op.startswith("nor_conv") for op in arch.genotype) - 2 * sum(
        op == "avg_pool_3x3" for op in arch.genotype)


def evaluator(arch):
    return Result(metrics={"acc": acc(arch)})


def _sequence(study):
    return [SPACE.format(t.arch) for t in study.trials]


def _load_quietly(url):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # "the strategy's replay diverged" would fail the test
        return Study.load("s", url)


def _interrupt_once(monkeypatch, cls, method, at, after):
    """``cls.method`` raises KeyboardInterrupt (Ctrl-C) on its ``at``-th call, before doing anything or, ``after``,
    once it did its work."""
    original, calls = getattr(cls, method), {"n": 0}

    def interrupted(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == at and not after:
            raise KeyboardInterrupt
        value = original(self, *args, **kwargs)
        if calls["n"] == at:
            raise KeyboardInterrupt
        return value

    monkeypatch.setattr(cls, method, interrupted)


@pytest.mark.parametrize("strategy", ["evolution", "tpe", "random"])
@pytest.mark.parametrize("method, at, after", [("ask", 7, True), ("tell", 5, False)])
def test_interrupted_ask_or_tell_resumes_the_uninterrupted_sequence(tmp_path, monkeypatch, strategy, method, at,
                                                                    after):
    n = 14
    expected = _sequence(Study(SPACE, strategy, objectives="acc", seed=0).optimize(evaluator, n_trials=n,
                                                                                   progress=False))
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(SPACE, strategy, objectives="acc", seed=0, storage=url, name="s")
    _interrupt_once(monkeypatch, type(study.strategy), method, at, after)
    with pytest.raises(KeyboardInterrupt):
        study.optimize(evaluator, n_trials=n, progress=False)
    study.optimize(evaluator, n_trials=n - study.n_proposals, progress=False)  # the cell run again
    assert _sequence(study) == expected
    assert study.strategy.n_told == len(study.trials)
    study.close()
    loaded = _load_quietly(url)
    assert _sequence(loaded) == expected
    assert loaded.strategy_fingerprint() == study.strategy_fingerprint()
    loaded.close()


def test_interrupted_hand_ask_leaves_the_strategy_as_the_trials_imply(monkeypatch):
    study = Study(SPACE, "evolution", objectives="acc", seed=0)
    reference = Study(SPACE, "evolution", objectives="acc", seed=0)
    for s in (study, reference):
        for _ in range(3):
            s.tell(s.ask(), 60.0)
    _interrupt_once(monkeypatch, type(study.strategy), "ask", 1, after=True)  # the proposal drawn, not stored
    with pytest.raises(KeyboardInterrupt):
        study.ask()
    assert study.strategy_fingerprint() == reference.strategy_fingerprint()
    assert SPACE.format(study.ask().arch) == SPACE.format(reference.ask().arch)


@pytest.mark.parametrize("threads", [2, 4])
def test_a_study_shared_by_threads_tells_each_result_once(tmp_path, monkeypatch, threads):
    from nasforge.experiment.storage.sql import SQLStorage

    finish = SQLStorage.finish_trial

    def slow_finish(self, *args, **kwargs):  # widens the gap between the stored result and memory
        done = finish(self, *args, **kwargs)
        time.sleep(0.002)
        return done

    monkeypatch.setattr(SQLStorage, "finish_trial", slow_finish)
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(SPACE, "evolution", objectives="acc", seed=0, storage=url, name="s")

    def work(_):
        trial = study.ask()
        study.tell(trial, acc(trial.arch))

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(40)))
    assert len(study.trials) == 40 and all(t.done for t in study.trials)
    assert study.strategy.n_told == 40
    study.close()
    _load_quietly(url).close()


@pytest.mark.parametrize("wrap", [lambda x: "%.2f" % x, lambda x: [x], lambda x: None])
def test_an_objective_that_is_no_number_stops_the_run_at_the_first_result(wrap):
    from nasforge.exceptions import UsageError

    calls = []

    def wrong(arch):
        calls.append(arch)
        return {"acc": wrap(acc(arch))}

    study = Study(SPACE, "random", objectives="acc", seed=0)
    with pytest.raises(UsageError, match="first result has an objective that is not a number: metric 'acc' is"):
        study.optimize(wrong, n_trials=10, progress=False)
    assert len(calls) == 1 and study.trials[0].state.value == "FAILED"


def test_another_metric_that_is_no_number_fails_its_trial_and_the_run_goes_on():
    study = Study(SPACE, "random", objectives="acc", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(lambda arch: {"acc": acc(arch), "note": "text"}, n_trials=3, progress=False)
    assert [t.state.value for t in study.trials] == ["FAILED"] * 3


def test_zero_dimensional_arrays_and_tensors_are_numbers():
    import numpy as np

    torch = pytest.importorskip("torch")
    values = [np.array(80.5), torch.tensor(80.5), torch.tensor(80.5, requires_grad=True)]
    study = Study(SPACE, "random", objectives="acc", seed=0)
    for value in values:
        assert study.tell(study.ask(), value).metrics == {"acc": 80.5}
        assert study.tell(study.ask(), {"acc": value}).metrics == {"acc": 80.5}
    returned = iter(values * 3)
    study.optimize(lambda arch: {"acc": next(returned)}, n_trials=3, progress=False)
    study.optimize(lambda arch: next(returned), n_trials=3, progress=False)
    assert [t.metrics["acc"] for t in study.trials[-6:]] == [80.5] * 6
    assert all(t.state.value == "COMPLETE" for t in study.trials)


def test_an_exception_whose_str_raises_fails_its_trial():
    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("no str")

    def objective(arch):
        raise Unprintable()

    study = Study(SPACE, "random", objectives="acc", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(objective, n_trials=2, progress=False)
    assert [t.state.value for t in study.trials] == ["FAILED", "FAILED"]
    assert study.trials[0].error == "Unprintable: <no message: str() of the exception raised RuntimeError>"


def _divide(arch):
    return 1 / (len(arch.genotype) - 6)  # NAS-Bench-201 cells have 6 operations


def test_a_failed_trial_keeps_where_it_failed_and_the_first_failure_warns(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study(SPACE, "random", objectives="acc", seed=0, storage=url, name="s")
    outcomes = iter([evaluator, _divide, evaluator, _divide])
    with pytest.warns(TrialFailedWarning, match="trial 1 FAILED: ZeroDivisionError: division by zero, raised at") as got:
        study.optimize(lambda arch: next(outcomes)(arch), n_trials=4, progress=False)
    assert len([w for w in got if "FAILED" in str(w.message)]) == 1  # once a run
    assert "_divide" in str(got[0].message) and "len(arch.genotype) - 6" in str(got[0].message)
    failed = study.trials[1]
    assert failed.error == "ZeroDivisionError: division by zero"
    where = failed.user_attrs["traceback"]
    assert where.startswith('  File "') and "in _divide" in where and "reporting.py" not in where
    study.close()
    assert Study.load("s", url).trials[1].user_attrs == failed.user_attrs


def test_a_traceback_is_bounded(monkeypatch):
    from nasforge.experiment import reporting

    def deep(n):
        return deep(n - 1) if n else 1 / 0

    def call(*functions):
        try:
            functions[0](*functions[1:])
        except ZeroDivisionError as exc:
            return reporting.failed_result(exc).user_attrs["traceback"]

    where = call(lambda: (lambda: (lambda: (lambda: (lambda: deep(0))())())())())
    assert where.count("File ") == reporting.TRACEBACK_FRAMES and "1 / 0" in where
    monkeypatch.setattr(reporting, "TRACEBACK_CHARS", 100)
    where = call(deep, 3)
    assert len(where) == 100 and where.startswith("...")


def test_printed_trials_of_two_cells_differ():
    from nasforge.experiment.trial import Trial

    cells = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|",
             "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|"]
    printed = [repr(Trial(i, SPACE.parse(cell))) for i, cell in enumerate(cells)]
    assert "'nor_conv_3x3')" in printed[0] and "'avg_pool_3x3')" in printed[1]


def test_numpy_trial_numbers_are_taken():
    import numpy as np

    study = Study(SPACE, "random", objectives="acc", seed=0)
    study.ask()
    frame_number = study.trials_dataframe()["number"].iloc[0]
    assert isinstance(frame_number, np.integer)
    assert study.tell(frame_number, 50.0).metrics == {"acc": 50.0}
    assert study.get_trial(np.int32(0)) is study.trials[0]
    with pytest.raises(Exception, match="a trial is a Trial or its number"):
        study.get_trial(np.bool_(True))


@pytest.mark.parametrize("metrics", [{"val_acc": None}, {"val_acc": "n/a"}])
def test_a_result_failed_by_the_evaluator_with_a_placeholder_metric_does_not_stop_the_run(metrics):
    """Would fail: the first-result check read the placeholder as a misused objective and stopped the run (the
    evaluator itself said the trial failed); the trial keeps the evaluator's own error."""
    calls = []

    def evaluate(arch):
        calls.append(arch)
        return Result(status="failed", error="diverged", metrics=metrics) if len(calls) == 1 else {"val_acc": 1.0}

    study = Study(NASBench201Space(), "random", objectives="val_acc", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrialFailedWarning)
        study.optimize(evaluate, n_trials=4)
    assert [t.state.name for t in study.trials] == ["FAILED"] + ["COMPLETE"] * 3
    assert study.trials[0].error == "diverged" and study.trials[0].metrics == {}


def test_the_stored_traceback_leaves_out_the_marker_lines():
    def evaluate(arch):
        return {"val_acc": 1 / 0 + 1}

    study = Study(NASBench201Space(), "random", objectives="val_acc", seed=0)
    with pytest.warns(TrialFailedWarning):
        study.optimize(evaluate, n_trials=1)
    where = study.trials[0].user_attrs["traceback"]
    assert "1 / 0" in where and "^" not in where and "~" not in where


def test_a_long_genotype_prints_short_and_still_apart():
    """Would fail: the whole DARTS genotype made print(trial) hundreds of characters; cut without a digest, two
    cells differing past the cut printed alike."""
    from nasforge.experiment.trial import Trial
    from nasforge.spaces import get_space

    space = get_space("darts")
    first = space.sample(0)
    second = next(a for a in (space.sample(s) for s in range(1, 50))
                  if repr(a.genotype)[:80] != repr(first.genotype)[:80] or a != first)
    texts = [repr(Trial(i, arch)) for i, arch in enumerate((first, second))]
    assert all(len(t) < 200 for t in texts) and texts[0].split("arch=")[1] != texts[1].split("arch=")[1]
