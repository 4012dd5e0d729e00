"""Model registry: ``create_model(name, arch, num_classes=..., ...)`` builds any registered network.

A model is registered under the name of the search space whose architectures it builds (``nb201``,
``darts``, ...). A model that builds architectures of several spaces (the chain network builds any
``ChainSpace``, whatever its name) is registered with ``any_space=True``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from ..registry import Registry
from ..spaces import Architecture, SearchSpace

ModelFactory = Callable[..., nn.Module]
MODELS: Registry[ModelFactory] = Registry("model")


def register_model(name: str, factory: ModelFactory, any_space: bool = False) -> None:
    """Make ``create_model(name, ...)`` call ``factory(arch, num_classes=..., in_channels=..., **kwargs)``;
    ``any_space=True`` lets it build architectures whose space has another name."""
    MODELS.register(name, factory, any_space=any_space)


def available_models() -> list[str]:
    return MODELS.names()


def create_model(name: str, arch: Architecture, num_classes: int, in_channels: int = 3, **kwargs: Any) -> nn.Module:
    """Build network ``name`` (by convention the search space's name) for ``arch``.

    ``kwargs`` are the network's size knobs, e.g. ``C`` (base channels) and ``N`` (cells per stage).
    """
    factory = MODELS.get(name)
    if arch.space != name and not MODELS.tags(name)["any_space"]:
        raise ValueError(f"model {name!r} cannot be built from an architecture of space {arch.space!r}")
    return factory(arch, num_classes=num_classes, in_channels=in_channels, **kwargs)


def model_for_space(space: SearchSpace) -> tuple[str, dict[str, Any]]:
    """The registered model that builds ``space``'s architectures and the keyword arguments it needs
    from the space: the model named like the space, else ``chain`` for any chain space. A model whose
    factory takes a ``space`` argument (e.g. ``model_space``) gets the space's JSON ``config()``."""
    import inspect

    from ..spaces import ChainSpace

    if space.name in MODELS:
        name = space.name
    elif isinstance(space, ChainSpace):
        name = "chain"
    else:
        raise ValueError(f"no network is registered for search space {space.name!r}; register one with "
                         "nasforge.models.register_model(name, factory)")
    try:
        takes_space = "space" in inspect.signature(MODELS.get(name)).parameters
    except (TypeError, ValueError):
        takes_space = False
    return name, ({"space": space.config()} if takes_space and hasattr(space, "config") else {})
