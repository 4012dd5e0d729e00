"""Predictors and surrogates saved before the canonical graph encodings (2026-12-06) on NAS-Bench-101, DARTS or
chain spaces took other inputs than this nasforge gives them: they now load with one warning to refit them
(``surrogate info`` shows it too), while NB201 ones (byte-identical inputs) and new saves load silently."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from predictor_data import rehash_surrogate

from nasforge.benchmarks.surrogate import FORMAT_VERSION, SurrogateBenchmark
from nasforge.cli import main
from nasforge.predictors import get_predictor, load_predictor
from nasforge.predictors.checksums import file_checksums
from nasforge.predictors.encodings import ENCODING_REVISION, EncodingChangedWarning
from nasforge.spaces import get_space


def _data(space_name: str, n: int = 40) -> tuple:
    space = get_space(space_name)
    rng = np.random.default_rng(0)
    archs = list(dict.fromkeys(space.sample(rng) for _ in range(3 * n)))[:n]
    return space, archs, rng.normal(size=len(archs))


def _as_old_predictor(folder: Path) -> None:
    """The predictor.json layout of before 2026-12-06: no encoding revision (an ensemble's members' too, and its
    checksums of their records made to match)."""
    for path in [*folder.glob("member_*/predictor.json"), folder / "predictor.json"]:
        record = json.loads(path.read_text())
        del record["encoding_revision"]
        record["sha256"] = file_checksums(path.parent, record["files"])
        path.write_text(json.dumps(record))


def _as_old_surrogate(folder: Path) -> None:
    """A surrogate as nasforge wrote it before 2026-12-06: artifact format 3, models without an encoding revision
    (the manifest's checksums of the model records made to match)."""
    manifest = json.loads((folder / "manifest.json").read_text())
    for entry in manifest["metrics"].values():
        _as_old_predictor(folder / entry["folder"])
    (folder / "manifest.json").write_text(json.dumps({**manifest, "format_version": 3}))
    rehash_surrogate(folder)


def _load(folder: Path, space) -> tuple[object, list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = load_predictor(folder, space)
    return loaded, [w for w in caught if issubclass(w.category, EncodingChangedWarning)]


def test_a_new_save_records_the_revision_and_loads_silently(tmp_path):
    space, archs, y = _data("nb101")
    folder = get_predictor("knn", space).fit(archs, y).save(tmp_path / "p")
    assert json.loads((folder / "predictor.json").read_text())["encoding_revision"] == ENCODING_REVISION == 2
    assert _load(folder, space)[1] == []


@pytest.mark.parametrize("space_name", ["nb101", "darts"])
def test_an_old_predictor_of_a_changed_space_warns_to_refit(tmp_path, space_name):
    space, archs, y = _data(space_name)
    fitted = get_predictor("knn", space).fit(archs, y)
    folder = fitted.save(tmp_path / "p")
    _as_old_predictor(folder)
    loaded, caught = _load(folder, space)
    assert len(caught) == 1
    text = str(caught[0].message)
    assert f"space {space_name!r}" in text and "fitted with encoding revision 1, before the canonical" in text
    assert "predictions differ from when it was fitted" in text and "refit it" in text
    assert caught[0].filename == __file__  # points at the caller's load, not inside nasforge
    np.testing.assert_array_equal(loaded.predict(archs), fitted.predict(archs))  # it still loads


def test_old_nb201_and_onehot_predictors_load_silently(tmp_path):
    """NB201's encodings did not change, nor does any space's own one-hot."""
    space, archs, y = _data("nb201")
    folder = get_predictor("knn", space).fit(archs, y).save(tmp_path / "nb201")
    _as_old_predictor(folder)
    assert _load(folder, space)[1] == []
    space, archs, y = _data("nb101")
    folder = get_predictor("knn", space, encoding="onehot").fit(archs, y).save(tmp_path / "onehot")
    _as_old_predictor(folder)
    assert _load(folder, space)[1] == []


def test_an_old_ensemble_warns_once(tmp_path):
    space, archs, y = _data("darts")
    members = [{"predictor": "knn"}, {"predictor": "knn", "encoding": "computed"}]
    folder = get_predictor("ensemble", space, members=members).fit(archs, y).save(tmp_path / "e")
    _as_old_predictor(folder)
    assert len(_load(folder, space)[1]) == 1


def _old_surrogate(tmp_path: Path, space_name: str) -> Path:
    space, archs, y = _data(space_name, 60)
    table = tmp_path / "table.csv"
    pd.DataFrame({"arch": [space.format(a) for a in archs], "val_acc": y, "loss": -y}).to_csv(table, index=False)
    fitted = SurrogateBenchmark.fit(space, str(table), metrics=["val_acc", "loss"], model="knn", seed=3)
    folder = fitted.save(tmp_path / "surr")
    assert json.loads((folder / "manifest.json").read_text())["format_version"] == FORMAT_VERSION == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error", EncodingChangedWarning)
        SurrogateBenchmark.load(folder)  # new: silent
    _as_old_surrogate(folder)
    return folder


def test_an_old_surrogate_of_a_changed_space_warns_once_with_the_refit_command(tmp_path):
    folder = _old_surrogate(tmp_path, "nb101")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = SurrogateBenchmark.load(folder)  # format 3 is still read
    caught = [w for w in caught if issubclass(w.category, EncodingChangedWarning)]
    assert len(caught) == 1 and loaded.metrics == ["val_acc", "loss"]
    text = str(caught[0].message)
    assert "artifact format 3" in text and "held-out scores in its manifest no longer describe it" in text
    assert (f"nasforge surrogate fit --space nb101 --table {tmp_path / 'table.csv'} --metrics val_acc,loss --model "
            f"knn --seed 3 --artifact-version 1.0 --out {folder} --overwrite") in text


def test_an_old_nb201_surrogate_loads_silently(tmp_path):
    folder = _old_surrogate(tmp_path, "nb201")
    with warnings.catch_warnings():
        warnings.simplefilter("error", EncodingChangedWarning)
        SurrogateBenchmark.load(folder)


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_surrogate_info_shows_the_warning(tmp_path, capsys, fmt):
    folder = _old_surrogate(tmp_path, "darts")
    with pytest.warns(EncodingChangedWarning) as caught:
        assert main(["surrogate", "info", str(folder), "--format", fmt]) == 0
    assert len(caught) == 1
    assert str(caught[0].message).startswith("surrogate 'darts-knn-v1.0'")
    assert "refit it, e.g. nasforge surrogate fit --space darts" in str(caught[0].message)
    assert "darts-knn-v1.0" in capsys.readouterr().out  # and the description as before
