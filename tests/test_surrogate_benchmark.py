"""Surrogate benchmarks: fitting from tables and studies, noise, queries, artifacts, evaluator use."""

from __future__ import annotations

import json

import numpy as np
import pytest
from predictor_data import rehash_surrogate, sample, seed_table

from nasforge.benchmarks import NoiseModel, SurrogateBenchmark, TabularBenchmark
from nasforge.evaluators import SurrogateEvaluator, TableEvaluator
from nasforge.exceptions import UsageError
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
    assert manifest["training_data"]["rows"] == 400 and 60 <= manifest["training_data"]["holdout_rows"] <= 100
    assert len(manifest["training_data"]["sha256"]) == 64
    assert {"numpy", "lightgbm", "nasforge"} <= set(manifest["libraries"])
    held = manifest["metrics"]["val_acc"]["holdout"]
    assert held["kendall_tau"] > 0.7 and held["r2"] > 0.8
    assert len(surrogate.holdout) == manifest["training_data"]["holdout_rows"]
    assert all(a in table for a in surrogate.holdout)


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
    assert surrogate.query(arch, rng=5) == surrogate.query(arch, rng=np.random.default_rng(5))  # an int seed
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator, a non-negative int seed or None"):
        surrogate.query(arch, rng="five")
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
    with pytest.raises(ValueError, match="format version 99; this nasforge reads versions up to 4"):
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
    with pytest.raises(ValueError, match=r"metric\(s\) \['loss'\] not in table"):
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


def test_evaluator_refuses_a_fidelity_unless_told_to_ignore_it(surrogate, table):
    arch = table.archs[0]
    with pytest.raises(UsageError, match=r"surrogate 'nb201-lgb-v1.0' predicts one full-budget value per "
                                         r"architecture and cannot answer at fidelity \{'epochs': 4\}"):
        SurrogateEvaluator(surrogate).evaluate(arch, fidelity={"epochs": 4})
    full = SurrogateEvaluator(surrogate).evaluate(arch).metrics
    assert SurrogateEvaluator(surrogate, ignore_fidelity=True).evaluate(arch, {"epochs": 4}).metrics == full


# -- damaged, swapped and escaping artifacts: one clear error, never a crash ---------------------
@pytest.fixture(scope="module")
def saved(table, tmp_path_factory):
    """An lgb + knn artifact (written once; each test copies it)."""
    fitted = SurrogateBenchmark.fit(table.space, table, metrics=["val_acc"], model="lgb", model_params=FAST_LGB)
    knn = SurrogateBenchmark.fit(table.space, table, metrics=["params"], model="knn")
    fitted.models["params"], fitted.noise["params"] = knn.models["params"], None
    fitted.manifest["metrics"]["params"] = {**knn.manifest["metrics"]["params"]}
    return fitted.save(tmp_path_factory.mktemp("artifact") / "s")


def copy_of(folder, tmp_path):
    import shutil

    return shutil.copytree(folder, tmp_path / "copy")


def test_fitted_on_compares_the_training_data_not_the_table_name(surrogate, table):
    frame = seed_table(400, seeds=3, noise=1.0)
    assert surrogate.fitted_on(TabularBenchmark(frame, table.space, name="renamed copy")) is True
    frame["val_acc_seed0"] += 0.5
    assert surrogate.fitted_on(TabularBenchmark(frame, table.space, name=table.name)) is False
    assert surrogate.fitted_on(TabularBenchmark(frame.drop(columns="params"), table.space)) is False


def test_a_missing_holdout_file_is_refused_where_the_manifest_records_one(saved, tmp_path):
    from nasforge.exceptions import MissingFileError

    folder = copy_of(saved, tmp_path)
    (folder / "holdout.json").unlink()
    with pytest.raises(MissingFileError, match="lacks holdout.json, which its manifest records"):
        SurrogateBenchmark.load(folder)


