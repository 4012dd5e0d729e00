"""Tests for the NAS-Bench-101 cell space."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nasforge.exceptions import UsageError
from nasforge.spaces import Architecture, NASBench101Space, get_space
from nasforge.spaces.nb101 import MAX_EDGES, NB101_OPS, count_unique_cells, module_hash, prune

C3, C1, MP = NB101_OPS


@pytest.fixture(scope="module")
def space() -> NASBench101Space:
    return get_space("nb101")


@pytest.fixture(scope="module")
def samples(space) -> list[Architecture]:
    rng = np.random.default_rng(0)
    return [space.sample(rng) for _ in range(200)]


def cell(rows: list[str], ops: list[str]) -> Architecture:
    matrix = tuple(tuple(int(c) for c in row) for row in rows)
    return Architecture("nb101", (matrix, ("input", *ops, "output")))


def relabel(arch: Architecture, rng: np.random.Generator) -> Architecture:
    """The same cell with its nodes renumbered in a random topological order (input/output stay put)."""
    matrix, ops = arch.genotype
    n = len(ops)
    order, placed = [0], {0}
    while len(order) < n - 1:
        ready = [v for v in range(1, n - 1)
                 if v not in placed and all(u in placed for u in range(n) if matrix[u][v])]
        pick = ready[int(rng.integers(len(ready)))]
        order.append(pick)
        placed.add(pick)
    order.append(n - 1)
    new_matrix = tuple(tuple(matrix[order[i]][order[j]] for j in range(n)) for i in range(n))
    return Architecture("nb101", (new_matrix, tuple(ops[v] for v in order)))


def full_cells(n: int):
    """Every genotype with exactly ``n`` nodes, none pruned and at most 9 edges."""
    slots = list(itertools.combinations(range(n), 2))
    for bits in itertools.product((0, 1), repeat=len(slots)):
        rows = [[0] * n for _ in range(n)]
        for (i, j), bit in zip(slots, bits):
            rows[i][j] = bit
        matrix = tuple(map(tuple, rows))
        if sum(bits) > MAX_EDGES:
            continue
        for interior in itertools.product(NB101_OPS, repeat=n - 2):
            genotype = (matrix, ("input", *interior, "output"))
            pruned = prune(genotype)
            if pruned is not None and len(pruned[1]) == n:
                yield Architecture("nb101", genotype)


# -- text and values ------------------------------------------------------------------------------
def test_format_parse_round_trip(space, samples):
    for arch in samples:
        text = space.format(arch)
        assert space.parse(text) == arch
        assert Architecture.from_json(arch.to_json()) == arch
        space.check(arch)
    assert space.format(cell(["011", "001", "000"], [MP])) == "ops=input,maxpool3x3,output;matrix=011/001/000"


def test_parse_accepts_fields_in_any_order_and_spaces(space):
    arch = cell(["011", "001", "000"], [C1])
    assert space.parse(" matrix=011/001/000 ; ops=input, conv1x1-bn-relu ,output ") == arch
    for text in ("ops=input,conv1x1-bn-relu,output;matrix=011 / 001 / 000", "ops=input,conv1x1-bn-relu,output;"
                 "matrix=0 1 1/001/000", "ops=input,conv1x1-bn-relu,output;matrix=011/001/000;",
                 "ops=input,conv1x1-bn-relu,output;;matrix=011/001/000"):
        assert space.parse(text) == arch, text


@pytest.mark.parametrize("text, message", [
    ("ops=input,conv5x5,output;matrix=011/001/000", "unknown operation 'conv5x5' at node 1"),
    ("ops=input,conv3x3-bn-relu,output;matrix=011/101/000", r"entry \(1, 0\) is 1 .*upper-triangular"),
    ("ops=input,conv3x3-bn-relu,output;matrix=011/011/000", r"entry \(1, 1\) is 1"),
    ("ops=input,conv3x3-bn-relu,output;matrix=000/001/000", "not connected"),
    ("ops=input,conv3x3-bn-relu,output;matrix=010/000/000", "not connected"),
    ("ops=" + ",".join(["input"] + [C3] * 5 + ["output"]) + ";matrix=0111111/0011111/0001111/0000111/"
     "0000011/0000001/0000000", "21 edges after pruning; at most 9"),
    ("ops=" + ",".join(["input"] + [C3] * 6 + ["output"]) + ";matrix=" + "/".join(["01000000"] * 8),
     "8 nodes; at most 7"),
    ("ops=output,conv3x3-bn-relu,input;matrix=011/001/000", "first op must be 'input'"),
    ("ops=input,conv3x3-bn-relu,output;matrix=011/0x1/000", "row 1 '0x1' must contain only"),
    ("ops=input,conv3x3-bn-relu,output;matrix=011/001", "2 row\\(s\\) but there are 3 ops"),
    ("ops=input,conv3x3-bn-relu,output;matrix=011/0010/000", "row 1 '0010' has 4 digits; 3 ops need 3"),
    ("ops=input,output", "missing field 'matrix'"),
    ("ops=input,output;matrix=01/00;ops=input,output", "field 'ops' given twice"),
    ("ops=input,output;shape=2", "bad field 'shape=2'"),
    ("ops=input;matrix=0", "1 node"),
])
def test_parse_rejects_bad_text(space, text, message):
    with pytest.raises(ValueError, match=message):
        space.parse(text)


def test_parse_rejects_non_string(space):
    with pytest.raises(ValueError, match="must be a string"):
        space.parse(42)


@pytest.mark.parametrize("genotype, message", [
    ("a", "pair"),
    ((((np.int64(0), 1), (0, 0)), ("input", "output")), r"entry \(0, 0\) must be the int 0 or 1"),
    ((((0, 1), (0, 0)), ("input", "output")), None),
    ((((0, True), (0, 0)), ("input", "output")), r"entry \(0, 1\) must be the int 0 or 1, got True"),
    ((((0, 2), (0, 0)), ("input", "output")), r"entry \(0, 1\) must be the int 0 or 1, got 2"),
    ((((0, 1),), ("input", "output")), "2 rows"),
])
def test_validate_checks_genotype_structure(space, genotype, message):
    arch = Architecture("nb101", genotype)
    if message is None:
        space.validate(arch)
    else:
        with pytest.raises(ValueError, match=message):
            space.validate(arch)


def test_check_rejects_other_space(space):
    with pytest.raises(ValueError, match="'nb201'"):
        space.check(Architecture("nb201", (((0, 1), (0, 0)), ("input", "output"))))


# -- pruning ---------------------------------------------------------------------------------------
def test_pruning_removes_dangling_nodes(space):
    # node 1 is fed by the input but feeds nothing; node 3 feeds the output but has no input
    arch = cell(["01101", "00000", "00001", "00001", "00000"], [C3, C1, MP])
    assert prune(arch.genotype) == (((0, 1, 1), (0, 0, 1), (0, 0, 0)), ("input", C1, "output"))
    assert space.canonical(arch) == cell(["011", "001", "000"], [C1])
    assert space.canonical_key(arch) == space.canonical_key(cell(["011", "001", "000"], [C1]))


def test_edge_limit_applies_after_pruning(space):
    # 10 edges in the matrix, but the three edges into dead-end node 5 vanish with it: 7 remain
    rows = ["0111010", "0011010", "0001010", "0000001", "0000000", "0000000", "0000000"]
    arch = cell(rows, [C3] * 5)
    assert sum(map(sum, arch.genotype[0])) == 10
    space.validate(arch)
    assert sum(map(sum, space.canonical(arch).genotype[0])) == 7
    rows[5] = "0000001"  # now node 5 feeds the output and stays: 11 edges remain
    with pytest.raises(ValueError, match="11 edges after pruning"):
        space.validate(cell(rows, [C3] * 5))


# -- canonical form and hash ---------------------------------------------------------------------
def test_canonical_invariant_under_relabelling(space, samples):
    rng = np.random.default_rng(1)
    changed = 0
    for arch in samples:
        base = space.canonical(arch)
        for _ in range(3):
            other = relabel(base, rng)
            changed += other != base
            space.validate(other)
            assert space.canonical(other) == base
            assert space.canonical_key(other) == space.canonical_key(arch)
            assert np.array_equal(space.encode_onehot(other), space.encode_onehot(arch))
    assert changed > 50  # the relabellings really moved nodes around


def test_canonical_is_an_idempotent_valid_pruned_cell(space, samples):
    for arch in samples:
        canon = space.canonical(arch)
        space.validate(canon)
        assert prune(canon.genotype) == canon.genotype
        assert space.canonical(canon) == canon
        assert space.canonical_key(canon) == space.canonical_key(arch)


# Non-isomorphic pairs from NAS-Bench-101's own hash tests (labels 0, 1 -> conv3x3, conv1x1).
_DISTINCT_PAIRS = [
    (cell(["01000", "00100", "00010", "00001", "00000"], [C1, C3, C3]),   # needs the node's own hash
     cell(["01000", "00100", "00010", "00001", "00000"], [C3, C3, C1])),
    (cell(["0101", "0010", "0001", "0000"], [C1, C3]),                     # needs edge directions
     cell(["0101", "0010", "0001", "0000"], [C3, C1])),
    (cell(["0111100", "0010000", "0000001", "0000010", "0000010", "0000001", "0000000"], [C1, C3, C3, C3, C3]),
     cell(["0111100", "0010000", "0000001", "0000010", "0000010", "0000001", "0000000"], [C3, C3, C3, C1, C3])),
    (cell(["011", "001", "000"], [C3]), cell(["011", "001", "000"], [MP])),
    (cell(["011", "001", "000"], [C3]), cell(["010", "001", "000"], [C3])),
    (cell(["01", "00"], []), cell(["011", "001", "000"], [C3])),
]


@pytest.mark.parametrize("a, b", _DISTINCT_PAIRS)
def test_distinct_cells_get_distinct_keys(space, a, b):
    space.validate(a)
    space.validate(b)
    assert space.canonical_key(a) != space.canonical_key(b)
    assert space.canonical(a) != space.canonical(b)


def test_isomorphic_hand_made_cells_share_key(space):
    # NAS-Bench-101's "simple graph with edge permutation" example: three numberings of one cell
    a = cell(["01100", "00001", "00010", "00001", "00000"], [C1, MP, C3])
    b = cell(["01010", "00100", "00001", "00001", "00000"], [MP, C3, C1])
    c = cell(["01100", "00010", "00001", "00001", "00000"], [MP, C1, C3])
    assert space.canonical_key(a) == space.canonical_key(b) == space.canonical_key(c)
    assert space.canonical(a) == space.canonical(b) == space.canonical(c)
    assert space.canonical_key(a) == module_hash(prune(a.genotype))


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_hash_and_canonical_form_agree_with_exact_count(space, n):
    cells = list(full_cells(n))
    keys = {space.canonical_key(a) for a in cells}
    forms = {space.canonical(a) for a in cells}
    pairs = {(space.canonical_key(a), space.canonical(a)) for a in cells}
    exact = count_unique_cells(n) - count_unique_cells(n - 1) if n > 2 else count_unique_cells(2)
    assert len(keys) == len(forms) == len(pairs) == exact


def test_count_unique_cells_reproduces_nas_bench_101(space):
    assert count_unique_cells() == space.size == 423_624
    assert [count_unique_cells(v) for v in range(2, 6)] == [1, 7, 91, 2532]
    # unlabelled, by hand: 1 cell on 2 nodes, 2 on 3 (chain, +skip), 10 on 4 (2 with parallel interior
    # nodes: +-skip; 8 with a chain a->b: each of 0->b, a->out, 0->out optional)
    assert count_unique_cells(4, num_ops=1) == 1 + 2 + 10


def test_space_is_not_enumerable(space):
    assert not space.is_enumerable
    with pytest.raises(TypeError, match="cannot be enumerated: its 423,624 distinct cells are written by far more "
                                        "genotypes"):  # not "too large": 4.2e5 is below other spaces' limit
        next(iter(space.enumerate()))


# -- sampling, mutation, neighbourhoods ---------------------------------------------------------
def test_samples_are_valid_seven_node_cells_and_deterministic(space, samples):
    for arch in samples:
        space.validate(arch)
        assert len(arch.genotype[1]) == 7
    rng = np.random.default_rng(0)
    assert [space.sample(rng) for _ in range(200)] == samples
    assert len({space.canonical_key(a) for a in samples}) > 50


def test_mutate_returns_a_different_valid_cell(space, samples):
    rng = np.random.default_rng(2)
    mutants = [space.mutate(a, rng) for a in samples]
    for arch, child in zip(samples, mutants):
        space.validate(child)
        assert space.canonical_key(child) != space.canonical_key(arch)
        diff = sum(x != y for x, y in zip(sum(arch.genotype[0], ()), sum(child.genotype[0], ())))
        diff += sum(x != y for x, y in zip(arch.genotype[1], child.genotype[1]))
        assert diff == 1  # one edge flip or one op change
    rng = np.random.default_rng(2)
    assert [space.mutate(a, rng) for a in samples] == mutants


def test_mutate_cell_without_one_edit_neighbour_resamples(space):
    bare = cell(["01", "00"], [])
    assert space.neighbors(bare) == []
    child = space.mutate(bare, np.random.default_rng(0))
    space.validate(child)
    assert space.canonical_key(child) != space.canonical_key(bare)


def test_neighbors_of_hand_made_chain(space):
    chain = cell(["010", "001", "000"], [C3])
    got = {space.format(a) for a in space.neighbors(chain)}
    assert got == {
        "ops=input,conv3x3-bn-relu,output;matrix=011/001/000",
        "ops=input,conv1x1-bn-relu,output;matrix=010/001/000",
        "ops=input,maxpool3x3,output;matrix=010/001/000",
    }


def test_neighbors_deduplicate_isomorphic_edits(space):
    diamond = cell(["0110", "0001", "0001", "0000"], [C3, C3])
    # changing either branch to conv1x1 (or to maxpool) gives the same cell: 2 op neighbours, not 4
    ops_changed = [a for a in space.neighbors(diamond) if a.genotype[0] == diamond.genotype[0]]
    assert len(ops_changed) == 2


def test_neighbors_are_valid_distinct_and_complete(space, samples):
    for arch in samples[:60]:
        neighbours = space.neighbors(arch)
        keys = [space.canonical_key(a) for a in neighbours]
        assert len(set(keys)) == len(keys)
        assert space.canonical_key(arch) not in keys
        for other in neighbours:
            space.validate(other)
        # brute force: every valid single edit lands on the arch itself or on one listed neighbour
        matrix, ops = arch.genotype
        edits = []
        for i, j in itertools.combinations(range(7), 2):
            rows = [list(r) for r in matrix]
            rows[i][j] ^= 1
            edits.append(Architecture("nb101", (tuple(map(tuple, rows)), ops)))
        for node, op in itertools.product(range(1, 6), NB101_OPS):
            edits.append(Architecture("nb101", (matrix, ops[:node] + (op,) + ops[node + 1:])))
        reachable = set()
        for edit in edits:
            try:
                space.validate(edit)
            except ValueError:
                continue
            reachable.add(space.canonical_key(edit))
        assert reachable - {space.canonical_key(arch)} == set(keys)


# -- encodings and categorical view ---------------------------------------------------------------
def test_onehot_encoding_of_hand_made_cell(space):
    arch = cell(["0110", "0001", "0001", "0000"], [MP, C1])  # canonical order: conv1x1 first
    vec = space.encode([arch])[0]
    assert vec.shape == (36,)
    edges = {(0, 1), (0, 2), (1, 6), (2, 6)}
    assert list(vec[:21]) == [float(s in edges) for s in itertools.combinations(range(7), 2)]
    assert list(vec[21:]) == [0, 1, 0, 0, 0, 1] + [0] * 9


def test_path_encoding_of_hand_made_cell(space):
    arch = cell(["0101", "0010", "0001", "0000"], [C1, MP])
    vec = space.encode([arch], kind="path")[0]
    assert vec.shape == (364,)
    # paths: input->output (index 0) and input->conv1x1->maxpool->output (1 + 3 + 1*3 + 2 = 9)
    assert np.flatnonzero(vec).tolist() == [0, 9]


def test_encode_batch_and_unknown_kind(space, samples):
    assert space.encode(samples[:5]).shape == (5, 36)
    assert space.encode(samples[:5], kind="path").shape == (5, 364)
    with pytest.raises(ValueError, match="unknown encoding 'adjacency'"):
        space.encode(samples[:1], kind="adjacency")


def test_params_round_trip(space, samples):
    params = space.categorical_params()
    assert len(params) == 21 + 5
    for arch in samples:
        assert space.from_params(space.to_params(arch)) == arch
    small = cell(["011", "001", "000"], [MP])
    padded = space.from_params(space.to_params(small))
    assert len(padded.genotype[1]) == 7
    assert space.canonical(padded) == small


def test_from_params_rejects_bad_assignments(space):
    base = space.to_params(cell(["011", "001", "000"], [MP]))
    with pytest.raises(ValueError, match="not connected"):
        space.from_params({**base, "edge_0_1": "0", "edge_0_6": "0"})
    full = {k: ("1" if k.startswith("edge") else C3) for k in base}
    with pytest.raises(ValueError, match="21 edges after pruning"):
        space.from_params(full)
    with pytest.raises(ValueError, match="'op_2' must be one of"):
        space.from_params({**base, "op_2": "conv5x5"})
    with pytest.raises(ValueError, match="'edge_0_1' must be one of"):
        space.from_params({**base, "edge_0_1": "2"})
    with pytest.raises(ValueError, match="missing parameter 'op_5'"):
        space.from_params({k: v for k, v in base.items() if k != "op_5"})
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['edge_6_7'\]"):
        space.from_params({**base, "edge_6_7": "1"})


def test_canonical_key_and_encode_refuse_invalid_genotypes(space):
    arch = Architecture("nb101", (((0, 0), (0, 0)), ("input", "output")))  # disconnected
    for call in (space.canonical, space.canonical_key, lambda a: space.encode([a]), lambda a: space.encode([a], "path"),
                 space.to_params):
        with pytest.raises(UsageError):
            call(arch)


def test_count_unique_is_the_number_of_cells(space):
    assert space.count_unique() == space.size == 423_624
