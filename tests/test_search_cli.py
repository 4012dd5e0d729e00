"""``nasforge search``: the two-stage main job, end to end on a tiny budget, and its input checks."""

import json

import pandas as pd
import pytest

from nasforge.cli import UsageError, main
from nasforge.cli.search import choose_for_retraining, parse_objectives
from nasforge.experiment import Study

TINY = ["--trials", "4", "--retrain", "2", "--search-epochs", "1", "--final-epochs", "1", "--seed", "1", "--threads", "1"]


def test_search_runs_both_stages_and_writes_outputs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["search", "--workers", "1", "--name", "tiny", *TINY]) == 0
    out = tmp_path / "nasforge-runs" / "tiny"
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 4 and {"val_acc", "params", "flops", "latency_ms"} <= set(trials.columns)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_complete"] == 4 and 1 <= summary["front_size"] <= 4 and summary["hypervolume"] > 0
    retrained = [r for r in summary["front"] if r["test_acc"] is not None]
    assert 1 <= len(retrained) <= 2 and all(r["params"] > r["trained_params"] for r in retrained)
    assert summary["front_param_range"] >= summary["retrained_param_range"] >= 1
    assert (out / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    study = Study.load("tiny", f"sqlite:///{out / 'study.db'}")
    assert len(study.completed()) == 4 and study.objectives == ["val_acc", "params"]
    printed = capsys.readouterr().out
    assert "Pareto front of tiny" in printed and "best retrained test accuracy" in printed
    stored = study.user_attrs["retrained"]  # stage 2 results live in the study's storage too
    assert {int(n) for n in stored} == {r["trial"] for r in retrained}
    spec = study.run_config["evaluator"]  # recorded, so `nasforge resume` can rebuild the evaluator
    assert spec["factory"] == "nasforge.evaluators.training:TrainingEvaluator" and spec["kwargs"]["C"] == 8


def test_search_with_two_worker_processes_and_custom_storage(tmp_path):
    db = tmp_path / "runs.db"
    args = ["search", "--workers", "2", "--storage", f"sqlite:///{db}", "--out", str(tmp_path / "out"),
            "--name", "par", "--objectives", "val_acc,flops:min", "--strategy", "mo_random", "--pruner", "median",
            *TINY, "--retrain", "1"]
    assert main(args) == 0
    study = Study.load("par", f"sqlite:///{db}")
    assert len(study.completed()) == 4 and study.directions == ["maximize", "minimize"]


@pytest.mark.parametrize("argv,message", [
    (["--space", "nope"], "no network preset for space 'nope'"),
    (["--objectives", "val_acc,size"], "unknown objective 'size'"),
    (["--objectives", "params:up"], "direction must be 'max' or 'min'"),
    (["--data", "cifar10", "--data-dir", "/nonexistent/cifar"], "does not exist"),
    (["--data", "cifar10"], "needs a data directory"),
    (["--trials", "0"], "--trials >= 1"),
    (["--strategy", "sideways"], "unknown strategy 'sideways'"),
    (["--pruner", "wild", "--trials", "1", "--workers", "1"], "unknown pruner 'wild'"),
])
def test_bad_input_is_one_clear_line(tmp_path, capsys, argv, message):
    assert main(["search", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_parse_objectives_defaults_directions():
    assert parse_objectives("val_acc,latency_ms") == (["val_acc", "latency_ms"], ["maximize", "minimize"])
    assert parse_objectives("params:max") == (["params"], ["maximize"])
    with pytest.raises(UsageError, match="twice"):
        parse_objectives("params,params")


def test_choose_for_retraining_spreads_and_keeps_ends():
    class T:
        def __init__(self, number, acc, params):
            self.number, self.metrics = number, {"val_acc": acc, "params": params}

    front = [T(i, 90 + i, 1000 * (i + 1)) for i in range(9)] + [T(20, 90, 1000)]  # trial 20 ties trial 0
    picked = choose_for_retraining(front, ["val_acc", "params"], ["maximize", "minimize"], 3)
    assert [t.number for t in picked] == [8, 4, 0]
    assert len(choose_for_retraining(front, ["val_acc", "params"], ["maximize", "minimize"], 20)) == 9
    assert choose_for_retraining(front, ["val_acc", "params"], ["maximize", "minimize"], 0) == []


def test_search_other_space(tmp_path):
    out = tmp_path / "nb101"
    assert main(["search", "--space", "nb101", "--workers", "1", "--out", str(out), *TINY, "--trials", "2",
                 "--retrain", "1"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["space"] == "nb101" and summary["front"][0]["arch"].startswith("ops=input")
