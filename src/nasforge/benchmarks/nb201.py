"""Loader for NAS-Bench-201 result tables (official cell strings, accuracies per data set)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..checks import check_names
from ..exceptions import UsageError
from ..spaces import NASBench201Space
from .data_files import find_data_file
from .tabular import _SEED_COLUMN, TabularBenchmark, read_table

NB201_DATASETS = ("cifar10", "cifar100", "imagenet")
NB201_DEFAULT_FILE = "nb201_hp12.csv.gz"
_TABLE_OPTIONS = ("arch_column", "metrics")  # the TabularBenchmark keywords ``**kwargs`` may carry
_ID_COLUMN = "index"  # the official file's architecture index: an identifier, not a metric


def load_nb201(
    path: Any = None, dataset: str = "cifar10", canonical_rule: str = "network", name: str | None = None,
    **kwargs: Any,
) -> TabularBenchmark:
    """A NAS-Bench-201 table: ``path`` (a file, DataFrame or records; default ``nb201_hp12.csv.gz``
    from the shared data folder).

    Where the table has the official columns (``cifar10-val`` ...), ``val_acc`` and ``test_acc``
    alias the chosen ``dataset``'s validation and test accuracy (in percent); a table of your own
    with other metric names keeps just its own columns. For ``cifar10`` they are two training runs of each cell:
    ``cifar10-val`` the ``cifar10-valid`` run (trained on 25k training images, scored on the other 25k),
    ``cifar10-test`` the ``cifar10`` run (trained on train+valid, 50k, scored on the test set; 7 points higher on
    average in the default table); for ``cifar100`` and ``imagenet`` both are one run, scored on the two halves of its
    evaluation set. An ``index`` column is an identifier, not a metric
    (unless ``metrics`` names it); in the official file it is the row number :meth:`TabularBenchmark.row`
    returns. ``kwargs``: ``arch_column`` and ``metrics``, passed to :class:`TabularBenchmark`.
    """
    unknown = sorted(set(kwargs) - set(_TABLE_OPTIONS))
    if unknown:
        raise UsageError(f"load_nb201 got unknown keyword argument(s) {unknown}; it takes path, dataset, "
                         f"canonical_rule, name, {', '.join(_TABLE_OPTIONS)}")
    if dataset not in NB201_DATASETS:
        raise UsageError(f"unknown NAS-Bench-201 dataset {dataset!r}; choose from {list(NB201_DATASETS)}")
    space = NASBench201Space(canonical_rule)  # a bad rule is refused before the table is read
    wanted = kwargs.get("metrics")
    if wanted is not None:
        kwargs["metrics"] = wanted = check_names("metrics", wanted)  # one name alone is one metric
    source = find_data_file(NB201_DEFAULT_FILE) if path is None else path
    frame = read_table(source)
    if _ID_COLUMN in frame.columns and _ID_COLUMN not in (kwargs.get("arch_column"), *(wanted or ())):
        frame = frame.drop(columns=_ID_COLUMN)
    metrics = {str(c) for c in frame.columns} | {m.group("metric") for c in frame.columns
                                                  if (m := _SEED_COLUMN.match(str(c)))}
    aliases = {alias: target for alias, target in (("val_acc", f"{dataset}-val"), ("test_acc", f"{dataset}-test"))
               if target in metrics and alias not in metrics and (wanted is None or target in wanted)}
    if name is None:
        name = f"nb201-{Path(source).name.split('.')[0]}-{dataset}" if isinstance(source, (str, Path)) else "nb201"
    return TabularBenchmark(frame, space, arch_column=kwargs.pop("arch_column", "arch"),
                            aliases=aliases, name=name, **kwargs)
