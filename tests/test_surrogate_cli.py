"""``nasforge surrogate`` and ``nasforge predictors`` refuse bad input up front: one line, exit status 2."""

from __future__ import annotations

import json

import pytest
from predictor_data import seed_table

from nasforge.cli import main


def err_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("t") / "t.csv"
    seed_table(80, seeds=1).rename(columns={"val_acc_seed0": "val_acc"}).to_csv(path, index=False)
    return path


def test_an_ensemble_with_a_member_that_cannot_save_is_refused_before_fitting(table, tmp_path, capsys):
    params = json.dumps({"members": [{"predictor": "rf"}]})
    assert main(["surrogate", "fit", "--table", str(table), "--model", "ensemble", "--params", params,
                 "--out", str(tmp_path / "s")]) == 2
    assert "--model ensemble: ensemble member(s) 'rf' have no safe file format" in err_line(capsys)
    assert not (tmp_path / "s").exists()


def test_a_predictor_that_cannot_save_is_refused_before_its_package_is_asked_for(table, tmp_path, capsys,
                                                                                  monkeypatch):
    """Would fail: without ngboost, --model ngb named nasforge[ngboost], whose install then refused it anyway."""
    import sys

    monkeypatch.setitem(sys.modules, "ngboost", None)  # not installed
    assert main(["surrogate", "fit", "--table", str(table), "--model", "ngb", "--out", str(tmp_path / "s")]) == 2
    assert "--model ngb: this predictor has no safe file format" in err_line(capsys)
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("argv, message", [
    (["surrogate", "fit", "--params", '{"seed": 3}'],
     "--params sets 'seed'; use --seed (it seeds the hold-out split and the models)"),
    (["predictors", "eval", "--predictors", "lgb", "--params", '{"lgb": {"seed": 1}}'],
     "--params: lgb sets 'seed'; the runs are seeded 0..N-1 by --seeds"),
])
def test_a_seed_in_params_is_refused_naming_the_option(table, tmp_path, capsys, argv, message):
    assert main([*argv, "--table", str(table), "--out", str(tmp_path / "o")]) == 2
    assert err_line(capsys).endswith(message)


def test_a_test_size_below_two_is_refused_up_front(table, tmp_path, capsys):
    assert main(["predictors", "eval", "--predictors", "knn", "--train-sizes", "5", "--test-size", "1",
                 "--table", str(table), "--out", str(tmp_path / "o")]) == 2
    assert err_line(capsys).endswith("--test-size must be at least 2 (the scores compare rankings), got 1")
    assert not (tmp_path / "o").exists()


def test_evaluate_predictors_refuses_bad_sizes_with_a_usage_error():
    from predictor_data import sample

    from nasforge.exceptions import UsageError
    from nasforge.predictors.evaluation import evaluate_predictors

    space, archs, y = sample(20)
    with pytest.raises(UsageError, match="test_size must be an integer >= 2, got 1"):
        evaluate_predictors(space, archs, y, ["knn"], [5], seeds=1, test_size=1)


@pytest.fixture(scope="module")
def trials(tmp_path_factory):
    """A study's exported trials: a text column (worker) and an all-missing one (error)."""
    frame = seed_table(40, seeds=1).rename(columns={"val_acc_seed0": "val_acc"})
    frame.insert(0, "state", "COMPLETE")
    frame.insert(0, "number", range(len(frame)))
    frame["worker"], frame["error"] = "vm:1", float("nan")
    path = tmp_path_factory.mktemp("trials") / "trials.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("metric, message", [
    ("worker", "metric column 'worker' is not numeric (dtype object, e.g. 'vm:1'); choose a numeric column"),
    ("error", "metric column 'error' has no values (all 40 complete trials lack it)"),
])
def test_trials_columns_that_are_not_metrics_are_refused_up_front(trials, tmp_path, capsys, metric, message):
    assert main(["surrogate", "fit", "--table", str(trials), "--metrics", metric, "--model", "knn",
                 "--out", str(tmp_path / "s")]) == 2
    assert err_line(capsys) == f"nasforge surrogate fit: error: --metrics: --table {trials}: {message}"
    assert not (tmp_path / "s").exists()


