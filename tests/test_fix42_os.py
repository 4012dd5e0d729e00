"""Review 42 fixes of the supernet path: resume from any folder, layouts scored = layouts retrained, the
checkpoint-changed message first, few-shot part limits, save before DARTS-PT, and the speed fixes."""

from __future__ import annotations

import json
import time

import pytest

torch = pytest.importorskip("torch")

from nasforge.cli import main  # noqa: E402
from nasforge.evaluators import SupernetEvaluator  # noqa: E402
from nasforge.exceptions import UsageError  # noqa: E402
from nasforge.experiment import Study  # noqa: E402
from nasforge.oneshot import build_supernet  # noqa: E402
from nasforge.oneshot.checkpoint import save_supernet  # noqa: E402
from nasforge.spaces import ChainSpace  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")
DIGITS = {"data": {"data": "digits", "data_options": {}}}


def _one_line_exit_2(argv, capsys, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


def _interrupted_search(tmp_path, monkeypatch, interrupt_scoring) -> str:
    """A `nasforge search --evaluator supernet --supernet ck` (relative) stopped by Ctrl-C; its storage URL."""
    monkeypatch.chdir(tmp_path)
    save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), tmp_path / "ck", DIGITS)
    url = f"sqlite:///{tmp_path / 'run' / 'study.db'}"
    interrupt_scoring(2)
    assert main(["search", "--evaluator", "supernet", "--supernet", "ck", "--trials", "4", "--retrain", "0",
                 "--workers", "1", "--no-progress", "--out", "run", "--name", "rel", "--strategy", "random"]) != 0
    interrupt_scoring(None)
    return url


def test_a_relative_supernet_is_stored_absolute_so_resume_works_from_any_folder(tmp_path, capsys, monkeypatch,
                                                                                interrupt_scoring):
    url = _interrupted_search(tmp_path, monkeypatch, interrupt_scoring)
    assert Study.load("rel", url).user_attrs["pipeline_config"]["supernet"] == str(tmp_path / "ck")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert main(["resume", "rel", "--storage", url, "--no-progress"]) == 0
    assert sum(t.state.name == "COMPLETE" for t in Study.load("rel", url).trials) == 4


def test_a_study_stored_with_a_relative_supernet_resumes_from_its_evaluator_spec(tmp_path, capsys, monkeypatch,
                                                                                 interrupt_scoring):
    url = _interrupted_search(tmp_path, monkeypatch, interrupt_scoring)
    study = Study.load("rel", url)
    study.set_user_attr("pipeline_config", {**study.user_attrs["pipeline_config"], "supernet": "ck"})  # as before
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert main(["resume", "rel", "--storage", url, "--no-progress"]) == 0


def test_resume_after_retraining_with_another_seed_says_the_checkpoint_changed(tmp_path, capsys, monkeypatch,
                                                                               interrupt_scoring):
    url = _interrupted_search(tmp_path, monkeypatch, interrupt_scoring)
    torch.manual_seed(1)
    save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), tmp_path / "ck",
                  {"data": {"data": "digits", "data_options": {"seed": 1}}}, overwrite=True)
    capsys.readouterr()
    _one_line_exit_2(["resume", "rel", "--storage", url, "--no-progress"], capsys,
                     "the checkpoint changed since the study started")


def _chain_supernet(path, stages):
    space = ChainSpace([["conv3", "skip"], ["conv3", "conv5"], ["conv3", "conv5"], ["conv3", "mbconv_e3_k3"]],
                       stages=stages)
    save_supernet(build_supernet(space, 10, 1, C=2), path, DIGITS)


@pytest.mark.parametrize("config, message", [
    ({"layers": [["conv3", "skip"], ["conv3", "conv5"], ["conv3", "conv5"], ["conv3", "mbconv_e3_k3"]],
      "stages": [3, 1]}, "the search space has other stages than the supernet (layers"),
    ({"layers": [["conv3", "skip"], ["conv3", "conv5"], ["conv3", "conv5"], ["conv3", "mbconv_e6_k3"]],
      "stages": [2, 2]}, "the search space has other layers than the supernet (layers"),
])
def test_a_chain_supernet_is_searched_only_in_its_own_layout(config, message, tmp_path, capsys):
    _chain_supernet(tmp_path / "ck", [2, 2])
    (tmp_path / "space.json").write_text(json.dumps(config))
    _one_line_exit_2(["search", "--space", "chain", "--space-config", str(tmp_path / "space.json"), "--evaluator",
                      "supernet", "--supernet", str(tmp_path / "ck"), "--trials", "2", "--retrain", "0",
                      "--out", str(tmp_path / "run")], capsys, message)
    assert "--space chain)" not in capsys.readouterr().err and not (tmp_path / "run").exists()


