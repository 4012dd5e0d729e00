"""Architecture encodings for predictors, derived from each space's graph view (``graphs.py``):

* ``"onehot"``    the space's own one-hot encoding (``space.encode``);
* ``"adjacency"`` the flattened upper-triangular adjacency matrix plus one-hot node operations;
* ``"path"``      path encoding of the live graph: how many input->output paths carry each operation sequence of
  up to ``max_path_length`` labels, a count where BANANAS's encoding has a presence bit (``np.minimum(x, 1)`` gives
  the bits; on NAS-Bench-101 those are the space's own ``"path"`` encoding, ``NASBench101Space.encode_path``, with
  BANANAS's 364 columns); on NAS-Bench-201 only live paths, those through no ``none``: 85 columns, where NASLib's
  has 155; on DARTS one bag for both cells and both cell inputs, each path led by the ``cell_input`` label and
  counted only up to two operations after it. It stays as it is, since stored studies and saved predictors use it:
  ``cell_path`` is BANANAS's DARTS encoding (counted too);
* ``"cell_path"`` DARTS only: BANANAS's DARTS path encoding, the paths from each cell input (normal cell c_{k-2},
  c_{k-1}, then the reduction cell's) counted apart, all of them (up to 4 operations): 4 x 2,801 columns;
* ``"features"``  functional features of the *live* graph (zero operations and nodes off every
  input->output path removed): live one-hot operations and adjacency, operation counts, the path
  encoding and per-path statistics (path lengths, the most/fewest of each operation on a path, the
  deepest/shallowest/total count of weighted operations along the paths);
* ``"functional"`` ``features`` plus the path encoding of what each path computes: its operations with
  identity operations (skip connections) dropped, so cells that differ only in how their skips are
  wired (often the same function) share these features;
* ``"computed"``  only what the live graph computes, nothing positional: live operation counts, the
  per-path statistics and the path encoding with identity operations dropped. Without the node
  one-hots and the adjacency a tree model cannot learn "this slot holds a skip" as a stand-in for
  "this cell has a residual path", which misleads it on cells wired unusually;
* :func:`graph_tensors` node features, dense adjacency and node mask, batched for GNNs.

All but ``onehot`` (the space's own) encode :func:`~.graphs.graph_form`: on NAS-Bench-101, DARTS and chain
spaces the canonical architecture, so writings of one network encode identically (on NAS-Bench-101 the
pruned cell: dead nodes are not counted).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

import numpy as np

from ..exceptions import UsageError
from ..spaces import Architecture, SearchSpace
from ..spaces.chain import SKIP_CHOICES, ChainSpace
from .graphs import INPUT, OUTPUT, Graph, GraphView, graph_form, graph_view

ENCODINGS: tuple[str, ...] = ("onehot", "adjacency", "path", "cell_path", "features", "functional", "computed")
# Recorded with every saved predictor ("encoding_revision" in predictor.json; a surrogate's format 4): 1 (none
# recorded) encoded the genotype as written; 2 the canonical architecture on NB101, DARTS and chains with stages.
ENCODING_REVISION = 2


def _paths(graph: Graph, live: np.ndarray, start: int = 0) -> list[tuple[str, ...]]:
    """Operation sequences of all live paths from node ``start`` (the input) to the output, ``start``'s own left out."""
    n = len(graph.ops)
    successors: dict[int, list[int]] = {}
    for i, j in graph.edges:
        if live[i] and live[j]:
            successors.setdefault(i, []).append(j)
    paths: list[tuple[str, ...]] = []
    stack: list[tuple[int, tuple[str, ...]]] = [(start, ())] if live[start] else []
    while stack:
        node, ops = stack.pop()
        for nxt in successors.get(node, ()):
            if nxt == n - 1:
                paths.append(ops)
            else:
                stack.append((nxt, ops + (graph.ops[nxt],)))
    return paths


def _path_index(ops: tuple[str, ...], index: dict[str, int], base: int) -> int:
    offset = sum(base ** k for k in range(len(ops)))
    code = 0
    for op in ops:
        code = code * base + index[op]
    return offset + code


def _path_vector(view: GraphView, paths: list[tuple[str, ...]], vocab: tuple[str, ...] | None = None,
                 max_length: int | None = None) -> np.ndarray:
    """How many of ``paths`` carry each operation sequence over ``vocab`` (default: the live operations) of up to
    ``max_length`` operations (default: ``view.max_path_length``; longer paths are not counted)."""
    vocab = view.live_vocab if vocab is None else vocab
    max_length = view.max_path_length if max_length is None else max_length
    index = {op: i for i, op in enumerate(vocab)}
    vec = np.zeros(sum(len(vocab) ** k for k in range(max_length + 1)), dtype=np.float32)
    for ops in paths:
        if len(ops) <= max_length:
            vec[_path_index(ops, index, len(vocab))] += 1.0
    return vec


