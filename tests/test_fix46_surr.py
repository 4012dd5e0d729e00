"""Surrogate artifacts: saves that lose nothing of another run's, safe model folder names, --overwrite of links,
a fast kNN surrogate and clear refusals of surrogates --overwrite cannot replace."""

from __future__ import annotations

import json
import os

import pytest
from predictor_data import seed_table

from nasforge.benchmarks import SurrogateBenchmark
from nasforge.cli import main
from nasforge.spaces import NASBench201Space


def err_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def knn_surrogate(metrics: str | list[str] = "val_acc", frame=None) -> SurrogateBenchmark:
    frame = seed_table(30, seeds=1).rename(columns={"val_acc_seed0": "val_acc"}) if frame is None else frame
    return SurrogateBenchmark.fit(NASBench201Space(), frame, metrics=metrics, model="knn", holdout=0.0)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("t") / "t.csv"
    seed_table(30, seeds=1).rename(columns={"val_acc_seed0": "val_acc"}).to_csv(path, index=False)
    return path


def snapshot(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- 1. a failed fit keeps another run's surrogate saved into the same --out meanwhile ----------------------------
@pytest.mark.parametrize("fails", [False, True])
def test_a_surrogate_saved_into_out_during_the_fit_is_kept(table, tmp_path, capsys, monkeypatch, fails):
    """Would fail: the refused (or failed) run removed --out whole, the other run's finished surrogate included."""
    out, other = tmp_path / "race", knn_surrogate()
    fit = SurrogateBenchmark.fit.__func__

    def slow_fit(cls, *args, **kwargs):  # the other run finishes first, while this one fits
        other.save(out)
        if fails:
            raise KeyboardInterrupt
        return fit(cls, *args, **kwargs)

    monkeypatch.setattr(SurrogateBenchmark, "fit", classmethod(slow_fit))
    argv = ["surrogate", "fit", "--table", str(table), "--model", "knn", "--out", str(out)]
    if fails:
        assert main(argv) == 130 and err_line(capsys).endswith("interrupted")
    else:
        assert main(argv) == 2
        assert err_line(capsys).endswith(f"--out: {out} already holds a surrogate; choose a new folder for a new "
                                         "version, or pass --overwrite to replace it (it changed while the surrogate "
                                         "was fitted: another run saved there?; it was left as it is)")
    assert SurrogateBenchmark.load(out).metrics == ["val_acc"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race"]  # no staging folder left


def test_a_save_refuses_a_folder_filled_while_it_wrote(tmp_path, monkeypatch):
    """The last moment: another run's surrogate lands in the folder after this save's checks."""
    import shutil

    out, other = tmp_path / "s", knn_surrogate().save(tmp_path / "other")
    write = SurrogateBenchmark._write

    def slow_write(self, folder):
        write(self, folder)
        shutil.move(other, out)

    monkeypatch.setattr(SurrogateBenchmark, "_write", slow_write)
    with pytest.raises(ValueError, match=f"cannot save a surrogate into {out}: it was filled while the surrogate was "
                                         r"fitted \(another run saved there\?\); it was left as it is"):
        knn_surrogate("params").save(out)
    assert SurrogateBenchmark.load(out).metrics == ["val_acc"] and [p.name for p in tmp_path.iterdir()] == ["s"]


def test_a_failed_save_removes_only_its_own_staging_folder(tmp_path, monkeypatch):
    surrogate = knn_surrogate()
    out = tmp_path / "new" / "s"
    write = SurrogateBenchmark._write

    def failing(self, folder):
        write(self, folder)
        raise OSError("disk full")

    monkeypatch.setattr(SurrogateBenchmark, "_write", failing)
    with pytest.raises(OSError, match="disk full"):
        surrogate.save(out)
    assert not (tmp_path / "new").exists()  # made by the save, removed again
    (tmp_path / "kept").mkdir()
    with pytest.raises(OSError, match="disk full"):
        surrogate.save(tmp_path / "kept" / "s")
    assert [p.name for p in tmp_path.iterdir()] == ["kept"]  # there before: kept, and nothing left in it


def test_overwrite_replaces_only_after_a_successful_save(tmp_path, monkeypatch):
    out = knn_surrogate().save(tmp_path / "s")
    before = snapshot(out)
    monkeypatch.setattr(SurrogateBenchmark, "_write", lambda self, folder: (_ for _ in ()).throw(OSError("full")))
    with pytest.raises(OSError, match="full"):
        knn_surrogate().save(out, overwrite=True)
    assert snapshot(out) == before and [p.name for p in tmp_path.iterdir()] == ["s"]
    monkeypatch.undo()
    knn_surrogate(["val_acc", "params"]).save(out, overwrite=True)
    assert SurrogateBenchmark.load(out).metrics == ["val_acc", "params"]
    assert [p.name for p in tmp_path.iterdir()] == ["s"]


# -- 2. a metric's model folder is a safe name made from it ------------------------------------------------------
def test_model_folders_are_plain_words_that_clash_with_nothing():
    from nasforge.benchmarks.surrogate import model_folders

    assert model_folders(["val/acc", "val_acc", "../x", ".", "manifest.json", "/abs/y", "Val_Acc", "a" * 300]) == {
        "val/acc": "val_acc-2", "val_acc": "val_acc", "../x": "x", ".": "metric", "manifest.json": "manifest.json-2",
        "/abs/y": "abs_y", "Val_Acc": "Val_Acc-3", "a" * 300: "a" * 100}


def test_metric_names_that_are_paths_stay_inside_out(tmp_path, capsys):
    """Would fail: ../victim and an absolute name wrote the model outside --out, '.' into the artifact root
    (unloadable), manifest.json crashed, a/b nested folders that --overwrite then refused."""
    frame = seed_table(30, seeds=1).rename(columns={"val_acc_seed0": "val_acc"})
    names = ["../victim", ".", "manifest.json", "a/b", str(tmp_path / "abs_victim")]
    for name in names:
        frame[name] = frame["val_acc"]
    frame.to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "w" / "out"
    argv = ["surrogate", "fit", "--table", str(tmp_path / "t.csv"), "--model", "knn", "--holdout", "0",
            "--metrics", ",".join(names), "--out", str(out)]
    assert main(argv) == 0
    assert sorted(p.name for p in tmp_path.rglob("*") if out not in p.parents) == ["out", "t.csv", "w"]
    loaded = SurrogateBenchmark.load(out)
    assert loaded.metrics == names
    assert len(set(loaded.query(frame["arch"][0]).values())) == 1  # each a model of the same column
    assert {e["folder"] for e in loaded.manifest["metrics"].values()} == {
        "victim", "metric", "manifest.json-2", "a_b", str(tmp_path / "abs_victim").replace("/", "_").lstrip("_")}
    assert main(["surrogate", "info", str(out)]) == 0
    capsys.readouterr()
    assert main([*argv, "--overwrite"]) == 0


def test_an_artifact_with_nested_model_folders_loads_and_is_replaced_as_before(tmp_path):
    """Artifacts saved before kept a metric 'a/b' in a/b: their manifest names it, and they load as they did."""
    frame = seed_table(30, seeds=1).rename(columns={"val_acc_seed0": "a/b"})
    surrogate = knn_surrogate("a/b", frame)
    out = surrogate.save(tmp_path / "old")
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "a").mkdir()
    os.rename(out / manifest["metrics"]["a/b"]["folder"], out / "a" / "b")
    manifest["metrics"]["a/b"]["folder"] = "a/b"
    (out / "manifest.json").write_text(json.dumps(manifest))
    archs = [surrogate.space.parse(a) for a in frame["arch"]]
    assert list(SurrogateBenchmark.load(out).predict(archs)) == list(surrogate.predict(archs))
    surrogate.save(out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["a_b", "holdout.json", "manifest.json"]


# -- 3. --overwrite through a link, or of "." ---------------------------------------------------------------------
def test_overwrite_through_a_link_replaces_its_target_and_keeps_the_link(table, tmp_path, capsys):
    """Would fail: the link itself was renamed, then rmtree on it raised OSError after the whole fit."""
    knn_surrogate().save(tmp_path / "vA")
    (tmp_path / "current").symlink_to("vA")
    argv = ["surrogate", "fit", "--table", str(table), "--model", "knn", "--metrics", "val_acc,params"]
    assert main([*argv, "--out", str(tmp_path / "current"), "--overwrite"]) == 0
    assert os.readlink(tmp_path / "current") == "vA" and sorted(p.name for p in tmp_path.iterdir()) == [
        "current", "vA"]
    assert SurrogateBenchmark.load(tmp_path / "vA").metrics == ["val_acc", "params"]
    (tmp_path / "empty").mkdir()
    (tmp_path / "new").symlink_to("empty")
    knn_surrogate().save(tmp_path / "new")  # a new save through a link to an empty folder fills that folder
    assert os.readlink(tmp_path / "new") == "empty" and SurrogateBenchmark.load(tmp_path / "empty").metrics == [
        "val_acc"]


def test_overwrite_of_the_working_folder(table, tmp_path, capsys, monkeypatch):
    knn_surrogate().save(tmp_path / "dot")
    monkeypatch.chdir(tmp_path / "dot")
    argv = ["surrogate", "fit", "--table", str(table), "--model", "knn", "--metrics", "params"]
    assert main([*argv, "--out", ".", "--overwrite"]) == 0
    assert SurrogateBenchmark.load(tmp_path / "dot").metrics == ["params"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dot"]


# -- 4. the kNN surrogate converts its training matrix once ------------------------------------------------------
def old_knn_predictions(predictor, x):
    """What KNNPredictor._predict computed before, converting the training matrix on every call."""
    import numpy as np

    k, train, block = min(predictor.k, len(predictor._z)), predictor._x.astype(np.float64), x.astype(np.float64)
    d2 = (block ** 2).sum(1)[:, None] + (train ** 2).sum(1)[None, :] - 2.0 * block @ train.T
    dist = np.round(np.sqrt(np.maximum(d2, 0.0)), 6)
    nearest = np.argpartition(dist + np.arange(len(train)) * (0.5e-6 / len(train)), k - 1, axis=1)[:, :k]
    weights = 1.0 / (np.take_along_axis(dist, nearest, axis=1) + 1e-6)
    return (weights * predictor._z[nearest]).sum(1) / weights.sum(1)


def test_knn_keeps_its_float64_training_matrix_and_predicts_bit_for_bit_as_before(tmp_path):
    """Would fail: the float64 matrix and its norms were recomputed on every query (50-120 ms on NB201)."""
    import numpy as np

    from nasforge.predictors import load_predictor

    surrogate = knn_surrogate()
    fitted = surrogate.models["val_acc"]
    loaded = load_predictor(fitted.save(tmp_path / "knn"), surrogate.space)
    archs = [surrogate.space.sample(np.random.default_rng(s)) for s in range(50)]
    for predictor in (fitted, loaded):
        assert predictor._train.dtype == np.float64 and np.array_equal(predictor._train, predictor._x)
        assert np.array_equal(predictor._norms, (predictor._x.astype(np.float64) ** 2).sum(1)[None, :])
        x = np.asarray(predictor._inputs(archs), dtype=np.float32)
        assert predictor._predict(x).tobytes() == old_knn_predictions(predictor, x).tobytes()
    assert fitted.predict(archs).tobytes() == loaded.predict(archs).tobytes()


# -- 5. --overwrite of a surrogate this nasforge cannot read -----------------------------------------------------
@pytest.mark.parametrize("change, reason", [
    ({"format_version": 5}, "has artifact format version 5; this nasforge reads versions up to 4"),
    ({"format_version": "4"}, "field format_version is missing or not a version number ('4')"),
    (None, "is not valid JSON"),
])
def test_overwrite_of_an_unreadable_surrogate_says_to_remove_the_folder(table, tmp_path, capsys, change, reason):
    """Would fail: the message pointed to refitting (which --overwrite is), and a version "4" read as newer."""
    out = knn_surrogate().save(tmp_path / "s")
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, **change}) if change else '{"format": "nasf')
    before = snapshot(out)
    assert main(["surrogate", "fit", "--table", str(table), "--model", "knn", "--out", str(out), "--overwrite"]) == 2
    line = err_line(capsys)
    assert reason in line and line.startswith(f"nasforge surrogate fit: error: --out: cannot replace the surrogate "
                                              f"in {out}: ")
    assert line.endswith("replacing needs a surrogate this nasforge reads: remove the folder yourself (keeping what "
                         "you need of it) to fit a new one there, or choose another folder")
    assert snapshot(out) == before


def test_overwrite_of_another_tools_manifest_is_refused_as_before(table, tmp_path, capsys):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "manifest.json").write_text('{"format": "other"}')
    assert main(["surrogate", "fit", "--table", str(table), "--model", "knn", "--out", str(tmp_path / "o"),
                 "--overwrite"]) == 2
    assert err_line(capsys).endswith(f"--out: {tmp_path / 'o' / 'manifest.json'} is not a nasforge surrogate "
                                     "manifest (format 'other')")
