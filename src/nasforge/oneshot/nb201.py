"""The NAS-Bench-201 supernet: the standalone network's skeleton with a ``MixedOp`` on every cell edge."""

from __future__ import annotations

from ..extras import require

require("torch", __name__)  # without the torch extra: one line naming it, not a bare ModuleNotFoundError

import copy
from collections.abc import Sequence
from dataclasses import asdict

import torch
from torch import nn

from ..models.layers import BATCH_NORM, DropPath, Norm, make_op
from ..models.nb201 import nb201_skeleton
from ..spaces import Architecture, NASBench201Space
from ..spaces.nb201 import NB201_EDGES, NB201_OPS
from .mixed import MixedOp, add


class NB201SuperCell(nn.Module):
    """A 4-node cell whose 6 edges hold all 5 operations; node 3 is the output (zeros if nothing reaches it)."""

    def __init__(self, C: int, norm: Norm, drop_path: float) -> None:
        super().__init__()
        self.edges = nn.ModuleDict({
            f"{src}_{dst}": MixedOp({op: None if op == "none" else make_op(op, C, C, 1, norm) for op in NB201_OPS},
                                    drop_path)
            for src, dst in NB201_EDGES})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes: list[torch.Tensor | None] = [x, None, None, None]
        for src, dst in NB201_EDGES:  # topological order
            if nodes[src] is not None:
                nodes[dst] = add(nodes[dst], self.edges[f"{src}_{dst}"](nodes[src]))
        return nodes[3] if nodes[3] is not None else torch.zeros_like(x)


class NB201Supernet(nn.Module):
    """Weight-sharing supernet of the NAS-Bench-201 space with :class:`~nasforge.models.NB201Network`'s
    skeleton (stem, 3 stages of ``N`` cells, residual reduction blocks, BN-ReLU head); all cells share the
    architecture. ``norm`` picks the normalization of the candidate ops (BN tricks), ``drop_path`` their
    stochastic depth. Implements :class:`~nasforge.oneshot.DifferentiableSupernet`.
    """

    def __init__(self, num_classes: int, in_channels: int = 3, C: int = 16, N: int = 5,
                 norm: Norm = BATCH_NORM, drop_path: float = 0.0, space: NASBench201Space | None = None) -> None:
        super().__init__()
        self.space = space or NASBench201Space()
        self.config = {"num_classes": num_classes, "in_channels": in_channels, "C": C, "N": N,
                       "norm": asdict(norm), "drop_path": drop_path}
        self.stem, self.cells, self.head = nb201_skeleton(lambda C_stage: NB201SuperCell(C_stage, norm, drop_path),
                                                          num_classes, in_channels, C, N)
        self.alphas = nn.ParameterList(nn.Parameter(1e-3 * torch.randn(len(NB201_OPS))) for _ in NB201_EDGES)

    def _edges(self, k: int) -> list[MixedOp]:
        src, dst = NB201_EDGES[k]
        return [cell.edges[f"{src}_{dst}"] for cell in self.cells if isinstance(cell, NB201SuperCell)]

    def activate(self, arch: Architecture) -> None:
        self.space.validate(arch)
        for k, op in enumerate(arch.genotype):
            for edge in self._edges(k):
                edge.active, edge.weights = NB201_OPS.index(op), None

    def arch_parameters(self) -> list[nn.Parameter]:
        return list(self.alphas)

    def activate_weights(self, weights: Sequence[torch.Tensor]) -> None:
        if len(weights) != len(NB201_EDGES):
            raise ValueError(f"need one weight vector per edge ({len(NB201_EDGES)}), got {len(weights)}")
        for k, w in enumerate(weights):
            for edge in self._edges(k):
                edge.weights = w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.cells(self.stem(x)))

    def subnet(self, arch: Architecture) -> nn.Module:
        """The standalone :class:`~nasforge.models.NB201Network` of ``arch`` holding copies of the inherited
        weights and the supernet's settings: each cell edge is a copy of the supernet's op (so its ``norm``,
        e.g. ghost BN, GroupNorm or no affine), followed by ``DropPath`` where the supernet has drop-path (that
        edge's state-dict keys then gain a level: ``edges.0_1.0.1.weight``). Returned in training mode."""
        from ..models import create_model
        from ..models.nb201 import NB201Cell

        self.space.validate(arch)
        cfg = self.config
        net = create_model("nb201", arch, num_classes=cfg["num_classes"], in_channels=cfg["in_channels"],
                           C=cfg["C"], N=cfg["N"])
        names = {f"{s}_{d}": op for (s, d), op in zip(NB201_EDGES, arch.genotype)}
        net.stem, net.head = copy.deepcopy(self.stem), copy.deepcopy(self.head)
        for i, (mine, cell) in enumerate(zip(self.cells, net.cells)):
            if isinstance(cell, NB201Cell):  # only its live edges are built
                for key in cell.edges:
                    cell.edges[key] = _with_drop_path(copy.deepcopy(mine.edges[key].ops[names[key]]), cfg["drop_path"])
            else:  # a residual reduction block, the same in both
                net.cells[i] = copy.deepcopy(mine)
        return net.train()


def _with_drop_path(op: nn.Module, p: float) -> nn.Module:
    """``op`` followed by ``DropPath(p)``, as a supernet edge runs it (an identity and ``p`` = 0: ``op`` alone)."""
    return op if p == 0 or isinstance(op, nn.Identity) else nn.Sequential(op, DropPath(p))
