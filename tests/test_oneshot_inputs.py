"""Bad input to the one-shot API is a one-line ``UsageError`` naming the argument, raised before any work, and
saving never overwrites a stored supernet unless asked to."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from nasforge.cli import main  # noqa: E402
from nasforge.evaluators import SupernetEvaluator  # noqa: E402
from nasforge.exceptions import UsageError  # noqa: E402
from nasforge.oneshot import (OneShotConfig, ScoreConfig, SubnetScorer, build_supernet, derive_argmax,  # noqa: E402
                              perturbation_select, split_supernet, train_supernet)
from nasforge.oneshot.checkpoint import load_supernet, save_supernet  # noqa: E402
from nasforge.oneshot.chain import ChainSupernet  # noqa: E402
from nasforge.spaces import ChainSpace, get_space  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")
SPACE = get_space("nb201")
ARCH = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|nor_conv_3x3~1|skip_connect~2|"


def _net(num_classes=4, in_channels=1, space="nb201"):
    torch.manual_seed(0)
    return build_supernet(space, num_classes, in_channels, C=2, N=1)


def _state(net):
    return {k: v.clone() for k, v in net.state_dict().items()}


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_save_supernet_refuses_an_occupied_folder_unless_told_to_overwrite(tmp_path):
    ck = tmp_path / "ck"
    save_supernet(_net(), ck, {"data": {"data": "digits"}})
    before = _files(ck)
    with pytest.raises(UsageError, match=r"already holds a saved supernet; .* overwrite=True"):
        save_supernet(_net(space="darts"), ck)  # another space: refused, the first checkpoint intact
    assert _files(ck) == before and load_supernet(ck)[0].space.name == "nb201"
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match=r"already holds 1 file\(s\) \['notes.txt'\]"):
        save_supernet(_net(), other)
    assert _files(other) == {"notes.txt": b"mine"}
    with pytest.raises(UsageError, match="is a file, not a folder"):
        save_supernet(_net(), other / "notes.txt", overwrite=True)
    save_supernet(_net(space="darts"), ck, overwrite=True)
    save_supernet(_net(), other, overwrite=True)  # other files are left alone
    assert load_supernet(ck)[0].space.name == "darts" and (other / "notes.txt").read_text() == "mine"
    (tmp_path / "empty").mkdir()
    save_supernet(_net(), tmp_path / "empty")  # an existing empty folder is fine


def test_cli_train_replaces_a_saved_supernet_only_with_overwrite(tmp_path, capsys):
    ck = tmp_path / "ck"
    save_supernet(_net(space="darts"), ck)
    before = (ck / "supernet.pt").read_bytes()
    argv = ["oneshot", "train", "--data", "digits", "--epochs", "1", "--C", "2", "--batch-size", "512", "--out", str(ck)]
    assert main(argv) == 2  # refused before training
    assert "already holds a saved supernet; save into a new or empty folder, or pass --overwrite" in \
        capsys.readouterr().err
    assert (ck / "supernet.pt").read_bytes() == before
    assert main([*argv, "--overwrite"]) == 0
    assert load_supernet(ck)[0].space.name == "nb201"
    report = tmp_path / "study"  # a folder of other results (a study report, its ground truth)
    report.mkdir()
    (report / "ranking.json").write_text("{}")
    argv[-1] = str(report)
    assert main(argv) == 2
    assert "already holds 1 file(s) ['ranking.json']; save into a new or empty folder, or pass --overwrite" in \
        capsys.readouterr().err
    assert [p.name for p in report.iterdir()] == ["ranking.json"]
    assert main([*argv, "--overwrite"]) == 0 and (report / "ranking.json").read_text() == "{}"


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "darts", "epochs": 1, "warmup_epochs": 3}, "warmup_epochs=3 must be below epochs=1 for darts"),
    ({"method": "gdas", "epochs": 2, "warmup_epochs": 2}, "warmup_epochs=2 must be below epochs=2 for gdas"),
    ({"method": "darts", "gumbel_tau": (1.0, 0.5)}, r"gumbel_tau=\(1.0, 0.5\) applies only with method='gdas'"),
    ({"gumbel_tau": (1.0, 0.5)}, "gumbel_tau=.* applies only with method='gdas'"),
    ({"method": "darts", "sdarts_epsilon": 0.1}, "sdarts_epsilon=0.1 applies only with sdarts"),
    ({"arch_lr": 0.1}, "arch_lr applies to darts/gdas only, not spos"),
    ({"arch_weight_decay": 0.0, "order": 2}, "order, arch_weight_decay apply to darts/gdas only, not spos"),
    ({"method": "darts", "path_dropout_schedule": "constant"}, "path_dropout_schedule='constant' applies only"),
    ({"method": "gdas", "path_dropout": 0.3}, "path_dropout=0.3 applies to darts only, not gdas"),
    ({"path_dropout": 0.2}, "^path_dropout applies to darts only, not spos$"),  # not darts/gdas: gdas refuses it
    ({"path_dropout": 0.2, "order": 2}, "^order applies to darts/gdas only; path_dropout applies to darts only, not"),
    ({"weight_decay": -1}, "weight_decay must be >= 0, got -1"),
    ({"momentum": -1}, r"momentum must be in \[0, 1\), got -1"),
    ({"momentum": 1.0}, r"momentum must be in \[0, 1\), got 1.0"),
    ({"grad_clip": -1}, "grad_clip must be > 0 or None, got -1"),
    ({"method": "darts", "early_stop_skips": 0}, "early_stop_skips must be an integer >= 1, got 0"),
    ({"method": "darts", "early_stop_skips": -2}, "early_stop_skips must be an integer >= 1, got -2"),
    ({"method": "gdas", "gumbel_tau": (-1, 0)}, r"gumbel_tau must be a \(start, end\) pair .* got \(-1, 0\)"),
    ({"method": "gdas", "gumbel_tau": 0.5}, r"gumbel_tau must be a \(start, end\) pair .* got 0.5"),
    ({"epochs": 1.5}, "epochs must be an integer >= 1, got 1.5"),
    ({"epochs": "2"}, "epochs must be an integer >= 1, got '2'"),
    ({"batch_size": True}, "batch_size must be an integer >= 1, got True"),
    ({"lr": float("nan")}, "lr must be > 0, got nan"),
    ({"seed": -1}, "seed must be an integer >= 0, got -1"),
    ({"augment": "yes"}, "augment must be True or False, got 'yes'"),
])
def test_one_shot_config_refuses_invalid_and_ignored_settings(kwargs, message):
    with pytest.raises(UsageError, match=message):
        OneShotConfig(**kwargs)


def test_one_shot_config_keeps_settings_that_apply():
    assert OneShotConfig(method="gdas", gumbel_tau=[5, 0.5], epochs=2, warmup_epochs=1).gumbel_tau == (5.0, 0.5)
    OneShotConfig(method="darts", sdarts="random", sdarts_epsilon=0.3, arch_lr=0.05, arch_weight_decay=0.0)
    OneShotConfig(method="darts", path_dropout=0.2, path_dropout_schedule="constant", grad_clip=None, momentum=0)
    OneShotConfig(epochs=6, start_epoch=5, weight_decay=0.0, gumbel_tau=(10.0, 0.1), sdarts_epsilon=0.03)


@pytest.mark.parametrize("make, message", [
    (lambda data: (_net(), data, {"epochs": 1}), "config must be a OneShotConfig .* got dict"),
    (lambda data: (_net(), None, OneShotConfig(epochs=1)),
     "train_supernet: data must be an ImageDataset .*got NoneType"),
    (lambda data: (_net(num_classes=2), data, OneShotConfig(epochs=1)),
     "data 'toy' has 4 classes, the supernet was built for num_classes=2"),
    (lambda data: (_net(in_channels=3), data, OneShotConfig(epochs=1)),
     r"data 'toy' has 1 input channel\(s\), the supernet was built for in_channels=3"),
])
def test_train_supernet_refuses_bad_arguments_before_training(toy_images, make, message):
    net, data, config = make(toy_images)
    before = _state(net)
    with pytest.raises(UsageError, match=message):
        train_supernet(net, data, config)
    assert _same(before, net.state_dict())


def test_derive_argmax_refuses_spos_and_few_shot_supernets(toy_images, tmp_path):
    spos = _net()
    train_supernet(spos, toy_images, OneShotConfig(epochs=1, batch_size=48))
    with pytest.raises(UsageError, match="derive_argmax: the supernet's architecture weights were never trained"):
        derive_argmax(spos)
    save_supernet(spos, tmp_path / "ck")
    with pytest.raises(UsageError, match="never trained"):  # the flag is saved with the checkpoint
        derive_argmax(load_supernet(tmp_path / "ck")[0])
    few = split_supernet(spos, ["edge_0_3"])
    with pytest.raises(UsageError, match="derive_argmax needs a relaxed supernet .* FewShotSupernet has none"):
        derive_argmax(few)
    with pytest.raises(UsageError, match="perturbation_select needs a relaxed supernet"):
        perturbation_select(few, toy_images)
    train_supernet(spos, toy_images, OneShotConfig(method="darts", epochs=1, batch_size=48))
    assert SPACE.validate(derive_argmax(spos)) is None  # architecture weights trained since: allowed


@pytest.mark.parametrize("args, kwargs, message", [
    ((10, 1), {"C": 4, "n": 1}, r"unknown size argument\(s\) \['n'\]; build_supernet takes \['C', 'N'\]"),
    ((10, 1), {"C": "4"}, "C must be an integer >= 1, got '4'"),
    ((10, 1), {"C": 0}, "C must be an integer >= 1, got 0"),
    ((10, 1), {"N": 0}, "N must be an integer >= 1, got 0"),
    ((0, 1), {}, "num_classes must be an integer >= 1, got 0"),
    ((10, 1.0), {}, "in_channels must be an integer >= 1, got 1.0"),
    ((10, 1), {"drop_path": 2.0}, r"drop_path must be in \[0, 1\), got 2.0"),
    ((10, 1), {"norm": "group"}, "norm must be a nasforge.models.layers.Norm"),
])
def test_build_supernet_refuses_bad_arguments(args, kwargs, message):
    with pytest.raises(UsageError, match=message):
        build_supernet("nb201", *args, **kwargs)


def test_chain_supernet_names_the_choices_it_supports():
    space = ChainSpace([["conv3x3", "conv5x5", "pool"], ["conv3", "skip"]], name="docs")  # docs/spaces.md's
    with pytest.raises(UsageError, match=r"does not support the choice\(s\) \['conv3x3', 'conv5x5', 'pool'\]; "
                                         r"it supports mbconv_e<E>_k<K>\[_se\] .*conv<K> .*skip and identity"):
        build_supernet(space, 10, 1)
    good = ChainSpace([["conv3", "mbconv_e3_k3", "skip"]], name="good")
    torch.manual_seed(0)
    built = build_supernet(good, 10, 1, C=4)
    torch.manual_seed(0)
    assert _same(built.state_dict(), ChainSupernet(good, 10, 1, C=4).state_dict())  # the check draws no numbers


@pytest.mark.parametrize("kwargs, message", [
    ({"deploy": {"c": 16}}, r"deploy must be a dict of sizes C and N .* got \{'c': 16\}"),
    ({"deploy": {"C": 0}}, r"deploy\['C'\] must be an integer >= 1, got 0"),
    ({"latency_repeats": -1}, "latency_repeats must be an integer >= 0, got -1"),
    ({"data": "digts"}, r"unknown data set 'digts' \(did you mean 'digits'\?\); choose from \['digits', 'digits-hard'"),
    ({"score": {"bn": "batch"}}, r"score: unknown setting\(s\) \['bn'\]; choose from \['bn_mode'"),
    ({"score": "batch"}, "score must be a ScoreConfig or a dict of its fields, got 'batch'"),
    ({"score": {"bn_mode": "batch", "batch_size": 0}}, "batch_size must be an integer >= 1, got 0"),
    ({"data_options": {"dir": "x"}}, "data_options must be a dict with keys from"),
    ({"data": "digits", "data_options": {"val_fraction": 0}}, r"data_options val_fraction must be in \(0, 1\)"),
    ({"threads": 0}, "threads must be an integer >= 1, got 0"),
])
def test_supernet_evaluator_refuses_bad_options_before_loading(tmp_path, kwargs, message):
    with pytest.raises(UsageError, match=message):  # checked before the (missing) checkpoint is read
        SupernetEvaluator.from_checkpoint(tmp_path / "missing", **kwargs)


def test_supernet_evaluator_refuses_data_options_with_a_data_set_object(toy_images):
    with pytest.raises(UsageError, match="data_options .* apply to a data set given by name"):
        SupernetEvaluator(_net(), toy_images, data_options={"noise": 0.1})


def test_subnet_scorer_takes_an_architecture_string_and_refuses_bad_ones(toy_images):
    scorer = SubnetScorer(_net(), toy_images, ScoreConfig(bn_mode="batch"))
    assert scorer.score(ARCH) == scorer.score(SPACE.parse(ARCH))
    with pytest.raises(UsageError, match=r"arch '\|bogus\|'"):
        scorer.score("|bogus|")
    with pytest.raises(UsageError, match="arch 42: expected an Architecture"):
        scorer.score(42)
    with pytest.raises(UsageError, match="config must be a ScoreConfig .* got dict"):
        SubnetScorer(_net(), toy_images, {"bn_mode": "batch"})
    with pytest.raises(UsageError, match="SubnetScorer: data 'toy' has 4 classes, .* num_classes=2"):
        SubnetScorer(_net(num_classes=2), toy_images)
    with pytest.raises(UsageError, match="data 'toy' has 4 classes, the supernet was built for num_classes=10: use "
                                         "it on data of its 10 classes"):  # more outputs than classes: scored before
        SubnetScorer(_net(num_classes=10), toy_images)


def test_load_supernet_names_a_damaged_or_mismatched_checkpoint(tmp_path):
    import json
    import pickle

    from nasforge.oneshot.checkpoint import CheckpointError

    ck = tmp_path / "ck"
    save_supernet(_net(), ck, {"data": {"data": "digits"}})
    info = json.loads((ck / "supernet.json").read_text())
    (ck / "supernet.pt").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="supernet.pt' is damaged or not a plain tensor file") as garbage:
        load_supernet(ck)
    (ck / "supernet.pt").write_bytes(pickle.dumps(ARCH))  # a pickle, never unpickled
    with pytest.raises(CheckpointError, match="not a plain tensor file") as pickled:
        load_supernet(ck)
    assert "weights_only=False" not in str(garbage.value) + str(pickled.value)
    save_supernet(_net(), ck, overwrite=True)
    (ck / "supernet.json").write_text(json.dumps({**info, "config": {**info["config"], "C": 3}}))
    with pytest.raises(CheckpointError, match="supernet.pt' does not fit the supernet .* describes"):
        load_supernet(ck)
    (ck / "supernet.json").write_text("{broken")
    with pytest.raises(CheckpointError, match="supernet.json' is damaged: not readable JSON"):
        load_supernet(ck)
    (ck / "supernet.json").write_text(json.dumps({**info, "config": {"C": 2}}))
    with pytest.raises(CheckpointError, match="cannot rebuild the supernet it describes"):
        load_supernet(ck)
    (ck / "supernet.json").write_text(json.dumps({**info, "config": {**info["config"], "C": 2 ** 50}}))
    with pytest.raises(CheckpointError, match=rf"supernet.json': cannot build the supernet it describes "
                                              rf"\{{'C': {2 ** 50}, 'N': 1\}} \(too large"):
        load_supernet(ck)  # the allocator's RuntimeError was a traceback (2**50 channels outgrow any address space)


def test_save_supernet_refuses_meta_keys_of_its_own(tmp_path):
    with pytest.raises(UsageError, match=r"meta keys \['config', 'format'\] are the file's own"):
        save_supernet(_net(), tmp_path / "ck", meta={"format": "x", "config": {}})
    assert not (tmp_path / "ck").exists()


def test_elastic_and_few_shot_of_elastic_supernets_load_and_a_few_shot_one_is_not_split_again(tmp_path):
    from nasforge.oneshot import ElasticChainSupernet

    space = ChainSpace([["mbconv_e3_k3", "mbconv_e6_k5", "skip"], ["mbconv_e3_k3", "mbconv_e3_k5"]], name="mychain")
    torch.manual_seed(0)
    elastic = ElasticChainSupernet(space, 10, 1, C=4)
    for net, folder in ((elastic, "el"), (split_supernet(elastic, ["layer_0"]), "few")):
        save_supernet(net, tmp_path / folder)
        loaded = load_supernet(tmp_path / folder)[0]
        assert type(loaded) is type(net) and _same(net.state_dict(), loaded.state_dict())
    few = split_supernet(_net(), ["edge_0_3"])
    with pytest.raises(UsageError, match=r"already split .* split_supernet\(net, \['edge_0_3', 'edge_0_1'\]\)"):
        split_supernet(few, ["edge_0_1"])


def test_elastic_supernet_refuses_an_even_kernel():
    from nasforge.oneshot import ElasticChainSupernet

    with pytest.raises(UsageError, match=r"odd kernel .* got \['mbconv_e3_k4'\]"):
        ElasticChainSupernet(ChainSpace([["mbconv_e3_k3", "mbconv_e3_k4"]], name="even"), 10, 1, C=4)


@pytest.mark.parametrize("method, allowed, message", [
    ("darts", {"edge_9_9": ["none"]}, r"allowed: unknown decision\(s\) \['edge_9_9'\]"),
    ("spos", {"edge_9_9": ["none"]}, r"allowed: unknown decision\(s\) \['edge_9_9'\]"),
    ("darts", {"edge_0_3": ["conv9"]}, r"allowed\['edge_0_3'\] must be a non-empty list of options"),
    ("darts", {"edge_0_3": []}, r"allowed\['edge_0_3'\] must be a non-empty list"),
    ("spos", {"edge_0_3": "none"}, r"allowed\['edge_0_3'\] must be a non-empty list"),
    ("darts", {"edge_0_3": ["none", "none"]}, r"allowed\['edge_0_3'\] must be .* each once, got \['none', 'none'\]"),
])
def test_train_supernet_checks_allowed_before_training(toy_images, method, allowed, message):
    net = _net()
    before = _state(net)
    with pytest.raises(UsageError, match=message):
        train_supernet(net, toy_images, OneShotConfig(method=method, epochs=1), allowed=allowed)
    assert _same(before, net.state_dict()) and getattr(net, "arch_trained", None) is None


def test_few_shot_and_progressive_shrinking_refuse_wrong_types_and_ignored_settings(toy_images):
    from nasforge.oneshot import ElasticChainSupernet, progressive_shrinking, train_few_shot

    few = split_supernet(_net(), ["edge_0_3"])
    with pytest.raises(UsageError, match="config must be a OneShotConfig .* got dict"):
        train_few_shot(few, toy_images, {"epochs": 1})
    with pytest.raises(UsageError, match="config must be a OneShotConfig .* got NoneType"):
        train_few_shot(few, toy_images, None)
    with pytest.raises(UsageError, match="train_few_shot needs a FewShotSupernet .* got NB201Supernet"):
        train_few_shot(_net(), toy_images, OneShotConfig(epochs=1))
    elastic = ElasticChainSupernet(ChainSpace([["mbconv_e3_k3", "skip"]], name="el"), 4, 1, C=4)
    with pytest.raises(UsageError, match="needs an ElasticChainSupernet, got NB201Supernet"):
        progressive_shrinking(_net(), toy_images, OneShotConfig())
    with pytest.raises(UsageError, match="config.epochs=5 would be ignored"):
        progressive_shrinking(elastic, toy_images, OneShotConfig(epochs=5), epochs=(1, 1, 1, 1))
    with pytest.raises(UsageError, match="config.start_epoch=2 would be ignored"):
        progressive_shrinking(elastic, toy_images, OneShotConfig(epochs=30, start_epoch=2), epochs=(1, 1, 1, 1))
    with pytest.raises(UsageError, match=r"epochs\[1\] must be an integer >= 0, got -1"):
        progressive_shrinking(elastic, toy_images, OneShotConfig(), epochs=(1, -1, 1, 1))
    no_largest = ElasticChainSupernet(ChainSpace([["mbconv_e6_k3", "mbconv_e3_k5"]], name="nl"), 4, 1, C=4)
    with pytest.raises(UsageError, match=r"layer 'layer_0' \(mbconv_e6_k3, mbconv_e3_k5\) has no mbconv_e6_k5 choice"):
        progressive_shrinking(no_largest, toy_images, OneShotConfig(), epochs=(1, 1, 1, 1))


@pytest.mark.parametrize("kwargs, message", [
    ({"kind": "layer"}, r"unknown norm 'layer'; choose from \['batch', 'ghost', 'group'\]"),
    ({"kind": ["batch"]}, r"unknown norm \['batch'\]"),
    ({"affine": "no"}, "Norm affine must be True or False, got 'no'"),
    ({"kind": "ghost", "ghost_batch": 0}, "Norm ghost_batch must be an integer >= 1, got 0"),
    ({"kind": "group", "groups": 2.5}, "Norm groups must be an integer >= 1, got 2.5"),
])
def test_norm_refuses_bad_settings(kwargs, message):
    """Would fail: Norm(affine='no') was accepted (recorded as 'no', BN kept affine on) and an unknown kind raised
    a plain ValueError."""
    from nasforge.models.layers import Norm

    with pytest.raises(UsageError, match=message):
        Norm(**kwargs)


def test_chain_supernets_refuse_n():
    with pytest.raises(UsageError, match="N=5: a chain supernet has no cells"):
        build_supernet("proxylessnas", 10, 1, C=4, N=5)


@pytest.mark.parametrize("kwargs, message", [
    ({"bn_mode": "inherited", "recal_batches": 3}, "recal_batches=3 applies only with bn_mode='recalibrate'"),
    ({"bn_mode": "batch", "finetune_lr": 0.5}, "finetune_lr=0.5 applies only with finetune_steps > 0"),
    ({"batch_size": 32}, "batch_size=32 applies only with bn_mode='recalibrate' or finetune_steps > 0"),
])
def test_score_config_refuses_ignored_settings(kwargs, message):
    with pytest.raises(UsageError, match=message):
        ScoreConfig(**kwargs)
    ScoreConfig(bn_mode="recalibrate", recal_batches=3, batch_size=32)
    ScoreConfig(finetune_steps=1, finetune_lr=0.5)


def test_choose_split_skips_single_option_decisions_and_checks_n_decisions_first(toy_images, monkeypatch):
    import numpy as np

    from nasforge.oneshot import fewshot as fewshot_mod

    net = build_supernet("darts", 4, 1, C=2)
    asked = []

    def similarity(supernet, data, name, **kw):
        asked.append(name)
        n = len(dict(supernet.space.categorical_params())[name])
        return np.eye(n)

    monkeypatch.setattr(fewshot_mod, "gradient_similarity", similarity)
    with pytest.raises(UsageError, match=r"n_decisions must be an integer in \[1, "):
        fewshot_mod.choose_split(net, toy_images, n_decisions=1000)
    assert asked == []  # refused before any gradient
    plan = fewshot_mod.choose_split(net, toy_images, batches=1)
    single = [n for n, o in net.space.categorical_params().items() if len(o) < 2]
    assert single and not set(single) & set(asked) and plan.on[0] in asked


@pytest.mark.parametrize("function, kwargs, message", [
    ("gradient_similarity", {"decision": "edge_0_1", "batches": 0}, "batches must be an integer >= 1, got 0"),
    ("gradient_similarity", {"decision": "edge_0_1", "batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
    ("choose_split", {"n_groups": 6}, r"choose_split: n_groups=6: no decision has 6 to 10 options to partition "
                                      r"into 6 groups \(the decisions of 'nb201' have \[5\] options\)"),
])
def test_few_shot_messages_name_the_argument_at_fault(function, kwargs, message, toy_images):
    """Would fail: batches=0 said the options share no weights, and n_groups above every decision's option count
    blamed n_decisions ('must be an integer in [1, 0]')."""
    from nasforge.oneshot import fewshot

    with pytest.raises(UsageError, match=message):
        getattr(fewshot, function)(_net(), toy_images, **kwargs)


def test_one_shot_settings_that_could_never_apply_are_refused_before_training(toy_images):
    from nasforge.oneshot import progressive_search, train_few_shot

    net = _net()
    before = _state(net)
    with pytest.raises(UsageError, match="early_stop_skips=7 could never stop training: .* 6 decision"):
        train_supernet(net, toy_images, OneShotConfig(method="darts", epochs=1, early_stop_skips=7))
    assert _same(before, net.state_dict())
    options = dict(SPACE.categorical_params())["edge_0_3"]
    with pytest.raises(UsageError, match=r"groups\['edge_0_3'\] is one group of all its options: .* one part"):
        split_supernet(net, ["edge_0_3"], groups={"edge_0_3": [list(options)]})
    for keep in ((3, 2.5), ("2",), (3, True)):
        with pytest.raises(UsageError, match="need one keep count per depth, each an integer >= 1"):
            progressive_search(lambda depth: _net(), toy_images, OneShotConfig(method="darts"), keep=keep)
    darts = split_supernet(_net(space="darts"), ["normal_node3_inputs"])
    with pytest.raises(UsageError, match=r"method='darts' cannot train parts split on \['normal_node3_inputs'\]: "
                                         r"DartsSupernet's architecture weights .* train the parts with method='spos'"):
        train_few_shot(darts, toy_images, OneShotConfig(method="darts", epochs=1))


def test_supernet_scoring_names_the_channels_a_supernet_needs(toy_images):
    from nasforge.data import from_arrays

    x = toy_images.x_train.numpy().repeat(3, axis=1)  # the same images in 3 channels
    rgb = from_arrays("rgb", (x, toy_images.y_train.numpy()), (x, toy_images.y_train.numpy()), (x[:2], [0, 1]), 4)
    with pytest.raises(UsageError, match="in_channels=1: score it on data with 1 channel.*train a supernet on data "
                                         "with 3 channel"):
        SubnetScorer(_net(), rgb)


def test_load_supernet_refuses_a_damaged_data_record_and_a_mismatched_pair(tmp_path, recwarn):
    import json
    import pickle

    from nasforge.oneshot.checkpoint import CheckpointError

    ck = tmp_path / "ck"
    save_supernet(_net(), ck, {"data": {"data": "digits", "data_options": {"val_fraction": 0.4}}})
    info = json.loads((ck / "supernet.json").read_text())
    for record, message in (("digits", "data must be a record"),
                            ({"data": "digits", "data_options": {"val_fraction": "abc"}},
                             "data_options.val_fraction must be in \\(0, 1\\) \\(networks are scored on the "
                             "validation images\\), got 'abc'"),
                            ({"data": "digits", "data_options": {"val_fraction": 0.5, "test_fraction": 0.5}},
                             "data_options.val_fraction 0.5 \\+ data_options.test_fraction 0.5 must be < 1"),
                            ({"data": "digits", "data_options": {"seed": -1}}, "data_options.seed must be"),
                            ({"data": "digits", "data_options": {"size": 3}}, "data_options must be a dict with keys")):
        (ck / "supernet.json").write_text(json.dumps({**info, "data": record}))
        with pytest.raises(CheckpointError, match=f"supernet.json' is damaged: its data record: {message}"):
            SupernetEvaluator.from_checkpoint(ck)
        load_supernet(ck)  # loading for anything but scoring (derive, train further) does not need the record
        with pytest.raises(UsageError, match=f"meta\\['data'\\]: {message}"):
            save_supernet(_net(), tmp_path / "refused", {"data": record})  # refused when saved, nothing written
        assert not (tmp_path / "refused").exists()
    (ck / "supernet.json").write_text(json.dumps(info))
    assert not [p.name for p in ck.iterdir() if p.name.endswith(".tmp")]  # written through renamed temporaries
    old_weights = (ck / "supernet.pt").read_bytes()
    with torch.no_grad():
        other = _net()
        next(other.parameters()).add_(1.0)
    save_supernet(other, tmp_path / "again")
    (ck / "supernet.pt").write_bytes((tmp_path / "again" / "supernet.pt").read_bytes())  # a save cut between files
    with pytest.raises(CheckpointError, match="supernet.pt' is not the weights file .* was saved with"):
        load_supernet(ck)
    del info["weights_sha256"]  # a supernet saved before the sha256 was recorded loads as before
    (ck / "supernet.json").write_text(json.dumps(info))
    assert load_supernet(ck)[1]["weights_sha256"] == __import__("hashlib").sha256(
        (ck / "supernet.pt").read_bytes()).hexdigest() != __import__("hashlib").sha256(old_weights).hexdigest()
    (ck / "supernet.pt").write_bytes(pickle.dumps({"w": 1}, protocol=4))
    recwarn.clear()
    with pytest.raises(CheckpointError, match="not a plain tensor file"):
        load_supernet(ck)
    assert not [w for w in recwarn if "pickle" in str(w.message)]  # refused without torch's warning first


def test_a_supernet_evaluator_refuses_a_checkpoint_trained_again_since_its_study_started(tmp_path):
    from nasforge.oneshot.checkpoint import CheckpointError

    ck = tmp_path / "ck"
    save_supernet(_net(num_classes=10), ck, {"data": {"data": "digits", "data_options": {}}})
    spec = SupernetEvaluator.from_checkpoint(ck).spec()["kwargs"]
    assert len(spec["weights_sha256"]) == 64
    SupernetEvaluator.from_checkpoint(**spec)  # unchanged: rebuilt as nasforge resume does
    with torch.no_grad():
        other = _net(num_classes=10)
        next(other.parameters()).add_(1.0)
    save_supernet(other, ck, {"data": {"data": "digits", "data_options": {}}}, overwrite=True)
    with pytest.raises(CheckpointError, match="the checkpoint changed since the study started"):
        SupernetEvaluator.from_checkpoint(**spec)
    SupernetEvaluator.from_checkpoint(**{**spec, "weights_sha256": None})  # a spec stored before it was recorded


def test_supernet_evaluator_takes_the_noise_of_digits_hard_and_names_the_real_reason_otherwise(tmp_path):
    ck = tmp_path / "ck"
    options = {"noise": 0.5, "val_fraction": 0.4, "seed": 0}
    save_supernet(_net(num_classes=10), ck, {"data": {"data": "digits-hard", "data_options": options}})
    quiet = SupernetEvaluator.from_checkpoint(ck, data_options={"noise": 0.1})  # the split stays the recorded one
    loud = SupernetEvaluator.from_checkpoint(ck)
    assert torch.equal(quiet.data.y_val, loud.data.y_val) and not torch.equal(quiet.data.x_val, loud.data.x_val)
    assert quiet.spec()["kwargs"]["data_options"]["noise"] == 0.1
    with pytest.raises(UsageError, match="noise=0.1 applies to digits-hard only, not digits"):
        SupernetEvaluator.from_checkpoint(ck, data="digits", data_options={"noise": 0.1})
    with pytest.raises(UsageError, match="contradict the split the supernet was trained on"):
        SupernetEvaluator.from_checkpoint(ck, data_options={"seed": 1})
    # oneshot train records its default noise for any data: a search's stored spec repeats it, and resumes
    plain = tmp_path / "plain"
    save_supernet(_net(num_classes=10), plain, {"data": {"data": "digits", "data_options": options}})
    spec = SupernetEvaluator.from_checkpoint(plain).spec()["kwargs"]
    again = SupernetEvaluator.from_checkpoint(plain, data=spec["data"], data_options=spec["data_options"])
    assert torch.equal(again.data.x_val, SupernetEvaluator.from_checkpoint(plain).data.x_val)
    SupernetEvaluator.from_checkpoint(plain, data="digits", data_options={"noise": 0.5})  # the recorded value
    with pytest.raises(UsageError, match="noise=0.3 applies to digits-hard only, not digits"):
        SupernetEvaluator.from_checkpoint(plain, data="digits", data_options={"noise": 0.3})
