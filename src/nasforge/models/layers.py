"""Shared building blocks for every network (and for supernets): one place for operation code.

``OPS[name](C_in, C_out, stride)`` builds the candidate operation of a search space by name, so a
standalone network and a supernet construct an edge the same way.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class Zero(nn.Module):
    """The ``none`` operation: outputs zeros of the right shape (used only where a shape is needed)."""

    def __init__(self, C_in: int, C_out: int, stride: int) -> None:
        super().__init__()
        self.C_out, self.stride = C_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        return x.new_zeros(n, self.C_out, (h + self.stride - 1) // self.stride, (w + self.stride - 1) // self.stride)


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv -> BatchNorm (NAS-Bench-201 / DARTS ordering)."""

    def __init__(self, C_in: int, C_out: int, kernel: int, stride: int = 1, dilation: int = 1, affine: bool = True):
        padding = dilation * (kernel - 1) // 2
        super().__init__(nn.ReLU(inplace=False),
                         nn.Conv2d(C_in, C_out, kernel, stride, padding, dilation=dilation, bias=False),
                         nn.BatchNorm2d(C_out, affine=affine))


class ConvBNReLU(nn.Sequential):
    """Conv -> BatchNorm -> ReLU (NAS-Bench-101 ordering); ``groups`` for depthwise convolutions."""

    def __init__(self, C_in: int, C_out: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True):
        layers: list[nn.Module] = [nn.Conv2d(C_in, C_out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                                   nn.BatchNorm2d(C_out)]
        if act:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class SepConv(nn.Sequential):
    """DARTS separable convolution: two stacked (ReLU, depthwise, pointwise, BN) blocks."""

    def __init__(self, C_in: int, C_out: int, kernel: int, stride: int, affine: bool = True) -> None:
        pad = (kernel - 1) // 2
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel, stride, pad, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_in, 1, bias=False), nn.BatchNorm2d(C_in, affine=affine),
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel, 1, pad, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, 1, bias=False), nn.BatchNorm2d(C_out, affine=affine))


class DilConv(nn.Sequential):
    """DARTS dilated separable convolution: ReLU, dilated depthwise, pointwise, BN."""

    def __init__(self, C_in: int, C_out: int, kernel: int, stride: int, dilation: int, affine: bool = True) -> None:
        pad = dilation * (kernel - 1) // 2
        super().__init__(nn.ReLU(inplace=False),
                         nn.Conv2d(C_in, C_in, kernel, stride, pad, dilation=dilation, groups=C_in, bias=False),
                         nn.Conv2d(C_in, C_out, 1, bias=False), nn.BatchNorm2d(C_out, affine=affine))


class FactorizedReduce(nn.Module):
    """Halve the resolution without losing pixels: two offset stride-2 1x1 convolutions, concatenated."""

    def __init__(self, C_in: int, C_out: int, affine: bool = True) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_a = nn.Conv2d(C_in, C_out // 2, 1, 2, bias=False)
        self.conv_b = nn.Conv2d(C_in, C_out - C_out // 2, 1, 2, bias=False)
        self.bn = nn.BatchNorm2d(C_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = nn.functional.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        return self.bn(torch.cat([self.conv_a(x), self.conv_b(shifted)], dim=1))


class Pool(nn.Module):
    """3x3 average or max pooling, with a 1x1 ReLUConvBN first when the channel count changes."""

    def __init__(self, kind: str, C_in: int, C_out: int, stride: int) -> None:
        super().__init__()
        self.pre = ReLUConvBN(C_in, C_out, 1) if C_in != C_out else nn.Identity()
        if kind == "avg":
            self.pool: nn.Module = nn.AvgPool2d(3, stride, 1, count_include_pad=False)
        else:
            self.pool = nn.MaxPool2d(3, stride, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.pre(x))


def skip(C_in: int, C_out: int, stride: int) -> nn.Module:
    """Identity, or a factorized reduction / 1x1 projection when shape changes."""
    if stride == 2:
        return FactorizedReduce(C_in, C_out)
    return nn.Identity() if C_in == C_out else ReLUConvBN(C_in, C_out, 1)


class ResNetBasicBlock(nn.Module):
    """NAS-Bench-201's residual reduction block: two 3x3 ReLUConvBN (first strided) + pooled 1x1 shortcut."""

    def __init__(self, C_in: int, C_out: int, stride: int = 2) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(C_in, C_out, 3, stride)
        self.conv_b = ReLUConvBN(C_out, C_out, 3, 1)
        if stride == 2:
            self.shortcut: nn.Module = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(C_in, C_out, 1, bias=False))
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
    """Inverted residual block: 1x1 expand, k x k depthwise, optional SE, 1x1 project; residual when shapes allow."""

    def __init__(self, C_in: int, C_out: int, kernel: int, stride: int, expand: int, se: bool = False) -> None:
        super().__init__()
        hidden = C_in * expand
        layers: list[nn.Module] = [ConvBNReLU(C_in, hidden, 1)] if expand != 1 else []
        layers.append(ConvBNReLU(hidden, hidden, kernel, stride, groups=hidden))
        if se:
            layers.append(SqueezeExcite(hidden))
        layers.append(ConvBNReLU(hidden, C_out, 1, act=False))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and C_in == C_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return out + x if self.residual else out


class ClassifierHead(nn.Sequential):
    """Optional BN + ReLU, then global average pooling and a linear classifier."""

    def __init__(self, C: int, num_classes: int, pre_act: bool = False) -> None:
        layers: list[nn.Module] = [nn.BatchNorm2d(C), nn.ReLU(inplace=True)] if pre_act else []
        super().__init__(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(C, num_classes))


OpFactory = Callable[[int, int, int], nn.Module]

OPS: dict[str, OpFactory] = {
    # NAS-Bench-201
    "none": Zero,
    "skip_connect": skip,
    "nor_conv_1x1": lambda ci, co, s: ReLUConvBN(ci, co, 1, s),
    "nor_conv_3x3": lambda ci, co, s: ReLUConvBN(ci, co, 3, s),
    "avg_pool_3x3": lambda ci, co, s: Pool("avg", ci, co, s),
    # DARTS
    "max_pool_3x3": lambda ci, co, s: Pool("max", ci, co, s),
    "sep_conv_3x3": lambda ci, co, s: SepConv(ci, co, 3, s),
    "sep_conv_5x5": lambda ci, co, s: SepConv(ci, co, 5, s),
    "dil_conv_3x3": lambda ci, co, s: DilConv(ci, co, 3, s, 2),
    "dil_conv_5x5": lambda ci, co, s: DilConv(ci, co, 5, s, 2),
    # NAS-Bench-101 (Conv-BN-ReLU ordering)
    "conv3x3-bn-relu": lambda ci, co, s: ConvBNReLU(ci, co, 3, s),
    "conv1x1-bn-relu": lambda ci, co, s: ConvBNReLU(ci, co, 1, s),
    "maxpool3x3": lambda ci, co, s: Pool("max", ci, co, s),
}


def make_op(name: str, C_in: int, C_out: int, stride: int = 1) -> nn.Module:
    """Build the operation ``name``; ``ValueError`` names the known operations."""
    try:
        factory = OPS[name]
    except KeyError:
        raise ValueError(f"unknown operation {name!r}; known: {sorted(OPS)}") from None
    return factory(C_in, C_out, stride)