def test_an_elastic_supernet_deploys_and_retrains_its_own_widths_and_strides(tmp_path, capsys):
    from nasforge.models import create_model
    from nasforge.oneshot.elastic import ElasticChainSupernet
    from nasforge.training import count_params

    layers = [["mbconv_e3_k3", "skip"], ["mbconv_e3_k3", "mbconv_e6_k5"], ["mbconv_e3_k3", "skip"]]
    space = ChainSpace(layers)
    save_supernet(ElasticChainSupernet(space, 10, 1, C=2, widths=[2, 4, 4], strides=[1, 2, 1]), tmp_path / "ck",
                  DIGITS)
    evaluator = SupernetEvaluator.from_checkpoint(tmp_path / "ck", deploy={"C": 16}, latency_repeats=0)
    arch = space.parse("mbconv_e3_k3|mbconv_e6_k5|skip")
    layout = {"stages": [1, 1, 1], "widths": [16, 32, 32], "strides": [1, 2, 1]}
    assert evaluator.layout(16) == layout
    assert evaluator.evaluate(arch).metrics["params"] == count_params(
        create_model("chain", arch, num_classes=10, in_channels=1, C=16, **layout))
    (tmp_path / "space.json").write_text(json.dumps({"layers": layers}))
    assert main(["search", "--space", "chain", "--space-config", str(tmp_path / "space.json"), "--evaluator",
                 "supernet", "--supernet", str(tmp_path / "ck"), "--trials", "2", "--retrain", "1", "--final-epochs",
                 "1", "--workers", "1", "--no-progress", "--out", str(tmp_path / "run")]) == 0
    model, = (tmp_path / "run" / "models").glob("*/model.json")
    assert json.loads(model.read_text())["model_kwargs"] == {"C": 16, **layout}


def test_elastic_layout_is_empty_for_other_supernets():
    from nasforge.evaluators.supernet import elastic_layout

    assert elastic_layout({"C": 8, "N": 1}, 16) == {}
    with pytest.raises(UsageError):
        SupernetEvaluator(build_supernet("nb201", 10, 1, C=2, N=1), deploy={"C": 0})


def test_a_few_shot_split_over_the_part_limit_is_refused_before_any_work(tmp_path, capsys):
    from nasforge.oneshot import split_supernet
    from nasforge.oneshot.base import MAX_PARTS

    _one_line_exit_2(["oneshot", "train", "--space", "proxylessnas", "--few-shot-split", "layer_1,layer_2,layer_3",
                      "--epochs", "1", "--data", "digits", "--out", str(tmp_path / "sn")], capsys,
                     f"--few-shot-split: splitting on layer_1, layer_2, layer_3 makes 343 sub-supernets")
    assert not (tmp_path / "sn").exists()
    net = build_supernet("proxylessnas", 10, 1, C=2)
    with pytest.raises(UsageError, match=f"343 sub-supernets .*[GM]iB of copies\\), over the limit of {MAX_PARTS}"):
        split_supernet(net, ["layer_1", "layer_2", "layer_3"])
    groups = {name: [["skip"], [o for o in net.space.layers[i] if o != "skip"]]
              for i, name in ((1, "layer_1"), (2, "layer_2"), (3, "layer_3"))}
    assert len(split_supernet(net, list(groups), groups).members) == 8  # grouped: few parts, allowed


def test_darts_pt_saves_the_trained_supernet_before_selecting(tmp_path, capsys, monkeypatch):
    import nasforge.oneshot as oneshot

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(oneshot, "perturbation_select", interrupted)
    assert main(["oneshot", "train", "--space", "nb201", "--method", "darts", "--epochs", "2", "--warmup-epochs", "1",
                 "--C", "2", "--derive", "pt", "--data", "digits", "--out", str(tmp_path / "sn")]) != 0  # Ctrl-C
    info = json.loads((tmp_path / "sn" / "supernet.json").read_text())
    assert info["derived"] is None and info["records"] and (tmp_path / "sn" / "supernet.pt").is_file()


def test_darts_pt_skips_the_zero_operation_and_reports_progress(toy_images, monkeypatch):
    from nasforge.oneshot import OneShotConfig, perturbation_select, train_supernet
    from nasforge.oneshot import derive

    torch.manual_seed(0)
    net = build_supernet("nb201", 4, 1, C=2, N=1)
    train_supernet(net, toy_images, OneShotConfig(method="darts", epochs=1, batch_size=32))
    passes, seen = [], []
    real = derive._accuracy
    monkeypatch.setattr(derive, "_accuracy", lambda *a, **k: passes.append(1) or real(*a, **k))
    arch, log = perturbation_select(net, toy_images, on_decision=lambda i, n, entry: seen.append((i, n)))
    assert len(passes) == 6 * (1 + 4)  # per edge: the base and 4 removals, none of `none`
    assert all(entry["drop"]["none"] == 0.0 for entry in log) and seen == [(i, 6) for i in range(1, 7)]


def test_recalibrated_scores_restore_only_the_norm_buffers_and_score_as_before(toy_images):
    from nasforge.oneshot import ScoreConfig, SubnetScorer, split_supernet

    torch.manual_seed(0)
    for net in (build_supernet("nb201", 4, 1, C=2, N=1), split_supernet(build_supernet("nb201", 4, 1, C=2, N=1),
                                                                        ["edge_0_3"])):
        before = {k: v.clone() for k, v in net.state_dict().items()}
        arch = net.space.parse(net.space.format(net.space.sample(__import__("numpy").random.default_rng(0))))
        scores = [SubnetScorer(net, toy_images, ScoreConfig(bn_mode="recalibrate", draws=2)).score(arch)
                  for _ in range(2)]
        assert scores[0] == scores[1]
        after = net.state_dict()
        assert all(torch.equal(v, after[k]) for k, v in before.items())  # nothing left changed
        tuned = SubnetScorer(net, toy_images, ScoreConfig(bn_mode="recalibrate", finetune_steps=2)).score(arch)
        after = net.state_dict()
        assert tuned and all(torch.equal(v, after[k]) for k, v in before.items())


