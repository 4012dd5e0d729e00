"""SupernetEvaluator through the Study loop, supernet checkpoints, the ranking-study metrics and
``nasforge oneshot train|search|study``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from model_space_sources import TINY_MODEL_SPACE  # noqa: E402

from nasforge.cli import main  # noqa: E402
from nasforge.evaluators import SupernetEvaluator  # noqa: E402
from nasforge.experiment import Study  # noqa: E402
from nasforge.oneshot import build_supernet, split_supernet  # noqa: E402
from nasforge.oneshot.checkpoint import load_supernet, save_supernet  # noqa: E402
from nasforge.exceptions import UsageError  # noqa: E402
from nasforge.oneshot.study import (ceiling, expected_best_of_random, pruning_effect, ranking_row,  # noqa: E402
                                    sample_architectures, study_data)
from nasforge.pipelines.search import NAME_RULE  # noqa: E402
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
    from nasforge.oneshot.study import _ceiling_text

    assert _ceiling_text(ceiling(truth[None])) == "not measured (it needs >= 2 ground-truth seeds, this one has 1)"
    assert _ceiling_text(ceiling(np.stack([truth, truth[::-1]]))).startswith("none (the ground-truth seeds do not")
    assert _ceiling_text(ceiling(np.stack([truth, truth]))).startswith("replicate tau 1.000 (oracle 1.000)")
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
    assert main(["oneshot", "search", "--checkpoint", str(out), "--trials", "4", "--format", "csv",
                 "--bn-mode", "inherited"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))  # the shared writer: 12 significant digits
    assert [float(r["val_acc"]) for r in rows] == [float(f"{r['val_acc']:.12g}") for r in summary["top"]]
    assert main(["oneshot", "search", "--checkpoint", str(out), "--trials", "4", "--bn-mode", "inherited",
                 "--name", "text", "--top", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-3].split() == ["rank", "val_acc", "val_loss", "params", "architecture"]
    assert lines[-2].split()[0] == "1"


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
    (["--val-fraction", "0"], "--val-fraction must be in (0, 1) (networks are scored on the validation images), "
                              "got 0.0"),
    (["--method", "darts", "--warmup-epochs", "3", "--epochs", "3"], "--warmup-epochs 3 must be below --epochs 3"),
    (["--val-fraction", "0.99"], "--val-fraction 0.99 + the test fraction 0.1 must be < 1 (images must be left to "
                                 "train on)"),
    (["--path-dropout", "0.2"], "--path-dropout applies to darts only, not spos"),
    (["--method", "darts", "--early-stop-skips", "99"], "--early-stop-skips=99 could never stop training"),
    (["--lr", "1e8"], "--lr 1e+08: supernet training diverged at epoch 1 of 1 (the loss is no longer finite); train "
                      "again with a lower --lr; nothing was saved"),
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
    assert main([*search, "--storage", "postgresql+psycopg://nf:secretpw@127.0.0.1:1/db"]) == 2  # was exit 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot open storage 'postgresql+psycopg://nf:***@127.0.0.1:1/db'" in err, err
    url = f"sqlite:///{tmp_path / 'os.db'}"
    assert main([*search, "--storage", url, "--format", "json"]) == 0
    capsys.readouterr()
    assert main([*search, "--storage", url]) == 2  # the first run's trials stay
    assert f"already exists in {url} and is finished; to run a new search, pass another --name or another " \
        f"--storage (nasforge delete oneshot-search --storage {url} --yes removes it)" in capsys.readouterr().err
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
    assert "constrain val_acc instead" in capsys.readouterr().err  # the test split never steers a search
    trials = Study.load("sn", storage=f"sqlite:///{tmp_path / 'run' / 'study.db'}").trials
    from nasforge.models import create_model
    from nasforge.training import count_params

    arch = trials[0].arch  # nb201's preset deploys at C=16, N=4; the supernet is C=2, N=1
    assert trials[0].metrics["params"] == count_params(create_model("nb201", arch, num_classes=10, in_channels=1,
                                                                    C=16, N=4)) > trials[0].metrics["scored_params"]


def _one_line_exit_2(argv, capsys, message):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert message in err and len(err.strip().splitlines()) == 1, err
    return out


def test_cli_study_refuses_an_earlier_report_unless_overwrite(tmp_path, capsys, monkeypatch):
    from nasforge.oneshot import study as study_mod

    out = tmp_path / "study"
    out.mkdir()
    (out / "ranking.md").write_text("K=10 architectures ...\n")
    (out / "ranking.json").write_text('{\n "config": {}}')
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    argv = ["oneshot", "study", "--k", "10", "--out", str(out)]
    _one_line_exit_2(argv, capsys, f"--out {str(out)!r} already holds an earlier study report (ranking.json, "
                                   "ranking.md); choose another --out, or pass --overwrite")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    class Reached(Exception):
        pass

    def loaded(*args, **kwargs):
        raise Reached

    monkeypatch.setattr(study_mod, "study_data", loaded)
    with pytest.raises(Reached):  # with --overwrite the study goes on (to loading its data)
        main([*argv, "--overwrite"])
    (out / "ranking.md").write_text("my notes")
    _one_line_exit_2([*argv, "--overwrite"], capsys, "ranking.md' exists and is not a file written by nasforge oneshot study")


@pytest.mark.parametrize("options, message", [
    (["--data", "foo"], "--data foo: unknown data set; choose from ['digits', 'digits-hard', 'cifar10'"),
    (["--data", "cifar10"], "--data cifar10: "),
    (["--data", "cifar10", "--data-dir", "/nonexistent"], "--data cifar10: "),
    (["--data", "digits", "--data-dir", "/nonexistent"], "--data-dir /nonexistent applies to data read from files"),
    (["--data", "digits", "--noise", "0.9"], "--noise 0.9 applies to digits-hard only, not digits"),
    (["--few-shot-split", "edge_9_9"], "--few-shot-split edge_9_9: unknown decision(s) edge_9_9; "
     "choose from edge_0_1"),
    (["--few-shot-split", "edge_0_3,edge_0_3"], "--few-shot-split edge_0_3,edge_0_3: decision(s) edge_0_3 given twice"),
    (["--few-shot-split-epoch", "1", "--few-shot-parent-epochs", "40", "--few-shot-epochs", "7",
      "--few-shot-lr-factor", "0.1"], "--few-shot-parent-epochs, --few-shot-epochs, --few-shot-lr-factor: not used "
                                      "with --few-shot-split-epoch"),
    (["--tricks", "magic"], "--tricks: unknown ['magic']"),
    (["--tricks", "drop_path,drop_path"], "--tricks: trick(s) drop_path given twice"),
])
def test_cli_study_checks_everything_before_any_work(options, message, tmp_path, capsys):
    out = tmp_path / "deep" / "study"
    _one_line_exit_2(["oneshot", "study", "--k", "10", "--epochs", "1", "--supernet-epochs", "2", *options,
                      "--out", str(out)], capsys, message)
    assert not (tmp_path / "deep").exists()


def test_cli_study_refuses_a_file_as_out(tmp_path, capsys):
    (tmp_path / "supernet.json").write_text("{}")
    _one_line_exit_2(["oneshot", "study", "--out", str(tmp_path / "supernet.json")], capsys, "is a file, not a folder")


@pytest.mark.parametrize("options, message", [
    (["--few-shot-epochs", "3"], "--few-shot-epochs applies only with --few-shot-split"),
    (["--no-few-shot-shared-seed"], "--no-few-shot-shared-seed applies only with --few-shot-split"),
    (["--noise", "0.9"], "--noise 0.9 applies to digits-hard only, not digits"),
    (["--data-dir", "/nonexistent"], "--data-dir /nonexistent applies to data read from files, not digits"),
    (["--space", "proxylessnas", "--N", "5"], "--space proxylessnas: --N=5: a chain supernet has no cells"),
    (["--few-shot-split", "edge_0_3,edge_0_3"], "--few-shot-split: decision(s) edge_0_3 given twice"),
    (["--order", "2"], "--order applies to darts/gdas only, not spos"),
    (["--method", "darts", "--sdarts-epsilon", "0.1"], "--sdarts-epsilon=0.1 applies only with --sdarts;"),
    (["--method", "gdas", "--path-dropout", "0.3"], "--path-dropout=0.3 applies to darts only, not gdas"),
])
def test_cli_train_refuses_options_it_would_ignore(options, message, tmp_path, capsys):
    out = _one_line_exit_2(["oneshot", "train", "--data", "digits", "--epochs", "1", "--C", "2", *options,
                            "--out", str(tmp_path / "ck")], capsys, message)
    assert "trained" not in out and not (tmp_path / "ck").exists()


def test_cli_train_names_digits_hard_among_the_data_sets(capsys):
    _one_line_exit_2(["oneshot", "train", "--data", "foo"], capsys,
                     "--data foo: unknown data set; choose from ['digits', 'digits-hard', 'cifar10'")


def test_cli_train_sizes_a_supernet_as_its_space_does_and_records_it(tmp_path, capsys):
    """Would fail: --C defaulted to 8 for every space, twice the DARTS supernet's own default (4)."""
    from nasforge.oneshot.checks import SUPERNET_SIZES

    assert main(["oneshot", "train", "--space", "darts", "--data", "digits", "--epochs", "1", "--batch-size", "256",
                 "--out", str(tmp_path / "ck")]) == 0
    config = json.loads((tmp_path / "ck" / "supernet.json").read_text())["config"]
    assert (config["C"], config["N"]) == (SUPERNET_SIZES["darts"]["C"], SUPERNET_SIZES["darts"]["N"]) == (4, 1)
    capsys.readouterr()
    assert main(["oneshot", "train", "--help"]) == 0
    assert "(default: the space's: nb201 8, darts 4, chain 8;" in " ".join(capsys.readouterr().out.split())


