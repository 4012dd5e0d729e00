"""Search spaces and the Architecture value type."""

from __future__ import annotations

from typing import Any, Callable

from ..exceptions import UsageError
from .base import Architecture, SearchSpace
from .chain import ChainSpace
from .model_space import from_config as _model_space  # torch is imported only when one is built
from .darts import DartsSpace
from .nb101 import NASBench101Space
from .nb201 import NASBench201Space

_REGISTRY: dict[str, Callable[..., SearchSpace]] = {"nb201": NASBench201Space, "nb101": NASBench101Space,
                                                    "darts": DartsSpace, "chain": ChainSpace,
                                                    "proxylessnas": ChainSpace.proxylessnas,
                                                    "model_space": _model_space}


def register_space(name: str, factory: Callable[..., SearchSpace]) -> None:
    """Make ``get_space(name)`` build spaces with ``factory``."""
    _REGISTRY[name] = factory


def get_space(name: str, /, **kwargs: Any) -> SearchSpace:
    """Build a registered search space by name (e.g. ``"nb201"``)."""
    if name not in _REGISTRY:
        raise UsageError(f"unknown search space {name!r}; choose from {sorted(_REGISTRY)}")
    return _REGISTRY[name](**kwargs)


def available_spaces() -> list[str]:
    return sorted(_REGISTRY)


__all__ = ["Architecture", "SearchSpace", "ChainSpace", "DartsSpace", "NASBench101Space", "NASBench201Space", "get_space", "register_space",
           "available_spaces"]
