"""The trainer, cost metrics and the TrainingEvaluator (tiny networks, few epochs, data subsets)."""

import json
import math
import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from nasforge.data import load_dataset
from nasforge.evaluators import Result, TrainingEvaluator
from nasforge.exceptions import UsageError
from nasforge.models import create_model
from nasforge.spaces import get_space
from nasforge.training import TrainConfig, Trainer, count_flops, count_params, measure_latency

SPACE = get_space("nb201")
ARCH = SPACE.parse("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|")


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits").subset(0.3)


def _model(seed=0, C=4):
    torch.manual_seed(seed)
    return create_model("nb201", ARCH, num_classes=10, in_channels=1, C=C, N=1)


def test_training_learns_digits_and_reports_each_epoch(digits):
    epochs = []
    result = Trainer(TrainConfig(epochs=3, batch_size=32)).fit(_model(), digits,
                                                                on_epoch=lambda e, r: epochs.append((e, r["val_acc"])))
    assert [e for e, _ in epochs] == [1, 2, 3]  # epochs completed
    assert result.val_acc == epochs[-1][1] and result.val_acc > 30  # chance is 10%
    assert result.test_acc > 30 and result.train_seconds > 0 and len(result.history) == 3
    assert set(result.metrics()) == {"val_acc", "val_loss", "test_acc", "test_loss", "train_loss", "train_seconds",
                                     "epochs"}


def test_training_is_deterministic_and_seed_dependent(digits):
    cfg = TrainConfig(epochs=1, batch_size=64, seed=3)
    a = Trainer(cfg).fit(_model(), digits)
    b = Trainer(cfg).fit(_model(), digits)
    c = Trainer(TrainConfig(epochs=1, batch_size=64, seed=4)).fit(_model(), digits)
    assert (a.val_loss, a.test_loss) == (b.val_loss, b.test_loss)
    assert a.val_loss != c.val_loss


@pytest.mark.parametrize("opts", [dict(optimizer="adamw", lr=3e-3, schedule="constant", grad_clip=None,
                                       label_smoothing=0.0, augment=False)])
def test_adamw_constant_schedule_without_clipping(digits, opts):
    result = Trainer(TrainConfig(epochs=2, batch_size=32, **opts)).fit(_model(), digits)
    assert result.val_acc > 30


def test_merge_val_trains_on_validation_too_and_hides_validation_metrics(digits):
    sizes = []
    model = _model()
    model.register_forward_pre_hook(lambda m, inp: sizes.append(inp[0].shape[0]) if m.training else None)
    result = Trainer(TrainConfig(epochs=1, batch_size=10_000)).fit(model, digits, merge_val=True)
    assert sizes == [len(digits.y_train) + len(digits.y_val)]
    assert math.isnan(result.val_acc) and result.test_acc > 0


def test_optimizer_groups_skip_weight_decay_for_norms_and_biases():
    opt = Trainer(TrainConfig(weight_decay=1e-3)).make_optimizer(_model())
    decayed, plain = opt.param_groups
    assert decayed["weight_decay"] == 1e-3 and plain["weight_decay"] == 0.0
    assert all(p.ndim > 1 for p in decayed["params"]) and all(p.ndim == 1 for p in plain["params"])


@pytest.mark.parametrize("bad,match", [(dict(optimizer="rmsprop"), "unknown optimizer"),
                                       (dict(schedule="step"), "unknown schedule"),
                                       (dict(epochs=0), "epochs"), (dict(grad_clip=0.0), "grad_clip"),
                                       (dict(epochs="3"), "epochs must be an integer >= 1, got '3'"),
                                       (dict(epochs=2.5), "epochs must be an integer >= 1, got 2.5"),
                                       (dict(batch_size=True), "batch_size must be an integer >= 1, got True"),
                                       (dict(eval_batch_size=0), "eval_batch_size"), (dict(seed=-1), "seed"),
                                       (dict(lr=float("nan")), "lr must be a positive number, got nan"),
                                       (dict(lr=float("inf")), "lr must be a positive number, got inf"),
                                       (dict(momentum=-1), r"momentum must be in \[0, 1\), got -1"),
                                       (dict(weight_decay=-0.1), "weight_decay"),
                                       (dict(label_smoothing=1.0), "label_smoothing"),
                                       (dict(auxiliary_weight=float("nan")), "auxiliary_weight"),
                                       (dict(grad_clip="5"), "grad_clip"), (dict(augment="no"), "augment"),
                                       (dict(optimizer="adamw", momentum=0.5),
                                        r"momentum 0.5 applies to the sgd optimizer only \(adamw sets its own\)"),
                                       (dict(seed=2**70), r"seed must be < 2\*\*63 \(a 64-bit seed\), got 11805916")])
