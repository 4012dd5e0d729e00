"""Once-for-all style elastic supernet for MBConv chain spaces, and progressive shrinking.

Unlike :class:`~nasforge.oneshot.chain.ChainSupernet` (one block per choice), an elastic layer holds ONE
MBConv at its largest kernel and expansion: a smaller kernel is the centre of the largest depthwise kernel,
a smaller expansion the first hidden channels, and ``skip`` bypasses the layer (elastic depth). Every
sub-network therefore shares the same weights, as in OFA. :func:`progressive_shrinking` trains it largest
network first, then elastic kernel, then depth (skips), then width (expansion).
"""

from __future__ import annotations

from ..extras import require

require("torch", __name__)  # without the torch extra: one line naming it, not a bare ModuleNotFoundError

import re
from collections.abc import Sequence
from dataclasses import replace

import torch
from torch import nn
from torch.nn import functional as F

from ..checks import check_int
from ..data import ImageDataset
from ..exceptions import UsageError
from ..models.layers import ClassifierHead, ConvBNReLU
from ..spaces import Architecture, ChainSpace
from ..spaces.chain import SKIP_CHOICES
from .trainer import _DEFAULTS, OneShotConfig, OneShotRecord, train_supernet

_MBCONV = re.compile(r"^mbconv_e(\d+)_k(\d+)$")