def test_cli_data_defaults_and_help_come_from_the_library(monkeypatch, capsys):
    """Would fail: --val-fraction's default and the --noise help were written out in the CLI, not read from
    study_data and RankingConfig."""
    from nasforge.cli import build_parser
    from nasforge.oneshot import study

    monkeypatch.setitem(study._SPLIT_DEFAULTS, "val_fraction", 0.3)
    monkeypatch.setitem(study._SPLIT_DEFAULTS, "noise", 0.7)
    monkeypatch.setattr(study.RankingConfig.__dataclass_fields__["noise"], "default", 0.9)
    parser = build_parser()
    assert parser.parse_args(["oneshot", "train"]).val_fraction is None  # study_data's default, unless given
    for command, noise in (("train", 0.7), ("study", 0.9)):
        with pytest.raises(SystemExit):
            parser.parse_args(["oneshot", command, "--help"])
        shown = " ".join(capsys.readouterr().out.split())
        assert f"pixel noise std of digits-hard (default: {noise})" in shown
        assert command == "study" or "validation share of the images (default: 0.3;" in shown


def test_cli_search_names_the_checkpoint_and_refuses_ignored_options(tmp_path, capsys):
    ck = tmp_path / "ck"
    save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), ck, {"data": {"data": "digits", "data_options": {}}})
    search = ["oneshot", "search", "--trials", "2", "--bn-mode", "inherited"]
    _one_line_exit_2([*search, "--checkpoint", str(tmp_path / "nothere")], capsys,
                     f"--checkpoint {tmp_path / 'nothere'}: {str(tmp_path / 'nothere')!r} holds no saved supernet")
    (ck / "supernet.pt").write_bytes(b"garbage")
    _one_line_exit_2([*search, "--checkpoint", str(ck)], capsys, f"--checkpoint {ck}: ")
    _one_line_exit_2([*search, "--checkpoint", str(ck), "--recal-batches", "3"], capsys,
                     "--recal-batches applies only with --bn-mode recalibrate, not inherited")
    for name in ("n" * 300, "a/b", " x ", ".."):  # nasforge search's --name rule (300 characters blamed --strategy)
        _one_line_exit_2([*search, "--checkpoint", str(ck), "--name", name], capsys,
                         f"--name {NAME_RULE}, got {name!r}")


