"""Review 39 of predictors and surrogate benchmarks: worker-independent surrogate noise, refits that keep the old
model when interrupted, name/version checks, early target checks, clean failed saves and clearer messages."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from predictor_data import seed_table

from nasforge.benchmarks import SurrogateBenchmark, TabularBenchmark
from nasforge.evaluators import SurrogateEvaluator
from nasforge.spaces import NASBench201Space

FAST_LGB = {"n_estimators": 50, "learning_rate": 0.1}


@pytest.fixture(scope="module")
def table():
    return TabularBenchmark(seed_table(120, seeds=2, noise=1.0), NASBench201Space(), name="synthetic")


@pytest.fixture(scope="module")
def surrogate(table):
    return SurrogateBenchmark.fit(table.space, table, model="lgb", model_params=FAST_LGB, noise_model=0.3,
                                  holdout=0.0, seed=0)


def test_noisy_draws_do_not_depend_on_the_worker(surrogate, table):
    evaluator = SurrogateEvaluator(surrogate, noisy=True, seed=0)
    archs = table.archs[:12]
    inline = [evaluator.evaluate(a).metrics["val_acc"] for a in archs]
    assert len(set(inline)) == 12  # every architecture its own draw
    # a worker gets a pickled copy: two copies evaluating half the trials each give the same values
    first, second = pickle.loads(pickle.dumps(evaluator)), pickle.loads(pickle.dumps(evaluator))
    split = [first.evaluate(a).metrics["val_acc"] for a in archs[::2]]
    split += [second.evaluate(a).metrics["val_acc"] for a in archs[1::2]]
    assert sorted(split) == sorted(inline)
    assert [evaluator.evaluate(a).metrics["val_acc"] for a in reversed(archs)] == inline[::-1]  # order-free
    other = SurrogateEvaluator(surrogate, noisy=True, seed=1).evaluate(archs[0]).metrics["val_acc"]
    assert other != inline[0]


def _interrupted_refit(model, archs, y, monkeypatch, method: str, after: int) -> None:
    """Refit ``model`` on ``y`` with ``method`` raising KeyboardInterrupt at its call number ``after``."""
    original, calls = getattr(type(model), method), []

    def interrupting(self, *args):
        calls.append(1)
        if len(calls) == after:
            raise KeyboardInterrupt
        return original(self, *args)

    monkeypatch.setattr(type(model), method, interrupting)
    with pytest.raises(KeyboardInterrupt):
        model.fit(archs, y)
    monkeypatch.undo()


@pytest.mark.parametrize("name, options, method, after", [
    ("knn", {}, "_fit", 1),
    ("lgb", {"n_estimators": 20}, "_fit", 1),
    ("mlp", {"epochs": 2, "n_models": 2}, "_network", 2),  # the second network of the refit is interrupted
])
def test_an_interrupted_refit_keeps_the_previous_fit(name, options, method, after, table, monkeypatch):
    from nasforge.predictors import get_predictor

    if name == "mlp":
        pytest.importorskip("torch")
    archs, y = table.archs[:60], table.values("val_acc")[:60]
    model = get_predictor(name, table.space, **options).fit(archs, y)
    before = model.predict(table.archs[60:90])
    _interrupted_refit(model, archs, 100 - y, monkeypatch, method, after)
    assert model.is_fitted
    np.testing.assert_array_equal(model.predict(table.archs[60:90]), before)
