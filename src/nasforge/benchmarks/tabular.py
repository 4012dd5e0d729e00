"""Tabular benchmarks: answer queries about architectures from a table of measured results."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..checks import check_names
from ..exceptions import MissingFileError, UsageError
from ..extras import check_installed
from ..pareto import as_direction
from ..registry import did_you_mean
from ..spaces import Architecture, SearchSpace, as_space

_TABLE_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".parquet", ".json", ".json.gz", ".jsonl")
_SEED_COLUMN = re.compile(r"^(?P<metric>.+?)[_@-]seed[_-]?(?P<seed>\d+)$")


def read_table(source: Any, text_columns: Sequence[str] = ("arch",)):
    """A pandas DataFrame from a CSV/CSV.gz/TSV/Parquet/JSON path, a DataFrame, or a list of records.

    The ``text_columns`` of a CSV, TSV or JSON file are read as text, as written: an architecture's text form made
    only of digits (a bit string ``000101``, a numeric id) keeps its leading zeros instead of becoming a number.
    A file that cannot be read (missing, empty, binary, not really gzip/Parquet/JSON) raises a
    :class:`UsageError` naming the file and what is wrong with it.
    """
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        return source
    if isinstance(source, (str, Path)):
        return _read_file(Path(source), text_columns)
    if isinstance(source, Sequence) and not isinstance(source, str) and all(isinstance(r, Mapping) for r in source):
        return pd.DataFrame.from_records(list(source))
    raise UsageError(f"cannot read a table from a {type(source).__name__}: give a file path, a DataFrame "
                     "or a list of records (dicts)")


def _read_json(path: Path, lines: bool, text: dict[str, type]) -> pd.DataFrame:
    """A JSON (or JSON lines) table with every number as the file writes it: pandas' precise parser (its default
    one is off by an ulp on some decimals, 5.73333 -> 5.7333300000000005), or where a number lies beyond its range
    (a subnormal such as 4e-320, or 1e400) Python's own, exact for every double (1e400 as inf)."""
    import gzip

    import pandas as pd

    from ..jsonfiles import loads

    try:
        return pd.read_json(path, lines=lines, dtype=text, precise_float=True)
    except ValueError as exc:
        if "Range error" not in str(exc):
            raise
    with (gzip.open if path.name.lower().endswith(".gz") else open)(path, "rt", encoding="utf-8") as file:
        records = [loads(line) for line in file if line.strip()] if lines else loads(file.read())
    frame = pd.DataFrame(records)
    return frame.astype({column: str for column in text if column in frame.columns})


def _read_file(path: Path, text_columns: Sequence[str] = ("arch",)):
    import gzip
    import zlib

    import pandas as pd

    if not path.exists():
        raise MissingFileError(f"benchmark table not found: {path}")
    if not path.is_file():
        raise UsageError(f"benchmark table {path} is not a file")
    name = path.name.lower()
    if not name.endswith(_TABLE_SUFFIXES):
        raise UsageError(f"unsupported table format of {path}: use {', '.join(_TABLE_SUFFIXES)}")
    if path.stat().st_size == 0:
        raise UsageError(f"benchmark table {path} is an empty file")
    if name.endswith(".parquet"):
        check_installed(("pyarrow",), f"reading the Parquet table {path}")
    try:
        if name.endswith(".parquet"):
            return pd.read_parquet(path)
        text = {column: str for column in text_columns}
        if ".json" in name:
            return _read_json(path, name.endswith(".jsonl"), text)
        return pd.read_csv(path, sep="\t" if ".tsv" in name else ",", dtype=text)
    except pd.errors.EmptyDataError:
        raise UsageError(f"benchmark table {path} has no header and no rows") from None
    except gzip.BadGzipFile:
        raise UsageError(f"benchmark table {path} ends in .gz but is not a gzip file") from None
    except (EOFError, zlib.error):
        raise UsageError(f"benchmark table {path} is a truncated or damaged gzip file") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"benchmark table {path} is not UTF-8 text (binary byte at position {exc.start}); "
                         "give a CSV, TSV, JSON or Parquet table") from None
    except ImportError as exc:
        raise UsageError(f"reading {path} needs an optional package: {exc}") from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:  # pandas/pyarrow parse errors
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise UsageError(f"benchmark table {path} cannot be read: {reason}") from None