def _interrupted_supernet_search(tmp_path, interrupt_scoring, argv: list[str], at: int) -> tuple[Path, str]:
    """Save a digits supernet in tmp_path/ck and run `oneshot search` on it (``argv``: its options, without
    --checkpoint and --storage) until a Ctrl-C at the ``at``-th scoring; (checkpoint, storage URL)."""
    ck = tmp_path / "ck"
    save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), ck, {"data": {"data": "digits", "data_options": {}}})
    url = f"sqlite:///{tmp_path / 's.db'}"
    interrupt_scoring(at)
    assert main(["oneshot", "search", "--checkpoint", "ck", "--storage", url, *argv]) != 0  # interrupted (Ctrl-C)
    interrupt_scoring(None)
    return ck, url


def test_cli_search_records_its_evaluator_so_resume_finishes_it(tmp_path, capsys, monkeypatch,
                                                                 interrupt_scoring):
    monkeypatch.chdir(tmp_path)
    ck, url = _interrupted_supernet_search(tmp_path, interrupt_scoring, ["--trials", "5", "--bn-mode", "batch", "--name",
                                                                   "intr", "--strategy", "random"], at=3)
    spec = Study.load("intr", url).run_config["evaluator"]
    assert spec["kwargs"]["checkpoint"] == str(ck) and spec["kwargs"]["score"]["bn_mode"] == "batch"
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # the checkpoint is recorded as an absolute path
    capsys.readouterr()
    assert main(["resume", "intr", "--storage", url, "--no-progress"]) == 0
    assert sum(t.state.name == "COMPLETE" for t in Study.load("intr", url).trials) == 5


