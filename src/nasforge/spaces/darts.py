"""DARTS cell space as used by NAS-Bench-301: a normal and a reduction cell, 4 nodes, 7 operations.

Each cell has two inputs (nodes 0 and 1, the outputs of the two previous cells) and four
intermediate nodes 2..5. Node ``i`` sums two edges from two *distinct* earlier nodes ``0..i-1``,
each with one of ``DARTS_OPS``; the cell outputs the concatenation of nodes 2, 3, 4 and 5.

A genotype is ``(normal, reduce)``; each cell is a tuple of 8 ``(op, input)`` pairs, two per node
in node order, exactly the list DARTS prints in ``Genotype(normal=[...], ...)``.
"""

from __future__ import annotations

import ast
import itertools
import math
import reprlib
from typing import Any

import numpy as np

from ..exceptions import UsageError
from .base import Architecture, SearchSpace, as_rng, foreign_form

DARTS_OPS: tuple[str, ...] = (
    "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
)
CELL_TYPES: tuple[str, ...] = ("normal", "reduce")
NODES: tuple[int, ...] = (2, 3, 4, 5)
CONCAT: tuple[int, ...] = NODES
EDGE_NODE: tuple[int, ...] = tuple(node for node in NODES for _ in range(2))  # node fed by pair k
_FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")
_OP_INDEX = {op: i for i, op in enumerate(DARTS_OPS)}
# Position of each possible edge (input j -> node i) in the "adjacency" encoding of one cell.
_ADJ_SLOT = {(j, i): s for s, (j, i) in enumerate((j, i) for i in NODES for j in range(i))}
# The two (op, input) pairs node i may hold, as one value: two ops, two different inputs below i.
_NODE_PAIRS = tuple(frozenset(((op_a, a), (op_b, b)) for op_a, op_b in itertools.product(DARTS_OPS, repeat=2)
                              for a, b in itertools.permutations(range(node), 2)) for node in NODES)
# Offset of each pair's input one-hot block in the "onehot" encoding of one cell.
_INPUT_OFFSET = tuple(itertools.accumulate(EDGE_NODE[:-1], initial=0))
_ONEHOT_CELL = len(EDGE_NODE) * len(DARTS_OPS) + sum(EDGE_NODE)
# Neighbours: an op edit (cell, pair, one of 6 other ops) or an input edit (cell, pair, one of the
# node's inputs other than this pair's and its sibling's: node i leaves i - 2).
_N_OP_EDITS = len(CELL_TYPES) * len(EDGE_NODE) * (len(DARTS_OPS) - 1)
_INPUT_EDITS = tuple((c, k, r) for c in range(len(CELL_TYPES)) for k, node in enumerate(EDGE_NODE)
                     for r in range(node - 2))
# Upper bounds of the integers ``sample`` draws, one row per cell: ops of all pairs, then each
# node's first and second input.
_SAMPLE_HIGHS = np.tile([len(DARTS_OPS)] * len(EDGE_NODE) + list(NODES) + [n - 1 for n in NODES],
                        (len(CELL_TYPES), 1))

Cell = tuple[tuple[str, int], ...]
_QUOTE = reprlib.Repr()
_QUOTE.maxstring = 600  # a whole genotype (DARTS_V2 is 440 characters); a longer text is shown cut in the middle


