"""Chain (macro) spaces: a fixed sequence of layers, each picking one of its own list of choices.

A genotype is a tuple of choice names, one per layer; the text form joins them with ``|``
(``"mbconv_e3_k3|mbconv_e6_k5|skip|..."``). Any user-defined chain works without code::

    get_space("chain", layers=[["conv3", "conv5"], ["conv3", "skip"]])
"""

from __future__ import annotations

import bisect
import itertools
import math
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from ..exceptions import UsageError
from .base import Architecture, SearchSpace, as_rng

SKIP_CHOICES: tuple[str, ...] = ("skip", "identity")
"""Choice names meaning "this layer is the identity"; a layer may offer at most one of them."""
MBCONV_CHOICES: tuple[str, ...] = tuple(f"mbconv_e{e}_k{k}" for e in (3, 6) for k in (3, 5, 7))
PROXYLESSNAS_STAGES: tuple[int, ...] = (4, 4, 4, 4, 4, 1)
ENUMERABLE_LIMIT = 1_000_000
_CONFIG_KEYS = ("layers", "name", "stages")


class ChainSpace(SearchSpace):
    """A chain of ``len(layers)`` layers; layer ``i`` takes one of ``layers[i]``.

    ``stages`` (optional) splits the chain into consecutive groups whose layers after the first keep
    the tensor shape (stride 1, same width, residual connection), as in MobileNet-like backbones. A
    skip there is the identity wherever it sits, so ``canonical`` moves the skips of each group to
    its end. Without ``stages`` nasforge's chain network runs every layer at the stem's width and
    resolution, so the whole chain is one such group: only the order of its non-skip layers matters.
    """

    def __init__(self, layers: Sequence[Sequence[str]], name: str = "chain",
                 stages: Sequence[int] | None = None) -> None:
        """``name`` names the space's studies and saved networks, so it must be usable as a file name (no
        ``/``, ``\\`` or control characters, not only dots), and may be any but that of one of nasforge's other
        built-in spaces (``proxylessnas`` only for the preset itself): a study of the chain would be reloaded as
        that space."""
        self._setup(layers, name, stages, stored=False)

    def _setup(self, layers: Sequence[Sequence[str]], name: str, stages: Sequence[int] | None, stored: bool) -> None:
        """Check and store the space; ``stored`` (a record written before these refusals) keeps a built-in
        space's name or one that is not a file name."""
        self.name = _read_name(name, stored)
        self.layers: tuple[tuple[str, ...], ...] = _read_layers(layers)
        self.stages: tuple[int, ...] = _read_stages(stages, self.layers)
        if not stored:
            _refuse_builtin_name(self)
        self._skip = [next((c for c in choices if c in SKIP_CHOICES), None) for choices in self.layers]
        self._segments = _segment_bounds(self.stages, len(self.layers))
        self._index = [{c: i for i, c in enumerate(choices)} for choices in self.layers]
        self._offsets = [0, *itertools.accumulate(len(choices) for choices in self.layers)]
        self._edit_offsets = [0, *itertools.accumulate(len(choices) - 1 for choices in self.layers)]

    # -- constructors --------------------------------------------------------------------------
    @classmethod
    def uniform(cls, n_layers: int, choices: Sequence[str], name: str = "chain") -> ChainSpace:
        """``n_layers`` layers that all offer ``choices``."""
        if isinstance(n_layers, bool) or not isinstance(n_layers, int) or n_layers < 1:
            raise UsageError(f"n_layers must be a positive integer, got {n_layers!r}")
        if isinstance(choices, (str, Mapping)) or not isinstance(choices, Sequence):
            raise UsageError(f"choices must be a list of choice names, got {choices!r}")
        return cls([list(choices)] * n_layers, name=name)

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | Sequence[Sequence[str]], stored: bool = False) -> ChainSpace:
        """Build from parsed JSON/YAML: a list of layers, or ``{"layers": [...], "name": ..., "stages": [...]}``.
        ``stored=True`` rebuilds a stored record: it keeps a name accepted before it was refused (a built-in
        space's, or one that is not a file name)."""
        if isinstance(config, Mapping):
            unknown = sorted(set(config) - set(_CONFIG_KEYS))
            if unknown:
                raise UsageError(f"unknown chain config key(s) {unknown}; expected {list(_CONFIG_KEYS)}")
            if "layers" not in config:
                raise UsageError("chain config needs a 'layers' list")
            layers, name, stages = config["layers"], config.get("name", "chain"), config.get("stages")
        else:
            layers, name, stages = config, "chain", None
        space = cls.__new__(cls)
        space._setup(layers, name, stages, stored=stored)
        return space

    @classmethod
    def proxylessnas(cls) -> ChainSpace:
        """ProxylessNAS's mobile backbone: 21 searchable blocks in stages of 4, 4, 4, 4, 4, 1 (widths
        24, 40, 80, 96, 192, 320; strides 2, 2, 2, 1, 2, 1). Every block is an MBConv with expansion
        3 or 6 and kernel 3, 5 or 7; the blocks after the first of a stage keep the shape and may also
        be "skip" (ProxylessNAS's zero op, which leaves only the residual). The first block of a stage
        changes width or stride and cannot be skipped. 6**6 * 7**15 = 2.2e17 architectures."""
        return cls(_proxylessnas_layers(), name="proxylessnas", stages=PROXYLESSNAS_STAGES)

    def to_config(self) -> dict[str, Any]:
        """The JSON/YAML form read by ``from_config`` (and by ``--space-config``)."""
        return {"layers": [list(choices) for choices in self.layers], "name": self.name, "stages": list(self.stages)}

    def __repr__(self) -> str:
        return f"ChainSpace(name={self.name!r}, n_layers={len(self.layers)}, size={self.size:.3g})"

    def _arch(self, choices: tuple[str, ...]) -> Architecture:
        return Architecture(self.name, choices)

    # -- sampling and neighbourhoods -----------------------------------------------------------
    def sample(self, rng: np.random.Generator | int | None) -> Architecture:
        picks = as_rng(rng).integers([len(choices) for choices in self.layers])
        return self._arch(tuple(choices[int(i)] for choices, i in zip(self.layers, picks)))

    def neighbors(self, arch: Architecture) -> list[Architecture]:
        """Every architecture that differs in exactly one layer, one per canonical form (the first met)."""
        g = self.check(arch).genotype
        out, seen = [], set()
        for s, (start, stop) in enumerate(self._segments):
            for i in range(start, stop):
                for c in self.layers[i]:
                    if c == g[i]:
                        continue
                    new = g[:i] + (c,) + g[i + 1 :]
                    key = (s, self._canonical_segment(new, start, stop))
                    if key not in seen:
                        seen.add(key)
                        out.append(self._arch(new))
        return out

    def mutate(self, arch: Architecture, rng: np.random.Generator | int | None) -> Architecture:
        """One of the ``neighbors``, uniformly (without listing them where no layer offers a skip, so that no
        two single-layer changes have the same canonical form)."""
        self.check(arch)
        if any(self._skip):
            neighbors = self.neighbors(arch)
            return neighbors[int(as_rng(rng).integers(len(neighbors)))]
        u = int(as_rng(rng).integers(self._edit_offsets[-1]))
        i = bisect.bisect_right(self._edit_offsets, u) - 1  # skips layers with a single choice
        choices, g = self.layers[i], arch.genotype
        new = choices[(self._index[i][g[i]] + 1 + u - self._edit_offsets[i]) % len(choices)]
        return self._arch(g[:i] + (new,) + g[i + 1 :])

    @property
    def size(self) -> int:
        return math.prod(len(choices) for choices in self.layers)

    def count_unique(self) -> int:
        """Number of canonical architectures: per group of shape-preserving layers, the distinct sequences of
        non-skip choices it can hold (``size`` where no layer offers a skip)."""
        return math.prod(_count_sequences(self.layers[start:stop]) for start, stop in self._segments)

    @property
    def is_enumerable(self) -> bool:
        return self.size <= ENUMERABLE_LIMIT

    def enumerate(self) -> Iterator[Architecture]:
        if not self.is_enumerable:
            return super().enumerate()
        return (self._arch(choices) for choices in itertools.product(*self.layers))

    # -- text ----------------------------------------------------------------------------------
    def parse(self, text: str) -> Architecture:
        """Read ``"choice_0|choice_1|..."`` (spaces around names are ignored)."""
        if not isinstance(text, str):
            raise UsageError(f"chain architecture must be a string, got {type(text).__name__}")
        tokens = [t.strip() for t in text.strip().split("|")]
        if len(tokens) != len(self.layers):
            raise UsageError(f"{self.name} architecture needs {len(self.layers)} layer choices separated by "
                             f"'|', found {len(tokens)}: {text!r}")
        for i, token in enumerate(tokens):
            self._check_choice(i, token)
        return self._arch(tuple(tokens))

    def format(self, arch: Architecture) -> str:
        return "|".join(self._valid(arch))

    def validate(self, arch: Architecture) -> None:
        g = arch.genotype
        if not isinstance(g, tuple) or len(g) != len(self.layers):
            raise UsageError(f"{self.name} genotype must be a tuple of {len(self.layers)} choices, got {g!r}")
        for i, choice in enumerate(g):
            self._check_choice(i, choice)

    def _check_choice(self, layer: int, choice: Any) -> None:
        if not isinstance(choice, str) or choice not in self._index[layer]:
            raise UsageError(f"layer {layer}: unknown choice {choice!r}; choose from {list(self.layers[layer])}")

    def _fast_valid(self, genotype: Any) -> bool:
        return (type(genotype) is tuple and len(genotype) == len(self._index)
                and all(map(dict.__contains__, self._index, genotype)))

    # -- canonical form ------------------------------------------------------------------------
    def canonical(self, arch: Architecture) -> Architecture:
        """Within each group of shape-preserving layers (each stage; the whole chain without ``stages``) keep
        the order of the non-skip choices and place each at the earliest layer that offers it and leaves room
        for the rest: skips move to the end (where the layers there offer one)."""
        g = self._valid(arch)
        out: list[str] = []
        for start, stop in self._segments:
            out += self._canonical_segment(g, start, stop)
        return self._arch(tuple(out))

    def _canonical_segment(self, g: tuple[str, ...], start: int, stop: int) -> tuple[str, ...]:
        """The canonical choices of layers ``start:stop`` of genotype ``g`` (see ``canonical``)."""
        part = g[start:stop]
        if not any(c in SKIP_CHOICES for c in part):
            return part
        ops = [c for c in part if c not in SKIP_CHOICES]
        n, m = len(part), len(ops)
        fits = [[False] * (m + 1) for _ in range(n + 1)]  # fits[j][i]: ops[i:] can fill layers start+j:stop
        fits[n][m] = True
        for j in range(n - 1, -1, -1):
            index, skip = self._index[start + j], self._skip[start + j] is not None
            for i in range(m + 1):
                fits[j][i] = (skip and fits[j + 1][i]) or (i < m and ops[i] in index and fits[j + 1][i + 1])
        out, i = [], 0
        for j in range(n):
            if i < m and ops[i] in self._index[start + j] and fits[j + 1][i + 1]:
                out.append(ops[i])
                i += 1
            else:
                out.append(self._skip[start + j])
        return tuple(out)

    # -- encodings -----------------------------------------------------------------------------
    def encode_onehot(self, arch: Architecture) -> np.ndarray:
        """One-hot choice of every layer of the canonical form, concatenated (``sum(len(layer))`` values)."""
        vec = np.zeros(self._offsets[-1], dtype=np.float32)
        for i, choice in enumerate(self.canonical(arch).genotype):
            vec[self._offsets[i] + self._index[i][choice]] = 1.0
        return vec

    # -- categorical view ----------------------------------------------------------------------
    def categorical_params(self) -> dict[str, list[str]]:
        return {f"layer_{i}": list(choices) for i, choices in enumerate(self.layers)}

    def from_params(self, params: dict[str, str]) -> Architecture:
        self._check_param_names(params)
        missing = [f"layer_{i}" for i in range(len(self.layers)) if f"layer_{i}" not in params]
        if missing:
            raise UsageError(f"missing parameter(s) {missing}")
        arch = self._arch(tuple(params[f"layer_{i}"] for i in range(len(self.layers))))
        self.validate(arch)
        return arch

    def to_params(self, arch: Architecture) -> dict[str, str]:
        return {f"layer_{i}": choice for i, choice in enumerate(self._valid(arch))}


