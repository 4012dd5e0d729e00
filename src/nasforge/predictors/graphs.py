"""The generic graph view of architectures that predictors encode.

Every supported space maps an architecture to a :class:`Graph` with operations on the nodes
(the NAS-Bench-101 convention): node 0 is the input, the last node the output, and
``adjacency[i, j] == 1`` for an edge ``i -> j`` (nodes in topological order). A
:class:`GraphView` says how a space does this; ``register_graph_view(SpaceType, factory)`` adds a
space. Built in: NAS-Bench-201, NAS-Bench-101, DARTS and chain spaces. On NAS-Bench-101, DARTS and
chain spaces the graph is that of ``space.canonical(arch)`` (``GraphView.canonical``), so every writing of
one network (same ``canonical_key``) has one graph; NAS-Bench-201 keeps each cell's own graph.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np

from ..exceptions import UsageError
from ..spaces import Architecture, ChainSpace, DartsSpace, NASBench101Space, NASBench201Space, SearchSpace
from ..spaces.chain import SKIP_CHOICES
from ..spaces.darts import DARTS_OPS, EDGE_NODE, NODES
from ..spaces.nb101 import MAX_VERTICES, NB101_OPS
from ..spaces.nb201 import NB201_EDGES, NB201_OPS

INPUT, OUTPUT = "input", "output"


@dataclass(frozen=True, eq=False)
class Graph:
    """A DAG with labelled nodes; node 0 is the input and the last node the output."""

    ops: tuple[str, ...]
    adjacency: np.ndarray  # (n, n) uint8, strictly upper triangular

    @cached_property
    def edges(self) -> list[tuple[int, int]]:
        """Edges ``(i, j)`` in row-major order (so in topological order of ``i``)."""
        return [(int(i), int(j)) for i, j in zip(*np.nonzero(self.adjacency))]

    def live(self, zero_ops: frozenset[str]) -> np.ndarray:
        """Boolean mask of nodes on some input->output path that avoids ``zero_ops``."""
        n = len(self.ops)
        usable = [op not in zero_ops for op in self.ops]
        forward, backward = [False] * n, [False] * n
        forward[0], backward[n - 1] = usable[0], usable[n - 1]
        for i, j in self.edges:
            forward[j] = forward[j] or (forward[i] and usable[j])
        for i, j in reversed(self.edges):
            backward[i] = backward[i] or (backward[j] and usable[i])
        return np.array(forward) & np.array(backward)


@dataclass(frozen=True)
class GraphView:
    """How one space becomes a :class:`Graph`.

    ``vocab`` lists every node operation except input/output; ``zero_ops`` the operations that
    output zero (their node and edges carry nothing); ``max_nodes`` pads graphs to a fixed size;
    ``max_path_length`` bounds the operations counted per path in the path encoding;
    ``param_ops`` are the operations with trained weights (convolutions), whose count along each
    path measures its depth; ``identity_ops`` those that pass their input through (skip connections).
    ``canonical``: the graph is built from ``space.canonical(arch)`` (see :func:`graph_of`), so writings of
    one network (NAS-Bench-101's dead nodes and node orders, DARTS pair orders, chain skips in a stage) share it.
    ``cell_input``: the label of the nodes where a cell's paths start (DARTS: each cell's two inputs), whose paths
    the ``cell_path`` encoding counts apart, with up to ``cell_path_length`` operations after the cell input.
    """

    build: Callable[[Architecture], Graph]
    vocab: tuple[str, ...]
    max_nodes: int
    max_path_length: int
    zero_ops: frozenset[str] = field(default_factory=frozenset)
    param_ops: frozenset[str] = field(default_factory=frozenset)
    identity_ops: frozenset[str] = field(default_factory=frozenset)
    canonical: bool = False
    cell_input: str | None = None
    cell_path_length: int = 0

    @property
    def live_vocab(self) -> tuple[str, ...]:
        return tuple(op for op in self.vocab if op not in self.zero_ops)

    @property
    def computing_vocab(self) -> tuple[str, ...]:
        """The operations that change their input: neither zero nor identity."""
        return tuple(op for op in self.live_vocab if op not in self.identity_ops)


_VIEWS: dict[type, Callable[[SearchSpace], GraphView]] = {}


def register_graph_view(space_type: type, factory: Callable[[SearchSpace], GraphView]) -> None:
    """Make ``graph_view(space)`` use ``factory(space)`` for instances of ``space_type``."""
    _VIEWS[space_type] = factory


def graph_view(space: SearchSpace) -> GraphView:
    """The graph view of ``space`` (a clear ``UsageError``, a ``ValueError``, for spaces without one)."""
    for space_type in type(space).__mro__:
        if space_type in _VIEWS:
            return _VIEWS[space_type](space)
    raise UsageError(f"space {space.name!r} ({type(space).__name__}) has no graph view, which the graph encodings "
                     "(features, adjacency, path) need: use the space's own one-hot encoding (the predictor parameter "
                     "encoding='onehot', given with --params on the command line), or add a view "
                     f"with register_graph_view (there are views for {', '.join(sorted(t.__name__ for t in _VIEWS))})")


def graph_form(space: SearchSpace, view: GraphView, arch: Architecture) -> Architecture:
    """The architecture ``view`` builds the graph of: ``space.canonical(arch)`` when ``view.canonical``."""
    return space.canonical(arch) if view.canonical else arch


def to_graph(space: SearchSpace, arch: Architecture) -> Graph:
    """The operation-on-node graph of ``arch`` (of its canonical form where the view says so)."""
    view = graph_view(space)
    return view.build(graph_form(space, view, arch))


# -- NAS-Bench-201: each of the 6 edge operations becomes a node between input and output --------
@lru_cache(maxsize=None)
def _nb201_adjacency() -> np.ndarray:
    n = len(NB201_EDGES) + 2
    adj = np.zeros((n, n), dtype=np.uint8)
    for k, (src, dst) in enumerate(NB201_EDGES, start=1):
        if src == 0:
            adj[0, k] = 1
        if dst == 3:
            adj[k, n - 1] = 1
        for m, (src2, _) in enumerate(NB201_EDGES, start=1):
            if src2 == dst:
                adj[k, m] = 1
    adj.setflags(write=False)
    return adj


def _nb201_graph(arch: Architecture) -> Graph:
    return Graph((INPUT, *arch.genotype, OUTPUT), _nb201_adjacency())


def _nb201_view(space: SearchSpace) -> GraphView:
    return GraphView(_nb201_graph, NB201_OPS, max_nodes=len(NB201_EDGES) + 2, max_path_length=3,
                     zero_ops=frozenset({"none"}), param_ops=frozenset({"nor_conv_1x1", "nor_conv_3x3"}),
                     identity_ops=frozenset({"skip_connect"}))


register_graph_view(NASBench201Space, _nb201_view)


# -- NAS-Bench-101: already a cell with operations on nodes (built from the pruned canonical cell) --
def _nb101_graph(arch: Architecture) -> Graph:
    matrix, ops = arch.genotype
    return Graph(tuple(ops), np.array(matrix, dtype=np.uint8))


def _nb101_view(space: SearchSpace) -> GraphView:
    return GraphView(_nb101_graph, NB101_OPS, max_nodes=MAX_VERTICES, max_path_length=MAX_VERTICES - 2,
                     param_ops=frozenset({"conv3x3-bn-relu", "conv1x1-bn-relu"}), canonical=True)


register_graph_view(NASBench101Space, _nb101_view)


# -- DARTS: both cells side by side; each (op, input) pair becomes a node ------------------------
CELL_INPUT = "cell_input"
_DARTS_CELL_NODES = 2 + len(EDGE_NODE)  # the two cell inputs, then one node per pair


def _darts_graph(arch: Architecture) -> Graph:
    """Input -> each cell's two input nodes -> pair nodes (a pair reading intermediate node ``i``
    follows both pairs feeding ``i``) -> output (the cell concatenates all intermediate nodes)."""
    n = 2 + len(arch.genotype) * _DARTS_CELL_NODES
    adj = np.zeros((n, n), dtype=np.uint8)
    ops = [INPUT]
    for c, cell in enumerate(arch.genotype):
        base = 1 + c * _DARTS_CELL_NODES
        ops += [CELL_INPUT, CELL_INPUT] + [op for op, _ in cell]
        adj[0, base:base + 2] = 1
        for k, (_, src) in enumerate(cell):
            node = base + 2 + k
            if src < 2:
                adj[base + src, node] = 1
            else:
                for m, dst in enumerate(EDGE_NODE):
                    if dst == src:
                        adj[base + 2 + m, node] = 1
            adj[node, n - 1] = 1
    return Graph((*ops, OUTPUT), adj)


def _darts_view(space: SearchSpace) -> GraphView:
    return GraphView(_darts_graph, (CELL_INPUT, *DARTS_OPS), max_nodes=2 + 2 * _DARTS_CELL_NODES,
                     max_path_length=3, param_ops=frozenset(op for op in DARTS_OPS if "conv" in op),
                     identity_ops=frozenset({"skip_connect"}), canonical=True, cell_input=CELL_INPUT,
                     cell_path_length=len(NODES))


register_graph_view(DartsSpace, _darts_view)


# -- chain spaces: a path of layers --------------------------------------------------------------
@lru_cache(maxsize=None)
def _path_adjacency(n: int) -> np.ndarray:
    adjacency = np.eye(n, k=1, dtype=np.uint8)
    adjacency.setflags(write=False)
    return adjacency


@dataclass(frozen=True)
class _ChainGraph:
    """Builds the path graph of a chain (a value, so equal spaces give equal, cache-friendly views)."""

    n_layers: int

    def __call__(self, arch: Architecture) -> Graph:
        return Graph((INPUT, *arch.genotype, OUTPUT), _path_adjacency(self.n_layers + 2))


def _chain_view(space: SearchSpace) -> GraphView:
    vocab = tuple(dict.fromkeys(choice for choices in space.layers for choice in choices))
    # One path through every layer: the positional one-hot already says everything a path
    # encoding could, so paths are not enumerated (max_path_length 0).
    return GraphView(_ChainGraph(len(space.layers)), vocab, max_nodes=len(space.layers) + 2, max_path_length=0,
                     param_ops=frozenset(c for c in vocab if c not in SKIP_CHOICES),
                     identity_ops=frozenset(c for c in vocab if c in SKIP_CHOICES), canonical=True)


register_graph_view(ChainSpace, _chain_view)
