"""DARTS, NAS-Bench-101 and chain networks built from their spaces' architectures."""

import numpy as np
import pytest
import torch

from nasforge.data import load_dataset
from nasforge.exceptions import UsageError
from nasforge.models import create_model, make_block, vertex_channels
from nasforge.spaces import Architecture, get_space
from nasforge.training import TrainConfig, Trainer, count_params


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.mark.parametrize("space,kwargs", [("darts", dict(C=2, N=1)), ("nb101", dict(C=6, N=1)),
                                          ("proxylessnas", dict(C=4))])
def test_random_architectures_build_and_classify(space, kwargs):
    sp, rng = get_space(space), np.random.default_rng(0)
    for _ in range(3):
        torch.manual_seed(0)
        model = create_model(space, sp.sample(rng), num_classes=7, in_channels=3, **kwargs)
        assert model(torch.randn(2, 3, 12, 12)).shape == (2, 7)


def test_darts_auxiliary_head_and_drop_path():
    arch = get_space("darts").sample(np.random.default_rng(1))
    model = create_model("darts", arch, num_classes=5, in_channels=1, C=2, N=1, auxiliary=True, drop_path=0.5)
    x = torch.randn(3, 1, 8, 8)
    model.train()
    model(x)
    assert model.aux_logits is not None and model.aux_logits.shape == (3, 5)
    model.eval()
    first = model(x)
    assert model.aux_logits is None and torch.equal(first, model(x))  # no drop-path at eval
    plain = create_model("darts", arch, num_classes=5, in_channels=1, C=2, N=1)
    assert count_params(model, training_only=True) > count_params(plain) and len(plain.cells) == 5  # 3N + 2 cells
    assert count_params(model) == count_params(plain)  # the deployed network has no auxiliary head


def test_trainer_adds_the_auxiliary_loss():
    data = load_dataset("digits").subset(0.05)
    arch = get_space("darts").sample(np.random.default_rng(2))
    losses = {}
    for weight in (0.0, 1.0):
        torch.manual_seed(0)
        model = create_model("darts", arch, num_classes=10, in_channels=1, C=2, N=1, auxiliary=True)
        result = Trainer(TrainConfig(epochs=1, batch_size=16, auxiliary_weight=weight)).fit(model, data)
        losses[weight] = result.train_loss
    assert losses[1.0] > losses[0.0] + 0.5  # the auxiliary cross-entropy (about ln 10 at first) is added


def test_nb101_vertex_channels_follow_nasbench():
    # input -> 1 -> 2 -> output and 1 -> output: the output's 64 channels split over vertices 1 and 2
    matrix = ((0, 1, 0, 0), (0, 0, 1, 1), (0, 0, 0, 1), (0, 0, 0, 0))
    assert vertex_channels(32, 64, matrix) == [32, 32, 32, 64]
    # input -> 1 -> 2 -> output only: vertex 1 takes its successor's width
    chain = ((0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1), (0, 0, 0, 0))
    assert vertex_channels(16, 48, chain) == [16, 48, 48, 48]
    assert vertex_channels(16, 65, ((0, 1, 1, 0), (0, 0, 0, 1), (0, 0, 0, 1), (0, 0, 0, 0))) == [16, 33, 32, 65]


def test_nb101_projection_only_cell_and_pruning():
    sp = get_space("nb101")
    arch = sp.parse("ops=input,conv3x3-bn-relu,output;matrix=011/001/000")
    model = create_model("nb101", arch, num_classes=10, in_channels=1, C=4, N=1)
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)
    dead = Architecture("nb101", (((0, 0, 1), (0, 0, 0), (0, 0, 0)), ("input", "maxpool3x3", "output")))
    # vertex 1 is not on a path: it is pruned, leaving the projected input as the cell
    assert count_params(create_model("nb101", dead, num_classes=10, in_channels=1, C=4, N=1)) < count_params(model)