def test_supernet_evaluator_scores_on_the_split_the_supernet_was_trained_on(tmp_path, monkeypatch):
    from nasforge.data import load_dataset

    rng = np.random.default_rng(0)
    npz = tmp_path / "images.npz"
    np.savez(npz, x=rng.normal(size=(200, 8, 8)).astype(np.float32), y=rng.integers(0, 4, 200))
    recorded = {"data_dir": "/was/elsewhere.npz", "noise": 0.5, "val_fraction": 0.2, "seed": 3}
    save_supernet(build_supernet("nb201", 4, 1, C=2, N=1), tmp_path / "ck",
                  {"data": {"data": "npz", "data_options": recorded}})
    monkeypatch.chdir(tmp_path)
    evaluator = SupernetEvaluator.from_checkpoint("ck", data_options={"data_dir": "images.npz"})
    same = load_dataset("npz", npz, seed=3, val_fraction=0.2, test_fraction=0.1)
    assert torch.equal(evaluator.data.x_val, same.x_val) and len(evaluator.data.y_val) == 40
    kwargs = evaluator.spec()["kwargs"]
    assert kwargs["checkpoint"] == str(tmp_path / "ck") and kwargs["data_options"]["data_dir"] == str(npz)
    with pytest.raises(UsageError, match=r"data_options \{'seed': 0\} contradict the split the supernet was trained"):
        SupernetEvaluator.from_checkpoint("ck", data_options={"data_dir": "images.npz", "seed": 0})
    hard = tmp_path / "hard"  # digits-hard, then scored on digits: the same images, so the same split
    save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), hard,
                  {"data": {"data": "digits-hard", "data_options": {"val_fraction": 0.2, "seed": 3, "noise": 0.5}}})
    plain = SupernetEvaluator.from_checkpoint(hard, data="digits").data
    assert torch.equal(plain.y_val, study_data("digits", val_fraction=0.2, seed=3).y_val)
    with pytest.raises(UsageError, match="data_dir /tmp applies to data read from files, not digits-hard"):
        SupernetEvaluator.from_checkpoint(hard, data_options={"data_dir": "/tmp"})


def test_two_stage_search_refuses_a_supernet_of_another_space(tmp_path, capsys):
    ck = tmp_path / "ck"
    save_supernet(build_supernet("darts", 10, 1, C=2, N=1), ck, {"data": {"data": "digits", "data_options": {}}})
    _one_line_exit_2(["search", "--space", "nb201", "--evaluator", "supernet", "--supernet", str(ck), "--data",
                      "digits", "--trials", "2", "--retrain", "0", "--out", str(tmp_path / "run")], capsys,
                     "it is a supernet of space 'darts', which is not the search space 'nb201'")  # --space given
    assert not (tmp_path / "run").exists()


def test_two_stage_search_refuses_data_of_other_classes_than_the_supernet_before_work(tmp_path, capsys):
    """Would fail without the check: a digits supernet scored a 3-class data set (its accuracies meant nothing)."""
    ck, npz = tmp_path / "ck", tmp_path / "three.npz"
    save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), ck, {"data": {"data": "digits", "data_options": {}}})
    _grey_npz(npz, 120)
    _one_line_exit_2(["search", "--evaluator", "supernet", "--supernet", str(ck), "--data", "npz", "--data-dir",
                      str(npz), "--trials", "2", "--retrain", "0", "--out", str(tmp_path / "run")], capsys,
                     "data 'three' has 3 classes, the supernet was built for num_classes=10")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("option", [["--search-epochs", "7"], ["--pruner", "asha"]])
def test_two_stage_search_refuses_training_options_the_supernet_evaluator_would_ignore(tmp_path, capsys, option):
    ck = tmp_path / "ck"
    save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), ck, {"data": {"data": "digits", "data_options": {}}})
    _one_line_exit_2(["search", "--evaluator", "supernet", "--supernet", str(ck), "--data", "digits", "--trials", "2",
                      "--retrain", "0", "--out", str(tmp_path / "run"), *option], capsys,
                     "applies to the training evaluator only")
    assert not (tmp_path / "run").exists()


def test_cli_train_records_the_data_folder_as_an_absolute_path(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "images.npz", x=rng.normal(size=(120, 8, 8)).astype(np.float32), y=rng.integers(0, 4, 120))
    monkeypatch.chdir(tmp_path)
    assert main(["oneshot", "train", "--data", "npz", "--data-dir", "images.npz", "--epochs", "1", "--C", "2",
                 "--out", "ck"]) == 0
    recorded = json.loads((tmp_path / "ck" / "supernet.json").read_text())["data"]["data_options"]
    assert recorded["data_dir"] == str(tmp_path / "images.npz")  # scoring and resume find it from anywhere


def test_a_supernet_search_scored_on_another_split_is_not_resumed_on_the_recorded_one():
    from types import SimpleNamespace

    from nasforge.pipelines.search import _check_scoring_split

    def evaluator(options):
        return SimpleNamespace(spec=lambda: {"kwargs": {"data": "digits", "data_options": options}})

    recorded = {"data_dir": None, "noise": 0.5, "val_fraction": 0.2, "test_fraction": 0.1, "seed": 3}
    old_rule = SimpleNamespace(name="s", run_config={"evaluator": evaluator({"data_dir": None, "seed": 1}).spec()})
    with pytest.raises(UsageError, match="resuming would mix two splits in one study"):
        _check_scoring_split(old_rule, evaluator(recorded))
    same = SimpleNamespace(name="s", run_config={"evaluator": evaluator({**recorded, "data_dir": "/elsewhere"}).spec()})
    _check_scoring_split(same, evaluator(recorded))  # where the files are may change
    _check_scoring_split(SimpleNamespace(name="s", run_config=None), evaluator(recorded))  # a fresh search


