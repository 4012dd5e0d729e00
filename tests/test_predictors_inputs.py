"""Bad input to predictors is a one-line UsageError before any work; saving never loses what is stored."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from predictor_data import sample

from nasforge.exceptions import UsageError
from nasforge.predictors import get_predictor, kendall_tau, load_predictor, predictor_class
from nasforge.predictors.base import PREDICTOR_FILE
from nasforge.spaces import ChainSpace, NASBench201Space


@pytest.fixture(scope="module")
def data():
    space, archs, y = sample(40, seed=1)
    return space, archs, y


@pytest.fixture(scope="module")
def knn(data):
    space, archs, y = data
    return get_predictor("knn", space, k=3).fit(archs, y)


@pytest.mark.parametrize("name, params", [
    ("lgb", {"encoding": "functionl"}), ("xgb", {"encoding": "functionl"}), ("mlp", {"encoding": "functionl"}),
    ("ensemble", {"members": [{"predictor": "lgb", "encoding": "functionl"}]}),
])
def test_unknown_encoding_is_refused_at_construction(data, name, params):
    with pytest.raises(UsageError, match="unknown encoding 'functionl'; choose from 'onehot'"):
        get_predictor(name, data[0], **params)


@pytest.mark.parametrize("archs, y, message", [
    (slice(0, 5), [1.0, 2.0], "fit: got 5 architectures but 2 target values"),
    (slice(0, 2), [1.0, np.nan], r"fit: y must be finite: it holds 1 NaN/inf value\(s\) of 2 \(first at position 1\)"),
    (slice(0, 1), [1.0], "fit: knn needs at least 2 training architectures, got 1"),
    (slice(0, 2), ["a", "b"], "fit: y must be a list of numbers"),
])
def test_fit_refuses_bad_data(data, archs, y, message):
    space, all_archs, _ = data
    with pytest.raises(UsageError, match=message):
        get_predictor("knn", space).fit(all_archs[archs], y)


def test_a_single_architecture_is_refused_where_a_list_is_expected(data, knn):
    space, archs, y = data
    with pytest.raises(UsageError, match=r"predict takes a list of architectures, got one Architecture; pass \[arch\]"):
        knn.predict(archs[0])
    with pytest.raises(UsageError, match="fit takes a list of architectures, got one str"):
        get_predictor("knn", space).fit(space.format(archs[0]), y[:1])
    with pytest.raises(UsageError, match="predict_std takes a list"):
        get_predictor("rf", space).predict_std(archs[0])
    assert knn.predict(archs[:1]).shape == (1,)


def test_a_space_name_is_resolved_and_anything_else_refused(data, knn, tmp_path):
    from nasforge.predictors.registry import predictor_class

    space, archs, y = data
    by_name = get_predictor("knn", "nb201", k=3).fit(archs, y)
    assert by_name.space.name == "nb201" and np.allclose(by_name.predict(archs[:5]), knn.predict(archs[:5]))
    assert predictor_class("knn")("nb201").space.name == "nb201"
    assert load_predictor(knn.save(tmp_path / "saved"), "nb201").predict(archs[:1]).shape == (1,)
    for bad in (None, 3, ["nb201"]):
        with pytest.raises(UsageError, match="space must be a SearchSpace or a space name, got"):
            get_predictor("lgb", bad)
    with pytest.raises(UsageError, match="unknown search space 'nb999'"):
        get_predictor("lgb", "nb999")


def test_save_refuses_a_folder_holding_a_predictor_unless_told_to_overwrite(data, knn, tmp_path):
    space, archs, y = data
    folder = knn.save(tmp_path / "p")
    before = (folder / PREDICTOR_FILE).read_text()
    other = get_predictor("knn", space, k=5).fit(archs, y[::-1])
    with pytest.raises(UsageError, match="already holds a saved predictor; choose a new folder, or pass overwrite"):
        other.save(folder)
    assert (folder / PREDICTOR_FILE).read_text() == before  # nothing was touched
    other.save(folder, overwrite=True)
    assert sorted(p.name for p in folder.iterdir()) == ["knn.safetensors", PREDICTOR_FILE]
    np.testing.assert_allclose(load_predictor(folder, space).predict(archs), other.predict(archs))


def test_overwrite_replaces_the_old_model_files(data, knn, tmp_path):
    space, archs, y = data
    lgb = get_predictor("lgb", space, n_estimators=5).fit(archs, y)
    folder = lgb.save(tmp_path / "p")
    knn.save(folder, overwrite=True)
    assert sorted(p.name for p in folder.iterdir()) == ["knn.safetensors", PREDICTOR_FILE]  # no stale model.txt


def test_save_refuses_a_folder_of_other_files_even_with_overwrite(knn, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    for overwrite in (False, True):
        with pytest.raises(UsageError, match=r"mine: the folder is not empty \(it holds notes.txt\)"):
            knn.save(folder, overwrite=overwrite)
    knn_folder = knn.save(tmp_path / "p")
    (knn_folder / "notes.txt").write_text("keep me")
    with pytest.raises(UsageError, match=r"holds files that are not part of the saved predictor \(notes.txt\)"):
        knn.save(knn_folder, overwrite=True)
    assert (folder / "notes.txt").read_text() == (knn_folder / "notes.txt").read_text() == "keep me"
    (tmp_path / "empty").mkdir()
    assert (knn.save(tmp_path / "empty") / PREDICTOR_FILE).is_file()


def test_a_failed_overwrite_keeps_the_saved_predictor(data, knn, tmp_path):
    space, archs, y = data
    folder = knn.save(tmp_path / "p")
    forest = get_predictor("rf", space, n_estimators=3).fit(archs, y)
    with pytest.raises(TypeError, match="no safe file format"):
        forest.save(folder, overwrite=True)
    assert sorted(p.name for p in folder.iterdir()) == ["knn.safetensors", PREDICTOR_FILE]
    with pytest.raises(TypeError, match="no safe file format"):
        forest.save(tmp_path / "new")
    assert not (tmp_path / "new").exists()


def test_load_refuses_another_space(data, knn, tmp_path):
    space, archs, _ = data
    folder = knn.save(tmp_path / "p")
    assert json.loads((folder / PREDICTOR_FILE).read_text())["space"] == "nb201"
    chain = ChainSpace([["a", "b"], ["a", "c"]])
    with pytest.raises(UsageError, match="fitted on space 'nb201', not on 'chain'"):
        load_predictor(folder, chain)
    assert load_predictor(folder, NASBench201Space("functional")).predict(archs[:3]).shape == (3,)


def test_load_refuses_a_chain_with_other_layers(tmp_path):
    space = ChainSpace([["a", "b"], ["a", "c"], ["a", "b"]])
    archs = list(space.enumerate())
    folder = get_predictor("knn", space, encoding="onehot").fit(archs, np.arange(len(archs))).save(tmp_path / "p")
    with pytest.raises(UsageError, match="fitted on space 'chain' with other options"):
        load_predictor(folder, ChainSpace([["a", "b"], ["a", "c"], ["a", "d"]]))
    assert load_predictor(folder, ChainSpace.from_config(space.to_config())).predict(archs).shape == (8,)


def test_an_older_record_without_the_space_still_loads(data, knn, tmp_path):
    space, archs, _ = data
    folder = knn.save(tmp_path / "p")
    record = json.loads((folder / PREDICTOR_FILE).read_text())
    del record["space"], record["space_config"]
    (folder / PREDICTOR_FILE).write_text(json.dumps(record))
    np.testing.assert_allclose(load_predictor(folder, space).predict(archs), knn.predict(archs))


def test_kendall_tau_of_a_constant_input_is_nan():
    assert np.isnan(kendall_tau([1, 1, 1], [1, 2, 3]))  # documented: no ranking to compare
    with pytest.raises(UsageError, match="y_true has 3 values but y_pred has 2"):
        kendall_tau([1, 2, 3], [1, 2])


@pytest.mark.parametrize("method", ["predict", "predict_std"])
def test_predict_checks_every_architecture_like_fit(data, method):
    from nasforge.spaces import DartsSpace

    space, archs, y = data
    rf = get_predictor("rf", space, n_estimators=5).fit(archs, y)
    with pytest.raises(UsageError, match="expected an Architecture, got str"):
        getattr(rf, method)([space.format(archs[0])])
    with pytest.raises(UsageError, match="architecture belongs to space 'darts', not 'nb201'"):
        getattr(rf, method)([DartsSpace().sample(0)])
    bad = type(archs[0])("nb201", archs[0].genotype[:3])
    with pytest.raises(UsageError):
        getattr(rf, method)([archs[1], bad])
    assert getattr(rf, method)(archs[:2]).shape == (2,)


def test_fit_says_y_must_be_one_dimensional(data):
    space, archs, _ = data
    with pytest.raises(UsageError, match=r"fit: y must be one-dimensional \(one value per architecture\), "
                                         r"got shape \(3, 2\)"):
        get_predictor("knn", space).fit(archs[:3], np.ones((3, 2)))


@pytest.mark.parametrize("space", [ChainSpace([["a", "b"], ["c", "d", "skip"]]), ChainSpace.proxylessnas()])
def test_the_path_encoding_is_refused_on_chain_spaces(space):
    from nasforge.predictors import encode

    with pytest.raises(UsageError, match="encoding 'path' is not available for space .*choose from onehot, "
                                         "adjacency, features"):
        get_predictor("lgb", space, encoding="path")
    with pytest.raises(UsageError, match="encoding 'path' is not available"):
        encode(space, [space.sample(0)], "path")
    assert get_predictor("lgb", NASBench201Space(), encoding="path").encoding == "path"


def test_empty_lists_encode_to_no_rows_of_the_full_width():
    from nasforge.predictors import encode
    from nasforge.spaces import get_space

    for name in ("nb201", "nb101", "darts"):
        space = get_space(name)
        for kind in space.encoders():
            assert space.encode([], kind).shape == (0, space.encode([space.sample(1)], kind).shape[1])
        assert encode(space, [], "features").shape == (0, encode(space, [space.sample(1)], "features").shape[1])


def test_seeds_beyond_scikit_learn_range_are_taken():
    """Strategies derive model seeds by multiplying (smac: seed * 100_003); scikit-learn refuses seeds >= 2**32."""
    space = NASBench201Space()
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(12)]
    y = rng.normal(size=12)
    for name in ("rf", "gp"):
        big = get_predictor(name, space, seed=2**32 + 7).fit(archs, y)
        small = get_predictor(name, space, seed=7).fit(archs, y)
        assert np.allclose(big.predict(archs), small.predict(archs))


@pytest.mark.parametrize("name, params", [("mlp", {"epochs": 1, "n_models": 2}), ("gin", {"epochs": 1}),
                                          ("xgb", {"n_estimators": 5}), ("lgb", {"n_estimators": 5})])
def test_seeds_beyond_the_native_libraries_range_are_taken(name, params):
    """bananas with seed 2**31 - 1: strategy (x 100_003), ensemble surrogate (x 1000) and torch (x 1000) overflowed."""
    space, archs, y = sample(12, seed=2)
    seed = (2**31 - 1) * 100_003 * 1000
    assert get_predictor(name, space, seed=seed, **params).fit(archs, y).predict(archs).shape == (12,)


@pytest.mark.parametrize("seed", [-5, 1.7, True, "3", None])
def test_a_seed_must_be_a_non_negative_integer(data, seed):
    with pytest.raises(UsageError, match=f"seed must be an integer >= 0, got {seed!r}"):
        get_predictor("gp", data[0], seed=seed)
    assert get_predictor("gp", data[0], seed=np.int64(3)).seed == 3


@pytest.mark.parametrize("name, params, message", [
    ("lgb", {"n_estimators": 2.5}, "n_estimators must be an integer >= 1, got 2.5"),
    ("lgb", {"num_leaves": 1}, "num_leaves must be an integer >= 2, got 1"),
    ("gin", {"n_models": 2.5}, "n_models must be an integer >= 1, got 2.5"),
    ("gin", {"epochs": 2.5}, "epochs must be an integer >= 1, got 2.5"),
    ("gp", {"max_opt_points": 2.5}, "max_opt_points must be an integer >= 1, got 2.5"),
    ("mlp", {"hidden": 1.5}, "hidden must be an integer >= 1, got 1.5"),
    ("lgb", {"subsample": 5}, r"subsample must be a fraction in \(0, 1\], got 5"),
    ("xgb", {"colsample_bytree": 2.0}, r"colsample_bytree must be a fraction in \(0, 1\], got 2.0"),
    ("rf", {"max_features": 3.0}, r"max_features must be a fraction in \(0, 1\], got 3.0"),
    ("ngb", {"minibatch_frac": 3}, r"minibatch_frac must be a fraction in \(0, 1\], got 3"),
])
def test_integer_and_fraction_settings_are_checked_at_construction(data, name, params, message):
    with pytest.raises(UsageError, match=f"bad parameters for predictor '{name}': {message}"):
        get_predictor(name, data[0], **params)


def test_a_max_features_of_one_means_every_column(data):
    space, archs, y = data
    whole = get_predictor("rf", space, max_features=1, n_estimators=5).fit(archs, y)
    assert np.allclose(whole.predict(archs), get_predictor("rf", space, max_features=1.0, n_estimators=5)
                       .fit(archs, y).predict(archs))


def test_an_ensemble_saves_only_if_every_member_does(data, tmp_path):
    space, archs, y = data
    assert get_predictor("ensemble", space, members=["lgb", "knn"]).can_save()
    ensemble = get_predictor("ensemble", space, members=[{"predictor": "rf", "n_estimators": 5}, "knn"])
    assert not ensemble.can_save() and not get_predictor("rf", space).can_save()
    assert not predictor_class("rf").has_file_format() and predictor_class("lgb").has_file_format()
    with pytest.raises(TypeError, match="ensemble member\\(s\\) 'rf' have no safe file format"):
        ensemble.fit(archs, y).save(tmp_path / "e")
    assert not (tmp_path / "e").exists()


@pytest.mark.parametrize("members, message", [
    ("lgb", "members must be a list of predictor names or {'predictor': name, ...} dicts, got 'lgb'"),
    ([5], "ensemble members must be predictor names or {'predictor': name, ...} dicts, got [5]"),
    ([{"n_estimators": 2}], "ensemble member 0 ({'n_estimators': 2}) must name its predictor: {'predictor': name"),
])
def test_ensemble_members_must_be_a_list_of_names_or_dicts(data, members, message):
    import re

    with pytest.raises(UsageError, match=re.escape(message)):
        get_predictor("ensemble", data[0], members=members)


def test_a_seed_among_settings_is_refused_naming_where_to_set_it(data):
    from nasforge.predictors.evaluation import evaluate_predictors

    space, archs, y = data
    with pytest.raises(UsageError, match=r"ensemble member 0 \(lgb\) sets 'seed'; member i is seeded with the "
                                         r"ensemble's seed \+ i"):
        get_predictor("ensemble", space, members=[{"predictor": "lgb", "seed": 3}])
    with pytest.raises(UsageError, match=r"predictor 'lgb' sets 'seed'; the runs are seeded 0..seeds-1"):
        evaluate_predictors(space, archs, y, {"lgb": {"seed": 1}}, [5], seeds=1, test_size=5)


def _tampered(folder, change):
    record = json.loads((folder / PREDICTOR_FILE).read_text())
    change(record)
    (folder / PREDICTOR_FILE).write_text(json.dumps(record))
    return folder


@pytest.mark.parametrize("name, params, change, message", [
    ("mlp", {"n_models": 3, "epochs": 1, "hidden": 8}, lambda r: r["params"].update(n_models=2),
     "holds the weights of 3 network\\(s\\), but n_models is 2"),
    ("knn", {"k": 3}, lambda r: r["params"].update(encoding="onehot"),
     "'state.x_mean'/'state.x_scale' do not have the \\d+ columns of the 'onehot' encoding"),
    ("lgb", {"n_estimators": 5}, lambda r: r["params"].update(encoding="onehot"),
     "model.txt is not a valid LightGBM model of this predictor: it is fitted on \\d+ columns, not \\d+"),
    ("lgb", {"n_estimators": 5}, lambda r: r["state"].update(y_scale=float("nan")),
     "field 'state.y_scale' is missing or not a finite number"),
    ("ensemble", {"members": ["knn", "knn"]}, lambda r: r["params"].update(members=["knn"]),
     "holds the member folders \\['member_0', 'member_1'\\], but the ensemble has 1 members"),
    ("ensemble", {"members": ["knn", "knn"]}, lambda r: r["params"].update(members=["knn", "lgb"]),
     "member 'knn' \\(features\\) is not the 'lgb' \\(features\\) the ensemble's members list names"),
])
def test_a_tampered_saved_predictor_is_refused_at_load(data, tmp_path, name, params, change, message):
    from nasforge.exceptions import UnsafeFileError

    space, archs, y = data
    folder = _tampered(get_predictor(name, space, **params).fit(archs, y).save(tmp_path / name), change)
    with pytest.raises(UnsafeFileError, match=message):
        load_predictor(folder, space)


def test_a_knn_file_with_other_shapes_is_refused(data, knn, tmp_path):
    from safetensors.numpy import load_file, save_file

    from nasforge.exceptions import UnsafeFileError

    folder = _tampered(knn.save(tmp_path / "k"), lambda r: r.pop("sha256"))  # saved before checksums
    tensors = load_file(str(folder / "knn.safetensors"))
    save_file({"x": tensors["x"], "z": tensors["z"][:3]}, str(folder / "knn.safetensors"))
    with pytest.raises(UnsafeFileError, match="does not hold the training encodings and targets"):
        load_predictor(folder, data[0])


@pytest.mark.parametrize("name, file", [("lgb", "model.txt"), ("xgb", "model.json"), ("knn", "knn.safetensors"),
                                        ("ensemble", "member_0/model.txt")])
def test_a_changed_model_file_is_refused_by_its_checksum(data, tmp_path, name, file):
    """predictor.json records each model file's SHA-256: a changed file never reaches the native library."""
    from nasforge.exceptions import UnsafeFileError

    space, archs, y = data
    params = {"members": [{"predictor": "lgb", "n_estimators": 5}, "knn"]} if name == "ensemble" else {}
    folder = get_predictor(name, space, **params).fit(archs, y).save(tmp_path / name)
    assert file in json.loads((folder / PREDICTOR_FILE).read_text())["sha256"]
    data_file = folder / file
    data_file.write_bytes(data_file.read_bytes().replace(b"1", b"2", 1))
    with pytest.raises(UnsafeFileError, match=f"{file} does not match its SHA-256 in predictor.json"):
        load_predictor(folder, space)


