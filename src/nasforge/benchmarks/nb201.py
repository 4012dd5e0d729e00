"""Loader for NAS-Bench-201 result tables (official cell strings, accuracies per data set)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..spaces import NASBench201Space
from .data_files import find_data_file
from .tabular import TabularBenchmark

NB201_DATASETS = ("cifar10", "cifar100", "imagenet")
NB201_DEFAULT_FILE = "nb201_hp12.csv.gz"


def load_nb201(
    path: str | Path | None = None, dataset: str = "cifar10", canonical_rule: str = "functional", **kwargs: Any
) -> TabularBenchmark:
    """The NAS-Bench-201 table (default: ``nb201_hp12.csv.gz`` from the shared data folder).

    Besides the raw columns (``cifar10-val`` ...), ``val_acc`` and ``test_acc`` alias the chosen
    ``dataset``'s validation and test accuracy (in percent).
    """
    if dataset not in NB201_DATASETS:
        raise ValueError(f"unknown NAS-Bench-201 dataset {dataset!r}; choose from {list(NB201_DATASETS)}")
    source = Path(path) if path is not None else find_data_file(NB201_DEFAULT_FILE)
    aliases = {"val_acc": f"{dataset}-val", "test_acc": f"{dataset}-test"}
    return TabularBenchmark(
        source, NASBench201Space(canonical_rule), arch_column="arch", aliases=aliases,
        name=f"nb201-{source.name.split('.')[0]}-{dataset}", **kwargs,
    )