def _image_numbers(split_x, data):
    """The number each image of ``split_x`` carries in its first two raw pixels (see the test below)."""
    raw = (split_x[:, 0, 0, :2] * data.std[0] + data.mean[0]) / data.scale
    return set((raw[:, 0] + 256 * raw[:, 1]).round().long().tolist())


def test_stage_two_tests_on_images_stage_one_never_scored(tmp_path):
    from nasforge.evaluators.training import TrainingEvaluator
    from nasforge.pipelines.search import SearchConfig, _evaluators

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (300, 8, 8), dtype=np.uint8)
    x[:, 0, 0], x[:, 0, 1] = np.arange(300) % 256, np.arange(300) // 256  # image i carries its number i
    np.savez(tmp_path / "images.npz", x=x, y=np.arange(300) % 3)
    recorded = {"data_dir": str(tmp_path / "images.npz"), "noise": 0.5, "val_fraction": 0.4, "seed": 0}
    save_supernet(build_supernet("nb201", 3, 1, C=2, N=1), tmp_path / "ck",
                  {"data": {"data": "npz", "data_options": recorded}})  # as 'nasforge oneshot train' records it
    config = SearchConfig(evaluator="supernet", supernet=str(tmp_path / "ck"), data="npz",
                          data_dir=str(tmp_path / "images.npz"), seed=4, out=str(tmp_path / "run")).resolved()
    search, retrain = _evaluators(config, get_space("nb201"))
    scored, tested = search.dataset(), retrain.dataset()
    assert _image_numbers(tested.x_test, tested) == _image_numbers(scored.x_test, scored)
    assert not _image_numbers(tested.x_test, tested) & _image_numbers(scored.x_val, scored)  # half were shared
    rebuilt = TrainingEvaluator(**retrain.spec()["kwargs"])  # the split survives the spec (resume)
    assert torch.equal(rebuilt.dataset().x_test, tested.x_test)
    ck = tmp_path / "digits"
    save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), ck,
                  {"data": {"data": "digits-hard", "data_options": {"noise": 0.5, "val_fraction": 0.4, "seed": 0}}})
    search, retrain = _evaluators(SearchConfig(evaluator="supernet", supernet=str(ck), out=str(tmp_path / "d"))
                                  .resolved(), get_space("nb201"))
    assert torch.equal(retrain.dataset().x_test, search.dataset().x_test)  # was 359 images, 179 of them scored


def test_a_supernet_recording_a_fraction_its_data_files_override_is_still_searched(tmp_path, capsys):
    """A supernet that oneshot train saved with --val-fraction 0.3 on data holding its own validation split (the
    fraction unused) could no longer be searched nor resumed: stage 2's training evaluator refused the fraction
    it passed on. New supernets are refused such a fraction before training."""
    from nasforge.pipelines.search import SearchConfig, _evaluators

    rng = np.random.default_rng(0)
    npz = tmp_path / "images.npz"
    x, y = rng.integers(0, 256, (90, 8, 8), dtype=np.uint8), np.arange(90) % 3
    np.savez(npz, x=x[:60], y=y[:60], x_val=x[60:75], y_val=y[60:75], x_test=x[75:], y_test=y[75:])
    recorded = {"data_dir": str(npz), "noise": 0.5, "val_fraction": 0.3, "test_fraction": 0.2, "seed": 0}
    save_supernet(build_supernet("nb201", 3, 1, C=2, N=1), tmp_path / "ck",
                  {"data": {"data": "npz", "data_options": recorded}})
    config = SearchConfig(evaluator="supernet", supernet=str(tmp_path / "ck"), data="npz", data_dir=str(npz),
                          out=str(tmp_path / "run")).resolved()
    search, retrain = _evaluators(config, get_space("nb201"))
    assert retrain.data_options == {"noise": 0.5}  # the fractions the files override are left out
    assert torch.equal(retrain.dataset().x_test, search.dataset().x_test)
    train = ["oneshot", "train", "--data", "npz", "--data-dir", str(npz), "--epochs", "1", "--C", "2"]
    out = _one_line_exit_2([*train, "--val-fraction", "0.3", "--out", str(tmp_path / "new")], capsys,
                           f"--val-fraction 0.3 does not apply to --data npz {npz}: its validation split is its "
                           "array 'x_val'; leave it out")
    assert "trained" not in out and not (tmp_path / "new").exists()
    assert main([*train, "--out", str(tmp_path / "new")]) == 0
    assert json.loads((tmp_path / "new" / "supernet.json").read_text())["data"]["data_options"]["val_fraction"] == 0.4


