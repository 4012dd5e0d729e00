"""NAS-Bench-101 cell: a DAG of up to 7 nodes and 9 edges, 3 operations on the interior nodes.

A genotype is ``(matrix, ops)``: ``matrix`` a tuple of row tuples of 0/1 (a strictly upper-triangular
adjacency matrix, ``matrix[i][j] == 1`` for an edge ``i -> j``) and ``ops`` the node labels, with
``ops[0] == "input"`` and ``ops[-1] == "output"``. As in NAS-Bench-101's ``ModelSpec``, nodes not on
any input->output path are pruned before the cell is checked (at most 9 edges) or compared.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterator
from functools import lru_cache

import numpy as np

from ..exceptions import NotEnumerableError, UsageError
from .base import Architecture, SearchSpace, as_rng, foreign_form

NB101_OPS: tuple[str, ...] = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
INPUT, OUTPUT = "input", "output"
MAX_VERTICES = 7
MAX_EDGES = 9
NB101_UNIQUE_CELLS = 423_624
"""Non-isomorphic valid cells, as reported by NAS-Bench-101 (``count_unique_cells()`` recomputes it)."""

_INTERIOR = MAX_VERTICES - 2
_OP_INDEX = {op: i for i, op in enumerate(NB101_OPS)}
# Edge slots of the padded 7-node matrix in row-major upper-triangle order: (0,1), (0,2), ..., (5,6).
_SLOTS: tuple[tuple[int, int], ...] = tuple(itertools.combinations(range(MAX_VERTICES), 2))
_ROW_RE = re.compile(r"[01]*")  # fullmatch

Matrix = tuple[tuple[int, ...], ...]
Genotype = tuple[Matrix, tuple[str, ...]]


# -- graph helpers (trust a structurally checked genotype) ----------------------------------------
def _edges(matrix: Matrix) -> list[tuple[int, int]]:
    return [(i, j) for i, row in enumerate(matrix) for j, bit in enumerate(row) if bit]


def _reach(edges: list[tuple[int, int]], start: int) -> set[int]:
    """Nodes reachable from ``start`` along ``edges``."""
    seen, frontier = {start}, [start]
    while frontier:
        top = frontier.pop()
        for i, j in edges:
            if i == top and j not in seen:
                seen.add(j)
                frontier.append(j)
    return seen


def live_nodes(matrix: Matrix) -> set[int]:
    """Nodes on some input->output path of a DAG's adjacency ``matrix`` (input 0, output last)."""
    edges = _edges(matrix)
    return _reach(edges, 0) & _reach([(j, i) for i, j in edges], len(matrix) - 1)


@lru_cache(maxsize=1 << 16)
def prune(genotype: Genotype) -> Genotype | None:
    """Drop nodes that are not on an input->output path (``ModelSpec._prune``); None if disconnected."""
    matrix, ops = genotype
    n = len(ops)
    alive = live_nodes(matrix)
    if n - 1 not in alive:
        return None
    keep = sorted(alive)
    return tuple(tuple(matrix[i][j] for j in keep) for i in keep), tuple(ops[i] for i in keep)


def num_edges(matrix: Matrix) -> int:
    return sum(map(sum, matrix))


def _is_valid(genotype: Genotype) -> bool:
    pruned = prune(genotype)
    return pruned is not None and num_edges(pruned[0]) <= MAX_EDGES


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


@lru_cache(maxsize=1 << 16)
def module_hash(pruned: Genotype) -> str:
    """NAS-Bench-101's ``graph_util.hash_module``: iterated Weisfeiler-Lehman MD5 hash of a pruned cell.

    Equal for isomorphic cells and, on this space, different for non-isomorphic ones; it is the key
    of the official NAS-Bench-101 records.
    """
    matrix, ops = pruned
    n = len(ops)
    labels = [-1] + [_OP_INDEX[op] for op in ops[1:-1]] + [-2]
    in_deg = [sum(matrix[i][v] for i in range(n)) for v in range(n)]
    hashes = [_md5(str((sum(matrix[v]), in_deg[v], labels[v]))) for v in range(n)]
    for _ in range(n):
        hashes = [
            _md5("".join(sorted(hashes[w] for w in range(n) if matrix[w][v])) + "|"
                 + "".join(sorted(hashes[w] for w in range(n) if matrix[v][w])) + "|" + hashes[v])
            for v in range(n)
        ]
    return _md5(str(sorted(hashes)))


