"""The Architecture value type and the SearchSpace interface every space implements."""

from __future__ import annotations

import json
import re
import reprlib
from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..exceptions import NotEnumerableError, UsageError

ENUMERABLE_LIMIT = 1_000_000
"""The most architectures a built-in space enumerates (grid search, ``count_unique`` by enumeration)."""


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
    """An immutable, hashable architecture: the space's name and a nested-tuple genotype (lists given as a
    genotype, or inside one, are turned into tuples)."""

    space: str
    genotype: tuple

    def __post_init__(self) -> None:
        try:
            hash(self.genotype)  # fast (in C) when it is already nested tuples, the usual case
        except TypeError:
            object.__setattr__(self, "genotype", _freeze(self.genotype))
            try:
                hash(self.genotype)
            except TypeError:
                raise UsageError(f"an architecture's genotype must be nested lists or tuples of names and numbers, "
                                 f"got {reprlib.repr(self.genotype)}") from None

    def to_json(self) -> dict:
        return {"space": self.space, "genotype": _thaw(self.genotype)}

    @classmethod
    def from_json(cls, data: dict | str) -> Architecture:
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except json.JSONDecodeError as exc:
                raise UsageError(f"not an architecture record: {reprlib.repr(data)} is not JSON ({exc})") from None
        if not isinstance(data, dict) or not {"space", "genotype"} <= set(data):
            raise UsageError(f"not an architecture record (a 'space' and a 'genotype'): {reprlib.repr(data)}")
        if not isinstance(data["space"], str) or not data["space"]:
            raise UsageError(f"an architecture record's space must be a space name, got {reprlib.repr(data['space'])}")
        return cls(data["space"], data["genotype"])


def check_storable(arch: Architecture) -> Architecture:
    """``arch`` when its genotype holds only plain values (str, int, float, bool, None), which it is stored as (in
    JSON); a ``TypeError`` naming the first other value (e.g. a NumPy integer) otherwise."""
    from ..settings import is_plain

    if not is_plain(arch.genotype):
        odd = next(v for v in _leaves(arch.genotype) if not is_plain(v))
        raise TypeError(f"its genotype holds {type(odd).__name__} {reprlib.repr(odd)}, but a genotype holds plain "
                        "values (str, int, float, bool, None), since it is stored as JSON (e.g. int(x) for a NumPy "
                        "integer)")
    return arch


def _leaves(value: Any) -> Iterator[Any]:
    """The values of nested tuples, depth first."""
    if isinstance(value, tuple):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def check_architecture(arch: Any, name: str = "arch") -> Architecture:
    """``arch`` if it is an Architecture (of any space), else a ``UsageError`` naming ``name``."""
    if not isinstance(arch, Architecture):
        raise UsageError(f"{name} must be an Architecture (space.parse(text) reads one), got {type(arch).__name__} "
                         f"{reprlib.repr(arch)}")
    return arch


_FORMS = {"nb201": "a NAS-Bench-201 cell", "nb101": "a NAS-Bench-101 cell", "darts": "a DARTS genotype",
          "chain": "a chain architecture"}


def foreign_form(text: object, own: str) -> str:
    """``: it reads like a NAS-Bench-101 cell; is it space 'nb101'?`` when ``text`` has the text form of a
    built-in space other than ``own`` (``|op~0|+|...|``, ``ops=...;matrix=...``, ``Genotype(...)``, or a chain's
    ``conv3|skip``: names separated by ``|``, without ``~`` or ``=``), which no text of ``own`` has; '' otherwise.
    Appended to a parse error, it names the likely space (no option: a caller that fixes the space retells it with
    :func:`foreign_form_retold`)."""
    if not isinstance(text, str):
        return ""
    stripped = text.strip()
    if stripped.startswith("Genotype("):
        form = "darts"
    elif "ops=" in stripped and "matrix=" in stripped:
        form = "nb101"
    elif stripped.startswith("|") and stripped.endswith("|") and "~" in stripped:
        form = "nb201"
    elif "|" in stripped and not {"~", "="} & set(stripped) and all(t.strip() for t in stripped.split("|")):
        form = "chain"
    else:
        return ""
    return "" if form == own else f": it reads like {_FORMS[form]}; is it space {form!r}?"


