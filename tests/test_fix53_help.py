"""The CLI's help texts say what the commands do: which options apply where, and the bounds they enforce."""
from __future__ import annotations

import re

import pytest

from nasforge.cli import main


def _help(capsys, monkeypatch, *command: str) -> str:
    """``nasforge COMMAND --help`` as printed."""
    monkeypatch.setenv("COLUMNS", "200")  # no option cut at a hyphen
    assert main([*command, "--help"]) == 0
    return capsys.readouterr().out


def _option(text: str, option: str) -> str:
    """The help of ``option`` in a help text, as one line: from its line to the next option's."""
    match = re.search(rf"^ +{re.escape(option)}\b.*?(?=^ +-|\Z)", text, re.M | re.S)
    assert match, option
    return " ".join(match.group(0).split())


@pytest.mark.parametrize("option", ["--recal-batches", "--finetune-steps"])
def test_search_help_says_the_scoring_options_are_the_supernets(capsys, monkeypatch, option):
    """Would fail: `search --help` offered --recal-batches and --finetune-steps to training searches, which refuse
    them."""
    assert "with --evaluator supernet:" in _option(_help(capsys, monkeypatch, "search"), option)


def test_search_help_says_training_recalibration_makes_one_pass(capsys, monkeypatch):
    """Would fail: `--bn-mode`'s help left --recal-batches' default of 8 batches to describe training's
    recalibration, which always makes one pass over the training split."""
    assert "one pass over the training split" in _option(_help(capsys, monkeypatch, "search"), "--bn-mode")


def test_oneshot_search_help_keeps_the_scoring_options_unprefixed(capsys, monkeypatch):
    """`oneshot search` always scores with a supernet: no "with --evaluator" there."""
    text = _help(capsys, monkeypatch, "oneshot", "search")
    assert not any("--evaluator" in _option(text, option) for option in ("--recal-batches", "--finetune-steps"))


@pytest.fixture
def small_nb201(tmp_path):
    """The first 40 rows of the NAS-Bench-201 table as a CSV (columns of every data set)."""
    import pandas as pd

    from nasforge.benchmarks import find_data_file

    try:
        source = find_data_file("nb201_hp12.csv.gz")
    except FileNotFoundError as exc:
        pytest.skip(f"NAS-Bench-201 table not available: {exc}")
    path = tmp_path / "t.csv"
    pd.read_csv(source, nrows=40).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("metrics", ["cifar100-val", "cifar100-val,imagenet-val"])
def test_surrogate_fit_reads_and_records_the_table_of_its_metrics_data_set(small_nb201, tmp_path, capsys, metrics):
    """Would fail: `surrogate fit --metrics cifar100-val` read the table as cifar10's and recorded it as its
    training data (and metrics of two data sets gave a cifar10 name); now the first metric's data set is read, as
    bench's objective's."""
    from nasforge.benchmarks.surrogate import read_manifest

    out = tmp_path / "s"
    assert main(["surrogate", "fit", "--table", str(small_nb201), "--metrics", metrics, "--model", "knn",
                 "--out", str(out)]) == 0
    manifest = read_manifest(out)
    assert (manifest["name"], manifest["training_data"]["source"]) == ("nb201-cifar100-knn-v1.0",
                                                                      "t.csv (cifar100)")


@pytest.mark.parametrize("argv, name", [
    (["--metrics", "cifar100-val,imagenet-val", "--dataset", "imagenet"], "nb201-imagenet-knn-v1.0"),  # as given
    (["--metrics", "cifar100-val,test_acc"], "nb201-knn-v1.0"),  # test_acc reads --dataset's (cifar10) column
])
def test_surrogate_fit_keeps_a_given_dataset_and_the_one_val_acc_test_acc_read(small_nb201, tmp_path, argv, name):
    """Would fail with this stop's first fix: a given --dataset not the first metric's was refused, and a first
    metric of another data set moved what test_acc reads (the order of --metrics decided the data)."""
    from nasforge.benchmarks.surrogate import read_manifest

    out = tmp_path / "s"
    assert main(["surrogate", "fit", "--table", str(small_nb201), *argv, "--model", "knn", "--out", str(out)]) == 0
    assert read_manifest(out)["name"] == name


def test_surrogate_eval_help_says_a_surrogate_of_a_studys_trials_needs_no_other_table(capsys, monkeypatch):
    """Would fail: `--other-table` read as required for any table but the fitted one, though a surrogate fitted on
    a study's trials is scored against any table of its space without it (``SurrogateBenchmark.fitted_on``)."""
    text = _option(_help(capsys, monkeypatch, "surrogate", "eval"), "--other-table")
    assert "a surrogate fitted on a study's trials is scored against any table of its space without it" in text


def test_oneshot_study_help_states_the_least_k(capsys, monkeypatch):
    """Would fail: `oneshot study --k 3` exits 2 ("--k must be >= 10"), which its help did not say."""
    from nasforge.oneshot.study import MIN_K

    assert f"at least {MIN_K}" in _option(_help(capsys, monkeypatch, "oneshot", "study"), "--k")
