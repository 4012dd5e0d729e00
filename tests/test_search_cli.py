"""``nasforge search``: the two-stage main job, end to end on a tiny budget, and its input checks."""

import json
from pathlib import Path

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
    assert len(trials) == 4 + 2 and {"val_acc", "params", "flops", "latency_ms"} <= set(trials.columns)
    assert trials["user_attrs_stage"].tolist().count("retrain") == 2
    sources = pd.read_csv(out / "trials.csv", dtype=str)["user_attrs_source_trial"].dropna()
    assert len(sources) == 2 and all(s.isdigit() for s in sources)  # trial numbers, not floats such as 3.0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_complete"] == 4 and 1 <= summary["front_size"] <= 4 and summary["hypervolume"] > 0
    retrained = [r for r in summary["front"] if r["test_acc"] is not None]
    assert 1 <= len(retrained) <= 2 and all(r["params"] > r["trained_params"] for r in retrained)
    assert summary["front_param_range"] >= summary["retrained_param_range"] >= 1
    assert (out / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    study = Study.load("tiny", f"sqlite:///{out / 'study.db'}")
    assert len(study.completed(searched_only=True)) == 4 and study.objectives == ["val_acc", "params"]
    printed = capsys.readouterr().out
    assert "Pareto front of tiny" in printed and "best retrained network (by search val_acc): test accuracy" in printed
    retrains = [t for t in study.trials if t.user_attrs.get("stage") == "retrain"]  # stage 2: trials of the study
    assert {t.user_attrs["source_trial"] for t in retrains} == {r["trial"] for r in retrained}
    assert all(not t.tell_strategy and t.state.value == "COMPLETE" and "val_acc" not in t.metrics for t in retrains)
    assert {r["retrain_trial"] for r in retrained} == {t.number for t in retrains}
    assert all((Path(r["model_dir"]) / "model.safetensors").is_file() for r in retrained)  # networks saved
    assert study.user_attrs["pipeline"] == "search" and study.user_attrs["search_done"] is True
    assert summary["resume_command"] == f"nasforge resume tiny --storage sqlite:///{out.absolute() / 'study.db'}"


@pytest.mark.slow  # kept out of the default suite, over its 10-minute budget (run with -m slow)
def test_search_with_two_worker_processes_and_custom_storage(tmp_path):
    db = tmp_path / "runs.db"
    args = ["search", "--workers", "2", "--storage", f"sqlite:///{db}", "--out", str(tmp_path / "out"),
            "--name", "par", "--objectives", "val_acc,flops:min", "--strategy", "mo_random", "--pruner", "median",
            *TINY, "--retrain", "1", "--search-epochs", "2"]  # a pruner has nothing to stop in one epoch
    assert main(args) == 0
    study = Study.load("par", f"sqlite:///{db}")
    assert len(study.completed(searched_only=True)) == 4 and study.directions == ["maximize", "minimize"]
    assert len(study.completed()) == 5


@pytest.mark.parametrize("argv,message", [
    (["--space", "nope"], "--space: unknown search space 'nope'"),
    (["--objectives", "val_acc,size"], "--objectives: unknown objective 'size'"),
    (["--objectives", "params:up"],
     "--objectives: objective 'params:up': direction must be max, min, maximize or minimize"),
    (["--data", "mnist"], "--data must be one of digits, cifar10, cifar100, npz, folder, got 'mnist'"),
    (["--data", "cifar10", "--data-dir", "/nonexistent/cifar"], "does not exist"),
    (["--data", "cifar10"], "needs a data directory"),
    (["--data", "digits", "--data-dir", "/nonexistent"], "--data-dir applies to data read from files, not digits"),
    (["--trials", "0"], "argument --trials: must be a positive integer, got 0"),
    (["--search-epochs", "0"], "argument --search-epochs: must be a positive integer, got 0"),
    (["--final-epochs", "-1"], "argument --final-epochs: must be a positive integer, got -1"),
    (["--timeout", "-5"], "argument --timeout: must be a positive number of seconds, got -5"),
    (["--seed", "-1"], "argument --seed: must be a non-negative integer, got -1"),
    (["--seed", str(2**64)], "--seed must be < 2**63 (a 64-bit seed), got 18446744073709551616"),
    (["--threads", "100000"], "--threads must be at most"),
    (["--workers", "0"], "argument --workers: must be a positive integer, got 0"),
    (["--budget", "5"], "unrecognized arguments: --budget"),
    (["--storage", "foo://bar"], "--storage: 'foo://bar' is not a storage URL"),
    (["--storage", "sqlite:////nonexistent_dir/x.db"], "--storage: folder '/nonexistent_dir' of sqlite:////nonexistent_dir/x.db does not exist"),
    (["--storage", "postgresql+psycopg://nf:secretpw@127.0.0.1:1/db"],  # nothing listens on port 1; was exit 1
     "cannot open storage 'postgresql+psycopg://nf:***@127.0.0.1:1/db': connection failed"),
    (["--name", ""], "--name must be 1-200 characters"),
    (["--strategy", "sideways"], "unknown strategy 'sideways'"),
    (["--pruner", "wild"], "--pruner: unknown pruner 'wild'; give one of asha, curve, median, none"),
    (["--pruner", "median", "--search-epochs", "1"], "--pruner does not apply with --search-epochs 1 (a trial's only "
     "report is its last, which no pruner stops): leave it out or set --search-epochs 2 or more, got 'median'"),
    (["--retrain", "0", "--final-epochs", "3"], "--final-epochs applies to the retraining (stage 2), which --retrain 0 "
     "skips: leave it out, got 3"),
])
def test_bad_input_is_one_clear_line(tmp_path, capsys, argv, message):
    out = tmp_path / "run"
    assert main(["search", "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    if "--strategy" not in argv and "--data-dir" not in argv and argv != ["--data", "cifar10"]:
        assert not out.exists()  # checked before any work


def test_running_an_existing_search_again_names_the_resume_command(tmp_path, capsys):
    args = ["search", "--workers", "1", "--out", str(tmp_path), "--name", "again", "--trials", "1", "--retrain", "0",
            "--search-epochs", "1", "--seed", "1", "--threads", "1"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"finish it (or rewrite its outputs) with: nasforge resume again --storage "
                        f"sqlite:///{tmp_path.absolute() / 'study.db'}, or pick another --name")
    assert len(err.splitlines()) == 1


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


def test_search_a_chain_space_from_a_config_file_and_export_its_network(tmp_path, capsys):
    out = tmp_path / "chain"
    layers = tmp_path / "layers.json"
    layers.write_text(json.dumps({"layers": [["conv3", "mbconv_e3_k3"], ["skip", "conv5"]], "name": "mine"}))
    assert main(["search", "--space", "chain", "--space-config", str(layers), "--workers", "1", "--out", str(out),
                 *TINY, "--trials", "2", "--retrain", "1"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["space"] == "mine" and summary["front"][0]["arch"].count("|") == 1
    assert main(["export", str(out), "--format", "onnx", "--out", str(tmp_path / "m.onnx")]) == 0
    meta = json.loads((tmp_path / "m.onnx.json").read_text())
    assert meta["model"] == "chain" and meta["architecture"]["space"] == "mine"


def test_no_progress_reaches_both_stages_and_resume(tmp_path, monkeypatch):
    from nasforge.pipelines import search as pipeline

    seen, real = [], pipeline._optimize

    def record(*args, **options):
        seen.append(options["progress"])
        return real(*args, **options)

    monkeypatch.setattr(pipeline, "_optimize", record)
    out = tmp_path / "run"
    assert main(["search", "--workers", "1", "--name", "quiet", "--no-progress", "--out", str(out), *TINY,
                 "--trials", "2", "--retrain", "1"]) == 0
    assert seen == [False, False]  # stage 1 and the retrains
    study = Study.load("quiet", f"sqlite:///{out / 'study.db'}")
    study.set_user_attr("search_done", False)  # as if killed in stage 1: resume runs it again
    assert main(["resume", "quiet", "--storage", f"sqlite:///{out / 'study.db'}", "--no-progress"]) == 0
    assert seen[2:] == [False]


def test_search_says_when_stage_1_runs_out_of_distinct_architectures(tmp_path, capsys):
    layers = tmp_path / "layers.json"
    layers.write_text(json.dumps({"layers": [["conv3", "skip"]], "name": "two"}))  # 2 architectures in all
    out = tmp_path / "two"
    assert main(["search", "--space", "chain", "--space-config", str(layers), "--workers", "1", "--out", str(out),
                 "--no-progress", *TINY, "--trials", "3", "--retrain", "1"]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "stage 1 stopped after 2 of 3 trials: the space has no other distinct architecture" in said
    assert json.loads((out / "summary.json").read_text())["n_search_trials"] == 2


def test_a_front_of_other_objectives_is_shown_and_plotted_on_their_own_terms(tmp_path, capsys, monkeypatch):
    """Would fail without the fixes: the table lacked the objectives' columns, nothing said why fewer networks
    than --retrain were retrained, pareto.png drew test accuracies (~50) on a val_loss axis (~2) and cut its
    title off at the right edge."""
    from nasforge.analysis import pareto
    from nasforge.pipelines.search import TITLE_WIDTH

    name = "a-study-name-long-enough-to-need-a-second-title-line"
    plotted = {}
    monkeypatch.setattr(pareto, "plot_front", lambda *args, **kwargs: plotted.update(kwargs))
    layers = tmp_path / "layers.json"
    layers.write_text(json.dumps({"layers": [["conv3", "skip"]], "name": "two"}))
    out = tmp_path / "run"
    assert main(["search", "--space", "chain", "--space-config", str(layers), "--workers", "1", "--out", str(out),
                 "--no-progress", "--name", name, *TINY,
                 "--trials", "2", "--objectives", "val_loss"]) == 0
    said = capsys.readouterr().out
    best = Study.load(name, f"sqlite:///{out / 'study.db'}").best_trial
    assert f"│ {best.metrics['val_loss']:.3f} │" in said and "MFLOPs" in said  # its column beside the costs
    assert ("note: retraining 1 architecture(s), not the 2 asked: the Pareto front has 1 member(s) with distinct "
            "objectives (one objective: its best trial)") in " ".join(said.split())
    assert plotted["extra"] is None  # retrained test accuracies are not val_loss values
    assert all(len(line) <= TITLE_WIDTH for line in plotted["title"].split("\n"))


def test_a_second_search_into_the_same_run_folder_is_refused(tmp_path, capsys):
    from nasforge.pipelines.search import resume_command, saved_networks

    out = tmp_path / "my demo"
    args = ["search", "--workers", "1", "--out", str(out), "--no-progress", *TINY, "--trials", "2", "--retrain", "1"]
    assert main([*args, "--name", "kill me"]) == 0
    url = f"sqlite:///{out.absolute() / 'study.db'}"
    assert resume_command("kill me", url) == \
        f"nasforge resume 'kill me' --storage 'sqlite:///{out.absolute()}/study.db'"
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and not p.name.startswith("study.db")}
    capsys.readouterr()
    assert main([*args, "--name", "other", "--final-epochs", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert "already holds the finished run of study 'kill me'" in err and "pick another --out for a new run" in err
    assert "rewrite its outputs with: nasforge resume 'kill me'" in err
    assert len(err.splitlines()) == 1
    # study.db and its -wal/-shm files aside: reading whether its study is still there may touch SQLite's index
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and not p.name.startswith("study.db")} == before
    assert main([*args, "--name", "kill me"]) == 2  # the same study: the quoted command that finishes it
    assert "finish it (or rewrite its outputs) with: nasforge resume 'kill me' --storage" in capsys.readouterr().err
    # the run's study.db as the storage of another run folder is refused (export could find neither run)
    assert main([*args, "--name", "second", "--storage", url, "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err.strip()
    assert f"storage: {out.absolute() / 'study.db'} is in the run folder {out.absolute()} of another search" in err
    assert len(err.splitlines()) == 1 and not (tmp_path / "b").exists()
    # a storage holding two studies: export says how to name one
    from nasforge.spaces import get_space

    Study(get_space("nb201"), "random", name="second", storage=url)
    with pytest.raises(UsageError, match=r"holds 2 studies \['kill me', 'second'\]; name one: nasforge export STUDY "
                                         r"--storage 'sqlite:///"):
        saved_networks(None, url)


def test_a_report_html_nasforge_did_not_write_is_refused_before_training(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "report.html").write_text("<!doctype html><p>my own notes</p>")
    args = ["search", "--workers", "1", "--out", str(out), "--no-progress", *TINY, "--trials", "2", "--retrain", "1"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "report.html" in err and "not a report written by nasforge" in err and len(err.splitlines()) == 1
    assert sorted(p.name for p in out.iterdir()) == ["report.html"]  # nothing trained, nothing written
    assert (out / "report.html").read_text() == "<!doctype html><p>my own notes</p>"


def test_the_same_study_rerun_into_its_folder_with_a_relative_storage_url_is_told_to_resume(tmp_path, capsys,
                                                                                                monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["search", "--workers", "1", "--out", "run", "--storage", "sqlite:///run/study.db", "--no-progress",
            *TINY, "--trials", "2", "--retrain", "1", "--name", "mine"]
    (tmp_path / "run").mkdir()
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "finish it (or rewrite its outputs) with: nasforge resume mine" in err
    assert "holds the run of" not in err


FIXED_OUTPUTS = '''
from torch import nn
from nasforge.spaces.model_space import LayerChoice


class Fixed(nn.Module):
    """No num_classes parameter: always 10 outputs."""

    def __init__(self):
        super().__init__()
        self.stem = LayerChoice([nn.Conv2d(1, 4, 3, padding=1), nn.Conv2d(1, 4, 1)], label="stem")
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))

    def forward(self, x):
        return self.head(self.stem(x))
'''


def test_a_space_module_whose_outputs_do_not_match_the_classes_is_refused_up_front(tmp_path, capsys):
    import numpy as np

    (tmp_path / "fixed.py").write_text(FIXED_OUTPUTS)
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "three.npz", x=rng.integers(0, 256, (90, 8, 8), dtype=np.uint8), y=np.arange(90) % 3)
    out = tmp_path / "run"
    assert main(["search", "--space-module", f"{tmp_path / 'fixed.py'}:Fixed", "--data", "npz", "--data-dir",
                 str(tmp_path / "three.npz"), "--out", str(out), "--workers", "1", "--no-progress", *TINY]) == 2
    err = capsys.readouterr().err  # was: every trial failed, exit 1 ("see trials.csv")
    assert "space: the data has 3 classes, the model space's network outputs shape [10]" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and not out.exists()


def test_paths_and_commands_are_never_wrapped_in_a_log(tmp_path, monkeypatch, capsys):
    """Output to a file or pipe (rich assumes 80 columns there) keeps each path and command on one line, so it can
    be copied from a CI log; a resumed job's lines are headed 'nasforge resume'."""
    monkeypatch.delenv("COLUMNS", raising=False)
    out = tmp_path / ("a-run-folder-whose-path-is-longer-than-a-terminal-line-" + "x" * 40)
    assert main(["search", "--workers", "1", "--name", "wide", "--no-progress", "--out", str(out), *TINY,
                 "--trials", "2", "--retrain", "1"]) == 0
    printed = capsys.readouterr().out
    assert f"summary.json in {out}\n" in printed and f"saved in {out / 'models'}\n" in printed
    assert "┃ trial ┃" in printed  # the front table still renders
    url = f"sqlite:///{out / 'study.db'}"
    assert main(["resume", "wide", "--storage", url, "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("nasforge resume: resuming 'wide'") and f"output {out}\n" in printed
