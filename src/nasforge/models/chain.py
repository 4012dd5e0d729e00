"""Chain networks: a stem, one block per layer of a chain genotype (MBConv, plain conv or skip), a head."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import torch
from torch import nn

from ..checks import check_int, is_int
from ..exceptions import ArchitectureError, UsageError
from ..spaces import Architecture
from ..spaces.chain import PROXYLESSNAS_STAGES, SKIP_CHOICES
from .layers import BATCH_NORM, ClassifierHead, ConvBNReLU, MBConv, Norm

PROXYLESSNAS_WIDTHS = (24, 40, 80, 96, 192, 320)
PROXYLESSNAS_STRIDES = (2, 2, 2, 1, 2, 1)
_MBCONV = re.compile(r"^mbconv_e(\d+)_k(\d+)(_se)?$")
_CONV = re.compile(r"^conv(\d+)$")


def check_choice(choice: str) -> None:
    """A UsageError unless the chain network can build ``choice``: ``mbconv_e{E}_k{K}[_se]`` (E >= 1, an odd
    kernel K >= 1: an even one changes the resolution, which breaks its residual), ``conv{K}`` (K >= 1), or
    ``skip``/``identity``."""
    if choice in SKIP_CHOICES:
        return
    mbconv, conv = _MBCONV.match(choice), _CONV.match(choice)
    if not (mbconv or conv):
        raise UsageError(f"unknown chain choice {choice!r}; expected mbconv_e<E>_k<K>[_se], conv<K>, or one of "
                         f"{list(SKIP_CHOICES)}")
    if mbconv and int(mbconv.group(1)) < 1:
        raise UsageError(f"chain choice {choice!r}: the expansion E must be at least 1")
    if conv and int(conv.group(1)) < 1:
        raise UsageError(f"chain choice {choice!r}: the kernel K must be at least 1")
    if mbconv and (int(mbconv.group(2)) < 1 or int(mbconv.group(2)) % 2 == 0):
        raise UsageError(f"chain choice {choice!r}: the kernel K must be an odd number >= 1 (an even one changes "
                         "the resolution, which breaks the block's residual)")


def make_block(choice: str, C_in: int, C_out: int, stride: int, norm: Norm = BATCH_NORM,
               drop_path: float = 0.0) -> nn.Module:
    """The block named by a chain choice (see ``check_choice``) with normalization ``norm``; ``drop_path`` drops
    an MBConv's residual branch (see ``MBConv``)."""
    check_choice(choice)
    if match := _MBCONV.match(choice):
        return MBConv(C_in, C_out, int(match.group(2)), stride, int(match.group(1)), se=bool(match.group(3)),
                      norm=norm, drop_path=drop_path)
    if match := _CONV.match(choice):
        return ConvBNReLU(C_in, C_out, int(match.group(1)), stride, norm=norm)
    if stride != 1 or C_in != C_out:
        raise ArchitectureError(f"a {choice!r} layer must keep the shape (stride 1, {C_in} -> {C_out} channels)")
    return nn.Identity()


def _sizes(name: str, values: Iterable[int] | None, default: Iterable[int]) -> tuple[int, ...]:
    """``ChainNetwork``'s ``stages``/``widths``/``strides``: ``values`` (``default`` when None or empty) as integers
    >= 1; a UsageError naming ``name`` and the first bad entry otherwise (0, 2.5 or -1 failed deep in torch)."""
    if values is not None and (isinstance(values, (str, bytes)) or not isinstance(values, Iterable)):
        raise UsageError(f"ChainNetwork: {name} must be a list of integers >= 1, got {values!r}")
    given = tuple(values) if values is not None else ()
    return tuple(check_int(f"ChainNetwork: {name}[{i}]", v, 1) for i, v in enumerate(given or tuple(default)))


class ChainNetwork(nn.Module):
    """3x3 stem (C channels), then the chain's blocks grouped in stages, then pooling and a linear classifier.

    ``stages`` gives the number of layers per stage (default: one stage holding every layer), ``widths``
    each stage's channels (default: C * 2**stage) and ``strides`` each stage's first stride (default: 1
    for the first stage, 2 after), each an integer >= 1 (a UsageError otherwise). Only a stage's first block may
    change shape, so skips sit elsewhere.
    """

    def __init__(self, arch: Architecture, num_classes: int, in_channels: int = 3, C: int = 16,
                 stages: Sequence[int] | None = None, widths: Sequence[int] | None = None,
                 strides: Sequence[int] | None = None) -> None:
        super().__init__()
        if not is_int(C) or C < 1:
            raise UsageError(f"ChainNetwork needs C >= 1 (the stem's channels), got C={C!r}")
        C = int(C)  # a numpy integer too, as every other network takes
        choices = tuple(arch.genotype)
        stages = _sizes("stages", stages, (len(choices),))
        if sum(stages) != len(choices):
            raise UsageError(f"stages {list(stages)} cover {sum(stages)} layers, the genotype has {len(choices)}")
        widths = _sizes("widths", widths, (C * 2**s for s in range(len(stages))))
        strides = _sizes("strides", strides, (1,) + (2,) * (len(stages) - 1))
        if not len(widths) == len(strides) == len(stages):
            raise UsageError(f"need one width and stride per stage: {len(stages)} stages, {len(widths)} widths, "
                             f"{len(strides)} strides")
        self.stem = ConvBNReLU(in_channels, C, 3)
        blocks: list[nn.Module] = []
        C_prev, layer = C, 0
        for n_layers, width, stride in zip(stages, widths, strides):
            for i in range(n_layers):
                blocks.append(make_block(choices[layer], C_prev, width, stride if i == 0 else 1))
                C_prev, layer = width, layer + 1
        self.blocks = nn.Sequential(*blocks)
        self.head = ClassifierHead(C_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


def proxylessnas_network(arch: Architecture, num_classes: int, in_channels: int = 3, C: int = 24) -> ChainNetwork:
    """The chain network with ProxylessNAS's searched stages (4, 4, 4, 4, 4, 1; widths 24..320 scaled by ``C / 24``;
    strides 2, 2, 2, 1, 2, 1); its depth is part of the genotype (skips).

    A CIFAR-style simplification, not the published network: a stride-1 3x3 stem to ``C`` (published: stride 2,
    32), no fixed first MBConv (expansion 1, 32 -> 16), no 1x1 feature-mix conv to 1280 before the classifier, ReLU
    instead of ReLU6; so 16x downsampling, not 32x (docs/spaces.md gives its size next to the published one's).
    Saved networks rebuild it by name: it must not change.
    """
    if not is_int(C) or C < 1:
        raise UsageError(f"the proxylessnas network needs C >= 1 (the stem's channels), got C={C!r}")
    C = int(C)
    widths = tuple(max(1, round(w * C / 24)) for w in PROXYLESSNAS_WIDTHS)
    return ChainNetwork(arch, num_classes, in_channels, C=C, stages=PROXYLESSNAS_STAGES, widths=widths,
                        strides=PROXYLESSNAS_STRIDES)