class DartsSpace(SearchSpace):
    """The NAS-Bench-301 / DARTS space (about 2.8e20 genotypes, 1.1e18 canonical ones).

    ``size`` counts genotypes as DARTS writes them: the two pairs of a node are ordered, so every
    cell is written in 2**4 orders. ``canonical`` sorts each node's pairs by input and
    ``count_unique`` counts the resulting classes (``size / 2**8``). Permuting whole nodes is not
    treated as an identity: it changes the channel order of the concatenated output.
    """

    name = "darts"
    ops = DARTS_OPS

    def _arch(self, normal: Cell, reduce: Cell) -> Architecture:
        return Architecture(self.name, (normal, reduce))

    # -- sampling and neighbourhoods -----------------------------------------------------------
    def sample(self, rng: np.random.Generator | int | None) -> Architecture:
        """Uniform over genotypes: each node draws an ordered pair of distinct inputs and two ops."""
        draws = as_rng(rng).integers(_SAMPLE_HIGHS).tolist()
        return self._arch(*(_cell_from_draws(d) for d in draws))

    def mutate(self, arch: Architecture, rng: np.random.Generator | int | None) -> Architecture:
        """One of the 120 ``neighbors``, uniformly, without listing them."""
        self.check(arch)
        u = int(as_rng(rng).integers(_N_OP_EDITS + len(_INPUT_EDITS)))
        cells = list(arch.genotype)
        if u < _N_OP_EDITS:
            slot, shift = divmod(u, len(DARTS_OPS) - 1)
            c, k = divmod(slot, len(EDGE_NODE))
            op, src = cells[c][k]
            pair = (DARTS_OPS[(_OP_INDEX[op] + 1 + shift) % len(DARTS_OPS)], src)
        else:
            c, k, r = _INPUT_EDITS[u - _N_OP_EDITS]
            op, src = cells[c][k]
            pair = (op, [j for j in range(EDGE_NODE[k]) if j not in (src, cells[c][k ^ 1][1])][r])
        cells[c] = cells[c][:k] + (pair,) + cells[c][k + 1 :]
        return self._arch(*cells)

    def neighbors(self, arch: Architecture) -> list[Architecture]:
        """Every genotype that differs in the op or the input of one pair (96 op + 24 input edits)."""
        self.check(arch)
        out = []
        for c, cell in enumerate(arch.genotype):
            for k, (op, src) in enumerate(cell):
                sibling_src = cell[k ^ 1][1]
                edits = [(new_op, src) for new_op in DARTS_OPS if new_op != op]
                edits += [(op, j) for j in range(EDGE_NODE[k]) if j not in (src, sibling_src)]
                for pair in edits:
                    new_cell = cell[:k] + (pair,) + cell[k + 1 :]
                    cells = arch.genotype[:c] + (new_cell,) + arch.genotype[c + 1 :]
                    out.append(self._arch(*cells))
        return out

    @property
    def size(self) -> int:
        per_cell = math.prod(node * (node - 1) * len(DARTS_OPS) ** 2 for node in NODES)
        return per_cell ** len(CELL_TYPES)

    def count_unique(self) -> int:
        """Number of canonical genotypes (each node's two pairs unordered)."""
        return self.size // 2 ** (len(NODES) * len(CELL_TYPES))

    # -- text ----------------------------------------------------------------------------------
    def parse(self, text: str) -> Architecture:
        """Read ``Genotype(normal=[(op, input), ...], normal_concat=[2, 3, 4, 5], reduce=[...],
        reduce_concat=[2, 3, 4, 5])``; ``range(2, 6)`` is accepted for the concat fields."""
        if not isinstance(text, str):
            raise UsageError(f"DARTS genotype must be a string, got {type(text).__name__}")
        if hint := foreign_form(text, "darts"):
            raise UsageError(f"not a DARTS genotype (Genotype(...)): {_QUOTE.repr(text)}{hint}")
        source = text.strip()
        try:
            tree = ast.parse(source, mode="eval").body
        except SyntaxError as exc:
            raise UsageError(f"not a DARTS genotype ({exc.msg}): {_QUOTE.repr(text)}") from None
        except ValueError as exc:  # e.g. null bytes
            raise UsageError(f"not a DARTS genotype ({exc}): {_QUOTE.repr(text)}") from None
        except (RecursionError, MemoryError):  # e.g. thousands of nested unary minus signs
            raise UsageError(f"not a DARTS genotype (nested too deeply or too large to parse): "
                             f"{_QUOTE.repr(text)}") from None
        if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "Genotype"):
            raise UsageError(f"DARTS genotype must read 'Genotype(normal=[...], normal_concat=[...], "
                             f"reduce=[...], reduce_concat=[...])', got {_QUOTE.repr(text)}")
        if tree.args:
            raise UsageError("Genotype fields must be given by name (normal=..., normal_concat=..., ...)")
        fields: dict[str, ast.expr] = {}
        for keyword in tree.keywords:
            if keyword.arg is None:  # **mapping
                raise UsageError("Genotype fields must be given by name (normal=..., normal_concat=..., ...), "
                                 f"not unpacked with **: {_segment(source, keyword)}")
            if keyword.arg not in _FIELDS:
                raise UsageError(f"unknown Genotype field {keyword.arg!r}; expected {list(_FIELDS)}")
            if keyword.arg in fields:
                raise UsageError(f"Genotype field {keyword.arg!r} given twice")
            fields[keyword.arg] = keyword.value
        missing = [f for f in _FIELDS if f not in fields]
        if missing:
            raise UsageError(f"Genotype is missing field(s) {missing}")
        cells = []
        for cell_type in CELL_TYPES:
            cells.append(_read_cell(cell_type, _literal(source, fields[cell_type], cell_type)))
            _check_concat(f"{cell_type}_concat", source, fields[f"{cell_type}_concat"])
        return self._arch(*cells)

    def format(self, arch: Architecture) -> str:
        """The DARTS text, character for character as DARTS prints its ``Genotype`` namedtuple."""
        normal, reduce = (_format_cell(cell) for cell in self._valid(arch))
        concat = list(CONCAT)
        return f"Genotype(normal={normal}, normal_concat={concat}, reduce={reduce}, reduce_concat={concat})"

    def validate(self, arch: Architecture) -> None:
        g = self._own(arch).genotype
        if not isinstance(g, tuple) or len(g) != len(CELL_TYPES):
            raise UsageError(f"DARTS genotype must be a (normal, reduce) tuple of cells, got {g!r}")
        for cell_type, cell in zip(CELL_TYPES, g):
            if _read_cell(cell_type, cell) != cell:
                raise UsageError(f"{cell_type} cell must be a tuple of (op, input) tuples, got {cell!r}")

    def _fast_valid(self, genotype: Any) -> bool:
        return type(genotype) is tuple and len(genotype) == len(CELL_TYPES) and all(map(_is_cell, genotype))

    # -- canonical form ------------------------------------------------------------------------
    def canonical(self, arch: Architecture) -> Architecture:
        """Sort each node's two pairs by input (the sum of a node's two edges does not depend on order)."""
        return self._arch(*(_sorted_cell(cell) for cell in self._valid(arch)))

    # -- encodings -----------------------------------------------------------------------------
    def encode_onehot(self, arch: Architecture) -> np.ndarray:
        """Per cell and pair of the canonical genotype: a one-hot op (7) and a one-hot input (node
        ``i`` has ``i`` choices). 168 values; equal for genotypes with the same canonical form."""
        vec = np.zeros(len(CELL_TYPES) * _ONEHOT_CELL, dtype=np.float32)
        input_base = len(EDGE_NODE) * len(DARTS_OPS)
        for c, cell in enumerate(self.canonical(arch).genotype):
            base = c * _ONEHOT_CELL
            for k, (op, src) in enumerate(cell):
                vec[base + k * len(DARTS_OPS) + _OP_INDEX[op]] = 1.0
                vec[base + input_base + _INPUT_OFFSET[k] + src] = 1.0
        return vec

    def encode_adjacency(self, arch: Architecture) -> np.ndarray:
        """Per cell, every possible edge ``j -> i`` (14 of them) as a one-hot op, all zeros when the
        edge is absent: the cell's adjacency matrix with op labels, flattened (196 values)."""
        slots = len(_ADJ_SLOT)
        vec = np.zeros((len(CELL_TYPES), slots, len(DARTS_OPS)), dtype=np.float32)
        for c, cell in enumerate(self._valid(arch)):
            for k, (op, src) in enumerate(cell):
                vec[c, _ADJ_SLOT[(src, EDGE_NODE[k])], _OP_INDEX[op]] = 1.0
        return vec.reshape(-1)

    def encoders(self) -> dict[str, Any]:
        return {"onehot": self.encode_onehot, "adjacency": self.encode_adjacency}

    # -- categorical view ----------------------------------------------------------------------
    def categorical_params(self) -> dict[str, list[str]]:
        """Per cell and node: ``inputs`` (an unordered pair such as "0,2"), ``op_a`` (op on the
        smaller input) and ``op_b`` (op on the larger). Every assignment is a valid canonical genotype,
        so a generic sampler wastes no trial (a per-pair view would be invalid 24 times in 25)."""
        params: dict[str, list[str]] = {}
        for cell_type in CELL_TYPES:
            for node in NODES:
                prefix = f"{cell_type}_node{node}"
                params[f"{prefix}_inputs"] = [f"{a},{b}" for a in range(node) for b in range(a + 1, node)]
                params[f"{prefix}_op_a"] = list(DARTS_OPS)
                params[f"{prefix}_op_b"] = list(DARTS_OPS)
        return params

    def from_params(self, params: dict[str, str]) -> Architecture:
        """The canonical genotype of a ``categorical_params`` assignment: a UsageError for a missing parameter or a
        value not among the parameter's choices, naming the parameter."""
        self._check_param_names(params)
        for name, allowed in self.categorical_params().items():
            if _param(params, name) not in allowed:
                raise UsageError(f"parameter {name!r} must be one of {allowed}, got {params[name]!r}")
        cells = []
        for cell_type in CELL_TYPES:
            pairs: list[tuple[str, int]] = []
            for node in NODES:
                prefix = f"{cell_type}_node{node}"
                a, b = (int(s) for s in str(params[f"{prefix}_inputs"]).split(","))
                pairs += [(str(params[f"{prefix}_op_a"]), a), (str(params[f"{prefix}_op_b"]), b)]
            cells.append(_read_cell(cell_type, pairs))
        return self._arch(*cells)

    def to_params(self, arch: Architecture) -> dict[str, str]:
        """The assignment of ``canonical(arch)``, so ``from_params(to_params(a)) == canonical(a)``."""
        params = {}
        for cell_type, cell in zip(CELL_TYPES, self.canonical(arch).genotype):
            for node, k in zip(NODES, range(0, len(cell), 2)):
                (op_a, a), (op_b, b) = cell[k], cell[k + 1]
                prefix = f"{cell_type}_node{node}"
                params.update({f"{prefix}_inputs": f"{a},{b}", f"{prefix}_op_a": op_a, f"{prefix}_op_b": op_b})
        return params