def test_config_rejects_bad_values(bad, match):
    with pytest.raises(UsageError, match=match):
        TrainConfig(**bad)


@pytest.mark.parametrize("bad,match", [
    (dict(threads="2"), r"threads must be an integer >= 1 and <= \d+, got '2'"),
    (dict(C=0), "C must be an integer >= 1, got 0"), (dict(N=0), "N must be"), (dict(seed=-1), "seed must be"),
    (dict(fidelity={"width": float("nan")}), "fidelity width must be a positive number, got nan"),
    (dict(fidelity={"data_fraction": 0}), r"fidelity data_fraction must be in \(0, 1\]"),
    (dict(fidelity={"epochs": 1.5}), "fidelity epochs must be an integer"),
    (dict(train={"epochs": "3"}), "epochs must be an integer"),
    (dict(train={"epoch": 3}), r"unknown training setting\(s\) \['epoch'\]"),
    (dict(deploy={"C": 0}), "deploy C must be"), (dict(latency_repeats=0), "latency_repeats"),
    (dict(merge_val="yes"), "merge_val"), (dict(model_kwargs=[1]), "model_kwargs must be a dict"),
    (dict(seed=2**64), r"seed must be < 2\*\*63"), (dict(data_seed=2**63), r"data_seed must be < 2\*\*63"),
    (dict(threads=100_000), r"threads must be an integer >= 1 and <= \d+, got 100000"),
    (dict(model_kwargs={"C": 8}), r"model_kwargs \['C'\]: the evaluator sets them"),
    (dict(data_options={"val_fraction": 2.0}), r"data_options val_fraction must be in \(0, 1\) \(networks are scored"),
    (dict(data_options={"val_fraction": 0}), r"data_options val_fraction must be in \(0, 1\)"),  # no validation
    (dict(data_options={"val_fraction": 2.0}, merge_val=True), r"data_options val_fraction must be in \[0, 1\), got 2"),
    (dict(data_options={"val_fraction": 0.6, "test_fraction": 0.5}),
     r"data_options val_fraction 0.6 \+ data_options test_fraction 0.5 must be < 1"),
    (dict(data_options={"val_fraction": 0.95}), r"val_fraction 0.95 \+ data_options test_fraction 0.1 must be < 1"),
])
def test_evaluator_refuses_bad_settings_up_front(bad, match):
    with pytest.raises(UsageError, match=match):
        TrainingEvaluator("digits", **bad)


def test_evaluator_merging_validation_may_leave_no_validation_images():
    """merge_val trains on the validation images and validates on none: an empty validation split is fine."""
    assert TrainingEvaluator("digits", merge_val=True, data_options={"val_fraction": 0}).data_options == {
        "val_fraction": 0}


def test_evaluator_refuses_data_it_cannot_load_up_front():
    with pytest.raises(UsageError, match=r"data 'foo': unknown data set; choose from \['digits'"):
        TrainingEvaluator("foo")
    with pytest.raises(UsageError, match=r"data npz: needs a data directory \(data_dir: its folder or file\)"):
        TrainingEvaluator("npz")


@pytest.mark.parametrize("kwargs, match", [
    (dict(data="digits", data_dir="x"), "data_dir x applies to data read from files, not digits"),
    (dict(data="digits", data_options={"noise": 2.0}), "data_options noise 2.0 applies to digits-hard only"),
    (dict(data="cifar10", data_dir=".", data_options={"noise": 2.0}), "noise 2.0 applies to digits-hard only"),
    (dict(data="digits-hard"), "data 'digits-hard' is a one-shot study's data set"),
    (dict(data="digits-hard", data_options={"noise": -1}), "data_options noise must be >= 0, got -1"),
])
def test_evaluator_refuses_data_settings_that_would_be_ignored(kwargs, match):
    with pytest.raises(UsageError, match=match):
        TrainingEvaluator(**kwargs)


