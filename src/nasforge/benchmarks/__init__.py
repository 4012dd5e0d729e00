"""Tabular benchmarks and fitted surrogate benchmarks."""

from .data_files import find_data_file
from .nb201 import load_nb201
from .surrogate import NoiseModel, SurrogateBenchmark
from .tabular import TabularBenchmark, read_table

__all__ = ["NoiseModel", "SurrogateBenchmark", "TabularBenchmark", "find_data_file", "load_nb201", "read_table"]
