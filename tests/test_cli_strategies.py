"""Learning strategies through the CLI: multi-objective ``nasforge search`` and model-based ``nasforge bench``."""

import json

import pytest

from nasforge.cli import main
from nasforge.exceptions import UsageError
from nasforge.experiment import Study
from nasforge.pareto import pareto_front


def test_search_with_nsga2_stores_a_pareto_front(tmp_path):
    out = tmp_path / "run"
    assert main(["search", "--strategy", "nsga2", "--workers", "1", "--out", str(out), "--name", "ns",
                 "--trials", "4", "--retrain", "0", "--search-epochs", "1", "--seed", "2", "--threads", "1"]) == 0
    study = Study.load("ns", f"sqlite:///{out / 'study.db'}")
    assert study.strategy.name == "nsga2" and study.objectives == ["val_acc", "params"]
    trials = study.completed(searched_only=True)
    assert len(trials) == 4 and len(study.strategy.pareto_front()) >= 1  # the strategy was told every result
    points = [(t.metrics["val_acc"], t.metrics["params"]) for t in trials]
    expected = {trials[int(i)].number for i in pareto_front(points, ["maximize", "minimize"])}
    assert {t.number for t in study.pareto_front()} == expected
    front = json.loads((out / "front.json").read_text())
    summary = json.loads((out / "summary.json").read_text())
    assert {row["trial"] for row in front} == expected and summary["front_size"] == len(expected)
    assert summary["hypervolume"] > 0