def test_a_failed_fit_leaves_no_out_folder_behind(table, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    for out in (tmp_path / "new", tmp_path / "empty"):  # the noise model fails after the first model is fitted
        assert main(["surrogate", "fit", "--table", str(table), "--model", "knn", "--noise", "seeds",
                     "--out", str(out)]) == 2
        line = err_line(capsys)
        assert "noise model 'seeds' needs per-seed columns for 'val_acc'" in line
        assert line.endswith("give a noise level (a standard deviation, e.g. 0.3) instead")  # no API spelling
    assert not (tmp_path / "new").exists() and list((tmp_path / "empty").iterdir()) == []


def test_fit_on_trials_refuses_a_text_metric_column(trials):
    import pandas as pd

    from nasforge.benchmarks import SurrogateBenchmark
    from nasforge.exceptions import UsageError

    with pytest.raises(UsageError, match="the trials: metric column 'worker' is not numeric"):
        SurrogateBenchmark.fit("nb201", pd.read_csv(trials), metrics="worker", model="knn")


@pytest.fixture(scope="module")
def artifact(table, tmp_path_factory):
    folder = tmp_path_factory.mktemp("a") / "s"
    assert main(["surrogate", "fit", "--table", str(table), "--model", "knn", "--noise", "0.5",
                 "--out", str(folder)]) == 0
    return folder


@pytest.mark.parametrize("field, value, message", [
    ("noise", [1, 2], "field metrics.val_acc.noise is damaged (a noise model must be an object, got list)"),
    ("noise", {"stds": [1.0]}, "field metrics.val_acc.noise is damaged (field 'edges' must be a list of numbers"),
    ("noise", {"edges": [], "stds": ["x"]}, "field metrics.val_acc.noise is damaged (field 'stds' must be a list"),
    ("holdout", [0.5], "field metrics.val_acc.holdout must map score names to numbers"),
    ("libraries", {"numpy": 1}, "field 'libraries' must map library names to version strings"),
    ("space", 5, "fields 'name' and 'space' must be strings"),
    ("space", "nb999", "field 'space'/'space_config' ('nb999') is not the space the model of metric 'val_acc' was "
                       "fitted on ('nb201')"),  # an unknown name may be a user's own space: the models disagree
    ("space", "darts", "field 'space'/'space_config' ('darts') is not the space the model of metric 'val_acc' was "
                       "fitted on ('nb201')"),
])
def test_every_command_refuses_a_damaged_manifest_alike(artifact, table, tmp_path, capsys, field, value, message):
    import shutil

    from nasforge.benchmarks import SurrogateBenchmark
    from nasforge.exceptions import UnsafeFileError

    folder = shutil.copytree(artifact, tmp_path / "s")
    manifest = json.loads((folder / "manifest.json").read_text())
    if field in ("noise", "holdout"):
        manifest["metrics"]["val_acc"][field] = value
    else:
        manifest[field] = value
    if value == "darts":
        manifest["space_config"] = None  # darts has no options
    (folder / "manifest.json").write_text(json.dumps(manifest))
    for fmt in ("table", "json", "csv"):
        assert main(["surrogate", "info", str(folder), "--format", fmt]) == 2
        assert message in err_line(capsys)
    with pytest.raises(UnsafeFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SurrogateBenchmark.load(folder)
    assert main(["surrogate", "eval", str(folder), "--table", str(table), "--out", str(tmp_path / "e")]) == 2
    assert message in err_line(capsys)


@pytest.mark.parametrize("name", ["other.csv", "t.csv"])
def test_eval_refuses_a_table_other_than_the_fitted_one_unless_told(artifact, tmp_path, capsys, name):
    """Other data is refused whatever its file is called (the training data's SHA-256 decides)."""
    other = tmp_path / name
    seed_table(80, seeds=3, seed=5).to_csv(other, index=False)  # per-seed columns: the seeds check runs
    argv = ["surrogate", "eval", str(artifact), "--table", str(other), "--seeds", "1", "--trials", "5",
            "--out", str(tmp_path / "e")]
    assert main(argv) == 2
    assert err_line(capsys).endswith(f"surrogate 'nb201-knn-v1.0' was not fitted on the data of table {name!r} (its "
                                     "rows and values differ from the training data's SHA-256 in the manifest; it "
                                     "was fitted on 't.csv'): pass that table (--table/--dataset), or --other-table "
                                     "to score it against this one")
    assert main([*argv, "--other-table"]) == 0


def test_eval_takes_the_fitted_data_under_another_name_and_says_what_is_in_sample(tmp_path, capsys):
    frame = seed_table(60, seeds=3)
    frame.to_csv(tmp_path / "seeds.csv", index=False)
    frame.to_csv(tmp_path / "copy.csv", index=False)
    assert main(["surrogate", "fit", "--table", str(tmp_path / "seeds.csv"), "--model", "knn", "--holdout", "0",
                 "--out", str(tmp_path / "s")]) == 0
    capsys.readouterr()
    assert main(["surrogate", "eval", str(tmp_path / "s"), "--table", str(tmp_path / "copy.csv"), "--seeds", "1",
                 "--trials", "5", "--out", str(tmp_path / "e")]) == 0
    assert "not held out: these archs may include the surrogate's training rows" in capsys.readouterr().out
    assert json.loads((tmp_path / "e" / "fidelity.json").read_text())["seeds"]["held_out"] is False


def test_few_held_out_rows_are_flagged(table, tmp_path, capsys):
    assert main(["surrogate", "fit", "--table", str(table), "--model", "knn", "--holdout", "0.05",
                 "--out", str(tmp_path / "s")]) == 0
    note = "note: the held-out scores rest on only 4 rows (raise --holdout for reliable ones)"
    assert note in capsys.readouterr().out


def test_eval_on_a_table_that_allows_no_fidelity_check_is_one_line(artifact, table, tmp_path, capsys):
    """The fitted table itself: no per-seed columns and not the whole space, so neither check can run."""
    argv = ["surrogate", "eval", str(artifact), "--table", str(table), "--seeds", "1", "--trials", "5",
            "--out", str(tmp_path / "e")]
    assert main(argv) == 2
    assert "no fidelity check possible" in err_line(capsys)


def test_eval_refuses_an_earlier_runs_outputs_unless_overwrite(artifact, tmp_path, capsys):
    other = tmp_path / "other.csv"
    seed_table(80, seeds=3, seed=5).to_csv(other, index=False)
    out = tmp_path / "e"
    argv = ["surrogate", "eval", str(artifact), "--table", str(other), "--other-table", "--seeds", "1",
            "--trials", "5", "--out", str(out)]
    assert main(argv) == 0
    first = (out / "fidelity.json").read_text()
    plt = pytest.importorskip("matplotlib.pyplot")
    plt.figure().savefig(out / "fidelity_regret.png", format="png")  # an earlier run's plot (matplotlib's PNG)
    plt.close("all")
    capsys.readouterr()
    assert main([*argv, "--metric", "val_acc"]) == 2
    assert err_line(capsys).endswith(f"--out {str(out)!r} already holds an earlier surrogate eval run (fidelity.json, "
                                     "fidelity_regret.png); choose another --out, or pass --overwrite to replace it")
    assert (out / "fidelity.json").read_text() == first
    assert main([*argv, "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["fidelity.json"]  # this run drew no plot: the stale one goes


def test_fit_and_info_show_the_noise_level_and_why_a_score_is_missing(tmp_path, capsys):
    table = tmp_path / "small.csv"
    seed_table(12, seeds=1).rename(columns={"val_acc_seed0": "val_acc"}).to_csv(table, index=False)
    out = tmp_path / "s"
    assert main(["surrogate", "fit", "--table", str(table), "--model", "knn", "--noise", "0.3",
                 "--out", str(out)]) == 0  # 10% of 12 rows: one held-out row
    for printed in (capsys.readouterr().out, main(["surrogate", "info", str(out)]) or capsys.readouterr().out):
        row = next(line.split() for line in printed.splitlines() if line.startswith("val_acc"))
        assert row == ["val_acc", "knn", "-", "-", "-", "std", "0.3"]
        assert printed.rstrip().endswith("-: no held-out score: only 1 held-out row, and scoring needs at least 2 "
                                         "(raise --holdout)")


def test_eval_on_a_whole_space_writes_the_regret_plot_and_says_run_for_one_seed(tmp_path, capsys):
    import itertools

    table = tmp_path / "chain.csv"
    rows = ["|".join(t) + f",{50 + i % 7 + t.count('a')}" for i, t in enumerate(itertools.product("abc", repeat=3))]
    table.write_text("arch,val_acc\n" + "\n".join(rows) + "\n")
    chain = ["--table", str(table), "--space", "chain"]
    assert main(["surrogate", "fit", *chain, "--model", "knn", "--holdout", "0.3", "--out", str(tmp_path / "s")]) == 0
    argv = ["surrogate", "eval", str(tmp_path / "s"), *chain, "--seeds", "1", "--trials", "5", "--out",
            str(tmp_path / "e")]
    for extra in ([], ["--overwrite"]):
        capsys.readouterr()
        assert main([*argv, *extra]) == 0
        assert "(b) final regret after 5 evaluations (mean of 1 run):" in capsys.readouterr().out
        assert sorted(p.name for p in (tmp_path / "e").iterdir()) == ["fidelity.json", "fidelity_regret.png"]


def test_dataset_is_honoured_by_fit_and_eval_and_refused_beside_trials(trials, tmp_path, capsys):
    """Would fail: --dataset beside a study's trials was ignored, and a surrogate fitted on one data set of a
    NAS-Bench-201-format --table was scored against another data set of it without --other-table."""
    assert main(["surrogate", "fit", "--table", str(trials), "--dataset", "cifar100", "--model", "knn",
                 "--out", str(tmp_path / "s")]) == 2
    assert err_line(capsys).endswith(f"--dataset cifar100: --table {trials} is a study's trials, whose metric "
                                     "columns are used as they are; leave --dataset out")
    table = tmp_path / "nb.csv"
    frame = seed_table(80, seeds=1).rename(columns={"val_acc_seed0": "cifar10-val"})
    frame["cifar100-val"] = frame["cifar10-val"] / 2
    frame.to_csv(table, index=False)
    assert main(["surrogate", "fit", "--table", str(table), "--dataset", "cifar100", "--model", "knn",
                 "--out", str(tmp_path / "s")]) == 0
    capsys.readouterr()
    argv = ["surrogate", "eval", str(tmp_path / "s"), "--table", str(table), "--seeds", "1", "--trials", "5",
            "--out", str(tmp_path / "e")]
    assert main([*argv, "--dataset", "cifar10"]) == 2
    err = err_line(capsys)
    assert "was not fitted on the data of table 'nb.csv'" in err and "fitted on 'nb.csv (cifar100)'" in err
    for dataset in (["--dataset", "cifar100"], []):  # the same table (left out: the surrogate's): to the fidelity check
        assert main([*argv, *dataset]) == 2
        assert "no fidelity check possible" in err_line(capsys)
    for dataset in (["--dataset", "cifar100"], []):  # --other-table with the fitted table would score it on itself
        assert main([*argv, *dataset, "--other-table"]) == 2
        assert err_line(capsys).endswith("--other-table: table 'nb.csv (cifar100)' is the one surrogate "
                                         "'nb201-cifar100-knn-v1.0' was fitted on; name the other table with "
                                         "--table or --dataset")


@pytest.mark.parametrize("strategy, message", [
    ("bananas", "--strategies: strategy 'bananas': predictor 'lgb' needs lightgbm: pip install 'nasforge[boost]'"),
    ("qnehvi", "--strategies: strategy 'qnehvi' handles 2 or more objectives; a benchmark run optimizes one"),
])
def test_eval_checks_its_strategies_before_any_run_and_leaves_no_out_folder(artifact, tmp_path, capsys, monkeypatch,
                                                                            strategy, message):
    """Would fail: a strategy needing a missing package, or more objectives, failed only once the runs got to it
    (after the others had run), leaving an empty --out folder behind."""
    import sys

    monkeypatch.setitem(sys.modules, "lightgbm", None)  # not installed
    other = tmp_path / "other.csv"
    seed_table(80, seeds=3, seed=5).to_csv(other, index=False)
    out = tmp_path / "new" / "e"
    assert main(["surrogate", "eval", str(artifact), "--table", str(other), "--other-table", "--seeds", "1",
                 "--trials", "5", "--strategies", f"random,{strategy}", "--out", str(out)]) == 2
    assert err_line(capsys).endswith(message)
    assert not (tmp_path / "new").exists()


def test_eval_that_fails_removes_the_out_folder_it_created(artifact, table, tmp_path, capsys):
    out = tmp_path / "e"
    assert main(["surrogate", "eval", str(artifact), "--table", str(table), "--seeds", "1", "--trials", "5",
                 "--out", str(out)]) == 2
    assert "no fidelity check possible" in err_line(capsys) and not out.exists()


def test_fit_overwrite_replaces_a_surrogate_only_once_the_new_one_is_saved(table, tmp_path, capsys):
    out = tmp_path / "s"
    fit = ["surrogate", "fit", "--table", str(table), "--model", "knn", "--out", str(out)]
    assert main([*fit, "--seed", "1"]) == 0
    first = (out / "manifest.json").read_text()
    assert main([*fit, "--seed", "2"]) == 2
    assert "already holds a surrogate" in err_line(capsys) and (out / "manifest.json").read_text() == first
    assert main([*fit, "--seed", "2", "--noise", "seeds", "--overwrite"]) == 2  # fails after fitting: old kept
    assert "noise model 'seeds'" in err_line(capsys) and (out / "manifest.json").read_text() == first
    assert main([*fit, "--artifact-version", "2.0", "--overwrite"]) == 0
    capsys.readouterr()
    assert json.loads((out / "manifest.json").read_text())["version"] == "2.0"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]  # no staging folder left
    (out / "notes.txt").write_text("mine")
    assert main([*fit, "--overwrite"]) == 2
    assert "the folder also holds notes.txt; nothing was overwritten" in err_line(capsys)
    assert (out / "notes.txt").read_text() == "mine"


def test_fit_records_the_nb201_rule_and_eval_uses_one_space_on_both_sides(table, tmp_path, capsys, monkeypatch):
    """Would fail: fit wrote "space_config": null (the rule was lost on save), and eval read the table with
    --space-config's rule but searched the surrogate under the default one."""
    import shutil

    from nasforge.analysis import surrogate_fidelity
    from test_surrogate_benchmark import _as_older_artifact

    rules = {}
    for rule in ("functional", "network"):
        (tmp_path / f"{rule}.json").write_text(json.dumps({"canonical_rule": rule}))
        rules[rule] = ["--space-config", str(tmp_path / f"{rule}.json")]
    assert main(["surrogate", "fit", "--table", str(table), *rules["functional"], "--model", "knn",
                 "--out", str(tmp_path / "s")]) == 0
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["space_config"] == {"canonical_rule": "functional"}
    seen = []

    def report(surrogate, table, *args):  # what the fidelity checks would compare
        seen.append((surrogate.space.canonical_rule, table.space.canonical_rule))
        return {"surrogate": surrogate.name, "skipped": {}}  # its first key, as fidelity_report's

    monkeypatch.setattr(surrogate_fidelity, "fidelity_report", report)
    shutil.copytree(tmp_path / "s", tmp_path / "older")
    _as_older_artifact(tmp_path / "older")
    for artifact, extra in (("s", []), ("s", rules["functional"]), ("older", rules["functional"])):
        assert main(["surrogate", "eval", str(tmp_path / artifact), "--table", str(table), *extra,
                     "--out", str(tmp_path / "e"), "--overwrite"]) == 0
    assert seen == [("functional", "functional")] * 3
    capsys.readouterr()
    assert main(["surrogate", "eval", str(tmp_path / "s"), "--table", str(table), *rules["network"],
                 "--out", str(tmp_path / "e2")]) == 2
    assert err_line(capsys).endswith("--space-config: surrogate 'nb201-knn-v1.0' and table 't.csv' read space 'nb201' "
                                     "with other options (canonical_rule 'functional' vs 'network'): leave the space "
                                     "options out to read the table with the surrogate's")
    assert not (tmp_path / "e2").exists()
