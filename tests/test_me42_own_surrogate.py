"""A surrogate of a user's own space (--space-module) is evaluated with that space (me42)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from nasforge.cli import main

BITS = '''
import numpy as np
from nasforge import Architecture, SearchSpace
from nasforge.exceptions import UsageError


class BitSpace(SearchSpace):
    name = "bits"

    def __init__(self, n=6):
        self.n = n

    def sample(self, rng):
        return Architecture(self.name, tuple(int(b) for b in rng.integers(0, 2, self.n)))

    def neighbors(self, arch):
        g = arch.genotype
        return [Architecture(self.name, g[:i] + (1 - g[i],) + g[i + 1:]) for i in range(self.n)]

    def parse(self, text):
        if len(text) != self.n or set(text) - {"0", "1"}:
            raise UsageError(f"bad bits {text!r}")
        return Architecture(self.name, tuple(int(c) for c in text))

    def format(self, arch):
        return "".join(map(str, arch.genotype))

    def canonical(self, arch):
        return arch

    def encode_onehot(self, arch):
        return np.array(arch.genotype, dtype=float)

    def categorical_params(self):
        return {f"b{i}": ["0", "1"] for i in range(self.n)}

    def from_params(self, params):
        self._check_param_names(params)
        return Architecture(self.name, tuple(int(params[f"b{i}"]) for i in range(self.n)))

    def to_params(self, arch):
        return {f"b{i}": str(b) for i, b in enumerate(arch.genotype)}

    def validate(self, arch):
        if arch.space != self.name or len(arch.genotype) != self.n or set(arch.genotype) - {0, 1}:
            raise UsageError(f"not a {self.n}-bit architecture: {arch!r}")

    @property
    def size(self):
        return 2 ** self.n

    @property
    def is_enumerable(self):
        return True

    def enumerate(self):
        for i in range(2 ** self.n):
            yield Architecture(self.name, tuple((i >> k) & 1 for k in range(self.n)))
'''


@pytest.fixture()
def fitted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("bits.py").write_text(BITS)
    rows = ["arch,acc"] + [f"{i:06b},{bin(i).count('1') + 0.01 * i}" for i in range(64)]
    Path("bits.csv").write_text("\n".join(rows) + "\n")
    Path("six.json").write_text(json.dumps({"n": 6}))
    assert main(["surrogate", "fit", "--table", "bits.csv", "--space-module", "bits.py:BitSpace", "--space-config",
                 "six.json", "--metrics", "acc", "--params", '{"encoding": "onehot"}', "--out", "s1"]) == 0
    return tmp_path


def test_surrogate_eval_takes_the_users_space_module(fitted, capsys):
    """Would fail before: 'manifest.json ... is damaged: unknown search space' (--space-module was read after the
    artifact), then the model check sampled the space with an int seed."""
    assert main(["surrogate", "eval", "s1", "--table", "bits.csv", "--space-module", "bits.py:BitSpace",
                 "--space-config", "six.json", "--strategies", "random", "--trials", "10", "--seeds", "2",
                 "--out", "e1"]) == 0
    assert (fitted / "e1" / "fidelity.json").is_file()


def test_a_users_space_with_other_options_or_none_given_is_named(fitted, capsys):
    Path("five.json").write_text(json.dumps({"n": 5}))
    assert main(["surrogate", "eval", "s1", "--table", "bits.csv", "--space-module", "bits.py:BitSpace",
                 "--space-config", "five.json", "--strategies", "random", "--trials", "10", "--out", "e2"]) == 2
    assert "fitted on space 'bits' with options {'n': 6}, not {'n': 5}" in capsys.readouterr().err
    assert main(["surrogate", "info", "s1"]) == 2
    assert "which is no space registered here" in capsys.readouterr().err
    shutil.rmtree("s1")
