"""A small CNN for the digits data set with 4 searchable decisions, written as a plain PyTorch module.

Decisions: ``stem`` (the first layer: 3x3 conv, 5x5 conv or 3x3 separable conv), ``width`` (channels),
``depth`` (how many 3x3 conv blocks follow the stem) and ``pool`` (average or max pooling before the head).
144 architectures from about 2k to 225k parameters.

Run the main two-stage job on it (search at low fidelity, retrain the front)::

    nasforge search --space-module examples/digits_cnn.py:DigitsCNN

or this file, a short multi-objective search in Python (about 1 minute on 2 CPU cores shared with other work)::

    python examples/digits_cnn.py --trials 20 --epochs 3

It needs PyTorch: ``pip install 'nasforge[torch]'`` (the ``nasforge search`` line above:
``pip install 'nasforge[torch,sql,report]'``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from torch import nn

from nasforge.spaces.model_space import LayerChoice, Repeat, ValueChoice


def conv_bn(c_in: int, c_out: int, kernel: int, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class DigitsCNN(nn.Module):
    """stem -> ``depth`` x (3x3 conv, BN, ReLU) -> 2x2 pooling -> 3x3 conv at twice the width -> linear head."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        width = ValueChoice([8, 16, 24, 32, 48, 64], label="width")
        self.stem = LayerChoice({
            "conv3": lambda: conv_bn(in_channels, width, 3),
            "conv5": lambda: conv_bn(in_channels, width, 5),
            "sep3": lambda: nn.Sequential(conv_bn(in_channels, in_channels, 3, groups=in_channels),
                                          conv_bn(in_channels, width, 1)),
        }, label="stem")
        self.blocks = Repeat(lambda i: conv_bn(width, width, 3), depth=ValueChoice([1, 2, 3, 4], label="depth"))
        self.pool = LayerChoice({"avg": nn.AvgPool2d(2), "max": nn.MaxPool2d(2)}, label="pool")
        self.head = nn.Sequential(conv_bn(width, 2 * width, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(2 * width, num_classes))

    def forward(self, x):
        return self.head(self.pool(self.blocks(self.stem(x))))


def at_least(low: int, below: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer >= ``low`` (and < ``below``, if given); anything else stops with the option
    named (exit status 2)."""
    def integer(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        if below is not None and value >= below:
            raise argparse.ArgumentTypeError(f"must be < {below}, got {value}")
        return value
    return integer


def main(argv: list[str] | None = None) -> list[tuple[str, float, int]]:
    """A multi-objective search (validation accuracy vs parameters); returns the front as (arch, val %, params)."""
    from nasforge.experiment import Study
    from nasforge.spaces.model_space import ModelSpace

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="example: python examples/digits_cnn.py --trials 20 --epochs 3",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--trials", type=at_least(1), default=20, help="architectures to train and evaluate")
    parser.add_argument("--epochs", type=at_least(1), default=3, help="training epochs per architecture")
    parser.add_argument("--seed", type=at_least(0, below=2**63), default=0, help="seed of the search and of training")
    args = parser.parse_args(argv)

    space = ModelSpace(DigitsCNN, input_shape=(1, 8, 8))
    print(space, "e.g.", space.format(space.default))
    evaluator = space.evaluator("digits", train={"epochs": args.epochs}, seed=args.seed, latency_repeats=3)
    study = Study(space, "mo_evolution", objectives=["val_acc", "params"], directions=["maximize", "minimize"],
                  seed=args.seed)
    study.optimize(evaluator, n_trials=args.trials)
    front = sorted(((space.format(t.arch), t.metrics["val_acc"], int(t.metrics["params"]))
                    for t in study.pareto_front()), key=lambda row: row[2])
    for arch, acc, params in front:
        print(f"{params:>8,d} params  {acc:5.1f}% val  {arch}")
    return front


if __name__ == "__main__":
    main()
