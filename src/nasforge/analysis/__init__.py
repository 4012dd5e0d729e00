"""Analysis: regret curves, benchmark comparisons, Pareto fronts, plots and reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def report(study: Any, path: str | Path = "report.html", optimum: float | None = None) -> Path:
    """Write the self-contained interactive HTML report of a study (or of a list of studies of one
    space) to ``path``; see :func:`nasforge.analysis.studyreport.report` (plotly is imported only here)."""
    from .studyreport import report as write_report

    return write_report(study, path, optimum=optimum)


def bench_report(folder: str | Path, path: str | Path | None = None) -> Path:
    """Write the HTML report of a ``nasforge bench --out`` folder to ``path`` (default: ``report.html`` inside
    it); see :func:`nasforge.analysis.studyreport.bench_report` (plotly is imported only here)."""
    from .studyreport import bench_report as write_bench_report

    return write_bench_report(folder, path)
