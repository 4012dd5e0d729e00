"""One registry idiom for spaces, strategies, predictors, executors, pruners and models.

``Registry.register(name)`` (a decorator or a call), ``get(name)``, ``names(filter)``. A registered
entry may carry tags (e.g. ``multi_objective=True``) that ``names`` filters on, so the CLI and the
docs list what fits; a tag an entry was registered without has the registry's default. A user-registered
entry is found by name everywhere in the process that registered it, ``Study.load`` and ``resume`` included (a
command such as ``nasforge resume`` runs in a new process, which knows nasforge's own entries only);
nasforge's own entries (``builtin=True``) are replaced only on request (``replace=True``).
"""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from .exceptions import UsageError
from .settings import bind_error, keyword_names

T = TypeVar("T")


def closest(word: object, choices: Iterable[str]) -> str | None:
    """The choice closest to ``word`` (case ignored), or None when none is close (:mod:`difflib`) or when two are
    equally close (``edge_9`` among ``edge_0_1 ... edge_2_3``: a guess between them would be arbitrary)."""
    if not isinstance(word, str):
        return None
    lowered = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=2)
    if len(close) == 2 and _ratio(word.lower(), close[0]) == _ratio(word.lower(), close[1]):
        return None
    return lowered[close[0]] if close else None


