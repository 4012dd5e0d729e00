"""The DARTS evaluation network: normal and reduction cells, stem, optional auxiliary head, drop-path."""

from __future__ import annotations

import torch
from torch import nn

from ..checks import check_bool, check_real
from ..spaces import Architecture
from ..spaces.darts import CONCAT, EDGE_NODE, DartsSpace
from .layers import ClassifierHead, DropPath, FactorizedReduce, ReLUConvBN, check_size, make_op


def darts_stem(in_channels: int, C: int) -> nn.Sequential:
    """The 3x3 conv stem (3C channels) of DARTS's network and supernet."""
    return nn.Sequential(nn.Conv2d(in_channels, 3 * C, 3, padding=1, bias=False), nn.BatchNorm2d(3 * C))


def darts_cell_plan(C: int, N: int) -> list[tuple[int, int, int, bool, bool]]:
    """``(C_pp, C_p, C, reduction, reduction_prev)`` of every cell of DARTS's network after the 3C stem:
    3 stages of ``N`` normal cells, a reduction cell doubling the channels before stages 2 and 3."""
    plan = []
    C_pp, C_p, C_cur, reduction_prev = 3 * C, 3 * C, C, False
    for stage in range(3):
        for i in range(N + (stage > 0)):
            reduction = stage > 0 and i == 0
            C_cur = 2 * C_cur if reduction else C_cur
            plan.append((C_pp, C_p, C_cur, reduction, reduction_prev))
            C_pp, C_p, reduction_prev = C_p, len(CONCAT) * C_cur, reduction
    return plan


class DartsCell(nn.Module):
    """One DARTS cell: two preprocessed inputs, four nodes each summing two (op, input) pairs, output
    the concatenation of nodes 2..5. In a reduction cell the edges reading the inputs have stride 2."""

    def __init__(self, cell: tuple[tuple[str, int], ...], C_pp: int, C_p: int, C: int, reduction: bool,
                 reduction_prev: bool, drop_path: float = 0.0) -> None:
        super().__init__()
        self.reduction = reduction
        self.pre0 = FactorizedReduce(C_pp, C) if reduction_prev else ReLUConvBN(C_pp, C, 1)
        self.pre1 = ReLUConvBN(C_p, C, 1)
        self.pairs = [(op, src) for op, src in cell]
        self.ops = nn.ModuleList(make_op(op, C, C, 2 if reduction and src < 2 else 1) for op, src in cell)
        self.drop = DropPath(drop_path)
        self.multiplier = len(CONCAT)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        for node in sorted(set(EDGE_NODE)):
            total = None
            for k, ((_, src), op) in enumerate(zip(self.pairs, self.ops)):
                if EDGE_NODE[k] != node:
                    continue
                out = op(states[src])
                if not isinstance(op, nn.Identity):
                    out = self.drop(out)
                total = out if total is None else total + out
            states.append(total)
        return torch.cat([states[i] for i in CONCAT], dim=1)


class AuxiliaryHead(nn.Module):
    """DARTS's auxiliary classifier (pool to 2x2, 1x1 conv 128, 2x2 conv 768, linear), any input size; used in
    training only, so ``count_params`` leaves it out of the deployed network's size. It pools with
    ``AdaptiveAvgPool2d(2)``, not DARTS's ``AvgPool2d(5, stride=3)`` (which needs a 5x5 map): same parameters,
    other pooled features."""

    training_only = True

    def __init__(self, C: int, num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.ReLU(inplace=False), nn.AdaptiveAvgPool2d(2),
                                      nn.Conv2d(C, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=True),
                                      nn.Conv2d(128, 768, 2, bias=False), nn.BatchNorm2d(768), nn.ReLU(inplace=True),
                                      nn.Flatten())
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class DartsNetwork(nn.Module):
    """DARTS's CIFAR network: 3x3 conv stem (3C), then 3 stages of ``N`` normal cells with a reduction
    cell (doubling the channels) between stages (``3N + 2`` cells; DARTS uses C=36, 20 cells).

    ``auxiliary=True`` adds the auxiliary head after the second reduction; while training, its logits
    are kept in ``aux_logits`` for the trainer's auxiliary loss (it is not part of the deployed network: it
    runs only in training, and ``count_params`` leaves it out). ``drop_path`` (in [0, 1)) is the probability of
    dropping each non-identity edge while training, constant from the first epoch (DARTS ramps it up linearly).
    """

    def __init__(self, arch: Architecture, num_classes: int, in_channels: int = 3, C: int = 36, N: int = 6,
                 auxiliary: bool = False, drop_path: float = 0.0) -> None:
        super().__init__()
        check_size("DartsNetwork", C, N)
        check_real("DartsNetwork: drop_path", drop_path, lambda v: 0 <= v < 1,
                   "a number in [0, 1) (the probability of dropping an edge while training)")
        if not (isinstance(auxiliary, int) and auxiliary in (0, 1)):  # 0/1: as a model.json may have stored it
            check_bool("DartsNetwork: auxiliary", auxiliary)
        DartsSpace().validate(arch)  # also where create_model is handed a genotype
        normal, reduce = arch.genotype
        self.stem = darts_stem(in_channels, C)
        plan = darts_cell_plan(C, N)  # (C_pp, C_p, C, reduction, reduction_prev) per cell
        self.cells = nn.ModuleList(DartsCell(reduce if cell[3] else normal, *cell, drop_path) for cell in plan)
        self.aux_index = [i for i, cell in enumerate(plan) if cell[3]][1]  # the second reduction cell
        self.auxiliary = AuxiliaryHead(len(CONCAT) * plan[self.aux_index][2], num_classes) if auxiliary else None
        self.head = ClassifierHead(len(CONCAT) * plan[-1][2], num_classes)
        self.aux_logits: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        self.aux_logits = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1)
            if i == self.aux_index and self.auxiliary is not None and self.training:
                self.aux_logits = self.auxiliary(s1)
        return self.head(s1)
