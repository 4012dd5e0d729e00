"""Few-shot splitting by gradient matching (GM-NAS), option-group splits, and the scorer's batch draws and
whole-split recalibration; each has a test that fails if it is silently ignored."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nasforge.exceptions import UsageError  # noqa: E402
from nasforge.oneshot import (OneShotConfig, ScoreConfig, SubnetScorer, build_supernet, choose_split,  # noqa: E402
                              gradient_similarity, split_supernet, train_few_shot, train_supernet)
from nasforge.oneshot import fewshot as fewshot_mod  # noqa: E402
from nasforge.oneshot.fewshot import best_partition  # noqa: E402
from nasforge.spaces import get_space  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")
SPACE = get_space("nb201")
ARCH = SPACE.parse("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|skip_connect~1|nor_conv_3x3~2|")


@pytest.fixture(scope="module")
def trained(toy_images):
    torch.manual_seed(0)
    net = build_supernet("nb201", 4, 1, C=2, N=1)
    train_supernet(net, toy_images, OneShotConfig(epochs=1, batch_size=32))
    return net


def _state(net):
    return {k: v.clone() for k, v in net.state_dict().items()}


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_split_with_option_groups_makes_one_part_per_group_combination(trained):
    groups = {"edge_0_3": [["none", "skip_connect", "avg_pool_3x3"], ["nor_conv_1x1", "nor_conv_3x3"]],
              "edge_1_2": [["none", "nor_conv_3x3"], ["skip_connect", "nor_conv_1x1", "avg_pool_3x3"]]}
    few = split_supernet(trained, ["edge_0_3", "edge_1_2"], groups)
    assert len(few.members) == 4
    assert few.allowed[1] == {"edge_0_3": ["none", "skip_connect", "avg_pool_3x3"],
                              "edge_1_2": ["skip_connect", "nor_conv_1x1", "avg_pool_3x3"]}
    assert few.member_of(ARCH) == 1  # edge_0_3 = avg_pool_3x3 (group 0), edge_1_2 = nor_conv_1x1 (group 1)
    assert len(split_supernet(trained, ["edge_0_3", "edge_1_2"]).members) == 25  # exhaustive by default
    with pytest.raises(UsageError):
        split_supernet(trained, ["edge_0_3"], {"edge_0_3": [["none", "skip_connect"], ["nor_conv_1x1"]]})
    with pytest.raises(UsageError):
        split_supernet(trained, ["edge_0_3"], {"edge_1_2": groups["edge_1_2"]})


def test_group_parts_train_only_their_options(toy_images, trained):
    few = split_supernet(trained, ["edge_0_3"], {"edge_0_3": [["nor_conv_1x1", "nor_conv_3x3"],
                                                            ["none", "skip_connect", "avg_pool_3x3"]]})
    before = _state(few.members[1])
    records = train_few_shot(few, toy_images, OneShotConfig(epochs=1, batch_size=32), shared_seed=True)
    assert records[0].allowed == {"edge_0_3": ["nor_conv_1x1", "nor_conv_3x3"]}
    after = few.members[1].state_dict()
    conv = [k for k in after if ".edges.0_3.ops.nor_conv_3x3." in k and k.endswith("weight")]
    assert conv and all(torch.equal(after[k], before[k]) for k in conv)  # part 1 never takes a convolution there


def test_gradient_similarity_is_a_cosine_matrix_and_leaves_the_supernet_as_it_was(toy_images, trained):
    before = _state(trained)
    sim = gradient_similarity(trained, toy_images, "edge_0_3", batches=2)
    assert _same(before, trained.state_dict())  # BN running statistics included
    assert sim.shape == (5, 5) and np.allclose(np.diag(sim), 1.0, atol=1e-5) and np.allclose(sim, sim.T, atol=1e-6)
    assert sim.min() < 0.99 and sim.min() >= -1.0  # options do pull the shared weights differently
    assert np.allclose(sim, gradient_similarity(trained, toy_images, "edge_0_3", batches=2))  # deterministic
    with pytest.raises(UsageError):
        gradient_similarity(trained, toy_images, "edge_9_9")


def test_gradient_similarity_skips_paths_in_which_the_decision_is_dead(monkeypatch, toy_images, trained):
    from nasforge.oneshot.sampling import ArchSampler

    dead = SPACE.parse("|none~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|skip_connect~2|")
    paths = iter([dead, dead, ARCH])  # node 1 is cut off from the input in the first two: edge_1_2 does nothing
    monkeypatch.setattr(ArchSampler, "sample", lambda self: next(paths))
    sim = gradient_similarity(trained, toy_images, "edge_1_2", batches=1)
    assert sim.min() < 0.99  # measured on ARCH's path (a dead path gives every option cosine 1)
    monkeypatch.setattr(ArchSampler, "sample", lambda self: dead)
    with pytest.raises(UsageError, match="edge_1_2.* made no difference in 100 sampled paths"):
        gradient_similarity(trained, toy_images, "edge_1_2", batches=1)


def test_best_partition_cuts_where_similarity_is_lowest():
    sim = np.full((5, 5), 0.9)
    sim[:2, 2:] = sim[2:, :2] = -0.5  # options {0, 1} and {2, 3, 4} disagree
    groups, cut = best_partition(sim, 2)
    assert sorted(map(sorted, groups)) == [[0, 1], [2, 3, 4]] and cut == pytest.approx(-0.5)
    singletons, mean_all = best_partition(sim, 5)
    assert len(singletons) == 5 and mean_all == pytest.approx(np.mean(sim[np.triu_indices(5, 1)]))
    with pytest.raises(UsageError):
        best_partition(sim, 6)


def test_choose_split_takes_the_decisions_with_the_lowest_cut(monkeypatch, toy_images, trained):
    agree = np.full((5, 5), 0.8)
    disagree = agree.copy()
    disagree[:3, 3:] = disagree[3:, :3] = -0.2
    worst = {"edge_1_3": disagree, "edge_0_2": disagree * 0.5}  # edge_1_3 cuts at -0.2, edge_0_2 at -0.1
    monkeypatch.setattr(fewshot_mod, "gradient_similarity",
                        lambda net, data, name, **kw: worst.get(name, agree))
    plan = choose_split(trained, toy_images, n_decisions=2, n_groups=2)
    assert plan.on == ["edge_1_3", "edge_0_2"]
    opts = dict(SPACE.categorical_params())["edge_1_3"]
    assert sorted(map(sorted, plan.groups["edge_1_3"])) == sorted([sorted(opts[:3]), sorted(opts[3:])])
    assert split_supernet(trained, plan.on, plan.groups).allowed[0] == {
        "edge_1_3": plan.groups["edge_1_3"][0], "edge_0_2": plan.groups["edge_0_2"][0]}


def test_choose_split_on_a_real_supernet_returns_a_valid_plan(toy_images, trained):
    plan = choose_split(trained, toy_images, n_decisions=1, batches=2)
    assert len(plan.on) == 1 and set(plan.cuts) == set(SPACE.categorical_params())
    assert plan.cuts[plan.on[0]] == min(plan.cuts.values()) and len(plan.groups[plan.on[0]]) == 5


def test_draws_average_the_scores_of_each_batch_draw(toy_images, trained):
    one = ScoreConfig(bn_mode="recalibrate", recal_batches=1, batch_size=16, seed=3)
    scores = [SubnetScorer(trained, toy_images, ScoreConfig(**{**one.__dict__, "seed": s})).score(ARCH)
              for s in (3, 4, 5)]
    mean = SubnetScorer(trained, toy_images, ScoreConfig(**{**one.__dict__, "draws": 3})).score(ARCH)
    assert mean["val_loss"] == pytest.approx(np.mean([s["val_loss"] for s in scores]))
    assert len({s["val_loss"] for s in scores}) > 1  # the draws differ, so averaging them is not a no-op
    with pytest.raises(UsageError):
        ScoreConfig(bn_mode="inherited", draws=2)


def test_recalibration_on_the_whole_training_split(toy_images, trained):
    whole = SubnetScorer(trained, toy_images, ScoreConfig(bn_mode="recalibrate", recal_batches=0, batch_size=32))
    explicit = SubnetScorer(trained, toy_images, ScoreConfig(bn_mode="recalibrate", recal_batches=3, batch_size=32))
    one = SubnetScorer(trained, toy_images, ScoreConfig(bn_mode="recalibrate", recal_batches=1, batch_size=32))
    assert whole.score(ARCH) == explicit.score(ARCH) != one.score(ARCH)  # 96 training images = 3 batches of 32
    assert "whole training split" in whole.describe()["tricks"][0]


def test_scoring_a_few_shot_supernet_leaves_every_part_unchanged(toy_images, trained):
    few = split_supernet(trained, ["edge_0_3"])
    for i, member in enumerate(few.members):  # give every part its own BN statistics
        for m in member.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.fill_(0.1 * i)
    before = _state(few)
    scorer = SubnetScorer(few, toy_images, ScoreConfig(bn_mode="recalibrate", finetune_steps=2, draws=2))
    first = scorer.score(ARCH)
    assert _same(before, few.state_dict())
    assert scorer.score(ARCH) == first


def test_unique_sampling_is_uniform_over_functionally_distinct_architectures():
    from collections import Counter

    from nasforge.oneshot.sampling import ArchSampler

    allowed = {name: ["none", "skip_connect"] for name in SPACE.categorical_params()}  # 64 cells, few classes
    counts = {}
    for mode in ("unique", "uniform"):
        sampler = ArchSampler(SPACE, np.random.default_rng(0), mode, allowed)
        counts[mode] = Counter(SPACE.canonical_key(sampler.sample()) for _ in range(4000))
    assert () not in counts["unique"] and () in counts["uniform"]  # never a cell that ignores its input
    classes = set(counts["uniform"]) - {()}
    assert set(counts["unique"]) == classes and len(classes) >= 3
    spread = {m: max(c[k] for k in classes) / min(c[k] for k in classes) for m, c in counts.items()}
    assert spread["unique"] < 1.3 < 3 < spread["uniform"]  # uniform over classes vs over isomorphs


def test_unique_sampling_trains_and_is_recorded(toy_images):
    torch.manual_seed(0)
    net = build_supernet("nb201", 4, 1, C=2, N=1)
    rec = train_supernet(net, toy_images, OneShotConfig(epochs=1, batch_size=32, sampling="unique"),
                         allowed={"edge_0_3": ["skip_connect"]})
    assert "sampling: unique (uniform over functionally distinct architectures)" in rec.tricks
    with pytest.raises(UsageError):
        from nasforge.oneshot.sampling import ArchSampler
        ArchSampler(get_space("darts"), np.random.default_rng(0), "unique")