def _bn(bn: nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor:
    """``bn`` applied to the first ``x.shape[1]`` channels (its buffers sliced in place, so statistics update)."""
    n = x.shape[1]
    factor = 0.0
    if bn.training and bn.track_running_stats:
        bn.num_batches_tracked.add_(1)
        factor = 1.0 / float(bn.num_batches_tracked) if bn.momentum is None else bn.momentum
    use_batch = bn.training or not bn.track_running_stats
    mean = bn.running_mean[:n] if bn.track_running_stats else None
    var = bn.running_var[:n] if bn.track_running_stats else None
    return F.batch_norm(x, mean, var, bn.weight[:n], bn.bias[:n], use_batch, factor, bn.eps)


class ElasticMBConv(nn.Module):
    """An MBConv of expansion ``max(expands)`` and kernel ``max(kernels)`` serving every smaller one. Expansion 1
    skips the 1x1 expand conv (its depthwise conv runs on the input's channels), as the standalone ``MBConv``."""

    def __init__(self, C_in: int, C_out: int, stride: int, expands: Sequence[int], kernels: Sequence[int]) -> None:
        super().__init__()
        self.hidden, self.kmax, self.stride, self.C_in = C_in * max(expands), max(kernels), stride, C_in
        self.expand = nn.Conv2d(C_in, self.hidden, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(self.hidden)
        self.depthwise = nn.Parameter(nn.init.kaiming_normal_(torch.empty(self.hidden, 1, self.kmax, self.kmax)))
        self.bn2 = nn.BatchNorm2d(self.hidden)
        self.project = nn.Conv2d(self.hidden, C_out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(C_out)
        self.residual = stride == 1 and C_in == C_out
        self.active: tuple[int, int] | None = (max(expands), self.kmax)  # (expand, kernel); None = skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.active is None:
            return x
        expand, k = self.active
        h, cut = self.C_in * expand, (self.kmax - k) // 2
        out = x if expand == 1 else F.relu(_bn(self.bn1, F.conv2d(x, self.expand.weight[:h])))
        kernel = self.depthwise[:h, :, cut:cut + k, cut:cut + k]
        out = F.relu(_bn(self.bn2, F.conv2d(out, kernel, stride=self.stride, padding=k // 2, groups=h)))
        out = self.bn3(F.conv2d(out, self.project.weight[:, :h]))
        return out + x if self.residual else out


class ElasticChainSupernet(nn.Module):
    """OFA-style supernet of a chain space whose choices are ``mbconv_e{E}_k{K}`` and (optionally) ``skip``,
    with :class:`~nasforge.models.ChainNetwork`'s default skeleton (one stage: stem C, layers at width C)
    or ``widths``/``strides`` per layer. Single path (``activate``). Built directly (``build_supernet`` builds a
    :class:`~nasforge.oneshot.chain.ChainSupernet`); its sizes are checked as ``build_supernet`` checks them
    (``UsageError``)."""

    def __init__(self, space: ChainSpace, num_classes: int, in_channels: int = 3, C: int = 16,
                 widths: Sequence[int] | None = None, strides: Sequence[int] | None = None) -> None:
        super().__init__()
        if not isinstance(space, ChainSpace):
            raise UsageError(f"ElasticChainSupernet needs a ChainSpace, got {type(space).__name__}")
        for name, value in (("num_classes", num_classes), ("in_channels", in_channels), ("C", C)):
            check_int(name, value, 1)
        self.space = space
        n = len(space.layers)
        widths, strides = list(widths or [C] * n), list(strides or [1] * n)
        if len(widths) != n or len(strides) != n:
            raise UsageError(f"need one width and one stride per layer ({n}), got {len(widths)} widths and "
                             f"{len(strides)} strides")
        for i, (width, stride) in enumerate(zip(widths, strides)):
            check_int(f"widths[{i}]", width, 1)
            check_int(f"strides[{i}]", stride, 1)
        self.config = {"num_classes": num_classes, "in_channels": in_channels, "C": C, "widths": widths,
                       "strides": strides, "elastic": True}
        self.stem = ConvBNReLU(in_channels, C, 3)
        self.layers = nn.ModuleList()
        self.options: list[dict[str, tuple[int, int] | None]] = []
        C_prev = C
        for choices, width, stride in zip(space.layers, widths, strides):
            parsed: dict[str, tuple[int, int] | None] = {}
            for choice in choices:
                match = _MBCONV.match(choice)
                if match:
                    parsed[choice] = (int(match.group(1)), int(match.group(2)))
                elif choice in SKIP_CHOICES and stride == 1 and C_prev == width:
                    parsed[choice] = None
                else:
                    raise UsageError(f"elastic supernets take mbconv_e<E>_k<K> and shape-keeping skip choices, "
                                     f"not {choice!r}")
            sizes = [p for p in parsed.values() if p is not None]
            even = [c for c, p in parsed.items() if p is not None and (p[1] % 2 == 0 or min(p) < 1)]
            if even or not sizes:
                raise UsageError(f"elastic layer {choices}: every layer needs an mbconv_e<E>_k<K> choice with E >= 1 "
                                 f"and an odd kernel K (a smaller kernel is the centre of the largest), got "
                                 f"{even or 'none'}")
            self.layers.append(ElasticMBConv(C_prev, width, stride, [e for e, _ in sizes], [k for _, k in sizes]))
            self.options.append(parsed)
            C_prev = width
        self.head = ClassifierHead(C_prev, num_classes)

    def activate(self, arch: Architecture) -> None:
        self.space.validate(arch)
        for layer, options, choice in zip(self.layers, self.options, arch.genotype):
            layer.active = options[choice]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for layer in self.layers:
            x = layer(x)
        return self.head(x)


PHASES = ("largest", "kernel", "depth", "width")


def shrinking_phases(supernet: ElasticChainSupernet) -> list[dict[str, list[str]]]:
    """The allowed options of each phase: largest network; + every kernel at the largest expansion;
    + skips (depth); + every expansion (width: the whole space). ``UsageError`` for a layer without a choice of
    both its largest expansion and its largest kernel (the first phase would have nothing to train)."""
    phases: list[dict[str, list[str]]] = [{}, {}, {}, {}]
    for name, options in zip(supernet.space.categorical_params(), supernet.options):
        sizes = {c: p for c, p in options.items() if p is not None}
        emax = max(e for e, _ in sizes.values())
        kmax = max(k for _, k in sizes.values())
        largest = [c for c, p in sizes.items() if p == (emax, kmax)]
        if not largest:
            raise UsageError(f"progressive shrinking starts from the largest network, but layer {name!r} "
                             f"({', '.join(options)}) has no mbconv_e{emax}_k{kmax} choice (its largest expansion "
                             "and kernel together); add it to the layer's choices")
        kernels = [c for c, p in sizes.items() if p[0] == emax]
        skips = [c for c, p in options.items() if p is None]
        phases[0][name], phases[1][name] = largest, kernels
        phases[2][name], phases[3][name] = kernels + skips, list(options)
    return phases


def progressive_shrinking(supernet: ElasticChainSupernet, data: ImageDataset, config: OneShotConfig,
                          epochs: Sequence[int] = (4, 2, 2, 2)) -> list[OneShotRecord]:
    """Train ``supernet`` phase by phase (``epochs[i]`` epochs in phase ``PHASES[i]``), each phase sampling
    uniformly among its allowed sub-networks; returns one record per phase trained. A phase that allows nothing
    new (e.g. no kernel choice at the largest expansion, or no skip) is merged into the phase before it: that
    phase trains for their epochs together and its record says so. ``epochs`` sets the length of each phase:
    ``config.epochs`` and ``config.start_epoch`` must keep their defaults (``UsageError``)."""
    if not isinstance(supernet, ElasticChainSupernet):
        raise UsageError(f"progressive_shrinking needs an ElasticChainSupernet, got {type(supernet).__name__}")
    if not isinstance(config, OneShotConfig):
        raise UsageError(f"config must be a OneShotConfig (e.g. OneShotConfig()), got {type(config).__name__}")
    if config.method != "spos" or isinstance(epochs, str) or not isinstance(epochs, Sequence) \
            or len(epochs) != len(PHASES):
        raise UsageError(f"progressive shrinking trains single paths (method spos) in {len(PHASES)} phases: epochs "
                         f"must list one count per phase {list(PHASES)}, got {epochs!r}")
    for i, n in enumerate(epochs):
        check_int(f"epochs[{i}]", n, 0)
    if not any(epochs):
        raise UsageError(f"epochs {list(epochs)} trains no phase")
    for name in ("epochs", "start_epoch"):
        if getattr(config, name) != _DEFAULTS[name]:
            raise UsageError(f"config.{name}={getattr(config, name)} would be ignored: progressive_shrinking trains "
                             f"epochs[i] epochs in phase i from its start (got epochs={list(epochs)})")
    groups: list[tuple[list[int], dict[str, list[str]]]] = []  # runs of phases allowing the same sub-networks
    for i, allowed in enumerate(shrinking_phases(supernet)):
        if groups and allowed == groups[-1][1]:
            groups[-1][0].append(i)
        else:
            groups.append(([i], allowed))
    records = []
    for members, allowed in groups:
        n, i = sum(epochs[m] for m in members), members[0]
        if n < 1:
            continue
        record = train_supernet(supernet, data, replace(config, epochs=n, seed=config.seed + i), allowed=allowed)
        record.tricks.append(f"progressive shrinking phase {i}: {PHASES[i]}")
        if len(members) > 1:
            merged = ", ".join(f"{m} ({PHASES[m]}, {epochs[m]} epochs)" for m in members[1:])
            record.tricks.append(f"progressive shrinking: phase(s) {merged} allow no new sub-network; merged into "
                                 f"phase {i} ({n} epochs in all)")
        records.append(record)
    return records