def test_evaluator_refuses_a_cifar_test_fraction_where_its_test_batch_is(tmp_path):
    """Where the batches are missing, the load says so rather than blaming a test batch that is not there."""
    (tmp_path / "cifar-10-batches-bin").mkdir()
    (tmp_path / "cifar-10-batches-bin" / "test_batch.bin").write_bytes(b"")
    with pytest.raises(UsageError, match="data_options test_fraction 0.5 does not apply to cifar10: its test split "
                                         "is its own"):
        TrainingEvaluator("cifar10", data_dir=str(tmp_path), data_options={"test_fraction": 0.5})
    (tmp_path / "none").mkdir()  # a folder that does not exist is refused as such (a MissingFileError)
    TrainingEvaluator("cifar10", data_dir=str(tmp_path / "none"), data_options={"test_fraction": 0.5})


FAST = {"epochs": 1, "data_fraction": 0.1}


def test_a_chain_trains_with_the_default_n_and_other_depths_are_refused_before_training(digits):
    proxyless = get_space("proxylessnas")
    arch = proxyless.sample(0)
    assert TrainingEvaluator(digits, C=4, fidelity=FAST, latency_repeats=1).evaluate(arch).ok  # N=1 by default
    for settings, match in ((dict(N=None, fidelity={**FAST, "cells": 2}), "fidelity cells=2: the proxylessnas network"),
                            (dict(N=None, deploy={"C": 8, "N": 2}, fidelity=FAST), "deploy N=2: the proxylessnas"),
                            (dict(N=3, fidelity=FAST), "N=3: the proxylessnas network has no cells to repeat")):
        with pytest.raises(UsageError, match=match):
            TrainingEvaluator(digits, C=4, **settings).evaluate(arch)


def test_model_kwargs_the_network_does_not_take_are_refused_before_training(digits):
    with pytest.raises(UsageError, match=r"model_kwargs \['foo'\]: the nb201 network takes no such argument"):
        TrainingEvaluator(digits, C=4, N=1, model_kwargs={"foo": 1}, fidelity=FAST).evaluate(ARCH)


def test_fidelities_that_break_the_network_are_usage_errors_naming_them(digits):
    nb101 = get_space("nb101").parse("ops=input,conv3x3-bn-relu,conv1x1-bn-relu,maxpool3x3,output;"
                                     "matrix=01110/00001/00001/00001/00000")
    with pytest.raises(UsageError, match=r"'width': 0.25.* \(network size \{'C': 2, 'N': 1\}\): C=2: NAS-Bench-101"):
        TrainingEvaluator(digits, C=8, N=1, fidelity={**FAST, "width": 0.25}).evaluate(nb101)
    # refused for every cell alike, not only for those whose output has more inputs than channels (a run stops
    # at its first trial on misuse: a cell-dependent refusal made that depend on the seed)
    chain = get_space("nb101").parse("ops=input,conv3x3-bn-relu,output;matrix=010/001/000")
    with pytest.raises(UsageError, match=r"C=4: NAS-Bench-101 cells need C >= 5"):
        TrainingEvaluator(digits, C=4, N=1, fidelity=FAST).evaluate(chain)
    with pytest.raises(UsageError, match=r"cannot run on images of shape \[1, 1, 1\] \(fidelity .*'resolution': 1"):
        TrainingEvaluator(digits, C=8, N=1, fidelity={**FAST, "resolution": 1}).evaluate(chain)  # NB201 runs on 1x1


def test_evaluator_refuses_a_save_dir_it_cannot_use_before_training(tmp_path):
    (tmp_path / "file").write_text("x")
    for save_dir in (tmp_path / "file", tmp_path / "file" / "models"):
        with pytest.raises(UsageError, match="is a file, not a folder"):
            TrainingEvaluator("digits", save_dir=save_dir)
    with pytest.raises(UsageError, match="must be plain JSON"):
        TrainingEvaluator("digits", save_dir=tmp_path, model_kwargs={"space": object()})
    with pytest.raises(UsageError, match="not plain JSON"):
        TrainingEvaluator("digits", model_kwargs={"space": object()}).spec()


