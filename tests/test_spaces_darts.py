import collections
import json
import math

import numpy as np
import pytest

from nasforge.spaces import Architecture, DartsSpace, get_space
from nasforge.spaces.darts import DARTS_OPS

# DARTS_V2 exactly as it appears in the DARTS repository's genotypes.py.
DARTS_V2 = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
            "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
            "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
            "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
            "('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")
# The same namedtuple as DARTS defines it, to compare against its own repr.
Genotype = collections.namedtuple("Genotype", "normal normal_concat reduce reduce_concat")


@pytest.fixture
def space():
    return DartsSpace()


def samples(space, n, seed=0):
    rng = np.random.default_rng(seed)
    return [space.sample(rng) for _ in range(n)]


def test_registered_and_not_enumerable(space):
    assert isinstance(get_space("darts"), DartsSpace)
    assert not space.is_enumerable
    with pytest.raises(TypeError, match="too large"):
        next(space.enumerate())


def test_size_counts_ordered_pairs_and_count_unique_unordered(space):
    per_cell = math.prod(i * (i - 1) * 7**2 for i in (2, 3, 4, 5))
    assert space.size == per_cell**2 == 275_647_219_316_498_534_400
    assert space.count_unique() * 2**8 == space.size
    assert 1e18 < space.count_unique() < 1.1e18  # NAS-Bench-301 quotes ~10^18 cells


def test_format_matches_darts_repr_and_round_trips(space):
    for arch in samples(space, 200):
        space.check(arch)
        text = space.format(arch)
        normal, reduce = arch.genotype
        assert text == repr(Genotype(list(normal), [2, 3, 4, 5], list(reduce), [2, 3, 4, 5]))
        assert space.parse(text) == arch
        assert Architecture.from_json(json.dumps(arch.to_json())) == arch


def test_parse_darts_v2(space):
    arch = space.parse(DARTS_V2)
    assert arch.genotype[0][:2] == (("sep_conv_3x3", 0), ("sep_conv_3x3", 1))
    assert arch.genotype[1][7] == ("max_pool_3x3", 1)
    assert space.format(arch) == DARTS_V2


def test_parse_accepts_range_whitespace_and_double_quotes(space):
    arch = space.parse(DARTS_V2)
    variant = ("\n  Genotype(\n normal = [ (\"sep_conv_3x3\",0),('sep_conv_3x3',1) , ('sep_conv_3x3', 0), "
               "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
               "('dil_conv_3x3', 2)],\n normal_concat=range(2, 6),\n reduce=[('max_pool_3x3', 0), "
               "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
               "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)],\n reduce_concat=range(2,6)\n)  ")
    assert space.parse(variant) == arch


