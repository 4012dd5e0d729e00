"""NAS-Bench-201 cell: 4 nodes, 6 edges, 5 operations per edge (15,625 cells)."""

from __future__ import annotations

import itertools
import re
import reprlib
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import numpy as np

from ..exceptions import UsageError
from .base import Architecture, SearchSpace, as_rng, foreign_form

NB201_OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
# Edge k of the genotype connects node EDGES[k][0] -> node EDGES[k][1], in the official string order.
NB201_EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
_OP_INDEX = {op: i for i, op in enumerate(NB201_OPS)}
_NODE_RE = re.compile(r"([A-Za-z0-9_]+)~([0-9])")  # fullmatch; one ASCII digit: not "01", not a Unicode digit


class NASBench201Space(SearchSpace):
    """The NAS-Bench-201 cell space; a genotype is a tuple of 6 operation names, one per edge."""

    name = "nb201"
    builds_only_reachable = True
    ops = NB201_OPS
    edges = NB201_EDGES

    def __init__(self, canonical_rule: str = "network") -> None:
        """``canonical_rule``: "network" (cells that build the same network: skip = identity, sums
        commute, zeros vanish, every convolution has its own weights), "functional" (the same, but
        convolutions of the same input on different edges count as one: it merges 326 classes of
        different networks) or "nb201" (the benchmark authors' isomorphism rule, which keeps zero
        terms and merges such convolutions too)."""
        if not isinstance(canonical_rule, str) or canonical_rule not in CANONICAL_RULES:
            raise UsageError(f"unknown canonical_rule {reprlib.repr(canonical_rule)}; choose from "
                             f"{sorted(CANONICAL_RULES)}")
        self.canonical_rule = canonical_rule
        self._key = CANONICAL_RULES[canonical_rule]

    def __repr__(self) -> str:
        return f"NASBench201Space(canonical_rule={self.canonical_rule!r})"

    def _arch(self, ops: tuple[str, ...]) -> Architecture:
        return Architecture(self.name, ops)

    # -- sampling and neighbourhoods -----------------------------------------------------------
    def sample(self, rng: np.random.Generator | int | None) -> Architecture:
        rng = as_rng(rng)
        genotypes = _all_genotypes()
        return self._arch(genotypes[int(rng.integers(len(genotypes)))])

    def mutate(self, arch: Architecture, rng: np.random.Generator | int | None) -> Architecture:
        self.check(arch)
        rng = as_rng(rng)
        edge = int(rng.integers(len(NB201_EDGES)))
        shift = int(rng.integers(1, len(NB201_OPS)))
        ops = list(arch.genotype)
        ops[edge] = NB201_OPS[(_OP_INDEX[ops[edge]] + shift) % len(NB201_OPS)]
        return self._arch(tuple(ops))

    def neighbors(self, arch: Architecture) -> list[Architecture]:
        self.check(arch)
        out = []
        for edge, current in enumerate(arch.genotype):
            for op in NB201_OPS:
                if op != current:
                    out.append(self._arch(arch.genotype[:edge] + (op,) + arch.genotype[edge + 1 :]))
        return out

    @property
    def size(self) -> int:
        return len(NB201_OPS) ** len(NB201_EDGES)

    @property
    def is_enumerable(self) -> bool:
        return True

    def enumerate(self) -> Iterator[Architecture]:
        for ops in _all_genotypes():
            yield self._arch(ops)

    # -- text ----------------------------------------------------------------------------------
    def parse(self, text: str) -> Architecture:
        if not isinstance(text, str):
            raise UsageError(f"NAS-Bench-201 architecture must be a string, got {type(text).__name__}")
        stripped = text.strip()
        if not (stripped.startswith("|") and stripped.endswith("|")):
            raise UsageError(f"NAS-Bench-201 string must start and end with '|': {text!r}{foreign_form(text, 'nb201')}")
        nodes = stripped[1:-1].split("|+|")
        if len(nodes) != 3:
            raise UsageError(f"NAS-Bench-201 string needs 3 nodes separated by '|+|', found {len(nodes)}: {text!r}")
        ops: list[str] = []
        for node, chunk in enumerate(nodes, start=1):
            entries = chunk.split("|")
            if len(entries) != node:
                raise UsageError(f"node {node} must have {node} input(s), found {len(entries)}: {chunk!r}")
            for expected_input, entry in enumerate(entries):
                match = _NODE_RE.fullmatch(entry)
                if not match:
                    raise UsageError(f"bad edge {entry!r} in node {node}: expected 'op~input'")
                op, src = match.group(1), int(match.group(2))
                if op not in _OP_INDEX:
                    raise UsageError(f"unknown operation {op!r} in edge {entry!r}; choose from {list(NB201_OPS)}")
                if src != expected_input:
                    raise UsageError(f"edge {entry!r} of node {node} must read input {expected_input}, not {src}")
                ops.append(op)
        return self._arch(tuple(ops))

    def format(self, arch: Architecture) -> str:
        g = self._valid(arch)
        return f"|{g[0]}~0|+|{g[1]}~0|{g[2]}~1|+|{g[3]}~0|{g[4]}~1|{g[5]}~2|"

    def validate(self, arch: Architecture) -> None:
        g = self._own(arch).genotype
        if not isinstance(g, tuple) or len(g) != len(NB201_EDGES):
            raise UsageError(f"NAS-Bench-201 genotype must be a tuple of 6 operations, got {reprlib.repr(g)}")
        bad = [op for op in g if not isinstance(op, str) or op not in _OP_INDEX]
        if bad:
            raise UsageError(f"unknown NAS-Bench-201 operation(s) {bad}; choose from {list(NB201_OPS)}")

    def _fast_valid(self, genotype: Any) -> bool:
        return genotype in _genotype_set()  # one set lookup

    # -- canonical form ------------------------------------------------------------------------
    def canonical(self, arch: Architecture) -> Architecture:
        return self._arch(_representatives(self.canonical_rule)[self._key(self._valid(arch))])

    def canonical_key(self, arch: Architecture) -> tuple | str:
        return self._key(self._valid(arch))

    def count_unique(self) -> int:
        """Number of distinct cells under ``canonical_rule`` (5,260 network, 4,930 functional, 6,466
        NAS-Bench-201's)."""
        return len(_representatives(self.canonical_rule))

    # -- encodings -----------------------------------------------------------------------------
    def encode_onehot(self, arch: Architecture) -> np.ndarray:
        return _onehot(self._valid(arch))

    def categorical_params(self) -> dict[str, list[str]]:
        return {f"edge_{i}_{j}": list(NB201_OPS) for i, j in NB201_EDGES}

    def from_params(self, params: dict[str, str]) -> Architecture:
        return self._arch(tuple(self._checked_params(params).values()))

    def to_params(self, arch: Architecture) -> dict[str, str]:
        return {f"edge_{i}_{j}": op for (i, j), op in zip(NB201_EDGES, self._valid(arch))}