def test_oneshot_search_measures_no_latency_and_counts_the_whole_evaluation(tmp_path, capsys, monkeypatch):
    seen = {}
    real = SupernetEvaluator.from_checkpoint.__func__

    def spy(cls, *args, **kwargs):
        seen.update(kwargs)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(SupernetEvaluator, "from_checkpoint", classmethod(spy))
    sizes = SupernetEvaluator._size_metrics
    monkeypatch.setattr(SupernetEvaluator, "_size_metrics", lambda self, arch: time.sleep(0.25) or sizes(self, arch))
    save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), tmp_path / "ck", DIGITS)
    assert main(["oneshot", "search", "--supernet", str(tmp_path / "ck"), "--trials", "3", "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert seen["latency_repeats"] == 0 and 0 < summary["archs_per_second"] < 4  # the sizes' time counts


def test_a_skip_criterion_met_at_the_last_epoch_is_no_early_stop(toy_images):
    from nasforge.oneshot import OneShotConfig, train_supernet

    torch.manual_seed(0)
    net = build_supernet("nb201", 4, 1, C=2, N=1)
    config = OneShotConfig(method="gdas", epochs=2, warmup_epochs=1, early_stop_skips=1, batch_size=32)
    record = train_supernet(net, toy_images, config)
    assert record.history[-1]["skips"] >= 1 and record.stopped_early_at is None and record.stop_reason is None
    assert "warm-up: 1 weight-only epoch before" in " ".join(config.tricks())
    record = train_supernet(build_supernet("nb201", 4, 1, C=2, N=1), toy_images,
                            OneShotConfig(method="gdas", epochs=3, warmup_epochs=1, early_stop_skips=1, batch_size=32))
    assert record.stopped_early_at == 1 and "pick" in record.stop_reason and "skip" in record.stop_reason


def test_the_fair_sampling_trick_line_does_not_promise_equal_counts():
    from nasforge.oneshot import OneShotConfig

    line, = [t for t in OneShotConfig(sampling="fair").tricks() if t.startswith("sampling")]
    assert "every option trained equally often" not in line and "about equally often" in line


def test_study_data_passes_only_the_fractions_the_files_leave_to_draw(tmp_path, monkeypatch):
    import numpy as np

    import nasforge.data as data_module
    from nasforge.oneshot.study import study_data

    rng = np.random.default_rng(0)
    arrays = {k: rng.random((12, 8, 8)).astype(np.float32) for k in ("x_train", "x_test")}
    arrays |= {k: np.arange(12) % 3 for k in ("y_train", "y_test")}
    np.savez(tmp_path / "d.npz", **arrays)
    seen = {}
    real = data_module.load_dataset

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(data_module, "load_dataset", spy)
    data = study_data("npz", str(tmp_path / "d.npz"), val_fraction=0.25, test_fraction=0.5)
    assert "test_fraction" not in seen and seen["val_fraction"] == 0.25 and len(data.y_test) == 12


def test_the_default_ground_truth_storage_url_encodes_its_path(tmp_path, monkeypatch):
    import nasforge.oneshot.study as study

    seen = []

    def stop(cfg, archs, data, storage, log):
        seen.append(storage)
        raise KeyboardInterrupt

    monkeypatch.setattr(study, "ground_truth", stop)
    with pytest.raises(KeyboardInterrupt):
        study.run_ranking_study(study.RankingConfig(k=10, gt_seeds=1), tmp_path / "a%41 b#", log=lambda _: None)
    from nasforge.experiment.storage.urls import sqlite_path

    assert sqlite_path(seen[0]) == str(tmp_path / "a%41 b#" / "ground_truth.db")


def test_supernet_path_errors_name_what_the_user_gave(tmp_path, capsys):
    from nasforge.data import from_arrays
    import numpy as np

    save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), tmp_path / "ck", DIGITS)
    x = np.zeros((20, 3, 8, 8), np.float32)
    rgb = from_arrays("rgb", (x, np.arange(20) % 10), (x, np.arange(20) % 10), (x, np.arange(20) % 10), 10)
    net = build_supernet("nb201", 10, 1, C=2, N=1)
    with pytest.raises(UsageError, match="^supernet: data 'rgb' has 3 input channel"):
        SupernetEvaluator(net, rgb)
    _one_line_exit_2(["search", "--evaluator", "supernet", "--supernet", str(tmp_path / "ck"), "--objectives",
                      "train_seconds:min,val_acc:max", "--trials", "2", "--out", str(tmp_path / "run")], capsys,
                     "with the supernet evaluator, which does not report train_seconds,")