def test_cost_metrics():
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, bias=False), torch.nn.Flatten(), torch.nn.Linear(2 * 4 * 4, 3))
    assert count_params(model) == 1 * 2 * 9 + 32 * 3 + 3
    model[0].requires_grad_(False)  # a frozen layer is still part of the deployed network
    assert count_params(model) == 1 * 2 * 9 + 32 * 3 + 3
    # conv: 2 outputs x 16 positions x 9 MACs; linear: 32 x 3 MACs; a MAC counts 2 FLOPs
    assert count_flops(model, (1, 6, 6)) == 2 * (2 * 16 * 9 + 32 * 3)
    assert model.training  # restored
    latency = measure_latency(model, (1, 6, 6), repeats=5)
    assert 0 < latency < 1000
    with pytest.raises(ValueError, match="repeats"):
        measure_latency(model, (1, 6, 6), repeats=0)


class _ThreadProbe(torch.nn.Module):
    """Records the torch thread count each forward pass runs with."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []

    def forward(self, x):
        self.seen.append(torch.get_num_threads())
        return x


def test_latency_is_measured_on_one_thread_and_the_setting_restored():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        probe = _ThreadProbe()
        measure_latency(probe, (1, 2, 2), repeats=3, warmup=1)
        assert probe.seen == [1] * 4 and torch.get_num_threads() == 2
        probe.seen.clear()
        measure_latency(probe, (1, 2, 2), repeats=3, warmup=1, threads=None)  # the current setting
        assert probe.seen == [2] * 4
    finally:
        torch.set_num_threads(before)


def test_evaluator_metrics_fidelity_and_reporting(digits):
    reports = []

    class Reporter:
        def report(self, step, value):
            reports.append((step, value))

    ev = TrainingEvaluator(digits, C=4, N=1, train={"epochs": 5, "batch_size": 64}, fidelity={"epochs": 2},
                           latency_repeats=2)
    result = ev.evaluate(ARCH, reporter=Reporter())
    assert isinstance(result, Result) and result.ok
    assert {"val_acc", "test_acc", "params", "flops", "latency_ms", "train_seconds"} <= set(result.metrics)
    assert result.metrics["epochs"] == 2 and [s for s, _ in reports] == [1, 2]  # the last step is the budget
    assert result.intermediate == reports and result.cost >= result.metrics["train_seconds"]
    wide = ev.evaluate(ARCH, fidelity={"epochs": 1, "width": 2.0, "cells": 2, "resolution": 12,
                                       "data_fraction": 0.5})
    assert wide.metrics["params"] > result.metrics["params"] and wide.metrics["flops"] > 4 * result.metrics["flops"]
    with pytest.raises(ValueError, match=r"unknown fidelity knob\(s\) \['lr'\]"):
        ev.evaluate(ARCH, fidelity={"lr": 0.1})


def test_a_budget_1_hyperband_trial_is_never_pruned_at_its_only_report(digits):
    """The evaluator reports epochs completed (1-based), so a trial's last report is at its budget: a pruner
    that would stop most trials (median of one other) stops none of hyperband's 1-epoch trials."""
    from nasforge import Study, TrialState

    ev = TrainingEvaluator(digits, C=4, N=1, fidelity={"data_fraction": 0.2}, latency_repeats=1)
    study = Study(SPACE, "hyperband", objectives="val_acc", seed=0)
    study.optimize(ev, n_trials=6, pruner={"name": "median", "n_startup_trials": 1})
    assert [t.fidelity["epochs"] for t in study.trials] == [1] * 6
    assert all(t.state == TrialState.COMPLETE and [s for s, _ in t.intermediate] == [1] for t in study.trials)


def test_evaluator_is_deterministic_and_picklable_without_data():
    ev = TrainingEvaluator("digits", C=4, N=1, fidelity={"epochs": 1, "data_fraction": 0.2}, latency_repeats=1)
    first = ev.evaluate(ARCH).metrics
    clone = pickle.loads(pickle.dumps(ev))
    assert len(pickle.dumps(ev)) < 2000  # the data set is loaded in the worker, not shipped
    second = clone.evaluate(ARCH).metrics
    assert first["val_loss"] == second["val_loss"] and first["params"] == second["params"]


def test_evaluator_merge_val_reports_test_only(digits):
    result = TrainingEvaluator(digits, C=4, N=1, fidelity={"epochs": 1}, merge_val=True,
                               latency_repeats=1).evaluate(ARCH)
    assert "test_acc" in result.metrics and not any(k.startswith("val_") for k in result.metrics)


