"""Graph view and encodings of architectures for predictors."""

from __future__ import annotations

import numpy as np
import pytest

from nasforge.predictors import ENCODINGS, GraphView, encode, graph_tensors, graph_view, register_graph_view, to_graph
from nasforge.predictors.graphs import Graph
from nasforge.spaces import Architecture, NASBench201Space, SearchSpace, get_space

SPACE = NASBench201Space()
NB201_KINDS = [k for k in ENCODINGS if k != "cell_path"]  # cell_path is DARTS's only (tests/test_fix51_predictors.py)
ALL_CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
# Edge 0->1 is none, so edges 1->2 and 1->3 are dead: their operations cannot matter.
DEAD_A = "|none~0|+|nor_conv_3x3~0|skip_connect~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_3x3~2|"
DEAD_B = "|none~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_3x3~1|nor_conv_3x3~2|"
DISCONNECTED = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|none~2|"


def test_nb201_graph_puts_operations_on_nodes():
    graph = to_graph(SPACE, SPACE.parse(ALL_CONV))
    assert graph.ops[0] == "input" and graph.ops[-1] == "output" and len(graph.ops) == 8
    adj = graph.adjacency
    assert np.all(np.tril(adj) == 0)
    assert list(np.flatnonzero(adj[0])) == [1, 2, 4]  # the three edges leaving the input node
    assert list(np.flatnonzero(adj[:, 7])) == [4, 5, 6]  # the three edges entering node 3
    assert list(np.flatnonzero(adj[1])) == [3, 5]  # edge 0->1 feeds edges 1->2 and 1->3


def test_live_mask_drops_zero_and_dead_nodes():
    view = graph_view(SPACE)
    live = to_graph(SPACE, SPACE.parse(DEAD_A)).live(view.zero_ops)
    assert list(live.astype(int)) == [1, 0, 1, 0, 1, 0, 1, 1]
    assert not to_graph(SPACE, SPACE.parse(DISCONNECTED)).live(view.zero_ops).any()


def test_path_encoding_counts_live_paths():
    path = encode(SPACE, [SPACE.parse(ALL_CONV)], "path")[0]
    assert path.sum() == 4  # routes 0-3, 0-1-3, 0-2-3, 0-1-2-3
    assert encode(SPACE, [SPACE.parse(DISCONNECTED)], "path")[0].sum() == 0


def test_features_ignore_dead_operations_but_not_live_ones():
    a, b = SPACE.parse(DEAD_A), SPACE.parse(DEAD_B)
    features = encode(SPACE, [a, b, SPACE.parse(ALL_CONV)], "features")
    assert np.array_equal(features[0], features[1])
    assert not np.array_equal(features[0], features[2])
    assert not np.array_equal(*encode(SPACE, [a, b], "onehot"))


def test_functional_encoding_sees_through_skip_connections():
    """A 3x3 convolution then a skip computes what a skip then the convolution does: the ``functional``
    tail (paths with identity operations dropped) is equal, although ``features`` tell them apart."""
    conv_skip = SPACE.parse("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|")
    skip_conv = SPACE.parse("|skip_connect~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|")
    conv_conv = SPACE.parse("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|")
    features = encode(SPACE, [conv_skip, skip_conv, conv_conv], "features")
    functional = encode(SPACE, [conv_skip, skip_conv, conv_conv], "functional")
    assert np.array_equal(functional[:, : features.shape[1]], features)
    tail = functional[:, features.shape[1]:]
    assert not np.array_equal(features[0], features[1]) and np.array_equal(tail[0], tail[1])
    assert not np.array_equal(tail[0], tail[2])
    assert tail.sum(1).tolist() == [1, 1, 1]  # one live path each


