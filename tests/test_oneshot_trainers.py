"""Supernet trainers (SPOS, DARTS, GDAS), derivation, scoring and few-shot splitting; every trick switch has a
test that fails if the switch is ignored."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nasforge.data import from_arrays  # noqa: E402
from nasforge.exceptions import UsageError  # noqa: E402
from nasforge.models.layers import GhostBatchNorm2d, Norm  # noqa: E402
from nasforge.oneshot import (OneShotConfig, ScoreConfig, SubnetScorer, build_supernet, derive_argmax,  # noqa: E402
                              perturbation_select, progressive_search, split_supernet, train_few_shot,
                              train_supernet)
from nasforge.spaces import get_space  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")
SPACE = get_space("nb201")
ARCH = SPACE.parse("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|nor_conv_3x3~1|skip_connect~2|")


@pytest.fixture(scope="module")
def data(toy_images):
    return toy_images


def _net(**kw):
    torch.manual_seed(0)
    return build_supernet("nb201", 4, 1, C=2, N=1, **kw)


def _cfg(**kw):
    return OneShotConfig(**{"epochs": 1, "batch_size": 32, **kw})


def _state(net):
    return {k: v.clone() for k, v in net.state_dict().items()}


def test_spos_trains_shared_weights_deterministically(data):
    a, b = _net(), _net()
    before = _state(a)
    rec = train_supernet(a, data, _cfg(epochs=2))
    train_supernet(b, data, _cfg(epochs=2))
    assert rec.method == "spos" and len(rec.history) == 2 and rec.train_seconds > 0
    assert any(not torch.equal(before[k], v) for k, v in a.state_dict().items())
    assert all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())


@pytest.mark.parametrize("sampling", ["fair", "strict_fair"])
def test_fair_sampling_changes_training_and_is_recorded(data, sampling):
    plain, fair = _net(), _net()
    train_supernet(plain, data, _cfg())
    rec = train_supernet(fair, data, _cfg(sampling=sampling))
    assert any(sampling in line for line in rec.tricks)
    assert any(not torch.equal(v, fair.state_dict()[k]) for k, v in plain.state_dict().items())


def test_relaxed_only_tricks_are_refused_for_spos():
    for kw in ({"warmup_epochs": 1}, {"path_dropout": 0.2}, {"sdarts": "random"}, {"early_stop_skips": 2},
               {"order": 2}):
        with pytest.raises(UsageError):
            OneShotConfig(**kw)
    with pytest.raises(UsageError, match="arch_parameters"):
        train_supernet(torch.nn.Linear(1, 1), None, OneShotConfig(method="darts"))  # no arch_parameters()


@pytest.mark.parametrize("order", [1, 2])
def test_darts_updates_architecture_weights_and_derives_argmax(data, order):
    net = _net()
    before = [a.detach().clone() for a in net.arch_parameters()]
    rec = train_supernet(net, data, _cfg(method="darts", order=order, arch_lr=0.05))
    after = net.arch_parameters()
    assert any(not torch.allclose(b, a) for b, a in zip(before, after))
    arch = derive_argmax(net)
    assert arch.genotype == tuple(SPACE.ops[int(a.argmax())] for a in after)
    assert rec.alphas is not None and len(rec.alphas) == 6


def test_second_order_differs_from_first(data):
    first, second = _net(), _net()
    train_supernet(first, data, _cfg(method="darts", arch_lr=0.05))
    train_supernet(second, data, _cfg(method="darts", order=2, arch_lr=0.05))
    assert any(not torch.allclose(a, b) for a, b in zip(first.arch_parameters(), second.arch_parameters()))


def test_gdas_forward_runs_one_operation_per_edge(data):
    net = _net()
    calls = []
    for name, mod in net.named_modules():
        if name.count(".ops.") == 1 and name.endswith(("nor_conv_3x3", "nor_conv_1x1")):
            mod.register_forward_hook(lambda *_: calls.append(1))
    rec = train_supernet(net, data, _cfg(method="gdas", arch_lr=0.05))
    # 3 steps x 2 (weight + arch) forward passes; hard sampling runs <= 6 edges' convs each, relaxed would run 12
    assert 0 < len(calls) <= 6 * 6 and rec.method == "gdas"


def test_warmup_freezes_architecture_weights(data):
    net = _net()
    before = [a.detach().clone() for a in net.arch_parameters()]
    seen = {}
    rec = train_supernet(net, data, _cfg(method="darts", epochs=2, warmup_epochs=1, arch_lr=0.1),
                         on_epoch=lambda epoch, _: seen.setdefault(epoch, [a.detach().clone() for a in net.alphas]))
    assert all(torch.equal(b, a) for b, a in zip(before, seen[0]))  # the warm-up epoch left them alone
    assert any(not torch.equal(b, a) for b, a in zip(before, net.arch_parameters()))
    assert any("warm-up" in line for line in rec.tricks)
    with pytest.raises(UsageError, match="warmup_epochs=1 must be below epochs=1"):  # no update would ever happen
        _cfg(method="darts", warmup_epochs=1)


def test_path_dropout_follows_its_schedule_and_changes_training(data):
    plain, dropped = _net(), _net()
    train_supernet(plain, data, _cfg(method="darts", epochs=2))
    rec = train_supernet(dropped, data, _cfg(method="darts", epochs=2, path_dropout=0.5))
    assert [h["path_dropout"] for h in rec.history] == [0.25, 0.5]
    assert any("path dropout" in line for line in rec.tricks)
    assert any(not torch.equal(v, dropped.state_dict()[k]) for k, v in plain.state_dict().items())
    const = train_supernet(_net(), data, _cfg(method="darts", epochs=2, path_dropout=0.5,
                                              path_dropout_schedule="constant"))
    assert [h["path_dropout"] for h in const.history] == [0.5, 0.5]


@pytest.mark.parametrize("mode", ["random", "adversarial"])
def test_sdarts_perturbation_changes_training(data, mode):
    plain, smooth = _net(), _net()
    train_supernet(plain, data, _cfg(method="darts"))
    rec = train_supernet(smooth, data, _cfg(method="darts", sdarts=mode, sdarts_epsilon=0.5))
    assert any(f"sdarts-{mode}" in line for line in rec.tricks)
    assert any(not torch.equal(v, smooth.state_dict()[k]) for k, v in plain.state_dict().items())


def test_darts_plus_stops_on_skip_collapse(data):
    net = _net()
    with torch.no_grad():
        for a in net.arch_parameters():
            a.copy_(torch.tensor([0.0, 10.0, 0.0, 0.0, 0.0]))  # skip_connect dominates every edge
    rec = train_supernet(net, data, _cfg(method="darts", epochs=3, early_stop_skips=3, arch_lr=1e-4))
    assert rec.stopped_early_at == 0 and len(rec.history) == 1
    assert any("darts+" in line for line in rec.tricks)


def test_drop_path_is_stochastic_while_training_only():
    net = _net(drop_path=0.5)
    net.activate(ARCH)
    x = torch.randn(8, 1, 8, 8)
    net.train()
    assert not torch.allclose(net(x), net(x))
    net.eval()
    assert torch.allclose(net(x), net(x))
    assert any("drop-path" in line for line in train_supernet(net, _toy(), _cfg()).tricks)


def _toy():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 8, 8)).astype(np.float32), rng.integers(0, 4, 40)
    return from_arrays("t", (x[:32], y[:32]), (x[32:], y[32:]), (x[32:], y[32:]), 4)


def test_bn_affine_off_ghost_and_group_norm_are_built():
    off = _net(norm=Norm(affine=False))
    on = _net()
    assert sum(p.numel() for p in off.parameters()) < sum(p.numel() for p in on.parameters())
    assert any("affine=off" in line for line in train_supernet(off, _toy(), _cfg()).tricks)
    ghost = _net(norm=Norm("ghost", ghost_batch=4))
    assert any(isinstance(m, GhostBatchNorm2d) for m in ghost.modules())
    group = _net(norm=Norm("group", groups=2))
    assert any(isinstance(m, torch.nn.GroupNorm) for m in group.modules())
    gbn, bn = GhostBatchNorm2d(3, ghost_batch=4), torch.nn.BatchNorm2d(3)
    x = torch.randn(16, 3, 4, 4) + torch.arange(16.0).view(16, 1, 1, 1)
    assert not torch.allclose(gbn(x), bn(x), atol=1e-4)


def test_bn_modes_give_different_scores_and_leave_the_supernet_unchanged(data):
    net = _net()
    train_supernet(net, data, _cfg())
    state = _state(net)
    scores = {}
    for mode in ("inherited", "batch", "recalibrate"):
        scorer = SubnetScorer(net, data, ScoreConfig(bn_mode=mode, **({"recal_batches": 2} if mode == "recalibrate"
                                                                         else {})))
        scores[mode] = scorer.score(ARCH)["val_loss"]
        assert f"bn mode: {mode}" in scorer.describe()["tricks"][0]
        assert all(torch.equal(v, net.state_dict()[k]) for k, v in state.items())
    assert len(set(round(v, 6) for v in scores.values())) == 3


def test_finetuning_before_scoring_changes_the_score_not_the_supernet(data):
    net = _net()
    train_supernet(net, data, _cfg())
    state = _state(net)
    plain = SubnetScorer(net, data, ScoreConfig()).score(ARCH)
    tuned_scorer = SubnetScorer(net, data, ScoreConfig(finetune_steps=3, finetune_lr=0.1))
    tuned = tuned_scorer.score(ARCH)
    assert tuned["val_loss"] != plain["val_loss"]
    assert any("fine-tune" in line for line in tuned_scorer.describe()["tricks"])
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in state.items())
    assert tuned_scorer.score(ARCH) == tuned  # order-independent: same score again


def test_finetuned_scores_with_drop_path_depend_only_on_the_score_seed(data):
    net = _net(drop_path=0.5)
    train_supernet(net, data, _cfg())
    scorer = SubnetScorer(net, data, ScoreConfig(finetune_steps=3, finetune_lr=0.5))
    scores = []
    for global_seed in (1, 2):  # drop-path draws its masks while fine-tuning: not from the caller's random state
        expected = torch.rand(1, generator=torch.Generator().manual_seed(global_seed))
        torch.manual_seed(global_seed)
        scores.append(scorer.score(ARCH))
        assert torch.equal(torch.rand(1), expected)  # and that state is left as it was
    assert scores[0] == scores[1]
    other = SubnetScorer(net, data, ScoreConfig(finetune_steps=3, finetune_lr=0.5, seed=1)).score(ARCH)
    assert other != scores[0]


def test_few_shot_split_inherits_weights_and_trains_each_part_on_its_own(data):
    net = _net()
    train_supernet(net, data, _cfg())
    few = split_supernet(net, ["edge_0_1"])
    assert len(few.members) == 5
    assert all(torch.equal(v, few.members[2].state_dict()[k]) for k, v in net.state_dict().items())
    records = train_few_shot(few, data, _cfg())
    assert records[0].allowed == {"edge_0_1": ["none"]}
    member = few.members[SPACE.ops.index("nor_conv_3x3")]
    conv_key = "cells.0.edges.0_1.ops.nor_conv_1x1.1.weight"  # an option outside this member's part: untouched
    assert torch.equal(member.state_dict()[conv_key], net.state_dict()[conv_key])
    assert not torch.equal(member.state_dict()["cells.0.edges.0_1.ops.nor_conv_3x3.1.weight"],
                           net.state_dict()["cells.0.edges.0_1.ops.nor_conv_3x3.1.weight"])
    few.activate(ARCH)
    assert few.current == SPACE.ops.index("nor_conv_3x3")
    assert SubnetScorer(few, data).score(ARCH)["val_acc"] >= 0


def test_perturbation_selection_fixes_every_decision(data):
    net = _net()
    train_supernet(net, data, _cfg(method="darts"))
    arch, log = perturbation_select(net, data, tune_steps=1)
    SPACE.validate(arch)
    assert len(log) == 6 and all(set(entry["drop"]) == set(SPACE.ops) for entry in log)
    assert {e["decision"]: e["chosen"] for e in log} == SPACE.to_params(arch)


def test_progressive_search_deepens_and_prunes(data):
    arch, records = progressive_search(lambda n: build_supernet("nb201", 4, 1, C=2, N=n), data,
                                       _cfg(method="darts"), depths=(1, 2), keep=(2, 1))
    assert records[0].allowed is None
    assert all(len(v) == 2 for v in records[1].allowed.values())
    assert records[1].supernet["N"] == 2
    assert all(arch.genotype[k] in records[1].allowed[name] for k, name in enumerate(SPACE.categorical_params()))
