"""Interactive HTML reports of studies and ``nasforge bench`` folders (plotly; one self-contained file).

``report(study, "report.html")`` writes every view of one study; ``report([s1, s2], path)`` overlays
the progress of several studies of one space; ``bench_report(folder, path)`` shows a bench result.
The dashboard (:mod:`nasforge.analysis.dashboard`) serves the same views live.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...checks import check_real
from ...exceptions import MissingDependencyError, UsageError
from ...extras import check_installed
from ...spaces.recorded import RecordedSpace
from ...writes import check_target, head, write_atomic
from . import views
from .data import (BenchData, StudyData, display_url, from_study, hide_password, load_bench, load_study_data,
                   open_readonly)
from .page import PAGE_START, render_page

REPORT_PATH = "report path"
"""How errors name the file a report is written to (the command line says ``--out``)."""
REPORT_FEATURE = "the HTML report"
"""How a missing plotly names what needs it."""


def study_sections(data: StudyData, diagnostics: dict[str, Any] | None = None,
                   optimum: float | None = None) -> list[str]:
    """Every view of one study, in page order."""
    return [views.summary_view(data), views.progress_view([data], optimum), views.pareto_view(data),
            views.architecture_view(data), views.importance_view(data), views.curves_view(data),
            views.failures_view(data), views.diagnostics_view(data, diagnostics or model_diagnostics(data)),
            views.trials_table_view(data)]


def comparison_sections(studies: Sequence[StudyData], optimum: float | None = None) -> list[str]:
    """Several studies of one space: their progress overlaid and one summary row each (its trials as its Summary
    counts them, stage-2 retrains apart; with the size of its Pareto set when they have several objectives; the best
    value of the first objective is then the best of that set, feasible under the constraints while any trial is, as
    ``nasforge status`` lists it; with the budget it was evaluated at, "62.6 (at epochs=4 of 12)", while a
    multi-fidelity study has not reached its full budget; with the data each searched, when one recorded it)."""
    multi = len(studies[0].objectives) > 1
    sign = 1.0 if studies[0].directions[0] == "maximize" else -1.0
    labels = study_labels(studies)
    searched = views.searched_data(studies)
    data_column = any(searched)
    rows = []
    for data, label, data_text in zip(studies, labels, searched):
        chosen = data.front() if multi else [b for b in [data.best()] if b is not None]
        best = max(chosen, key=lambda t: sign * t.metrics[data.objectives[0]], default=None)
        value = None if best is None else best.metrics[data.objectives[0]]
        short = "" if best is None else views.budget_of_full(data, best, below_full=True)  # not final values yet
        rows.append([label, data.strategy, *([data_text] if data_column else []), views.trials_text(data),
                     *([len(data.front())] if multi else []),
                     views.number_text(float(value)) + short if short else value, _rounded(data.wall_seconds())])
    columns = ["study", "strategy", *(["data"] if data_column else []), "trials", *(["Pareto set"] if multi else []),
               f"best {studies[0].objectives[0]}", "wall s"]
    table = views.html_table(columns, rows, cls="nf-table nf-sortable")
    note = (f"best {studies[0].objectives[0]}: the best of the study's Pareto set (feasible-first under its "
            "constraints)." if multi else "")
    unchecked = _unchecked_spaces(studies, labels)
    if unchecked:
        note += ((" " if note else "") + f"Space settings of {', '.join(repr(n) for n in unchecked)} were stored "
                 f"empty ({{}}): whether {'its' if len(unchecked) == 1 else 'their'} space matches the others' "
                 "could not be checked.")
    return [views.progress_view(studies, optimum, labels), views.section("studies", "Studies", table, note)]


def _goal(data: StudyData) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """What studies compared must share: space name, objectives and their directions."""
    return data.space.name, tuple(data.objectives), tuple(data.directions)


def _goal_text(data: StudyData) -> str:
    """``space nb201, objectives val_acc:max,params:min`` (as ``nasforge studies`` spells objectives)."""
    short = {"maximize": "max", "minimize": "min"}
    objectives = ",".join(f"{o}:{short.get(d, d)}" for o, d in zip(data.objectives, data.directions))
    return f"space {data.space.name}, objectives {objectives}"


def study_labels(studies: Sequence[StudyData]) -> list[str]:
    """What names each study in a comparison: its name, and where it is stored when another study has the same
    name (``runf (rf)`` and ``runf (rf2)`` for the run folders rf/ and rf2/: the last parts of the path that tell
    them apart, a run folder's study.db left out; another storage's URL, password hidden); studies in memory of one
    name are numbered (``study #1``, ``study #2``)."""
    names = [d.name for d in studies]
    labels = list(names)
    for name in {n for n in names if names.count(n) > 1}:
        group = [k for k, n in enumerate(names) if n == name]
        stored = [k for k in group if studies[k].storage_url != "memory"]
        places = {k: _place_parts(studies[k].storage_url) for k in stored}
        for width in range(1, max((len(p) for p in places.values()), default=0) + 1):
            shown = {k: "/".join(p[-width:]) for k, p in places.items()}
            if len(set(shown.values())) == len(shown):
                break
        else:
            shown = {}
        for k in stored:
            labels[k] = f"{name} ({shown.get(k) or display_url(studies[k].storage_url)})"
        memory = [k for k in group if k not in stored]
        for position, k in enumerate(memory, start=1):
            labels[k] = f"{name} #{position}"
    return labels


def _place_parts(url: str) -> tuple[str, ...]:
    """Where a storage ``url`` is, as path parts: a SQLite file's path (a run folder for its study.db), else the
    URL shown (password hidden)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return (display_url(url),)
    path = Path(url[len(prefix):])
    if path.name == "study.db" and path.parent.parts:  # a 'nasforge search' run folder
        path = path.parent
    return path.parts or (str(path),)


def _rounded(seconds: float | None) -> str | None:
    return None if seconds is None else f"{seconds:.1f}"


def render_study(study: Any, optimum: float | None = None, **page: Any) -> str:
    """The report page of one study (a Study or StudyData) or of several (a list)."""
    studies = [_data(s) for s in study] if isinstance(study, (list, tuple)) else [_data(study)]
    check_studies(studies, optimum)
    optimum = shown_optimum(studies, optimum)
    if len(studies) > 1:
        title = f"nasforge: {len(studies)} studies of {studies[0].space.name}"
        return render_page(title, comparison_sections(studies, optimum), ", ".join(study_labels(studies)), **page)
    data = studies[0]
    subtitle = f"space {data.space.name}, strategy {data.strategy}, {len(data.trials)} trials"
    return render_page(f"nasforge study {data.name}", study_sections(data, optimum=optimum), subtitle, **page)


def check_studies(studies: Sequence[StudyData], optimum: Any = None, optimum_name: str = "optimum") -> None:
    """What one report can show: at least one study, none twice; several must share space (its name and settings,
    but for :data:`SETTINGS_NOT_COMPARED`; a study whose settings were stored empty is not checked), objectives,
    directions and constraints (in any order and spacing: ``convw<=10`` is ``convw <= 10.0``).
    ``optimum`` (None, or the known optimum of the objective) must be a finite number, the studies must have
    one objective, and no complete trial may be better than it (regret is never negative; with constraints, no
    trial that meets them: the others are not drawn). Else a
    UsageError (naming ``optimum_name``)."""
    if not studies:
        raise UsageError("no study to report: the list is empty")
    seen = set()
    for data in studies:
        key = _same_study(data)
        if key in seen:
            raise UsageError(f"study {data.name!r} ({display_url(data.storage_url)}) is given more than once: each "
                             "study is reported once")
        seen.add(key)
    if len(studies) > 1:
        first, shown = studies[0], dict(zip(map(id, studies), study_labels(studies)))  # same names told apart
        other = next((d for d in studies[1:] if _goal(d) != _goal(first)), None)
        if other is not None:
            raise UsageError(f"studies to compare must share space, objectives and directions: {shown[id(first)]!r} "
                             f"has {_goal_text(first)}, {shown[id(other)]!r} has {_goal_text(other)}")
        known = [d for d in studies if _space_settings(d)]  # stored {}: nothing to compare (a note says so)
        other = next((d for d in known[1:] if _space_key(d) != _space_key(known[0])), None)
        if other is not None:  # one name, other spaces: every ChainSpace without name= is "chain"
            first = known[0]
            raise UsageError(f"studies to compare must share their space: {shown[id(first)]!r} and "
                             f"{shown[id(other)]!r} both name space {first.space.name!r}, but its settings differ "
                             f"({_space_text(first)} vs {_space_text(other)})")
        other = next((d for d in studies[1:] if _constraint_key(d) != _constraint_key(first)), None)
        if other is not None:  # their progress (hypervolume of the feasible trials) would measure different things
            raise UsageError(f"studies to compare must share constraints: {shown[id(first)]!r} has "
                             f"{_constraint_text(first)}, {shown[id(other)]!r} has {_constraint_text(other)}")
    if optimum is None:
        return
    check_real(optimum_name, optimum, lambda v: True, "a finite number")
    first = studies[0]
    if len(first.objectives) > 1:
        raise UsageError(f"{optimum_name} applies to a study with one objective; {first.name!r} has "
                         f"{first.objectives} (its progress is the hypervolume)")
    objective, direction = first.objectives[0], first.directions[0]
    for data in studies:
        best = _drawn_best(data)
        if best is None:
            continue
        value = best.metrics[objective]
        if views.regret(optimum, value, direction) < 0 and not _shown_equal(optimum, value):
            typed, found = views.number_text(float(optimum)), views.number_text(float(value))  # they read apart
            raise UsageError(f"{optimum_name} {typed} is worse than the best {objective} found ({found}, trial "
                             f"{best.number} of study {data.name!r}, {direction}d): it cannot be the optimum")


def _drawn_best(data: StudyData) -> Any:
    """The best trial whose regret the progress view draws: :meth:`StudyData.best` when it meets the constraints
    (a study none of whose trials does has no line), else None."""
    best = data.best()
    return None if best is None or data.violations([best])[0] > 0 else best


SETTINGS_NOT_COMPARED = {"nb201": ("canonical_rule",)}
"""Per space name: settings that change neither the architectures nor their values (NB201's ``canonical_rule`` only
decides which proposals count as repeats), so studies differing in them are overlaid."""


def _space_settings(data: StudyData) -> dict[str, Any]:
    """``data``'s space settings as the study records them (``space_config``; ``{}`` when none were stored)."""
    from ...experiment._replay import init_config

    config = data.space.to_config() if isinstance(data.space, RecordedSpace) else init_config(data.space)
    return dict(config or {})


def _space_key(data: StudyData) -> str:
    """``data``'s space settings that tell spaces of one name apart, as JSON text for comparing."""
    import json

    ignored = SETTINGS_NOT_COMPARED.get(data.space.name, ())
    config = {k: v for k, v in _space_settings(data).items() if k not in ignored}
    return json.dumps(config, sort_keys=True, default=str)


def _unchecked_spaces(studies: Sequence[StudyData], labels: Sequence[str]) -> list[str]:
    """The labels of the studies whose space settings were stored empty (``{}``) beside others that have some:
    overlaid, but whether their spaces match could not be checked."""
    if not any(_space_settings(d) for d in studies):
        return []
    return [label for d, label in zip(studies, labels) if not _space_settings(d)]


def _space_text(data: StudyData, width: int = 80) -> str:
    text = _space_key(data)
    return text if len(text) <= width else text[:width - 3] + "..."


def _constraint_key(data: StudyData) -> frozenset[Any]:
    """``data``'s constraints, parsed (a text that does not parse, as it is), for comparing studies."""
    from ...strategies.constraints import Constraint

    def parsed(text: str) -> Any:
        try:
            return Constraint.parse(text)
        except UsageError:
            return text

    return frozenset(parsed(c) for c in data.constraints)


def _constraint_text(data: StudyData) -> str:
    return f"constraints {data.constraints}" if data.constraints else "no constraints"


def _same_study(data: StudyData) -> tuple[Any, ...]:
    """What tells studies apart: a stored one by storage and name, one in memory by its trials (two studies in
    memory may share a name), an empty one in memory by itself."""
    if data.storage_url != "memory":
        return data.storage_url, data.name
    return ("memory", data.name, id(data.trials[0]) if data.trials else id(data))


def shown_optimum(studies: Sequence[StudyData], optimum: float | None) -> float | None:
    """``optimum`` (checked by :func:`check_studies`), or the best value found when ``optimum`` is that value as the
    report shows it (6 significant digits: ``26.7153`` for a stored ``26.715333333333334``, rounded either way): the
    optimum found, its regret 0."""
    if optimum is None:
        return None
    bests = [best.metrics[data.objectives[0]] for data in studies if (best := _drawn_best(data)) is not None]
    if not bests:
        return optimum
    sign = 1.0 if studies[0].directions[0] == "maximize" else -1.0
    found = max(bests, key=lambda v: sign * v)
    return float(found) if _shown_equal(optimum, found) else optimum


def _shown_equal(optimum: float, value: float) -> bool:
    """Whether ``optimum`` reads as ``value`` does in the report (:func:`views.number_text`)."""
    return views.number_text(float(optimum)) == views.number_text(float(value))


def report(study: Any, path: str | Path | None = "report.html", optimum: float | None = None) -> Path:
    """Write the self-contained HTML report of ``study`` (a Study, a list of Studies of one space, or the
    StudyData of :func:`load_study_data`) to ``path`` (None: ``report.html``); ``optimum`` turns best-so-far into
    regret."""
    check_installed(("plotly",), REPORT_FEATURE)
    target = check_report_path("report.html" if path is None else path)
    return write_atomic(target, render_study(study, optimum), REPORT_PATH)


def bench_report(folder: str | Path | BenchData, path: str | Path | None = None) -> Path:
    """Write the report of a ``nasforge bench --out`` folder (or its :func:`load_bench`) to ``path`` (default:
    ``report.html`` inside it)."""
    check_installed(("plotly",), REPORT_FEATURE)
    bench = folder if isinstance(folder, BenchData) else load_bench(folder)
    target = check_report_path(path or bench.folder / "report.html")
    meta = bench.meta
    title = f"nasforge bench: {meta.get('benchmark', bench.folder.name)}"
    subtitle = f"objective {meta.get('objective', '?')} ({meta.get('direction', '?')}), {bench.folder}"
    html = render_page(title, [views.bench_view(bench)], subtitle)
    return write_atomic(target, html, REPORT_PATH)


def check_report_path(path: str | Path, name: str = REPORT_PATH, overwrite: bool = True) -> Path:
    """``path`` as a Path a report may be written to: a new file, an empty one or, with ``overwrite``, an earlier
    nasforge report (never a database, another page or any other file); its folder must be writable. Else a
    UsageError naming ``name`` (also for a ``path`` that is not a str or a path, or an empty or blank one)."""
    if not isinstance(path, (str, os.PathLike)):
        raise UsageError(f"{name} must be a file path (a str or a Path), got {type(path).__name__} {path!r:.60}")
    if isinstance(path, str) and not path.strip():  # Path("") is ".", the working folder
        raise UsageError(f"{name} must name a file, got {path!r} (an empty path)")
    return check_target(path, name, is_report, "a report written by nasforge", overwrite=overwrite)


def is_report(path: Path) -> bool:
    """Whether the file at ``path`` is a page nasforge wrote (a report, a bench report)."""
    return head(path, len(PAGE_START)) == PAGE_START.encode()


def is_bench_report(path: Path) -> bool:
    """Whether the file at ``path`` is a bench report nasforge wrote (:func:`bench_report`: "nasforge bench: ...")."""
    start = PAGE_START + " bench: "
    return head(path, len(start)) == start.encode()


MAX_DIAGNOSTIC_HISTORY = 300
"""Results a report's leave-one-out diagnostics fit on: the last ones told (each of the ``max_points`` refits trains
on all of them but one, so a long study's report costs what a 300-result one does)."""


def model_diagnostics(data: StudyData, max_points: int = 40,
                      max_history: int = MAX_DIAGNOSTIC_HISTORY) -> dict[str, Any] | None:
    """Leave-one-out diagnostics of the strategy's model: those the study recorded in
    ``user_attrs["model_diagnostics"]`` (keys ``actual``, ``predicted``, optional ``lower``/``upper``,
    ``numbers``, ``metric`` and scores; unusable ones give ``{"skipped": why}``), else, for a model-based strategy,
    computed with :func:`nasforge.strategies.model_based.loo_cv` on a copy of the strategy told the study's last
    ``max_history`` results (at most ``max_points`` left out; ``"history"``: [results fitted on, results]); None
    when there is no model or too few results, ``{"skipped": why}`` when the model needs a package that is not
    installed (the message names the extra), or when nothing is computed and the study recorded a value that is no
    object of results."""
    found = data.user_attrs.get("model_diagnostics")
    if isinstance(found, dict) and found.get("actual") and found.get("predicted"):
        problem = _diagnostics_problem(found)
        return found if problem is None else {"skipped": f'the study\'s user_attrs["model_diagnostics"] {problem}'}
    computed = _computed_diagnostics(data, max_points, max_history)
    if computed is None and found is not None and not isinstance(found, dict):  # else computed, as always
        return {"skipped": f'the study\'s user_attrs["model_diagnostics"] was recorded but is unusable: {found!r:.40} '
                           "is not an object of results (actual, predicted, ...)"}
    return computed


def _computed_diagnostics(data: StudyData, max_points: int, max_history: int) -> dict[str, Any] | None:
    """:func:`model_diagnostics` computed from the study's results (see there)."""
    if len(data.objectives) != 1:
        return None
    try:
        from ...strategies import STRATEGIES, get_strategy
        from ...strategies.base import beyond_limit
        from ...strategies.model_based import ModelBasedStrategy, loo_cv
    except ImportError:
        return None
    if isinstance(data.space, RecordedSpace):  # no model without the space
        factory = STRATEGIES.get(data.strategy) if data.strategy in STRATEGIES else None
        if not (isinstance(factory, type) and issubclass(factory, ModelBasedStrategy)):
            return None
        why = data.space.reason or "a model space's module is never run by the report"
        return {"skipped": f"the strategy's model cannot be refitted without the study's space, which is not rebuilt "
                           f"here ({why.rstrip('.')}); write the report from Python where the space is built"}
    try:
        strategy = get_strategy(data.strategy, data.space, seed=data.seed, **(data.strategy_config or {}))
    except MissingDependencyError as exc:
        return {"skipped": str(exc)}
    except (UsageError, ValueError, TypeError):
        return None
    if not isinstance(strategy, ModelBasedStrategy):
        return None
    sign = 1.0 if data.directions[0] == "maximize" else -1.0
    objective = data.objectives[0]
    # a value beyond SCORE_LIMIT (stored COMPLETE by nasforge before 2026-12) is no result a model takes
    every = sorted((t for t in data.complete if not beyond_limit((t.metrics[objective],))),
                   key=lambda t: (t.tell_seq is None, t.tell_seq or 0, t.number))
    done = every[-max_history:]
    for t in done:
        strategy.tell(t.arch, sign * t.metrics[objective])
    try:
        loo = loo_cv(strategy, max_points=max_points)
    except MissingDependencyError as exc:
        return {"skipped": str(exc)}
    except UsageError:  # fewer than 3 results
        return None
    numbers = {}
    for t in done:
        numbers.setdefault(data.arch_text[t.number], t.number)
    bounds = (loo.lower, loo.upper) if sign > 0 else (loo.upper, loo.lower)
    return {"metric": objective, "actual": (sign * loo.actual).tolist(), "predicted": (sign * loo.mean).tolist(),
            "lower": (sign * bounds[0]).tolist(), "upper": (sign * bounds[1]).tolist(),
            "numbers": [numbers.get(a) for a in loo.archs], "history": [len(done), len(every)], **loo.summary()}


def _diagnostics_problem(found: dict[str, Any]) -> str | None:
    """What makes recorded model diagnostics unusable (``actual`` and ``predicted`` lists of numbers or null (a
    missing value, left out) of one length, ``lower``/``upper`` too when given, scores numbers or null; at least one
    result with both ``actual`` and ``predicted``), None when nothing does (an entry of ``numbers`` that is no trial
    number loses only its point's hover, and the view says so)."""
    from ...checks import is_number

    length = None
    for key in ("actual", "predicted", "lower", "upper"):
        values = found.get(key)
        if values is None and key in ("lower", "upper"):
            continue
        if not isinstance(values, (list, tuple)):
            return f"has {key!r} {values!r:.40}, not a list of numbers"
        bad = [v for v in values if v is not None and not is_number(v)]
        if bad:
            return f"has a non-number in {key!r}: {bad[0]!r:.40}"
        if length is not None and len(values) != length:
            return f"has {len(values)} values in {key!r} but {length} in 'actual'"
        length = len(values)
    if all(a is None or p is None for a, p in zip(found["actual"], found["predicted"])):
        return "has no result with both 'actual' and 'predicted'"
    bad_score = next((k for k in views.DIAGNOSTIC_SCORES if found.get(k) is not None and not is_number(found[k])), None)
    if bad_score is not None:
        return f"has score {bad_score!r} {found[bad_score]!r:.40}, not a number"
    return None


def _data(study: Any) -> StudyData:
    from ...experiment import Study

    if isinstance(study, StudyData):
        return study
    if not isinstance(study, Study):
        raise UsageError(f"report takes a Study (e.g. Study.load(name, storage)), a list of them or a StudyData, "
                         f"got {type(study).__name__} {study!r:.60}")
    return from_study(study)


__all__ = ["BenchData", "StudyData", "bench_report", "check_studies", "check_report_path", "comparison_sections",
           "display_url", "from_study", "hide_password", "is_bench_report", "is_report", "load_bench",
           "load_study_data", "model_diagnostics", "open_readonly", "render_study", "report", "shown_optimum",
           "study_labels", "study_sections"]
