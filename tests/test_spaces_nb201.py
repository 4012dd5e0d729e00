import itertools
import json

import numpy as np
import pytest

from nasforge.exceptions import UsageError
from nasforge.spaces import Architecture, NASBench201Space, get_space
from nasforge.spaces.nb201 import NB201_OPS

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"


@pytest.fixture
def space():
    return NASBench201Space()


def test_size_and_enumeration(space):
    archs = list(space.enumerate())
    assert space.size == len(archs) == 15_625
    assert len(set(archs)) == 15_625


def test_parse_format_round_trip_every_cell(space):
    for arch in space.enumerate():
        text = space.format(arch)
        assert space.parse(text) == arch
    assert space.format(space.parse(BEST)) == BEST


def test_neighbors_are_24_distinct_one_edit_cells(space):
    arch = space.parse(BEST)
    neighbors = space.neighbors(arch)
    assert len(neighbors) == len(set(neighbors)) == 24
    for n in neighbors:
        assert sum(a != b for a, b in zip(n.genotype, arch.genotype)) == 1


def test_mutation_is_valid_and_different(space):
    rng = np.random.default_rng(0)
    arch = space.sample(rng)
    for _ in range(500):
        child = space.mutate(arch, rng)
        space.check(child)
        assert child != arch
        assert child in space.neighbors(arch)
        arch = child


@pytest.mark.parametrize("text, fragment", [
    ("nor_conv_3x3~0|+|", "start and end"),
    ("|nor_conv_3x3~0|+|none~0|none~1|", "3 nodes"),
    ("|conv_7x7~0|+|none~0|none~1|+|none~0|none~1|none~2|", "conv_7x7"),
    ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "input 0"),
    ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2"),
    ("|none0|+|none~0|none~1|+|none~0|none~1|none~2|", "none0"),
])
def test_bad_strings_name_the_bad_part(space, text, fragment):
    with pytest.raises(ValueError, match=fragment):
        space.parse(text)


def test_unique_counts_under_every_rule():
    assert NASBench201Space().count_unique() == 5_260
    assert NASBench201Space("functional").count_unique() == 4_930
    assert NASBench201Space("nb201").count_unique() == 6_466  # the benchmark paper's figure
    with pytest.raises(ValueError, match="canonical_rule"):
        NASBench201Space("graph")


def test_canonical_is_idempotent_and_shared_by_class(space):
    classes: dict = {}
    for arch in space.enumerate():
        canon = space.canonical(arch)
        assert space.canonical(canon) == canon
        assert space.canonical_key(canon) == space.canonical_key(arch)
        classes.setdefault(canon, []).append(arch)
    assert len(classes) == 5_260
    assert sum(len(v) for v in classes.values()) == 15_625


def test_canonical_merges_isomorphic_and_dead_edges(space):
    p = space.parse
    # nodes 1 and 2 swapped (no edge between them)
    a = p("|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|none~0|nor_conv_1x1~1|skip_connect~2|")
    b = p("|avg_pool_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|skip_connect~1|nor_conv_1x1~2|")
    assert space.canonical(a) == space.canonical(b)
    # edge into a node that never reaches the output is irrelevant
    c = p("|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_1x1~0|none~1|none~2|")
    d = p("|avg_pool_3x3~0|+|none~0|none~1|+|nor_conv_1x1~0|none~1|none~2|")
    assert space.canonical(c) == space.canonical(d)
    # output cut off from the input: all such cells compute zeros
    e = p("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|none~2|")
    assert space.canonical(e) == Architecture("nb201", ("none",) * 6)
    # different functions stay different
    f = p("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|nor_conv_1x1~1|none~2|")
    g = p("|nor_conv_1x1~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|")
    assert space.canonical_key(f) != space.canonical_key(g)


