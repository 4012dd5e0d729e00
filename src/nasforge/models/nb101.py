"""The NAS-Bench-101 network: a conv stem, 3 stacks of N cells, max-pool downsampling between stacks."""

from __future__ import annotations

import torch
from torch import nn

from ..spaces import Architecture
from ..exceptions import UsageError
from ..spaces.nb101 import MAX_VERTICES, canonical_cell, check_genotype, prune
from .layers import ConvBNReLU, check_size, make_op


def vertex_channels(C_in: int, C_out: int, matrix: tuple[tuple[int, ...], ...]) -> list[int]:
    """Channels of every vertex, as NAS-Bench-101 assigns them: the output's channels are split among the
    vertices feeding it, and other vertices take the largest width among their successors."""
    n = len(matrix)
    channels = [0] * n
    channels[0], channels[-1] = C_in, C_out
    if n == 2:
        return channels
    in_degree = sum(matrix[v][n - 1] for v in range(1, n - 1))
    if C_out < in_degree:
        raise UsageError(f"C={C_out} channels cannot be split among the {in_degree} vertices feeding the cell's "
                         f"output (each needs one); use C >= {in_degree}")
    interior, correction = divmod(C_out, in_degree)
    for v in range(1, n - 1):
        if matrix[v][n - 1]:
            channels[v] = interior + (1 if correction > 0 else 0)
            correction -= 1
    for v in range(n - 3, 0, -1):
        if not matrix[v][n - 1]:
            channels[v] = max(channels[dst] for dst in range(v + 1, n - 1) if matrix[v][dst])
    return channels


class NB101Cell(nn.Module):
    """A NAS-Bench-101 cell (pruned DAG). Each interior vertex applies its op to the sum of its inputs
    (predecessor outputs truncated to its width, the cell input through a 1x1 projection); the output
    concatenates the vertices feeding it, plus the projected input if it is wired to the output."""

    def __init__(self, matrix: tuple[tuple[int, ...], ...], ops: tuple[str, ...], C_in: int, C_out: int) -> None:
        super().__init__()
        self.matrix = matrix
        n = len(ops)
        self.channels = vertex_channels(C_in, C_out, matrix)
        self.projections = nn.ModuleDict({str(t): ConvBNReLU(C_in, self.channels[t], 1)
                                          for t in range(1, n) if matrix[0][t]})
        self.ops = nn.ModuleDict({str(t): make_op(ops[t], self.channels[t], self.channels[t])
                                  for t in range(1, n - 1)})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = len(self.matrix)
        states: list[torch.Tensor] = [x]
        for t in range(1, n - 1):
            inputs = [states[src][:, :self.channels[t]] for src in range(1, t) if self.matrix[src][t]]
            if self.matrix[0][t]:
                inputs.append(self.projections[str(t)](x))
            states.append(self.ops[str(t)](sum(inputs)))
        outputs = [states[src] for src in range(1, n - 1) if self.matrix[src][n - 1]]
        out = torch.cat(outputs, dim=1) if outputs else None
        if self.matrix[0][n - 1]:
            projected = self.projections[str(n - 1)](x)
            out = projected if out is None else out + projected
        return out


class NB101Network(nn.Module):
    """NAS-Bench-101 skeleton: 3x3 conv-BN-ReLU stem (C channels), 3 stacks of ``N`` cells, channels
    doubled and resolution halved (2x2 max-pool) between stacks, global pooling, linear (C=128, N=3).

    The cells are built from the canonical form of the cell (pruned, nodes in canonical order), so isomorphic
    cells build the same network: NAS-Bench-101's channel rule (:func:`vertex_channels`) hands spare channels
    to the lowest-numbered vertices, which depends on the node order. ``canonical=False`` builds the pruned
    cell in its given node order, as the reference code and nasforge before 2026-12-05 did (saved networks of
    those versions load that way)."""

    @staticmethod
    def check_size(C: int, **_: int) -> None:
        """``UsageError`` unless every cell of the space can be built at width ``C``: up to
        ``MAX_VERTICES - 2`` vertices feed a cell's output, and each needs a channel (checked once, up front,
        so that a small width is not a failure of only the cells it happens to hit)."""
        if C < MAX_VERTICES - 2:
            raise UsageError(f"C={C}: NAS-Bench-101 cells need C >= {MAX_VERTICES - 2} (up to {MAX_VERTICES - 2} "
                             "vertices feed a cell's output, each with at least one channel)")

    def __init__(self, arch: Architecture, num_classes: int, in_channels: int = 3, C: int = 128, N: int = 3,
                 canonical: bool = True) -> None:
        super().__init__()
        check_size("NB101Network", C, N)
        genotype = check_genotype(arch.genotype)
        self.canonical = canonical  # how the cells were built: save_model records it
        matrix, ops = canonical_cell(genotype) if canonical else prune(genotype)  # type: ignore[misc]
        layers: list[nn.Module] = [ConvBNReLU(in_channels, C, 3)]
        C_prev = C
        for stack in range(3):
            if stack > 0:
                layers.append(nn.MaxPool2d(2, 2))
                C *= 2
            for _ in range(N):
                layers.append(NB101Cell(matrix, ops, C_prev, C))
                C_prev = C
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(C_prev, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
