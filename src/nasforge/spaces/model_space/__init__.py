"""Search spaces written as ordinary PyTorch modules (NNI-style model spaces).

::

    from torch import nn
    from nasforge.spaces.model_space import LayerChoice, ModelSpace, ValueChoice

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            width = ValueChoice([16, 32], label="width")
            self.conv = LayerChoice({"k3": nn.Conv2d(1, width, 3, padding=1),
                                     "k5": nn.Conv2d(1, width, 5, padding=2)}, label="conv")
            self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10))

        def forward(self, x):
            return self.head(self.conv(x).relu())

    space = ModelSpace(Net, input_shape=(1, 8, 8))   # a SearchSpace: every strategy and Study work on it
    net = space.build(space.parse("width=32|conv=k5"))  # a plain nn.Module

Importing this package does not import torch; the names below load it on first use.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {"LayerChoice": "primitives", "InputChoice": "primitives", "ValueChoice": "primitives",
            "Repeat": "primitives", "ChosenInputs": "primitives", "Decision": "primitives",
            "ModelSpace": "space", "create_network": "space", "ModelSpaceSupernet": "supernet"}


def from_config(config: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """Rebuild a ModelSpace from its ``config()`` (registered as ``get_space("model_space", **config)``)."""
    from .space import from_config as rebuild

    return rebuild(config, **kwargs)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [*_EXPORTS, "from_config"]