class UnknownMetricError(UsageError, KeyError):
    """A metric the benchmark does not hold (also a ``KeyError``, which lookups raised before)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ArchNotInTableError(UsageError, KeyError):
    """An architecture the benchmark holds no row for, or no architecture of its space (also a ``KeyError``, which
    lookups raised before)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


ROW_NUMBERS = "1 = the first row after the header"
"""How the row numbers of table errors count: data rows from 1 (0-based indices plus one)."""


def data_rows(indices: Sequence[int], explain: bool = True) -> str:
    """0-based row indices of a table as data rows counted from 1 ("data row 3", "data rows 3, 17"), followed by
    how they count unless ``explain`` is False (for a message naming rows twice, which appends :data:`ROW_NUMBERS`
    once itself)."""
    shown = [int(i) + 1 for i in indices]
    rows = f"data row {shown[0]}" if len(shown) == 1 else f"data rows {_short(shown)}"
    return f"{rows} ({ROW_NUMBERS})" if explain else rows


def _short(items: Sequence[Any], limit: int = 10) -> str:
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")


class TabularBenchmark:
    """Measured metrics for the architectures of a table, looked up by architecture.

    ``table`` is anything :func:`read_table` reads, ``space`` the architectures' space (or its name) and ``metrics``
    the metric columns to keep (a name or a list of names; default: every numeric column but ``arch_column``).
    Columns named ``<metric>_seed<k>`` (or ``<metric>@seed<k>``) are grouped per metric: a query
    returns their mean as ``<metric>`` and their spread as ``<metric>_std``; ``query(arch, rng=...)``
    returns one randomly drawn seed's values instead of the means, like a single training run would (one seed
    number for every metric of the query that has it). A plain ``<metric>`` (or ``<metric>_std``) column beside
    the seed columns (a mean plus per-seed layout) is kept as the metric's value (its spread): the seed columns
    then serve noisy queries (and the spread, where the table has no ``_std`` column). There, a row whose seed cells
    are all blank has no per-seed values (its mean answers noisy queries too; its spread is NaN); a row with neither
    is refused, naming it.

    An architecture without a row of its own is found through its canonical form (the space's ``canonical_key``):
    a table may hold one row per distinct network, and a duplicate of one answers with that network's numbers.
    """

    def __init__(
        self,
        table: Any,
        space: SearchSpace | str,
        arch_column: str = "arch",
        metrics: str | Sequence[str] | None = None,
        aliases: Mapping[str, str] | None = None,
        name: str | None = None,
    ) -> None:
        space = as_space(space)  # a bad space or metrics is refused before the table is read
        if metrics is not None:
            metrics = check_names("metrics", metrics)  # one name alone is one metric
        df = read_table(table, text_columns=(arch_column,))
        if name is None:
            name = Path(table).name if isinstance(table, (str, Path)) else "table"
        if arch_column not in df.columns:
            raise UsageError(f"architecture column {arch_column!r} not in table {name!r}; columns: "
                             f"{_short([str(c) for c in df.columns])}")
        if len(df) == 0:
            raise UsageError(f"table {name!r} has a header but no rows")
        self.space = space
        self.name = name
        self.aliases: dict[str, str] = dict(aliases or {})  # alias -> the metric it names (load_nb201's val_acc)
        self.archs: list[Architecture] = []
        self._row: dict[Architecture, int] = {}
        self._canonical_rows: dict[Any, int] | None = None  # canonical key -> first row, built at the first miss
        for row, text in enumerate(df[arch_column].astype(str)):
            try:
                arch = space.parse(text)
            except ValueError as exc:
                raise UsageError(f"{data_rows([row])} of table {name!r} (column {arch_column!r}): {exc}") from None
            if arch in self._row:
                raise UsageError(f"{data_rows([row], explain=False)} of table {name!r} repeats architecture {text!r} "
                                 f"(first at {data_rows([self._row[arch]], explain=False)}; {ROW_NUMBERS})")
            self._row[arch] = row
            self.archs.append(arch)

        numeric, self.text_columns = _numeric_columns(df, arch_column, name)
        seeds: dict[str, list[str]] = {}
        for col in numeric:
            match = _SEED_COLUMN.match(col)
            if match:
                seeds.setdefault(match.group("metric"), []).append(col)
        plain = [c for c in numeric if not _SEED_COLUMN.match(c)]
        wanted = metrics if metrics is not None else plain + [m for m in seeds if m not in plain]
        unknown = [m for m in wanted if m not in plain and m not in seeds]
        if unknown:
            text = [m for m in unknown if m in self.text_columns]
            raise UsageError(f"metric(s) {unknown} not in table {name!r}"
                             + (f" (column(s) {text} are not numeric)" if text else
                                did_you_mean(unknown[0], plain + list(seeds)))
                             + f"; available: {plain + list(seeds)}")
        if not wanted:
            raise UsageError(f"table {name!r} has no numeric metric column besides {arch_column!r}"
                             + (f"; non-numeric columns: {_short(self.text_columns)}" if self.text_columns else ""))

        self._values: dict[str, np.ndarray] = {}
        self._seed_values: dict[str, np.ndarray] = {}
        self._seed_ids: dict[str, list[int]] = {}  # the seed number k of each per-seed column
        for metric in wanted:
            if metric in seeds:  # a plain column of the metric (or its _std) stays its value: never replaced
                per_seed = df[seeds[metric]].to_numpy(dtype=np.float64)
                # blank seed cells beside a mean column: that row has no per-seed values (its mean is checked below)
                _check_finite(per_seed, seeds[metric], name, allow_nan=True, allow_empty=metric in plain)
                self._seed_values[metric] = per_seed
                self._seed_ids[metric] = [int(_SEED_COLUMN.match(c).group("seed")) for c in seeds[metric]]
                if metric not in plain:
                    self._values[metric] = _row_stat(np.nanmean, per_seed)
                if f"{metric}_std" not in plain:
                    self._values[f"{metric}_std"] = _row_stat(np.nanstd, per_seed)
            if metric in plain:
                values = df[metric].to_numpy(dtype=np.float64)
                _check_finite(values[:, None], [metric], name)
                self._values[metric] = values
        for alias, target in (aliases or {}).items():
            if target not in self._values:
                raise UsageError(f"alias {alias!r} points to metric {target!r}, which table {name!r} lacks; "
                                 f"available: {self.metrics}")
            self._values[alias] = self._values[target]
            if target in self._seed_values:
                self._seed_values[alias], self._seed_ids[alias] = self._seed_values[target], self._seed_ids[target]
            if f"{target}_std" in self._values and f"{alias}_std" not in self._values:
                self._values[f"{alias}_std"] = self._values[f"{target}_std"]

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
        try:
            self.row(arch)  # type: ignore[arg-type]
        except UsageError:  # not held, or text that is no architecture of the space
            return False
        return True

    def _parsed(self, arch: Any) -> Any:
        """``arch``, with a string read as the space's text form (UsageError if it is not one)."""
        if not isinstance(arch, str):
            return arch
        try:
            return self.space.parse(arch)
        except ValueError as exc:
            raise UsageError(f"{arch!r} is not an architecture of space {self.space.name!r}: {exc}") from None

    def row(self, arch: Architecture | str) -> int:
        """The table row of ``arch`` (an Architecture or its text form in the space)."""
        try:  # another space's architecture, a bare genotype or text that is none: a KeyError too, as it was
            arch = self.space._own(self._parsed(arch))
        except UsageError as exc:
            raise ArchNotInTableError(str(exc)) from None
        row = self._row.get(arch)
        if row is None:
            row = self._canonical_row(arch)
        if row is None:
            try:
                text = self.space.format(arch)  # validates first: an invalid genotype is named as such
            except UsageError as exc:
                raise ArchNotInTableError(str(exc)) from None
            raise ArchNotInTableError(f"architecture {text} is not in benchmark {self.name!r} "
                                      f"({len(self)} rows), nor any architecture of its canonical form")
        return row

    def _canonical_row(self, arch: Architecture) -> int | None:
        """The row of an architecture with the canonical form of ``arch`` (the same network), None if none."""
        if self._canonical_rows is None:
            self._canonical_rows = {}
            for row, held in enumerate(self.archs):
                self._canonical_rows.setdefault(self.space.canonical_key(held), row)
        try:
            key = self.space.canonical_key(arch)
        except (ValueError, TypeError, KeyError, IndexError):  # an invalid genotype has no canonical form
            return None
        return self._canonical_rows.get(key)

    def query(self, arch: Architecture | str, rng: np.random.Generator | None = None) -> dict[str, float]:
        """All metrics of ``arch`` (an Architecture or its text form); with ``rng``, seed-level metrics are
        one drawn seed's values, not the means. One seed number is drawn per query among the seeds any metric
        measured on this row; every metric measured with that seed takes its value (aliases equal their targets),
        and a metric without it draws among its own seeds, so each metric stays a random seed's value."""
        row = self.row(arch)
        out = {m: float(v[row]) for m, v in self._values.items()}
        if rng is not None and self._seed_values:
            measured = {m: sorted(k for k, v in zip(self._seed_ids[m], per_seed[row]) if not np.isnan(v))
                        for m, per_seed in self._seed_values.items()}
            labels = sorted(set().union(*measured.values()))
            seed = labels[rng.integers(len(labels))] if labels else None
            for metric, seeds in measured.items():
                if not seeds:  # a row of a mean column without per-seed values keeps its mean
                    continue
                k = seed if seed in seeds else seeds[rng.integers(len(seeds))]
                out[metric] = float(self._seed_values[metric][row][self._seed_ids[metric].index(k)])
        return out

    def value(self, arch: Architecture | str, metric: str) -> float:
        """One metric's (mean) value, the fast path used in simulations."""
        return float(self.values(metric)[self.row(arch)])

    def values(self, metric: str) -> np.ndarray:
        """The metric for every row, aligned with ``self.archs``."""
        try:
            return self._values[metric]
        except (KeyError, TypeError):
            raise UnknownMetricError(f"metric {metric!r} not in benchmark {self.name!r}; available: "
                                     f"{self.metrics}") from None

    def seed_values(self, metric: str) -> np.ndarray:
        """Per-seed values (rows x seeds, NaN where a seed is missing) of a seed-level metric."""
        if metric not in self._seed_values:
            raise UnknownMetricError(f"metric {metric!r} has no per-seed columns; seed metrics: {self.seed_metrics}")
        return self._seed_values[metric]

    def optimum(self, metric: str, direction: str = "maximize") -> float:
        """The best value of ``metric`` in the table; ``direction`` is "maximize" or "minimize" (or max/min)."""
        values = self.values(metric)
        return float(np.nanmax(values) if _check_direction(direction) == "maximize" else np.nanmin(values))

    def best(self, metric: str, direction: str = "maximize") -> Architecture:
        """The architecture with the best value of ``metric``; ``direction`` is "maximize" or "minimize"."""
        values = self.values(metric)
        maximize = _check_direction(direction) == "maximize"
        return self.archs[int(np.nanargmax(values) if maximize else np.nanargmin(values))]

    def __repr__(self) -> str:
        return f"TabularBenchmark({self.name!r}, space={self.space.name!r}, rows={len(self)}, metrics={self.metrics})"