@lru_cache(maxsize=1 << 16)
def _canonical_genotype(pruned: Genotype) -> Genotype:
    """The smallest relabelling of a pruned cell over all topological orders of its interior nodes.

    Every isomorphic cell has the same set of upper-triangular relabellings, so they share this
    representative (an exact canonical form, no hashing involved).
    """
    matrix, ops = pruned
    n = len(ops)
    edges = _edges(matrix)
    best: tuple | None = None
    for perm in itertools.permutations(range(1, n - 1)):
        pos = (0, *perm, n - 1)  # node v moves to position pos[v]
        if any(pos[i] > pos[j] for i, j in edges):
            continue
        new_ops = [""] * n
        for v in range(n):
            new_ops[pos[v]] = ops[v]
        moved = {(pos[i], pos[j]) for i, j in edges}
        key = (tuple(int((i, j) in moved) for i, j in itertools.combinations(range(n), 2)),
               tuple(_OP_INDEX.get(op, -1) for op in new_ops))
        if best is None or key < best[0]:
            best = (key, moved, tuple(new_ops))
    assert best is not None  # the identity order is always topological
    _, moved, new_ops = best
    return tuple(tuple(int((i, j) in moved) for j in range(n)) for i in range(n)), new_ops


def canonical_cell(genotype: Genotype) -> Genotype:
    """The canonical form of a valid cell: pruned, its nodes in the canonical order of :func:`_canonical_genotype`."""
    return _canonical_genotype(prune(genotype))


def _pad(genotype: Genotype) -> Genotype:
    """The same cell on 7 nodes: isolated (pruned-away) interior nodes are inserted before the output."""
    matrix, ops = genotype
    n = len(ops)
    index = list(range(n - 1)) + [MAX_VERTICES - 1]  # old node -> new node
    rows = [[0] * MAX_VERTICES for _ in range(MAX_VERTICES)]
    for i, j in _edges(matrix):
        rows[index[i]][index[j]] = 1
    new_ops = ops[:-1] + (NB101_OPS[0],) * (MAX_VERTICES - n) + (OUTPUT,)
    return tuple(map(tuple, rows)), new_ops


def _from_choices(bits: list[int], op_choices: list[str]) -> Genotype:
    """A 7-node genotype from the 21 upper-triangle edge bits and the 5 interior operations."""
    rows = [[0] * MAX_VERTICES for _ in range(MAX_VERTICES)]
    for (i, j), bit in zip(_SLOTS, bits):
        rows[i][j] = int(bit)
    return tuple(map(tuple, rows)), (INPUT, *op_choices, OUTPUT)


# -- validation ----------------------------------------------------------------------------------
def check_genotype(genotype: object) -> Genotype:
    """Raise ``UsageError`` naming the first problem of a NAS-Bench-101 genotype; return it if valid."""
    if not (isinstance(genotype, tuple) and len(genotype) == 2):
        raise UsageError(f"NAS-Bench-101 genotype must be a (matrix, ops) pair, got {genotype!r}")
    matrix, ops = genotype
    if not isinstance(ops, tuple) or not all(isinstance(op, str) for op in ops):
        raise UsageError(f"ops must be a tuple of operation names, got {ops!r}")
    n = len(ops)
    if n > MAX_VERTICES:
        raise UsageError(f"cell has {n} nodes; at most {MAX_VERTICES} are allowed "
                         f"(input, {_INTERIOR} interior, output)")
    if n < 2:
        raise UsageError(f"cell has {n} node(s); it needs at least an input and an output node")
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        raise UsageError(f"the first op must be {INPUT!r} and the last {OUTPUT!r}, got {ops[0]!r} and {ops[-1]!r}")
    for node, op in enumerate(ops[1:-1], start=1):
        if op not in _OP_INDEX:
            raise UsageError(f"unknown operation {op!r} at node {node}; choose from {list(NB101_OPS)}")
    if not isinstance(matrix, tuple) or len(matrix) != n:
        raise UsageError(f"matrix must be a tuple of {n} rows (one per op), got {matrix!r}")
    for i, row in enumerate(matrix):
        if not isinstance(row, tuple) or len(row) != n:
            raise UsageError(f"matrix row {i} must be a tuple of {n} entries, got {row!r}")
        for j, bit in enumerate(row):
            if type(bit) is not int or bit not in (0, 1):
                raise UsageError(f"matrix entry ({i}, {j}) must be the int 0 or 1, got {bit!r}")
            if bit and j <= i:
                raise UsageError(f"matrix entry ({i}, {j}) is 1 but edges must go from a lower to a higher node "
                                 "(the matrix must be strictly upper-triangular)")
    pruned = prune(genotype)
    if pruned is None:
        raise UsageError("the input node is not connected to the output node")
    if num_edges(pruned[0]) > MAX_EDGES:
        raise UsageError(f"cell has {num_edges(pruned[0])} edges after pruning; at most {MAX_EDGES} are allowed")
    return genotype


