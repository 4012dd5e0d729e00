"""A user's own search space for the plug-in tests: n-bit strings whose text form is digits only (``0101``), and an
evaluator on it that reports a curve."""

from __future__ import annotations

import numpy as np

from nasforge import Architecture, SearchSpace


class BitSpace(SearchSpace):
    """An n-bit space, written as a newcomer writes one (docs/spaces.md, writing your own search space)."""

    name = "bits"

    def __init__(self, n: int = 6) -> None:
        self.n = n

    def sample(self, rng):
        return Architecture(self.name, tuple(int(b) for b in rng.integers(0, 2, self.n)))

    def neighbors(self, arch):
        g = arch.genotype
        return [Architecture(self.name, g[:i] + (1 - g[i],) + g[i + 1:]) for i in range(self.n)]

    def parse(self, text):
        if len(text) != self.n or set(text) - {"0", "1"}:
            raise ValueError(f"bad bits {text!r}")
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
        return Architecture(self.name, tuple(int(params[f"b{i}"]) for i in range(self.n)))

    def to_params(self, arch):
        return {f"b{i}": str(b) for i, b in enumerate(arch.genotype)}

    def validate(self, arch):
        if arch.space != self.name or len(arch.genotype) != self.n or set(arch.genotype) - {0, 1}:
            raise ValueError(f"not a {self.n}-bit architecture: {arch!r}")

    @property
    def size(self):
        return 2 ** self.n

    @property
    def is_enumerable(self):
        return True

    def enumerate(self):
        for i in range(2 ** self.n):
            yield self.parse(format(i, f"0{self.n}b"))


def space_module(folder, class_name: str, space_name: str) -> str:
    """Write ``folder/bits_module.py`` defining ``class_name``, a :class:`BitSpace` named ``space_name``, for
    ``--space-module``; returns its ``FILE.py:NAME``."""
    from pathlib import Path

    path = Path(folder) / "bits_module.py"
    path.write_text(f"from bit_spaces import BitSpace\n\n\nclass {class_name}(BitSpace):\n"
                    f"    name = {space_name!r}\n")
    return f"{path}:{class_name}"


class Curve:
    """Reports a rising curve, so a pruner has something to judge."""

    def evaluate(self, arch, fidelity=None, reporter=None):
        final = sum(arch.genotype) / len(arch.genotype)
        for step in range(1, 4):
            reporter.report(step, final * step / 3)
        return {"val_acc": final}
