"""Model registry: ``create_model(name, arch, num_classes=..., ...)`` builds any registered network.

A model is registered under the name of the search space whose architectures it builds (``nb201``,
``darts``, ...). A model that builds architectures of several spaces (the chain network builds any
``ChainSpace``, whatever its name) is registered with ``any_space=True``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from ..checks import check_int
from ..exceptions import UsageError
from ..registry import Registry, takes_hint
from ..settings import bind_error
from ..spaces import Architecture, ChainSpace, SearchSpace, as_space
from ..spaces.base import check_architecture
from ..spaces.chain import SKIP_CHOICES

ModelFactory = Callable[..., nn.Module]
MODELS: Registry[ModelFactory] = Registry("model", any_space=False)


def register_model(name: str, factory: ModelFactory, any_space: bool = False, replace: bool = False) -> None:
    """Make ``create_model(name, ...)`` call ``factory(arch, num_classes=..., in_channels=..., **kwargs)``;
    ``any_space=True`` lets it build architectures whose space has another name; ``replace=True`` lets it
    take a built-in network's name."""
    MODELS.register(name, factory, replace=replace, any_space=any_space)


def available_models() -> list[str]:
    """Names of the registered network builders (:func:`create_model`'s ``name``), sorted."""
    return MODELS.names()


def create_model(name: str, arch: Architecture, num_classes: int, in_channels: int = 3, **kwargs: Any) -> nn.Module:
    """Build network ``name`` (by convention the search space's name) for ``arch``.

    ``kwargs`` are the network's size knobs, e.g. ``C`` (base channels) and ``N`` (cells per stage). An ``arch``
    that is no Architecture of the model's space, a ``num_classes`` or ``in_channels`` that is no integer >= 1, or
    a keyword the network does not take is a ``UsageError`` naming it (the network checks its own knobs).
    """
    factory = MODELS.get(name)
    check_architecture(arch)
    if arch.space != name and not MODELS.tags(name)["any_space"]:
        raise UsageError(f"model {name!r} cannot be built from an architecture of space {arch.space!r}")
    num_classes, in_channels = check_int("num_classes", num_classes, 1), check_int("in_channels", in_channels, 1)
    if (error := bind_error(factory, arch, num_classes=num_classes, in_channels=in_channels, **kwargs)) is not None:
        hint = takes_hint(factory, kwargs, skip=("arch", "num_classes", "in_channels"))
        raise UsageError(f"bad parameters for model {name!r}: {error}{hint}")
    return factory(arch, num_classes=num_classes, in_channels=in_channels, **kwargs)


def model_for_space(space: SearchSpace | str) -> tuple[str, dict[str, Any]]:
    """The registered model that builds ``space``'s architectures (``space``: a space or its name) and the keyword
    arguments it needs from the space, chosen by the space's type before its name: ``proxylessnas`` for the
    ProxylessNAS preset, ``chain`` for any other ``ChainSpace`` (with its ``stages``), else the model named like
    the space, which for the built-in names (nb201, nb101, darts) must be a space of that type. A model whose
    factory takes a ``space`` argument (e.g. ``model_space``) gets the space's JSON ``config()``. A ``ValueError``
    where none fits."""
    import inspect

    from ..spaces import ChainSpace, DartsSpace, NASBench101Space, NASBench201Space

    space = as_space(space)
    if isinstance(space, ChainSpace):
        if space.name == "proxylessnas" and space.to_config() == ChainSpace.proxylessnas().to_config():
            return "proxylessnas", {}
        return "chain", chain_stages(space)
    builtin = {"nb201": NASBench201Space, "nb101": NASBench101Space, "darts": DartsSpace,
               "chain": ChainSpace, "proxylessnas": ChainSpace}
    if space.name in builtin and not isinstance(space, builtin[space.name]):
        raise UsageError(f"search space {space.name!r} is a {type(space).__name__}, not a "
                         f"{builtin[space.name].__name__}: the {space.name} network cannot build it; give the space "
                         "another name and register its network with nasforge.models.register_model(name, factory)")
    if space.name not in MODELS:
        raise UsageError(f"no network is registered for search space {space.name!r}; register one with "
                         "nasforge.models.register_model(name, factory)")
    try:
        takes_space = "space" in inspect.signature(MODELS.get(space.name)).parameters
    except (TypeError, ValueError):
        takes_space = False
    return space.name, ({"space": space.config()} if takes_space and hasattr(space, "config") else {})


def chain_stages(space: ChainSpace) -> dict[str, Any]:
    """The chain network's ``stages`` for a chain space that declares them (none: one stage of every layer, all
    at the stem's width and resolution). The first layer of each stage after the first doubles the width and
    halves the resolution, so it cannot offer a skip: such a space is a ``UsageError``."""
    if all(n == 1 for n in space.stages):  # no stages declared
        return {}
    first = 0
    for s, n in enumerate(space.stages):
        skips = [c for c in space.layers[first] if c in SKIP_CHOICES]
        if s > 0 and skips:
            raise UsageError(f"chain space {space.name!r}: layer {first} starts stage {s}, which doubles the width "
                             f"and halves the resolution, so it cannot be {skips[0]!r}; remove that choice or "
                             "change the stages")
        first += n
    return {"stages": list(space.stages)}
