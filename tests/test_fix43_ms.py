"""Model spaces (review ms43): a network that cannot run on the data fails its own trial even when it finishes
first, while a misfit of every network still stops the run as misuse."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from nasforge.exceptions import UsageError  # noqa: E402
from nasforge.spaces.model_space import ModelSpace, ValueChoice  # noqa: E402


class Unpadded(nn.Module):
    """Two unpadded convolutions: on 8x8 images only k=5 with k2=5 leaves nothing to convolve (``pad`` pads
    the second one, so that every network runs; ``grow`` makes every network need more than 8x8)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, pad: int = 0, grow: int = 0) -> None:
        super().__init__()
        k, k2 = ValueChoice([3, 5], label="k"), ValueChoice([3, 5], label="k2")
        self.a = nn.Conv2d(in_channels, 4, k + grow)
        self.b = nn.Conv2d(4, 4, k2, padding=pad)
        self.h = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.h(self.b(self.a(x)))


def _study(tmp_path: Path, space: ModelSpace):  # noqa: ANN202 - a Study
    from nasforge import Study

    return Study(space, "grid", objectives="val_acc", name="s", storage=f"sqlite:///{tmp_path / 's.db'}")


def test_a_network_that_cannot_run_fails_its_trial_even_when_it_finishes_first(tmp_path: Path,
                                                                                torch_one_thread) -> None:
    from nasforge.experiment import TrialState

    space = ModelSpace(Unpadded, input_shape=(1, 8, 8))
    study = _study(tmp_path, space)
    study.enqueue(space.parse("k=5|k2=5"))  # the first trial to finish: once a UsageError that stopped the run
    study.enqueue(space.parse("k=3|k2=3"))
    study.optimize(space.evaluator("digits", train={"epochs": 1}), 2, max_retries=2)
    states = [(space.format(t.arch), t.state) for t in study.trials]
    assert states[:2] == [("k=5|k2=5", TrialState.FAILED), ("k=3|k2=3", TrialState.COMPLETE)], states
    assert [t.state for t in study.trials].count(TrialState.FAILED) == 1, states  # not re-run
    assert study.trials[0].error.startswith("ArchitectureError: the network of k=5|k2=5 cannot run on images of "
                                            "shape [1, 8, 8]: "), study.trials[0].error


def test_a_misfit_of_every_network_still_stops_the_run_as_misuse(tmp_path: Path, torch_one_thread) -> None:
    space = ModelSpace(Unpadded, input_shape=(1, 16, 16), grow=4)  # runs on 16x16, not on digits' 8x8
    study = _study(tmp_path, space)
    with pytest.raises(UsageError, match=r"refused the trial as misuse .*the network of k=3\|k2=3 cannot run on "):
        study.optimize(space.evaluator("digits", train={"epochs": 1}), 2)
    assert len(study.trials) == 1
