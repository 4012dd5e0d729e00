"""Comparing predictors: the evaluation harness and ``nasforge predictors eval``."""

from __future__ import annotations

import json

import pytest
from predictor_data import sample, seed_table

from nasforge.cli import main
from nasforge.predictors.evaluation import evaluate_predictors, plot_summary, summarize


@pytest.fixture(scope="module")
def data():
    return sample(300, seed=5)


def test_records_per_predictor_size_and_seed(data, tmp_path):
    space, archs, y = data
    specs = {"knn": {"k": 3}, "shallow": {"predictor": "lgb", "n_estimators": 50}}
    seen = []
    records = evaluate_predictors(space, archs, y, specs, [20, 60], seeds=2, test_size=100, on_result=seen.append)
    assert len(records) == 2 * 2 * 2 and seen == records
    assert {r["predictor"] for r in records} == {"knn", "shallow"}
    assert all(r["test_size"] == 100 and r["fit_seconds"] >= 0 for r in records)
    rows = summarize(records)
    assert len(rows) == 4 and all(r["seeds"] == 2 for r in rows)
    by_key = {(r["predictor"], r["train_size"]): r for r in rows}
    assert by_key[("shallow", 60)]["kendall_tau"] > by_key[("shallow", 20)]["kendall_tau"] - 0.05
    assert plot_summary(rows, tmp_path / "p.png").stat().st_size > 0


def test_same_seed_same_split(data):
    space, archs, y = data
    first = evaluate_predictors(space, archs, y, ["knn"], [30], seeds=1, test_size=50)
    again = evaluate_predictors(space, archs, y, ["knn"], [30], seeds=1, test_size=50)
    assert first[0]["kendall_tau"] == again[0]["kendall_tau"]


def test_bad_requests_are_rejected(data):
    space, archs, y = data
    with pytest.raises(ValueError, match="exceeds the 300 architectures"):
        evaluate_predictors(space, archs, y, ["knn"], [250], test_size=100)
    with pytest.raises(ValueError, match="unknown predictor 'magic'"):
        evaluate_predictors(space, archs, y, ["magic"], [10], test_size=10)
    with pytest.raises(ValueError, match="at least 2"):
        evaluate_predictors(space, archs, y, ["knn"], [1], test_size=10)
    with pytest.raises(ValueError, match="300 architectures but 2 target values"):
        evaluate_predictors(space, archs, y[:2], ["knn"], [10], test_size=10)


