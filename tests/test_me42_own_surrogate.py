"""A surrogate of a user's own space (--space-module) is evaluated with that space (me42)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from nasforge.cli import main

@pytest.fixture()
def fitted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("own.py").write_text("from bit_spaces import BitSpace\n")  # named bits, n=6 unless configured
    rows = ["arch,acc"] + [f"{i:06b},{bin(i).count('1') + 0.01 * i}" for i in range(64)]
    Path("bits.csv").write_text("\n".join(rows) + "\n")
    Path("six.json").write_text(json.dumps({"n": 6}))
    assert main(["surrogate", "fit", "--table", "bits.csv", "--space-module", "own.py:BitSpace", "--space-config",
                 "six.json", "--metrics", "acc", "--params", '{"encoding": "onehot"}', "--out", "s1"]) == 0
    return tmp_path


def test_surrogate_eval_takes_the_users_space_module(fitted, capsys):
    """Would fail before: 'manifest.json ... is damaged: unknown search space' (--space-module was read after the
    artifact), then the model check sampled the space with an int seed."""
    assert main(["surrogate", "eval", "s1", "--table", "bits.csv", "--space-module", "own.py:BitSpace",
                 "--space-config", "six.json", "--strategies", "random", "--trials", "10", "--seeds", "2",
                 "--out", "e1"]) == 0
    assert (fitted / "e1" / "fidelity.json").is_file()


def test_a_users_space_with_other_options_or_none_given_is_named(fitted, capsys):
    Path("five.json").write_text(json.dumps({"n": 5}))
    assert main(["surrogate", "eval", "s1", "--table", "bits.csv", "--space-module", "own.py:BitSpace",
                 "--space-config", "five.json", "--strategies", "random", "--trials", "10", "--out", "e2"]) == 2
    assert "fitted on space 'bits' with options {'n': 6}, not {'n': 5}" in capsys.readouterr().err
    assert main(["surrogate", "info", "s1"]) == 2
    assert "which is no space registered here" in capsys.readouterr().err
    shutil.rmtree("s1")