_FOREIGN_HINT = re.compile(r": it reads like (?P<what>[^;]+); is it space '(?P<space>[a-z0-9]+)'(?: \(--space \w+\))?\?$")


def foreign_form_space(message: str) -> str | None:
    """The space a :func:`foreign_form` hint at the end of ``message`` names; None without one."""
    match = _FOREIGN_HINT.search(message)
    return None if match is None else match["space"]


def foreign_form_retold(message: str, fixed: str) -> str:
    """``message`` with its trailing :func:`foreign_form` question told as a mismatch with ``fixed``, the reason
    the space cannot be changed (e.g. ``surrogate 'x' models space 'nb201'``); unchanged without one."""
    match = _FOREIGN_HINT.search(message)
    if match is None:
        return message
    return f"{message[:match.start()]}: it reads like {match['what']} (space {match['space']!r}), but {fixed}"


def as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    """``rng`` itself, or a fresh ``numpy.random.Generator`` seeded with an int seed (or unseeded for None)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0):
        return np.random.default_rng(rng)
    raise UsageError(f"rng must be a numpy.random.Generator, a non-negative int seed or None, got {rng!r}")


class SearchSpace(ABC):
    """A set of architectures with the operations strategies and predictors need.

    Subclasses set ``name`` and implement the abstract methods. Randomness comes from a
    caller-supplied ``numpy.random.Generator``; ``sample`` and ``mutate`` also take an int seed or
    None (see :func:`as_rng`).
    """

    name: str = "abstract"
    builds_only_reachable: bool = False
    """Whether nasforge's networks of the space build only the operations on a path from the input to the output
    (NB201's cells leave the others out, NB101's are pruned), so ``params`` counts only those."""

    # -- required ------------------------------------------------------------------------------
    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Architecture:
        """A uniformly random valid architecture (uniform over genotypes)."""

    @abstractmethod
    def neighbors(self, arch: Architecture) -> list[Architecture]:
        """All valid architectures one edit away from ``arch`` (never ``arch`` itself)."""

    @abstractmethod
    def parse(self, text: str) -> Architecture:
        """Read the space's text form; raise ``UsageError`` (a ``ValueError``) naming the bad part."""

    @abstractmethod
    def format(self, arch: Architecture) -> str:
        """The space's text form; ``parse(format(a)) == a``."""

    @abstractmethod
    def canonical(self, arch: Architecture) -> Architecture:
        """A normal form shared by all functionally identical architectures."""

    def trained_form(self, arch: Architecture) -> Architecture:
        """The architecture whose network nasforge's model of the space builds for ``arch``: ``arch`` itself, unless
        the network drops or reorders parts of it (NB101: the pruned cell in canonical order)."""
        return arch

    @abstractmethod
    def encode_onehot(self, arch: Architecture) -> np.ndarray:
        """Fixed-length one-hot encoding of one architecture."""

    @abstractmethod
    def categorical_params(self) -> dict[str, list[str]]:
        """A flat categorical view of the space (for generic samplers such as Optuna's)."""

    @abstractmethod
    def from_params(self, params: dict[str, str]) -> Architecture:
        """Build an architecture from a ``categorical_params`` assignment (``UsageError`` if invalid)."""

    @abstractmethod
    def to_params(self, arch: Architecture) -> dict[str, str]:
        """Inverse of ``from_params``."""

    @abstractmethod
    def validate(self, arch: Architecture) -> None:
        """Raise ``UsageError`` (a ``ValueError``) if ``arch`` is not a valid member of this space: no
        Architecture, one of another space (start with ``self._own(arch)``) or an invalid genotype."""

    @property
    @abstractmethod
    def size(self) -> int:
        """Number of distinct genotypes in the space."""

    # -- provided ------------------------------------------------------------------------------
    def mutate(self, arch: Architecture, rng: np.random.Generator | int | None) -> Architecture:
        """One random neighbour: a valid architecture different from ``arch``."""
        rng = as_rng(rng)
        options = self.neighbors(arch)
        return options[int(rng.integers(len(options)))]

    def canonical_key(self, arch: Architecture) -> Hashable:
        """Hashable key equal for functionally identical architectures (used for de-duplication)."""
        return self.canonical(self._own(arch)).genotype

    def encode(self, archs: Sequence[Architecture], kind: str = "onehot") -> np.ndarray:
        """Batch encoding of a list of architectures, one row per architecture (an empty list: no rows, as many
        columns as any architecture's encoding)."""
        if isinstance(archs, (Architecture, str)):
            raise UsageError(f"encode takes a list of architectures, got one {type(archs).__name__}; "
                             "pass [arch] for a single one")
        encoders = self.encoders()
        if kind not in encoders:
            raise UsageError(f"unknown encoding {kind!r} for space {self.name!r}; choose from {sorted(encoders)}")
        encoder = encoders[kind]
        rows = [encoder(self._own(a)) for a in archs]
        if not rows:  # the width of one encoding (of a fixed sample: the caller's random state is not touched)
            row = encoder(self.sample(np.random.default_rng(0)))
            return np.zeros((0, row.size), dtype=row.dtype)
        return np.stack(rows)

    def encoders(self) -> dict[str, Any]:
        """Named single-architecture encoders; subclasses may add more."""
        return {"onehot": self.encode_onehot}

    @property
    def is_enumerable(self) -> bool:
        return False

    def count_unique(self) -> int:
        """Number of canonical forms of an enumerable space (what a de-duplicating search can visit);
        this default enumerates the space (``NotEnumerableError`` if it cannot), spaces with a formula override it."""
        return len({self.canonical_key(a) for a in self.enumerate()})

    def enumerate(self) -> Iterator[Architecture]:
        """Every architecture of a finite, enumerable space; this default raises ``NotEnumerableError``: a space
        too large to list, or one that does not implement ``is_enumerable`` and ``enumerate()``."""
        if self.size > ENUMERABLE_LIMIT:
            raise NotEnumerableError(f"space {self.name!r} is too large to enumerate ({self.size:.3g} architectures)")
        raise NotEnumerableError(f"space {self.name!r} ({self.size:,} architectures) cannot be enumerated: it does "
                                 "not implement is_enumerable and enumerate()")

    def _check_param_names(self, params: dict[str, str]) -> None:
        """A UsageError for a ``from_params`` assignment that is not a dict or names a parameter the space's
        ``categorical_params`` does not have."""
        if not isinstance(params, dict):
            raise UsageError(f"from_params takes a dict of parameter -> choice, got {type(params).__name__}")
        unknown = sorted(set(params) - set(self.categorical_params()), key=str)
        if unknown:
            raise UsageError(f"unknown parameter(s) {unknown}")

    def _checked_params(self, params: dict[str, str]) -> dict[str, str]:
        """A ``from_params`` assignment as ``{parameter: choice}`` strings in ``categorical_params`` order, checked
        by :meth:`_check_param_names` and then for a missing parameter or a value not among the parameter's choices
        (a UsageError naming the parameter)."""
        self._check_param_names(params)
        choices = self.categorical_params()
        missing = [name for name in choices if name not in params]
        if missing:
            raise UsageError(f"missing parameter(s) {missing}")
        for name, allowed in choices.items():
            if str(params[name]) not in allowed:
                raise UsageError(f"parameter {name!r} must be one of {allowed}, got {reprlib.repr(params[name])}")
        return {name: str(params[name]) for name in choices}

    def check(self, arch: Architecture) -> Architecture:
        """Validate an architecture coming from outside and return it (``UsageError`` if invalid)."""
        self.validate(self._own(arch))
        return arch

    def _valid(self, arch: Architecture) -> Any:
        """The genotype of ``arch``, an architecture of this space (``UsageError`` naming what is invalid): one
        that passes ``_fast_valid`` is not validated again (encodings run on thousands of candidates)."""
        genotype = self._own(arch).genotype
        if not self._fast_valid(genotype):
            self.validate(arch)
        return genotype

    def _fast_valid(self, genotype: Any) -> bool:
        """A cheap check that ``genotype`` is valid (False: unsure, so ``validate`` decides); none by default."""
        return False

    def _own(self, arch: Any) -> Architecture:
        """``arch`` if it is an Architecture of this space (its genotype is not checked), else a ``UsageError``."""
        if not isinstance(arch, Architecture):
            hint = "; use space.parse(text) to read an architecture's text form" if isinstance(arch, str) else ""
            raise UsageError(f"expected an Architecture, got {type(arch).__name__} {reprlib.repr(arch)}{hint}")
        if arch.space != self.name:
            raise UsageError(f"architecture belongs to space {arch.space!r}, not {self.name!r}")
        return arch

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
