"""Review 51 fixes of real training: a network that edits its input in place leaves the data set as it was, and
the opt-in BatchNorm re-estimation before validation (``bn_mode="recalibrate"``)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from nasforge.data import from_arrays  # noqa: E402
from nasforge.training import TrainConfig, Trainer  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _images(n: int = 60, seed: int = 0):
    """Centred (half negative) 8x8 one-channel images of 4 classes, split 50 / 30 / 20 %."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = rng.normal(size=(n, 8, 8)).astype(np.float32) + y[:, None, None] * np.eye(8, dtype=np.float32)
    a, b = n // 2, n * 8 // 10
    return from_arrays("toy", (x[:a], y[:a]), (x[a:b], y[a:b]), (x[b:], y[b:]), 4, augment="none")


class _InPlace(nn.Module):
    """A network whose first op is an in-place ReLU on its input (a pre-activation block without a stem)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.act, self.head = nn.ReLU(inplace=True), nn.Sequential(nn.Flatten(), nn.Linear(64, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.act(x))


def _splits(data) -> list[torch.Tensor]:
    return [t.clone() for t in (data.x_train, data.x_val, data.x_test)]


def _unchanged(data, before: list[torch.Tensor]) -> bool:
    return all(torch.equal(a, b) for a, b in zip((data.x_train, data.x_val, data.x_test), before))


def _editing_input(model: nn.Module) -> nn.Module:
    """``model`` with a hook that clamps its input in place before every forward pass."""
    def clamp(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        args[0].clamp_(min=0)

    model.register_forward_pre_hook(clamp)
    return model


# -- 1. the data set is never edited by the network trained or scored -------------------------------------------
def test_training_a_network_that_edits_its_input_leaves_validation_and_test_images_as_they_were():
    data = _images()
    before = _splits(data)
    result = Trainer(TrainConfig(epochs=2, batch_size=16, eval_batch_size=7)).fit(_InPlace(), data)
    assert _unchanged(data, before)
    again = Trainer(TrainConfig(epochs=2, batch_size=16, eval_batch_size=7)).fit(_InPlace(), data)
    assert (again.val_acc, again.test_acc) == (result.val_acc, result.test_acc)  # the next training sees the same
    merged = _images()
    Trainer(TrainConfig(epochs=1, batch_size=16)).fit(_InPlace(), merged, merge_val=True)
    assert _unchanged(merged, before)


def test_scoring_with_a_supernet_that_edits_its_input_leaves_the_scored_split_as_it_was():
    from nasforge.oneshot import ScoreConfig, SubnetScorer, build_supernet

    data = _images()
    before = _splits(data)
    net = _editing_input(build_supernet("nb201", 4, 1, C=2, N=1))
    for mode in ("inherited", "batch", "recalibrate"):
        scorer = SubnetScorer(net, data, ScoreConfig(bn_mode=mode, eval_batch_size=7))
        scorer.score(net.space.sample(np.random.default_rng(0)))
    assert _unchanged(data, before)


def test_the_search_check_that_a_network_fits_the_data_leaves_its_training_images_as_they_were(monkeypatch):
    from nasforge.evaluators import TrainingEvaluator
    from nasforge.pipelines.search import _check_network_fits
    from nasforge.spaces import get_space

    data = _images()
    evaluator = TrainingEvaluator(data, C=2, N=1)
    build = evaluator.build
    monkeypatch.setattr(evaluator, "build", lambda arch, fidelity=None: (_editing_input(build(arch)[0]),
                                                                         *build(arch)[1:]))
    before = _splits(data)
    _check_network_fits(evaluator, get_space("nb201"))
    assert _unchanged(data, before)
