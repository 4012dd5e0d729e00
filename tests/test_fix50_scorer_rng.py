"""A supernet score of a module that draws random numbers in eval mode (Monte-Carlo dropout) draws them from the
score's own seed, so scoring the same architecture twice gives the same score and the caller's RNG is untouched
(as before SubnetScorer.prepared, 9b49c4da)."""
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from nasforge.data import from_arrays
from nasforge.oneshot import ScoreConfig, SubnetScorer
from nasforge.spaces.model_space import LayerChoice, ModelSpace


class MonteCarloDropout(nn.Module):
    def __init__(self, num_classes=4, in_channels=1):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.op = LayerChoice({"c3": nn.Conv2d(8, 8, 3, padding=1), "c1": nn.Conv2d(8, 8, 1)}, label="op")
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, num_classes))

    def forward(self, x):
        return self.head(F.dropout(self.op(self.stem(x)), 0.5, training=True))  # also at evaluation


def test_a_score_that_draws_at_evaluation_is_repeatable_and_leaves_the_global_rng():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 96)
    x = rng.normal(size=(96, 8, 8)).astype(np.float32)
    data = from_arrays("toy", (x[:48], y[:48]), (x[48:80], y[48:80]), (x[80:], y[80:]), 4)
    space = ModelSpace(MonteCarloDropout, num_classes=4, input_shape=(1, 8, 8))
    scorer = SubnetScorer(space.supernet(), data, ScoreConfig(bn_mode="recalibrate", recal_batches=1))
    arch = space.parse("op=c3")
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = scorer.score(arch)
    assert torch.equal(torch.get_rng_state(), state)  # would fail: the evaluation drew from the caller's RNG
    assert scorer.score(arch) == first
