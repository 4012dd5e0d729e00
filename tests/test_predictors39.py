"""Review 39 of predictors and surrogate benchmarks: worker-independent surrogate noise, refits that keep the old
model when interrupted, name/version checks, early target checks, clean failed saves and clearer messages."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest
from predictor_data import seed_table

from nasforge.benchmarks import SurrogateBenchmark, TabularBenchmark
from nasforge.evaluators import SurrogateEvaluator
from nasforge.spaces import NASBench201Space

FAST_LGB = {"n_estimators": 50, "learning_rate": 0.1}


@pytest.fixture(scope="module")
def table():
    return TabularBenchmark(seed_table(120, seeds=2, noise=1.0), NASBench201Space(), name="synthetic")


@pytest.fixture(scope="module")
def surrogate(table):
    return SurrogateBenchmark.fit(table.space, table, model="lgb", model_params=FAST_LGB, noise_model=0.3,
                                  holdout=0.0, seed=0)


def test_noisy_draws_do_not_depend_on_the_worker(surrogate, table):
    evaluator = SurrogateEvaluator(surrogate, noisy=True, seed=0)
    archs = table.archs[:12]
    inline = [evaluator.evaluate(a).metrics["val_acc"] for a in archs]
    assert len(set(inline)) == 12  # every architecture its own draw
    # a worker gets a pickled copy: two copies evaluating half the trials each give the same values
    first, second = pickle.loads(pickle.dumps(evaluator)), pickle.loads(pickle.dumps(evaluator))
    split = [first.evaluate(a).metrics["val_acc"] for a in archs[::2]]
    split += [second.evaluate(a).metrics["val_acc"] for a in archs[1::2]]
    assert sorted(split) == sorted(inline)
    assert [evaluator.evaluate(a).metrics["val_acc"] for a in reversed(archs)] == inline[::-1]  # order-free
    other = SurrogateEvaluator(surrogate, noisy=True, seed=1).evaluate(archs[0]).metrics["val_acc"]
    assert other != inline[0]


def _interrupted_refit(model, archs, y, monkeypatch, method: str, after: int) -> None:
    """Refit ``model`` on ``y`` with ``method`` raising KeyboardInterrupt at its call number ``after``."""
    original, calls = getattr(type(model), method), []

    def interrupting(self, *args):
        calls.append(1)
        if len(calls) == after:
            raise KeyboardInterrupt
        return original(self, *args)

    monkeypatch.setattr(type(model), method, interrupting)
    with pytest.raises(KeyboardInterrupt):
        model.fit(archs, y)
    monkeypatch.undo()


@pytest.mark.parametrize("name, options, method, after", [
    ("knn", {}, "_fit", 1),
    ("lgb", {"n_estimators": 20}, "_fit", 1),
    ("mlp", {"epochs": 2, "n_models": 2}, "_network", 2),  # the second network of the refit is interrupted
])
def test_an_interrupted_refit_keeps_the_previous_fit(name, options, method, after, table, monkeypatch):
    from nasforge.predictors import get_predictor

    if name == "mlp":
        pytest.importorskip("torch")
    archs, y = table.archs[:60], table.values("val_acc")[:60]
    model = get_predictor(name, table.space, **options).fit(archs, y)
    before = model.predict(table.archs[60:90])
    _interrupted_refit(model, archs, 100 - y, monkeypatch, method, after)
    assert model.is_fitted
    np.testing.assert_array_equal(model.predict(table.archs[60:90]), before)


@pytest.mark.parametrize("options, message", [
    ({"name": 123}, "name must be a non-empty text naming the surrogate (or None for the default), got 123"),
    ({"name": ""}, "name must be a non-empty text"),
    ({"version": "../../x"}, "version must be letters, digits and . _ + - starting with a letter or digit"),
    ({"version": ""}, "version must be letters"),
    ({"dataset": "a/b"}, "dataset must be letters"),
])
def test_fit_checks_name_and_version_before_fitting(options, message, table, monkeypatch):
    from nasforge.exceptions import UsageError
    from nasforge.predictors.kernels import KNNPredictor

    monkeypatch.setattr(KNNPredictor, "fit", lambda *a: pytest.fail("fitted before the check"))
    with pytest.raises(UsageError, match=re.escape(message)):
        SurrogateBenchmark.fit(table.space, table, model="knn", **options)


def test_default_name_tells_data_sets_apart(table):
    names = [SurrogateBenchmark.fit(table.space, table, model="knn", holdout=0.0, **dataset).name
             for dataset in ({}, {"dataset": "cifar10"}, {"dataset": "cifar100"})]
    assert names == ["nb201-knn-v1.0", "nb201-knn-v1.0", "nb201-cifar100-knn-v1.0"]


def test_a_failed_save_leaves_no_folder(table, tmp_path):
    surrogate = SurrogateBenchmark.fit(table.space, table, model="rf", model_params={"n_estimators": 5},
                                       holdout=0.0)
    with pytest.raises(TypeError, match="no safe file format"):
        surrogate.save(tmp_path / "new" / "rfsave")
    assert not (tmp_path / "new" / "rfsave").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(TypeError, match="no safe file format"):
        surrogate.save(tmp_path / "empty")
    assert list((tmp_path / "empty").iterdir()) == []  # the empty folder the user made stays, empty


def test_cli_names_the_ensemble_member_that_cannot_be_saved(tmp_path, capsys):
    from nasforge.cli import main

    path = tmp_path / "t.csv"
    seed_table(40, seeds=1).rename(columns={"val_acc_seed0": "val_acc"}).to_csv(path, index=False)
    params = '{"members": ["knn", "rf", "svr"]}'
    assert main(["surrogate", "fit", "--table", str(path), "--model", "ensemble", "--params", params,
                 "--out", str(tmp_path / "s")]) == 2
    assert "--model ensemble: ensemble member(s) 'rf', 'svr' have no safe file format" in capsys.readouterr().err


def test_cli_cifar100_surrogate_has_its_own_default_name(tmp_path, capsys):
    from nasforge.cli import main

    path = tmp_path / "nb.csv"
    frame = seed_table(40, seeds=1).rename(columns={"val_acc_seed0": "cifar10-val"})
    frame["cifar100-val"] = frame["cifar10-val"] / 2
    frame.to_csv(path, index=False)
    for dataset, name in ((["--dataset", "cifar100"], "nb201-cifar100-knn-v1.0"), ([], "nb201-knn-v1.0")):
        out = tmp_path / f"s{len(dataset)}"
        assert main(["surrogate", "fit", "--table", str(path), *dataset, "--model", "knn", "--out", str(out)]) == 0
        assert f"fitted {name} " in capsys.readouterr().out


@pytest.mark.parametrize("split", ["row", "class"])
def test_evaluate_predictors_checks_the_targets_before_fitting(split, table, monkeypatch):
    from nasforge.exceptions import UsageError
    from nasforge.predictors.evaluation import evaluate_predictors
    from nasforge.predictors.kernels import KNNPredictor

    monkeypatch.setattr(KNNPredictor, "fit", lambda *a: pytest.fail("fitted before the check"))
    y = table.values("val_acc").copy()
    y[3::10] = np.nan
    with pytest.raises(UsageError, match=r"^y must be finite: it holds 12 NaN/inf value\(s\) of 120 "
                                         r"\(first at position 3\)"):
        evaluate_predictors(table.space, table.archs, y, ["knn"], [10], seeds=1, test_size=20, split=split)


def test_scores_name_the_side_that_is_not_finite():
    from nasforge.exceptions import UsageError
    from nasforge.predictors import kendall_tau

    with pytest.raises(UsageError, match=r"y_pred must be finite: it holds 1 NaN/inf value\(s\) of 3 \(first at "):
        kendall_tau([1.0, 2.0, 3.0], [1.0, np.inf, 2.0])


def test_documented_predictors_eval_commands_spell_out_their_json():
    """The docs' `benchmarks/predictors_eval.py --predictors '...'` commands run as pasted: their JSON parses and
    names the settings their result files record."""
    import json
    import shlex
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    text = " ".join((root / "docs" / "predictors.md").read_text().split())
    commands = re.findall(r"`(python benchmarks/predictors_eval\.py [^`]*--predictors [^`]*)`", text)
    assert len(commands) >= 3
    for command in commands:
        argv = shlex.split(command)
        settings = json.loads(argv[argv.index("--predictors") + 1])
        out = argv[argv.index("--out") + 1] if "--out" in argv else None
        if out:
            recorded = json.loads((root / out).read_text())["settings"]
            assert all(specs == settings for specs in recorded.values()), out


def test_a_saved_predictor_and_a_surrogate_artifact_tell_each_other_apart(table, tmp_path, capsys):
    from nasforge.cli import main
    from nasforge.exceptions import MissingFileError, UsageError
    from nasforge.predictors import get_predictor, load_predictor

    saved = get_predictor("knn", table.space).fit(table.archs[:20], table.values("val_acc")[:20])
    saved.save(tmp_path / "pred")
    SurrogateBenchmark.fit(table.space, table, model="knn", holdout=0.0).save(tmp_path / "sur")
    with pytest.raises(UsageError,
                       match="it holds a saved predictor .*load it with nasforge.predictors.load_predictor"):
        SurrogateBenchmark.load(tmp_path / "pred")
    assert main(["surrogate", "info", str(tmp_path / "pred")]) == 2
    assert "it holds a saved predictor (predictor.json" in capsys.readouterr().err
    with pytest.raises(MissingFileError, match=r"it holds a surrogate artifact \(manifest.json\); load it with "
                                               "SurrogateBenchmark.load"):
        load_predictor(tmp_path / "sur", table.space)


def test_bench_recognises_a_surrogate_artifact(table, tmp_path, capsys):
    from nasforge.cli import main

    SurrogateBenchmark.fit(table.space, table, model="knn", holdout=0.0).save(tmp_path / "sur")
    for given in (tmp_path / "sur", tmp_path / "sur" / "manifest.json"):
        assert main(["bench", "--table", str(given), "--strategies", "random", "--seeds", "1", "--trials", "3",
                     "--out", str(tmp_path / "b")]) == 2
        err = capsys.readouterr().err
        assert "this is a surrogate artifact" in err and "nasforge surrogate eval" in err
        assert not (tmp_path / "b").exists()


def test_bench_reads_a_json_table_named_manifest_json(tmp_path, capsys):
    """Only a surrogate's manifest is refused: a table saved as manifest.json is a table (it was read before)."""
    from nasforge.cli import main

    (tmp_path / "jt").mkdir()
    (tmp_path / "jt" / "manifest.json").write_text(seed_table(None, seeds=1).to_json(orient="records"))
    assert main(["bench", "--table", str(tmp_path / "jt" / "manifest.json"), "--space", "nb201", "--strategies",
                 "random", "--seeds", "1", "--trials", "3", "--workers", "1", "--out", str(tmp_path / "b")]) == 0


def test_a_surrogate_version_may_be_an_integer(table, tmp_path):
    """version=2 named the artifact ...-v2 before the word check, and still does."""
    fitted = SurrogateBenchmark.fit(table.space, table, model="knn", holdout=0.0, version=2)
    assert fitted.name.endswith("-v2")
