"""The NAS-Bench-201 network: stem, three stages of N cells, residual reduction blocks between stages."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..spaces import Architecture
from ..spaces.nb201 import NB201_EDGES, NASBench201Space
from .layers import ClassifierHead, ResNetBasicBlock, check_size, make_op


class NB201Cell(nn.Module):
    """A 4-node cell; node j sums op(i, j)(node i) over its incoming edges, node 3 is the output.

    Only edges on a path from the input to the output are built (a ``none`` edge or a dead node
    contributes nothing), so the parameter count and FLOPs are those of the computation performed.
    A cell whose output is cut off from its input returns zeros.
    """

    def __init__(self, ops: tuple[str, ...], C: int) -> None:
        super().__init__()
        reaches_input = {0}
        for (src, dst), op in zip(NB201_EDGES, ops):
            if op != "none" and src in reaches_input:
                reaches_input.add(dst)
        reaches_output = {3}
        for (src, dst), op in reversed(list(zip(NB201_EDGES, ops))):
            if op != "none" and dst in reaches_output:
                reaches_output.add(src)
        self.live = [(src, dst) for (src, dst), op in zip(NB201_EDGES, ops)
                     if op != "none" and src in reaches_input and dst in reaches_output]
        self.edges = nn.ModuleDict({f"{src}_{dst}": make_op(ops[NB201_EDGES.index((src, dst))], C, C, 1)
                                    for src, dst in self.live})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes: dict[int, torch.Tensor] = {0: x}
        for src, dst in self.live:  # edges are in topological order
            out = self.edges[f"{src}_{dst}"](nodes[src])
            nodes[dst] = nodes[dst] + out if dst in nodes else out
        return nodes.get(3, torch.zeros_like(x))


class NB201Network(nn.Module):
    """NAS-Bench-201 skeleton: 3x3 conv stem (C), stages of ``N`` cells at C, 2C, 4C channels joined by
    stride-2 residual blocks, then BN-ReLU, global pooling and a linear classifier (C=16, N=5 in the benchmark)."""

    def __init__(self, arch: Architecture, num_classes: int, in_channels: int = 3, C: int = 16, N: int = 5) -> None:
        super().__init__()
        check_size("NB201Network", C, N)
        NASBench201Space().validate(arch)  # six known operations, also where create_model is handed a genotype
        ops = tuple(arch.genotype)
        self.stem, self.cells, self.head = nb201_skeleton(lambda C_stage: NB201Cell(ops, C_stage), num_classes,
                                                          in_channels, C, N)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.cells(self.stem(x)))


def nb201_skeleton(make_cell: Callable[[int], nn.Module], num_classes: int, in_channels: int, C: int,
                   N: int) -> tuple[nn.Sequential, nn.Sequential, ClassifierHead]:
    """Stem, cells and head of the NAS-Bench-201 network, ``make_cell(channels)`` building each cell; the
    standalone network and the supernet share it (modules are created in forward order)."""
    stem = nn.Sequential(nn.Conv2d(in_channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
    layers: list[nn.Module] = []
    C_prev = C
    for stage in range(3):
        C_stage = C * 2**stage
        if stage > 0:
            layers.append(ResNetBasicBlock(C_prev, C_stage, stride=2))
        layers.extend(make_cell(C_stage) for _ in range(N))
        C_prev = C_stage
    return stem, nn.Sequential(*layers), ClassifierHead(C_prev, num_classes, pre_act=True)
