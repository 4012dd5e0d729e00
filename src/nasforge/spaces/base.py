"""The Architecture value type and the SearchSpace interface every space implements."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def _freeze(value: Any) -> Any:
    """Turn nested lists (as found in JSON) back into nested tuples."""
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Architecture:
    """An immutable, hashable architecture: the space's name and a nested-tuple genotype."""

    space: str
    genotype: tuple

    def to_json(self) -> dict:
        return {"space": self.space, "genotype": _thaw(self.genotype)}

    @classmethod
    def from_json(cls, data: dict | str) -> Architecture:
        if isinstance(data, str):
            data = json.loads(data)
        try:
            return cls(str(data["space"]), _freeze(data["genotype"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not an architecture record: {data!r}") from exc


class SearchSpace(ABC):
    """A set of architectures with the operations strategies and predictors need.

    Subclasses set ``name`` and implement the abstract methods. Randomness always comes from a
    caller-supplied ``numpy.random.Generator``.
    """

    name: str = "abstract"

    # -- required ------------------------------------------------------------------------------
    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Architecture:
        """A uniformly random valid architecture (uniform over genotypes)."""

    @abstractmethod
    def neighbors(self, arch: Architecture) -> list[Architecture]:
        """All valid architectures one edit away from ``arch`` (never ``arch`` itself)."""

    @abstractmethod
    def parse(self, text: str) -> Architecture:
        """Read the space's text form; raise ``ValueError`` naming the bad part."""

    @abstractmethod
    def format(self, arch: Architecture) -> str:
        """The space's text form; ``parse(format(a)) == a``."""

    @abstractmethod
    def canonical(self, arch: Architecture) -> Architecture:
        """A normal form shared by all functionally identical architectures."""

    @abstractmethod
    def encode_onehot(self, arch: Architecture) -> np.ndarray:
        """Fixed-length one-hot encoding of one architecture."""

    @abstractmethod
    def categorical_params(self) -> dict[str, list[str]]:
        """A flat categorical view of the space (for generic samplers such as Optuna's)."""

    @abstractmethod
    def from_params(self, params: dict[str, str]) -> Architecture:
        """Build an architecture from a ``categorical_params`` assignment (``ValueError`` if invalid)."""

    @abstractmethod
    def to_params(self, arch: Architecture) -> dict[str, str]:
        """Inverse of ``from_params``."""

    @abstractmethod
    def validate(self, arch: Architecture) -> None:
        """Raise ``ValueError`` if ``arch`` is not a valid member of this space."""

    @property
    @abstractmethod
    def size(self) -> int:
        """Number of distinct genotypes in the space."""

    # -- provided ------------------------------------------------------------------------------
    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """One random neighbour: a valid architecture different from ``arch``."""
        options = self.neighbors(arch)
        return options[int(rng.integers(len(options)))]

    def canonical_key(self, arch: Architecture) -> Hashable:
        """Hashable key equal for functionally identical architectures (used for de-duplication)."""
        return self.canonical(arch).genotype

    def encode(self, archs: Sequence[Architecture], kind: str = "onehot") -> np.ndarray:
        """Batch encoding, one row per architecture."""
        encoders = self.encoders()
        if kind not in encoders:
            raise ValueError(f"unknown encoding {kind!r} for space {self.name!r}; choose from {sorted(encoders)}")
        encoder = encoders[kind]
        return np.stack([encoder(a) for a in archs]) if len(archs) else np.zeros((0, 0))

    def encoders(self) -> dict[str, Any]:
        """Named single-architecture encoders; subclasses may add more."""
        return {"onehot": self.encode_onehot}

    @property
    def is_enumerable(self) -> bool:
        return False

    def enumerate(self) -> Iterator[Architecture]:
        """Every architecture of a finite, enumerable space."""
        raise TypeError(f"space {self.name!r} is too large to enumerate ({self.size:.3g} architectures)")

    def check(self, arch: Architecture) -> Architecture:
        """Validate an architecture coming from outside and return it."""
        if not isinstance(arch, Architecture):
            raise ValueError(f"expected an Architecture, got {type(arch).__name__}")
        if arch.space != self.name:
            raise ValueError(f"architecture belongs to space {arch.space!r}, not {self.name!r}")
        self.validate(arch)
        return arch

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