def _grey_npz(path, n, seed=0, classes=3):
    """``n`` random 8x8 grey images; the first ones are the same for every ``n`` with the same ``seed``."""
    x = np.random.default_rng(seed).integers(0, 256, (max(n, 400), 8, 8), dtype=np.uint8)[:n]
    np.savez(path, x=x, y=np.arange(n) % classes)


def test_scoring_refuses_data_files_changed_since_the_supernet_trained(tmp_path, capsys):
    npz, ck = tmp_path / "images.npz", tmp_path / "ck"
    _grey_npz(npz, 120)
    assert main(["oneshot", "train", "--data", "npz", "--data-dir", str(npz), "--epochs", "1", "--C", "2",
                 "--out", str(ck)]) == 0
    assert len(json.loads((ck / "supernet.json").read_text())["data"]["fingerprint"]) == 40
    search = ["oneshot", "search", "--checkpoint", str(ck), "--trials", "2"]
    assert main(search) == 0
    _grey_npz(npz, 150)  # images added: the recorded split now puts images it trained on into validation
    _one_line_exit_2(search, capsys, f"data npz in {npz}: the files changed since the supernet was trained on them")
    info = json.loads((ck / "supernet.json").read_text())
    del info["data"]["fingerprint"]  # recorded before fingerprints: accepted, as before
    (ck / "supernet.json").write_text(json.dumps(info))
    assert main(search) == 0


def test_ground_truth_trained_on_replaced_data_files_is_refused(tmp_path):
    from nasforge.oneshot.study import RankingConfig, _trained, gt_study_name, train_standalone

    npz = tmp_path / "images.npz"
    _grey_npz(npz, 60)
    cfg = RankingConfig(data="npz", data_dir=str(npz), C=2, N=1)
    archs = sample_architectures(SPACE, 2, seed=0)
    url = f"sqlite:///{tmp_path / 'gt.db'}"
    first = train_standalone(cfg, archs, study_data("npz", str(npz)), url, epochs=1, seeds=[0])
    assert train_standalone(cfg, archs, study_data("npz", str(npz)), url, epochs=1, seeds=[0]) == first  # reused
    _grey_npz(npz, 60, seed=1)  # the images replaced, the labels and the name the same
    replaced = study_data("npz", str(npz))
    with pytest.raises(UsageError, match="was trained on other data: the data files changed since"):
        train_standalone(cfg, archs, replaced, url, epochs=1, seeds=[0])
    old = f"sqlite:///{tmp_path / 'old.db'}"  # a ground truth stored before fingerprints: reused, as before
    _trained(SPACE, archs, replaced, old, gt_study_name(cfg, 1, 0), 2, 1, 1, 0)
    train_standalone(cfg, archs, replaced, old, epochs=1, seeds=[0])
    assert len(Study.load(gt_study_name(cfg, 1, 0), old).trials) == 2


