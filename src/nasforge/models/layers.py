"""Shared building blocks for every network (and for supernets): one place for operation code.

``OPS[name](C_in, C_out, stride, norm)`` builds the candidate operation of a search space by name, so a
standalone network and a supernet construct an edge the same way. ``norm`` is a :class:`Norm` spec
(BatchNorm by default; ghost BatchNorm or GroupNorm, affine or not), used by every normalization
layer inside the op; one-shot supernets switch it to study BN tricks.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import nn

from ..checks import check_bool, check_int, is_int
from ..exceptions import UsageError

NORM_KINDS = ("batch", "ghost", "group")


def check_size(network: str, C: object, N: object) -> None:
    """A network's base channels ``C`` and cells per stage ``N`` must be integers >= 1 (2.5 or '8' would fail deep
    in a torch layer); a UsageError naming both otherwise."""
    if not (is_int(C) and is_int(N)) or C < 1 or N < 1:  # type: ignore[operator]
        raise UsageError(f"{network} needs C >= 1 and N >= 1 (integers), got C={C!r}, N={N!r}")


class GhostBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm whose training statistics come from virtual batches of ``ghost_batch`` samples each."""

    def __init__(self, C: int, ghost_batch: int = 16, affine: bool = True) -> None:
        super().__init__(C, affine=affine)
        self.ghost_batch = ghost_batch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or x.shape[0] <= self.ghost_batch:
            return super().forward(x)
        return torch.cat([super(GhostBatchNorm2d, self).forward(chunk) for chunk in x.split(self.ghost_batch)])


@dataclass(frozen=True)
class Norm:
    """Which normalization layer ops build: ``kind`` "batch", "ghost" (``ghost_batch`` samples per
    statistic) or "group" (``groups`` groups, fewer when the channels do not divide); ``affine``
    switches the learned scale and shift."""

    kind: str = "batch"
    affine: bool = True
    ghost_batch: int = 16
    groups: int = 8

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or self.kind not in NORM_KINDS:
            raise UsageError(f"unknown norm {self.kind!r}; choose from {list(NORM_KINDS)}")
        check_bool("Norm affine", self.affine)
        check_int("Norm ghost_batch", self.ghost_batch, 1)
        check_int("Norm groups", self.groups, 1)

    def __call__(self, C: int) -> nn.Module:
        if self.kind == "batch":
            return nn.BatchNorm2d(C, affine=self.affine)
        if self.kind == "ghost":
            return GhostBatchNorm2d(C, self.ghost_batch, affine=self.affine)
        groups = max(g for g in range(1, min(self.groups, C) + 1) if C % g == 0)
        return nn.GroupNorm(groups, C, affine=self.affine)


BATCH_NORM = Norm()


