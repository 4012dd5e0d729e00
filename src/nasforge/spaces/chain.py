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
from typing import Any

import numpy as np

from ..exceptions import UsageError
from .base import ENUMERABLE_LIMIT, Architecture, SearchSpace, as_rng

SKIP_CHOICES: tuple[str, ...] = ("skip", "identity")
"""Choice names meaning "this layer is the identity"; a layer may offer at most one of them."""
MBCONV_CHOICES: tuple[str, ...] = tuple(f"mbconv_e{e}_k{k}" for e in (3, 6) for k in (3, 5, 7))
PROXYLESSNAS_STAGES: tuple[int, ...] = (4, 4, 4, 4, 4, 1)
_CONFIG_KEYS = ("layers", "name", "stages")


class ChainSpace(SearchSpace):
    """A chain of ``len(layers)`` layers; layer ``i`` takes one of ``layers[i]``.

    ``stages`` (optional) splits the chain into consecutive groups whose layers after the first keep
    the tensor shape (stride 1, same width, residual connection), as in MobileNet-like backbones. A
    skip there is the identity wherever it sits, so ``canonical`` moves the skips of each group to
    its end. Without ``stages`` no layer is known to be shape-preserving (a table may come from a network
    where a skip's position matters), and ``canonical`` returns the architecture unchanged.
    """

    def __init__(self, layers: Sequence[Sequence[str]], name: str = "chain",
                 stages: Sequence[int] | None = None) -> None:
        """``name`` names the space's studies and saved networks, so it must be usable as a file name (no
        ``/``, ``\\`` or control characters, not only dots), and may be any but that of one of nasforge's other
        built-in spaces (``proxylessnas`` only for the preset itself): a study of the chain would be reloaded as
        that space. A stored record, which keeps a name accepted before it was refused, is rebuilt with
        :meth:`from_config` (``stored=True``)."""
        self._setup(layers, name, stages, stored=False)

    def _setup(self, layers: Sequence[Sequence[str]], name: str, stages: Sequence[int] | None, stored: bool) -> None:
        """Check and set the space's fields; ``stored``: a stored record, whose name is kept as it was written."""
        self.name = _read_name(name, stored)
        self.layers: tuple[tuple[str, ...], ...] = _read_layers(layers)
        self.stages: tuple[int, ...] = _read_stages(stages, self.layers)
        if not stored:
            _refuse_builtin_name(self)
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
            if stored:  # not through __init__, whose name check a stored record predates
                space = cls.__new__(cls)
                space._setup(config["layers"], config.get("name", "chain"), config.get("stages"), stored=True)
                return space
            return cls(config["layers"], name=config.get("name", "chain"), stages=config.get("stages"))
        return cls(config)

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
        """Every architecture that differs in exactly one layer."""
        g = self.check(arch).genotype
        return [self._arch(g[:i] + (c,) + g[i + 1 :])
                for i, choices in enumerate(self.layers) for c in choices if c != g[i]]

    def mutate(self, arch: Architecture, rng: np.random.Generator | int | None) -> Architecture:
        """One of the ``neighbors``, uniformly, without listing them."""
        self.check(arch)
        u = int(as_rng(rng).integers(self._edit_offsets[-1]))
        i = bisect.bisect_right(self._edit_offsets, u) - 1  # skips layers with a single choice
        choices, g = self.layers[i], arch.genotype
        new = choices[(self._index[i][g[i]] + 1 + u - self._edit_offsets[i]) % len(choices)]
        return self._arch(g[:i] + (new,) + g[i + 1 :])

    @property
    def size(self) -> int:
        return math.prod(len(choices) for choices in self.layers)

    def count_unique(self) -> int:
        """Number of canonical architectures (``size`` unless ``stages`` lets skips move)."""
        total = 1
        for start, stop in self._stage_bounds():
            total *= len(self.layers[start])
            m = stop - start - 1  # shape-preserving layers after the stage's first
            if m:
                tail = self.layers[start + 1]
                k = sum(c not in SKIP_CHOICES for c in tail)
                # with a skip choice, a canonical tail is a non-skip prefix of any length 0..m
                total *= sum(k**j for j in range(m + 1)) if k < len(tail) else k**m
        return total

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
        g = self._own(arch).genotype
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
        """Within each stage (after its first layer) move skips to the end, keeping the other layers'
        order; the identity when ``stages`` is not given."""
        g = list(self._valid(arch))
        for start, stop in self._stage_bounds():
            tail = g[start + 1 : stop]
            g[start + 1 : stop] = [c for c in tail if c not in SKIP_CHOICES] + [c for c in tail if c in SKIP_CHOICES]
        return self._arch(tuple(g))

    def _stage_bounds(self) -> list[tuple[int, int]]:
        bounds = [0, *itertools.accumulate(self.stages)]
        return list(zip(bounds[:-1], bounds[1:]))

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