def test_a_supernet_of_a_model_space_is_saved_and_searched(tmp_path, capsys, monkeypatch):
    """supernet.json records the module (absolute), so the supernet reloads from anywhere; it was: 'this model space
    was not recorded by name'. oneshot train takes a --space-module with its default data (digits-hard)."""
    (tmp_path / "net.py").write_text(TINY_MODEL_SPACE)
    monkeypatch.chdir(tmp_path)
    assert main(["oneshot", "train", "--space-module", "net.py:Net", "--method", "spos", "--epochs", "1",
                 "--out", "ck"]) == 0
    info = json.loads((tmp_path / "ck" / "supernet.json").read_text())
    assert info["space_config"]["module"] == f"{(tmp_path / 'net.py').resolve()}:Net"
    monkeypatch.chdir(tmp_path.parent)
    capsys.readouterr()
    assert main(["oneshot", "search", "--checkpoint", str(tmp_path / "ck"), "--data", "digits", "--trials", "3",
                 "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["trials"] == 3 and len(summary["top"]) == 3 and all(t["params"] for t in summary["top"])
    (tmp_path / "other.py").write_text(TINY_MODEL_SPACE)
    _one_line_exit_2(["search", "--evaluator", "supernet", "--supernet", str(tmp_path / "ck"), "--space-module",
                      f"{tmp_path / 'other.py'}:Net", "--data", "digits", "--out", str(tmp_path / "run")], capsys,
                     f"a supernet of the module {tmp_path.resolve()}/net.py:Net, not of the search space's module "
                     f"{tmp_path.resolve()}/other.py:Net; search it with --space-module {tmp_path.resolve()}/net.py:Net")
    (tmp_path / "net.py").write_text(TINY_MODEL_SPACE.replace("nn.ReLU()", "nn.Tanh()"))  # edited since
    _one_line_exit_2(["oneshot", "search", "--checkpoint", str(tmp_path / "ck"), "--data", "digits"], capsys,
                     "net.py changed since the supernet was trained; restore it or train it again")


def test_every_supernet_search_scores_with_recalibrated_bn_by_default(tmp_path, capsys, monkeypatch):
    from nasforge.pipelines import search as pipeline

    ck = tmp_path / "ck"
    save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), ck, {"data": {"data": "digits", "data_options": {}}})
    assert SupernetEvaluator.from_checkpoint(ck).score_config.bn_mode == "recalibrate"  # as oneshot search scores
    assert SupernetEvaluator.from_checkpoint(ck, score={"finetune_steps": 1}).score_config.bn_mode == "recalibrate"
    assert main(["oneshot", "search", "--checkpoint", str(ck), "--trials", "2", "--recal-batches", "0"]) == 0
    run = ["search", "--evaluator", "supernet", "--supernet", str(ck), "--trials", "2", "--retrain", "0",
           "--workers", "1", "--no-progress"]
    assert main([*run, "--out", str(tmp_path / "run"), "--name", "sn"]) == 0
    url = f"sqlite:///{tmp_path / 'run' / 'study.db'}"
    study = Study.load("sn", url)
    assert study.run_config["evaluator"]["kwargs"]["score"]["bn_mode"] == "recalibrate"
    assert study.user_attrs["pipeline_config"]["supernet_score"] == {"bn_mode": "recalibrate"}
    trial = study.trials[0]
    alone = SupernetEvaluator.from_checkpoint(ck, score={"seed": 0}).evaluate(trial.arch).metrics["val_acc"]
    assert trial.metrics["val_acc"] == pytest.approx(alone)  # the score oneshot search gives the architecture
    assert main([*run, "--out", str(tmp_path / "b"), "--name", "b", "--bn-mode", "batch", "--finetune-steps", "1"]) == 0
    assert Study.load("b", f"sqlite:///{tmp_path / 'b' / 'study.db'}").user_attrs["pipeline_config"][
        "supernet_score"] == {"bn_mode": "batch", "finetune_steps": 1}
    _one_line_exit_2(["search", "--bn-mode", "batch", "--trials", "2"], capsys,  # training: inherited or recalibrate
                     "--bn-mode must be one of inherited, recalibrate with the training evaluator, got 'batch'")
    attrs = study.user_attrs["pipeline_config"]  # a search stored before the score settings were recorded
    study.set_user_attr("pipeline_config", {k: v for k, v in attrs.items() if k != "supernet_score"})
    resumed = []

    def capture(config, space):
        resumed.append(config.supernet_score)
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "_evaluators", capture)
    with pytest.raises(KeyboardInterrupt):
        pipeline.resume_search("sn", url)
    assert resumed == [{"bn_mode": "inherited"}]  # scored with ScoreConfig()'s inherited BN: resumed alike


def test_two_stage_search_scores_on_the_data_the_supernet_was_trained_on(tmp_path):
    from nasforge.pipelines.search import SearchConfig, _evaluators

    ck = tmp_path / "ck"
    options = {"noise": 0.3, "val_fraction": 0.4, "seed": 0}
    save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), ck, {"data": {"data": "digits-hard",
                                                                          "data_options": options}})
    config = SearchConfig(evaluator="supernet", supernet=str(ck), out=str(tmp_path / "run")).resolved()
    assert config.data == "digits-hard" and config.name.startswith("search-nb201-digits-hard-")
    search, _ = _evaluators(config, SPACE)
    assert torch.equal(search.dataset().x_val, study_data("digits-hard", **options).x_val)  # its noise too
    SearchConfig(evaluator="supernet", supernet=str(ck), data="digits-hard").validate()
    assert SearchConfig().resolved().data == "digits"
    with pytest.raises(UsageError, match="data must be one of digits, cifar10"):
        SearchConfig(data="digits-hard").validate()  # the training evaluator loads load_dataset's sets


def test_multi_fidelity_strategies_are_refused_with_a_supernet(tmp_path, capsys):
    ck = tmp_path / "ck"
    save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), ck, {"data": {"data": "digits", "data_options": {}}})
    for strategy in ("asha", "hyperband", "bohb"):  # the supernet ignores the budget: they re-score architectures
        _one_line_exit_2(["oneshot", "search", "--checkpoint", str(ck), "--strategy", strategy, "--trials", "4"],
                         capsys, f"--strategy: {strategy} chooses a budget per evaluation (multi-fidelity), but a "
                         "supernet scores an architecture the same at every budget, so every rung would re-score the "
                         "same architectures; use a single-fidelity strategy (e.g. evolution, random)")
    _one_line_exit_2(["search", "--evaluator", "supernet", "--supernet", str(ck), "--strategy", "asha",
                      "--objectives", "val_acc", "--trials", "4", "--out", str(tmp_path / "run")], capsys,
                     "--strategy: asha chooses a budget per evaluation (multi-fidelity), but a supernet")
    assert not (tmp_path / "run").exists()


