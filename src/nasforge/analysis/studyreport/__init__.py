"""Interactive HTML reports of studies and ``nasforge bench`` folders (plotly; one self-contained file).

``report(study, "report.html")`` writes every view of one study; ``report([s1, s2], path)`` overlays
the progress of several studies of one space; ``bench_report(folder, path)`` shows a bench result.
The dashboard (:mod:`nasforge.analysis.dashboard`) serves the same views live.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from ...exceptions import UsageError
from . import views
from .data import BenchData, StudyData, from_study, load_bench, load_study_data, open_readonly
from .page import render_page


def study_sections(data: StudyData, diagnostics: dict[str, Any] | None = None, optimum: float | None = None) -> list[str]:
    """Every view of one study, in page order."""
    return [views.summary_view(data), views.progress_view([data], optimum), views.pareto_view(data),
            views.architecture_view(data), views.importance_view(data), views.curves_view(data),
            views.failures_view(data), views.diagnostics_view(data, diagnostics or model_diagnostics(data)),
            views.trials_table_view(data)]


def comparison_sections(studies: Sequence[StudyData], optimum: float | None = None) -> list[str]:
    """Several studies of one space: their progress overlaid and one summary row each."""
    rows = []
    for data in studies:
        best = data.best()
        counts = ", ".join(f"{n} {s}" for s, n in data.counts().items() if n)
        rows.append([data.name, data.strategy, counts, len(data.front()),
                     None if best is None else best.metrics[data.objectives[0]], f"{data.wall_seconds():.1f}"])
    table = views.html_table(["study", "strategy", "trials", "Pareto set", f"best {studies[0].objectives[0]}",
                              "wall s"], rows, cls="nf-table nf-sortable")
    return [views.progress_view(studies, optimum), views.section("studies", "Studies", table)]


def render_study(study: Any, optimum: float | None = None, **page: Any) -> str:
    """The report page of one study (a Study or StudyData) or of several (a list)."""
    if optimum is not None and (isinstance(optimum, bool) or not isinstance(optimum, numbers.Real)):
        raise UsageError(f"optimum must be a number, got {optimum!r}")
    studies = [_data(s) for s in study] if isinstance(study, (list, tuple)) else [_data(study)]
    if not studies:
        raise UsageError("no study to report: the list is empty")
    if len(studies) > 1:
        spaces = {d.space.name for d in studies}
        objectives = {tuple(d.objectives) for d in studies}
        if len(spaces) > 1 or len(objectives) > 1:
            raise UsageError(f"studies to compare must share space and objectives, got spaces {sorted(spaces)} "
                             f"and objectives {sorted(objectives)}")
        title = f"nasforge: {len(studies)} studies of {studies[0].space.name}"
        return render_page(title, comparison_sections(studies, optimum), ", ".join(d.name for d in studies), **page)
    data = studies[0]
    subtitle = f"space {data.space.name}, strategy {data.strategy}, {len(data.trials)} trials"
    return render_page(f"nasforge study {data.name}", study_sections(data, optimum=optimum), subtitle, **page)


def report(study: Any, path: str | Path = "report.html", optimum: float | None = None) -> Path:
    """Write the self-contained HTML report of ``study`` (a Study, a list of Studies of one space, or the
    StudyData of :func:`load_study_data`) to ``path``; ``optimum`` turns best-so-far into regret."""
    return _write(path, render_study(study, optimum))


def bench_report(folder: str | Path, path: str | Path | None = None) -> Path:
    """Write the report of a ``nasforge bench --out`` folder (default: ``report.html`` inside it)."""
    bench = load_bench(folder)
    meta = bench.meta
    title = f"nasforge bench: {meta.get('benchmark', bench.folder.name)}"
    subtitle = f"objective {meta.get('objective', '?')} ({meta.get('direction', '?')}), {escape(str(bench.folder))}"
    html = render_page(title, [views.bench_view(bench)], subtitle)
    return _write(path or bench.folder / "report.html", html)


def model_diagnostics(data: StudyData, max_points: int = 40) -> dict[str, Any] | None:
    """Leave-one-out diagnostics of the strategy's model: those the study recorded in
    ``user_attrs["model_diagnostics"]`` (keys ``actual``, ``predicted``, optional ``lower``/``upper``,
    ``numbers``, ``metric`` and scores), else, for a model-based strategy, computed with
    :func:`nasforge.strategies.model_based.loo_cv` on a copy of the strategy told the study's results
    (at most ``max_points`` left out); None when there is no model or too few results."""
    found = data.user_attrs.get("model_diagnostics")
    if isinstance(found, dict) and found.get("actual") and found.get("predicted"):
        return found
    if len(data.objectives) != 1:
        return None
    try:
        from ...strategies import get_strategy
        from ...strategies.model_based import ModelBasedStrategy, loo_cv
    except ImportError:
        return None
    try:
        strategy = get_strategy(data.strategy, data.space, seed=data.seed, **(data.strategy_config or {}))
    except (UsageError, ValueError, TypeError):
        return None
    if not isinstance(strategy, ModelBasedStrategy):
        return None
    sign = 1.0 if data.directions[0] == "maximize" else -1.0
    objective = data.objectives[0]
    done = sorted(data.complete, key=lambda t: (t.tell_seq is None, t.tell_seq or 0, t.number))
    for t in done:
        strategy.tell(t.arch, sign * t.metrics[objective])
    try:
        loo = loo_cv(strategy, max_points=max_points)
    except UsageError:  # fewer than 3 results
        return None
    numbers = {}
    for t in done:
        numbers.setdefault(data.arch_text[t.number], t.number)
    bounds = (loo.lower, loo.upper) if sign > 0 else (loo.upper, loo.lower)
    return {"metric": objective, "actual": (sign * loo.actual).tolist(), "predicted": (sign * loo.mean).tolist(),
            "lower": (sign * bounds[0]).tolist(), "upper": (sign * bounds[1]).tolist(),
            "numbers": [numbers.get(a) for a in loo.archs], **loo.summary()}


def _data(study: Any) -> StudyData:
    from ...experiment import Study

    if isinstance(study, StudyData):
        return study
    if not isinstance(study, Study):
        raise UsageError(f"report takes a Study (e.g. Study.load(name, storage)), a list of them or a StudyData, "
                         f"got {type(study).__name__} {study!r:.60}")
    return from_study(study)


def _write(path: str | Path, html: str) -> Path:
    """Write the page; an existing file is replaced only when it is empty or markup text (a previous report,
    any HTML page), so a mistyped path never destroys a database or any other file."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"report path {str(path)!r} is a folder; name the HTML file to write")
    if path.exists():
        with path.open("rb") as existing:
            head = existing.read(4096)
        text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
        if head and (b"\0" in head or not text.startswith(b"<")):
            raise UsageError(f"{str(path)!r} exists and is not an HTML page; not overwriting it (choose another path)")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


__all__ = ["BenchData", "StudyData", "bench_report", "comparison_sections", "from_study", "load_bench",
           "load_study_data", "model_diagnostics", "open_readonly", "render_study", "report", "study_sections"]
