"""Whether stored weights fit the network a stored description builds, found by building it on torch's meta device,
where its tensors take no memory and initialising them computes nothing: a description whose sizes are far larger
than its weights is refused at once rather than after allocating them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn


def misfit(build: Callable[[], nn.Module], state: Mapping[str, Any]) -> tuple[Exception, dict[str, Any]] | None:
    """The error ``load_state_dict(state)`` raises on the network ``build()`` makes, found on the meta device, and
    that network's state dict (meta tensors: names and shapes), when some tensor's name or shape differs between the
    two; None when they fit, and when the network cannot be built or loaded there for another reason (the real
    build and load then tell). The CPU generator is left as it was."""
    try:
        with torch.random.fork_rng(devices=[]), torch.device("meta"):  # a module may make CPU tensors of its own
            net = build()
    except Exception:  # noqa: BLE001 - the real build tells what is wrong
        return None
    try:
        net.load_state_dict(state, assign=True)  # assign: no copy into meta tensors (a warned no-op)
    except Exception as exc:  # noqa: BLE001 - only a differing name or shape is the caller's error
        expected = net.state_dict()
        differ = expected.keys() != state.keys() or any(
            tuple(tensor.shape) != tuple(getattr(state[key], "shape", ())) for key, tensor in expected.items())
        return (exc, expected) if differ else None
    return None
