"""MLP ensemble on an encoding, as in BANANAS (White et al., 2021): mean and spread of several nets."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..spaces import SearchSpace
from .neural import TorchPredictor, import_torch


class MLPEnsemblePredictor(TorchPredictor):
    """``n_models`` fully connected ReLU networks on the standardized encoding."""

    name = "mlp"
    scale_inputs = True

    def __init__(self, space: SearchSpace, encoding: str | None = None, seed: int = 0, n_models: int = 5,
                 hidden: int = 128, layers: int = 3, epochs: int = 150, batch_size: int = 32, lr: float = 1e-3,
                 weight_decay: float = 1e-4, n_threads: int = 1) -> None:
        super().__init__(space, encoding, seed, n_models, hidden, layers, epochs, batch_size, lr, weight_decay,
                         n_threads)

    def _arrays(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        return (x,)

    def _network(self, input_shapes: list[list[int]]) -> Any:
        nn = import_torch().nn
        blocks: list[Any] = []
        width = input_shapes[0][0]
        for _ in range(self.layers):
            blocks += [nn.Linear(width, self.hidden), nn.ReLU()]
            width = self.hidden
        blocks += [nn.Linear(width, 1), nn.Flatten(0)]
        return nn.Sequential(*blocks)