def test_computed_encoding_has_nothing_positional():
    """``computed`` is ``functional`` without the node one-hots, the adjacency and the raw path encoding:
    a convolution then a skip and a skip then the convolution (one path each) look the same."""
    conv_skip = SPACE.parse("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|")
    skip_conv = SPACE.parse("|skip_connect~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|")
    archs = [conv_skip, skip_conv, SPACE.parse(ALL_CONV), SPACE.parse(DISCONNECTED)]
    computed, functional = encode(SPACE, archs, "computed"), encode(SPACE, archs, "functional")
    np.testing.assert_array_equal(computed, functional[:, np.r_[24:28, 141:195]])  # counts, path stats, tail
    assert np.array_equal(computed[0], computed[1]) and not np.array_equal(functional[0], functional[1])
    assert computed[3, 4] == 0 and np.all(computed[3, 5:18] == -1)  # no live path: no statistics


@pytest.mark.parametrize("kind", NB201_KINDS)
def test_every_encoding_has_a_fixed_width(kind):
    archs = [SPACE.sample(np.random.default_rng(i)) for i in range(20)]
    matrix = encode(SPACE, archs, kind)
    assert matrix.shape[0] == 20 and matrix.dtype == np.float32 and np.all(np.isfinite(matrix))
    assert np.array_equal(matrix[3], encode(SPACE, [archs[3]], kind)[0])


def test_unknown_encoding_is_rejected():
    with pytest.raises(ValueError, match="unknown encoding 'bogus'"):
        encode(SPACE, [SPACE.parse(ALL_CONV)], "bogus")


@pytest.mark.parametrize("kind", NB201_KINDS)
def test_a_single_architecture_is_refused_like_space_encode(kind):
    from nasforge.exceptions import UsageError

    arch = SPACE.parse(ALL_CONV)
    with pytest.raises(UsageError, match=r"encode takes a list of architectures, got one Architecture; pass \[arch\]"):
        encode(SPACE, arch, kind)
    with pytest.raises(UsageError, match="encode takes a list of architectures, got one str"):
        encode(SPACE, ALL_CONV, kind)
    with pytest.raises(UsageError, match=r"graph_tensors takes a list of architectures, got one Architecture"):
        graph_tensors(SPACE, arch)
    assert encode(SPACE, (a for a in [arch]), kind).shape[0] == 1  # any iterable of architectures


def test_graph_tensors_are_padded_batches():
    batch = graph_tensors(SPACE, [SPACE.parse(ALL_CONV), SPACE.parse(DISCONNECTED)])
    assert batch.features.shape == (2, 8, 7) and batch.adjacency.shape == (2, 8, 8)
    assert np.all(batch.features.sum(-1) == 1) and np.all(batch.mask == 1)
    assert batch.adjacency[0].sum() == 10 and batch.adjacency[1].sum() == 0  # dead graph: no messages


class _ChainOfTwo(SearchSpace):
    """A minimal space to show how other spaces plug in their graph view."""

    name = "two"

    def sample(self, rng):
        return Architecture("two", (("a", "b")[int(rng.integers(2))],))

    def neighbors(self, arch):
        return [Architecture("two", ("b" if arch.genotype[0] == "a" else "a",))]

    def parse(self, text):
        return Architecture("two", (text,))

    def format(self, arch):
        return arch.genotype[0]

    def canonical(self, arch):
        return arch

    def encode_onehot(self, arch):
        return np.array([arch.genotype[0] == "a", arch.genotype[0] == "b"], dtype=np.float32)

    def categorical_params(self):
        return {"op": ["a", "b"]}

    def from_params(self, params):
        return Architecture("two", (params["op"],))

    def to_params(self, arch):
        return {"op": arch.genotype[0]}

    def validate(self, arch):
        if arch.genotype[0] not in ("a", "b"):
            raise ValueError("bad op")

    @property
    def size(self):
        return 2