def test_cli_eval_writes_table_json_and_plot(tmp_path, capsys):
    frame = seed_table(200, seeds=1).rename(columns={"val_acc_seed0": "cifar10-val"})
    frame["cifar10-test"] = frame["cifar10-val"]
    frame.to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "eval"
    assert main(["predictors", "eval", "--table", str(tmp_path / "t.csv"), "--predictors", "knn,lgb",
                 "--train-sizes", "30,60", "--seeds", "2", "--test-size", "100",
                 "--params", '{"lgb": {"n_estimators": 40}}', "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "KT" in printed and "lgb" in printed
    result = json.loads((out / "predictors.json").read_text())
    assert len(result["runs"]) == 8 and len(result["summary"]) == 4 and result["params"]["lgb"]["n_estimators"] == 40
    assert (out / "predictors.png").is_file()


@pytest.mark.parametrize("argv, message", [
    (["--predictors", "knn,oracle"], "unknown predictors ['oracle']"),
    (["--train-sizes", "10,many"], "--train-sizes must be comma-separated integers"),
    (["--params", "{oops"], "--params is not valid JSON"),
    (["--params", '{"knn": 3}'], "--params must be a JSON object of objects"),
])
def test_cli_eval_bad_input(argv, message, capsys):
    assert main(["predictors", "eval", *argv]) == 2
    assert message in capsys.readouterr().err


def test_plot_summary_skips_nan_metrics(tmp_path):
    rows = [{"predictor": "lgb", "train_size": 2, "seeds": 1, **{m: float("nan") for m in ("kendall_tau",
             "sparse_kendall_tau", "spearman")}, **{f"{m}_std": float("nan") for m in ("kendall_tau",
             "sparse_kendall_tau", "spearman")}, "r2": -0.2, "r2_std": 0.0, "mae": 7.5, "mae_std": 0.0}]
    assert plot_summary(rows, tmp_path / "nan.png").stat().st_size > 0


def _eval_argv(tmp_path, out, *extra):
    frame = seed_table(120, seeds=1).rename(columns={"val_acc_seed0": "cifar10-val"})
    frame["cifar10-test"] = frame["cifar10-val"]
    frame.to_csv(tmp_path / "t.csv", index=False)
    return ["predictors", "eval", "--table", str(tmp_path / "t.csv"), "--predictors", "knn", "--train-sizes", "2",
            "--seeds", "1", "--test-size", "50", "--out", str(out), *extra]


def test_cli_eval_nan_metrics_still_plot(tmp_path, capsys):
    out = tmp_path / "two"
    assert main(_eval_argv(tmp_path, out)) == 0
    printed = capsys.readouterr().out
    assert "1 predictor x sizes [2] x 1 seed," in printed and "(mean of 1 seed)" in printed
    assert (out / "predictors.json").is_file() and (out / "predictors.png").stat().st_size > 0


def test_cli_eval_refuses_an_earlier_run_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "pe1"
    assert main(_eval_argv(tmp_path, out)) == 0
    before = {name: (out / name).read_bytes() for name in ("predictors.json", "predictors.png")}
    capsys.readouterr()
    assert main(_eval_argv(tmp_path, out)) == 2
    err = capsys.readouterr()
    assert "already holds an earlier predictors eval run" in err.err and "--overwrite" in err.err
    assert "n=2" not in err.out  # refused before any fit
    assert {name: (out / name).read_bytes() for name in before} == before
    assert main(_eval_argv(tmp_path, out, "--overwrite")) == 0
    assert sorted(p.name for p in out.iterdir()) == ["predictors.json", "predictors.png"]


def test_cli_eval_honours_dataset_and_refuses_it_where_the_table_has_no_column_of_it(tmp_path, capsys):
    """Would fail: --dataset beside a table of its own val_acc (or of another space) was silently ignored, and a
    run on another data set of a NAS-Bench-201-format table recorded the same table name."""
    import pandas as pd

    frame = seed_table(120, seeds=1).rename(columns={"val_acc_seed0": "cifar10-val"})
    frame["cifar100-val"] = frame["cifar10-val"].sample(frac=1.0, random_state=0).to_numpy()
    frame.to_csv(tmp_path / "t.csv", index=False)
    argv = ["predictors", "eval", "--predictors", "knn", "--train-sizes", "40", "--seeds", "1", "--test-size", "50"]
    runs = {}
    for dataset in ("cifar10", "cifar100"):
        assert main([*argv, "--table", str(tmp_path / "t.csv"), "--dataset", dataset,
                     "--out", str(tmp_path / dataset)]) == 0
        runs[dataset] = json.loads((tmp_path / dataset / "predictors.json").read_text())
    assert runs["cifar10"]["table"] == "t.csv" and runs["cifar100"]["table"] == "t.csv (cifar100)"
    assert runs["cifar10"]["summary"][0]["kendall_tau"] != runs["cifar100"]["summary"][0]["kendall_tau"]
    capsys.readouterr()
    frame.rename(columns={"cifar10-val": "val_acc"}).drop(columns="cifar100-val").to_csv(tmp_path / "own.csv")
    chain = [f"{a}|{b}|{c}" for a in "xyz" for b in "xyz" for c in "xyzw"]
    pd.DataFrame({"arch": chain, "cifar100-val": range(len(chain))}).to_csv(tmp_path / "chain.csv", index=False)
    for extra, message in ((["--table", str(tmp_path / "own.csv")], "has no cifar100-val/-test column"),
                           (["--table", str(tmp_path / "chain.csv"), "--space", "chain"], "is read as space 'chain'")):
        assert main([*argv, *extra, "--dataset", "cifar100", "--out", str(tmp_path / "no")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err and err.strip().endswith("leave --dataset out"), err
    assert not (tmp_path / "no").exists()


def test_cli_eval_that_fails_leaves_no_empty_out_folder(tmp_path, monkeypatch, capsys):
    import nasforge.predictors.evaluation as evaluation
    from nasforge.exceptions import UsageError

    def fail(*args, **kwargs):
        raise UsageError("failed midway")

    monkeypatch.setattr(evaluation, "evaluate_predictors", fail)
    seed_table(200, seeds=1).rename(columns={"val_acc_seed0": "cifar10-val"}).to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "new" / "eval"
    assert main(["predictors", "eval", "--table", str(tmp_path / "t.csv"), "--predictors", "knn", "--train-sizes", "30",
                 "--test-size", "100", "--out", str(out)]) == 2
    assert "failed midway" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_cli_eval_names_the_extra_of_a_predictor_not_installed(tmp_path, monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "xgboost", None)
    seed_table(200, seeds=1).rename(columns={"val_acc_seed0": "cifar10-val"}).to_csv(tmp_path / "t.csv", index=False)
    assert main(["predictors", "eval", "--table", str(tmp_path / "t.csv"), "--predictors", "knn,xgb",
                 "--train-sizes", "30", "--test-size", "100", "--out", str(tmp_path / "eval")]) == 2
    assert capsys.readouterr().err.strip() == ("nasforge predictors eval: error: predictor 'xgb' needs xgboost: "
                                               "pip install 'nasforge[boost]'")
    assert not (tmp_path / "eval").exists()


def test_cli_eval_default_list_skips_a_predictor_not_installed_with_a_note(tmp_path, monkeypatch, capsys):
    """Would fail: with ngboost (its own extra) not installed, the default predictors eval refused the whole run."""
    import sys

    import nasforge.cli.predictors as cli_predictors

    monkeypatch.setitem(sys.modules, "ngboost", None)
    seed_table(200, seeds=1).rename(columns={"val_acc_seed0": "cifar10-val"}).to_csv(tmp_path / "t.csv", index=False)
    argv = ["predictors", "eval", "--table", str(tmp_path / "t.csv"), "--train-sizes", "30", "--test-size", "100",
            "--seeds", "1"]
    monkeypatch.setattr(cli_predictors, "DEFAULT_PREDICTORS", "knn,ngb")  # the parser, built per call, reads it
    assert main([*argv, "--out", str(tmp_path / "eval")]) == 0
    err = capsys.readouterr().err
    assert "skipping default predictor ngb: predictor 'ngb' needs ngboost: pip install 'nasforge[ngboost]'" in err
    assert [r["predictor"] for r in json.loads((tmp_path / "eval" / "predictors.json").read_text())["summary"]] \
        == ["knn"]
    assert main([*argv, "--predictors", "knn,ngb", "--out", str(tmp_path / "named")]) == 2  # named: refused
