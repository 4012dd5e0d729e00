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
