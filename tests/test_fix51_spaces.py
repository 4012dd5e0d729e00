"""Review 51 (spaces) fixes: a chain table read under another space is pointed to ``--space chain``; NB201 text
with a line break inside an edge is refused."""

from __future__ import annotations

import itertools

import pytest

from nasforge.cli import main
from nasforge.exceptions import UsageError
from nasforge.spaces import get_space

CHOICES = ("conv3", "conv5", "skip")


def _chain_table(tmp_path) -> str:
    path = tmp_path / "chain.csv"
    rows = "".join(f"{'|'.join(cells)},{50 + i}\n" for i, cells in enumerate(itertools.product(CHOICES, repeat=3)))
    path.write_text("arch,acc\n" + rows)
    return str(path)


# -- 2: a chain table read under another space ---------------------------------------------------------------------
@pytest.mark.parametrize("command", [
    ["bench", "--objective", "acc", "--strategies", "random", "--seeds", "1", "--trials", "5"],
    ["predictors", "eval", "--metric", "acc", "--predictors", "knn"]])
@pytest.mark.parametrize("space", [[], ["--space", "nb101"], ["--space", "darts"]])
def test_a_chain_table_under_another_space_is_pointed_to_space_chain(command, space, tmp_path, capsys):
    """Would fail: only "NAS-Bench-201 string must start and end with '|'" (or NB101's, DARTS's error), no hint."""
    assert main([*command, "--table", _chain_table(tmp_path), *space, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.endswith("'conv3|conv3|conv3': it reads like a chain architecture; is it space 'chain' "
                        "(--space chain)?"), err


def test_the_hinted_space_chain_reads_the_table(tmp_path, capsys):
    assert main(["bench", "--table", _chain_table(tmp_path), "--space", "chain", "--objective", "acc",
                 "--strategies", "random", "--seeds", "1", "--trials", "5", "--out", str(tmp_path / "out")]) == 0


@pytest.mark.parametrize("space", ["nb201", "nb101", "darts"])
def test_a_chain_text_in_python_names_space_chain(space):
    with pytest.raises(UsageError, match=r": it reads like a chain architecture; is it space 'chain'\?$") as info:
        get_space(space).parse("conv3 | conv5|skip")
    assert "--space" not in str(info.value)


@pytest.mark.parametrize("text", ["|none|+|none|none|+|none|none|none|",  # NB201 without its '~': not a chain
                                  "a=conv3|b=skip",  # a model space's label=name text
                                  "conv3||skip", "conv3"])
def test_texts_that_are_no_chain_get_no_chain_hint(text):
    with pytest.raises(UsageError) as info:
        get_space("nb201").parse(text)
    assert "chain" not in str(info.value)


# -- 3: NB201 text with a newline inside ---------------------------------------------------------------------------
def test_nb201_refuses_a_line_break_inside_an_edge():
    """Would fail: '$' matched before the newline, and the text parsed as the all-'none' cell."""
    with pytest.raises(UsageError, match=r"bad edge 'none~0\\n' in node 1"):
        get_space("nb201").parse("|none~0\n|+|none~0|none~1|+|none~0|none~1|none~2|")


# -- 1: where NB201's val_acc and test_acc come from -------------------------------------------------------------
def test_the_docs_say_cifar10_val_and_test_are_two_training_runs(capsys):
    """Would fail: every doc called them the validation and test accuracy of one data set, as if of one run."""
    from pathlib import Path

    from nasforge.benchmarks import load_nb201

    root = Path(__file__).resolve().parents[1]
    readme = " ".join((root / "README.md").read_text().split())
    assert "`cifar10-val` (`val_acc`) is the `cifar10-valid` run" in readme
    assert "for CIFAR-100 and ImageNet16-120 both columns are one run" in readme
    docstring = " ".join(load_nb201.__doc__.split())
    assert "``cifar10-val`` the ``cifar10-valid`` run" in docstring
    assert "``cifar10-test`` the ``cifar10`` run" in docstring
    cli = (root / "docs" / "cli.md").read_text()
    dataset_row = next(line for line in cli.splitlines() if line.startswith("| `--dataset NAME` |"))
    assert "`val_acc` the `cifar10-valid` run" in dataset_row and "`test_acc` the `cifar10` run" in dataset_row
    assert "on CIFAR-10 that column is another training run" in " ".join(cli.split())
    assert main(["bench", "--help"]) == 0
    assert "on cifar10 another training run, on train+valid, than the -val column's" in " ".join(
        capsys.readouterr().out.split())