MINIMIZED_WORDS = ("loss", "error")
"""A metric whose name has one of these as a part (any case, parts split at ``_``, ``-``, ``.``, spaces:
and at camelCase humps: ``val_loss``, ``top1-error``, ``valLoss``; not ``lossless_acc``) is minimized unless told."""


def minimized_word(metric: str) -> str | None:
    """The word of :data:`MINIMIZED_WORDS` that is a part of ``metric``'s name (any case; camelCase words are parts
    too: ``valLoss``), None if none."""
    import re

    parts = set(re.split(r"[_\-.\s]+", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(metric)).lower()))
    return next((word for word in MINIMIZED_WORDS if word in parts), None)


def objective_direction(metric: str, direction: Any = None) -> str:
    """The direction ``metric`` is optimized in: ``direction`` as :func:`~nasforge.pareto.as_direction` takes it
    (max/min too, any case), or where it is None, the metric's name decides: "minimize" for a name with a part "loss"
    or "error" (:func:`minimized_word`), else "maximize". The one rule of ``compare``, ``fidelity_report`` and
    ``nasforge bench``/``surrogate eval``."""
    if direction is not None:
        return as_direction(direction)
    return "minimize" if minimized_word(metric) else "maximize"


def _check_direction(direction: Any) -> str:
    """"maximize" or "minimize" for ``direction`` spelled as :func:`~nasforge.pareto.as_direction` takes it (max/min
    too, any case), else a ``UsageError`` (never a silent minimize)."""
    return as_direction(direction)


