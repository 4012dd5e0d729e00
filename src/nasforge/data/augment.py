"""Batch augmentation written with torch ops (no torchvision): random shifted crops and mirror flips."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from ..exceptions import UsageError
from ..oneshot.checks import AUGMENTATIONS  # defined without torch, for the CLI and the config checks

__all__ = ["AUGMENTATIONS", "augment_batch", "random_crop", "random_flip"]


def random_crop(x: torch.Tensor, padding: int | tuple[int, int], generator: torch.Generator) -> torch.Tensor:
    """Zero-pad each image by ``padding`` (one int, or ``(height, width)`` padding) and cut a same-size window at
    a random offset (per image)."""
    pad_h, pad_w = (padding, padding) if isinstance(padding, int) else padding
    if pad_h <= 0 and pad_w <= 0:
        return x
    pad_h, pad_w = max(0, pad_h), max(0, pad_w)
    n, _, h, w = x.shape
    padded = F.pad(x, (pad_w, pad_w, pad_h, pad_h)).permute(0, 2, 3, 1)
    dy = torch.randint(0, 2 * pad_h + 1, (n, 1, 1), generator=generator)
    dx = torch.randint(0, 2 * pad_w + 1, (n, 1, 1), generator=generator)
    rows = dy + torch.arange(h).view(1, h, 1)
    cols = dx + torch.arange(w).view(1, 1, w)
    return padded[torch.arange(n).view(n, 1, 1), rows, cols].permute(0, 3, 1, 2).contiguous()


def random_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2."""
    flip = torch.rand(x.shape[0], generator=generator) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)


def crop_padding(height: int, width: int) -> tuple[int, int]:
    """The crop's (height, width) padding: 1/8 of each side (at least 1), none along a side of one pixel."""
    return tuple(0 if side == 1 else max(1, side // 8) for side in (height, width))  # type: ignore[return-value]


def augment_batch(x: torch.Tensor, kind: str, generator: torch.Generator) -> torch.Tensor:
    """Apply augmentation ``kind`` ("none", "crop", "crop_flip"); the crop pads each side by 1/8 of its length
    (:func:`crop_padding`). A one-pixel-high input (a row, such as ``(1, 1, 30)``) is neither shifted vertically
    nor mirrored; the crop still shifts it sideways, so tabular features want ``"none"``."""
    if kind == "none":
        return x
    if kind not in AUGMENTATIONS:
        raise UsageError(f"unknown augmentation {kind!r}; choose from {list(AUGMENTATIONS)}")
    x = random_crop(x, crop_padding(x.shape[-2], x.shape[-1]), generator)
    return random_flip(x, generator) if kind == "crop_flip" and x.shape[-2] > 1 else x