@pytest.mark.parametrize("field, value, message", [
    ("space", "darts", r"field 'space'/'space_config' \('darts'\) is not the space the model of metric 'val_acc' "
                       r"was fitted on \('nb201'\)"),
    ("predictor", "xgb", "field metrics.val_acc.predictor is 'xgb', but the model folder holds a 'lgb' predictor"),
])
def test_manifest_fields_must_match_the_model_folders(saved, tmp_path, field, value, message):
    from nasforge.benchmarks.surrogate import check_artifact
    from nasforge.exceptions import UnsafeFileError

    folder = copy_of(saved, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    (manifest["metrics"]["val_acc"] if field == "predictor" else manifest)[field] = value
    if field == "space":
        manifest["space_config"] = None  # darts has no options
    (folder / "manifest.json").write_text(json.dumps(manifest))
    for check in (check_artifact, SurrogateBenchmark.load):  # what surrogate info and eval use
        with pytest.raises(UnsafeFileError, match=message):
            check(folder)


def test_noise_is_learned_from_the_training_rows_only(table):
    from nasforge.benchmarks.surrogate import NoiseModel

    fitted = SurrogateBenchmark.fit(table.space, table, model="knn", noise_model="seeds", holdout=0.5, seed=0)
    train = [table.row(a) for a in table.archs if a not in set(fitted.holdout)]
    learned, expected = fitted.noise["val_acc"], NoiseModel.from_seeds(table.seed_values("val_acc")[train])
    np.testing.assert_allclose(learned.edges, expected.edges)
    np.testing.assert_allclose(learned.stds, expected.stds)
    assert not np.allclose(learned.stds, NoiseModel.from_seeds(table.seed_values("val_acc")).stds)


def test_unknown_metric_and_bad_seed_are_usage_errors(surrogate, table):
    with pytest.raises(UsageError, match="metric 'nope' not in surrogate"):
        surrogate.predict(table.archs[:2], "nope")
    with pytest.raises(UsageError, match="seed must be an integer >= 0, got -1"):
        SurrogateEvaluator(surrogate, noisy=True, seed=-1)


def test_manifest_holds_a_checksum_of_every_model_file(saved):
    manifest = json.loads((saved / "manifest.json").read_text())
    assert set(manifest["metrics"]["val_acc"]["files"]) == {"predictor.json", "model.txt"}
    assert set(manifest["metrics"]["params"]["files"]) == {"predictor.json", "knn.safetensors"}
    assert all(len(h) == 64 for h in manifest["metrics"]["val_acc"]["files"].values())


def test_truncated_lightgbm_file_is_an_error_not_a_segfault(saved, tmp_path):
    """Run in a subprocess: on the old code LightGBM killed the interpreter with SIGSEGV."""
    import subprocess
    import sys

    folder = copy_of(saved, tmp_path)
    model = folder / "val_acc" / "model.txt"
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 3])
    code = ("import sys\nfrom nasforge.benchmarks import SurrogateBenchmark\n"
            f"try:\n    SurrogateBenchmark.load({str(folder)!r}, verify=sys.argv[1] == '1')\n"
            "except ValueError as exc:\n    print(exc)\n")
    for verify in ("1", "0"):  # the manifest's checksum first; without it, the one in predictor.json
        done = subprocess.run([sys.executable, "-c", code, verify], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        expected = "does not match its SHA-256 in " + ("the manifest" if verify == "1" else "predictor.json")
        assert "val_acc/model.txt" in done.stdout and expected in done.stdout


@pytest.mark.parametrize("folder_value", ["../outside", "/tmp", "val_acc/../../x"])
def test_model_folders_must_stay_inside_the_artifact(saved, tmp_path, folder_value):
    from nasforge.exceptions import UnsafeFileError

    folder = copy_of(saved, tmp_path)
    (tmp_path / "outside").mkdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["metrics"]["val_acc"]["folder"] = folder_value
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(UnsafeFileError, match=r"field metrics.val_acc.folder: path .* (must stay inside|leads outside)"):
        SurrogateBenchmark.load(folder)


def test_checksum_paths_must_stay_inside_the_model_folder(saved, tmp_path):
    from nasforge.exceptions import UnsafeFileError

    folder = copy_of(saved, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["metrics"]["val_acc"]["files"]["../holdout.json"] = "0" * 64
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(UnsafeFileError, match=r"'../holdout.json'.* must stay inside"):
        SurrogateBenchmark.load(folder)


def test_swapped_model_files_are_named(saved, tmp_path):
    """A pickle in place of LightGBM's text or of a safetensors file, checksums updated to match."""
    import pickle

    from nasforge.exceptions import UnsafeFileError

    folder = copy_of(saved, tmp_path)
    (folder / "val_acc" / "model.txt").write_bytes(pickle.dumps({"evil": 1}))
    rehash_surrogate(folder)
    with pytest.raises(UnsafeFileError, match=r"val_acc/model.txt is not a LightGBM text model file \(it holds bytes"):
        SurrogateBenchmark.load(folder)
    folder = copy_of(saved, tmp_path / "b")
    (folder / "params" / "knn.safetensors").write_bytes(pickle.dumps([1, 2, 3]))
    rehash_surrogate(folder)
    with pytest.raises(UnsafeFileError, match=r"cannot load the knn model saved in .*params: SafetensorError"):
        SurrogateBenchmark.load(folder)


def test_old_artifacts_without_checksums_need_explicit_trust(saved, tmp_path):
    from nasforge.exceptions import UnsafeFileError

    folder = copy_of(saved, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    for entry in manifest["metrics"].values():
        del entry["files"]
    (folder / "manifest.json").write_text(json.dumps({**manifest, "format_version": 1}))
    with pytest.raises(UnsafeFileError, match="lists no checksums .* verify=False"):
        SurrogateBenchmark.load(folder)
    assert SurrogateBenchmark.load(folder, verify=False).metrics == ["val_acc", "params"]


@pytest.mark.parametrize("field, value, message", [
    ("state", {"y_mean": 1.0}, "field 'state.y_scale' is missing or not a finite number"),
    ("state", {"y_mean": 1.0, "y_scale": "big"}, "field 'state.y_scale' is missing or not a finite number"),
    ("predictor", 3, "field 'predictor' is missing or not a str"),
    ("files", ["../../etc/passwd"], "field 'files' names paths outside"),
    ("params", {"n_neighbors": -1}, "fields 'predictor'/'params' are damaged"),
])
def test_damaged_predictor_json_names_the_field(saved, tmp_path, field, value, message):
    from nasforge.exceptions import UnsafeFileError

    folder = copy_of(saved, tmp_path)
    path = folder / "params" / "predictor.json"
    record = json.loads(path.read_text())
    record[field] = value
    path.write_text(json.dumps(record))
    with pytest.raises(UnsafeFileError, match=message):
        SurrogateBenchmark.load(folder, verify=False)


def test_chain_surrogate_keeps_its_layers(tmp_path):
    from nasforge.spaces import ChainSpace

    space = ChainSpace([["a", "b", "skip"], ["a", "b"], ["a", "c"]], name="mine")
    archs = list(space.enumerate())
    records = [{"arch": space.format(a), "acc": float(i)} for i, a in enumerate(archs)]
    fitted = SurrogateBenchmark.fit(space, records, metrics="acc", model="knn", holdout=0.0)
    loaded = SurrogateBenchmark.load(fitted.save(tmp_path / "s"))
    assert loaded.space.layers == space.layers and loaded.space.name == "mine"
    np.testing.assert_allclose(loaded.predict(archs), fitted.predict(archs))


def test_save_refuses_a_folder_of_other_files(tmp_path):
    surrogate = SurrogateBenchmark.fit(NASBench201Space(), seed_table(30, seeds=2), model="knn", holdout=0.0)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match=r"mine: the folder is not empty \(it holds notes.txt\); choose a new folder"):
        surrogate.save(folder)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]  # nothing mixed in
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="it is a file, not a folder"):
        surrogate.save(tmp_path / "file")
    (tmp_path / "empty").mkdir()  # as `nasforge surrogate fit` creates --out before fitting
    assert SurrogateBenchmark.load(surrogate.save(tmp_path / "empty")).metrics == ["val_acc"]