def test_checksums_cover_every_model_file_and_older_folders_load_unverified(data, tmp_path):
    from nasforge.exceptions import UnsafeFileError

    space, archs, y = data
    model = get_predictor("ensemble", space, members=["knn", "knn"]).fit(archs, y)
    folder = model.save(tmp_path / "e")
    (folder / "member_1" / "extra.bin").write_bytes(b"x")  # a file the loader could read unverified
    with pytest.raises(UnsafeFileError, match="predictor.json has no checksum of member_1/extra.bin"):
        load_predictor(folder, space)
    (folder / "member_1" / "extra.bin").unlink()
    _tampered(folder, lambda r: r.update(sha256=["member_0/knn.safetensors"]))
    with pytest.raises(UnsafeFileError, match="field 'sha256' must map"):
        load_predictor(folder, space)
    _tampered(folder, lambda r: r.pop("sha256"))
    np.testing.assert_allclose(load_predictor(folder, space).predict(archs), model.predict(archs))


def _lgb_edit(text: str, key: str, value: str) -> str:
    """LightGBM text with field ``key`` of the first tree set to ``value``, ``tree_sizes`` kept consistent."""
    header, _, rest = text.partition("\n\nTree=")
    blocks = ("Tree=" + rest).split("\n\n\n")
    lines = [f"{key}={value}" if line.startswith(f"{key}=") else line for line in blocks[0].splitlines()]
    blocks[0] = "\n".join(lines)
    sizes = [len(b) + 3 for b in blocks[:-1]]
    header = "\n".join(f"tree_sizes={' '.join(map(str, sizes))}" if line.startswith("tree_sizes=") else line
                       for line in header.splitlines())
    return header + "\n\n" + "\n\n\n".join(blocks)