def _cell_from_draws(draws: list[int]) -> Cell:
    """A cell from integers drawn below ``_SAMPLE_HIGHS``; the second input skips over the first."""
    n = len(EDGE_NODE)
    ops, firsts, seconds = draws[:n], draws[n : n + len(NODES)], draws[n + len(NODES) :]
    inputs = [x for a, b in zip(firsts, seconds) for x in (a, b + (b >= a))]
    return tuple((DARTS_OPS[o], s) for o, s in zip(ops, inputs))


def _is_cell(cell: Any) -> bool:
    """A quick check that ``cell`` is valid, one set lookup per node (``_read_cell`` says what is wrong); inputs
    must be ints (``1.0`` and ``True`` hash as ``1`` but are refused by ``check``)."""
    if type(cell) is not tuple or len(cell) != len(EDGE_NODE) \
            or not all(type(pair) is tuple and len(pair) == 2 and type(pair[1]) is int for pair in cell):
        return False
    node2, node3, node4, node5 = _NODE_PAIRS
    return (cell[0], cell[1]) in node2 and (cell[2], cell[3]) in node3 and (cell[4], cell[5]) in node4 \
        and (cell[6], cell[7]) in node5


def _sorted_cell(cell: Cell) -> Cell:
    return tuple(p for k in range(0, len(cell), 2) for p in sorted(cell[k : k + 2], key=lambda p: p[1]))


