"""A knn predictor records its distance rule in ``predictor.json``: one saved before 2026-12-05 19:58 (float32
distances, no ``sha256``) predicts the numbers it gave then, bit for bit, also inside a surrogate; one saved since
(``sha256``, no rule recorded) and a new fit keep the batch-independent float64-rounded rule."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from predictor_data import sample
from safetensors.numpy import load_file

from nasforge.benchmarks.surrogate import SurrogateBenchmark
from nasforge.exceptions import UnsafeFileError
from nasforge.predictors import get_predictor, load_predictor
from nasforge.predictors.checksums import file_checksums


def _predict_as_before(model, archs) -> np.ndarray:
    """KNNPredictor.predict as nasforge computed it before commit 1362e98e (its code then, on the saved files)."""
    saved = load_file(str(model.folder / "knn.safetensors"))
    train, targets, state = saved["x"], saved["z"], json.loads((model.folder / "predictor.json").read_text())["state"]
    x = model.predictor._inputs(archs)  # the encoding and its scaling did not change
    k = min(model.predictor.k, len(targets))
    out = np.empty(len(x))
    for start in range(0, len(x), 1024):
        block = np.asarray(x[start:start + 1024], dtype=np.float32)
        d2 = (block ** 2).sum(1)[:, None] + (train ** 2).sum(1)[None, :] - 2.0 * block @ train.T
        dist = np.sqrt(np.maximum(d2, 0.0))
        nearest = np.argpartition(dist, k - 1, axis=1)[:, :k]
        weights = 1.0 / (np.take_along_axis(dist, nearest, axis=1) + 1e-6)
        out[start:start + len(block)] = (weights * targets[nearest]).sum(1) / weights.sum(1)
    return np.asarray(out, dtype=np.float64) * state["y_scale"] + state["y_mean"]


def _as_saved_before(folder: Path, checksums: bool = False) -> None:
    """The predictor.json of a knn saved before 2026-12-05 19:58: no distance rule, no model checksums
    (``checksums``: as saved from 2026-12-05 19:58 until the rule was recorded, with them)."""
    path = folder / "predictor.json"
    record = json.loads(path.read_text())
    record["state"].pop("distance", None)
    del record["encoding_revision"]
    if not checksums:
        del record["sha256"]
    path.write_text(json.dumps(record))


class _Saved:
    def __init__(self, folder: Path, space) -> None:
        self.folder, self.predictor = folder, load_predictor(folder, space)


@pytest.fixture(scope="module")
def data():
    space, archs, y = sample(400, seed=5)
    return space, archs, y


def test_a_fit_records_its_distance_rule(data, tmp_path):
    space, archs, y = data
    folder = get_predictor("knn", space).fit(archs[:300], y[:300]).save(tmp_path / "p")
    assert json.loads((folder / "predictor.json").read_text())["state"]["distance"] == "float64-rounded"


def test_a_knn_saved_before_predicts_as_then_bit_for_bit(data, tmp_path):
    """Would fail: it predicted with today's rounded distances, where a training cell's own weight dominates."""
    space, archs, y = data
    fitted = get_predictor("knn", space).fit(archs[:300], y[:300])
    folder = fitted.save(tmp_path / "p")
    _as_saved_before(folder)
    old = _Saved(folder, space)
    expected = _predict_as_before(old, archs)
    assert np.array_equal(old.predictor.predict(archs), expected)
    assert not np.array_equal(fitted.predict(archs), expected)  # the rules do differ here
    resaved = old.predictor.save(tmp_path / "again")  # a save keeps the rule it predicts by, now recorded
    assert json.loads((resaved / "predictor.json").read_text())["state"]["distance"] == "float32"
    assert np.array_equal(load_predictor(resaved, space).predict(archs), expected)


def test_a_knn_saved_since_the_rounded_rule_keeps_it_and_is_batch_independent(data, tmp_path):
    space, archs, y = data
    fitted = get_predictor("knn", space).fit(archs[:300], y[:300])
    folder = fitted.save(tmp_path / "p")
    _as_saved_before(folder, checksums=True)
    loaded = load_predictor(folder, space)
    batch = loaded.predict(archs)
    assert np.array_equal(batch, fitted.predict(archs))
    unseen = archs[300:]  # not training cells: their own distance (0 but for cancellation) may round to 1e-6
    assert np.array_equal(batch[300:], np.array([loaded.predict([a])[0] for a in unseen]))


def test_an_unknown_distance_rule_is_refused(data, tmp_path):
    space, archs, y = data
    folder = get_predictor("knn", space).fit(archs[:50], y[:50]).save(tmp_path / "p")
    record = json.loads((folder / "predictor.json").read_text())
    record["state"]["distance"] = "cosine"
    (folder / "predictor.json").write_text(json.dumps(record))
    with pytest.raises(UnsafeFileError, match="state.distance.*'cosine'"):
        load_predictor(folder, space)


def test_a_knn_surrogate_saved_before_gives_its_numbers_of_then(data, tmp_path):
    space, archs, y = data
    table = tmp_path / "table.csv"
    pd.DataFrame({"arch": [space.format(a) for a in archs[:300]], "val_acc": y[:300]}).to_csv(table, index=False)
    folder = SurrogateBenchmark.fit(space, str(table), metrics=["val_acc"], model="knn", seed=0).save(tmp_path / "s")
    manifest = json.loads((folder / "manifest.json").read_text())
    model_folder = folder / manifest["metrics"]["val_acc"]["folder"]
    _as_saved_before(model_folder)
    manifest["metrics"]["val_acc"]["files"] = file_checksums(model_folder)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    surrogate = SurrogateBenchmark.load(folder)
    expected = _predict_as_before(_Saved(model_folder, space), archs)
    assert np.array_equal(surrogate.predict(archs), expected)
    assert surrogate.query(archs[0])["val_acc"] == _predict_as_before(_Saved(model_folder, space), archs[:1])[0]