@lru_cache(maxsize=None)
def _all_genotypes() -> tuple[tuple[str, ...], ...]:
    """All 15,625 genotypes in lexicographic (enumeration) order."""
    return tuple(itertools.product(NB201_OPS, repeat=len(NB201_EDGES)))


@lru_cache(maxsize=None)
def _genotype_set() -> frozenset[tuple[str, ...]]:
    return frozenset(_all_genotypes())


@lru_cache(maxsize=None)
def _onehot(ops: tuple[str, ...]) -> np.ndarray:
    vec = np.zeros(len(NB201_EDGES) * len(NB201_OPS), dtype=np.float32)
    for k, op in enumerate(ops):
        vec[k * len(NB201_OPS) + _OP_INDEX[op]] = 1.0
    vec.setflags(write=False)
    return vec


@lru_cache(maxsize=None)
def _functional_key(ops: tuple[str, ...]) -> tuple:
    """What the cell computes, as a symbolic sum: ``skip_connect`` is identity, ``none`` is zero.

    Each node is a sorted multiset of terms ``(op, input_expression)``; zero terms vanish and a
    skip edge splices its source's terms in. Isomorphic cells (nodes 1 and 2 swapped) and cells that
    differ only in edges cut off by ``none`` get the same key, but so do cells whose convolutions of one
    input are shared in one and separate in the other (:func:`_network_key` tells them apart).
    """
    nodes: list[tuple] = [(("input",),)]
    for node in (1, 2, 3):
        terms: list = []
        for k, (src, dst) in enumerate(NB201_EDGES):
            if dst != node or ops[k] == "none" or not nodes[src]:
                continue
            if ops[k] == "skip_connect":
                terms.extend(nodes[src])
            else:
                terms.append((ops[k], nodes[src]))
        nodes.append(tuple(sorted(terms)))
    return nodes[3]