def _with(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize("text, fragment", [
    (_with(DARTS_V2, "'dil_conv_3x3'", "'conv_7x7'"), "unknown operation 'conv_7x7'"),
    (_with(DARTS_V2, "('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"),
     "input 5 of normal pair 7 .node 5. is out of range"),
    (_with(DARTS_V2, "('max_pool_3x3', 1), ('skip_connect', 2)", "('max_pool_3x3', 0), ('skip_connect', 2)"),
     "reduce node 2 reads input 0 twice"),
    (_with(DARTS_V2, ", ('dil_conv_3x3', 2)]", "]"), "normal needs 8 .op, input. pairs.*found 7"),
    (_with(DARTS_V2, "normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 3, 4]"), "normal_concat must be"),
    (_with(DARTS_V2, "reduce_concat=[2, 3, 4, 5]", "reduce_concat=range(2, 5)"), "reduce_concat must be"),
    (_with(DARTS_V2, "reduce_concat=[2, 3, 4, 5]", "reduce_concat=range(2, 10**18)"), "reduce_concat must be"),
    (_with(DARTS_V2, ", reduce_concat=[2, 3, 4, 5]", ""), r"missing field\(s\) \['reduce_concat'\]"),
    (_with(DARTS_V2, "normal_concat", "norm_concat"), "unknown Genotype field 'norm_concat'"),
    (_with(DARTS_V2, "('sep_conv_3x3', 0)", "('sep_conv_3x3', 0, 1)"), "normal pair 0 .node 2. must be"),
    (_with(DARTS_V2, "('sep_conv_3x3', 0)", "('sep_conv_3x3', True)"), "normal pair 0 .node 2. must be"),
    (_with(DARTS_V2, "Genotype(", "Gen("), "must read 'Genotype"),
    (DARTS_V2[:-1], "not a DARTS genotype"),
    (DARTS_V2 + DARTS_V2, "not a DARTS genotype"),
    (_with(DARTS_V2, "reduce=", "normal="), "given twice"),
    (_with(DARTS_V2, "normal=[", "normal=__import__('os') or ["), "normal must be a list"),
])
def test_bad_strings_name_the_bad_part(space, text, fragment):
    with pytest.raises(ValueError, match=fragment):
        space.parse(text)


def test_validate_rejects_bad_genotypes(space):
    good = space.parse(DARTS_V2)
    normal, reduce = good.genotype
    with pytest.raises(ValueError, match="reads input 1 twice"):
        space.check(Architecture("darts", ((("skip_connect", 1), ("skip_connect", 1)) + normal[2:], reduce)))
    listed = Architecture("darts", [[list(p) for p in normal], reduce])  # lists, as JSON gives: made tuples
    assert space.check(listed) == good and hash(listed) == hash(good)
    with pytest.raises(ValueError, match="normal, reduce"):
        space.check(Architecture("darts", (normal,)))


def test_canonical_ignores_pair_order_and_is_idempotent(space):
    rng = np.random.default_rng(3)
    for arch in samples(space, 100, seed=3):
        canon = space.canonical(arch)
        assert space.canonical(canon) == canon
        cells = []
        for cell in arch.genotype:  # swap the pairs of random nodes
            pairs = list(cell)
            for k in range(0, 8, 2):
                if rng.random() < 0.5:
                    pairs[k], pairs[k + 1] = pairs[k + 1], pairs[k]
            cells.append(tuple(pairs))
        shuffled = Architecture("darts", tuple(cells))
        assert space.canonical(shuffled) == canon
        assert space.canonical_key(shuffled) == space.canonical_key(arch)
        np.testing.assert_array_equal(space.encode_onehot(shuffled), space.encode_onehot(arch))
        np.testing.assert_array_equal(space.encode_adjacency(shuffled), space.encode_adjacency(arch))
        for cell in canon.genotype:
            assert all(cell[k][1] < cell[k + 1][1] for k in range(0, 8, 2))


def test_canonical_keeps_different_cells_apart(space):
    a = space.parse(DARTS_V2)
    normal, reduce = a.genotype
    assert reduce[2:4] == (("skip_connect", 2), ("max_pool_3x3", 1))
    ops_swapped = reduce[:2] + (("max_pool_3x3", 2), ("skip_connect", 1)) + reduce[4:]  # another function
    pairs_swapped = reduce[:2] + (reduce[3], reduce[2]) + reduce[4:]  # the same function
    assert space.canonical_key(Architecture("darts", (normal, ops_swapped))) != space.canonical_key(a)
    assert space.canonical_key(Architecture("darts", (normal, pairs_swapped))) == space.canonical_key(a)
    assert space.canonical_key(Architecture("darts", (reduce, normal))) != space.canonical_key(a)


def test_neighbors_are_120_valid_distinct_one_edit_genotypes(space):
    for arch in samples(space, 20):
        neighbors = space.neighbors(arch)
        assert len(neighbors) == 96 + 24  # 2 cells x 8 pairs x 6 other ops + input edits (0+2+4+6 per cell)
        assert len({space.canonical_key(n) for n in neighbors}) == 120
        assert space.canonical_key(arch) not in {space.canonical_key(n) for n in neighbors}
        for n in neighbors:
            space.check(n)
            diffs = [(c, k) for c in range(2) for k in range(8) if n.genotype[c][k] != arch.genotype[c][k]]
            assert len(diffs) == 1


def test_mutation_is_valid_different_and_reaches_both_cells_ops_and_inputs(space):
    rng = np.random.default_rng(1)
    arch = space.sample(rng)
    kinds = set()
    for _ in range(300):
        child = space.mutate(arch, rng)
        space.check(child)
        assert space.canonical_key(child) != space.canonical_key(arch)
        (c, k), = [(c, k) for c in range(2) for k in range(8) if child.genotype[c][k] != arch.genotype[c][k]]
        kinds.add((c, "op" if child.genotype[c][k][0] != arch.genotype[c][k][0] else "input"))
        arch = child
    assert kinds == {(0, "op"), (0, "input"), (1, "op"), (1, "input")}


def test_mutation_draws_every_neighbour(space):
    rng = np.random.default_rng(4)
    arch = space.parse(DARTS_V2)
    drawn = collections.Counter(space.mutate(arch, rng) for _ in range(3000))
    assert set(drawn) == set(space.neighbors(arch))
    assert min(drawn.values()) >= 8  # 25 expected for each of the 120


def test_sampling_is_seeded_and_covers_all_inputs_and_ops(space):
    assert samples(space, 50, seed=7) == samples(space, 50, seed=7)
    assert samples(space, 50, seed=7) != samples(space, 50, seed=8)
    archs = samples(space, 2000)
    node5_inputs = collections.Counter((cell[6][1], cell[7][1]) for a in archs for cell in a.genotype)
    assert set(node5_inputs) == {(i, j) for i in range(5) for j in range(5) if i != j}  # all 20 ordered pairs
    assert {op for a in archs for cell in a.genotype for op, _ in cell} == set(DARTS_OPS)


def test_encodings_have_fixed_length_and_one_hot_blocks(space):
    archs = samples(space, 30)
    onehot = space.encode(archs)
    assert onehot.shape == (30, 2 * (8 * 7 + 2 * (2 + 3 + 4 + 5)))
    assert (onehot.sum(axis=1) == 2 * 16).all()  # one op and one input per pair
    adjacency = space.encode(archs, kind="adjacency")
    assert adjacency.shape == (30, 2 * 14 * 7)
    assert (adjacency.sum(axis=1) == 16).all()  # 16 labelled edges
    assert len({row.tobytes() for row in onehot}) == 30
    with pytest.raises(ValueError, match="unknown encoding 'path'"):
        space.encode(archs, kind="path")


def test_categorical_params_round_trip_and_are_always_valid(space):
    params = space.categorical_params()
    assert len(params) == 2 * 4 * 3
    assert params["normal_node5_inputs"] == ["0,1", "0,2", "0,3", "0,4", "1,2", "1,3", "1,4", "2,3", "2,4", "3,4"]
    assert math.prod(len(v) for v in params.values()) == space.count_unique()
    rng = np.random.default_rng(0)
    for arch in samples(space, 50):
        assignment = space.to_params(arch)
        assert space.from_params(assignment) == space.canonical(arch)
        assert space.to_params(space.from_params(assignment)) == assignment
        random_assignment = {k: v[int(rng.integers(len(v)))] for k, v in params.items()}
        space.check(space.from_params(random_assignment))


def test_from_params_rejects_invalid_assignments(space):
    good = space.to_params(space.parse(DARTS_V2))
    for name, value in (("reduce_node3_inputs", "1,1"), ("reduce_node5_inputs", "1,7"), ("normal_node4_op_b", "conv"),
                        ("normal_node4_inputs", "0"), ("normal_node3_inputs", "1,0"), ("normal_node3_inputs", " 0,2")):
        with pytest.raises(ValueError, match=rf"parameter '{name}' must be one of \[.*\], got '{value}'"):
            space.from_params({**good, name: value})
    with pytest.raises(ValueError, match="missing parameter 'normal_node2_op_a'"):
        space.from_params({k: v for k, v in good.items() if k != "normal_node2_op_a"})


def test_optuna_sampler_gets_only_valid_genotypes(space):
    pytest.importorskip("optuna")
    from nasforge.strategies import get_strategy

    strategy = get_strategy("optuna_random", space, seed=0)
    for i in range(10):
        arch = strategy.ask()
        space.check(arch)
        assert space.canonical(arch) == arch  # from_params builds canonical genotypes
        strategy.tell(arch, float(i))
