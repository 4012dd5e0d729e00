"""Known problems of help texts fixed on 2027-01-10: predictors eval taking the data set from --metric, bench's
--workers-simulated limit stated, search refusing --augment that the supernet evaluator with --retrain 0 ignores."""

import json

import pytest

from nasforge.cli import main

_EVAL = ["predictors", "eval", "--predictors", "knn", "--train-sizes", "20", "--seeds", "1", "--test-size", "30"]


def test_predictors_eval_takes_the_data_set_from_its_metric(tmp_path, capsys):
    """Would fail: --metric cifar100-val ran, was printed and recorded as the CIFAR-10 table."""
    assert main([*_EVAL, "--metric", "cifar100-val", "--out", str(tmp_path / "a")]) == 0
    assert capsys.readouterr().out.startswith("nb201-nb201_hp12-cifar100: ")
    saved = json.loads((tmp_path / "a" / "predictors.json").read_text())
    assert (saved["table"], saved["metric"]) == ("nb201-nb201_hp12-cifar100", "cifar100-val")


def test_predictors_eval_refuses_a_data_set_its_metric_contradicts(tmp_path, capsys):
    """Would fail: --dataset cifar10 beside --metric cifar100-val was accepted; a --table's run was not named after
    the metric's data set."""
    import pandas as pd

    from nasforge.benchmarks import find_data_file

    argv = [*_EVAL, "--metric", "cifar100-val"]
    pd.read_csv(find_data_file("nb201_hp12.csv.gz"), nrows=80).to_csv(tmp_path / "part.csv", index=False)
    assert main([*argv, "--table", str(tmp_path / "part.csv"), "--out", str(tmp_path / "b")]) == 0
    assert capsys.readouterr().out.startswith("part.csv (cifar100): ")
    assert main([*argv, "--dataset", "cifar10", "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--dataset cifar10: --metric cifar100-val is a cifar100 column" in err
    assert not (tmp_path / "c").exists()


def test_predictors_eval_help_says_the_metric_picks_the_data_set(capsys):
    assert main(["predictors", "eval", "--help"]) == 0
    assert "theone--metricnames(cifar100forcifar100-val)" in "".join(capsys.readouterr().out.split())  # as wrapped


def test_bench_help_and_docs_say_workers_simulated_needs_a_maximized_objective(capsys):
    """Would fail: the refusal of a minimized --objective with --workers-simulated was in no help text or doc."""
    from pathlib import Path

    assert main(["bench", "--help"]) == 0
    assert "(amaximized--objectiveonly;" in "".join(capsys.readouterr().out.split())  # as wrapped
    docs = Path(__file__).resolve().parents[1] / "docs"
    assert "and a minimized `--objective`" in (docs / "cli.md").read_text()
    assert "Only a maximized `--objective` can be\nsimulated" in (docs / "strategies.md").read_text()


def _supernet(tmp_path):
    """A tiny untrained NB201 supernet saved for digits: its folder."""
    from nasforge.oneshot import build_supernet
    from nasforge.oneshot.checkpoint import save_supernet

    save_supernet(build_supernet("nb201", 10, 1, C=2, N=1), tmp_path / "ck", {"data": {"data": "digits",
                                                                                       "data_options": {}}})
    return tmp_path / "ck"


def test_search_refuses_augment_that_the_supernet_evaluator_with_retrain_0_ignores(tmp_path, capsys):
    """Would fail: --augment was accepted and recorded, though nothing trains."""
    pytest.importorskip("torch")
    argv = ["search", "--evaluator", "supernet", "--supernet", str(_supernet(tmp_path)), "--trials", "2",
            "--workers", "1", "--no-progress", "--retrain", "0"]
    assert main([*argv, "--augment", "crop_flip", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--augment would be ignored: nothing is trained" in err
    assert "--retrain 0 skips the retraining" in err and not (tmp_path / "run").exists()


def test_search_help_says_the_supernet_evaluator_keeps_its_split_whatever_the_seed(capsys):
    """Would fail: --seed was the "seed of the data split", which the supernet evaluator keeps as recorded."""
    assert main(["search", "--help"]) == 0
    assert "(with--evaluatorsupernet:thesupernet'srecordedsplitiskept)" in "".join(capsys.readouterr().out.split())


def test_a_stored_supernet_search_with_augment_and_retrain_0_still_resumes(tmp_path, monkeypatch, interrupt_scoring):
    """The refusal is for new runs: a study stored with that combination (before it was refused) resumes."""
    pytest.importorskip("torch")
    from nasforge.experiment import Study

    supernet, url = _supernet(tmp_path), f"sqlite:///{tmp_path / 'run' / 'study.db'}"
    interrupt_scoring(2)
    assert main(["search", "--evaluator", "supernet", "--supernet", str(supernet), "--trials", "3", "--retrain", "0",
                 "--workers", "1", "--no-progress", "--out", str(tmp_path / "run"), "--name", "old",
                 "--strategy", "random"]) != 0
    interrupt_scoring(None)
    study = Study.load("old", url)
    study.set_user_attr("pipeline_config", {**study.user_attrs["pipeline_config"], "augment": "crop"})  # as before
    assert main(["resume", "old", "--storage", url, "--workers", "1", "--no-progress"]) == 0  # its config checked
    assert sum(t.state.name == "COMPLETE" for t in Study.load("old", url).trials) == 3