def test_chain_blocks_and_errors():
    assert isinstance(make_block("skip", 8, 8, 1), torch.nn.Identity)
    assert make_block("mbconv_e3_k5_se", 8, 16, 2)(torch.randn(1, 8, 8, 8)).shape == (1, 16, 4, 4)
    assert make_block("conv3", 8, 8, 1)(torch.randn(1, 8, 4, 4)).shape == (1, 8, 4, 4)
    with pytest.raises(ValueError, match="unknown chain choice 'lstm'"):
        make_block("lstm", 8, 8, 1)
    with pytest.raises(ValueError, match="must keep the shape"):
        make_block("skip", 8, 16, 1)
    sp = get_space("chain", layers=[["conv3", "mbconv_e6_k3"], ["skip", "conv5"]])
    arch = sp.parse("conv3|skip")
    model = create_model("chain", arch, num_classes=3, in_channels=1, C=4)
    assert model(torch.randn(2, 1, 6, 6)).shape == (2, 3)
    with pytest.raises(ValueError, match="cover 3 layers"):
        create_model("chain", arch, num_classes=3, C=4, stages=[1, 2])


def test_isomorphic_nb101_cells_build_the_same_network():
    sp = get_space("nb101")
    arch = sp.parse("ops=input,conv3x3-bn-relu,conv1x1-bn-relu,maxpool3x3,maxpool3x3,conv3x3-bn-relu,output;"
                    "matrix=0110110/0001001/0000000/0000100/0000001/0000001/0000000")
    canonical = sp.canonical(arch)
    assert canonical != arch and sp.canonical_key(canonical) == sp.canonical_key(arch)
    sizes = {count_params(create_model("nb101", a, num_classes=10, in_channels=3, C=16, N=1)) for a in (arch, canonical)}
    assert sizes == {15_358}  # built from the canonical form (the given node order alone built 15,167)


def test_nb101_with_fewer_channels_than_output_inputs_is_refused():
    arch = get_space("nb101").parse("ops=input,conv3x3-bn-relu,conv1x1-bn-relu,maxpool3x3,output;"
                                    "matrix=01110/00001/00001/00001/00000")
    with pytest.raises(UsageError, match=r"C=2 channels cannot be split among the 3 vertices .* use C >= 3"):
        create_model("nb101", arch, num_classes=10, in_channels=1, C=2, N=1)


def test_model_for_space_goes_by_type_and_gives_a_chain_its_stages():
    from nasforge.models import model_for_space
    from nasforge.spaces import ChainSpace

    layers = [["conv3", "conv5"], ["conv3", "skip"], ["conv3", "skip"], ["conv5", "conv3"], ["conv3", "skip"]]
    for name in ("darts", "proxylessnas"):  # stored before such names were refused
        stored = ChainSpace.from_config({"layers": layers[:2], "name": name}, stored=True)
        assert model_for_space(stored) == ("chain", {})
    assert model_for_space(get_space("proxylessnas")) == ("proxylessnas", {})
    staged = ChainSpace(layers, stages=[3, 2])
    name, kwargs = model_for_space(staged)
    assert (name, kwargs) == ("chain", {"stages": [3, 2]})
    net = create_model(name, staged.parse("conv3|skip|conv3|conv5|skip"), num_classes=10, in_channels=1, C=4, **kwargs)
    assert net.blocks[3][0].out_channels == 8 and net.blocks[3][0].stride == (2, 2)  # stage 1 starts: 2C, /2
    assert net(torch.randn(2, 1, 8, 8)).shape == (2, 10)
    with pytest.raises(UsageError, match="layer 3 starts stage 1, .* so it cannot be 'skip'"):
        model_for_space(ChainSpace([*layers[:3], ["conv5", "skip"]], stages=[3, 1]))

    class Impostor(type(get_space("nb101"))):
        name = "nb201"

    with pytest.raises(UsageError, match="search space 'nb201' is a Impostor, not a NASBench201Space"):
        model_for_space(Impostor())
