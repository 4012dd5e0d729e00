"""Review didyoumean55: a misspelt name given to the CLI is answered with the closest valid one (the one
``registry.did_you_mean`` helper), and ``--out`` through a dangling symbolic link is refused by every command alike."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_lines import error_line

TABLE = "arch,acc\nx|y,1\nx|z,2\nw|y,3\nw|z,4\n"


@pytest.fixture
def table(tmp_path, monkeypatch) -> str:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.csv").write_text(TABLE)
    return "t.csv"


@pytest.mark.parametrize("argv, hint", [
    (["search", "--data", "digit"], "(did you mean 'digits'?)"),
    (["search", "--objectives", "val_accc:max"], "(did you mean 'val_acc'?)"),
    (["search", "--augment", "crop_flp"], "(did you mean 'crop_flip'?)"),  # argparse's choices
    (["search", "--evaluator", "supernt"], "(did you mean 'supernet'?)"),
    (["serch"], "(did you mean 'search'?)"),  # a command
    (["bench", "--dataset", "cifar11"], "(did you mean 'cifar10'?)"),
    (["oneshot", "train", "--data", "digit"], "(did you mean 'digits'?)"),
    (["oneshot", "train", "--few-shot-split", "edge_01"], "(did you mean 'edge_0_1'?)"),
])
def test_a_misspelt_name_gets_the_closest_one(capsys, tmp_path, monkeypatch, argv, hint):
    """Would fail: the names were refused with the list of choices only (strategies, spaces and pruners had a
    guess)."""
    monkeypatch.chdir(tmp_path)
    line = error_line(capsys, [*argv, "--out", "o"] if len(argv) > 1 else argv)
    assert hint in line, line
    assert not (tmp_path / "o").exists()


def test_argparse_choices_stay_listed_after_the_guess(capsys):
    line = error_line(capsys, ["bench", "--dataset", "cifar11"])
    assert "'cifar11' (did you mean 'cifar10'?) (choose from 'cifar10', 'cifar100', 'imagenet')" in line, line


def test_a_name_with_no_close_choice_gets_no_guess(capsys):
    line = error_line(capsys, ["bench", "--dataset", "zzzzzz"])
    assert "did you mean" not in line and "choose from" in line, line


@pytest.mark.parametrize("argv, hint", [
    (["predictors", "eval", "--predictors", "knnn", "--metric", "acc"], "['knnn'] (did you mean 'knn'?); choose from"),
    (["predictors", "eval", "--predictors", "knn", "--metric", "ac"], "'ac' is not in table 't.csv' (did you mean "
                                                                       "'acc'?); available: ['acc']"),
    (["bench", "--objective", "ac"], "(did you mean 'acc'?); available: ['acc']"),
    (["bench", "--objective", "acc", "--time-column", "ac"], "(did you mean 'acc'?); available: ['acc']"),
    (["surrogate", "fit", "--metrics", "acc", "--model", "knnn"], "(did you mean 'knn'?); choose from"),
    (["surrogate", "fit", "--metrics", "ac", "--model", "knn"], "(did you mean 'acc'?)"),
])
def test_a_misspelt_predictor_or_column_gets_the_closest_one(capsys, table, argv, hint):
    line = error_line(capsys, [*argv, "--table", table, "--space", "chain", "--out", "o"])
    assert hint in line, line


@pytest.mark.parametrize("argv", [
    ["oneshot", "train", "--epochs", "1", "--batch-size", "64"],
    ["surrogate", "fit", "--table", "t.csv", "--space", "chain", "--metrics", "acc", "--model", "knn"],
    ["bench", "--table", "t.csv", "--space", "chain", "--objective", "acc", "--trials", "2", "--seeds", "1",
     "--strategies", "random"],
])
def test_out_through_a_dangling_link_is_refused_by_every_command(capsys, table, tmp_path, argv):
    """Would fail: oneshot train and surrogate fit followed the link and created its target (search and bench
    refused it, naming the link and its missing target)."""
    (tmp_path / "runs").symlink_to(tmp_path / "moved" / "runs")
    line = error_line(capsys, [*argv, "--out", "runs"])
    assert line.endswith(f"--out runs: cannot create 'runs': 'runs' is a symbolic link to "
                         f"{str(tmp_path / 'moved' / 'runs')!r}, which does not exist (create its target, or remove "
                         "the link)"), line
    assert not (tmp_path / "moved").exists()


def test_a_symbolic_link_to_an_existing_folder_is_still_an_out(table, tmp_path):
    from nasforge.cli.options import not_a_file

    (tmp_path / "there").mkdir()
    (tmp_path / "runs").symlink_to(tmp_path / "there")
    assert not_a_file("runs/a") == Path("runs/a")