def test_bench_runs_every_model_based_strategy(nb201_table, tmp_path, capsys):
    names = ["tpe", "bananas", "npenas", "gp_bo", "smac", "model_based", "reinforce"]  # bohb: --workers-simulated
    assert main(["bench", "--strategies", ",".join(names), "--seeds", "1", "--trials", "14", "--workers", "1",
                 "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "bench.json").read_text())
    assert [row["strategy"] for row in data["summary"]] == names
    for name in names:
        regret = data["curves"][name]["per_eval"]["mean"]
        assert len(regret) == 14 and regret[-1] <= regret[0] and regret[-1] >= 0, name
    assert all(row["duplicates"] == 0 for row in data["summary"])
    printed = capsys.readouterr().out
    assert all(name in printed for name in names)


def test_search_accepts_the_curve_pruner():
    from nasforge.pipelines.search import SearchConfig

    SearchConfig(strategy="nsga2", pruner="curve", search_epochs=5).validate()  # an unknown pruner: UsageError
    with pytest.raises(UsageError, match="search_epochs must be set to 5 or more with the curve pruner.*got nothing"):
        SearchConfig(strategy="nsga2", pruner="curve").validate()  # 4 preset epochs: it could never stop a trial


def test_search_with_a_constraint_keeps_the_front_feasible(tmp_path):
    """``--constraints`` reaches the study's strategy (recorded, so resume keeps it) and the stored front
    and the retraining choice hold feasible trials only."""
    out = tmp_path / "run"
    bound = 300_000  # seed 1 samples networks of 73,018 to 484,282 parameters
    assert main(["search", "--strategy", "nsga2", "--workers", "1", "--out", str(out), "--name", "c",
                 "--trials", "6", "--retrain", "0", "--search-epochs", "1", "--seed", "1", "--threads", "1",
                 "--constraints", f"params <= {bound}"]) == 0
    study = Study.load("c", f"sqlite:///{out / 'study.db'}")
    assert study.strategy.constraints == [f"params <= {bound}"]
    params = [t.metrics["params"] for t in study.completed(searched_only=True)]
    assert min(params) <= bound < max(params)  # both sides were sampled, so the filter is exercised
    assert all(t.metrics["params"] <= bound for t in study.pareto_front())


def test_search_rejects_bad_constraints(tmp_path, capsys):
    for extra in (["--constraints", "params < 5"], ["--constraints", "val_acc >= 50, speed <= 5"],
                  ["--strategy", "random", "--constraints", "params <= 5"], ["--constraints", " , "]):
        assert main(["search", "--out", str(tmp_path), "--trials", "1", *extra]) == 2
        err = capsys.readouterr().err
        assert "--constraints" in err and "Traceback" not in err


def test_search_passes_strategy_kwargs_and_keeps_them_on_resume(tmp_path):
    """``--strategy-kwargs`` reaches the study's strategy beside the automatic known ``params`` objective,
    and is recorded, so the reloaded study rebuilds the same strategy. (Two trials: both are the random
    starts: a model-based ask first counts the deployed parameters of all 5,260 canonical cells, about 14 s on one core.)"""
    out = tmp_path / "run"
    assert main(["search", "--strategy", "ts_hvi", "--workers", "1", "--out", str(out), "--name", "k",
                 "--trials", "2", "--retrain", "0", "--search-epochs", "1", "--seed", "1", "--threads", "1",
                 "--strategy-kwargs", '{"gain": "pnd", "n_initial": 2}']) == 0
    study = Study.load("k", f"sqlite:///{out / 'study.db'}")
    assert study.strategy.gain == "pnd" and study.strategy.n_initial == 2
    assert study.strategy.surrogates[1]["name"] == "known"  # the automatic known cost is kept
    assert len(study.completed(searched_only=True)) == 2


def test_search_rejects_bad_strategy_kwargs(tmp_path, capsys):
    for kwargs, word in (('{"gain": ', "JSON"), ("[1]", "object"), ('{"seed": 3}', "own options"),
                         ('{"population": 3}', "population"), ('{"gain": "most"}', "gain")):
        assert main(["search", "--strategy", "ts_hvi", "--out", str(tmp_path / "x" / "run"), "--trials", "1",
                     "--strategy-kwargs", kwargs]) == 2
        err = capsys.readouterr().err
        assert word in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert not (tmp_path / "x").exists()  # the refused start left none of the folders it made
    # bananas forwards **kwargs, so the name check passes; building the strategy still refuses it
    assert main(["search", "--strategy", "bananas", "--objectives", "val_acc", "--out", str(tmp_path / "b"),
                 "--trials", "1", "--strategy-kwargs", '{"foo": 1}']) == 2
    err = capsys.readouterr().err
    assert "foo" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    kept = tmp_path / "kept"
    (kept / "notes").mkdir(parents=True)  # a folder the user already had stays, with what is in it
    assert main(["search", "--strategy", "ts_hvi", "--out", str(kept), "--trials", "1",
                 "--strategy-kwargs", '{"surrogate": {"name": "residual", "base": {"name": "gp"}}}']) == 2
    err = capsys.readouterr().err
    assert "bootstrap=True" in err and "Traceback" not in err and (kept / "notes").is_dir()


@pytest.mark.slow  # kept out of the default suite, over its 10-minute budget (run with -m slow)
def test_search_with_the_curve_pruner_stops_a_hopeless_training(tmp_path):
    """End to end on digits: real training curves go to the learning-curve pruner. With seed 0 the sixth
    trial is a cell whose output is disconnected from its input (stuck near 10 %): it is pruned early,
    while the others train all their epochs."""
    out = tmp_path / "run"
    assert main(["search", "--strategy", "random", "--pruner", "curve", "--search-epochs", "5", "--trials", "6",
                 "--workers", "1", "--threads", "1", "--retrain", "0", "--out", str(out), "--name", "pc",
                 "--seed", "0"]) == 0
    study = Study.load("pc", f"sqlite:///{out / 'study.db'}")
    pruned = [t for t in study.trials if t.state.name == "PRUNED"]
    assert pruned and all("pruned at step" in t.error for t in pruned)
    assert all(t.metrics["epochs"] == 5 for t in study.completed(searched_only=True))


def test_search_refuses_bad_strategy_settings_before_training(tmp_path, capsys):
    base = ["search", "--trials", "2", "--workers", "1", "--retrain", "0", "--out", str(tmp_path / "run")]
    assert main([*base, "--strategy", "tpe", "--objectives", "val_acc", "--strategy-kwargs", '{"gamma": 5}']) == 2
    assert capsys.readouterr().err.strip() == "nasforge search: error: gamma must be in (0, 1), got 5"
    assert main([*base, "--strategy", "ts_hvi", "--objectives", "val_acc:max", "--name", "one"]) == 2
    err = capsys.readouterr().err
    assert "strategy 'ts_hvi' handles 2 objective(s), got 1 (val_acc)" in err and len(err.strip().splitlines()) == 1
    assert not list((tmp_path / "run").glob("**/trials.csv"))  # nothing trained