def _numeric_columns(df: Any, arch_column: str, name: str) -> tuple[list[str], list[str]]:
    """The numeric metric columns and the others (text, True/False flags). A text column that is mostly numbers
    is a damaged metric column: an error naming the rows that are not numbers."""
    import pandas as pd

    numeric, text = [], []
    for col in df.columns:
        if col == arch_column:
            continue
        series = df[col]
        if np.issubdtype(series.dtype, np.number) and series.dtype != bool:
            numeric.append(str(col))
            continue
        if pd.api.types.infer_dtype(series, skipna=True) == "boolean":  # a flag (True/False), not a metric
            text.append(str(col))
            continue
        parsed = pd.to_numeric(series, errors="coerce")
        bad = np.flatnonzero(parsed.isna().to_numpy() & series.notna().to_numpy())
        if 0 < len(bad) < parsed.notna().sum():  # mostly numbers: a metric with a few bad cells
            examples = ", ".join(f"{data_rows([i], explain=False)}: {str(series.iloc[i])[:20]!r}" for i in bad[:3])
            raise UsageError(f"column {col!r} of table {name!r} is numeric except {len(bad)} cell(s) ({examples}; "
                             f"{ROW_NUMBERS})")
        text.append(str(col))
    return numeric, text


def _row_stat(stat: Any, per_seed: np.ndarray) -> np.ndarray:
    """``stat`` (np.nanmean, np.nanstd) of each row's seed values; NaN for a row without any (and no warning)."""
    out = np.full(len(per_seed), np.nan)
    have = ~np.isnan(per_seed).all(axis=1)
    out[have] = stat(per_seed[have], axis=1)
    return out


def _check_finite(values: np.ndarray, columns: Sequence[str], name: str, allow_nan: bool = False,
                  allow_empty: bool = False) -> None:
    """Raise a UsageError naming the rows and columns holding inf (or NaN unless ``allow_nan``; with
    ``allow_nan``, a row must still have one value unless ``allow_empty``)."""
    bad = np.isinf(values) if allow_nan else ~np.isfinite(values)
    rows = np.flatnonzero(bad.any(axis=1))
    if rows.size:
        cols = [c for j, c in enumerate(columns) if bad[:, j].any()]
        kind = "inf" if allow_nan else "NaN/inf (missing or non-finite)"
        raise UsageError(f"table {name!r}: column(s) {cols} hold {kind} values in {data_rows(rows.tolist())}; "
                         "fix or drop those rows")
    if allow_nan and not allow_empty:
        empty = np.flatnonzero(np.isnan(values).all(axis=1))
        if empty.size:
            have = "has" if empty.size == 1 else "have"
            raise UsageError(f"table {name!r}: {data_rows(empty.tolist())} {have} no value "
                             f"in any of the seed columns {list(columns)}; fix or drop those rows")