def _proxylessnas_layers() -> list[list[str]]:
    layers: list[list[str]] = []
    for n_blocks in PROXYLESSNAS_STAGES:
        layers.append(list(MBCONV_CHOICES))
        layers += [[*MBCONV_CHOICES, "skip"] for _ in range(n_blocks - 1)]
    return layers


def _segment_bounds(stages: tuple[int, ...], n_layers: int) -> list[tuple[int, int]]:
    """The groups of layers within which a skip may move: each stage, or the whole chain when no stages are
    declared (every stage one layer), which nasforge's chain network builds as one stage."""
    if all(n == 1 for n in stages):
        return [(0, n_layers)]
    bounds = [0, *itertools.accumulate(stages)]
    return list(zip(bounds[:-1], bounds[1:]))


def _count_sequences(layers: Sequence[tuple[str, ...]]) -> int:
    """How many distinct sequences of non-skip choices ``layers`` can hold (a layer offering a skip may hold
    none): the accepted words of the automaton whose states are sets of layer positions."""
    n = len(layers)
    skips = [any(c in SKIP_CHOICES for c in choices) for choices in layers]

    def closure(positions: set[int]) -> frozenset[int]:
        out = set(positions)
        for j in range(n):
            if j in out and skips[j]:
                out.add(j + 1)
        return frozenset(out)

    @lru_cache(maxsize=None)
    def count(state: frozenset[int]) -> int:
        total = int(n in state)
        symbols = {c for j in state if j < n for c in layers[j] if c not in SKIP_CHOICES}
        for c in symbols:
            total += count(closure({j + 1 for j in state if j < n and c in layers[j]}))
        return total

    return count(closure({0}))


