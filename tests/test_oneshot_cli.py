"""SupernetEvaluator through the Study loop, supernet checkpoints, the ranking-study metrics and
``nasforge oneshot train|search|study``."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nasforge.cli import main  # noqa: E402
from nasforge.evaluators import SupernetEvaluator  # noqa: E402
from nasforge.experiment import Study  # noqa: E402
from nasforge.oneshot import build_supernet, split_supernet  # noqa: E402
from nasforge.oneshot.checkpoint import load_supernet, save_supernet  # noqa: E402
from nasforge.oneshot.study import (ceiling, expected_best_of_random, pruning_effect, ranking_row,  # noqa: E402
                                    sample_architectures, study_data)
from nasforge.spaces import ChainSpace, get_space  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")
SPACE = get_space("nb201")


def test_checkpoint_round_trip_keeps_weights_including_few_shot(tmp_path):
    space = ChainSpace([["conv3", "skip"], ["conv3", "mbconv_e3_k3"]], name="tiny")
    net = split_supernet(build_supernet(space, 10, 1, C=2), ["layer_1"])
    with torch.no_grad():
        next(net.members[1].parameters()).add_(1.0)
    save_supernet(net, tmp_path / "ck", {"data": {"data": "digits", "data_options": {}}})
    loaded, info = load_supernet(tmp_path / "ck")
    assert info["data"]["data"] == "digits" and len(loaded.members) == 2 and loaded.space.layers == space.layers
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in net.state_dict().items())


def test_supernet_evaluator_drives_a_study_and_rebuilds_from_its_spec(tmp_path):
    net = build_supernet("nb201", 10, 1, C=2, N=1)
    save_supernet(net, tmp_path / "ck", {"data": {"data": "digits", "data_options": {}}})
    evaluator = SupernetEvaluator.from_checkpoint(tmp_path / "ck", score={"bn_mode": "batch"})
    study = Study(SPACE, strategy="evolution", seed=0)
    study.optimize(evaluator, n_trials=6)
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert len(done) == 6 and all({"val_acc", "val_loss", "params"} <= set(t.metrics) for t in done)
    spec = evaluator.spec()
    from nasforge.experiment.evaluator_spec import build_evaluator

    again = build_evaluator(json.loads(json.dumps(spec)))  # as resume reads it: on the trusted allow-list
    arch = done[0].arch
    assert again.evaluate(arch).metrics["val_acc"] == pytest.approx(evaluator.evaluate(arch).metrics["val_acc"])


def test_supernet_evaluator_reports_the_deploy_size_network(tmp_path):
    from nasforge.models import create_model
    from nasforge.training import count_params

    save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), tmp_path / "ck", {"data": {"data": "digits"}})
    arch = sample_architectures(SPACE, 1, seed=3)[0]
    plain = SupernetEvaluator.from_checkpoint(tmp_path / "ck").evaluate(arch).metrics
    deployed = SupernetEvaluator.from_checkpoint(tmp_path / "ck", deploy={"C": 16, "N": 4})
    metrics = deployed.evaluate(arch).metrics
    size = {n: count_params(create_model("nb201", arch, num_classes=10, in_channels=1, C=c, N=k))
            for n, (c, k) in {"deploy": (16, 4), "scored": (2, 1)}.items()}
    assert metrics["params"] == size["deploy"] and metrics["scored_params"] == plain["params"] == size["scored"]
    assert metrics["flops"] > plain["flops"] and metrics["val_acc"] == pytest.approx(plain["val_acc"])
    assert deployed.spec()["kwargs"]["deploy"] == {"C": 16, "N": 4}
    assert metrics["latency_ms"] > plain["latency_ms"] > 0  # the deployed network is 8x wider, 4x deeper
    unmeasured = SupernetEvaluator.from_checkpoint(tmp_path / "ck", latency_repeats=0)
    assert "latency_ms" not in unmeasured.evaluate(arch).metrics and unmeasured.spec()["kwargs"]["latency_repeats"] == 0
    with pytest.raises(ValueError, match="latency_repeats"):
        SupernetEvaluator.from_checkpoint(tmp_path / "ck", latency_repeats=-1)


def test_study_data_and_architecture_sample():
    hard, clean = study_data("digits-hard", val_fraction=0.4), study_data("digits", val_fraction=0.4)
    assert len(hard.y_val) == len(clean.y_val) == 719 and not torch.equal(hard.x_val, clean.x_val)
    archs = sample_architectures(SPACE, 30, seed=0)
    keys = [SPACE.canonical_key(a) for a in archs]
    assert len(set(keys)) == 30 and () not in keys
    assert sample_architectures(SPACE, 10, seed=0) == archs[:10]  # a larger K extends a smaller one


def test_ground_truth_protocol_names_what_changes_the_trainings():
    from nasforge.oneshot.study import RankingConfig, gt_study_name

    base = RankingConfig()
    assert gt_study_name(base, 8, 0) == gt_study_name(RankingConfig(supernet_seed=3, k=99), 8, 0)
    assert gt_study_name(base, 8, 0) != gt_study_name(RankingConfig(seed=1), 8, 0)  # another data split
    assert gt_study_name(base, 8, 0) != gt_study_name(RankingConfig(noise=0.3), 8, 0)
    assert gt_study_name(base, 8, 0) != gt_study_name(base, 8, 1)


def test_ranking_metrics_on_known_orders():
    archs = sample_architectures(SPACE, 20, seed=1)
    truth = np.arange(20.0)
    row = ranking_row("perfect", truth.copy(), truth, -truth, truth, archs, SPACE)
    assert row["kendall_tau"] == pytest.approx(1.0) and row["top10_tau"] == pytest.approx(1.0)
    assert row["top1_pick"] == 19 and row["kendall_tau_loss"] == pytest.approx(1.0)
    assert ranking_row("reversed", -truth, truth, -truth, truth, archs, SPACE)["kendall_tau"] == pytest.approx(-1.0)
    assert expected_best_of_random(truth, 1) == pytest.approx(truth.mean())
    assert expected_best_of_random(truth, 20) == 19
    c = ceiling(np.stack([truth, truth, truth[::-1]]))
    assert c["n_seeds"] == 3 and c["seed_to_seed_tau"] == pytest.approx(-1 / 3)
    prune = pruning_effect(truth, truth, archs, SPACE)
    assert prune["best_left"] <= prune["best_overall"] and set(prune["pruned"]) == set(SPACE.categorical_params())


def test_cli_train_then_search(tmp_path, capsys):
    out = tmp_path / "ck"
    assert main(["oneshot", "train", "--data", "digits", "--epochs", "1", "--C", "2", "--batch-size", "256",
                 "--few-shot-split", "edge_0_3", "--few-shot-epochs", "1", "--weight-decay", "0.01",
                 "--out", str(out)]) == 0
    assert "few-shot: 5 sub-supernets" in capsys.readouterr().out
    records = json.loads((out / "supernet.json").read_text())["records"]
    assert [r["config"]["seed"] for r in records[1:]] == [0] * 5  # --few-shot-shared-seed is the default
    assert {r["config"]["weight_decay"] for r in records} == {0.01}
    assert main(["oneshot", "search", "--checkpoint", str(out), "--trials", "4", "--format", "json",
                 "--bn-mode", "inherited"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["trials"] == 4 and len(summary["top"]) == 4


def test_cli_darts_derives_and_refuses_bad_options(tmp_path, capsys):
    assert main(["oneshot", "train", "--data", "digits", "--method", "gdas", "--epochs", "1", "--C", "2",
                 "--batch-size", "256", "--warmup-epochs", "0", "--out", str(tmp_path / "g")]) == 0
    assert "derived (argmax): |" in capsys.readouterr().out
    assert main(["oneshot", "train", "--warmup-epochs", "2", "--out", str(tmp_path / "x")]) == 2
    assert "darts/gdas" in capsys.readouterr().err
    assert main(["oneshot", "study", "--k", "3"]) == 2
    assert main(["oneshot", "study", "--tricks", "magic"]) == 2
    assert main(["oneshot", "search", "--checkpoint", str(tmp_path / "missing")]) == 2


@pytest.mark.parametrize("options, message", [
    (["--few-shot-split", "edge_9_9"], "--few-shot-split: unknown decision(s) edge_9_9; choose from edge_0_1"),
    (["--method", "darts", "--few-shot-split", "edge_0_3"], "--few-shot-split trains sub-supernets with SPOS"),
    (["--derive", "pt"], "--derive applies to --method darts or gdas"),
    (["--val-fraction", "0"], "--val-fraction must be > 0"),
    (["--method", "darts", "--warmup-epochs", "3", "--epochs", "3"], "--warmup-epochs 3 must be below --epochs 3"),
])
def test_cli_train_refuses_bad_options_before_training(options, message, tmp_path, capsys):
    assert main(["oneshot", "train", "--data", "digits", "--epochs", "1", "--C", "2", *options,
                 "--out", str(tmp_path / "ck")]) == 2
    out, err = capsys.readouterr()
    assert message in err and len(err.strip().splitlines()) == 1 and "trained" not in out
    assert not (tmp_path / "ck").exists()


def test_cli_search_refuses_bad_data_storage_and_an_existing_name(tmp_path, capsys):
    out = tmp_path / "ck"
    assert main(["oneshot", "train", "--data", "digits", "--epochs", "1", "--C", "2", "--batch-size", "256",
                 "--out", str(out)]) == 0
    search = ["oneshot", "search", "--checkpoint", str(out), "--trials", "2", "--bn-mode", "inherited"]
    capsys.readouterr()
    assert main([*search, "--data", "nope"]) == 2
    assert "--data nope: unknown data set 'nope'" in capsys.readouterr().err
    assert main([*search, "--storage", "bogus://"]) == 2
    assert "--storage" in capsys.readouterr().err
    url = f"sqlite:///{tmp_path / 'os.db'}"
    assert main([*search, "--storage", url, "--format", "json"]) == 0
    capsys.readouterr()
    assert main([*search, "--storage", url]) == 2  # the first run's trials stay
    assert f"already exists in {url}; pick another --name or delete it with: nasforge delete oneshot-search" \
        in capsys.readouterr().err
    assert len(Study.load("oneshot-search", url).trials) == 2


def test_two_stage_search_with_the_supernet_evaluator(tmp_path, capsys):
    ck = tmp_path / "ck"
    save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), ck, {"data": {"data": "digits", "data_options": {}}})
    assert main(["search", "--evaluator", "supernet", "--trials", "4", "--retrain", "0", "--workers", "1",
                 "--out", str(tmp_path / "run")]) == 2
    assert "--supernet" in capsys.readouterr().err
    assert main(["search", "--evaluator", "supernet", "--supernet", str(ck), "--trials", "4", "--retrain", "0",
                 "--workers", "1", "--out", str(tmp_path / "run"), "--name", "sn"]) == 0
    rows = (tmp_path / "run" / "trials.csv").read_text().splitlines()
    assert len(rows) == 5 and "val_acc" in rows[0]
    assert main(["search", "--evaluator", "supernet", "--supernet", str(ck), "--trials", "4", "--retrain", "0",
                 "--workers", "1", "--out", str(tmp_path / "lat"), "--objectives", "val_acc:max,latency_ms:min",
                 "--constraints", "params <= 2e6"]) == 0  # latency measured on the deployed network
    header, *lines = (tmp_path / "lat" / "trials.csv").read_text().splitlines()
    column = header.split(",").index("latency_ms")
    assert len(lines) == 4 and all(float(line.split(",")[column]) > 0 for line in lines)
    assert main(["search", "--evaluator", "supernet", "--supernet", str(ck), "--trials", "4",
                 "--constraints", "test_acc <= 2", "--out", str(tmp_path / "bad")]) == 2
    assert "with the supernet evaluator" in capsys.readouterr().err
    trials = Study.load("sn", storage=f"sqlite:///{tmp_path / 'run' / 'study.db'}").trials
    from nasforge.models import create_model
    from nasforge.training import count_params

    arch = trials[0].arch  # nb201's preset deploys at C=16, N=4; the supernet is C=2, N=1
    assert trials[0].metrics["params"] == count_params(create_model("nb201", arch, num_classes=10, in_channels=1,
                                                                    C=16, N=4)) > trials[0].metrics["scored_params"]
