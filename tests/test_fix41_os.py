"""Fixes of review os41: no 1-image training batch, chain drop-path on the residual branch only, elastic expansion 1
without an expand conv, P-DARTS keep=1 never keeping only ``none``, DARTS-PT selecting on the architecture half of
the training split, chain supernets honouring ``norm``, ElasticChainSupernet's size checks, and progressive shrinking
merging phases that add nothing new."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from nasforge.exceptions import UsageError  # noqa: E402
from nasforge.models.chain import ChainNetwork  # noqa: E402
from nasforge.models.layers import Norm  # noqa: E402
from nasforge.oneshot import (ElasticChainSupernet, OneShotConfig, build_supernet, perturbation_select,  # noqa: E402
                              progressive_search, progressive_shrinking, train_supernet)
from nasforge.oneshot import derive, trainer  # noqa: E402
from nasforge.oneshot.chain import ChainSupernet  # noqa: E402
from nasforge.oneshot.checkpoint import load_supernet, save_supernet  # noqa: E402
from nasforge.spaces import ChainSpace, get_space  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")
MB = ["mbconv_e3_k3", "mbconv_e1_k3"]


def _tiny_chain() -> ChainSupernet:
    """A chain supernet whose last layers see 1x1 maps of 8x8 images (as ProxylessNAS's late stages on digits)."""
    torch.manual_seed(0)
    return ChainSupernet(ChainSpace([MB] * 4), 4, 1, C=4, stages=(1, 1, 1, 1), widths=(4, 4, 4, 4),
                         strides=(2, 2, 2, 1))


@pytest.mark.parametrize("n,bs", [(48, 47), (97, 32), (96, 32), (1, 8), (2, 1)])
def test_batches_never_leave_a_one_image_tail(n, bs):
    batches = trainer._Batches(torch.zeros(n, 1, 2, 2), torch.arange(n), bs, "none", torch.Generator())
    sizes = [len(next(batches)[1]) for _ in range(trainer.batches_per_epoch(n, bs))]
    assert sum(sizes) == n and (min(sizes) > 1 or n == 1 or bs == 1)


@pytest.mark.parametrize("method,batch_size", [("gdas", 47), ("darts", 47), ("spos", 95)])
def test_training_with_a_one_image_remainder_trains(toy_images, method, batch_size):
    # toy_images has 96 training images: halves of 48 = 47 + 1, and 96 = 95 + 1
    record = train_supernet(_tiny_chain(), toy_images, OneShotConfig(method=method, epochs=1, batch_size=batch_size))
    assert len(record.history) == 1


@pytest.mark.parametrize("settings", [dict(bn_mode="recalibrate", recal_batches=0, batch_size=95),
                                      dict(bn_mode="recalibrate", recal_batches=3, batch_size=95),
                                      dict(bn_mode="batch", eval_batch_size=47)])
def test_scoring_never_forms_a_one_image_batch(toy_images, settings):
    """Would fail: scoring's recalibration pass (96 = 95 + 1 training images) and batch-statistics evaluation
    (48 = 47 + 1 validation images) formed a 1-image batch, which a 1x1 BatchNorm refuses."""
    from nasforge.oneshot import ScoreConfig, SubnetScorer

    net = _tiny_chain()
    scorer = SubnetScorer(net, toy_images, ScoreConfig(**settings))
    score = scorer.score(net.space.parse("|".join(["mbconv_e3_k3"] * 4)))
    assert 0.0 <= score["val_acc"] <= 100.0


@pytest.mark.parametrize("n,bs,steps", [(10, 3, 6), (10, 3, 0), (10, 1, 3), (898, 64, 8), (898, 64, 0),
                                         (1079, 64, 150)])
def test_scoring_batches_change_only_where_one_image_was_alone(n, bs, steps):
    """Would fail twice (regression review H): batch_size=1 drew an empty first batch and overlapping pairs, and a
    wrapped batch after a merged remainder repeated two images. Only a former 1-image batch may differ."""
    from types import SimpleNamespace

    from nasforge.oneshot.scoring import SubnetScorer

    holder = SimpleNamespace(data=SimpleNamespace(x_train=torch.arange(n), y_train=torch.arange(n)),
                             config=SimpleNamespace(batch_size=bs))
    new = [b.tolist() for _, b in SubnetScorer._batches(holder, steps, torch.Generator().manual_seed(0))]
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    old = [order[(i * bs) % n:][:bs].tolist() for i in range(steps or -(-n // bs))]
    assert bs == 1 or all(len(b) > 1 for b in new)
    assert not steps or len(new) == steps
    for a, b in zip(new, old):  # equal, except where one image stood alone (joined or continued)
        assert a == b or len(b) == 1 and a[:1] == b or not steps and a[:len(b)] == b
    if not steps:
        assert sorted(i for b in new for i in b) == list(range(n))  # one pass: every image once


def test_batch_size_one_through_a_1x1_batchnorm_is_a_usage_error(toy_images):
    with pytest.raises(UsageError, match="^batch_size=1: a training batch of 1 image"):
        train_supernet(_tiny_chain(), toy_images, OneShotConfig(epochs=1, batch_size=1))


def test_chain_drop_path_drops_the_residual_branch_not_the_sample():
    torch.manual_seed(0)
    space = ChainSpace([["mbconv_e3_k3", "skip"], ["mbconv_e3_k3", "conv3"], ["mbconv_e3_k3", "skip"]])
    net = build_supernet(space, 10, 1, C=8, drop_path=0.3).train()
    net.activate(space.parse("mbconv_e3_k3|mbconv_e3_k3|mbconv_e3_k3"))
    x = torch.randn(64, 1, 8, 8)
    stem = net.stem(x)
    feats = net.layers[2](net.layers[1](net.layers[0](stem)))
    assert int((feats.flatten(1).abs().sum(1) == 0).sum()) == 0
    block = net.layers[0].ops["mbconv_e3_k3"]
    out = net.layers[0](stem)
    dropped = (out - stem).flatten(1).abs().sum(1) == 0  # the residual branch dropped: identity left
    assert 0 < int(dropped.sum()) < 64 and block.residual
    net.eval()
    assert torch.equal(net.layers[0](stem), block.body(stem) + stem)


def test_chain_drop_path_without_a_residual_block_is_refused():
    with pytest.raises(UsageError, match=r"^drop_path=0.2: space .* no MBConv choice with a residual branch"):
        build_supernet(ChainSpace([["conv3", "skip"], ["conv3", "conv5"]]), 10, 1, C=4, drop_path=0.2)


def test_the_cli_names_the_drop_path_option_it_refuses(tmp_path, capsys):
    """Would fail: the refusal named the Python parameter drop_path=, not the --drop-path the user typed."""
    import json

    from nasforge.cli import main

    config = tmp_path / "convchain.json"
    config.write_text(json.dumps([["conv3", "conv5"], ["conv3", "skip"]]))
    assert main(["oneshot", "train", "--space", "chain", "--space-config", str(config), "--drop-path", "0.1",
                 "--epochs", "1", "--C", "4", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--drop-path=0.1: space 'chain' has no MBConv choice" in err


def _randomize_bn(module: torch.nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)


def _copy_bn(dst: torch.nn.BatchNorm2d, src: torch.nn.BatchNorm2d, n: int) -> None:
    for name in ("weight", "bias", "running_mean", "running_var"):
        getattr(dst, name).data = getattr(src, name)[:n].clone()


@pytest.mark.parametrize("genotype", ["mbconv_e1_k3|mbconv_e1_k3", "mbconv_e3_k5|mbconv_e1_k3", "mbconv_e1_k5|skip"])
def test_elastic_subnetwork_equals_the_standalone_chain_network(genotype):
    torch.manual_seed(0)
    space = ChainSpace([["mbconv_e1_k3", "mbconv_e3_k5", "mbconv_e1_k5"], ["mbconv_e1_k3", "mbconv_e3_k5", "skip"]])
    elastic = ElasticChainSupernet(space, 4, 1, C=4)
    _randomize_bn(elastic)
    elastic.eval()
    arch = space.parse(genotype)
    net = ChainNetwork(arch, 4, 1, C=4).eval()
    net.stem.load_state_dict(elastic.stem.state_dict())
    net.head.load_state_dict(elastic.head.state_dict())
    with torch.no_grad():
        for layer, block, choice in zip(elastic.layers, net.blocks, arch.genotype):
            if choice == "skip":
                continue
            (e, k), body = elastic.options[list(elastic.layers).index(layer)][choice], block.body
            h, cut = layer.C_in * e, (layer.kmax - k) // 2
            assert len(body) == (2 if e == 1 else 3)  # the standalone MBConv(expand=1) has no expand conv
            if e != 1:
                body[0][0].weight.copy_(layer.expand.weight[:h])
                _copy_bn(body[0][1], layer.bn1, h)
            body[-2][0].weight.copy_(layer.depthwise[:h, :, cut:cut + k, cut:cut + k])
            _copy_bn(body[-2][1], layer.bn2, h)
            body[-1][0].weight.copy_(layer.project.weight[:, :h])
            _copy_bn(body[-1][1], layer.bn3, layer.bn3.num_features)
    elastic.activate(arch)
    x = torch.randn(4, 1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(elastic(x), net(x), atol=1e-6)


def test_pdarts_keep_one_never_keeps_only_none(toy_images):
    space = get_space("darts")

    def build(n):
        torch.manual_seed(3)
        net = build_supernet(space, 4, 1, C=2, N=n)
        with torch.no_grad():
            net.alphas[0][0] = 1.0  # normal_edge_0_2: `none` strongest
        return net

    cfg = OneShotConfig(method="darts", epochs=1, batch_size=48, arch_lr=1e-6)
    arch, records = progressive_search(build, toy_images, cfg, depths=(1,), keep=(1,))
    space.validate(arch)
    assert len(records) == 1


def test_perturbation_select_measures_the_architecture_half_of_the_training_split(toy_images, monkeypatch):
    torch.manual_seed(0)
    net = build_supernet("nb201", 4, 1, C=2, N=1)
    used_by_training = []
    real_batches = trainer._Batches

    def recording(x, y, *args):
        used_by_training.append(y)
        return real_batches(x, y, *args)

    monkeypatch.setattr(trainer, "_Batches", recording)
    train_supernet(net, toy_images, OneShotConfig(method="darts", epochs=1, batch_size=32, seed=5))
    arch_half = used_by_training[0]  # DARTS builds the architecture batches first
    measured = []
    real_accuracy = derive._accuracy

    def spy(supernet, x, y, batch=512):
        measured.append(y)
        return real_accuracy(supernet, x, y, batch)

    monkeypatch.setattr(derive, "_accuracy", spy)
    perturbation_select(net, toy_images, seed=5)
    assert measured and all(torch.equal(y, arch_half) for y in measured)


@pytest.mark.parametrize("space", ["chain", "proxylessnas"])
def test_chain_supernets_honour_norm_and_keep_it_when_loaded(tmp_path, space):
    chain = ChainSpace([MB, ["conv3", "skip"]]) if space == "chain" else space
    net = build_supernet(chain, 10, 1, norm=Norm("group", affine=False), C=4)
    norms = [m for m in net.layers.modules() if isinstance(m, torch.nn.GroupNorm)]
    assert norms and not any(m.affine for m in norms)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.layers.modules())
    assert trainer.supernet_tricks(net) == ["norm: group, affine=off"]
    save_supernet(net, tmp_path / "s", {"data": {"data": "digits", "data_options": {}}})
    loaded = load_supernet(tmp_path / "s")[0]
    assert [type(m) for m in loaded.modules()] == [type(m) for m in net.modules()]


@pytest.mark.parametrize("kw,match", [({"C": 0}, "^C must be an integer >= 1, got 0"),
                                      ({"C": -3}, "^C must be an integer >= 1, got -3"),
                                      ({"num_classes": 0}, "^num_classes must be"),
                                      ({"in_channels": 1.5}, "^in_channels must be"),
                                      ({"widths": [4]}, "^need one width and one stride per layer")])
def test_elastic_supernet_checks_its_sizes(kw, match):
    args = {"num_classes": 10, "in_channels": 1, "C": 4, **kw}
    with pytest.raises(UsageError, match=match):
        ElasticChainSupernet(ChainSpace([MB, MB]), **args)


def test_progressive_shrinking_merges_phases_that_add_nothing(toy_images):
    torch.manual_seed(0)
    net = ElasticChainSupernet(ChainSpace([["mbconv_e1_k3", "mbconv_e3_k5"]] * 2), 4, 1, C=4)
    records = progressive_shrinking(net, toy_images, OneShotConfig(batch_size=48), epochs=(1, 1, 2, 1))
    assert [len(r.history) for r in records] == [4, 1]
    assert records[0].tricks[-2:] == [
        "progressive shrinking phase 0: largest",
        "progressive shrinking: phase(s) 1 (kernel, 1 epochs), 2 (depth, 2 epochs) allow no new sub-network; "
        "merged into phase 0 (4 epochs in all)"]
    assert records[1].tricks[-1] == "progressive shrinking phase 3: width"