def _read_name(name: Any, stored: bool = False) -> str:
    """Check a chain space's name; it names study folders and saved networks, so it must be usable as a file
    name (``stored``: a record written before that was checked keeps its name)."""
    if not isinstance(name, str) or not name:
        raise UsageError(f"chain space name must be a non-empty string, got {name!r}")
    if stored:
        return name
    if not name.strip(" ."):
        raise UsageError(f"chain space name {name!r} must not be only dots or spaces: it names files and studies")
    if "/" in name or "\\" in name or any(unicodedata.category(c) == "Cc" for c in name):
        raise UsageError(f"chain space name {name!r} must not contain '/', '\\' or control characters: it "
                         "names files and studies")
    return name


def _refuse_builtin_name(space: ChainSpace) -> None:
    """A UsageError if ``space`` takes the name of one of nasforge's other built-in spaces (``chain`` is its
    own; ``proxylessnas`` is the preset's)."""
    from . import SPACES  # lazily: the package imports this module

    name = space.name
    if name == "chain" or not SPACES.is_builtin(name):
        return
    if name == "proxylessnas" and space.stages == PROXYLESSNAS_STAGES \
            and [list(choices) for choices in space.layers] == _proxylessnas_layers():
        return
    raise UsageError(f"chain space name {name!r} is the name of nasforge's built-in {name} space (a study of the "
                     "chain would be reloaded as that space); pick another name")


