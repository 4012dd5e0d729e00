"""One-shot supernets: any architecture is a sub-network that runs with the shared weights."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nasforge.oneshot import ArchSampler, build_supernet, decisions, is_differentiable  # noqa: E402
from nasforge.oneshot.base import DifferentiableSupernet, Supernet  # noqa: E402
from nasforge.spaces import ChainSpace, get_space  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _x(n=4, size=8):
    return torch.randn(n, 1, size, size, generator=torch.Generator().manual_seed(0))


def test_oneshot_import_is_light():
    import subprocess
    import sys

    code = "import sys, nasforge.oneshot; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_nb201_subnetwork_is_the_standalone_network_with_inherited_weights():
    from nasforge.models import create_model

    space = get_space("nb201")
    net = build_supernet("nb201", 10, 1, C=4, N=2)
    assert isinstance(net, DifferentiableSupernet) and is_differentiable(net)
    net.eval()
    rng = np.random.default_rng(0)
    outs = []
    for _ in range(4):
        arch = space.sample(rng)
        net.activate(arch)
        standalone = net.subnet(arch).eval()
        assert standalone.state_dict().keys() == create_model("nb201", arch, 10, 1, C=4, N=2).state_dict().keys()
        with torch.no_grad():
            out = net(_x())
            assert torch.allclose(out, standalone(_x()), atol=1e-6)
        outs.append(out)
    assert not torch.allclose(outs[0], outs[1])


@pytest.mark.parametrize("norm, layer", [({"affine": False}, "BatchNorm2d"),
                                         ({"kind": "ghost", "ghost_batch": 2}, "GhostBatchNorm2d"),
                                         ({"kind": "group", "groups": 2}, "GroupNorm")])
def test_nb201_subnetwork_keeps_the_supernets_norm_and_drop_path(norm, layer):
    from nasforge.models.layers import DropPath, Norm

    arch = get_space("nb201").parse("|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|"
                                    "skip_connect~2|")
    net = build_supernet("nb201", 10, 1, C=4, N=1, norm=Norm(**norm)).eval()
    net.activate(arch)
    standalone = net.subnet(arch)
    edge_norms = [m for m in standalone.cells[0].edges.modules() if "Norm" in type(m).__name__]
    assert standalone.training and edge_norms and {type(m).__name__ for m in edge_norms} == {layer}
    assert all(m.affine == norm.get("affine", True) for m in edge_norms)
    with torch.no_grad():
        assert torch.equal(net(_x()), standalone.eval()(_x()))
    dropped = build_supernet("nb201", 10, 1, C=4, N=1, norm=Norm(**norm), drop_path=0.5)
    assert {m.p for m in dropped.subnet(arch).modules() if isinstance(m, DropPath)} == {0.5}


def test_activate_copies_no_weights():
    net = build_supernet("nb201", 10, 1, C=4, N=1)
    before = {n: p.data_ptr() for n, p in net.named_parameters()}
    net.activate(get_space("nb201").sample(np.random.default_rng(1)))
    assert {n: p.data_ptr() for n, p in net.named_parameters()} == before


def test_relaxed_one_hot_weights_equal_single_path():
    space = get_space("nb201")
    net = build_supernet("nb201", 10, 1, C=4, N=1).eval()
    arch = space.parse("|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|skip_connect~2|")
    net.activate(arch)
    with torch.no_grad():
        single = net(_x())
        weights = [torch.nn.functional.one_hot(torch.tensor(options.index(choice)), len(options)).float()
                   for (name, options), choice in zip(decisions(space), arch.genotype)]
        net.activate_weights(weights)
        assert torch.allclose(net(_x()), single, atol=1e-6)
        net.activate_weights([torch.full((5,), 0.2)] * 6)
        assert not torch.allclose(net(_x()), single)


def test_darts_and_chain_supernets_run_any_sampled_architecture():
    darts = get_space("darts")
    net = build_supernet(darts, 10, 1, C=2, N=1).eval()
    assert isinstance(net, Supernet) and is_differentiable(net)  # relaxed mode: tests/test_oneshot_darts_space.py
    rng = np.random.default_rng(0)
    with torch.no_grad():
        outs = []
        for _ in range(2):
            net.activate(darts.sample(rng))
            outs.append(net(_x(2)))
        assert outs[0].shape == (2, 10) and not torch.allclose(outs[0], outs[1])
    chain = ChainSpace([["conv3", "mbconv_e3_k3"], ["conv3", "skip"], ["mbconv_e3_k5", "skip"]])
    cnet = build_supernet(chain, 10, 1, C=4).eval()
    with torch.no_grad():
        cnet.activate(chain.parse("conv3|skip|skip"))
        a = cnet(_x(2))
        cnet.activate(chain.parse("mbconv_e3_k3|conv3|mbconv_e3_k5"))
        assert not torch.allclose(a, cnet(_x(2)))
        cnet.activate_weights([torch.tensor([0.5, 0.5])] * 3)
        assert cnet(_x(2)).shape == (2, 10)
    proxyless = build_supernet("proxylessnas", 10, 1, C=4).eval()
    proxyless.activate(get_space("proxylessnas").sample(rng))
    with torch.no_grad():
        assert proxyless(_x(1, 32)).shape == (1, 10)


def test_strict_fair_group_trains_every_option_once_and_respects_restrictions():
    space = get_space("nb201")
    sampler = ArchSampler(space, np.random.default_rng(0), "strict_fair")
    group = sampler.group()
    assert len(group) == 5
    for k in range(6):
        assert sorted(a.genotype[k] for a in group) == sorted(space.ops)
    fair = ArchSampler(space, np.random.default_rng(0), "fair")
    window = [fair.sample() for _ in range(5)]
    assert all(len({a.genotype[k] for a in window}) == 5 for k in range(6))
    restricted = ArchSampler(space, np.random.default_rng(0), "uniform", allowed={"edge_0_1": ["none"]})
    assert all(restricted.sample().genotype[0] == "none" for _ in range(20))
    with pytest.raises(ValueError, match="edge_9_9"):
        ArchSampler(space, np.random.default_rng(0), allowed={"edge_9_9": ["none"]})


def test_elastic_supernet_shares_one_kernel_and_shrinks_progressively():
    from nasforge.data import from_arrays
    from nasforge.oneshot import OneShotConfig
    from nasforge.oneshot.elastic import ElasticChainSupernet, progressive_shrinking, shrinking_phases

    space = ChainSpace([["mbconv_e3_k3", "mbconv_e6_k5", "mbconv_e6_k3"], ["mbconv_e3_k3", "mbconv_e6_k5", "skip"]])
    net = ElasticChainSupernet(space, 4, 1, C=4)
    sizes = sum(p.numel() for p in net.parameters())
    assert sizes < sum(p.numel() for p in build_supernet(space, 4, 1, C=4).parameters())  # one block per layer
    net.eval()
    with torch.no_grad():
        outs = {}
        for arch in ("mbconv_e6_k5|skip", "mbconv_e6_k3|skip"):
            net.activate(space.parse(arch))
            outs[arch] = net(_x(2))
        ring = torch.ones(5, 5)
        ring[1:4, 1:4] = 0
        net.layers[0].depthwise.add_(ring)  # change only the outer ring of the shared 5x5 kernel
        for arch, before in outs.items():
            net.activate(space.parse(arch))
            assert torch.allclose(net(_x(2)), before) == (arch == "mbconv_e6_k3|skip")  # 3x3 = the centre
    phases = shrinking_phases(net)
    assert phases[0] == {"layer_0": ["mbconv_e6_k5"], "layer_1": ["mbconv_e6_k5"]}
    assert phases[2]["layer_1"] == ["mbconv_e6_k5", "skip"] and phases[3]["layer_1"] == list(space.layers[1])
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 48)
    data = from_arrays("t", (rng.normal(size=(32, 8, 8)), y[:32]), (rng.normal(size=(16, 8, 8)), y[32:]),
                       (rng.normal(size=(16, 8, 8)), y[32:]), 4)
    records = progressive_shrinking(net, data, OneShotConfig(batch_size=16), epochs=(1, 1, 1, 1))
    assert [r.allowed for r in records] == phases
    assert "phase 3: width" in records[-1].tricks[-1]


def test_a_chain_supernet_loads_in_the_layout_it_was_saved_with(tmp_path):
    """Chain supernets of a space with stages were one flat stage before the stages reached the networks (and a
    skip could start a stage): one saved that way rebuilds from its recorded layout, not today's."""
    import torch

    from nasforge.oneshot.chain import ChainSupernet
    from nasforge.oneshot.checkpoint import load_supernet, save_supernet

    space = ChainSpace([["conv3", "mbconv_e3_k3"], ["conv3", "skip"], ["conv3", "skip"], ["conv3", "skip"]],
                       stages=[2, 2])
    flat = ChainSupernet(space, 10, 1, C=8)  # the previous layout: one stage at the stem's width
    save_supernet(flat, tmp_path / "old")
    loaded, info = load_supernet(tmp_path / "old")
    assert info["config"]["stages"] == [4]
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), flat.state_dict().values()))