class Zero(nn.Module):
    """The ``none`` operation: outputs zeros of the right shape (used only where a shape is needed)."""

    def __init__(self, C_in: int, C_out: int, stride: int, norm: Norm | None = None) -> None:
        super().__init__()
        self.C_out, self.stride = C_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        return x.new_zeros(n, self.C_out, (h + self.stride - 1) // self.stride, (w + self.stride - 1) // self.stride)


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv -> BatchNorm (NAS-Bench-201 / DARTS ordering)."""

    def __init__(self, C_in: int, C_out: int, kernel: int, stride: int = 1, dilation: int = 1, affine: bool = True,
                 norm: Norm = BATCH_NORM):
        padding = dilation * (kernel - 1) // 2
        super().__init__(nn.ReLU(inplace=False),
                         nn.Conv2d(C_in, C_out, kernel, stride, padding, dilation=dilation, bias=False),
                         Norm(norm.kind, norm.affine and affine, norm.ghost_batch, norm.groups)(C_out))


class ConvBNReLU(nn.Sequential):
    """Conv -> BatchNorm -> ReLU (NAS-Bench-101 ordering); ``groups`` for depthwise convolutions."""

    def __init__(self, C_in: int, C_out: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True,
                 norm: Norm = BATCH_NORM):
        layers: list[nn.Module] = [nn.Conv2d(C_in, C_out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                                   norm(C_out)]
        if act:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class SepConv(nn.Sequential):
    """DARTS separable convolution: two stacked (ReLU, depthwise, pointwise, BN) blocks."""

    def __init__(self, C_in: int, C_out: int, kernel: int, stride: int, norm: Norm = BATCH_NORM) -> None:
        pad = (kernel - 1) // 2
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel, stride, pad, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_in, 1, bias=False), norm(C_in),
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel, 1, pad, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, 1, bias=False), norm(C_out))


class DilConv(nn.Sequential):
    """DARTS dilated separable convolution: ReLU, dilated depthwise, pointwise, BN."""

    def __init__(self, C_in: int, C_out: int, kernel: int, stride: int, dilation: int, norm: Norm = BATCH_NORM) -> None:
        pad = dilation * (kernel - 1) // 2
        super().__init__(nn.ReLU(inplace=False),
                         nn.Conv2d(C_in, C_in, kernel, stride, pad, dilation=dilation, groups=C_in, bias=False),
                         nn.Conv2d(C_in, C_out, 1, bias=False), norm(C_out))


class FactorizedReduce(nn.Module):
    """Halve the resolution without losing pixels: two offset stride-2 1x1 convolutions, concatenated."""

    def __init__(self, C_in: int, C_out: int, affine: bool = True, norm: Norm = BATCH_NORM) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_a = nn.Conv2d(C_in, C_out // 2, 1, 2, bias=False)
        self.conv_b = nn.Conv2d(C_in, C_out - C_out // 2, 1, 2, bias=False)
        self.bn = Norm(norm.kind, norm.affine and affine, norm.ghost_batch, norm.groups)(C_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = nn.functional.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        return self.bn(torch.cat([self.conv_a(x), self.conv_b(shifted)], dim=1))


class Pool(nn.Module):
    """3x3 average or max pooling, with a 1x1 ReLUConvBN first when the channel count changes."""

    def __init__(self, kind: str, C_in: int, C_out: int, stride: int, norm: Norm = BATCH_NORM) -> None:
        super().__init__()
        self.pre = ReLUConvBN(C_in, C_out, 1, norm=norm) if C_in != C_out else nn.Identity()
        if kind == "avg":
            self.pool: nn.Module = nn.AvgPool2d(3, stride, 1, count_include_pad=False)
        else:
            self.pool = nn.MaxPool2d(3, stride, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.pre(x))


def skip(C_in: int, C_out: int, stride: int, norm: Norm = BATCH_NORM) -> nn.Module:
    """Identity, or a factorized reduction / 1x1 projection when shape changes."""
    if stride == 2:
        return FactorizedReduce(C_in, C_out, norm=norm)
    return nn.Identity() if C_in == C_out else ReLUConvBN(C_in, C_out, 1, norm=norm)


class ResNetBasicBlock(nn.Module):
    """NAS-Bench-201's residual reduction block: two 3x3 ReLUConvBN (first strided) + pooled 1x1 shortcut (its
    2x2 pooling rounds an odd side up, as the strided conv does: the same network for even sides, any side works)."""

    def __init__(self, C_in: int, C_out: int, stride: int = 2) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(C_in, C_out, 3, stride)
        self.conv_b = ReLUConvBN(C_out, C_out, 3, 1)
        if stride == 2:
            pool = nn.AvgPool2d(2, 2, ceil_mode=True)
            self.shortcut: nn.Module = nn.Sequential(pool, nn.Conv2d(C_in, C_out, 1, bias=False))
        elif C_in != C_out:
            self.shortcut = ReLUConvBN(C_in, C_out, 1)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_b(self.conv_a(x)) + self.shortcut(x)


class DropPath(nn.Module):
    """Stochastic depth: zero a whole sample's branch with probability ``p`` while training."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p <= 0.0:
            return x
        keep = 1.0 - self.p
        mask = torch.empty(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device).bernoulli_(keep)
        return x * mask / keep


