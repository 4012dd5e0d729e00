"""predictors eval: a held-out set filled mostly by copies of one network is warned about, naming the seed."""
import warnings

import numpy as np
import pytest

import nasforge.predictors.evaluation as evaluation
from nasforge.predictors.evaluation import evaluate_predictors
from nasforge.spaces import ChainSpace

SPACE = ChainSpace.uniform(3, ["a", "b", "c", "d", "e"])
ARCHS = list(dict.fromkeys(SPACE.sample(np.random.default_rng(i)) for i in range(300)))[:50]
Y = np.arange(len(ARCHS), dtype=float)


def test_a_seed_whose_held_out_set_is_mostly_one_network_is_warned(monkeypatch):
    """Would fail: nothing said that a seed's scores ranked a handful of distinct networks."""
    big = list(range(30))  # rows 0..29 stand for copies of one network, the other 20 for one network each
    monkeypatch.setattr(evaluation, "_classes", lambda space, archs: [big] + [[i] for i in range(30, 50)])
    with pytest.warns(UserWarning, match=r"seed 0: (2\d|30) of its 40 held-out architectures are copies of one "
                                         r"network .* a larger test size \(now 40\)"):
        evaluate_predictors(SPACE, ARCHS, Y, ["knn"], train_sizes=[5], seeds=1, test_size=40)


def test_held_out_sets_of_distinct_networks_are_not_warned():
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        evaluate_predictors(SPACE, ARCHS, Y, ["knn"], train_sizes=[5], seeds=3, test_size=40)
