"""Cost of a network: exact parameter count, counted FLOPs, measured CPU latency."""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Iterator

import torch
from torch import nn

from ..checks import check_input_shape, check_int, check_threads
from ..exceptions import UsageError


def count_params(model: nn.Module, training_only: bool = False) -> int:
    """Number of parameters, frozen ones too: the size of the network as deployed (``params``). Parameters of
    submodules marked ``training_only = True`` (DARTS's auxiliary head, dropped after training) are left out
    unless ``training_only=True`` asks for every parameter that trains."""
    if training_only:
        return sum(p.numel() for p in model.parameters())
    dropped = {id(p) for m in model.modules() if getattr(m, "training_only", False) for p in m.parameters()}
    return sum(p.numel() for p in model.parameters() if id(p) not in dropped)


def count_flops(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """FLOPs of one forward pass of a single input of shape ``input_shape`` (without the batch dimension: (C, H, W)
    for an image), counted by ``torch.utils.flop_counter`` (a multiply-add counts as 2; convolutions and matrix
    products only, attention's included).

    Counted with attention off its fused fast path (:func:`unfused_attention`), which torch's counter does not
    count: attention would look free."""
    from torch.utils.flop_counter import FlopCounterMode

    x = _one_input(input_shape)
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False, custom_mapping=_cpu_attention_flops())
    try:
        with unfused_attention(), torch.inference_mode(), counter:
            _forward(model, x)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())


@contextlib.contextmanager
def unfused_attention() -> Iterator[None]:
    """``nn.MultiheadAttention`` (and torch's transformer layers) off their fused fast path meanwhile, which they
    take in eval mode without gradients: its single op is neither counted by torch's FLOP counter nor exportable
    to ONNX. The global setting is restored afterwards, on error too."""
    before = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(before)


def _cpu_attention_flops() -> dict[object, Callable[..., int]]:
    """Flop formulas for the attention ops torch's counter lacks: the CPU kernel of
    ``scaled_dot_product_attention``, counted like its CUDA kernels, where this torch's registry has none."""
    from torch.utils.flop_counter import flop_registry, sdpa_flop_count

    def sdpa_cpu_flop(query_shape: torch.Size, key_shape: torch.Size, value_shape: torch.Size, *args: object,
                      **kwargs: object) -> int:
        return sdpa_flop_count(query_shape, key_shape, value_shape)

    op = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    return {} if op is None or op in flop_registry else {op: sdpa_cpu_flop}


def _one_input(input_shape: object) -> torch.Tensor:
    """A zero batch of one input of ``input_shape`` (positive integers, without the batch dimension)."""
    return torch.zeros(1, *check_input_shape(input_shape))


def _forward(model: nn.Module, x: torch.Tensor) -> None:
    """One forward pass; a shape the model cannot take is a UsageError that says what input it was given."""
    try:
        model(x)
    except RuntimeError as exc:
        raise UsageError(f"the model cannot take one input of shape {tuple(x.shape[1:])} (input_shape, without "
                         f"the batch dimension): {str(exc).splitlines()[0]:.200}") from exc


def measure_latency(model: nn.Module, input_shape: tuple[int, ...], repeats: int = 20, warmup: int = 10,
                    threads: int | None = 1) -> float:
    """Median wall time in milliseconds of ``repeats`` batch-1 forward passes (after ``warmup``), in eval mode,
    on ``threads`` torch threads (None: the current setting), which are restored afterwards.

    One thread by default: batch-1 passes of small networks gain little from more, and threads that share
    busy cores wait for each other (searches with 2 threads per worker on a loaded 2-core machine recorded
    one NB201 network at 1 ms and at 300 ms), so a latency objective would rank noise."""
    repeats, warmup = check_int("repeats", repeats, 1), check_int("warmup", warmup, 0)
    if threads is not None:
        check_threads("threads", threads)
    x = _one_input(input_shape)
    was_training, before = model.training, torch.get_num_threads()
    model.eval()
    times = []
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        with torch.inference_mode():
            for i in range(warmup + repeats):
                start = time.perf_counter()
                _forward(model, x)
                if i >= warmup:
                    times.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(before)
        model.train(was_training)
    return 1000.0 * statistics.median(times)
