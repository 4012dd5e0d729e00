"""Supernet of the DARTS cell space: every edge ``(input i -> node j)`` of both cell types holds a
``MixedOp`` over ``none`` and the seven DARTS operations, built from the standalone network's op library.

Single path (SPOS, scoring): an architecture switches on the two chosen edges of each node, one op each.
Relaxed (DARTS, GDAS): the supernet's own decisions are the edges (14 per cell type, 8 options each, as in
DARTS, not the space's categorical input-pair view), mixed by ``activate_weights``; :meth:`DartsSupernet.derive`
applies DARTS's rule (per node, the two incoming edges with the strongest non-``none`` op, then that op).
"""

from __future__ import annotations

from ..extras import require

require("torch", __name__)  # without the torch extra: one line naming it, not a bare ModuleNotFoundError

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict

import torch
from torch import nn

from ..exceptions import UsageError
from ..models.darts import darts_cell_plan, darts_stem
from ..models.layers import BATCH_NORM, ClassifierHead, FactorizedReduce, Norm, ReLUConvBN, make_op
from ..spaces import Architecture, DartsSpace
from ..spaces.darts import CELL_TYPES, CONCAT, DARTS_OPS, NODES
from .mixed import MixedOp, add

RELAXED_OPS: tuple[str, ...] = ("none", *DARTS_OPS)
EDGES: tuple[tuple[int, int], ...] = tuple((i, j) for j in NODES for i in range(j))  # (input, node), 14 per cell


def edge_decision(cell_type: str, i: int, j: int) -> str:
    """The name of the relaxed decision of edge ``i -> j`` in cell type ``cell_type``."""
    return f"{cell_type}_edge_{i}_{j}"


class DartsSuperCell(nn.Module):
    """A DARTS cell with a ``MixedOp`` on every edge ``(input i -> node j)``, ``i < j``."""

    def __init__(self, C_pp: int, C_p: int, C: int, reduction: bool, reduction_prev: bool, norm: Norm,
                 drop_path: float) -> None:
        super().__init__()
        self.reduction, self.C = reduction, C
        self.pre0 = FactorizedReduce(C_pp, C, norm=norm) if reduction_prev else ReLUConvBN(C_pp, C, 1, norm=norm)
        self.pre1 = ReLUConvBN(C_p, C, 1, norm=norm)
        self.edges = nn.ModuleDict({
            f"{i}_{j}": MixedOp({op: None if op == "none" else make_op(op, C, C, 2 if reduction and i < 2 else 1, norm)
                                 for op in RELAXED_OPS}, drop_path)
            for i, j in EDGES})

    def activate(self, cell: tuple[tuple[str, int], ...]) -> None:
        for edge in self.edges.values():
            edge.active, edge.weights = None, None
        for k, (op, src) in enumerate(cell):
            self.edges[f"{src}_{NODES[k // 2]}"].active = RELAXED_OPS.index(op)

    def activate_weights(self, weights: Sequence[torch.Tensor]) -> None:
        """Mix edge ``EDGES[e]``'s options with ``weights[e]``."""
        for (i, j), w in zip(EDGES, weights):
            self.edges[f"{i}_{j}"].weights = w

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states: list[torch.Tensor | None] = [self.pre0(s0), self.pre1(s1)]
        for j in NODES:
            total = None
            for i in range(j):
                if states[i] is not None:
                    total = add(total, self.edges[f"{i}_{j}"](states[i]))
            states.append(total)
        return torch.cat([self._zeros(states[1]) if states[i] is None else states[i] for i in CONCAT], dim=1)

    def _zeros(self, x: torch.Tensor) -> torch.Tensor:
        """A node nothing reached (relaxed mode, every edge sampled or pruned to ``none``)."""
        n, _, h, w = x.shape
        s = 2 if self.reduction else 1
        return x.new_zeros(n, self.C, math.ceil(h / s), math.ceil(w / s))


