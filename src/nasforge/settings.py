"""An object's settings read back: the constructor arguments it keeps under their own names (a leaf module).

A study records its strategy's and space's settings this way, to rebuild them on resume, and a strategy
compares them when it loads a saved state.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any


_ATOMS = frozenset({type(None), bool, int, float, str})


def is_plain(value: Any) -> bool:
    """Whether ``value`` is plain data (None, bool, number, string, or lists, tuples and dicts of them)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):  # items of exactly a plain type answered without a call (genotypes)
        return all(type(v) in _ATOMS or is_plain(v) for v in value)
    return isinstance(value, dict) and all(isinstance(k, str) and is_plain(v) for k, v in value.items())


def keyword_names(fn: Any) -> list[str] | None:
    """The names ``fn`` takes by keyword, in order; None when it takes any (``**kwargs``) or cannot be inspected."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def bind_error(fn: Any, /, *args: Any, **kwargs: Any) -> str | None:
    """Why ``fn(*args, **kwargs)`` cannot be called (the message of the TypeError the call would raise before
    running ``fn``), or None when it can, or when ``fn`` has no signature to check against."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        return str(exc)
    return None


def constructor_settings(obj: Any, skip: Sequence[str] = ("self", "space", "seed")) -> tuple[dict[str, Any], bool]:
    """``(settings, complete)``: the constructor arguments of ``obj`` (those in ``skip`` aside) that it keeps
    as plain data under their own names, and whether that is all it takes to rebuild it: False when an
    argument without a default is not kept, or one that is kept is not plain data. The ``**kwargs`` of a
    constructor count when ``obj`` lists the ones it keeps in an ``extra_settings()`` method."""
    settings: dict[str, Any] = {}
    complete = True
    for name, param in inspect.signature(type(obj).__init__).parameters.items():
        if param.kind == param.VAR_KEYWORD and callable(extra := getattr(obj, "extra_settings", None)):
            for key, value in extra().items():
                if is_plain(value):
                    settings[key] = value
                else:
                    complete = False
            continue
        if name in skip or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if not hasattr(obj, name):
            complete &= param.default is not inspect.Parameter.empty  # not kept: the default applies
        elif is_plain(value := getattr(obj, name)):
            settings[name] = value
        else:
            complete = False
    return settings, complete


def owned_by_nasforge(obj: Any) -> bool:
    """Whether ``obj``'s constructor is nasforge's own (its classes record their settings, some under other
    names), not that of a user's class (a subclass that keeps nasforge's ``__init__`` counts as nasforge's)."""
    init_owner = next(k for k in type(obj).__mro__ if "__init__" in vars(k))
    return init_owner.__module__.split(".")[0] == "nasforge"


def unkept_settings(obj: Any, skip: Sequence[str] = ("self", "space", "seed")) -> list[str]:
    """The constructor arguments of ``obj`` (those in ``skip``, ``*args`` and ``**kwargs`` aside) that it keeps
    under no attribute of the same name: :func:`constructor_settings` cannot read them back, so an object rebuilt
    from its recorded settings gets their defaults, whatever they were."""
    return [name for name, param in inspect.signature(type(obj).__init__).parameters.items()
            if name not in skip and param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD)
            and not hasattr(obj, name)]


def changed_settings(obj: Any, skip: Sequence[str] = ("self", "space", "seed")) -> dict[str, Any]:
    """The settings of ``obj`` (:func:`constructor_settings`) that differ from their parameter's default (an empty
    list, tuple or dict stands for a None default), e.g. for a repr."""
    params = inspect.signature(type(obj).__init__).parameters
    changed = {}
    for key, value in constructor_settings(obj, skip)[0].items():
        default = params[key].default if key in params else inspect.Parameter.empty
        if not (value == default or (default is None and value in ([], (), {}))):
            changed[key] = value
    return changed