def test_spaces_without_a_view_get_a_clear_error_and_can_register_one():
    space = _ChainOfTwo()
    with pytest.raises(ValueError, match="has no graph view"):
        encode(space, [space.parse("a")], "path")
    adjacency = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]], dtype=np.uint8)
    register_graph_view(_ChainOfTwo, lambda s: GraphView(
        lambda arch: Graph(("input", arch.genotype[0], "output"), adjacency), ("a", "b"), 3, 1))
    paths = encode(space, [space.parse("a"), space.parse("b")], "path")
    assert paths.tolist() == [[0, 1, 0], [0, 0, 1]]


@pytest.mark.parametrize("name", ["nb101", "darts", "proxylessnas"])
def test_other_spaces_have_graph_views_and_their_encodings(name):
    space = get_space(name)
    archs = [space.sample(np.random.default_rng(i)) for i in range(12)]
    kinds = [k for k in ENCODINGS if not (name == "proxylessnas" and k == "path")  # a chain: one path, refused
             and not (name != "darts" and k == "cell_path")]  # no cells with inputs of their own, refused
    widths = {kind: encode(space, archs, kind).shape for kind in kinds}
    assert all(shape[0] == 12 for shape in widths.values())
    batch = graph_tensors(space, archs)
    assert batch.features.shape[1] == graph_view(space).max_nodes
    for arch in archs:
        graph = to_graph(space, arch)
        assert np.all(np.tril(graph.adjacency) == 0) and graph.ops[0] == "input" and graph.ops[-1] == "output"
        assert graph.live(graph_view(space).zero_ops)[[0, -1]].all()  # valid archs connect input to output


def test_darts_pairs_follow_the_pairs_feeding_their_input():
    space = get_space("darts")
    arch = space.sample(np.random.default_rng(0))
    graph = to_graph(space, arch)
    normal = space.canonical(arch).genotype[0]  # the graph is the canonical form's
    for k, (op, src) in enumerate(normal):
        node = 3 + k  # after the input node and the normal cell's two input nodes
        assert graph.ops[node] == op and graph.adjacency[node, -1] == 1
        expected = [1 + src] if src < 2 else [3 + 2 * (src - 2), 4 + 2 * (src - 2)]
        assert list(np.flatnonzero(graph.adjacency[:, node])) == expected


def test_nb101_graph_is_the_canonical_genotype():
    space = get_space("nb101")
    arch = space.canonical(space.sample(np.random.default_rng(1)))
    graph = to_graph(space, arch)
    assert graph.ops == arch.genotype[1] and graph.adjacency.tolist() == [list(r) for r in arch.genotype[0]]


def test_chain_graph_is_a_path_and_equal_spaces_share_a_view():
    layers = [["conv3", "conv5"], ["conv3", "skip"]]
    space = get_space("chain", layers=layers)
    graph = to_graph(space, space.parse("conv5|skip"))
    assert graph.ops == ("input", "conv5", "skip", "output") and graph.adjacency.sum() == 3
    assert graph_view(space) == graph_view(get_space("chain", layers=layers))
    assert graph_view(space).param_ops == frozenset({"conv3", "conv5"})


def test_functional_paths_of_the_documented_cells_differ_in_the_conv_path_count():
    """docs/predictors.md: ``skip,skip,skip,none,skip,conv3x3`` vs ``none,skip,none,skip,none,conv3x3``."""
    space = NASBench201Space()
    cells = [space.parse("|skip_connect~0|+|skip_connect~0|skip_connect~1|+|none~0|skip_connect~1|nor_conv_3x3~2|"),
             space.parse("|none~0|+|skip_connect~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|")]
    width = encode(space, cells[:1], "features").shape[1]
    paths = encode(space, cells, "functional")[:, width:]
    differ = np.flatnonzero(paths[0] != paths[1])
    assert len(differ) == 1 and paths[0, 0] == paths[1, 0] == 1  # one identity path each
    assert (paths[0, differ[0]], paths[1, differ[0]]) == (2, 1)
    assert np.count_nonzero(np.diff(encode(space, cells, "features"), axis=0)) == 20