class DartsSupernet(nn.Module):
    """:class:`~nasforge.models.DartsNetwork`'s skeleton (3C stem, 3 stages of ``N`` normal cells, reduction
    cells between stages, no auxiliary head) built from :class:`DartsSuperCell`. All normal cells share one
    architecture, all reduction cells another. Implements :class:`~nasforge.oneshot.DifferentiableSupernet`
    with its own decisions (:meth:`arch_decisions`: one per edge and cell type, options ``none`` + 7 ops).
    ``NOT_OPS``: the options its derivation never picks (P-DARTS pruning keeps a real op on every edge).
    """

    NOT_OPS: tuple[str, ...] = ("none",)

    def __init__(self, num_classes: int, in_channels: int = 3, C: int = 16, N: int = 2, norm: Norm = BATCH_NORM,
                 drop_path: float = 0.0, space: DartsSpace | None = None) -> None:
        super().__init__()
        self.space = space or DartsSpace()
        self.config = {"num_classes": num_classes, "in_channels": in_channels, "C": C, "N": N,
                       "norm": asdict(norm), "drop_path": drop_path}
        self.stem = darts_stem(in_channels, C)
        plan = darts_cell_plan(C, N)
        self.cells = nn.ModuleList(DartsSuperCell(*cell, norm, drop_path) for cell in plan)
        self.head = ClassifierHead(len(CONCAT) * plan[-1][2], num_classes)
        # created last, so the weights' initialization is the same as the single-path supernet's was
        self.alphas = nn.ParameterList(nn.Parameter(1e-3 * torch.randn(len(RELAXED_OPS)))
                                       for _ in range(len(CELL_TYPES) * len(EDGES)))
        self.register_load_state_dict_pre_hook(_keep_alphas)

    # -- single path ------------------------------------------------------------------------------
    def activate(self, arch: Architecture) -> None:
        self.space.validate(arch)
        normal, reduce = arch.genotype
        for cell in self.cells:
            cell.activate(reduce if cell.reduction else normal)

    # -- relaxed ------------------------------------------------------------------------------------
    def arch_decisions(self) -> list[tuple[str, list[str]]]:
        """The decisions ``arch_parameters`` score, in order: normal cell's edges, then reduction cell's."""
        return [(edge_decision(ct, i, j), list(RELAXED_OPS)) for ct in CELL_TYPES for i, j in EDGES]

    def arch_parameters(self) -> list[nn.Parameter]:
        return list(self.alphas)

    def activate_weights(self, weights: Sequence[torch.Tensor]) -> None:
        if len(weights) != len(self.alphas):
            raise ValueError(f"need one weight vector per edge and cell type ({len(self.alphas)}), got {len(weights)}")
        for cell in self.cells:
            start = len(EDGES) if cell.reduction else 0
            cell.activate_weights(weights[start:start + len(EDGES)])

    def derive(self, allowed: Mapping[str, Sequence[str]] | None = None) -> Architecture:
        """DARTS's rule on the softmax of the logits (over each edge's ``allowed`` options): per node, keep
        the two incoming edges whose strongest non-``none`` op weighs most, each with that op."""
        from .trainer import option_masks, relaxed_weights

        masks = option_masks(self, allowed)
        weights = relaxed_weights([a.detach() for a in self.alphas], masks)
        ops = {}
        strength = {}
        for (name, options), w, m in zip(self.arch_decisions(), weights, masks):
            real = [k for k, op in enumerate(options) if op != "none" and bool(m[k])]
            if real:
                best = max(real, key=lambda k: float(w[k]))
                ops[name], strength[name] = options[best], float(w[best])
        return self._genotype(ops, strength)

    def derive_from_ops(self, chosen: Mapping[str, str], edge_score: Callable[[int], float]) -> Architecture:
        """DARTS-PT's topology step after its per-edge op selection (``chosen``: the op fixed on every edge):
        per node, keep the two edges whose removal costs most (``edge_score(decision index)``). An edge
        fixed to ``none`` is kept only if a node has fewer than two others, with its strongest real op."""
        argmax = self._strongest_ops()
        ops, strength = {}, {}
        for d, (name, _) in enumerate(self.arch_decisions()):
            if chosen.get(name, "none") != "none":
                ops[name], strength[name] = chosen[name], edge_score(d)
            elif name in argmax:
                ops[name], strength[name] = argmax[name], -math.inf
        return self._genotype(ops, strength)

    def _strongest_ops(self) -> dict[str, str]:
        """Each edge's strongest non-``none`` op by its logit."""
        return {name: max((o for o in options if o != "none"), key=lambda o: float(a.detach()[options.index(o)]))
                for (name, options), a in zip(self.arch_decisions(), self.alphas)}

    def _genotype(self, ops: Mapping[str, str], strength: Mapping[str, float]) -> Architecture:
        """Per cell type and node, the two edges of highest ``strength`` (DARTS's order: strongest first)."""
        cells = []
        for ct in CELL_TYPES:
            pairs: list[tuple[str, int]] = []
            for j in NODES:
                inputs = [i for i in range(j) if edge_decision(ct, i, j) in ops]
                if len(inputs) < 2:
                    raise UsageError(f"allowed: {ct} node {j} has fewer than 2 incoming edges with a non-none option "
                                     "allowed; a DARTS genotype needs 2 per node")
                inputs.sort(key=lambda i: -strength[edge_decision(ct, i, j)])
                pairs += [(ops[edge_decision(ct, i, j)], i) for i in inputs[:2]]
            cells.append(tuple(pairs))
        arch = Architecture(self.space.name, tuple(cells))
        self.space.validate(arch)
        return arch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.head(s1)


def _keep_alphas(module: DartsSupernet, state_dict: dict, prefix: str, *args) -> None:
    """Checkpoints saved before the supernet had architecture logits load with the current (initial) logits."""
    for k, a in enumerate(module.alphas):
        state_dict.setdefault(f"{prefix}alphas.{k}", a.detach().clone())