def _node_onehot(view: GraphView, ops: Sequence[str], keep: np.ndarray, vocab: tuple[str, ...]) -> np.ndarray:
    """(max_nodes - 2) x len(vocab) one-hot of interior node operations, zero where not kept."""
    index = {op: i for i, op in enumerate(vocab)}
    out = np.zeros((view.max_nodes - 2, len(vocab)), dtype=np.float32)
    for i, op in enumerate(ops[1:-1]):
        if keep[i + 1] and op in index:
            out[i, index[op]] = 1.0
    return out


@lru_cache(maxsize=None)
def _upper_slots(n: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the upper triangle of an m x m matrix: the n-node graph's (row, col) in each slot, and
    which slots have one (node ``n - 1``, the output, sits in slot ``m - 1``)."""
    rows, cols = np.triu_indices(m, k=1)
    source = np.full(m, -1)
    source[: n - 1] = np.arange(n - 1)
    source[m - 1] = n - 1
    valid = (source[rows] >= 0) & (source[cols] >= 0)
    return source[rows][valid], source[cols][valid], valid


def _padded_upper(view: GraphView, adj: np.ndarray) -> np.ndarray:
    """Upper triangle of the adjacency padded to ``max_nodes`` (the output moved to the last slot)."""
    rows, cols, valid = _upper_slots(adj.shape[0], view.max_nodes)
    out = np.zeros(valid.size, dtype=np.float32)
    out[valid] = adj[rows, cols]
    return out


def encode_adjacency(view: GraphView, graph: Graph) -> np.ndarray:
    """Padded upper-triangular adjacency, then one-hot node operations (zero operations included)."""
    keep = np.ones(len(graph.ops), dtype=bool)
    return np.concatenate([_padded_upper(view, graph.adjacency),
                           _node_onehot(view, graph.ops, keep, view.vocab).ravel()])


def encode_path(view: GraphView, graph: Graph) -> np.ndarray:
    """Path encoding of the live graph (paths longer than ``max_path_length`` are not counted; see the module
    docstring for how it departs from BANANAS's: counts, not presence bits)."""
    return _path_vector(view, _paths(graph, graph.live(view.zero_ops)))


def encode_cell_path(view: GraphView, graph: Graph) -> np.ndarray:
    """BANANAS's per-cell path encoding: for each ``view.cell_input`` node in node order (DARTS: normal c_{k-2},
    c_{k-1}, reduction c_{k-2}, c_{k-1}), how many of its paths to the output carry each operation sequence."""
    live = graph.live(view.zero_ops)
    vocab = tuple(op for op in view.live_vocab if op != view.cell_input)
    starts = [node for node, op in enumerate(graph.ops) if op == view.cell_input]
    return np.concatenate([_path_vector(view, _paths(graph, live, start), vocab, view.cell_path_length)
                           for start in starts])


def encode_features(view: GraphView, graph: Graph) -> np.ndarray:
    """Functional features of the live graph (see the module docstring); -1 statistics when no path is live."""
    live = graph.live(view.zero_ops)
    return _features(view, graph, live, _paths(graph, live))


def _path_stats(view: GraphView, paths: list[tuple[str, ...]]) -> np.ndarray:
    """Number of paths, longest/shortest path, deepest/shallowest/total weighted operations along the
    paths, and the most/fewest of each live operation on a path (-1 statistics when no path is live)."""
    vocab = view.live_vocab
    if not paths:
        stats = np.full(6 + 2 * len(vocab), -1.0, dtype=np.float32)
        stats[0] = 0.0
        return stats
    per_path = np.array([[ops.count(op) for op in vocab] for ops in paths], dtype=np.float32)
    lengths = np.array([len(ops) for ops in paths], dtype=np.float32)
    depth = np.array([sum(op in view.param_ops for op in ops) for ops in paths], dtype=np.float32)
    return np.concatenate([[len(paths), lengths.max(), lengths.min(), depth.max(), depth.min(), depth.sum()],
                           per_path.max(0), per_path.min(0)]).astype(np.float32)


def _features(view: GraphView, graph: Graph, live: np.ndarray, paths: list[tuple[str, ...]]) -> np.ndarray:
    onehot = _node_onehot(view, graph.ops, live, view.live_vocab)
    live_adj = graph.adjacency * (live[:, None] & live[None, :])
    return np.concatenate([onehot.ravel(), onehot.sum(0), _padded_upper(view, live_adj),
                           _path_vector(view, paths), _path_stats(view, paths)]).astype(np.float32)


def _computed_paths(view: GraphView, paths: list[tuple[str, ...]]) -> np.ndarray:
    """Path encoding of what each path computes: its operations with identity operations dropped."""
    computed = [tuple(op for op in ops if op not in view.identity_ops) for ops in paths]
    return _path_vector(view, computed, view.computing_vocab)


def encode_functional(view: GraphView, graph: Graph) -> np.ndarray:
    """``features``, then the path encoding of the live paths with identity operations dropped."""
    live = graph.live(view.zero_ops)
    paths = _paths(graph, live)
    return np.concatenate([_features(view, graph, live, paths), _computed_paths(view, paths)])


def encode_computed(view: GraphView, graph: Graph) -> np.ndarray:
    """Live operation counts, path statistics and the computed-path encoding; nothing positional."""
    live = graph.live(view.zero_ops)
    paths = _paths(graph, live)
    counts = _node_onehot(view, graph.ops, live, view.live_vocab).sum(0)
    return np.concatenate([counts, _path_stats(view, paths), _computed_paths(view, paths)]).astype(np.float32)


_GRAPH_ENCODERS = {"adjacency": encode_adjacency, "path": encode_path, "cell_path": encode_cell_path,
                   "features": encode_features,
                   "functional": encode_functional, "computed": encode_computed}


def arch_list(archs: Any, method: str) -> list[Architecture]:
    """``archs`` as a list; a single architecture (or a string) is refused rather than iterated."""
    if isinstance(archs, (Architecture, str)):
        raise UsageError(f"{method} takes a list of architectures, got one {type(archs).__name__}; pass [arch]")
    try:
        return list(archs)
    except TypeError:
        raise UsageError(f"{method} takes a list of architectures, got {type(archs).__name__}") from None


def _unavailable(view: GraphView, kind: str) -> str | None:
    """Why ``kind`` encodes nothing on spaces of ``view``, or None when it does."""
    if kind == "path" and view.max_path_length == 0:
        return "its graph is one chain of layers, so every architecture would get the same path encoding"
    if kind == "cell_path" and view.cell_input is None:
        return "its graph has no cells with inputs of their own (DARTS's has; 'path' is this space's path encoding)"
    return None


def check_encoding(space: SearchSpace, kind: str) -> None:
    """A UsageError when ``kind`` encodes nothing on ``space``: ``path`` on a space whose view enumerates no
    paths (a chain: one path through every layer, so the encoding would be one constant column), ``cell_path``
    on one without cell inputs (all but DARTS)."""
    if kind not in ("path", "cell_path"):  # the others encode every space with a graph view (encode builds it)
        return
    try:
        view = graph_view(space)
    except ValueError:  # no graph view: encoding says so
        return
    reason = _unavailable(view, kind)
    if reason is not None:
        usable = ", ".join(k for k in ENCODINGS if _unavailable(view, k) is None)
        raise UsageError(f"encoding {kind!r} is not available for space {space.name!r}: {reason}; "
                         f"choose from {usable}")


class EncodingChangedWarning(UserWarning):
    """A saved predictor or surrogate was fitted on inputs that this nasforge encodes otherwise (refit it)."""


def encodings_changed(space: SearchSpace, revision: int) -> bool:
    """Whether the graph encodings and ``graph_tensors`` of ``space`` differ from those of encoding ``revision``
    (see ``ENCODING_REVISION``): for revisions before 2, on spaces whose graph view is canonical and whose
    canonical form can differ from a genotype (not a chain without stages, where ``canonical`` changes nothing)."""
    if revision >= ENCODING_REVISION:
        return False
    try:
        canonical = graph_view(space).canonical
    except ValueError:  # no graph view: only the space's own one-hot, which did not change
        return False
    return canonical and _skips_can_move(space)


def _skips_can_move(space: SearchSpace) -> bool:
    """False for a chain whose ``canonical`` is the identity: no stage has two layers after its first offering a
    skip (with no ``stages``, every layer is its own stage); True for every other space."""
    if not isinstance(space, ChainSpace) or type(space).canonical is not ChainSpace.canonical:
        return True
    start = 0
    for n in space.stages:
        if n >= 3 and any(c in SKIP_CHOICES for c in space.layers[start + 1]):
            return True
        start += n
    return False


def encode(space: SearchSpace, archs: Sequence[Architecture], kind: str = "features") -> np.ndarray:
    """Encode ``archs`` as a (len(archs), d) float32 matrix; ``kind`` is one of ``ENCODINGS`` (see
    :func:`check_encoding`); a single architecture is a UsageError (pass ``[arch]``)."""
    archs = arch_list(archs, "encode")
    if kind == "onehot":
        return np.asarray(space.encode(archs, "onehot"), dtype=np.float32)
    if kind not in _GRAPH_ENCODERS:
        raise UsageError(f"unknown encoding {kind!r}; choose from {list(ENCODINGS)}")
    check_encoding(space, kind)
    view = graph_view(space)
    forms = [graph_form(space, view, a) for a in archs]
    cache = _row_cache(kind, view, forms[0]) if forms else None  # looked up once: a view hashes ten fields
    rows = [cache(form) for form in forms] if cache else []
    if not rows:  # no rows, the columns of any architecture (a fixed sample: no random state is touched)
        return np.zeros((0, _encode_one(kind, view, space.sample(np.random.default_rng(0))).size), dtype=np.float32)
    return np.stack(rows)


def _encode_row(kind: str, view: GraphView, arch: Architecture) -> np.ndarray:
    """One architecture's ``kind`` encoding (read-only: the cache hands the same array out again)."""
    row = _GRAPH_ENCODERS[kind](view, view.build(arch))
    row.setflags(write=False)
    return row


CACHE_BYTES = 64 << 20
"""The bytes of encoded rows kept per encoding and space (a bound by entry count alone let wide rows, DARTS's, keep
most of a GB in every process); keys and their architectures come on top, about half again on DARTS ``features``."""

CACHES = 8
"""The (encoding, space) row caches kept, the oldest going first (a view factory that builds a new view per call
would otherwise add one per call)."""

_row_caches: dict[tuple[str, GraphView], Callable[[Architecture], np.ndarray]] = {}
_row_caches_lock = threading.Lock()


def _encode_one(kind: str, view: GraphView, arch: Architecture) -> np.ndarray:
    """``arch``'s ``kind`` encoding, from :func:`_row_cache`."""
    return _row_cache(kind, view, arch)(arch)


def _row_cache(kind: str, view: GraphView, arch: Architecture) -> Callable[[Architecture], np.ndarray]:
    """The row cache of (``kind``, ``view``) (``arch``, one of its architectures, sizes a new one): a
    ``functools.lru_cache`` holding as many rows as fit :data:`CACHE_BYTES` (the rows of one encoding and space are
    all of one size; an lru_cache hit costs a third of a hand-made cache's); at most :data:`CACHES` such caches, the
    oldest going first."""
    cache = _row_caches.get((kind, view))
    if cache is None:
        rows = max(1, CACHE_BYTES // max(1, _encode_row(kind, view, arch).nbytes))
        with _row_caches_lock:
            cache = _row_caches.setdefault((kind, view), lru_cache(maxsize=rows)(partial(_encode_row, kind, view)))
            while len(_row_caches) > CACHES:
                del _row_caches[next(iter(_row_caches))]
    return cache


@dataclass(frozen=True, eq=False)
class GraphBatch:
    """Padded GNN input: node features (B, N, F), dense adjacency (B, N, N) and node mask (B, N).

    Node features one-hot the operation (``input``, ``output``, then ``vocab``); zero-operation and
    dead nodes keep their label but lose their edges, so nothing flows through them.
    """

    features: np.ndarray
    adjacency: np.ndarray
    mask: np.ndarray


def graph_tensors(space: SearchSpace, archs: Sequence[Architecture]) -> GraphBatch:
    """Batch ``archs`` into dense graph tensors for a GNN (a list, as for :func:`encode`)."""
    archs = arch_list(archs, "graph_tensors")
    view = graph_view(space)
    labels = (INPUT, OUTPUT, *view.vocab)
    index = {op: i for i, op in enumerate(labels)}
    b, m = len(archs), view.max_nodes
    features = np.zeros((b, m, len(labels)), dtype=np.float32)
    adjacency = np.zeros((b, m, m), dtype=np.float32)
    mask = np.zeros((b, m), dtype=np.float32)
    for row, arch in enumerate(archs):
        graph = view.build(graph_form(space, view, arch))
        n = len(graph.ops)
        order = list(range(n - 1)) + [m - 1]
        live = graph.live(view.zero_ops)
        features[row, order, [index[op] for op in graph.ops]] = 1.0
        adjacency[row][np.ix_(order, order)] = graph.adjacency * (live[:, None] & live[None, :])
        mask[row, order] = 1.0
    return GraphBatch(features, adjacency, mask)
