"""Batch augmentation written with torch ops (no torchvision): random shifted crops and mirror flips."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from ..exceptions import UsageError
from ..oneshot.checks import AUGMENTATIONS  # defined without torch, for the CLI and the config checks

__all__ = ["AUGMENTATIONS", "augment_batch", "random_crop", "random_flip"]


def random_crop(x: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Zero-pad each image by ``padding`` and cut a same-size window at a random offset (per image)."""
    if padding <= 0:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (padding, padding, padding, padding)).permute(0, 2, 3, 1)
    dy = torch.randint(0, 2 * padding + 1, (n, 1, 1), generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (n, 1, 1), generator=generator)
    rows = dy + torch.arange(h).view(1, h, 1)
    cols = dx + torch.arange(w).view(1, 1, w)
    return padded[torch.arange(n).view(n, 1, 1), rows, cols].permute(0, 3, 1, 2).contiguous()


def random_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2."""
    flip = torch.rand(x.shape[0], generator=generator) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)


def augment_batch(x: torch.Tensor, kind: str, generator: torch.Generator) -> torch.Tensor:
    """Apply augmentation ``kind`` ("none", "crop", "crop_flip"); the crop pads by 1/8 of the image side."""
    if kind == "none":
        return x
    if kind not in AUGMENTATIONS:
        raise UsageError(f"unknown augmentation {kind!r}; choose from {list(AUGMENTATIONS)}")
    x = random_crop(x, max(1, x.shape[-1] // 8), generator)
    return random_flip(x, generator) if kind == "crop_flip" else x
