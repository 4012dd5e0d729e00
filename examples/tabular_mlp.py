"""An MLP for tabular data (scikit-learn's breast-cancer set) with depth, width and activation choices.

Decisions: ``depth`` (0-2 hidden layers after the first, so 1-3 in all), one ``width`` shared by every hidden
layer, ``activation`` (relu, tanh, gelu) and ``dropout``. The 30 features are standardized with the training
split's statistics and held as (1, 1, 30) "images", so nasforge's trainer and evaluator work unchanged (about
15 seconds on 2 CPU cores shared with other work)::

    python examples/tabular_mlp.py --trials 12 --epochs 20

It needs PyTorch: ``pip install 'nasforge[torch]'``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from torch import nn

from nasforge.spaces.model_space import Repeat, ValueChoice

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}


class TabularMLP(nn.Module):
    """Flatten -> (linear, activation, dropout) -> ``depth`` (0-2) more x (linear, activation, dropout) -> linear
    classifier: 1-3 hidden layers in all."""

    def __init__(self, n_features: int = 30, num_classes: int = 2) -> None:
        super().__init__()
        width = ValueChoice([16, 32, 64, 128], label="width")
        act = ACTIVATIONS[ValueChoice(list(ACTIVATIONS), label="activation")]
        dropout = ValueChoice([0.0, 0.2], label="dropout")
        self.body = nn.Sequential(
            nn.Flatten(), nn.Linear(n_features, width), act(), nn.Dropout(dropout),
            Repeat(lambda i: nn.Sequential(nn.Linear(width, width), act(), nn.Dropout(dropout)),
                   depth=[0, 1, 2], label="depth"))
        self.head = nn.Linear(width, num_classes)

    def forward(self, x):
        return self.head(self.body(x))


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


def load_breast_cancer_data(seed: int = 0):
    """scikit-learn's breast-cancer set (569 samples, 30 features, 2 classes), split 60/20/20 and standardized."""
    import numpy as np
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    from nasforge.data import from_arrays

    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_rest, y_train, y_rest = train_test_split(x, y, test_size=0.4, stratify=y, random_state=seed)
    x_val, x_test, y_val, y_test = train_test_split(x_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=seed)
    mean, std = x_train.mean(0), x_train.std(0) + 1e-8
    split = [(((a - mean) / std).astype(np.float32)[:, None, :], b)
             for a, b in ((x_train, y_train), (x_val, y_val), (x_test, y_test))]
    return from_arrays("breast_cancer", *split, num_classes=2, augment="none", scale=1.0)


def main(argv: list[str] | None = None) -> tuple[str, float, float]:
    """Regularized evolution on validation accuracy; returns (best arch, its val %, its test %)."""
    from nasforge.experiment import Study
    from nasforge.spaces.model_space import ModelSpace

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="example: python examples/tabular_mlp.py --trials 12 --epochs 20",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--trials", type=at_least(1), default=12, help="architectures to train and evaluate")
    parser.add_argument("--epochs", type=at_least(1), default=20, help="training epochs per architecture")
    parser.add_argument("--seed", type=at_least(0, below=2**32), default=0,  # scikit-learn's random_state limit
                        help="seed of the data split, search and training")
    args = parser.parse_args(argv)

    data = load_breast_cancer_data(args.seed)
    space = ModelSpace(TabularMLP, input_shape=tuple(data.x_train.shape[1:]))
    print(space, data)
    evaluator = space.evaluator(data, train={"epochs": args.epochs, "lr": 0.05}, seed=args.seed, latency_repeats=3)
    study = Study(space, "evolution", objectives="val_acc", directions="maximize", seed=args.seed,
                  population_size=6, sample_size=3)
    study.optimize(evaluator, n_trials=args.trials)
    best = study.best_trial
    arch = space.format(best.arch)
    print(f"best: {arch}: {best.metrics['val_acc']:.1f}% val, {best.metrics['test_acc']:.1f}% test, "
          f"{int(best.metrics['params']):,d} params")
    return arch, best.metrics["val_acc"], best.metrics["test_acc"]


if __name__ == "__main__":
    main()
