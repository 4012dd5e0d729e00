"""Fidelity report of a surrogate against its table, and the ``nasforge surrogate`` commands."""

from __future__ import annotations

import json

import numpy as np
import pytest
from predictor_data import seed_table

from nasforge.analysis.surrogate_fidelity import fidelity_report, plot_regret_fidelity, regret_fidelity, seed_fidelity
from nasforge.benchmarks import SurrogateBenchmark, TabularBenchmark
from nasforge.cli import main
from nasforge.spaces import NASBench201Space

FAST_LGB = {"n_estimators": 200, "learning_rate": 0.1}


@pytest.fixture(scope="module")
def table():
    """Every NAS-Bench-201 architecture, a learnable score and 3 noisy seeds."""
    return TabularBenchmark(seed_table(None, seeds=3, noise=2.0), NASBench201Space(), name="synthetic")


@pytest.fixture(scope="module")
def surrogate(table):
    return SurrogateBenchmark.fit(table.space, table, model="lgb", model_params=FAST_LGB, holdout=0.9)


def test_surrogate_beats_a_single_seed_on_a_learnable_noisy_table(surrogate, table):
    report = seed_fidelity(surrogate, table, "val_acc")
    assert report["n_archs"] == 14062 and report["n_seeds"] == 3
    ours, one_seed = report["surrogate_vs_other_seeds"], report["one_seed_vs_other_seeds"]
    assert one_seed["mae"] == pytest.approx(2.0 * np.sqrt(1 + 1 / 2) * np.sqrt(2 / np.pi), rel=0.2)
    assert ours["mae"] < one_seed["mae"] and report["surrogate_beats_one_seed"]


def test_seed_fidelity_needs_seed_columns(surrogate, table):
    with pytest.raises(KeyError, match="has no per-seed columns"):
        seed_fidelity(surrogate, table, "params")


def test_regret_curves_on_surrogate_and_table(surrogate, table, tmp_path):
    report = regret_fidelity(surrogate, table, "val_acc", strategies=("evolution", "random"), runs=2, budget=25)
    assert set(report["strategies"]) == {"evolution", "random"}
    for curves in report["strategies"].values():
        for key in ("table", "surrogate"):
            curve = np.array(curves[key])
            assert curve.shape == (25,) and np.all(np.diff(curve) <= 1e-9)  # best-so-far never gets worse
        assert len(curves["surrogate_true"]) == 25  # the surrogate's pick may be worse on the table
        assert np.all(np.array(curves["table"]) >= 0) and np.all(np.array(curves["surrogate_true"]) >= 0)
        assert curves["mean_abs_gap"] >= 0
    assert plot_regret_fidelity(report, tmp_path / "r.png").stat().st_size > 0


def test_a_prediction_made_alone_above_the_batch_optimum_is_no_error(surrogate, table, monkeypatch):
    """Would fail: a k-NN or neural surrogate can predict one architecture a little higher alone than in the batch
    that gives the surrogate's optimum, and the regret check then refused every such surrogate."""
    alone = type(surrogate).query

    def query(self, arch, rng=None):  # the evaluator's one-architecture prediction
        return {metric: value + 100.0 for metric, value in alone(self, arch, rng).items()}

    monkeypatch.setattr(type(surrogate), "query", query)
    report = regret_fidelity(surrogate, table, "val_acc", strategies=("random",), runs=1, budget=10)
    assert np.all(np.array(report["strategies"]["random"]["surrogate"]) >= 0)


def test_full_report_skips_what_the_table_cannot_check(table, surrogate):
    params = SurrogateBenchmark.fit(table.space, table, metrics="params", model="knn", holdout=0.9)
    report = fidelity_report(params, table, runs=1, budget=5, strategies=("random",))
    assert "seeds" not in report and "no per-seed columns" in report["skipped"]["seeds"]
    assert report["metric"] == "params" and "regret" in report
    partial = TabularBenchmark(seed_table(300, seeds=2), NASBench201Space(), name="partial")
    report = fidelity_report(surrogate, partial)
    assert "seeds" in report and "holds 207 of the 5,260 distinct" in report["skipped"]["regret"]
    with pytest.raises(ValueError, match="holds 207 of the 5,260 distinct"):
        regret_fidelity(params, partial, "params")
    with pytest.raises(ValueError, match="no fidelity check possible"):
        fidelity_report(params, partial, metric="params")


