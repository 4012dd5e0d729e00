"""One registry idiom for spaces, strategies, predictors, executors, pruners and models.

``Registry.register(name)`` (a decorator or a call), ``get(name)``, ``names(filter)``. A registered
entry may carry tags (e.g. ``multi_objective=True``) that ``names`` filters on, so the CLI and the
docs list what fits. A user-registered entry is found by name everywhere, including on resume.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from .exceptions import UsageError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> factory map with tags and one clear error for unknown names."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._tags: dict[str, dict[str, Any]] = {}

    def register(self, name: str, factory: T | None = None, **tags: Any) -> Any:
        """Register ``factory`` under ``name``; without ``factory``, return a decorator."""
        def add(obj: T) -> T:
            self._entries[name] = obj
            self._tags[name] = dict(tags)
            return obj

        return add if factory is None else add(factory)

    def get(self, name: str) -> T:
        if name not in self._entries:
            raise UsageError(f"unknown {self.kind} {name!r}; choose from {', '.join(self.names())}")
        return self._entries[name]

    def build(self, spec: str | Mapping[str, Any], *args: Any) -> Any:
        """Call the entry ``spec`` names (a name, or ``{"name": ..., **params}``) with ``*args`` and the params."""
        params = dict(spec) if isinstance(spec, Mapping) else {"name": spec}
        name = params.pop("name", None)
        if name is None:
            raise UsageError(f"the {self.kind} spec {spec!r} needs a 'name'")
        factory = self.get(name)
        try:
            return factory(*args, **params)
        except TypeError as exc:
            raise UsageError(f"bad parameters for {self.kind} {name!r}: {exc}") from None

    def tags(self, name: str) -> dict[str, Any]:
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

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"