def test_network_rule_keeps_each_convolution_its_own_weights(space):
    """Two convolutions of the input on two edges are not one convolution reached twice: the
    ``functional`` rule merges them (with different parameter counts), the default rule does not."""
    p, functional = space.parse, NASBench201Space("functional")
    # x + conv3(A(x)) + conv1(B(x)), A and B two 3x3 convolutions, vs x + conv1(A(x)) + conv3(A(x))
    separate = p("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")
    shared = p("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|")
    assert functional.canonical_key(separate) == functional.canonical_key(shared)
    assert space.canonical_key(separate) != space.canonical_key(shared)
    # 2 * A(x) (one convolution over two skip paths) vs A(x) + B(x)
    twice = p("|nor_conv_1x1~0|+|none~0|skip_connect~1|+|none~0|skip_connect~1|skip_connect~2|")
    two = p("|nor_conv_1x1~0|+|nor_conv_1x1~0|none~1|+|none~0|skip_connect~1|skip_connect~2|")
    assert functional.canonical_key(twice) == functional.canonical_key(two)
    assert space.canonical_key(twice) != space.canonical_key(two)
    # the same network with its two 3x3 convolutions on the other node is still the same class
    swapped = p("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|")
    assert space.canonical(swapped) == space.canonical(separate)


def test_network_classes_refine_functional_ones_and_their_representative_is_cheapest(space):
    """Every class of the default rule lies inside one ``functional`` class, and its representative
    has the fewest convolutions of its class (only dead ones differ); not so under ``functional``."""
    from nasforge.spaces.nb201 import conv_proxy

    functional = NASBench201Space("functional")
    inside, cheapest = {}, {}
    for arch in space.enumerate():
        key = space.canonical_key(arch)
        inside.setdefault(key, set()).add(functional.canonical_key(arch))
        cheapest[key] = min(cheapest.get(key, 99), conv_proxy(arch))
    assert all(len(v) == 1 for v in inside.values())
    assert all(conv_proxy(space.canonical(a)) == cheapest[space.canonical_key(a)] for a in space.enumerate())
    dearer = [a for a in functional.enumerate()
              if conv_proxy(functional.canonical(a)) > conv_proxy(space.canonical(a))]
    assert dearer  # the functional rule's representative can carry convolutions the cell does not have


def test_onehot_encoding(space):
    archs = list(itertools.islice(space.enumerate(), 0, 15_625, 997))
    enc = space.encode(archs)
    assert enc.shape == (len(archs), 30)
    assert np.all(enc.sum(axis=1) == 6)
    assert len({row.tobytes() for row in enc}) == len(archs)
    with pytest.raises(ValueError, match="unknown encoding"):
        space.encode(archs, kind="graph-of-doom")


def test_categorical_view_round_trip(space):
    rng = np.random.default_rng(1)
    params = space.categorical_params()
    assert len(params) == 6 and all(v == list(NB201_OPS) for v in params.values())
    for _ in range(50):
        arch = space.sample(rng)
        assert space.from_params(space.to_params(arch)) == arch
    with pytest.raises(ValueError, match="missing parameter"):
        space.from_params({})


def test_architecture_is_json_able_and_checked(space):
    arch = space.parse(BEST)
    assert Architecture.from_json(json.dumps(arch.to_json())) == arch
    assert hash(Architecture.from_json(arch.to_json())) == hash(arch)
    with pytest.raises(ValueError, match="space 'darts'"):
        space.check(Architecture("darts", arch.genotype))
    with pytest.raises(ValueError, match="unknown NAS-Bench-201 operation"):
        space.check(Architecture("nb201", ("conv",) * 6))
    with pytest.raises(ValueError, match="not an architecture record"):
        Architecture.from_json({"genotype": []})


def test_sampling_is_seeded_and_uniform_enough(space):
    a = [space.sample(np.random.default_rng(7)) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    rng = np.random.default_rng(0)
    counts = np.zeros(len(NB201_OPS))
    for _ in range(5000):
        for op in space.sample(rng).genotype:
            counts[NB201_OPS.index(op)] += 1
    assert counts.min() / counts.max() > 0.9


def test_registry():
    assert isinstance(get_space("nb201"), NASBench201Space)
    with pytest.raises(ValueError, match="unknown search space"):
        get_space("nb999")


@pytest.mark.parametrize("edge", ["none~01", "nor_conv_1x1~\u0662", "none~ 0"])
def test_parse_takes_one_ascii_digit_per_input(space, edge):
    text = f"|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_3x3~1|{edge}|"
    with pytest.raises(UsageError, match="bad edge"):
        space.parse(text)
