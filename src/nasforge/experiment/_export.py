"""A study's trials as a pandas DataFrame or as strict JSON data (NaN and infinities become null)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .trial import Trial

ArchText = Callable[[Trial], str]
"""The text form of a trial's architecture."""


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None, so ``json.dumps(allow_nan=False)`` works."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


BOOKKEEPING = ("number", "state", "arch", "cost", "error", "retry_of", "attempts", "worker", "n_intermediate",
               "started_at", "finished_at", "fidelity", "told_to_strategy")
METRIC_PREFIX, ATTR_PREFIX = "metric_", "user_attrs_"


def metric_column(name: str) -> str:
    """The dataframe column of the metric ``name``: the name itself, or ``metric_NAME`` when it is a bookkeeping
    column's name or starts with ``metric_`` or ``user_attrs_``; so no two metrics, and no metric and another
    column, ever share a column."""
    clashes = name in BOOKKEEPING or name.startswith((METRIC_PREFIX, ATTR_PREFIX))
    return METRIC_PREFIX + name if clashes else name


def trials_columns(metrics: Iterable[str]) -> list[str]:
    """The columns of :func:`trials_dataframe` before any ``user_attrs_KEY`` one, for trials with these
    ``metrics``: number, state and arch, the metrics (:func:`metric_column`), then the other bookkeeping columns
    (e.g. the header of a CSV export of no trials)."""
    return [*BOOKKEEPING[:3], *map(metric_column, metrics), *BOOKKEEPING[3:]]


def metric_names(objectives: Sequence[str], trials: Sequence[Trial]) -> list[str]:
    """The metrics a study knows: its objectives, then the other metrics of ``trials`` in the order they first
    appear (so every export of the study has the same metric columns, whichever of its trials it shows)."""
    return list(dict.fromkeys([*objectives, *(name for t in trials for name in t.metrics)]))


def json_text(value: Any) -> Any:
    """A dict or list as JSON text (keys sorted, e.g. ``{"epochs": 4}``), so a CSV cell holds JSON rather than a
    Python repr; other values as they are."""
    return json.dumps(json_safe(value), sort_keys=True) if isinstance(value, (dict, list)) else value


def trials_dataframe(trials: Sequence[Trial], arch_text: ArchText, metrics: Sequence[str] = ()):
    """One row per trial: number, state, arch (text), metrics (a column for each of ``metrics``, e.g. the
    objectives, whether or not a trial shown has it, then the trials' other metrics), cost, error, retry link (a
    nullable integer), attempts, the number of intermediate values (the curves themselves are in
    :func:`study_json`), times, fidelity (JSON text such as ``{"epochs": 4}``, None without one), whether the
    outcome was told to the strategy (``Trial.told``: False for enqueued trials kept from it, failed attempts that
    were retried and unfinished trials), ``user_attrs_KEY`` columns (a dict or list value as JSON text; a column of
    integers, e.g. ``source_trial``, a nullable integer). A metric named like one of the bookkeeping columns
    (``BOOKKEEPING``, e.g. a metric ``cost``), or starting with ``metric_`` or ``user_attrs_``, is the column
    ``metric_NAME`` (:func:`metric_column`), so no column hides another."""
    import pandas as pd

    rows = []
    for t in trials:
        values = {metric_column(k): v for k, v in t.metrics.items()}
        rows.append({"number": t.number, "state": t.state.value, "arch": arch_text(t),
                     **values, "cost": t.cost, "error": t.error, "retry_of": t.retry_of,
                     "attempts": t.attempts, "worker": t.worker, "n_intermediate": len(t.intermediate),
                     "started_at": t.started_at, "finished_at": t.finished_at, "fidelity": json_text(t.fidelity),
                     "told_to_strategy": t.told,
                     **{ATTR_PREFIX + k: json_text(v) for k, v in t.user_attrs.items()}})
    attrs = dict.fromkeys(column for row in rows for column in row if column.startswith(ATTR_PREFIX))
    frame = pd.DataFrame(rows, columns=[*trials_columns(metric_names(metrics, trials)), *attrs])
    for column in ["retry_of", *(c for c in frame if c.startswith(ATTR_PREFIX))]:  # None beside integers: not 1.0
        values = [v for row in rows if (v := row.get(column)) is not None]
        if values and all(isinstance(v, int) and not isinstance(v, bool) and -2 ** 63 <= v < 2 ** 63 for v in values):
            frame[column] = frame[column].astype("Int64")
    return frame


def study_json(header: Mapping[str, Any], trials: Sequence[Trial], arch_text: ArchText) -> dict[str, Any]:
    """The study (``header``: name, space, strategy, objectives, directions, seed, user_attrs) and all its trials
    as strict JSON data (NaN/inf metrics are None)."""
    return json_safe({
        **header,
        "trials": [{"number": t.number, "state": t.state.value, "arch": arch_text(t),
                    "metrics": t.metrics, "cost": t.cost, "error": t.error, "fidelity": t.fidelity,
                    "intermediate": [list(p) for p in t.intermediate], "retry_of": t.retry_of,
                    "attempts": t.attempts, "worker": t.worker, "started_at": t.started_at,
                    "finished_at": t.finished_at, "user_attrs": t.user_attrs,
                    "told_to_strategy": t.told} for t in trials]})
