"""Graph isomorphism network on the operation-on-node graph, in plain PyTorch (dense adjacency).

No torch_scatter / torch-geometric: a batch is a padded (B, N, F) node-feature tensor, a (B, N, N)
adjacency tensor and a (B, N) mask, and message passing is a batched matrix product. Each layer
updates a node from itself and the sums over its predecessors and its successors (a GIN update
that keeps the edge direction); the readout concatenates the mean node embedding with the output
node's embedding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..spaces import Architecture, SearchSpace
from .encodings import GraphBatch, graph_tensors
from .neural import TorchPredictor, import_torch


def _gin_network(n_features: int, hidden: int, layers: int) -> Any:
    torch = import_torch()
    nn = torch.nn

    class GIN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Linear(n_features, hidden)
            self.convs = nn.ModuleList(
                nn.Sequential(nn.Linear(3 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
                for _ in range(layers))
            self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
            self.head = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

        def forward(self, features: Any, adjacency: Any, mask: Any) -> Any:
            keep = mask.unsqueeze(-1)
            h = torch.relu(self.embed(features)) * keep
            for conv, norm in zip(self.convs, self.norms):
                incoming = adjacency.transpose(1, 2) @ h
                outgoing = adjacency @ h
                h = norm(h + torch.relu(conv(torch.cat([h, incoming, outgoing], dim=-1)))) * keep
            pooled = h.sum(1) / keep.sum(1).clamp(min=1.0)
            return self.head(torch.cat([pooled, h[:, -1]], dim=-1)).squeeze(-1)

    return GIN()


class GINPredictor(TorchPredictor):
    """GIN regressor on :func:`~nasforge.predictors.encodings.graph_tensors` (``encoding="graph"``)."""

    name = "gin"
    default_encoding = "graph"
    encodings = ("graph",)

    def __init__(self, space: SearchSpace, encoding: str | None = None, seed: int = 0, n_models: int = 1,
                 hidden: int = 64, layers: int = 3, epochs: int = 150, batch_size: int = 32, lr: float = 2e-3,
                 weight_decay: float = 1e-5, n_threads: int = 1) -> None:
        super().__init__(space, encoding, seed, n_models, hidden, layers, epochs, batch_size, lr, weight_decay,
                         n_threads)

    def _encode(self, archs: Sequence[Architecture]) -> GraphBatch:
        return graph_tensors(self.space, archs)

    def _arrays(self, x: GraphBatch) -> tuple[np.ndarray, ...]:
        return x.features, x.adjacency, x.mask

    def _network(self, input_shapes: list[list[int]]) -> Any:
        return _gin_network(input_shapes[0][-1], self.hidden, self.layers)