def _read_layers(layers: Any) -> tuple[tuple[str, ...], ...]:
    """Check a list of layers (each a list of choice names) and return it as nested tuples."""
    if isinstance(layers, (str, Mapping)) or not isinstance(layers, Sequence) or not layers:
        raise UsageError(f"a chain space needs a non-empty list of layers, got {layers!r}")
    out = []
    for i, choices in enumerate(layers):
        if isinstance(choices, (str, Mapping)) or not isinstance(choices, Sequence):
            raise UsageError(f"layer {i} must be a list of choice names, got {choices!r}")
        if not choices:
            raise UsageError(f"layer {i} has no choices")
        for c in choices:
            if not isinstance(c, str) or not c or c != c.strip() or "|" in c:
                raise UsageError(f"layer {i}: choice {c!r} must be a non-empty string without '|' or "
                                 f"surrounding spaces")
        repeated = sorted(c for c, n in Counter(choices).items() if n > 1)
        if repeated:
            raise UsageError(f"layer {i} lists choice(s) {repeated} more than once")
        skips = [c for c in choices if c in SKIP_CHOICES]
        if len(skips) > 1:
            raise UsageError(f"layer {i} offers {skips}, which are the same operation; keep one")
        out.append(tuple(choices))
    if all(len(choices) == 1 for choices in out):
        raise UsageError("a chain space needs at least one layer with two or more choices")
    return tuple(out)


def _read_stages(stages: Sequence[int] | None, layers: tuple[tuple[str, ...], ...]) -> tuple[int, ...]:
    """Check stage lengths; ``None`` means every layer is its own stage."""
    if stages is None:
        return (1,) * len(layers)
    if (isinstance(stages, str) or not isinstance(stages, Sequence)
            or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in stages)
            or sum(stages) != len(layers)):
        raise UsageError(f"stages must be positive layer counts summing to {len(layers)}, got {stages!r}")
    start = 0
    for s, n in enumerate(stages):
        for j in range(start + 2, start + n):
            if set(layers[j]) != set(layers[start + 1]):
                raise UsageError(f"layer {j} must offer the same choices as layer {start + 1} (in any order): "
                                 f"both follow the first layer of stage {s}")
        start += n
    return tuple(stages)
