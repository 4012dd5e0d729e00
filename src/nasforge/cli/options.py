"""Command-line options shared by several commands."""

from __future__ import annotations

import argparse

from . import UsageError


def add_table_arguments(p: argparse.ArgumentParser) -> None:
    """Options that pick a tabular benchmark (bench, predictors, surrogate)."""
    p.add_argument("--table", help="CSV/CSV.gz/Parquet table (default: the NAS-Bench-201 table in ../shared/data)")
    p.add_argument("--space", default="nb201", help="search space of --table (default: nb201)")
    p.add_argument("--arch-column", default="arch", help="column holding architecture strings")
    p.add_argument("--dataset", default="cifar10", help="NAS-Bench-201 data set: cifar10, cifar100, imagenet")


def load_table(args: argparse.Namespace):
    """The ``TabularBenchmark`` named by ``add_table_arguments`` options."""
    from ..benchmarks import TabularBenchmark, load_nb201
    from ..spaces import get_space

    if args.space == "nb201":
        return load_nb201(args.table, dataset=args.dataset)
    if args.table is None:
        raise UsageError(f"--table is required for space {args.space!r}")
    return TabularBenchmark(args.table, get_space(args.space), arch_column=args.arch_column, name=args.table)


def int_list(text: str, option: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"{option} must be comma-separated integers, got {text!r}") from None
    if not values:
        raise UsageError(f"{option} is empty")
    return values
