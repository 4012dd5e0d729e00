"""Analysis: regret curves, benchmark comparisons, Pareto fronts, plots and reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def report(study: Any, path: str | Path = "report.html", optimum: float | None = None) -> Path:
    """Write the self-contained interactive HTML report of a study (or of a list of studies of one
    space) to ``path``; see :func:`nasforge.analysis.studyreport.report` (plotly is imported only here)."""
    from .studyreport import report as write_report

    return write_report(study, path, optimum=optimum)
