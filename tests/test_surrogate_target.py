"""The ``warped`` surrogate: any surrogate fitted on a monotone transform of the scores (``copula``,
``log_error``), predictions mapped back; round trips, monotone, positive std, exact Thompson draws."""

import numpy as np
import pytest

from nasforge.exceptions import NotFittedError, UsageError
from nasforge.experiment import Study
from nasforge.spaces import get_space
from nasforge.strategies.model_based import make_surrogate
from nasforge.strategies.model_based.surrogates import WarpedSurrogate

SPACE = get_space("nb201")
SMALL = {"name": "ensemble", "predictor": "lgb", "n_members": 3, "n_estimators": 30, "num_leaves": 7,
         "min_child_samples": 2}
INNER = {"name": "residual", "base": SMALL}
KNOWN = {"name": "known", "cost": "conv_proxy", "sign": -1}
ARCHS = [SPACE.sample(np.random.default_rng(i)) for i in range(40)]


def _scores() -> np.ndarray:
    """A long lower tail, a crowded top and ties, like NB201 accuracies."""
    rng = np.random.default_rng(3)
    y = np.concatenate([rng.uniform(10, 80, 10), 88 + 3 * rng.random(26), [85.0, 85.0, 90.5, 90.5]])
    return np.round(y, 2)


@pytest.fixture(scope="module", params=["copula", "log_error"])
def fitted(request) -> WarpedSurrogate:
    return make_surrogate({"name": "warped", "inner": INNER, "transform": request.param}, SPACE).fit(
        ARCHS, _scores(), seed=1)


def test_transform_round_trips_on_the_training_scores_and_is_monotone(fitted):
    y = _scores()
    t = fitted.forward(y)
    assert np.allclose(fitted.inverse(t), y, atol=1e-9)
    assert t[y.argmax()] > t[y.argmin()] and np.all(np.diff(t[np.argsort(y)]) >= 0)
    assert t[-1] == t[-2] and t[-3] == t[-4]  # ties get the same value
    grid = np.linspace(t.min() - 3, t.max() + 3, 500)
    back = fitted.inverse(grid)
    assert np.all(np.diff(back) > 0)  # strictly increasing, also beyond the training range
    assert back[-1] > y.max() and back[0] < y.min()


def test_copula_stretches_the_top():
    """The best scores are spread out in t: the top 26 (within 3 points) span more than the 10 of the tail."""
    y = _scores()
    model = WarpedSurrogate(SPACE, INNER, "copula").fit(ARCHS, y, seed=0)
    t = model.forward(y)
    top, tail = y >= 88, y < 80
    assert np.ptp(t[top]) > np.ptp(t[tail])


def test_predictions_map_back_with_a_positive_std(fitted):
    mean, std = fitted.predict(ARCHS[:10] + [SPACE.sample(np.random.default_rng(99))])
    assert np.all(np.isfinite(mean)) and np.all(std > 0)
    mean_t, std_t = fitted.inner.predict(ARCHS[:10])
    assert np.allclose(mean[:10], fitted.inverse(mean_t))


def test_thompson_draws_are_exact_in_t(fitted):
    archs = ARCHS[:8]
    draws = fitted.sample(archs, np.random.default_rng(7))
    inner = fitted.inner.sample(archs, np.random.default_rng(7))
    assert np.allclose(draws, fitted.inverse(inner))


def test_log_error_bound_and_bad_specs():
    y = _scores()
    model = WarpedSurrogate(SPACE, INNER, "log_error", bound=100.0).fit(ARCHS, y, seed=0)
    assert np.allclose(model.forward(y), -np.log(100.0 - y))
    assert np.all(model.inverse(np.linspace(-10, 10, 50)) < 100.0)
    with pytest.raises(UsageError, match="bound"):
        WarpedSurrogate(SPACE, INNER, "log_error", bound=50.0).fit(ARCHS, y, seed=0)
    for spec, word in (({"transform": "box_cox"}, "transform"), ({"margin": 0}, "margin"),
                       ({"bound": "high"}, "bound"), ({"inner": "nope"}, "nope")):
        with pytest.raises(UsageError, match=word):
            make_surrogate({"name": "warped", **spec}, SPACE)
    with pytest.raises(NotFittedError):
        WarpedSurrogate(SPACE, INNER).predict(ARCHS[:2])


def test_ts_hvi_with_a_warped_surrogate_is_seeded():
    """Two studies with the same seed and the warped surrogate ask for the same architectures."""
    def run(seed: int) -> list:
        study = Study(SPACE, "ts_hvi", objectives=["acc", "cost"], directions=["maximize", "minimize"], seed=seed,
                      n_initial=4, refit_every=3, gain="pnd", surrogates=[
                          {"name": "warped", "inner": INNER, "transform": "copula"}, KNOWN])
        for _ in range(9):
            trial = study.ask()
            g = trial.arch.genotype
            study.tell(trial, {"acc": 50.0 + 5 * g.count("nor_conv_3x3") + g.count("skip_connect"),
                               "cost": 9.0 * g.count("nor_conv_3x3") + g.count("nor_conv_1x1")})
        return [t.arch for t in study.trials]

    first = run(5)
    assert run(5) == first
