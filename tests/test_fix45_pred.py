"""Predictors/surrogate review (2026-12-06): SurrogateEvaluator checks its surrogate (a folder is loaded), fit
refuses targets too large to scale, CLI messages name the option, damaged XGBoost files say what is wrong,
surrogate fit explains a surrogate artifact given as --table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from predictor_data import sample, seed_table

from nasforge.benchmarks import SurrogateBenchmark, TabularBenchmark
from nasforge.cli import main
from nasforge.evaluators import SurrogateEvaluator
from nasforge.exceptions import UnsafeFileError, UsageError
from nasforge.experiment import Study
from nasforge.predictors import get_predictor, load_predictor
from nasforge.predictors.evaluation import evaluate_predictors
from nasforge.predictors.base import PREDICTOR_FILE
from nasforge.spaces import NASBench201Space


@pytest.fixture(scope="module")
def table():
    return TabularBenchmark(seed_table(200, seeds=1, noise=0.5), NASBench201Space(), name="synthetic")


@pytest.fixture(scope="module")
def artifact(table, tmp_path_factory):
    folder = tmp_path_factory.mktemp("fix45") / "sur"
    SurrogateBenchmark.fit(table.space, table, model="knn", holdout=0.0).save(folder)
    return folder


@pytest.mark.parametrize("given", [None, 5, ["nb201-lgb-v1.0"]])
def test_surrogate_evaluator_refuses_what_is_not_a_surrogate(given):
    """Would fail: accepted, then every trial failed with AttributeError: '...' object has no attribute 'query'."""
    with pytest.raises(UsageError, match=r"SurrogateEvaluator needs a SurrogateBenchmark .*SurrogateBenchmark\.load"):
        SurrogateEvaluator(given)


def test_surrogate_evaluator_loads_a_folder(artifact):
    """Would fail: a folder name was taken as the surrogate and every trial failed; now it is loaded, also from
    an evaluator_spec (whose JSON keyword arguments can only name the folder)."""
    from nasforge.experiment.evaluator_spec import build_evaluator

    for given in (str(artifact), artifact):
        evaluator = SurrogateEvaluator(given)
        assert isinstance(evaluator.surrogate, SurrogateBenchmark)
        study = Study("nb201", "random", objectives="val_acc", seed=0)
        study.optimize(evaluator, n_trials=2)
        assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    spec = {"factory": "nasforge.evaluators:SurrogateEvaluator", "kwargs": {"surrogate": str(artifact)}}
    assert isinstance(build_evaluator(spec).surrogate, SurrogateBenchmark)
    with pytest.raises(UsageError, match="surrogate folder not found"):
        SurrogateEvaluator(str(artifact / "nothing"))


def test_fit_refuses_targets_too_large_to_scale():
    """Would fail: 1e200-scale targets fitted with y_scale = inf, predicted NaN, and saved a file load refused."""
    space, archs, y = sample(30)
    with pytest.raises(UsageError, match=r"fit: y holds 30 value\(s\) beyond 1e\+150 in magnitude .*rescale y"):
        get_predictor("knn", space).fit(archs, y * 1e200)
    with pytest.raises(UsageError, match=r"y holds 1 value\(s\) beyond 1e\+150"):
        evaluate_predictors(space, archs, np.r_[y[:-1], -1e151], ["knn"], train_sizes=[10], seeds=1)
    frame = pd.DataFrame({"arch": [space.format(a) for a in archs], "val_acc": y * 1e200})
    with pytest.raises(UsageError, match=r"metric 'val_acc' holds 30 value\(s\) beyond 1e\+150"):
        SurrogateBenchmark.fit(space, frame, model="knn", holdout=0.0)
    predictor = get_predictor("knn", space).fit(archs, y * 1e140)  # large but below the limit: finite throughout
    assert np.all(np.isfinite(predictor.predict(archs[:3])))


def test_fit_takes_every_score_a_study_stores():
    """A model-based strategy fits its predictor on the study's scores: the fit limit must not refuse one that
    tell accepted (within SCORE_LIMIT)."""
    from nasforge.predictors.base import TARGET_LIMIT
    from nasforge.strategies.base import SCORE_LIMIT

    assert TARGET_LIMIT == SCORE_LIMIT
    space, archs, y = sample(30)
    predictor = get_predictor("knn", space).fit(archs, np.r_[y[:-1], SCORE_LIMIT])
    assert np.all(np.isfinite(predictor.predict(archs[:3])))


def test_files_saved_with_a_large_scale_still_load(tmp_path):
    """The limit is fit's: a saved state with a large (finite) scale loads as before."""
    space, archs, y = sample(30)
    folder = get_predictor("knn", space).fit(archs, y).save(tmp_path / "p")
    record = json.loads((folder / PREDICTOR_FILE).read_text())
    record["state"]["y_scale"] = 1e120
    (folder / PREDICTOR_FILE).write_text(json.dumps(record))
    assert np.all(np.isfinite(load_predictor(folder, space).predict(archs[:3])))