LGB_DAMAGE = {  # each crashed (abort, segfault) or hung LightGBM before the structural checks
    "cut": (lambda t: t[: len(t) // 3], "not a complete LightGBM model file"),
    "size": (lambda t: t.replace("shrinkage=1\n", "shrinkage=1.0\n", 1), "tree 1 is not where the header's tree_sizes"),
    "cycle": (lambda t: _lgb_edit(t, "left_child", "1 0 -1 -2"), "reached twice \\(a cycle\\)"),
    "child": (lambda t: _lgb_edit(t, "left_child", "500 2 -1 -2"), "child out of range"),
    "feature": (lambda t: _lgb_edit(t, "split_feature", "99999 0 0 0"), "splits on a column the encoding does not"),
    "count": (lambda t: _lgb_edit(t, "leaf_value", "0.5"), "field 'leaf_value' does not have 5 entries"),
    "optional": (lambda t: _lgb_edit(t, "split_gain", "0.5"), "field 'split_gain' does not have 4 entries"),
}
XGB_DAMAGE = {
    "child": (lambda tree: tree["left_children"].__setitem__(0, 99999), "child out of range"),
    "cycle": (lambda tree: tree["left_children"].__setitem__(tree["left_children"][0], 0), "reached twice"),
    "feature": (lambda tree: tree["split_indices"].__setitem__(0, 10**6), "splits on a column the encoding does not"),
    "short": (lambda tree: tree.__setitem__("left_children", tree["left_children"][:1]),
              "field 'left_children' does not have its \\d+ nodes"),
}


def test_damaged_tree_models_are_refused_not_crashing(data, tmp_path):
    """Without a checksum (a folder saved before them), the trees are checked before LightGBM/XGBoost read
    them; run in a child process, since a miss would abort, crash or hang it."""
    import subprocess
    import sys

    space, archs, y = data
    lgb = get_predictor("lgb", space, n_estimators=5, num_leaves=5, min_child_samples=1).fit(archs, y)
    xgb = get_predictor("xgb", space, n_estimators=5, max_depth=3).fit(archs, y)
    expected = {}
    for kind, model, damage in (("lgb", lgb, LGB_DAMAGE), ("xgb", xgb, XGB_DAMAGE)):
        for case, (change, message) in damage.items():
            folder = _tampered(model.save(tmp_path / f"{kind}-{case}"), lambda r: r.pop("sha256"))
            if kind == "lgb":
                text = (folder / "model.txt").read_text()
                assert "num_leaves=5\n" in text.split("Tree=1")[0]  # the edits assume a first tree of 5 leaves
                (folder / "model.txt").write_text(change(text))
            else:
                saved = json.loads((folder / "model.json").read_text())
                change(saved["learner"]["gradient_booster"]["model"]["trees"][0])
                (folder / "model.json").write_text(json.dumps(saved))
            expected[str(folder)] = message
    code = ("import sys\nfrom nasforge.predictors import load_predictor\n"
            "for folder in sys.argv[1:]:\n    try:\n        load_predictor(folder, 'nb201')\n        print('loaded')\n"
            "    except ValueError as exc:\n        print(' '.join(str(exc).split()))\n")
    done = subprocess.run([sys.executable, "-c", code, *expected], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for (folder, message), line in zip(expected.items(), done.stdout.splitlines(), strict=True):
        assert line.startswith(f"{folder}/model.") and re.search(message, line), (folder, line)