def _ratio(word: str, choice: str) -> float:
    """:func:`difflib.get_close_matches`'s score of ``choice`` for ``word``."""
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(word)
    matcher.set_seq1(choice)
    return matcher.ratio()


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` naming the :func:`closest` choice to ``word``; '' when none is close."""
    guess = closest(word, choices)
    return "" if guess is None else f" (did you mean {guess!r}?)"


def takes_hint(factory: Any, given: Iterable[str], skip: Iterable[str] = ()) -> str:
    """`` (it takes: a, b; 'x': did you mean 'a'?)``: the keyword parameters ``factory`` takes (``skip`` aside)
    and the closest of them to each name of ``given`` it does not take; '' when it takes any keyword."""
    names = keyword_names(factory)
    if names is None:
        return ""
    taken = [n for n in names if n not in set(skip)]
    guesses = "".join(f"; {key!r}: did you mean {guess!r}?" for key in given
                      if key not in names and (guess := closest(key, taken)) is not None)
    return f" (it takes: {', '.join(taken) or 'no parameters'}{guesses})"


def inherited_keyword_names(factory: Any) -> list[str] | None:
    """For a class whose ``__init__`` takes ``**kwargs`` (a preset passing them on to its base class), the keyword
    names of the ``__init__`` methods along its MRO up to the first without ``**kwargs``; None where that does not
    end (a function, or ``**kwargs`` passed on to something else)."""
    if not isinstance(factory, type):
        return None
    names: list[str] = []
    for klass in factory.__mro__:
        if "__init__" not in vars(klass):
            continue
        try:
            params = inspect.signature(vars(klass)["__init__"]).parameters.values()
        except (TypeError, ValueError):
            return None
        names += [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                  and p.name != "self" and p.name not in names]
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return names
    return None


def unexpected_hint(factory: Any, params: Mapping[str, Any], error: TypeError, skip: int) -> str | None:
    """For a ``factory`` taking ``**kwargs`` whose call raised ``error`` in a base class's ``__init__`` for a keyword
    of ``params`` that the base class does not take either: ``unexpected parameter 'x' (it takes: ...; 'x': did
    you mean 'y'?)``; else None (the error of a callee that is no base class is shown as it is)."""
    match = re.search(r"(\w+)\.__init__\(\) got an unexpected keyword argument '([^']+)'", str(error))
    names = inherited_keyword_names(factory)
    if match is None or names is None or match.group(2) not in params or match.group(2) in names:
        return None
    if match.group(1) not in {klass.__name__ for klass in factory.__mro__}:  # passed on to something else
        return None
    taken = names[skip:]
    unknown = [key for key in params if key not in names]
    guesses = "".join(f"; {key!r}: did you mean {guess!r}?" for key in unknown
                      if (guess := closest(key, taken)) is not None)
    return f"got an unexpected keyword argument {match.group(2)!r} (it takes: {', '.join(taken)}{guesses})"


def _passed_on(factory: Any, params: Mapping[str, Any], error: TypeError) -> bool:
    """Whether ``error`` refuses a keyword of ``params`` that ``factory`` took by ``**kwargs`` and passed on."""
    match = re.search(r"got an unexpected keyword argument '([^']+)'", str(error))
    return match is not None and match.group(1) in params and keyword_names(factory) is None


class Registry(Generic[T]):
    """A name -> factory map with tags (``default_tags`` for those an entry was registered without) and one
    clear error for unknown names."""

    def __init__(self, kind: str, *, callable_entries: bool = True, hint: Callable[[object], str] | None = None,
                 **default_tags: Any) -> None:
        """``default_tags``: the tags an entry may carry and their defaults (a registry without any takes any tag);
        ``callable_entries=False`` for a registry whose entries are data, not factories; ``hint``: the text an
        unknown name's error adds after the name (default: :func:`did_you_mean` of the registered names)."""
        self.kind = kind
        self.callable_entries = callable_entries
        self._hint = hint
        self.default_tags = default_tags
        self._entries: dict[str, T] = {}
        self._tags: dict[str, dict[str, Any]] = {}
        self._builtin: set[str] = set()

    def register(self, name: str, factory: T | None = None, *, builtin: bool = False, replace: bool = False,
                 **tags: Any) -> Any:
        """Register ``factory`` under ``name``; without ``factory``, return a decorator. ``builtin=True`` marks
        nasforge's own entries: registering another under such a name is a UsageError unless ``replace=True``.
        A name that is no non-empty string, a factory that cannot be called, and a tag the registry does not
        know are UsageErrors (nothing is registered)."""
        if not isinstance(name, str) or not name.strip():
            if callable(name) and factory is None:  # @REG.register without its ("name")
                own = getattr(name, "name", None)
                raise UsageError(f"{self.kind} name missing: decorate {getattr(name, '__name__', name)} with "
                                 f"@REGISTRY.register({own if isinstance(own, str) else 'mine'!r}), not a bare "
                                 "@REGISTRY.register")
            raise UsageError(f"a {self.kind} name must be a non-empty string, got {type(name).__name__} {name!r}")
        if name in self._builtin and not replace:
            raise UsageError(f"{self.kind} {name!r} is one of nasforge's own; register yours under another name "
                             "(or pass replace=True to replace it)")
        unknown = sorted(set(tags) - set(self.default_tags)) if self.default_tags else []
        if unknown:
            hints = "".join(did_you_mean(tag, self.default_tags) for tag in unknown)
            raise UsageError(f"unknown {self.kind} tag(s) {unknown}{hints} for {name!r}; tags: "
                             f"{', '.join(self.default_tags)}")

        def add(obj: T) -> T:
            if self.callable_entries and not callable(obj):
                raise UsageError(f"{self.kind} {name!r}: the factory must be callable (a class or a function), "
                                 f"got {type(obj).__name__} {obj!r}")
            self._entries[name] = obj
            self._tags[name] = {**self.default_tags, **tags}
            (self._builtin.add if builtin else self._builtin.discard)(name)
            return obj

        return add if factory is None else add(factory)

    def get(self, name: str) -> T:
        """The factory registered as ``name``; a UsageError listing the names (and the closest one) otherwise."""
        if not isinstance(name, str) or name not in self._entries:
            hint = self._hint(name) if self._hint else did_you_mean(name, self._entries)
            raise UsageError(f"unknown {self.kind} {name!r}{hint}; choose from {', '.join(self.names())}")
        return self._entries[name]

    def build(self, spec: str | Mapping[str, Any], *args: Any) -> Any:
        """Call the entry ``spec`` names (a name, or ``{"name": ..., **params}``) with ``*args`` and the params.
        A call that does not fit the entry's signature (or, for a factory taking ``**kwargs``, the signature of the
        base class it passes them on to) is a UsageError, "bad parameters"; so is a TypeError from one of
        nasforge's own entries (a setting of the wrong type), whose cause keeps the original traceback
        (``--debug`` shows it). Any other error, and any error raised inside a user's entry, propagates as it
        is: a bug in your own factory keeps its type and traceback."""
        params = dict(spec) if isinstance(spec, Mapping) else {"name": spec}
        name = params.pop("name", None)
        if name is None:
            raise UsageError(f"the {self.kind} spec {spec!r} needs a 'name'")
        factory = self.get(name)
        if (error := bind_error(factory, *args, **params)) is not None:
            hint = takes_hint(factory, params, skip=(keyword_names(factory) or [])[:len(args)])
            raise UsageError(f"bad parameters for {self.kind} {name!r}: {error}{hint}")
        try:
            return factory(*args, **params)
        except TypeError as exc:
            why = unexpected_hint(factory, params, exc, skip=len(args))
            if why is None and not self.is_builtin(name) and not _passed_on(factory, params, exc):
                raise  # raised inside the user's own entry: a bug there, not a parameter of the call
            raise UsageError(f"bad parameters for {self.kind} {name!r}: {why or exc}") from exc

    def tags(self, name: str) -> dict[str, Any]:
        """The tags of entry ``name``, with the registry's default for each one it was registered without."""
        self.get(name)
        return dict(self._tags[name])

    def names(self, predicate: Callable[[dict[str, Any]], bool] | None = None, **tags: Any) -> list[str]:
        """Sorted names, optionally only those whose tags match ``tags`` and satisfy ``predicate``."""
        known = {key for entry_tags in self._tags.values() for key in entry_tags}
        unknown = sorted(set(tags) - known)
        if unknown and self._tags:
            raise UsageError(f"unknown {self.kind} tag(s) {unknown}; tags: {', '.join(sorted(known)) or 'none'}")
        out = []
        for name, entry_tags in self._tags.items():
            if any(entry_tags.get(k) != v for k, v in tags.items()):
                continue
            if predicate is not None and not predicate(entry_tags):
                continue
            out.append(name)
        return sorted(out)

    def is_builtin(self, name: str) -> bool:
        """Whether ``name`` is one of nasforge's own entries (not replaced by the user's)."""
        return name in self._builtin

    def other_class(self, name: str, cls: type) -> type | None:
        """The class registered as ``name`` when it is not ``cls``: what a load by that name builds instead of an
        object of ``cls``; None where ``name`` is not registered, or is registered to ``cls`` or to a function (whose
        objects' class is not known)."""
        entry = self._entries.get(name)
        return entry if isinstance(entry, type) and entry is not cls else None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"