def test_surrogate_eval_names_the_strategies_option(tmp_path, capsys):
    """Would fail: "error: strategies: hyperband chooses a budget ..." (the Python parameter's name)."""
    assert main(["surrogate", "eval", str(tmp_path / "none"), "--strategies", "random,hyperband"]) == 2
    assert "error: --strategies: hyperband chooses a budget per evaluation" in capsys.readouterr().err
    assert main(["surrogate", "eval", str(tmp_path / "none"), "--strategies", ","]) == 2
    assert "--strategies names no strategy: ','" in capsys.readouterr().err


def test_predictors_eval_says_no_name_was_given(capsys):
    """Would fail: "unknown predictors ','" when --predictors named none."""
    assert main(["predictors", "eval", "--predictors", ","]) == 2
    err = capsys.readouterr().err
    assert "--predictors names no predictor: ','" in err and "unknown" not in err


def _xgb_damage(saved: dict) -> dict:
    tree = saved["learner"]["gradient_booster"]["model"]["trees"][0]
    return {
        "not an object": ({"learner": 5}, "field 'learner' is not an object"),
        "list": ([1, 2], "the file is not a JSON object"),
        "missing": ({"learner": {}}, "field 'learner.learner_model_param' is missing"),
        "columns": ({"learner": {"learner_model_param": {"num_feature": "many"}}},
                    "field 'learner.learner_model_param.num_feature' is not a whole number: 'many'"),
        "trees": (_edited(saved, lambda s: s["learner"]["gradient_booster"]["model"].update(trees={})),
                  "field 'learner.gradient_booster.model.trees' is not a list"),
        "tree": (_edited(saved, lambda s: s["learner"]["gradient_booster"]["model"]["trees"].__setitem__(0, 3)),
                 "tree 0 is not an object"),
        "nodes": (_edited(saved, lambda s: s["learner"]["gradient_booster"]["model"]["trees"][0].pop("tree_param")),
                  "tree 0: field 'tree_param' is missing"),
        "child": (_edited(saved, lambda s: s["learner"]["gradient_booster"]["model"]["trees"][0][
            "left_children"].__setitem__(0, "1")), "tree 0: field 'left_children' holds a value that is not a whole"),
        "field": (_edited(saved, lambda s: s["learner"]["gradient_booster"]["model"]["trees"][0].update(
            split_indices=5)), f"tree 0: field 'split_indices' does not have its {len(tree['left_children'])} nodes"),
    }


def _edited(saved: dict, change) -> dict:
    copy = json.loads(json.dumps(saved))
    change(copy)
    return copy


def test_damaged_xgboost_json_says_what_is_wrong(tmp_path):
    """Would fail: "...: TypeError: 'int' object is not subscriptable" and the like."""
    space, archs, y = sample(30)
    model = get_predictor("xgb", space, n_estimators=3, max_depth=2).fit(archs, y)
    reference = json.loads((model.save(tmp_path / "ref") / "model.json").read_text())
    for case, (content, message) in _xgb_damage(reference).items():
        folder = model.save(tmp_path / case)
        record = json.loads((folder / PREDICTOR_FILE).read_text())
        record.pop("sha256")  # as a folder saved before checksums: the trees are checked
        (folder / PREDICTOR_FILE).write_text(json.dumps(record))
        (folder / "model.json").write_text(json.dumps(content))
        with pytest.raises(UnsafeFileError) as caught:
            load_predictor(folder, space)
        text = str(caught.value)
        assert "is not a valid XGBoost model of this predictor: " + message in text, (case, text)
        assert "Error:" not in text, (case, text)  # no raw Python exception


@pytest.mark.parametrize("name, file, kind", [("xgb", "model.json", "XGBoost JSON"),
                                              ("lgb", "model.txt", "LightGBM text")])
def test_binary_tree_model_file_says_so(tmp_path, name, file, kind):
    """Would fail: "cannot load the ... model ...: UnicodeDecodeError: 'utf-8' codec can't decode byte ..."."""
    space, archs, y = sample(30)
    folder = get_predictor(name, space, n_estimators=3).fit(archs, y).save(tmp_path / name)
    record = json.loads((folder / PREDICTOR_FILE).read_text())
    record.pop("sha256")
    (folder / PREDICTOR_FILE).write_text(json.dumps(record))
    (folder / file).write_bytes(b"\x80\x04\x95pickle")
    with pytest.raises(UnsafeFileError, match=f"{file} is not a {kind} model file \\(it holds bytes that are not "):
        load_predictor(folder, space)


def test_surrogate_fit_explains_a_surrogate_artifact_as_table(artifact, tmp_path, capsys):
    """Would fail: "benchmark table ... is not a file" (the folder) or a manifest read as a table."""
    for given in (artifact, artifact / "manifest.json"):
        assert main(["surrogate", "fit", "--table", str(given), "--out", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err
        assert f"this is a surrogate artifact ({artifact}); it is fitted already" in err, err
        assert f"nasforge surrogate info {artifact}" in err and "is not a file" not in err
        assert not (tmp_path / "x").exists()