def test_evaluator_spec_rebuilds_the_same_evaluator(digits):
    from nasforge.experiment.evaluator_spec import build_evaluator

    ev = TrainingEvaluator("digits", C=4, N=2, train={"epochs": 3, "optimizer": "adamw", "lr": 0.01},
                           fidelity={"data_fraction": 0.5}, seed=7)
    spec = json.loads(json.dumps(ev.spec()))  # plain JSON
    clone = build_evaluator(spec)
    assert isinstance(clone, TrainingEvaluator) and clone.spec() == spec
    assert clone.train == ev.train and clone.fidelity == {"data_fraction": 0.5} and clone.seed == 7
    with pytest.raises(ValueError, match="in-memory data set"):
        TrainingEvaluator(digits).spec()


def test_evaluator_measures_cost_on_the_deployed_size(digits):
    ev = TrainingEvaluator(digits, C=4, N=1, fidelity={"epochs": 1}, deploy={"C": 8, "N": 2}, latency_repeats=1)
    metrics = ev.evaluate(ARCH).metrics
    deployed = create_model("nb201", ARCH, num_classes=10, in_channels=1, C=8, N=2)
    assert metrics["params"] == count_params(deployed) and metrics["flops"] == count_flops(deployed, (1, 8, 8))
    assert metrics["trained_params"] == count_params(_model(C=4)) < metrics["params"]
    with pytest.raises(ValueError, match=r"deploy sizes are C and N, got \['depth'\]"):
        TrainingEvaluator(digits, deploy={"depth": 3})
    low = TrainingEvaluator(digits, C=4, N=1, fidelity={"epochs": 1, "resolution": 4}, deploy={"C": 8, "N": 2},
                            latency_repeats=1).evaluate(ARCH).metrics
    assert low["flops"] == metrics["flops"] and low["params"] == metrics["params"]  # at the data's full resolution


def test_drop_path_training_repeats_whatever_the_global_rng_state(digits):
    arch = get_space("darts").sample(0)
    losses = []
    for global_seed in (1, 2):
        torch.manual_seed(0)
        model = create_model("darts", arch, num_classes=10, in_channels=1, C=2, N=1, drop_path=0.5)
        torch.manual_seed(global_seed)  # the state a caller happens to leave
        losses.append(Trainer(TrainConfig(epochs=1, batch_size=64)).fit(model, digits).train_loss)
        assert torch.initial_seed() == global_seed  # the caller's RNG is left as it was
    assert losses[0] == losses[1]


def test_a_last_batch_of_one_image_joins_the_one_before():
    tiny = load_dataset("digits").resized(4)  # the NB201 network's last maps are 1x1: BatchNorm needs 2 images
    model = create_model("nb201", ARCH, num_classes=10, in_channels=1, C=4, N=1)
    data = replace(tiny, x_train=tiny.x_train[:65], y_train=tiny.y_train[:65])  # 64 + 1
    assert math.isfinite(Trainer(TrainConfig(epochs=1)).fit(model, data).train_loss)
    one = replace(tiny, x_train=tiny.x_train[:1], y_train=tiny.y_train[:1])
    with pytest.raises(UsageError, match="cannot train on a batch of one image .*at least 2 training images"):
        Trainer(TrainConfig(epochs=1)).fit(model, one)


def test_the_evaluator_seeds_its_network_without_resetting_the_callers_rng(digits):
    ev = TrainingEvaluator(digits, C=4, N=1, fidelity=FAST, latency_repeats=1, seed=7)
    results = []
    for caller_seed in (123, 999):
        torch.manual_seed(caller_seed)
        results.append(ev.evaluate(ARCH).metrics)
        after = torch.rand(3)
        torch.manual_seed(caller_seed)
        assert torch.equal(after, torch.rand(3))  # as if evaluate had drawn nothing
    assert {k: v for k, v in results[0].items() if k not in ("latency_ms", "train_seconds")} == \
        {k: v for k, v in results[1].items() if k not in ("latency_ms", "train_seconds")}