class NASBench101Space(SearchSpace):
    """The NAS-Bench-101 cell space (Ying et al., 2019).

    ``sample`` draws 7-node genotypes (pruned nodes included, as NASLib does); ``canonical`` prunes
    and relabels so isomorphic cells coincide; ``canonical_key`` is NAS-Bench-101's own graph hash.
    """

    name = "nb101"
    builds_only_reachable = True
    ops = NB101_OPS

    def _arch(self, genotype: Genotype) -> Architecture:
        return Architecture(self.name, genotype)

    # -- sampling and neighbourhoods -----------------------------------------------------------
    def sample(self, rng: np.random.Generator | int | None) -> Architecture:
        """Uniform over valid 7-node genotypes: random edge bits and ops until the cell is valid."""
        rng = as_rng(rng)
        while True:
            bits = rng.integers(2, size=len(_SLOTS))
            choice = rng.integers(len(NB101_OPS), size=_INTERIOR)
            genotype = _from_choices(bits.tolist(), [NB101_OPS[i] for i in choice])
            if _is_valid(genotype):
                return self._arch(genotype)

    @staticmethod
    def _edits(genotype: Genotype) -> list[Genotype]:
        """Every genotype one edge flip or one interior op change away (valid or not)."""
        matrix, ops = genotype
        n = len(ops)
        out = []
        for i, j in itertools.combinations(range(n), 2):
            rows = [list(row) for row in matrix]
            rows[i][j] = 1 - rows[i][j]
            out.append((tuple(map(tuple, rows)), ops))
        for node in range(1, n - 1):
            for op in NB101_OPS:
                if op != ops[node]:
                    out.append((matrix, ops[:node] + (op,) + ops[node + 1:]))
        return out

    def neighbors(self, arch: Architecture) -> list[Architecture]:
        """Valid one-edit neighbours with a canonical form other than ``arch``'s, one per canonical form."""
        seen = {self.canonical_key(self.check(arch))}
        out = []
        for genotype in self._edits(arch.genotype):
            if not _is_valid(genotype):
                continue
            key = module_hash(prune(genotype))
            if key not in seen:
                seen.add(key)
                out.append(self._arch(genotype))
        return out

    def mutate(self, arch: Architecture, rng: np.random.Generator | int | None) -> Architecture:
        """A random valid one-edit neighbour with a different canonical form.

        A cell without such a neighbour (e.g. only the edge input->output) gets a fresh random sample
        with a different canonical form instead.
        """
        own = self.canonical_key(self.check(arch))
        rng = as_rng(rng)
        edits = self._edits(arch.genotype)
        for k in rng.permutation(len(edits)):
            genotype = edits[int(k)]
            if _is_valid(genotype) and module_hash(prune(genotype)) != own:
                return self._arch(genotype)
        while True:
            other = self.sample(rng)
            if self.canonical_key(other) != own:
                return other

    @property
    def size(self) -> int:
        """Number of functionally distinct (non-isomorphic) cells: 423,624.

        Genotypes are far more numerous (every relabelling, every pruned-away node), so the space
        is not enumerable here.
        """
        return NB101_UNIQUE_CELLS

    def enumerate(self) -> Iterator[Architecture]:
        """Not available: the genotypes, not the ``size`` distinct cells, would have to be listed."""
        raise NotEnumerableError(f"space {self.name!r} cannot be enumerated: its {self.size:,} distinct cells are "
                                 "written by far more genotypes (every node relabelling, every pruned-away node and "
                                 "its op), and enumerate() would list the genotypes")

    # -- text ----------------------------------------------------------------------------------
    def parse(self, text: str) -> Architecture:
        """Read ``ops=input,conv3x3-bn-relu,...,output;matrix=0110/0001/0001/0000`` (fields in any order, white
        space ignored, a trailing ``;`` allowed)."""
        if not isinstance(text, str):
            raise UsageError(f"NAS-Bench-101 architecture must be a string, got {type(text).__name__}")
        if hint := foreign_form(text, "nb101"):
            raise UsageError(f"not a NAS-Bench-101 cell (ops=...;matrix=...): {text!r}{hint}")
        fields: dict[str, str] = {}
        for part in (p for p in text.split(";") if p.strip()):
            key, sep, value = part.partition("=")
            key = key.strip()
            if not sep or key not in ("ops", "matrix"):
                raise UsageError(f"bad field {part!r} in {text!r}: "
                                 "expected 'ops=...' and 'matrix=...' separated by ';'")
            if key in fields:
                raise UsageError(f"field {key!r} given twice in {text!r}")
            fields[key] = value.strip()
        missing = {"ops", "matrix"} - fields.keys()
        if missing:
            raise UsageError(f"missing field {sorted(missing)[0]!r} in {text!r}")
        ops = tuple("".join(op.split()) for op in fields["ops"].split(","))
        rows = "".join(fields["matrix"].split()).split("/")
        if rows == [""]:
            raise UsageError(f"matrix is empty in {text!r}: it needs one row of digits per op, rows separated by '/'")
        for i, row in enumerate(rows):
            if not _ROW_RE.fullmatch(row):
                raise UsageError(f"matrix row {i} {row!r} must contain only the digits 0 and 1")
        if len(rows) != len(ops):
            raise UsageError(f"matrix has {len(rows)} row(s) but there are {len(ops)} ops; they must match")
        for i, row in enumerate(rows):
            if len(row) != len(ops):
                raise UsageError(f"matrix row {i} {row!r} has {len(row)} digits; {len(ops)} ops need {len(ops)}")
        matrix = tuple(tuple(int(c) for c in row) for row in rows)
        return self._arch(check_genotype((matrix, ops)))

    def format(self, arch: Architecture) -> str:
        matrix, ops = self._valid(arch)
        return f"ops={','.join(ops)};matrix={'/'.join(''.join(map(str, row)) for row in matrix)}"

    def validate(self, arch: Architecture) -> None:
        check_genotype(self._own(arch).genotype)

    # -- canonical form ------------------------------------------------------------------------
    def canonical(self, arch: Architecture) -> Architecture:
        """The pruned cell with its nodes in a canonical topological order."""
        return self._arch(canonical_cell(self._valid(arch)))

    def trained_form(self, arch: Architecture) -> Architecture:
        """The canonical cell: what ``NB101Network`` builds (and a search trains) for ``arch``."""
        return self.canonical(arch)

    def canonical_key(self, arch: Architecture) -> str:
        """NAS-Bench-101's module hash of the pruned cell (the key of its published records)."""
        return module_hash(self._pruned(arch))

    def count_unique(self) -> int:
        """The 423,624 non-isomorphic cells (``count_unique_cells()`` recomputes it), as many as ``size``."""
        return NB101_UNIQUE_CELLS

    def _pruned(self, arch: Architecture) -> Genotype:
        """The pruned cell of a valid ``arch``."""
        return prune(self._valid(arch))

    # -- encodings -----------------------------------------------------------------------------
    def encoders(self) -> dict:
        return {"onehot": self.encode_onehot, "path": self.encode_path}

    def encode_onehot(self, arch: Architecture) -> np.ndarray:
        """36 values: the 21 upper-triangle edge bits of the canonical cell padded to 7 nodes, then a
        3-way one-hot per interior node (all zero for padding)."""
        return _onehot(canonical_cell(self._valid(arch)))

    def encode_path(self, arch: Architecture) -> np.ndarray:
        """364 bits, one per possible input->output path (its op sequence), as in BANANAS."""
        return _path_bits(self._pruned(arch))

    def categorical_params(self) -> dict[str, list[str]]:
        params = {f"edge_{i}_{j}": ["0", "1"] for i, j in _SLOTS}
        params.update({f"op_{k}": list(NB101_OPS) for k in range(1, _INTERIOR + 1)})
        return params

    def from_params(self, params: dict[str, str]) -> Architecture:
        self._check_param_names(params)
        choices = self.categorical_params()
        for name, allowed in choices.items():
            if name not in params:
                raise UsageError(f"missing parameter {name!r}")
            if str(params[name]) not in allowed:
                raise UsageError(f"parameter {name!r} must be one of {allowed}, got {params[name]!r}")
        bits = [int(params[f"edge_{i}_{j}"]) for i, j in _SLOTS]
        ops = [params[f"op_{k}"] for k in range(1, _INTERIOR + 1)]
        return self._arch(check_genotype(_from_choices(bits, ops)))

    def to_params(self, arch: Architecture) -> dict[str, str]:
        """The cell on 7 nodes (smaller cells padded with isolated nodes) as categorical choices."""
        matrix, ops = _pad(self._valid(arch))
        params = {f"edge_{i}_{j}": str(matrix[i][j]) for i, j in _SLOTS}
        params.update({f"op_{k}": ops[k] for k in range(1, _INTERIOR + 1)})
        return params


