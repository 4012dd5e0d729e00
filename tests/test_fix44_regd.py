"""Regression review 44 (data): a CIFAR supernet trained with a large val fraction is usable by nasforge search,
gray GIFs, hard and symbolic links and the split messages read as before review 44 where stored data depends on it."""

from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

from nasforge.data import load_dataset
from nasforge.exceptions import UsageError


def _cifar10(folder: Path, rows: int = 20) -> None:
    """A tiny python-version CIFAR-10 in ``folder/cifar-10-batches-py``: ``rows`` images per batch."""
    batches = folder / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (rows, 3072), dtype=np.uint8), b"labels": list(range(10)) * (rows // 10)}
        (batches / name).write_bytes(pickle.dumps(batch, protocol=4))


def test_training_evaluator_counts_cifar_test_fraction_as_held_by_its_test_batch(tmp_path: Path) -> None:
    from nasforge.evaluators.training import TrainingEvaluator

    _cifar10(tmp_path / "c10")
    evaluator = TrainingEvaluator("cifar10", tmp_path / "c10", data_options={"val_fraction": 0.9})
    assert len(evaluator.dataset().y_val) == 90  # 0.9 of the 100 training images; the test batch is its own
    with pytest.raises(UsageError, match=r"data_options val_fraction 0.9 \+ data_options test_fraction 0.1 must be"):
        TrainingEvaluator("digits", data_options={"val_fraction": 0.9})


def test_search_scores_a_cifar_supernet_trained_with_val_fraction_0_9(tmp_path: Path) -> None:
    from nasforge.cli import main

    _cifar10(tmp_path / "c10")
    assert main(["oneshot", "train", "--data", "cifar10", "--data-dir", str(tmp_path / "c10"), "--val-fraction",
                 "0.9", "--epochs", "1", "--C", "2", "--N", "1", "--batch-size", "64", "--out",
                 str(tmp_path / "net")]) == 0
    assert main(["search", "--evaluator", "supernet", "--supernet", str(tmp_path / "net"), "--trials", "2",
                 "--retrain", "0", "--no-progress", "--out", str(tmp_path / "run")]) == 0