def test_a_seed_in_model_params_is_refused(table):
    with pytest.raises(UsageError, match=r"model_params sets 'seed'; pass seed=\.\.\. to SurrogateBenchmark.fit"):
        SurrogateBenchmark.fit(table.space, table, model_params={"seed": 5, **FAST_LGB})


def test_the_holdout_split_keeps_every_repeat_of_an_architecture_together():
    """A study's trials repeat architectures: a row split scored the model on architectures it trained on."""
    import pandas as pd

    space, archs, y = sample(150, seed=4)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame([{"number": k, "state": "COMPLETE", "arch": space.format(a), "val_acc": v + rng.normal()}
                          for k, (a, v) in enumerate(zip(archs * 3, np.tile(y, 3)))])
    fitted = SurrogateBenchmark.fit(space, frame, model="knn", holdout=0.2, seed=0)
    keys = archs * 3
    held = set(fitted.holdout)
    assert len(fitted.holdout) == sum(k in held for k in keys) == fitted.manifest["training_data"]["holdout_rows"]
    assert fitted.manifest["training_data"]["train_rows"] == len(keys) - len(fitted.holdout)
    assert len(held) == round(0.2 * len(set(keys)))


def test_loading_with_other_chain_layers_says_which_options_differ(tmp_path):
    from nasforge.spaces import ChainSpace

    space = ChainSpace([["a", "b"], ["a", "c"]], name="mine")
    records = [{"arch": space.format(a), "acc": float(i)} for i, a in enumerate(space.enumerate())]
    folder = SurrogateBenchmark.fit(space, records, metrics="acc", model="knn", holdout=0.0).save(tmp_path / "s")
    with pytest.raises(UsageError, match="fitted on space 'mine', not one with other layers \\(as given\\): load it "
                                         "without a space, or with the one it was fitted on"):
        SurrogateBenchmark.load(folder, ChainSpace([["a", "b"], ["a", "x"]], name="mine"))


