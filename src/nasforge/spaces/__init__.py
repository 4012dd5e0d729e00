"""Search spaces and the Architecture value type."""

from __future__ import annotations

import inspect
import reprlib
from typing import Any, Callable

from ..exceptions import UsageError
from ..registry import Registry, did_you_mean
from ..settings import bind_error, constructor_settings, keyword_names
from .base import Architecture, SearchSpace
from .chain import ChainSpace
from .model_space import from_config as _model_space  # torch is imported only when one is built
from .darts import DartsSpace
from .nb101 import NASBench101Space
from .nb201 import NASBench201Space

SPACE_ALIASES = {"darts": "darts", "nb301": "darts", "nasbench301": "darts", "nb101": "nb101", "nasbench101": "nb101",
                 "nb201": "nb201", "nasbench201": "nb201", "proxyless": "proxylessnas"}
"""Other names of the built-in spaces (lower case, without '-', '_', ' ' or '.'), which an unknown space name is
pointed from (:func:`space_hint`); DARTS's space is the one NAS-Bench-301 tabulates."""
SPACE_TITLES = {"darts": "the DARTS / NAS-Bench-301 space", "nb101": "the NAS-Bench-101 space",
                "nb201": "the NAS-Bench-201 space"}


def space_hint(name: object, choices: list[str] | None = None) -> str:
    """`` (did you mean 'darts', the DARTS / NAS-Bench-301 space?)`` for an unknown space ``name`` that is another
    name of a space in ``choices`` (default: the registered ones; :data:`SPACE_ALIASES`) or close to one (case
    ignored); '' when none is."""
    choices = available_spaces() if choices is None else choices
    key = "".join(c for c in name.lower() if c not in "-_ .") if isinstance(name, str) else ""
    guess = SPACE_ALIASES.get(key)
    if guess is None or guess not in choices:
        return did_you_mean(name, choices)
    title = SPACE_TITLES.get(guess)
    return f" (did you mean {guess!r}{f', {title}' if title else ''}?)"


SPACES: Registry[Callable[..., SearchSpace]] = Registry("search space", hint=space_hint)
SPACES.register("nb201", NASBench201Space, builtin=True)
SPACES.register("nb101", NASBench101Space, builtin=True)
SPACES.register("darts", DartsSpace, builtin=True)
SPACES.register("chain", ChainSpace, builtin=True)
SPACES.register("proxylessnas", ChainSpace.proxylessnas, builtin=True)
SPACES.register("model_space", _model_space, builtin=True)


def register_space(name: str, factory: Callable[..., SearchSpace], replace: bool = False) -> None:
    """Make ``get_space(name)`` build spaces with ``factory`` (``replace=True`` to take a built-in's name); a class
    whose own ``name`` is another that no space is registered under is refused (a study records the space's
    ``name``, which would load nothing)."""
    own = getattr(factory, "name", None) if isinstance(factory, type) else None
    if isinstance(own, str) and own not in (name, SearchSpace.name) and own not in SPACES:  # else loads by that
        raise UsageError(f"register_space({name!r}, {factory.__name__}): its spaces are named {own!r} (the name a "
                         f"study records and Study.load looks up), not {name!r}; register it as "
                         f"register_space({own!r}, {factory.__name__}), or set name = {name!r} in the class")
    SPACES.register(name, factory, replace=replace)


def get_space(name: str, /, **kwargs: Any) -> SearchSpace:
    """Build a registered search space by name (e.g. ``"nb201"``); a keyword the space does not take, or a
    missing required one, raises :class:`~nasforge.exceptions.UsageError`, as does an unknown name (the registry's
    error, with :func:`space_hint`)."""
    factory = SPACES.get(name)
    if (error := bind_error(factory, **kwargs)) is not None:
        names = keyword_names(factory)  # None: it takes any keyword (**kwargs)
        options = "keyword options of its own" if names is None else ", ".join(names) or "no options"
        raise UsageError(f"bad parameters for search space {name!r}: {error} (it takes: {options})")
    return factory(**kwargs)


def as_space(space: SearchSpace | str) -> SearchSpace:
    """``space``, or the space a name names (:func:`get_space`); anything else is a UsageError."""
    if isinstance(space, str):
        space = get_space(space)
    if not isinstance(space, SearchSpace):
        raise UsageError(f"space must be a SearchSpace or a space name, got {type(space).__name__} {space!r:.60}")
    return space


def stored_space(name: str, config: dict[str, Any] | None) -> SearchSpace:
    """The space a stored record names (a study's ``space``/``space_config``): ``get_space(name, **config)``;
    for a preset that takes no options (``proxylessnas``), the preset itself when ``config`` is its own; a chain
    space's record (its ``layers``) under a name whose registered space takes no ``layers`` (an unregistered name,
    or another built-in space's, accepted before it was refused) from its layers; a model space as it was made
    (``rebuild_stored``: one that its creation checks refuse today loads with a warning)."""
    if config is not None and not isinstance(config, dict):
        raise UsageError(f"the options of space {name!r} must be a mapping of option names to values, got "
                         f"{type(config).__name__} {reprlib.repr(config)}")
    factory = SPACES.get(name) if name in SPACES else None
    if factory is _model_space:  # a stored model space loads as it was made, even one that creation refuses today
        from .model_space.space import rebuild_stored

        return rebuild_stored(config or {})
    if factory is not None and config:
        try:
            takes_none = not inspect.signature(factory).parameters
        except (TypeError, ValueError):
            takes_none = False
        if takes_none:
            preset = factory()
            if getattr(preset, "to_config", lambda: None)() == config:
                return preset
    names = keyword_names(factory) if factory is not None else []  # None: it takes any keyword
    if isinstance(config, dict) and "layers" in config and names is not None and "layers" not in names:
        return ChainSpace.from_config({**config, "name": name}, stored=True)
    return get_space(name, **(config or {}))


def space_record(space: SearchSpace) -> dict[str, Any] | None:
    """The plain-data options that, with its name, rebuild ``space`` (:func:`stored_space`), as a saved supernet
    and a surrogate record them: a chain's layers, name and stages (``to_config()``), a model space's ``config()``
    (its module reference and arguments; ``UsageError`` when it cannot be rebuilt by name), else the constructor
    options it keeps (NB201's ``canonical_rule``); None when it has none or they do not suffice to rebuild it."""
    if hasattr(space, "to_config"):
        return space.to_config()
    if space.name == "model_space":
        return space.config()  # type: ignore[attr-defined]
    settings, complete = constructor_settings(space)
    return settings if complete and settings else None


def available_spaces() -> list[str]:
    """Names of the registered search spaces (:func:`get_space`'s ``name``), sorted."""
    return SPACES.names()


__all__ = ["Architecture", "SearchSpace", "ChainSpace", "DartsSpace", "NASBench101Space", "NASBench201Space", "SPACES",
           "get_space", "register_space", "available_spaces", "stored_space", "space_record",
           "as_space", "space_hint"]
