"""Model registry: ``create_model(name, arch, num_classes=..., ...)`` builds any registered network."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from ..spaces import Architecture

ModelFactory = Callable[..., nn.Module]
_MODELS: dict[str, ModelFactory] = {}


def register_model(name: str, factory: ModelFactory) -> None:
    """Make ``create_model(name, ...)`` call ``factory(arch, num_classes=..., in_channels=..., **kwargs)``."""
    _MODELS[name] = factory


def available_models() -> list[str]:
    return sorted(_MODELS)


def create_model(name: str, arch: Architecture, num_classes: int, in_channels: int = 3, **kwargs: Any) -> nn.Module:
    """Build network ``name`` (by convention the search space's name) for ``arch``.

    ``kwargs`` are the network's size knobs, e.g. ``C`` (base channels) and ``N`` (cells per stage).
    """
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {available_models()}")
    if arch.space != name:
        raise ValueError(f"model {name!r} cannot be built from an architecture of space {arch.space!r}")
    return _MODELS[name](arch, num_classes=num_classes, in_channels=in_channels, **kwargs)
