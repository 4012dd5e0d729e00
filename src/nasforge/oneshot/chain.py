"""Supernet of a chain (macro) space such as ProxylessNAS: one ``MixedOp`` per layer over its choices."""

from __future__ import annotations

from ..extras import require

require("torch", __name__)  # without the torch extra: one line naming it, not a bare ModuleNotFoundError

from collections.abc import Sequence
from dataclasses import asdict

import torch
from torch import nn

from ..exceptions import UsageError
from ..models.chain import PROXYLESSNAS_STRIDES, PROXYLESSNAS_WIDTHS, check_choice, make_block
from ..models.layers import BATCH_NORM, ClassifierHead, ConvBNReLU, MBConv, Norm
from ..spaces import Architecture, ChainSpace
from ..spaces.chain import PROXYLESSNAS_STAGES, SKIP_CHOICES
from .mixed import MixedOp


class ChainSupernet(nn.Module):
    """:class:`~nasforge.models.ChainNetwork`'s skeleton (stem, stages of layers, pooled linear head) with every
    choice of every layer built (a skip choice is the identity). ``stages``, ``widths`` and ``strides`` as in
    ``ChainNetwork``. ``norm`` is the blocks' normalization; ``drop_path`` drops the residual branch of the
    shape-keeping MBConv blocks (stochastic depth: a layer's only path is never dropped).
    Implements :class:`~nasforge.oneshot.DifferentiableSupernet` (one logit per choice)."""

    def __init__(self, space: ChainSpace, num_classes: int, in_channels: int = 3, C: int = 16,
                 stages: Sequence[int] | None = None, widths: Sequence[int] | None = None,
                 strides: Sequence[int] | None = None, drop_path: float = 0.0, norm: Norm = BATCH_NORM) -> None:
        super().__init__()
        self.space = space
        stages = tuple(stages or (len(space.layers),))
        widths = tuple(widths or (C * 2**s for s in range(len(stages))))
        strides = tuple(strides or (1,) + (2,) * (len(stages) - 1))
        if sum(stages) != len(space.layers) or not len(widths) == len(strides) == len(stages):
            raise ValueError(f"stages {list(stages)} must cover the {len(space.layers)} layers, with one width "
                             f"and stride per stage")
        self.config = {"num_classes": num_classes, "in_channels": in_channels, "C": C, "stages": list(stages),
                       "widths": list(widths), "strides": list(strides), "drop_path": drop_path, "norm": asdict(norm)}
        self.stem = ConvBNReLU(in_channels, C, 3)
        layers: list[MixedOp] = []
        C_prev, layer = C, 0
        for n_layers, width, stride in zip(stages, widths, strides):
            for i in range(n_layers):
                s = stride if i == 0 else 1
                options = {c: nn.Identity() if c in SKIP_CHOICES else make_block(c, C_prev, width, s, norm, drop_path)
                           for c in space.layers[layer]}
                layers.append(MixedOp(options))  # the blocks drop their residual branch themselves
                C_prev, layer = width, layer + 1
        self.layers = nn.ModuleList(layers)
        self.head = ClassifierHead(C_prev, num_classes)
        self.alphas = nn.ParameterList(nn.Parameter(1e-3 * torch.randn(len(c))) for c in space.layers)

    def activate(self, arch: Architecture) -> None:
        self.space.validate(arch)
        for layer, choices, choice in zip(self.layers, self.space.layers, arch.genotype):
            layer.active, layer.weights = choices.index(choice), None

    def arch_parameters(self) -> list[nn.Parameter]:
        return list(self.alphas)

    def activate_weights(self, weights: Sequence[torch.Tensor]) -> None:
        if len(weights) != len(self.layers):
            raise ValueError(f"need one weight vector per layer ({len(self.layers)}), got {len(weights)}")
        for layer, w in zip(self.layers, weights):
            layer.weights = w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for layer in self.layers:
            x = layer(x)
        return self.head(x)


def can_drop_path(supernet: ChainSupernet) -> bool:
    """Whether any choice of ``supernet`` has a residual branch that drop-path can drop."""
    return any(isinstance(m, MBConv) and m.residual for m in supernet.layers.modules())


def unsupported_choices(space: ChainSpace) -> list[str]:
    """The choices of ``space`` no chain block implements (``check_choice`` refuses them), in order of appearance."""
    bad: list[str] = []
    for choice in dict.fromkeys(c for choices in space.layers for c in choices):
        try:
            check_choice(choice)
        except UsageError:
            bad.append(choice)
    return bad


def proxylessnas_supernet(space: ChainSpace, num_classes: int, in_channels: int = 3, C: int = 24,
                          drop_path: float = 0.0, norm: Norm = BATCH_NORM) -> ChainSupernet:
    """The ProxylessNAS backbone as a supernet (widths scaled by ``C / 24``, as the standalone network)."""
    widths = tuple(max(1, round(w * C / 24)) for w in PROXYLESSNAS_WIDTHS)
    return ChainSupernet(space, num_classes, in_channels, C, PROXYLESSNAS_STAGES, widths, PROXYLESSNAS_STRIDES,
                         drop_path, norm)
