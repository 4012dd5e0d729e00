"""Supernet of the DARTS cell space (single path): every (node, input) edge of both cell types holds all
seven operations; an architecture switches on the two chosen edges of each node."""

from __future__ import annotations

from dataclasses import asdict

import torch
from torch import nn

from ..models.layers import BATCH_NORM, ClassifierHead, FactorizedReduce, Norm, ReLUConvBN, make_op
from ..spaces import Architecture, DartsSpace
from ..spaces.darts import CONCAT, DARTS_OPS, NODES
from .mixed import MixedOp, add


class DartsSuperCell(nn.Module):
    """A DARTS cell with a ``MixedOp`` on every edge ``(input i -> node j)``, ``i < j``."""

    def __init__(self, C_pp: int, C_p: int, C: int, reduction: bool, reduction_prev: bool, norm: Norm,
                 drop_path: float) -> None:
        super().__init__()
        self.reduction = reduction
        self.pre0 = FactorizedReduce(C_pp, C, norm=norm) if reduction_prev else ReLUConvBN(C_pp, C, 1, norm=norm)
        self.pre1 = ReLUConvBN(C_p, C, 1, norm=norm)
        self.edges = nn.ModuleDict({
            f"{i}_{j}": MixedOp({op: make_op(op, C, C, 2 if reduction and i < 2 else 1, norm) for op in DARTS_OPS},
                                drop_path)
            for j in NODES for i in range(j)})

    def activate(self, cell: tuple[tuple[str, int], ...]) -> None:
        for edge in self.edges.values():
            edge.active, edge.weights = None, None
        for k, (op, src) in enumerate(cell):
            self.edges[f"{src}_{NODES[k // 2]}"].active = DARTS_OPS.index(op)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states: list[torch.Tensor | None] = [self.pre0(s0), self.pre1(s1)]
        for j in NODES:
            total = None
            for i in range(j):
                if states[i] is not None:
                    total = add(total, self.edges[f"{i}_{j}"](states[i]))
            states.append(total)
        return torch.cat([states[i] for i in CONCAT], dim=1)


class DartsSupernet(nn.Module):
    """:class:`~nasforge.models.DartsNetwork`'s skeleton (3C stem, 3 stages of ``N`` normal cells, reduction
    cells between stages, no auxiliary head) built from :class:`DartsSuperCell`; single path only."""

    def __init__(self, num_classes: int, in_channels: int = 3, C: int = 16, N: int = 2, norm: Norm = BATCH_NORM,
                 drop_path: float = 0.0, space: DartsSpace | None = None) -> None:
        super().__init__()
        self.space = space or DartsSpace()
        self.config = {"num_classes": num_classes, "in_channels": in_channels, "C": C, "N": N,
                       "norm": asdict(norm), "drop_path": drop_path}
        self.stem = nn.Sequential(nn.Conv2d(in_channels, 3 * C, 3, padding=1, bias=False), nn.BatchNorm2d(3 * C))
        C_pp, C_p, C_cur = 3 * C, 3 * C, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        for stage in range(3):
            for i in range(N + (stage > 0)):
                reduction = stage > 0 and i == 0
                C_cur = C_cur * 2 if reduction else C_cur
                self.cells.append(DartsSuperCell(C_pp, C_p, C_cur, reduction, reduction_prev, norm, drop_path))
                C_pp, C_p, reduction_prev = C_p, len(CONCAT) * C_cur, reduction
        self.head = ClassifierHead(C_p, num_classes)

    def activate(self, arch: Architecture) -> None:
        self.space.validate(arch)
        normal, reduce = arch.genotype
        for cell in self.cells:
            cell.activate(reduce if cell.reduction else normal)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.head(s1)