def test_space_names_single_architectures_and_holdout_strings(table, saved):
    fitted = SurrogateBenchmark.fit("nb201", table, metrics="params", model="knn")
    assert fitted.space.name == "nb201"
    assert SurrogateBenchmark.load(saved, "nb201").space.name == "nb201"
    with pytest.raises(UsageError, match=r"predict takes a list of architectures, got one Architecture; pass \[arch\]"):
        fitted.predict(table.archs[0])
    with pytest.raises(UsageError, match=r"holdout must be a fraction in \[0, 1\), got '0.1'"):
        SurrogateBenchmark.fit(table.space, table, metrics="params", model="knn", holdout="0.1")
    with pytest.raises(UsageError, match="seed must be an integer >= 0, got -1"):
        SurrogateBenchmark.fit(table.space, table, metrics="params", model="knn", seed=-1)


def test_a_metric_named_like_a_noise_level_is_refused(table):
    frame = seed_table(60, seeds=3)  # val_acc_std: the spread of the seed columns
    noisy = TabularBenchmark(frame, NASBench201Space())
    with pytest.raises(UsageError, match="metric 'val_acc_std' collides with the noise level that query\\(\\) "
                                         "reports as 'val_acc_std' for metric 'val_acc'"):
        SurrogateBenchmark.fit(noisy.space, noisy, metrics=["val_acc", "val_acc_std"], model="knn",
                               noise_model={"val_acc": 5.0})
    plain = SurrogateBenchmark.fit(noisy.space, noisy, metrics=["val_acc", "val_acc_std"], model="knn")
    assert set(plain.query(noisy.archs[0])) == {"val_acc", "val_acc_std"}


def test_a_constant_metric_is_saved_as_strict_json_without_warnings(tmp_path):
    import warnings

    space, archs, _ = sample(30)
    records = [{"arch": space.format(a), "acc": 1.0} for a in archs]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fitted = SurrogateBenchmark.fit(space, records, metrics="acc", model="knn", holdout=0.3)
    assert fitted.manifest["metrics"]["acc"]["holdout"]["kendall_tau"] is None
    text = (fitted.save(tmp_path / "s") / "manifest.json").read_text()
    assert "NaN" not in text and json.loads(text)["metrics"]["acc"]["holdout"]["r2"] is None


def test_a_model_file_the_manifest_does_not_list_is_refused(saved, tmp_path):
    from nasforge.exceptions import UnsafeFileError

    folder = copy_of(saved, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["metrics"]["val_acc"]["files"]["model.txt"]  # the loader would read it unverified
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(UnsafeFileError, match="the manifest has no checksum of model.txt"):
        SurrogateBenchmark.load(folder)


def _as_older_artifact(folder) -> None:
    """What nasforge wrote before NB201's options were recorded in the manifest."""
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "space_config": None, "format_version": 2}))


def test_the_nb201_rule_is_recorded_and_rebuilt_on_load(tmp_path):
    """The canonical rule decides which proposals count as repeats: it was lost on save (the default came back)."""
    space = NASBench201Space(canonical_rule="functional")
    fitted = SurrogateBenchmark.fit(space, seed_table(40, seeds=1), model="knn", holdout=0.0)
    assert fitted.manifest["space_config"] == {"canonical_rule": "functional"}
    folder = fitted.save(tmp_path / "s")
    assert SurrogateBenchmark.load(folder).space.canonical_rule == "functional"
    assert SurrogateBenchmark.load(folder, space).space.canonical_rule == "functional"
    with pytest.raises(UsageError, match=r"fitted on space 'nb201', not one with other canonical_rule \(as given\)"):
        SurrogateBenchmark.load(folder, "nb201")
    _as_older_artifact(folder)  # no rule recorded: the default, or any rule given
    assert SurrogateBenchmark.load(folder).space.canonical_rule == "network"
    assert SurrogateBenchmark.load(folder, space).space.canonical_rule == "functional"


def test_a_damaged_recorded_rule_is_named():
    from nasforge.benchmarks.surrogate import _space_of
    from nasforge.exceptions import UnsafeFileError

    with pytest.raises(UnsafeFileError, match="field 'space'/'space_config' is damaged: unknown canonical_rule 'x'"):
        _space_of({"space": "nb201", "space_config": {"canonical_rule": "x"}}, "manifest.json")