class SqueezeExcite(nn.Module):
    """Channel attention (MobileNetV3/EfficientNet)."""

    def __init__(self, C: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(1, C // reduction)
        self.fc = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(C, hidden, 1), nn.ReLU(inplace=True),
                                nn.Conv2d(hidden, C, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x)


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expand, k x k depthwise, optional SE, 1x1 project; residual when shapes allow.
    ``drop_path``: stochastic depth on the residual branch (the identity is kept; a block without a residual
    is never dropped)."""

    def __init__(self, C_in: int, C_out: int, kernel: int, stride: int, expand: int, se: bool = False,
                 norm: Norm = BATCH_NORM, drop_path: float = 0.0) -> None:
        super().__init__()
        hidden = C_in * expand
        layers: list[nn.Module] = [ConvBNReLU(C_in, hidden, 1, norm=norm)] if expand != 1 else []
        layers.append(ConvBNReLU(hidden, hidden, kernel, stride, groups=hidden, norm=norm))
        if se:
            layers.append(SqueezeExcite(hidden))
        layers.append(ConvBNReLU(hidden, C_out, 1, act=False, norm=norm))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and C_in == C_out
        self.drop = DropPath(drop_path if self.residual else 0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return self.drop(out) + x if self.residual else out


class ClassifierHead(nn.Sequential):
    """Optional BN + ReLU, then global average pooling and a linear classifier."""

    def __init__(self, C: int, num_classes: int, pre_act: bool = False) -> None:
        layers: list[nn.Module] = [nn.BatchNorm2d(C), nn.ReLU(inplace=True)] if pre_act else []
        super().__init__(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(C, num_classes))


OpFactory = Callable[[int, int, int, Norm], nn.Module]

OPS: dict[str, OpFactory] = {
    # NAS-Bench-201
    "none": Zero,
    "skip_connect": skip,
    "nor_conv_1x1": lambda ci, co, s, n: ReLUConvBN(ci, co, 1, s, norm=n),
    "nor_conv_3x3": lambda ci, co, s, n: ReLUConvBN(ci, co, 3, s, norm=n),
    "avg_pool_3x3": lambda ci, co, s, n: Pool("avg", ci, co, s, norm=n),
    # DARTS
    "max_pool_3x3": lambda ci, co, s, n: Pool("max", ci, co, s, norm=n),
    "sep_conv_3x3": lambda ci, co, s, n: SepConv(ci, co, 3, s, norm=n),
    "sep_conv_5x5": lambda ci, co, s, n: SepConv(ci, co, 5, s, norm=n),
    "dil_conv_3x3": lambda ci, co, s, n: DilConv(ci, co, 3, s, 2, norm=n),
    "dil_conv_5x5": lambda ci, co, s, n: DilConv(ci, co, 5, s, 2, norm=n),
    # NAS-Bench-101 (Conv-BN-ReLU ordering)
    "conv3x3-bn-relu": lambda ci, co, s, n: ConvBNReLU(ci, co, 3, s, norm=n),
    "conv1x1-bn-relu": lambda ci, co, s, n: ConvBNReLU(ci, co, 1, s, norm=n),
    "maxpool3x3": lambda ci, co, s, n: Pool("max", ci, co, s, norm=n),
}


def make_op(name: str, C_in: int, C_out: int, stride: int = 1, norm: Norm = BATCH_NORM) -> nn.Module:
    """Build the operation ``name`` with normalization ``norm``; ``ValueError`` names the known operations.
    Inside :class:`OpParameterTally`, only count its parameters (see there)."""
    try:
        factory = OPS[name]
    except KeyError:
        raise UsageError(f"unknown operation {name!r}; known: {sorted(OPS)}") from None
    tally = _TALLY.get()
    if tally is None:
        return factory(C_in, C_out, stride, norm)
    tally.total += _op_parameters(name, C_in, C_out, stride, norm)
    return _PLACEHOLDER


class OpParameterTally:
    """Count a network's parameters without building its operations.

    Inside ``with OpParameterTally() as tally:``, :func:`make_op` returns a shared parameterless
    placeholder and adds the operation's parameter count to ``tally.total`` (each distinct operation is
    built once per process), so ``tally.total + sum(p.numel() for p in network.parameters())`` is the
    count of the real network at a fraction of its construction time. The network is not runnable.
    """

    def __init__(self) -> None:
        self.total = 0

    def __enter__(self) -> OpParameterTally:
        self._token = _TALLY.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _TALLY.reset(self._token)


_TALLY: ContextVar[OpParameterTally | None] = ContextVar("nasforge_op_parameter_tally", default=None)
_PLACEHOLDER = nn.Identity()


@lru_cache(maxsize=None)
def _op_parameters(name: str, C_in: int, C_out: int, stride: int, norm: Norm) -> int:
    return sum(p.numel() for p in OPS[name](C_in, C_out, stride, norm).parameters())
