"""Review 37 of predictors and surrogates: leak-free split, scaled sparse KT, direction of
precision@1%, torch state, one-member ensemble, sample std, surrogate noise and manifest checks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from predictor_data import sample, seed_table

from nasforge.cli import main
from nasforge.exceptions import UnsafeFileError, UsageError
from nasforge.predictors import get_predictor, precision_at_k, sparse_kendall_tau
from nasforge.predictors.registry import uncertain_predictors
from nasforge.predictors.evaluation import _classes, _split, evaluate_predictors, summarize
from nasforge.predictors.metrics import tie_decimals


@pytest.fixture(scope="module")
def data():
    return sample(400, seed=3)


def test_class_split_keeps_isomorphs_out_of_training(data):
    space, archs, _ = data
    classes = _classes(space, archs)
    assert len(classes) < len(archs)  # the sample holds isomorphs, so a row split could leak them
    for seed in range(3):
        test, rest = _split(classes, len(archs), seed, 150)
        assert len(test) == 150
        held = {space.canonical_key(archs[i]) for i in test}
        assert not held & {space.canonical_key(archs[i]) for i in rest}
    leaked = 0
    for seed in range(3):
        test, rest = _split(None, len(archs), seed, 150)  # the row split, kept as an option, does leak
        leaked += len({space.canonical_key(archs[i]) for i in test} & {space.canonical_key(archs[i]) for i in rest})
    assert leaked > 0


def test_evaluate_predictors_splits_by_class_by_default_and_checks_options(data):
    space, archs, y = data
    records = evaluate_predictors(space, archs, y, ["knn"], [50], seeds=1, test_size=100)
    assert records[0]["sparse_kt_decimals"] == 1
    rows = evaluate_predictors(space, archs, y, ["knn"], [50], seeds=1, test_size=100, split="row")
    assert rows[0]["kendall_tau"] != records[0]["kendall_tau"]
    with pytest.raises(UsageError, match="split must be one of"):
        evaluate_predictors(space, archs, y, ["knn"], [50], split="arch")
    with pytest.raises(UsageError, match="direction must be"):
        evaluate_predictors(space, archs, y, ["knn"], [50], direction="up")


def test_evaluate_predictors_refuses_repeated_architectures(data):
    space, archs, y = data
    with pytest.raises(UsageError, match="is given twice .positions 0 and 400.*average repeated"):
        evaluate_predictors(space, [*archs, archs[0]], [*y, y[0]], ["knn"], [50], seeds=1, test_size=100)


def test_sparse_kendall_tau_follows_the_metric_scale():
    rng = np.random.default_rng(0)
    y = rng.uniform(40, 90, 500)
    p = y + rng.normal(0, 2, 500)
    assert tie_decimals(y) == 1 and tie_decimals(y / 100) == 3 and tie_decimals(np.zeros(3)) == 3
    assert sparse_kendall_tau(y / 100, p / 100) == pytest.approx(sparse_kendall_tau(y, p))
    assert sparse_kendall_tau(y / 100, p / 100, decimals=1) > sparse_kendall_tau(y, p) + 0.02  # the old width
    with pytest.raises(UsageError, match="decimals must be a whole number"):
        sparse_kendall_tau(y, p, decimals=0.5)


def test_precision_at_k_takes_a_direction():
    y = np.arange(100.0)
    p = y.copy()
    p[:5] = p[:5][::-1]  # the 5 lowest are ranked among themselves only
    assert precision_at_k(y, p, 5, maximize=False) == 1.0
    assert precision_at_k(-y, -p, 5) == precision_at_k(y, p, 5, maximize=False)
    assert precision_at_k(y, -p, 5, maximize=False) == 0.0
    with pytest.raises(UsageError, match="maximize must be True or False"):
        precision_at_k(y, p, 5, maximize="min")


def test_evaluation_direction_minimize_scores_the_lowest(data):
    space, archs, y = data
    up = evaluate_predictors(space, archs, y, ["lgb"], [100], seeds=1, test_size=200)[0]
    down = evaluate_predictors(space, archs, -y, ["lgb"], [100], seeds=1, test_size=200, direction="minimize")[0]
    assert down["precision_top1pct"] == pytest.approx(up["precision_top1pct"])


def test_summary_std_is_the_sample_std():
    records = [{"predictor": "a", "train_size": 10, "seed": s, "kendall_tau": v, "sparse_kendall_tau": v,
                "spearman": v, "r2": v, "mae": v, "rmse": v, "precision_top1pct": v, "fit_seconds": 1.0,
                "predict_seconds": 1.0} for s, v in enumerate((0.6, 0.7, 0.8))]
    row = summarize(records)[0]
    assert row["kendall_tau_std"] == pytest.approx(0.1)
    assert np.isnan(summarize(records[:1])[0]["kendall_tau_std"])


def test_neural_predictors_leave_torch_threads_and_rng_alone(data):
    torch = pytest.importorskip("torch")
    space, archs, y = data
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        for name in ("gin", "mlp"):
            torch.manual_seed(123)
            expected = torch.rand(3)
            torch.manual_seed(123)
            model = get_predictor(name, space, epochs=1, n_models=2).fit(archs[:30], y[:30])
            model.predict(archs[:5])
            model.predict_std(archs[:5])
            assert torch.get_num_threads() == 2
            assert torch.equal(torch.rand(3), expected)
    finally:
        torch.set_num_threads(before)


def test_one_member_ensemble_has_no_uncertainty(data):
    space, archs, y = data
    model = get_predictor("ensemble", space, members=["knn"]).fit(archs[:30], y[:30])
    assert not model.has_uncertainty
    with pytest.raises(TypeError, match="'ensemble' gives no uncertainty"):
        model.predict_std(archs[:3])
    assert get_predictor("ensemble", space, members=["knn", "svr"]).has_uncertainty
    assert "ensemble with two or more members" in uncertain_predictors()


def test_surrogate_noise_nan_is_refused_before_any_fit(tmp_path, capsys, monkeypatch):
    from nasforge.benchmarks import SurrogateBenchmark
    from nasforge.predictors.base import Predictor

    frame = seed_table(60)
    frame.to_csv(tmp_path / "t.csv", index=False)

    def no_fit(*args, **kwargs):
        raise AssertionError("fitted before checking the noise")

    monkeypatch.setattr(Predictor, "fit", no_fit)
    for bad in ("nan", "inf", "-1"):
        code = main(["surrogate", "fit", "--table", str(tmp_path / "t.csv"), "--space", "nb201", "--model", "knn",
                     "--metrics", "val_acc", "--noise", bad, "--out", str(tmp_path / "s")])
        assert code == 2
        assert f"--noise must be a finite, non-negative standard deviation, got {bad}" in capsys.readouterr().err
    space = sample(5)[0]
    with pytest.raises(UsageError, match="noise_model for metric 'val_acc' must be a finite, non-negative"):
        SurrogateBenchmark.fit(space, frame, metrics="val_acc", model="knn", noise_model=float("nan"))


def test_surrogate_info_refuses_damaged_training_data_and_names_the_trials_file(tmp_path, capsys):
    from nasforge.benchmarks.surrogate import read_manifest

    space, archs, y = sample(80, seed=1)
    trials = {"number": range(len(archs)), "state": "COMPLETE", "arch": [space.format(a) for a in archs],
              "val_acc": y}
    import pandas as pd

    pd.DataFrame(trials).to_csv(tmp_path / "trials.csv", index=False)
    out = tmp_path / "sur"
    assert main(["surrogate", "fit", "--table", str(tmp_path / "trials.csv"), "--space", "nb201", "--model", "knn",
                 "--metrics", "val_acc", "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["training_data"]["source"] == f"study {tmp_path / 'trials.csv'}"
    capsys.readouterr()
    for damage, field in ((lambda m: m.update(training_data={"source": "x"}), "training_data.rows"),
                          (lambda m: m.update(name=""), "'name'"),
                          (lambda m: m["training_data"].update(sha256=None), "training_data.sha256"),
                          (lambda m: m["training_data"].update(holdout_rows=True), "training_data.holdout_rows")):
        broken = json.loads(json.dumps(manifest))
        damage(broken)
        (out / "manifest.json").write_text(json.dumps(broken))
        with pytest.raises(UnsafeFileError, match=field):
            read_manifest(out)
        assert main(["surrogate", "info", str(out)]) != 0
        assert field in capsys.readouterr().err


def test_cli_predictors_eval_records_split_direction_and_decimals(tmp_path, capsys):
    seed_table(300, seed=2).to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "eval"
    assert main(["predictors", "eval", "--table", str(tmp_path / "t.csv"), "--predictors", "knn", "--train-sizes",
                 "30", "--seeds", "2", "--test-size", "100", "--split", "row", "--direction", "minimize",
                 "--out", str(out)]) == 0
    assert "(row split)" in capsys.readouterr().out
    result = json.loads((out / "predictors.json").read_text())
    assert result["split"] == "row" and result["direction"] == "minimize"
    assert all(run["sparse_kt_decimals"] == 1 for run in result["runs"])
    assert main(["predictors", "eval", "--table", str(tmp_path / "t.csv"), "--split", "arch", "--out",
                 str(tmp_path / "x")]) == 2
    assert "--split: invalid choice" in capsys.readouterr().err