@lru_cache(maxsize=1 << 16)
def _onehot(canonical: Genotype) -> np.ndarray:
    matrix, ops = _pad(canonical)
    n_real = len(canonical[1]) - 2
    vec = np.zeros(len(_SLOTS) + _INTERIOR * len(NB101_OPS), dtype=np.float32)
    vec[: len(_SLOTS)] = [matrix[i][j] for i, j in _SLOTS]
    for node in range(1, n_real + 1):
        vec[len(_SLOTS) + (node - 1) * len(NB101_OPS) + _OP_INDEX[ops[node]]] = 1.0
    vec.setflags(write=False)
    return vec


# Paths with k interior ops occupy indices [_PATH_OFFSET[k], _PATH_OFFSET[k] + 3**k).
_PATH_OFFSET = np.cumsum([0] + [len(NB101_OPS) ** k for k in range(_INTERIOR + 1)])


@lru_cache(maxsize=1 << 16)
def _path_bits(pruned: Genotype) -> np.ndarray:
    matrix, ops = pruned
    n = len(ops)
    vec = np.zeros(int(_PATH_OFFSET[-1]), dtype=np.float32)

    def walk(node: int, code: int, length: int) -> None:
        if node == n - 1:
            vec[_PATH_OFFSET[length] + code] = 1.0
            return
        if node:
            code, length = code * len(NB101_OPS) + _OP_INDEX[ops[node]], length + 1
        for nxt in range(node + 1, n):
            if matrix[node][nxt]:
                walk(nxt, code, length)

    walk(0, 0, 0)
    vec.setflags(write=False)
    return vec


