"""Shared fixtures: the NAS-Bench-201 table from ../shared/data (skipped with a reason when absent)."""

from __future__ import annotations

import pytest

from nasforge.benchmarks import find_data_file, load_nb201


@pytest.fixture(scope="session")
def nb201_table():
    try:
        find_data_file("nb201_hp12.csv.gz")
    except FileNotFoundError as exc:
        pytest.skip(f"NAS-Bench-201 table not available: {exc}")
    return load_nb201()