def _format_cell(cell: Cell) -> str:
    return "[" + ", ".join(f"({op!r}, {src})" for op, src in cell) + "]"


def _read_cell(cell_type: str, value: Any) -> Cell:
    """Check a cell given as a sequence of (op, input) pairs; return it as nested tuples."""
    if not isinstance(value, (list, tuple)):
        raise UsageError(f"{cell_type} must be a list of (op, input) pairs, got {_QUOTE.repr(value)}")
    if len(value) != len(EDGE_NODE):
        raise UsageError(f"{cell_type} needs {len(EDGE_NODE)} (op, input) pairs (2 for each of nodes "
                         f"{NODES[0]}..{NODES[-1]}), found {len(value)}")
    cell = []
    for k, pair in enumerate(value):
        node = EDGE_NODE[k]
        where = f"{cell_type} pair {k} (node {node})"
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and isinstance(pair[0], str)
                and isinstance(pair[1], int) and not isinstance(pair[1], bool)):
            raise UsageError(f"{where} must be ('op', input), got {_QUOTE.repr(pair)}")
        op, src = pair[0], int(pair[1])
        if op not in _OP_INDEX:
            raise UsageError(f"unknown operation {op!r} in {where}; choose from {list(DARTS_OPS)}")
        if not 0 <= src < node:
            raise UsageError(f"input {src} of {where} is out of range: node {node} reads inputs 0..{node - 1}")
        if k % 2 and src == cell[-1][1]:
            raise UsageError(f"{cell_type} node {node} reads input {src} twice; its two inputs must differ")
        cell.append((op, src))
    return tuple(cell)


