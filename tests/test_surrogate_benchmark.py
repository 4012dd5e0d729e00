"""Surrogate benchmarks: fitting from tables and studies, noise, queries, artifacts, evaluator use."""

from __future__ import annotations

import json

import numpy as np
import pytest
from predictor_data import sample, seed_table

from nasforge.benchmarks import NoiseModel, SurrogateBenchmark, TabularBenchmark
from nasforge.evaluators import SurrogateEvaluator, TableEvaluator
from nasforge.experiment import Study
from nasforge.spaces import Architecture, NASBench201Space, get_space

FAST_LGB = {"n_estimators": 200, "learning_rate": 0.1}


@pytest.fixture(scope="module")
def table():
    return TabularBenchmark(seed_table(400, seeds=3, noise=1.0), NASBench201Space(), name="synthetic")


@pytest.fixture(scope="module")
def surrogate(table):
    return SurrogateBenchmark.fit(table.space, table, metrics=["val_acc", "params"], model="lgb",
                                  model_params=FAST_LGB, noise_model={"val_acc": "seeds"}, holdout=0.2, seed=0)


def test_fit_reports_held_out_quality_and_provenance(surrogate, table):
    manifest = surrogate.manifest
    assert manifest["name"] == "nb201-lgb-v1.0" and manifest["space"] == "nb201"
    assert manifest["training_data"]["rows"] == 400 and manifest["training_data"]["holdout_rows"] == 80
    assert len(manifest["training_data"]["sha256"]) == 64
    assert {"numpy", "lightgbm", "nasforge"} <= set(manifest["libraries"])
    held = manifest["metrics"]["val_acc"]["holdout"]
    assert held["kendall_tau"] > 0.7 and held["r2"] > 0.8
    assert len(surrogate.holdout) == 80 and all(a in table for a in surrogate.holdout)


def test_noise_learned_from_seed_columns(surrogate):
    noise = surrogate.noise["val_acc"]
    assert noise.source == "seeds"
    assert np.all((np.array(noise.stds) > 0.6) & (np.array(noise.stds) < 1.5))  # true seed noise: 1.0
    assert surrogate.noise["params"] is None  # no per-seed columns for params


def test_query_mean_and_seeded_noisy_draws(surrogate, table):
    arch = table.archs[0]
    mean = surrogate.query(arch)
    assert mean == surrogate.query(arch) and set(mean) == {"val_acc", "val_acc_std", "params"}
    assert mean["val_acc"] == pytest.approx(surrogate.predict([arch])[0])
    draws = [surrogate.query(arch, rng=np.random.default_rng(s))["val_acc"] for s in range(200)]
    assert draws[:3] == [surrogate.query(arch, rng=np.random.default_rng(s))["val_acc"] for s in range(3)]
    assert np.mean(draws) == pytest.approx(mean["val_acc"], abs=0.3)
    assert np.std(draws) == pytest.approx(mean["val_acc_std"], rel=0.25)
    with pytest.raises(ValueError, match="belongs to space"):
        surrogate.query(Architecture("other", arch.genotype))
    assert arch in surrogate and Architecture("other", arch.genotype) not in surrogate
    assert Architecture("nb201", ("conv",) * 6) not in surrogate


def test_save_load_round_trip(surrogate, table, tmp_path):
    folder = surrogate.save(tmp_path / "s")
    loaded = SurrogateBenchmark.load(folder)
    assert loaded.manifest == surrogate.manifest and loaded.holdout == surrogate.holdout
    np.testing.assert_allclose(loaded.predict(table.archs[:50]), surrogate.predict(table.archs[:50]))
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    assert loaded.query(table.archs[1], rng=rng_a) == surrogate.query(table.archs[1], rng=rng_b)
    with pytest.raises(ValueError, match="already holds a surrogate"):
        surrogate.save(folder)


def test_load_explains_what_is_wrong(surrogate, tmp_path):
    with pytest.raises(FileNotFoundError, match="surrogate folder not found"):
        SurrogateBenchmark.load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="manifest.json is missing"):
        SurrogateBenchmark.load(tmp_path / "empty")
    folder = surrogate.save(tmp_path / "s")
    with pytest.raises(ValueError, match="fitted on space 'nb201', not 'chain'"):
        SurrogateBenchmark.load(folder, get_space("chain", layers=[["a", "b"]]))
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(ValueError, match="format version 99; this nasforge reads versions up to 2"):
        SurrogateBenchmark.load(folder)
    (folder / "manifest.json").write_text(json.dumps({**manifest, "format": "something-else"}))
    with pytest.raises(ValueError, match="not a nasforge surrogate manifest"):
        SurrogateBenchmark.load(folder)
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        SurrogateBenchmark.load(folder)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "params" / "model.txt").unlink()
    with pytest.raises(ValueError, match=r"params/model.txt is missing \(listed in the manifest"):
        SurrogateBenchmark.load(folder)


