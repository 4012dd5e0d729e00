"""Tabular benchmarks: answer queries about architectures from a table of measured results."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..spaces import Architecture, SearchSpace

_SEED_COLUMN = re.compile(r"^(?P<metric>.+?)[_@-]seed[_-]?(?P<seed>\d+)$")


def read_table(source: Any):
    """A pandas DataFrame from a CSV/CSV.gz/Parquet/JSON path, a DataFrame, or a list of records."""
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        return source
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"benchmark table not found: {path}")
        name = path.name.lower()
        if name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
            return pd.read_csv(path, sep="\t" if ".tsv" in name else ",")
        if name.endswith(".parquet"):
            return pd.read_parquet(path)
        if name.endswith((".json", ".jsonl", ".json.gz")):
            return pd.read_json(path, lines=name.endswith(".jsonl"))
        raise ValueError(f"unsupported table format {path.name!r}: use .csv, .csv.gz, .tsv, .parquet or .json")
    if isinstance(source, Sequence) and (not source or isinstance(source[0], Mapping)):
        return pd.DataFrame.from_records(list(source))
    raise TypeError(f"cannot read a table from {type(source).__name__}")


class TabularBenchmark:
    """Measured metrics for the architectures of a table, looked up by architecture.

    Columns named ``<metric>_seed<k>`` (or ``<metric>@seed<k>``) are grouped per metric: a query
    returns their mean as ``<metric>`` and their spread as ``<metric>_std``; ``query(arch, rng=...)``
    returns one randomly drawn seed's value instead of the mean, like a single training run would.
    """

    def __init__(
        self,
        table: Any,
        space: SearchSpace,
        arch_column: str = "arch",
        metrics: Sequence[str] | None = None,
        aliases: Mapping[str, str] | None = None,
        name: str = "table",
    ) -> None:
        df = read_table(table)
        if arch_column not in df.columns:
            raise ValueError(f"architecture column {arch_column!r} not in table columns {list(df.columns)}")
        self.space = space
        self.name = name
        self.archs: list[Architecture] = []
        self._row: dict[Architecture, int] = {}
        for row, text in enumerate(df[arch_column].astype(str)):
            try:
                arch = space.parse(text)
            except ValueError as exc:
                raise ValueError(f"row {row} of the table: {exc}") from None
            if arch in self._row:
                raise ValueError(f"row {row} repeats architecture {text!r} (first at row {self._row[arch]})")
            self._row[arch] = row
            self.archs.append(arch)

        numeric = [c for c in df.columns if c != arch_column and np.issubdtype(df[c].dtype, np.number)]
        seeds: dict[str, list[str]] = {}
        for col in numeric:
            match = _SEED_COLUMN.match(col)
            if match:
                seeds.setdefault(match.group("metric"), []).append(col)
        plain = [c for c in numeric if not _SEED_COLUMN.match(c)]
        wanted = list(metrics) if metrics is not None else plain + list(seeds)
        unknown = [m for m in wanted if m not in plain and m not in seeds]
        if unknown:
            raise ValueError(f"metric(s) {unknown} not in table; available: {plain + list(seeds)}")

        self._values: dict[str, np.ndarray] = {}
        self._seed_values: dict[str, np.ndarray] = {}
        for metric in wanted:
            if metric in seeds:
                per_seed = df[seeds[metric]].to_numpy(dtype=np.float64)
                self._seed_values[metric] = per_seed
                self._values[metric] = np.nanmean(per_seed, axis=1)
                self._values[f"{metric}_std"] = np.nanstd(per_seed, axis=1)
            else:
                self._values[metric] = df[metric].to_numpy(dtype=np.float64)
        for alias, target in (aliases or {}).items():
            if target not in self._values:
                raise ValueError(f"alias {alias!r} points to unknown metric {target!r}")
            self._values[alias] = self._values[target]
            if target in self._seed_values:
                self._seed_values[alias] = self._seed_values[target]

    # -- lookups -------------------------------------------------------------------------------
    @property
    def metrics(self) -> list[str]:
        return list(self._values)

    @property
    def seed_metrics(self) -> list[str]:
        """Metrics measured over several seeds."""
        return list(self._seed_values)

    def __len__(self) -> int:
        return len(self.archs)

    def __contains__(self, arch: object) -> bool:
        return arch in self._row

    def row(self, arch: Architecture) -> int:
        try:
            return self._row[arch]
        except KeyError:
            text = self.space.format(arch) if isinstance(arch, Architecture) and arch.space == self.space.name else arch
            raise KeyError(f"architecture {text} is not in benchmark {self.name!r} ({len(self)} rows)") from None

    def query(self, arch: Architecture, rng: np.random.Generator | None = None) -> dict[str, float]:
        """All metrics of ``arch``; with ``rng``, seed-level metrics are one drawn seed, not the mean."""
        row = self.row(arch)
        out = {m: float(v[row]) for m, v in self._values.items()}
        if rng is not None:
            for metric, per_seed in self._seed_values.items():
                runs = per_seed[row][~np.isnan(per_seed[row])]
                out[metric] = float(runs[rng.integers(len(runs))])
        return out

    def value(self, arch: Architecture, metric: str) -> float:
        """One metric's (mean) value, the fast path used in simulations."""
        return float(self.values(metric)[self.row(arch)])

    def values(self, metric: str) -> np.ndarray:
        """The metric for every row, aligned with ``self.archs``."""
        try:
            return self._values[metric]
        except KeyError:
            raise KeyError(f"metric {metric!r} not in benchmark; available: {self.metrics}") from None

    def seed_values(self, metric: str) -> np.ndarray:
        """Per-seed values (rows x seeds, NaN where a seed is missing) of a seed-level metric."""
        if metric not in self._seed_values:
            raise KeyError(f"metric {metric!r} has no per-seed columns; seed metrics: {self.seed_metrics}")
        return self._seed_values[metric]

    def optimum(self, metric: str, direction: str = "maximize") -> float:
        values = self.values(metric)
        return float(np.nanmax(values) if direction == "maximize" else np.nanmin(values))

    def best(self, metric: str, direction: str = "maximize") -> Architecture:
        values = self.values(metric)
        return self.archs[int(np.nanargmax(values) if direction == "maximize" else np.nanargmin(values))]

    def to_records(self, metrics: Iterable[str] | None = None) -> list[dict[str, Any]]:
        names = list(metrics) if metrics is not None else self.metrics
        return [{"arch": self.space.format(a), **{m: float(self._values[m][i]) for m in names}}
                for i, a in enumerate(self.archs)]

    def __repr__(self) -> str:
        return f"TabularBenchmark({self.name!r}, space={self.space.name!r}, rows={len(self)}, metrics={self.metrics})"
