"""Cost of a network: exact parameter count, counted FLOPs, measured CPU latency."""

from __future__ import annotations

import statistics
import time

import torch
from torch import nn


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_flops(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """FLOPs of one forward pass of a single input of shape ``input_shape`` (C, H, W), counted by
    ``torch.utils.flop_counter`` (a multiply-add counts as 2; convolutions and matrix products only)."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(torch.zeros(1, *input_shape))
    model.train(was_training)
    return int(counter.get_total_flops())


def measure_latency(model: nn.Module, input_shape: tuple[int, ...], repeats: int = 20, warmup: int = 10) -> float:
    """Median wall time in milliseconds of ``repeats`` batch-1 forward passes (after ``warmup``), in eval mode
    with the current torch thread setting."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    was_training = model.training
    model.eval()
    x = torch.zeros(1, *input_shape)
    times = []
    with torch.inference_mode():
        for i in range(warmup + repeats):
            start = time.perf_counter()
            model(x)
            if i >= warmup:
                times.append(time.perf_counter() - start)
    model.train(was_training)
    return 1000.0 * statistics.median(times)