def test_models_without_a_safe_format_cannot_be_saved(table, tmp_path):
    forest = SurrogateBenchmark.fit(table.space, table, model="rf", model_params={"n_estimators": 10})
    with pytest.raises(TypeError, match="'rf' has no safe file format"):
        forest.save(tmp_path / "rf")


def test_noise_options(table):
    given = SurrogateBenchmark.fit(table.space, table, metrics="params", model="knn", noise_model=0.5)
    assert given.noise["params"] == NoiseModel.constant(0.5)
    with pytest.raises(ValueError, match="needs per-seed columns for 'params'"):
        SurrogateBenchmark.fit(table.space, table, metrics="params", model="knn", noise_model="seeds")
    with pytest.raises(ValueError, match=r"names metric\(s\) \['val_acc'\] that are not modelled"):
        SurrogateBenchmark.fit(table.space, table, metrics="params", model="knn", noise_model={"val_acc": 0.1})
    with pytest.raises(ValueError, match="noise_model must be"):
        SurrogateBenchmark.fit(table.space, table, metrics="params", model="knn", noise_model="loud")
    with pytest.raises(ValueError, match="noise stds must be finite and non-negative"):
        NoiseModel((), (-1.0,))


def test_noise_model_follows_the_mean():
    runs = np.column_stack([np.r_[np.zeros(50), np.full(50, 10.0)]] * 2)
    runs[50:, 1] += 2.0  # noisy only where the mean is high
    noise = NoiseModel.from_seeds(runs, bins=2)
    assert noise.std(0.0) == pytest.approx(0.0) and noise.std(11.0) == pytest.approx(np.sqrt(2.0))
    assert NoiseModel.from_json(noise.to_json()) == noise


def test_fit_from_a_study_and_search_on_the_surrogate(table):
    study = Study(table.space, "random", objectives="val_acc", seed=0)
    study.optimize(TableEvaluator(table), n_trials=80)
    surrogate = SurrogateBenchmark.fit(table.space, study, model="lgb", model_params=FAST_LGB, noise_model=0.3)
    assert surrogate.manifest["training_data"]["rows"] == 80
    assert surrogate.manifest["training_data"]["source"].startswith("study")
    search = Study(table.space, "evolution", objectives="val_acc", seed=1, population_size=10, sample_size=3)
    search.optimize(SurrogateEvaluator(surrogate, noisy=True, seed=2), n_trials=30, catch=False)
    assert len(search.completed()) == 30
    assert all(t.metrics["val_acc_std"] == pytest.approx(0.3) for t in search.completed())


def test_fit_from_a_table_file_and_bad_data(tmp_path):
    frame = seed_table(60, seeds=2)
    frame.to_csv(tmp_path / "t.csv", index=False)
    space = NASBench201Space()
    surrogate = SurrogateBenchmark.fit(space, tmp_path / "t.csv", model="knn", holdout=0.0)
    assert surrogate.manifest["training_data"]["holdout_rows"] == 0 and surrogate.holdout == []
    with pytest.raises(KeyError, match="metric 'loss' not in benchmark"):
        SurrogateBenchmark.fit(space, frame, metrics="loss", model="knn")
    with pytest.raises(ValueError, match="holdout must be a fraction"):
        SurrogateBenchmark.fit(space, frame, model="knn", holdout=1.5)
    with pytest.raises(ValueError, match="unknown predictor"):
        SurrogateBenchmark.fit(space, frame, model="deep-forest")


def test_training_data_hash_ignores_row_order_but_not_values():
    space, archs, y = sample(30)
    fit = lambda a, v: SurrogateBenchmark.fit(  # noqa: E731
        space, [{"arch": space.format(x), "val_acc": t} for x, t in zip(a, v)], model="knn", holdout=0.0)
    base = fit(archs, y).manifest["training_data"]["sha256"]
    assert fit(archs[::-1], y[::-1]).manifest["training_data"]["sha256"] == base
    assert fit(archs, y + 0.1).manifest["training_data"]["sha256"] != base


def test_noisy_evaluator_needs_a_noise_model(table):
    plain = SurrogateBenchmark.fit(table.space, table, metrics="params", model="knn")
    with pytest.raises(ValueError, match="has no noise model"):
        SurrogateEvaluator(plain, noisy=True)
    with pytest.raises(ValueError, match="cost metric 'seconds' not modelled"):
        SurrogateEvaluator(plain, cost_metric="seconds")
