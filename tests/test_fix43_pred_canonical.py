"""Graph encodings and graph predictors are a function of the network: writings of one architecture with the
same ``canonical_key`` (NB101 dead nodes and node orders, DARTS pair orders, chain skips within a stage) encode
and predict identically; NB201 keeps each cell's own graph."""

from __future__ import annotations

import numpy as np
import pytest

from nasforge.predictors import encode, get_predictor, graph_tensors, graph_view, to_graph
from nasforge.predictors.encodings import ENCODINGS, encode_features
from nasforge.spaces import Architecture, SearchSpace, get_space

GRAPH_KINDS = [k for k in ENCODINGS if k != "onehot"]
# One NB101 cell written twice: nodes 1 and 2 swapped (the reviewer's pair), and with a dead node.
NB101_A = "ops=input,conv3x3-bn-relu,maxpool3x3,conv1x1-bn-relu,output;matrix=01100/00010/00010/00001/00000"
NB101_B = "ops=input,maxpool3x3,conv3x3-bn-relu,conv1x1-bn-relu,output;matrix=01100/00010/00010/00001/00000"
NB101_DEAD = ("ops=input,conv3x3-bn-relu,maxpool3x3,conv1x1-bn-relu,conv3x3-bn-relu,output;"
              "matrix=011000/000100/000100/000001/000000/000000")  # node 4 has no input: pruned away


def _spaces() -> list[SearchSpace]:
    return [get_space("nb101"), get_space("darts"),
            get_space("chain", layers=[["conv3", "conv5", "skip"]] * 4, stages=[1, 3])]


def _writings(space: SearchSpace, n: int) -> tuple[list[Architecture], list[Architecture]]:
    """Sampled architectures whose canonical form is another writing, and those canonical forms."""
    rng = np.random.default_rng(0)
    archs: list[Architecture] = []
    while len(archs) < n:
        arch = space.sample(rng)
        if space.canonical(arch) != arch:
            archs.append(arch)
    return archs, [space.canonical(a) for a in archs]


@pytest.mark.parametrize("space", _spaces(), ids=lambda s: s.name)
def test_graph_encodings_equal_for_writings_of_one_network(space):
    archs, canon = _writings(space, 30)
    assert all(space.canonical_key(a) == space.canonical_key(c) for a, c in zip(archs, canon))
    for kind in GRAPH_KINDS:
        if kind == "path" and space.name == "chain" or kind == "cell_path" and space.name != "darts":
            continue  # refused on chains; DARTS's only
        assert np.array_equal(encode(space, archs, kind), encode(space, canon, kind)), kind
    raw, canonical = graph_tensors(space, archs), graph_tensors(space, canon)
    for field in ("features", "adjacency", "mask"):
        assert np.array_equal(getattr(raw, field), getattr(canonical, field)), field


def test_nb101_documented_pair_and_dead_node_encode_alike():
    space = get_space("nb101")
    a, b = space.parse(NB101_A), space.parse(NB101_B)
    dead = space.parse(NB101_DEAD)
    assert space.canonical_key(a) == space.canonical_key(b) == space.canonical_key(dead)
    for kind in (k for k in GRAPH_KINDS if k != "cell_path"):  # DARTS's only
        rows = encode(space, [a, b, dead], kind)
        assert np.array_equal(rows[0], rows[1]) and np.array_equal(rows[0], rows[2]), kind
    tensors = graph_tensors(space, [dead])
    assert tensors.mask.sum() == 5  # the pruned cell's 5 nodes: GIN's mean readout skips the dead one
    assert len(to_graph(space, dead).ops) == 5


def test_nb101_adjacency_is_the_onehot_encoding():
    space = get_space("nb101")
    archs, _ = _writings(space, 40)
    assert np.array_equal(encode(space, archs, "adjacency"), encode(space, archs, "onehot"))


@pytest.mark.parametrize("name", ["lgb", "knn", "mlp", "gin"])
def test_predictions_equal_for_writings_of_one_network(name):
    space = get_space("nb101")
    archs, canon = _writings(space, 80)
    y = np.array([sum(op == "conv3x3-bn-relu" for op in c.genotype[1]) for c in canon], dtype=float)
    kwargs = {"epochs": 2} if name in ("mlp", "gin") else {}
    model = get_predictor(name, space, seed=0, **kwargs).fit(archs[:60], y[:60])
    assert np.array_equal(model.predict(archs[60:]), model.predict(canon[60:]))


def test_nb201_keeps_each_cells_own_graph():
    space = get_space("nb201")
    assert not graph_view(space).canonical
    rng = np.random.default_rng(1)
    archs = [a for a in (space.sample(rng) for _ in range(200)) if space.canonical(a) != a][:20]
    view = graph_view(space)
    own = np.stack([encode_features(view, view.build(a)) for a in archs])
    assert np.array_equal(encode(space, archs, "features"), own)
    assert not np.array_equal(own, encode(space, [space.canonical(a) for a in archs], "features"))