def test_a_network_trained_on_the_study_split_saves_the_digits_preprocessing(tmp_path):
    ev = TrainingEvaluator("digits", C=4, N=1, fidelity=FAST, latency_repeats=1, save_dir=tmp_path,
                           data_options={"val_fraction": 0.2, "test_fraction": 0.2})
    folder = ev.evaluate(ARCH).user_attrs["model_dir"]
    saved = json.loads((Path(folder) / "model.json").read_text())["preprocessing"]
    assert saved["scale"] == 1 / 16 and saved["class_names"] == [str(i) for i in range(10)]
    assert saved == load_dataset("digits").preprocessing()  # the same split as load_dataset's


def test_a_saved_network_reports_its_own_cost_and_the_deploy_size_cost_apart(digits, tmp_path):
    """model.json (and so an export's sidecar) described the deploy-size network under the plain names."""
    from nasforge.export import export_model, load_model, read_info

    ev = TrainingEvaluator(digits, C=4, N=1, fidelity={"epochs": 1}, deploy={"C": 8, "N": 2}, latency_repeats=1,
                           save_dir=str(tmp_path / "models"))
    result = ev.evaluate(ARCH)
    folder = result.user_attrs["model_dir"]
    model, info = load_model(folder)
    saved = info["metrics"]
    assert saved["params"] == count_params(model) == result.metrics["trained_params"] < result.metrics["params"]
    assert saved["flops"] == count_flops(model, (1, 8, 8)) and saved["latency_ms"] > 0
    assert saved["deploy"] == {"size": {"C": 8, "N": 2}, **{k: result.metrics[k] for k in ("params", "flops",
                                                                                           "latency_ms")}}
    assert saved["test_acc"] == result.metrics["test_acc"]
    export_model(folder, "safetensors", tmp_path / "x.safetensors")
    assert json.loads((tmp_path / "x.safetensors.json").read_text())["metrics"]["params"] == count_params(model)
    plain = TrainingEvaluator(digits, C=4, N=1, fidelity={"epochs": 1}, latency_repeats=1,
                              save_dir=str(tmp_path / "plain")).evaluate(ARCH)
    assert "deploy" not in read_info(plain.user_attrs["model_dir"])["metrics"]


def test_evaluator_refuses_a_split_fraction_for_a_split_the_files_hold(tmp_path):
    """A folder's own val/ and test/, an NPZ file's x_test, were used and the fraction ignored without a word."""
    from PIL import Image

    for split in ("train", "val", "test"):
        for cls in ("a", "b"):
            (tmp_path / "f" / split / cls).mkdir(parents=True)
            Image.new("L", (4, 4)).save(tmp_path / "f" / split / cls / "0.png")
    x, y = np.zeros((20, 4, 4), dtype=np.uint8), np.arange(20) % 2
    np.savez(tmp_path / "d.npz", x=x, y=y, x_test=x[:4], y_test=y[:4])
    for data, data_dir, options, match in (
            ("folder", tmp_path / "f", {"val_fraction": 0.3}, r"val_fraction 0.3 does not apply to folder .*f: its "
                                                              r"val split is its folder val/"),
            ("folder", tmp_path / "f", {"test_fraction": 0.3}, "its test split is its folder test/"),
            ("npz", tmp_path / "d.npz", {"test_fraction": 0.3}, "its test split is its array 'x_test'")):
        with pytest.raises(UsageError, match=match):
            TrainingEvaluator(data, data_dir=data_dir, data_options=options)
    # any value but study_data's defaults, which older saved supernets passed on and stored specs recorded: those
    # still rebuild (a resume of such a study must not be refused), the others are refused
    for options in ({"val_fraction": 0.1}, {"val_fraction": 0.5}, {"test_fraction": 0.2, "noise": 0.5}):
        with pytest.raises(UsageError, match=r"does not apply to folder .*f: its (val|test) split is its folder "
                                             r"(val|test)/; leave it out"):
            TrainingEvaluator("folder", data_dir=tmp_path / "f", data_options=options)
    TrainingEvaluator("folder", data_dir=tmp_path / "f", data_options={"val_fraction": 0.4, "test_fraction": 0.1})
    # left out, or for a split drawn from the files, a fraction is fine
    TrainingEvaluator("folder", data_dir=tmp_path / "f", data_options={"noise": 0.5})
    TrainingEvaluator("npz", data_dir=tmp_path / "d.npz", data_options={"val_fraction": 0.3})