def test_resume_refuses_a_supernet_trained_again_since_the_search_started(tmp_path, capsys, monkeypatch,
                                                                          interrupt_scoring):
    from types import SimpleNamespace

    from nasforge.pipelines.search import _check_same_supernet

    monkeypatch.chdir(tmp_path)
    ck, url = _interrupted_supernet_search(tmp_path, interrupt_scoring, ["--trials", "4", "--name", "a", "--strategy",
                                                                   "random"], at=2)
    stored = Study.load("a", url).run_config["evaluator"]
    torch.manual_seed(1)  # trained again: other weights in the same folder
    save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), ck, {"data": {"data": "digits", "data_options": {}}},
                  overwrite=True)
    capsys.readouterr()
    _one_line_exit_2(["resume", "a", "--storage", url, "--no-progress"], capsys,
                     "the checkpoint changed since the study started")
    assert sum(t.state.name == "COMPLETE" for t in Study.load("a", url).trials) == 1
    now = SupernetEvaluator.from_checkpoint(ck)
    with pytest.raises(UsageError, match="the checkpoint changed since the study started"):  # nasforge search's
        _check_same_supernet(SimpleNamespace(name="a", run_config={"evaluator": stored}), now)
    _check_same_supernet(SimpleNamespace(name="a", run_config={"evaluator": now.spec()}), now)


def test_cli_train_says_how_it_stopped_and_records_the_few_shot_learning_rate(tmp_path, capsys):
    base = ["oneshot", "train", "--data", "digits", "--epochs", "2", "--C", "2", "--batch-size", "512"]
    assert main([*base, "--method", "gdas", "--early-stop-skips", "1", "--out", str(tmp_path / "g")]) == 0
    out = capsys.readouterr().out
    assert "(gdas, stopped early at epoch 1 of 2: " in out and "(--early-stop-skips=1)" in out
    assert main([*base, "--few-shot-split", "edge_0_3", "--few-shot-epochs", "1", "--lr", "0.1",
                 "--out", str(tmp_path / "f")]) == 0
    assert "trained 1 more epoch at lr 0.05 (0.5 x --lr" in capsys.readouterr().out
    records = json.loads((tmp_path / "f" / "supernet.json").read_text())["records"]
    assert {r["config"]["lr"] for r in records[1:]} == {0.05}
    assert all(r["tricks"][-1] == "few-shot part: 1 more epoch at lr 0.05, a restarted cosine schedule"
               for r in records[1:])


def test_cli_study_as_json_keeps_stdout_for_the_json_and_shows_its_progress_on_stderr(tmp_path, capsys,
                                                                                     monkeypatch):
    from nasforge.oneshot import study as study_mod

    class Result:
        def to_json(self):
            return {"k": 10}

    def run(cfg, out, storage=None, log=print, overwrite=False, label=None):
        log("ground truth: 3 of 10 trained")
        return Result()

    monkeypatch.setattr(study_mod, "run_ranking_study", run)
    assert main(["oneshot", "study", "--k", "10", "--out", str(tmp_path / "s"), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == {"k": 10} and err == "ground truth: 3 of 10 trained\n"


@pytest.mark.parametrize("options, budget", [
    ([], (75, 15)),  # the documented defaults
    (["--supernet-epochs", "10"], (5, 1)),  # parent 5 + 5 parts x 1 = the SPOS row's 10
    (["--supernet-epochs", "3"], (1, 1)),
    (["--supernet-epochs", "3", "--few-shot-epochs", "2"], (1, 2)),
    (["--supernet-epochs", "3", "--few-shot-parent-epochs", "0"], (None, 1)),
    (["--supernet-epochs", "3", "--few-shot-split-epoch", "2"], (75, 15)),  # unused: RankingConfig's defaults
])
def test_cli_study_scales_the_few_shot_budget_with_the_supernet_epochs(options, budget, tmp_path, monkeypatch):
    """Would fail: with --supernet-epochs 3 the few-shot rows still trained a 75-epoch parent and 5 x 15 epochs."""
    from nasforge.oneshot import study as study_mod

    configs = []

    def run(cfg, out, storage=None, log=print, overwrite=False, label=None):
        configs.append(cfg)
        raise UsageError("stop")

    monkeypatch.setattr(study_mod, "run_ranking_study", run)
    assert main(["oneshot", "study", "--out", str(tmp_path / "s"), *options]) == 2
    (cfg,) = configs
    assert (cfg.fewshot_parent_epochs, cfg.fewshot_epochs) == budget
    cfg.validate()