@pytest.fixture(scope="module")
def table_file(tmp_path_factory):
    """A NAS-Bench-201-shaped file: ``cifar10-val`` with seed columns, plain ``cifar10-test``."""
    frame = seed_table(300, seeds=2, noise=1.0).rename(columns=lambda c: c.replace("val_acc", "cifar10-val"))
    frame["cifar10-test"] = frame["cifar10-val_seed0"] + 5.0
    path = tmp_path_factory.mktemp("table") / "nb201.csv"
    frame.to_csv(path, index=False)
    return path


def test_cli_fit_info_eval(table_file, tmp_path, capsys):
    out = tmp_path / "sur"
    assert main(["surrogate", "fit", "--table", str(table_file), "--model", "lgb", "--params",
                 json.dumps(FAST_LGB), "--noise", "seeds", "--metrics", "val_acc", "--out", str(out)]) == 0
    assert "fitted nb201-lgb-v1.0" in capsys.readouterr().out
    assert main(["surrogate", "info", str(out)]) == 0
    info = capsys.readouterr().out
    assert "nb201-lgb-v1.0" in info and "from seeds" in info and "sha256" in info
    report_dir = tmp_path / "report"
    assert main(["surrogate", "eval", str(out), "--table", str(table_file), "--seeds", "1", "--trials", "10",
                 "--out", str(report_dir)]) == 0
    assert "surrogate" in capsys.readouterr().out
    report = json.loads((report_dir / "fidelity.json").read_text())
    assert "seeds" in report and "regret" in report["skipped"]  # a 300-row table cannot score searches


def test_cli_fit_from_exported_trials(tmp_path, capsys):
    trials = seed_table(80, seeds=1).rename(columns={"val_acc_seed0": "val_acc"})
    trials["state"] = ["COMPLETE"] * 70 + ["FAILED"] * 10
    trials.to_csv(tmp_path / "trials.csv", index=False)
    assert main(["surrogate", "fit", "--table", str(tmp_path / "trials.csv"), "--model", "knn",
                 "--out", str(tmp_path / "s")]) == 0
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["training_data"]["rows"] == 70


def test_cli_bad_input_is_one_line(table_file, tmp_path, capsys):
    assert main(["surrogate", "info", str(tmp_path)]) == 2
    assert "manifest.json is missing" in capsys.readouterr().err
    assert main(["surrogate", "fit", "--table", str(table_file), "--noise", "loud", "--out", str(tmp_path / "x")]) == 2
    assert "--noise must be" in capsys.readouterr().err
    assert main(["surrogate", "fit", "--table", str(table_file), "--model", "rf", "--out", str(tmp_path / "y")]) == 2
    assert "no safe file format" in capsys.readouterr().err


def test_multi_fidelity_strategies_are_refused_before_any_run(surrogate, table):
    """A table holds final values: hyperband's budgets cannot be honoured (its curves were all NaN)."""
    from nasforge.exceptions import UsageError

    with pytest.raises(UsageError, match="hyperband chooses a budget"):
        fidelity_report(surrogate, table, strategies=["hyperband", "random"])


def test_a_table_read_with_another_nb201_rule_is_refused_before_any_run(surrogate, table):
    """Would fail: the table's runs de-duplicated under one rule and the surrogate's under another, unnoticed."""
    from nasforge.exceptions import UsageError

    functional = TabularBenchmark(seed_table(None, seeds=1), NASBench201Space(canonical_rule="functional"),
                                  name="functional")
    message = (r"surrogate 'nb201-lgb-v1.0' and table 'functional' read space 'nb201' with other options "
               r"\(canonical_rule 'network' vs 'functional'\): load both with the same space")
    with pytest.raises(UsageError, match=message):
        regret_fidelity(surrogate, functional, "val_acc", runs=1, budget=1)
    with pytest.raises(UsageError, match=message):
        fidelity_report(surrogate, functional, runs=1, budget=1)