def count_unique_cells(max_vertices: int = MAX_VERTICES, max_edges: int = MAX_EDGES,
                       num_ops: int = len(NB101_OPS)) -> int:
    """Count non-isomorphic valid cells exactly, without hashing (423,624 for the defaults).

    For each node count, every upper-triangular matrix without dangling nodes is relabelled by all
    interior permutations at once (NumPy); a matrix that is the smallest of its relabellings stands
    for its isomorphism class, and Burnside's lemma over its automorphisms counts its distinct op
    labellings.
    """
    total = 0
    for n in range(2, max_vertices + 1):
        slots = list(itertools.combinations(range(n), 2))
        masks = np.arange(1 << len(slots), dtype=np.int64)
        bits = np.empty((len(masks), len(slots)), dtype=np.uint8)
        for k in range(len(slots)):
            bits[:, k] = (masks >> k) & 1
        keep = bits.sum(axis=1) <= max_edges
        for v in range(n):
            if v < n - 1:
                keep &= bits[:, [k for k, (i, _) in enumerate(slots) if i == v]].any(axis=1)
            if v > 0:
                keep &= bits[:, [k for k, (_, j) in enumerate(slots) if j == v]].any(axis=1)
        masks, bits = masks[keep], bits[keep].astype(np.int64)
        smallest = masks.copy()
        fixed_labellings = np.zeros(len(masks), dtype=np.int64)
        n_automorphisms = np.zeros(len(masks), dtype=np.int64)
        slot_index = {s: k for k, s in enumerate(slots)}
        for perm in itertools.permutations(range(1, n - 1)):
            pos = (0, *perm, n - 1)
            weights = np.array([1 << slot_index[(pos[i], pos[j])] if pos[i] < pos[j] else 0 for i, j in slots])
            backward = np.array([pos[i] > pos[j] for i, j in slots])
            image = np.where(bits[:, backward].any(axis=1), np.iinfo(np.int64).max, bits @ weights)
            np.minimum(smallest, image, out=smallest)
            automorphism = image == masks
            n_automorphisms += automorphism
            fixed_labellings += automorphism * num_ops ** _count_cycles(perm)
        representative = smallest == masks
        total += int((fixed_labellings[representative] // n_automorphisms[representative]).sum())
    return total


def _count_cycles(perm: tuple[int, ...]) -> int:
    """Cycles of the permutation ``v -> perm[v - 1]`` of the interior nodes 1..len(perm)."""
    seen: set[int] = set()
    cycles = 0
    for start in range(1, len(perm) + 1):
        if start not in seen:
            cycles += 1
            v = start
            while v not in seen:
                seen.add(v)
                v = perm[v - 1]
    return cycles