def _segment(source: str, node: ast.AST) -> str:
    """The quoted text of ``node`` in ``source`` (cut in the middle when long): unlike ``ast.unparse``, it does not
    recurse, so a node nested thousands of levels deep is quoted too."""
    return _QUOTE.repr(ast.get_source_segment(source, node) or "")


def _literal(source: str, node: ast.expr, field: str) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, RecursionError):
        raise UsageError(f"{field} must be a list of ('op', input) pairs, got {_segment(source, node)}") from None


def _check_concat(field: str, source: str, node: ast.expr) -> None:
    """Accept ``[2, 3, 4, 5]`` (or a tuple) and ``range(2, 6)``: the space always concatenates all nodes."""
    def refused() -> UsageError:  # quoting the text costs more than the check: only for an error
        expected = f"{list(CONCAT)} (all intermediate nodes) or range({CONCAT[0]}, {CONCAT[-1] + 1})"
        return UsageError(f"{field} must be {expected}, got {_segment(source, node)}")

    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
        args = [a.value for a in node.args if isinstance(a, ast.Constant) and type(a.value) is int]
        if node.keywords or len(args) != len(node.args) or not 1 <= len(args) <= 3 or 0 in args[2:]:
            raise refused()
        ok = range(*args) == range(CONCAT[0], CONCAT[-1] + 1)
    else:
        try:
            value = ast.literal_eval(node)
        except (ValueError, TypeError, RecursionError):
            raise refused() from None
        ok = (isinstance(value, (list, tuple)) and all(type(v) is int for v in value)  # not 5.0 or True
              and list(value) == list(CONCAT))
    if not ok:
        raise refused()


def _param(params: dict[str, str], name: str) -> str:
    if name not in params:
        raise UsageError(f"missing parameter {name!r}")
    return str(params[name])
