"""Shared fixtures: the NAS-Bench-201 table from ../shared/data (skipped with a reason when absent), and
torch limited to one thread for tests of tiny networks."""

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


@pytest.fixture
def torch_one_thread():
    """Tiny networks run fastest on one thread (and do not fight other processes for cores)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
