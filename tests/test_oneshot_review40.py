"""Review 40 of the oneshot area: size metrics of a named chain space, ``--k`` bounded by the space, ``--finetune-steps
0`` refused, the few-shot shared-seed flag as typed, the augmentation used in training records, ``oneshot search
--score-by``, the note for a supernet without a data record, the absolute resume storage and the search header
without retraining."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nasforge.cli import main  # noqa: E402
from nasforge.evaluators import SupernetEvaluator  # noqa: E402
from nasforge.exceptions import UsageError  # noqa: E402
from nasforge.models import create_model  # noqa: E402
from nasforge.oneshot import ElasticChainSupernet, OneShotConfig, build_supernet, train_supernet  # noqa: E402
from nasforge.oneshot.checkpoint import save_supernet  # noqa: E402
from nasforge.oneshot.study import RankingConfig, connected_count, run_ranking_study  # noqa: E402
from nasforge.spaces import ChainSpace  # noqa: E402
from nasforge.training import count_params  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")
DIGITS = {"data": {"data": "digits", "data_options": {}}}
LAYERS = [["conv3", "mbconv_e3_k3", "skip"], ["conv3", "mbconv_e6_k5"]]



@pytest.mark.parametrize("name", [None, "mychain"])
def test_chain_supernet_has_size_metrics_whatever_the_space_name(tmp_path, name):
    space = ChainSpace(LAYERS, **({"name": name} if name else {}))
    save_supernet(build_supernet(space, 10, 1, C=4), tmp_path / "c", DIGITS)
    evaluator = SupernetEvaluator.from_checkpoint(tmp_path / "c", score={"bn_mode": "inherited"},
                                                  latency_repeats=1)
    metrics = evaluator.evaluate(space.sample(0)).metrics
    assert {"params", "flops", "latency_ms"} <= set(metrics) and metrics["params"] > 0


def test_elastic_supernet_of_a_named_chain_space_has_size_metrics():
    space = ChainSpace([["mbconv_e3_k3", "mbconv_e6_k5"], ["mbconv_e6_k5", "mbconv_e3_k3", "skip"]], name="mb")
    evaluator = SupernetEvaluator(ElasticChainSupernet(space, 10, 1, C=8), "digits", {"bn_mode": "inherited"},
                                  latency_repeats=0)
    assert evaluator.evaluate(space.sample(0)).metrics["params"] > 0
    space = ChainSpace([["mbconv_e3_k3", "mbconv_e6_k5"], ["mbconv_e6_k5", "mbconv_e3_k3"]], name="mb")
    arch = space.sample(0)
    wide = SupernetEvaluator(ElasticChainSupernet(space, 10, 1, C=8, widths=[8, 16], strides=[1, 2]), "digits",
                             {"bn_mode": "inherited"}, latency_repeats=0)  # its own widths and strides per layer
    standalone = create_model("chain", arch, num_classes=10, in_channels=1, C=8, stages=[1, 1], widths=[8, 16],
                              strides=[1, 2])
    assert wide.evaluate(arch).metrics["params"] == count_params(standalone)
    deployed = SupernetEvaluator(ElasticChainSupernet(space, 10, 1, C=8, widths=[8, 16], strides=[1, 2]), "digits",
                                 {"bn_mode": "inherited"}, latency_repeats=0, deploy={"C": 16})
    metrics = deployed.evaluate(arch).metrics  # deployed: its layout at C=16, as stage 2 retrains; scored: as is
    assert metrics["params"] == count_params(create_model("chain", arch, num_classes=10, in_channels=1, C=16,
                                                          stages=[1, 1], widths=[16, 32], strides=[1, 2]))
    assert metrics["scored_params"] == count_params(standalone)


def test_search_with_a_named_chain_supernet_optimizes_params(tmp_path, capsys):
    (tmp_path / "space.json").write_text(json.dumps({"layers": LAYERS, "name": "mychain"}))
    save_supernet(build_supernet(ChainSpace(LAYERS, name="mychain"), 10, 1, C=4), tmp_path / "c", DIGITS)
    assert main(["search", "--evaluator", "supernet", "--supernet", str(tmp_path / "c"), "--space", "chain",
                 "--space-config", str(tmp_path / "space.json"), "--trials", "3", "--retrain", "0", "--workers", "1",
                 "--no-progress", "--out", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "Pareto front" in out and "retrained at full size" not in out  # --retrain 0: nothing retrained


def test_k_above_the_distinct_architectures_is_refused_before_any_work(tmp_path, capsys):
    assert connected_count("nb201") == 5259
    with pytest.raises(UsageError, match="k must be at most 5259 for nb201"):
        RankingConfig(k=5260).validate()
    with pytest.raises(UsageError, match="k must be at most 5259"):
        run_ranking_study(RankingConfig(k=5260), tmp_path / "py")
    assert main(["oneshot", "study", "--k", "100000", "--out", str(tmp_path / "st")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("error: --k must be at most 5259 for nb201: it has 5259 distinct architectures whose output "
                        "depends on the input, got 100000") and len(err.splitlines()) == 1
    assert not (tmp_path / "st").exists() and not (tmp_path / "py").exists()


def test_finetune_steps_zero_is_refused(tmp_path, capsys):
    with pytest.raises(UsageError, match="finetune_steps must be an integer >= 1, got 0"):
        RankingConfig(finetune_steps=0).validate()
    assert main(["oneshot", "study", "--k", "10", "--finetune-steps", "0", "--out", str(tmp_path / "st")]) == 2
    assert "error: argument --finetune-steps: must be a positive integer, got 0" in capsys.readouterr().err
    assert not (tmp_path / "st").exists()


@pytest.mark.parametrize("flag", ["--few-shot-shared-seed", "--no-few-shot-shared-seed"])
def test_shared_seed_error_names_the_flag_typed(tmp_path, capsys, flag):
    assert main(["oneshot", "train", flag, "--epochs", "1", "--out", str(tmp_path / "y")]) == 2
    assert capsys.readouterr().err.strip().endswith(f"error: {flag} applies only with --few-shot-split")


@pytest.mark.parametrize(("augment", "used"), [(None, "crop"), ("none", "none"), ("crop_flip", "crop_flip")])
def test_training_record_names_the_augmentation_used(toy_images, augment, used):
    from dataclasses import replace

    data = toy_images if augment is None else replace(toy_images, augment=augment)
    record = train_supernet(build_supernet("nb201", 4, 1, C=2, N=1), data, OneShotConfig(epochs=1))
    assert record.to_json()["config"]["augment"] == used
    off = train_supernet(build_supernet("nb201", 4, 1, C=2, N=1), data, OneShotConfig(epochs=1, augment=False))
    assert off.config["augment"] == "none"


def test_cli_train_records_augment_none(tmp_path, capsys):
    out = tmp_path / "aug"
    assert main(["oneshot", "train", "--data", "digits", "--augment", "none", "--epochs", "1", "--C", "2",
                 "--batch-size", "256", "--out", str(out)]) == 0
    assert json.loads((out / "supernet.json").read_text())["records"][0]["config"]["augment"] == "none"


def test_an_older_record_with_a_bool_augment_still_loads(tmp_path):
    folder = tmp_path / "old"
    save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), folder, {**DIGITS, "records": [{"config": {
        "augment": True}}]})
    evaluator = SupernetEvaluator.from_checkpoint(folder, score={"bn_mode": "inherited"}, latency_repeats=0)
    assert "val_acc" in evaluator.evaluate(evaluator.supernet.space.sample(0)).metrics


@pytest.mark.parametrize(("score_by", "metric", "sign"), [("loss", "val_loss", 1), ("acc", "val_acc", -1)])
def test_oneshot_search_score_by_sets_the_objective_and_the_order(tmp_path, ck, capsys, score_by, metric, sign):
    from nasforge.experiment import Study

    url = f"sqlite:///{tmp_path / 's.db'}"
    assert main(["oneshot", "search", "--supernet", str(ck), "--trials", "5", "--bn-mode", "inherited",
                 "--strategy", "random", "--score-by", score_by, "--storage", url, "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    values = [sign * r[metric] for r in summary["top"]]
    assert summary["score_by"] == score_by and values == sorted(values)
    study = Study.load("oneshot-search", url)
    assert study.objectives == [metric]  # recorded: nasforge resume optimizes the same


def test_oneshot_search_defaults_to_loss(ck, capsys):
    assert main(["oneshot", "search", "--supernet", str(ck), "--trials", "3", "--bn-mode", "inherited"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("ranked by val loss")
    assert lines[1].split() == ["rank", "val_acc", "val_loss", "params", "architecture"]


def test_supernet_without_a_data_record_warns_that_digits_is_assumed(tmp_path):
    save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), tmp_path / "nometa")
    with pytest.warns(UserWarning, match="records no training data: scoring on digits with the default split"):
        SupernetEvaluator.from_checkpoint(tmp_path / "nometa")
    with pytest.warns(UserWarning, match="records no training data") as caught:  # the CLI prints it as one line
        assert main(["oneshot", "search", "--supernet", str(tmp_path / "nometa"), "--trials", "2",
                     "--bn-mode", "inherited"]) == 0
    assert len([w for w in caught if "records no training data" in str(w.message)]) == 1
    with pytest.warns(UserWarning, match="records no training data") as caught:  # the two-stage job says it too
        assert main(["search", "--evaluator", "supernet", "--supernet", str(tmp_path / "nometa"), "--trials", "2",
                     "--retrain", "0", "--workers", "1", "--no-progress", "--out", str(tmp_path / "s")]) == 0
    assert len([w for w in caught if "records no training data" in str(w.message)]) == 1


def test_recorded_data_gives_no_warning(ck, recwarn):
    SupernetEvaluator.from_checkpoint(ck)
    assert not [w for w in recwarn if "records no training data" in str(w.message)]


def test_interrupted_search_prints_an_absolute_storage(tmp_path, ck, capsys, interrupt_scoring, monkeypatch):
    monkeypatch.chdir(tmp_path)
    interrupt_scoring(2)
    assert main(["oneshot", "search", "--supernet", str(ck), "--bn-mode", "inherited", "--trials", "5",
                 "--storage", "sqlite:///rel.db", "--name", "r1"]) == 130
    err = capsys.readouterr().err
    assert f"finish the run with: nasforge resume r1 --storage sqlite:///{tmp_path / 'rel.db'}" in err
    assert os.path.isfile(tmp_path / "rel.db")


@pytest.mark.parametrize("field, value, says", [
    ("fewshot_parent_epochs", 0, "fewshot_parent_epochs must be an integer >= 1, got 0; or None to split the SPOS "
                                 "row's trained supernet"),
    ("space", ["nb201"], "unknown search space ['nb201']"),
    ("fewshot_parent_epochs", True, "got True"), ("fewshot_epochs", 0, "fewshot_epochs must be an integer >= 1"),
    ("supernet_epochs", 0, "supernet_epochs must be an integer >= 1")])
def test_ranking_config_refuses_zero_epochs_before_any_training(field, value, says):
    """fewshot_parent_epochs=0 (the CLI's spelling of None) failed only after the SPOS supernets had trained."""
    with pytest.raises(UsageError, match=re.escape(says)):
        RankingConfig(**{field: value}).validate()
    RankingConfig(fewshot_parent_epochs=np.int64(5)).validate()  # a numpy integer is an integer