_Sum = Counter  # a node's value: terms -> multiplicity; a term is "x", a convolution's edge, or a pooling


@lru_cache(maxsize=None)
def _network_key(ops: tuple[str, ...]) -> tuple[str, ...]:
    """The network a cell builds, up to relabeling: a sorted tuple of the output's terms as text.

    As in :func:`_functional_key`, ``skip_connect`` splices its source's terms in, ``none`` and
    inputs that are zero vanish, and pooling (no weights) of equal inputs is one function. A
    convolution is named by its edge: the same convolution reached over two skip paths is one term
    counted twice, convolutions of the same input on two edges are two terms. The key is the smallest
    rendering over the relabelings of convolutions that look alike, so isomorphic cells share it.
    """
    convs: dict[int, tuple[str, _Sum]] = {}  # edge -> (operation, its input)
    nodes: list[_Sum] = [Counter({"x": 1})]
    for node in (1, 2, 3):
        value: _Sum = Counter()
        for k, (src, dst) in enumerate(NB201_EDGES):
            op = ops[k]
            if dst != node or op == "none" or not nodes[src]:
                continue
            if op == "skip_connect":
                value.update(nodes[src])
            elif op == "avg_pool_3x3":
                value[(op, tuple(sorted(nodes[src].items(), key=repr)))] += 1
            else:
                convs[k] = (op, nodes[src])
                value[k] += 1
        nodes.append(value)

    def render(term, label: dict[int, str]) -> str:
        if term == "x":
            return "x"
        op, inputs = convs[term] if isinstance(term, int) else term
        name = f"{op}#{label[term]}" if isinstance(term, int) else op
        return f"{name}({render_sum(dict(inputs), label)})"

    def render_sum(value, label: dict[int, str]) -> str:
        return "+".join(sorted(f"{n}*{render(t, label)}" for t, n in value.items()))

    alike: dict[str, list[int]] = {}  # convolutions by their rendering without names
    for k in convs:
        alike.setdefault(render(k, dict.fromkeys(convs, "")), []).append(k)
    groups = [alike[s] for s in sorted(alike)]
    best: tuple[str, ...] | None = None
    for orders in itertools.product(*(itertools.permutations(g) for g in groups)):
        label = {k: str(i) for order in orders for i, k in enumerate(order)}
        key = tuple(sorted(f"{n}*{render(t, label)}" for t, n in nodes[3].items()))
        best = key if best is None or key < best else best
    return best or ()


@lru_cache(maxsize=None)
def _nb201_key(ops: tuple[str, ...]) -> str:
    """NAS-Bench-201's own isomorphism rule (``to_unique_str(consider_zero=True)``): 6,466 classes."""
    nodes = ["0"]
    for node in (1, 2, 3):
        terms = []
        for k, (src, dst) in enumerate(NB201_EDGES):
            if dst != node:
                continue
            if ops[k] == "none" or nodes[src] == "#":
                terms.append("#")
            elif ops[k] == "skip_connect":
                terms.append(nodes[src])
            else:
                terms.append(f"({nodes[src]})@{ops[k]}")
        nodes.append("+".join(sorted(terms)))
    return nodes[3]


CANONICAL_RULES = {"network": _network_key, "functional": _functional_key, "nb201": _nb201_key}


@lru_cache(maxsize=None)
def _representatives(rule: str) -> dict:
    """Map each equivalence key to its smallest genotype (the canonical representative)."""
    key_fn = CANONICAL_RULES[rule]
    reps: dict = {}
    for ops in _all_genotypes():
        reps.setdefault(key_fn(ops), ops)  # genotypes come in increasing order
    return reps


def conv_proxy(arch: Architecture) -> int:
    """FLOPs proxy of a NAS-Bench-201 cell: 9 per 3x3 convolution, 1 per 1x1, 0 otherwise."""
    return sum(9 if op == "nor_conv_3x3" else 1 if op == "nor_conv_1x1" else 0 for op in arch.genotype)
