"""The report's views: each function takes study data and returns one HTML ``<section>``.

Plots are plotly figures embedded as JSON (``<script type="application/json" class="nf-fig">``) that
the page's script draws; every point that stands for a trial carries ``customdata = [number, arch,
metrics]`` so hovering shows them and clicking selects the trial (its diagram and details).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from html import escape, unescape
from typing import Any

import numpy as np

from ...experiment.stages import search_config, stage_of
from ...experiment.trial import Trial, TrialState, error_line
from ...pareto import REFERENCE_MARGIN, hypervolume_progress, reference_point
from ..diagrams import architecture_svg
from ..regret import regret_axis, within_rounding
from .data import BenchData, Retrained, StudyData, display_url
from .importance import MAX_FOREST_ROWS, forest_importance, op_means

MAX_DIAGRAMS = 2000
"""Trials whose diagram is embedded (the front and the best first); others show their text form (architecture
string, state and metrics)."""
MAX_CURVES = 300
MAX_ROWS = 20000
"""Trials the Trials table lists and complete trials the objective plot draws one by one (the last ones, the best
trial and the Pareto set always drawn): past that a page grows too large for a browser to open (about 150 MB at
100,000 trials); a note says so and how to list them all."""
DIAGNOSTIC_SCORES = ("n", "kendall_tau", "spearman", "r2", "rmse", "mae", "coverage", "coverage_95")
"""The scores of model diagnostics the report shows (recorded ones must be numbers or null)."""
HOVER = "trial %{customdata[0]}<br>%{customdata[1]}<br>%{customdata[2]}<extra></extra>"
NO_TRIAL_HOVER = "actual %{x}<br>predicted %{y}<br>(its trial is not known)<extra></extra>"
"""The hover of a model-diagnostics point whose trial is not known."""
INFEASIBLE_MARKER = {"color": "#d8d8d8", "size": 7, "symbol": "x"}
"""How the objective plots draw a complete trial that breaks the constraints."""
STATE_COLORS = {"COMPLETE": "#1f77b4", "PRUNED": "#d62728", "FAILED": "#7f7f7f", "RUNNING": "#2ca02c",
                "WAITING": "#ff7f0e"}


# -- building blocks -------------------------------------------------------------------------------
def figure_html(fig: Any, key: str) -> str:
    """A plotly figure as a placeholder div plus its JSON, drawn by the page script."""
    payload = fig.to_json().replace("</", "<\\/")
    return (f'<div class="nf-plot" id="nf-plot-{key}"></div>'
            f'<script type="application/json" class="nf-fig" data-target="nf-plot-{key}">{payload}</script>')


def section(key: str, title: str, body: str, note: str = "") -> str:
    """A ``<section>`` of the page: ``title`` and ``note`` are plain text (escaped here), ``body`` is HTML."""
    note_html = f'<p class="nf-note">{escape(note)}</p>' if note else ""
    return f'<section id="nf-{key}"><h2>{escape(title)}</h2>{note_html}{body}</section>'


def html_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], cls: str = "nf-table",
               row_attrs: Sequence[str] | None = None) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    for k, row in enumerate(rows):
        attrs = f" {row_attrs[k]}" if row_attrs else ""
        body.append(f"<tr{attrs}>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>")
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


class Raw(str):
    """Trusted HTML for a table cell (not escaped)."""


def _cell(value: Any) -> str:
    if isinstance(value, Raw):
        return str(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return escape(number_text(value))
    return escape(str(value))


def number_text(value: float) -> str:
    """``value`` as text: an integral value as an integer (``1234567``, so large counts never round to the same
    ``1.235e+06``), another to 6 significant digits (``0.858162``; float noise such as ``19.956000000000003``
    is left out)."""
    if not math.isfinite(value):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _wrap(text: str, width: int = 90) -> str:
    return "<br>".join(escape(text[i:i + width]) for i in range(0, len(text), width)) or "-"


def hover_data(data: StudyData, trials: Sequence[Trial]) -> list[list[Any]]:
    """``[number, architecture, metrics]`` per trial, for plotly hover templates; the metrics of a trial run at a
    budget (multi-fidelity) end with that budget."""
    out = []
    for t in trials:
        metrics = "<br>".join(f"{escape(k)} = {number_text(float(v))}" for k, v in sorted(t.metrics.items())
                              if isinstance(v, (int, float)))
        budget = budget_text(t)
        metrics = "<br>".join(filter(None, [metrics, budget and f"budget {_plain(budget)}"]))
        out.append([t.number, _wrap(data.arch_text[t.number]), metrics or t.state.value])
    return out


def budget_text(trial: Trial) -> str | None:
    """The budget a multi-fidelity strategy gave ``trial`` as JSON (``{"epochs": 4}``), None without one."""
    from ...experiment._export import json_text

    return json_text(trial.fidelity) if trial.fidelity else None


def budget_of_full(data: StudyData, trial: Trial, below_full: bool = False) -> str:
    """`` (at epochs=3 of 9)``: the budget ``trial`` was evaluated at and the full one, in a multi-fidelity study
    (where 1- and 12-epoch results sit side by side), as ``nasforge status`` names its best trial; else ``""``. With
    ``below_full`` also ``""`` at the full budget: the report names only the results short of it (of a study that
    has not reached it yet), which are no final results."""
    from ...checks import is_real
    from ...strategies.multi_fidelity import budget_rule

    rule = budget_rule(data.strategy, data.strategy_config)
    value = None if rule is None else (trial.fidelity or {}).get(rule[0])
    if not is_real(value) or (below_full and float(value) >= rule[1]):
        return ""
    return f" (at {rule[0]}={number_text(float(value))} of {number_text(rule[1])})"


def _budgets(trials: Sequence[Trial]) -> list[str | None]:
    """The distinct budgets of ``trials`` (None: no budget), in the order first met."""
    return list(dict.fromkeys(budget_text(t) for t in trials))


def _plain(text: Any) -> str:
    """``text`` for plotly as it reads: plotly takes ``<b>``, ``<br>``, ``<a>``... in labels, titles, legends and
    hovers as markup, and turns ``&lt;``, ``&gt;`` and ``&amp;`` back into the characters."""
    return escape(str(text), quote=False)


def _figure(**layout: Any) -> Any:
    """A figure in the report's style; its ``title``, ``xaxis_title`` and ``yaxis_title`` are plain text."""
    import plotly.graph_objects as go

    fig = go.Figure(layout={"template": {}})  # the page script applies the page's one template (page.TEMPLATE)
    settings = dict(margin=dict(l=60, r=20, t=40, b=50), height=420, legend=dict(orientation="h", y=-0.18))
    titles = {key: _plain(layout[key]) for key in ("title", "xaxis_title", "yaxis_title") if key in layout}
    fig.update_layout(**{**settings, **layout, **titles})
    return fig


def _sign(direction: str) -> float:
    return 1.0 if direction == "maximize" else -1.0


def gone_running(trials: Sequence[Trial]) -> list[Trial]:
    """The RUNNING ``trials`` whose process is gone (:func:`~nasforge.experiment.identity.process_gone`): the run
    that claimed them died, and only a resume re-runs them. ``nasforge status`` and the dashboard flag these."""
    from ...experiment.identity import process_gone

    return [t for t in trials if t.state == TrialState.RUNNING and process_gone(t.worker)]


def gone_workers(workers: Iterable[str | None]) -> int:
    """How many of these RUNNING trials' ``workers`` are of a process that is gone, by :func:`gone_running`'s rule:
    the dashboard's index counts them from :meth:`~nasforge.experiment.storage.Storage.running_workers`, without
    reading the trials."""
    from ...experiment.identity import process_gone

    return sum(process_gone(worker) for worker in workers)


def rerun_hint(study: StudyData, storage: str | None) -> str:
    """What re-runs the trials of ``study`` whose process is gone: ``nasforge resume`` (with ``--evaluator`` where
    the study recorded no factory, as a Python run does, or one that is not on the allow-list a stored study's
    factory must be on, or ``Study.load(...).resume``), or, for a study no ``optimize`` ran,
    ``Study.load(...).optimize``."""
    from ...experiment.evaluator_spec import TRUSTED_FACTORIES
    from ...experiment.storage.display import study_command, without_password
    from ...experiment.study import optimize_call
    from ...pipelines.search import resume_command

    config = study.run_config or {}
    spec = config.get("evaluator")
    factory = spec.get("factory") if isinstance(spec, dict) else spec
    load = f"Study.load({study.name!r}, {without_password(storage)!r})"
    if study.user_attrs.get("pipeline"):
        return resume_command(study.name, storage)
    if not config:
        return f"{optimize_call(study.name, storage)} in Python"
    if unknown := _unknown_to_cli(study):  # registered by the user's script: resumed where it is registered
        named = " and ".join(unknown)
        command = study_command("resume", study.name, storage, "--evaluator", str(factory or "package.module:callable"))
        return (f"{load}.resume(evaluator) in Python, where {named} {'are' if len(unknown) > 1 else 'is'} registered "
                f"(or {command}, if that module registers {'them' if len(unknown) > 1 else 'it'})")
    if factory and factory in TRUSTED_FACTORIES:
        return resume_command(study.name, storage)
    if factory:  # a stored study does not run code outside the allow-list unless the user names it
        return study_command("resume", study.name, storage, "--evaluator", str(factory))
    command = study_command("resume", study.name, storage, "--evaluator", "package.module:callable")
    return f"{command} or {load}.resume(evaluator)"


def _unknown_to_cli(study: StudyData) -> list[str]:
    """The space and strategy of ``study`` that a new process does not know (registered by the user's script), as
    ``nasforge resume`` checks them: a chain space rebuilds from its recorded layers."""
    from ...spaces import SPACES
    from ...spaces.recorded import RecordedSpace
    from ...strategies import STRATEGIES

    space = study.space
    unknown = [f"space {space.name!r}"] if (isinstance(space, RecordedSpace) and space.name not in SPACES
                                            and "layers" not in space.config) else []
    return unknown + ([f"strategy {study.strategy!r}"] if study.strategy not in STRATEGIES else [])


# -- summary ---------------------------------------------------------------------------------------
def summary_view(data: StudyData) -> str:
    """Space, objectives, strategy, trials by state, best trial or Pareto set, wall time, workers."""
    objectives = ", ".join(f"{o} ({d})" for o, d in zip(data.objectives, data.directions))
    sessions = data.sessions()
    claimed = (f"trials claimed by {sessions} session(s) (a run, a resume or another process of the study, each with "
               "its own workers)" if sessions else "no trial claimed yet")
    workers = _asked_workers(data) + claimed
    wall = data.wall_seconds()
    space = data.space.name + (f" ({data.space_note})" if data.space_note else "")
    gone, dead = gone_running(data.trials), ""
    if gone:  # as nasforge status flags them: no live run will finish these
        numbers = ", ".join(str(t.number) for t in gone)
        dead = (f" ({len(gone)} of a process that is gone: trial{'s' * (len(gone) > 1)} {numbers}; "
                f"{rerun_hint(data, data.storage_url)} re-runs {'them' if len(gone) > 1 else 'it'})")
    rows = [("study", data.name), ("storage", display_url(data.storage_url)), ("space", space),
            ("objectives", objectives),
            ("strategy", f"{data.strategy} {json.dumps(data.strategy_settings(), default=str)}"),
            ("seed", data.seed), ("trials", trials_text(data, dead)),
            ("wall time", "no trial started yet" if wall is None else f"{wall:.1f} s (first start to last finish)"),
            ("workers", workers)]
    every_retrain = data.retrained()
    retrained = [r for r in every_retrain if r.completed]
    if every_retrain:
        rows.append(("retrained (stage 2)", _retrain_text(every_retrain)))
    summary = html_table(["", ""], rows, cls="nf-summary")
    if len(data.objectives) == 1:
        best = data.best()
        chosen = [best] if best is not None else []
        caption = "best trial" + ("" if best is None else budget_of_full(data, best, below_full=True))
    else:
        sign = _sign(data.directions[0])
        chosen = sorted(data.front(), key=lambda t: (sign * -t.metrics[data.objectives[0]], t.number))
        from ..harness import counted

        infeasible = len(data.infeasible())
        breaks = f"; {counted(infeasible, 'complete trial')} {'breaks' if infeasible == 1 else 'break'} the constraints"
        none_feasible = not chosen and data.feasible_only() and bool(data.ranked())
        size = "none feasible" if none_feasible else counted(len(chosen), 'trial')
        caption = f"Pareto set: {size} (of {len(data.complete)} complete" + (breaks if infeasible else "") + ")"
        if none_feasible:  # a search run's front holds only trials meeting its constraints, as `status` counts
            return section("summary", "Summary", summary + f"<h3>{caption}</h3>")
    if not chosen:
        return section("summary", "Summary", summary + "<p>No complete trial yet.</p>")
    finals = {r.source: r for r in retrained if r.source is not None}
    failed = {r.source: r for r in every_retrain if not r.completed and r.source not in finals}
    preferred = ("test_acc", "val_acc", "test_loss")  # what a retrain is for, then the rest by name
    extra = sorted({k for r in finals.values() for k in r.metrics} - set(data.objectives),
                   key=lambda k: (preferred.index(k) if k in preferred else len(preferred), k))[:2]
    show_failed = any(t.number in failed for t in chosen)
    columns = ["trial", "architecture", *data.objectives, *(f"retrained {k}" for k in extra),
               *(["retrain"] if show_failed else [])]
    rows = [[t.number, data.arch_text[t.number], *(t.metrics[o] for o in data.objectives),
             *((finals[t.number].metrics.get(k) if t.number in finals else None) for k in extra),
             *([_failed_text(failed[t.number]) if t.number in failed else None] if show_failed else [])]
            for t in chosen]
    attrs = [f'class="nf-select" data-number="{t.number}"' for t in chosen]
    return section("summary", "Summary", summary + f"<h3>{caption}</h3>" + html_table(columns, rows, row_attrs=attrs))


def trials_text(data: StudyData, running: str = "") -> str:
    """The trials of ``data`` by state, with stage-2 retrains the search and retrain counts first (``5 (4 search,
    1 stage-2 retrain): 5 COMPLETE``); ``running`` follows the RUNNING count."""
    states = ", ".join(f"{n} {s}" + (running if s == "RUNNING" else "") for s, n in data.counts().items() if n)
    retrains = len(data.trials) - len(data.search_trials)
    split = f" ({len(data.search_trials)} search, {retrains} stage-2 retrain{'s' * (retrains > 1)})" if retrains else ""
    return f"{len(data.trials)}{split}" + (f": {states}" if states else "")


def _asked_workers(data: StudyData) -> str:
    """The workers the last run asked for (its executor beside them), "" when none was recorded. When that run was
    the stage-2 retraining of a ``nasforge search`` (at most one worker per network retrained), the workers its
    search was started with come first, so that a one-network retraining does not read as a serial search."""
    run = data.run_config or {}
    if not run.get("n_workers"):
        return ""
    last = f"{run['n_workers']} ({run.get('executor', 'inline')})"
    searched = _search_config(data).get("workers")
    if isinstance(searched, int) and len(data.trials) > len(data.search_trials):  # retrains: stage 2 ran last
        executor = "process" if searched > 1 else "inline"  # as nasforge search runs it
        return f"the search was started with {searched} ({executor}), the stage-2 retraining (the last run) asked " \
               f"for {last}; "
    return f"last run asked for {last}; "


def _search_config(data: StudyData) -> dict[str, Any]:
    """The settings a ``nasforge search`` run recorded with its study (``pipeline_config``), ``{}`` for any other
    study (an attribute of that name a user set on their own study is not read)."""
    return search_config(data.user_attrs) if data.user_attrs.get("pipeline") == "search" else {}


def _fingerprint(data: StudyData) -> str | None:
    """The content fingerprint of its data a ``nasforge search`` run recorded (``data_fingerprint``); None where it
    recorded none, or a value that is no non-empty text (a damaged or hand-edited record: read as none)."""
    value = data.user_attrs.get("data_fingerprint")
    return value if isinstance(value, str) and value else None


def searched_data(studies: Sequence[StudyData]) -> list[str | None]:
    """Per study, the data a ``nasforge search`` run recorded searching: its data set and the file or folder read
    (``npz /runs/mydata.npz``; ``digits``), with the start of its content fingerprint where studies of one file
    recorded other contents (the file changed between them); None for a study that recorded none."""
    texts: list[str | None] = []
    for data in studies:
        config = _search_config(data)
        name, where = config.get("data"), config.get("data_dir")
        texts.append(None if not name else f"{name} {where}" if where else str(name))
    prints = [_fingerprint(d) if t else None for d, t in zip(studies, texts)]
    for text in {t for t in texts if t}:
        same = [k for k, t in enumerate(texts) if t == text]
        if len({prints[k] for k in same} - {None}) > 1:  # one path, other contents
            for k in same:
                texts[k] = f"{text} (content {prints[k][:8]})" if prints[k] else texts[k]
    return texts


def _retrain_text(retrains: Sequence[Retrained]) -> str:
    """The summary's stage-2 row: architectures retrained (a completed retrain) of those sent to retrain, and the
    ones that did not complete ("0 of 1 architecture(s) retrained; 1 did not complete: trial 10 (Error: ...)")."""
    done = {r.source for r in retrains if r.completed}
    failed = [r for r in retrains if not r.completed and r.source not in done]
    text = f"{len(done)} of {len({r.source for r in retrains})} architecture(s) retrained"
    if failed:
        text += f"; {len(failed)} did not complete: " + "; ".join(_failed_text(r) for r in failed)
    return text


def _failed_text(retrain: Retrained) -> str:
    """A retrain that did not complete, as a short text: its trial (or search trial) and error."""
    name = f"trial {retrain.number}" if retrain.number is not None else f"retrain of trial {retrain.source}"
    error = (retrain.error or "").strip().splitlines()
    return f"{name} ({error[-1][:120] if error else 'no result'})"


# -- progress --------------------------------------------------------------------------------------
def progress_view(studies: Sequence[StudyData], optimum: float | None = None,
                  labels: Sequence[str] | None = None) -> str:
    """Best-so-far (regret when ``optimum`` is known; hypervolume for several objectives) over trials
    and over wall-clock time, one line per study, named by ``labels`` (default: the studies' names)."""
    first = studies[0]
    multi = len(first.objectives) > 1
    reference = _reference(studies) if multi else None
    if multi:
        label = f"hypervolume of the {'feasible ' if first.constraints else ''}complete trials so far"
    elif optimum is not None:
        label = f"regret of {first.objectives[0]} (optimum {optimum:g})"
    else:
        label = f"best {first.objectives[0]} so far"
    by_trial, by_time = _figure(xaxis_title="trials finished (any state), in order of completion", yaxis_title=label), \
        _figure(xaxis_title="wall-clock seconds since the first trial started", yaxis_title=label)
    import plotly.graph_objects as go

    lines, unmet, missing = [], [], []
    for data, shown in zip(studies, labels or [d.name for d in studies]):
        done = sorted(data.ranked(), key=lambda t: (t.finished_at or 0.0, t.number))
        missing += [] if done else [shown]
        if not multi and data.constraints:  # the best so far is feasible, as the best trial is once one is
            feasible = [t for t, v in zip(done, data.violations(done)) if v == 0]
            unmet += [shown] if done and not feasible else []
            done = feasible
        if done:
            curve = _hypervolume_curve(data, done, reference) if multi else _best_curve(data, done, optimum)
            lines.append((data, shown, done, curve))
    if not lines:
        empty = "No complete trial meets the constraints yet." if unmet else "No complete trial yet."
        return section("progress", "Progress", f"<p>{empty}</p>")
    regret = optimum is not None and not multi
    floor, ticks = regret_axis(np.concatenate([curve for *_, curve in lines])) if regret else (None, [])
    short: list[str] = []  # the studies whose value drawn last is short of the full budget, with that budget
    for data, shown, done, curve in lines:
        # each point names (and a click selects) the trial holding its value: the incumbent, or the last to raise
        # the hypervolume; %{text} is the trial that had just finished
        points = _progress_points(data, done, _raisers(done, curve) if multi else _incumbents(data, done), curve)
        template: str | list[str] = "after trial %{text} finished, best so far: " + HOVER
        if multi:
            template = "after trial %{text} finished, hypervolume last raised by: " + HOVER
            if not all(points["y"]):  # no feasible trial yet at the first points: no trial to name
                template = [template if value else "after trial %{text} finished: hypervolume 0 so far<extra></extra>"
                            for value in points["y"]]
        y = _floored(points["y"], floor) if regret else points["y"]
        budget = budget_of_full(data, points["holders"][-1], below_full=True)
        short += [f"{shown}{budget}"] if budget else []
        for fig, x in ((by_trial, points["trials"]), (by_time, points["seconds"])):
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=_plain(shown), line_shape="hv",
                                     marker=dict(size=4), customdata=hover_data(data, points["holders"]),
                                     text=points["numbers"], hovertemplate=template))
    if regret:
        for fig in (by_trial, by_time):
            _log_regret_yaxis(fig, ticks)
    no_line = f" (no line for {', '.join(missing)}: no complete trial yet)" if missing else ""
    note = "" if len(studies) == 1 else f"{len(studies)} studies of space {first.space.name} overlaid{no_line}."
    note += _other_data_note(studies, labels or [d.name for d in studies])
    if regret:
        note += (" " if note else "") + "Regret 0 (the optimum found) is drawn on the bottom line labelled 0."
    if multi:
        note += (" " if note else "") + _reference_note(studies, reference)
    if not multi and first.constraints:
        note += ((" " if note else "") + "Constraints: the best so far is of the complete trials that meet them"
                 + (f" (no line for {', '.join(unmet)}: none does yet)." if unmet else "."))
    if any(len(data.ranked()) < len(data.complete) for data in studies):
        note += ((" " if note else "") + "Multi-fidelity: only the trials at the highest budget reached are ranked "
                 "(as the best trial is), so a low-budget result never counts as the best so far.")
    if short:  # a study that has not reached its full budget: its line is of lower-budget results
        note += (" " if note else "") + f"Not at the full budget yet: {', '.join(short)}."
    return section("progress", "Progress", '<div class="nf-row">' + figure_html(by_trial, "progress-trials") +
                   figure_html(by_time, "progress-time") + "</div>", note)


def _other_data_note(studies: Sequence[StudyData], labels: Sequence[str]) -> str:
    """`` These studies searched different data (...): ...`` when the studies compared recorded other data (both
    accuracy and size depend on it: input channels, classes), else "". Where every such study recorded its data's
    content fingerprint, those decide: one file copied to two paths is the same data."""
    texts = searched_data(studies)
    prints = [_fingerprint(d) for d, t in zip(studies, texts) if t]
    if all(p is not None for p in prints):
        if len(set(prints)) < 2:
            return ""
    elif len({t for t in texts if t}) < 2:
        return ""
    shown = "; ".join(f"{label}: {text}" for label, text in zip(labels, texts) if text)
    return f" These studies searched different data ({shown}): their values are not comparable as one."


def _progress_points(data: StudyData, done: list[Trial], holders: list[Trial], curve: list[float]) -> dict[str, list]:
    """The points a progress line draws (``line_shape="hv"``): the first, those where ``curve`` changes and the
    last of ``done``, then one at the last finished search trial (any state: trials spent after the last ranked
    one), so a long study carries one hover entry per change, not per trial. ``holders``: the trial each point of
    ``done`` names."""
    keep = [k for k in range(len(done)) if k == 0 or k == len(done) - 1 or curve[k] != curve[k - 1]]
    start = data.first_start() or 0.0  # a ranked trial was claimed, so there is one
    counts = _finished_counts(data, done)
    points: dict[str, list] = {
        "trials": [counts[k] for k in keep], "seconds": [(done[k].finished_at or start) - start for k in keep],
        "y": [curve[k] for k in keep], "holders": [holders[k] for k in keep], "numbers": [done[k].number for k in keep]}
    finished = [t for t in data.search_trials if t.state.finished and t.finished_at]
    if len(finished) > points["trials"][-1]:
        last = max(finished, key=lambda t: (t.finished_at, t.number))
        for key, value in (("trials", len(finished)), ("seconds", max(last.finished_at - start, points["seconds"][-1])),
                           ("y", curve[-1]), ("holders", holders[-1]), ("numbers", last.number)):
            points[key].append(value)
    return points


def _finished_counts(data: StudyData, done: list[Trial]) -> list[int]:
    """Per trial of ``done``: how many search trials (any state) had finished when it did, so that failed and
    pruned trials count as spent budget."""
    import bisect

    ends = sorted(t.finished_at for t in data.search_trials if t.state.finished and t.finished_at)
    return [bisect.bisect_right(ends, t.finished_at) if t.finished_at else k + 1 for k, t in enumerate(done)]


def regret(optimum: float, value: float, direction: str) -> float:
    """How far ``value`` is from ``optimum`` in ``direction`` (negative: better than it), 0 within
    :data:`nasforge.analysis.regret.REGRET_TOLERANCE`."""
    gap = _sign(direction) * (optimum - value)
    return 0.0 if within_rounding(gap, optimum, value) else gap


def _raisers(done: list[Trial], curve: list[float]) -> list[Trial]:
    """Per trial of ``done`` (in order): the last trial so far that raised the hypervolume ``curve`` (while none
    has, the trial itself; its point reads hypervolume 0)."""
    out: list[Trial] = []
    for k, t in enumerate(done):
        out.append(t if not out or curve[k] > curve[k - 1] else out[-1])
    return out


def _incumbents(data: StudyData, done: list[Trial]) -> list[Trial]:
    """Per trial of ``done`` (in order): the trial holding the best value of the first objective so far (the
    first to reach it)."""
    sign, objective = _sign(data.directions[0]), data.objectives[0]
    out: list[Trial] = []
    for t in done:
        out.append(t if not out or sign * t.metrics[objective] > sign * out[-1].metrics[objective] else out[-1])
    return out


def _best_curve(data: StudyData, done: list[Trial], optimum: float | None) -> list[float]:
    sign = _sign(data.directions[0])
    values = np.array([t.metrics[data.objectives[0]] for t in done]) * sign
    best = np.maximum.accumulate(values) * sign
    if optimum is None:
        return best.tolist()
    return [regret(optimum, float(b), data.directions[0]) for b in best]  # checked: never negative


def _reference(studies: Sequence[StudyData]) -> np.ndarray:
    """The hypervolume reference of the complete trials of all studies (:func:`nasforge.pareto.reference_point`,
    original units)."""
    first = studies[0]
    values = np.vstack([d.values() for d in studies if d.complete] or [np.zeros((1, len(first.objectives)))])
    return reference_point(values, first.directions)


def _reference_note(studies: Sequence[StudyData], reference: np.ndarray) -> str:
    """The Progress note's line on the hypervolume's ``reference`` point, which the studies on the page share."""
    first = studies[0]
    point = ", ".join(f"{o} {number_text(float(v))}" for o, v in zip(first.objectives, reference))
    over = "its complete trials" if len(studies) == 1 else f"the complete trials of the {len(studies)} studies"
    shared = "" if len(studies) == 1 else (": shared by them, so a study's hypervolume here depends on the studies "
                                           "shown with it")
    breaking = " (those breaking the constraints too)" if first.constraints else ""
    return (f"Hypervolume reference point: {point}, {REFERENCE_MARGIN:.0%} of each objective's range beyond its "
            f"worst value over {over}{breaking}{shared}.")


def _hypervolume_curve(data: StudyData, done: list[Trial], reference: np.ndarray) -> list[float]:
    """Hypervolume of the feasible trials among the first n of ``done``, per n (0 while none is feasible): exact
    at every trial (:func:`~nasforge.pareto.hypervolume_progress`)."""
    values, feasible = data.values(done), data.violations(done) == 0
    progress = np.append(0.0, hypervolume_progress(values[feasible], reference, data.directions))
    return progress[np.cumsum(feasible)].tolist()


# -- Pareto front ----------------------------------------------------------------------------------
def pareto_view(data: StudyData) -> str:
    """Two objectives: all complete trials, the front as a staircase, retrained results as stars.
    Three or more: parallel coordinates. One: the objective of every trial in order."""
    import plotly.graph_objects as go

    done = data.complete
    if not done:
        title = "Objective per trial" if len(data.objectives) == 1 else "Pareto front"
        return section("pareto", title, "<p>No complete trial yet.</p>")
    shown = _plotted(data, done)
    cut = _plotted_note(data, shown)
    if len(data.objectives) >= 3:
        values = data.values(shown)
        front = {t.number for t in data.front()}
        breaking = {t.number for t in data.infeasible()} - front
        fig = _figure(height=460)
        fig.add_trace(go.Parcoords(  # the front blue, trials breaking the constraints orange, the others grey
            line=dict(color=[1.0 if t.number in front else 0.5 if t.number in breaking else 0.0 for t in shown],
                      colorscale=[[0, "#c8c8c8"], [0.5, "#ff7f0e"], [1, "#1f77b4"]], cmin=0, cmax=1),
            dimensions=[dict(label=_plain(f"{o} ({d[:3]})"), values=values[:, k])
                        for k, (o, d) in enumerate(zip(data.objectives, data.directions))] +
                       [dict(label="trial", values=[t.number for t in shown])]))
        note = f"{len(front)} Pareto-optimal trials (blue) of {len(done)}; drag along an axis to filter."
        note += _front_constraints(data, "orange lines; " if breaking else "") + _mixed_budgets(done) + cut
        return section("pareto", "Pareto front", figure_html(fig, "pareto"), note)
    if len(data.objectives) == 1:
        objective = data.objectives[0]
        fig = _figure(xaxis_title="trial", yaxis_title=objective)
        budgets = _budgets(done)
        infeasible = data.infeasible()
        breaking = {t.number for t in infeasible}
        drawn = {t.number for t in shown}
        for budget in budgets:  # several budgets (multi-fidelity): one colour each, never mixed unseen
            group = [t for t in shown if budget_text(t) == budget and t.number not in breaking]
            if not group:
                continue
            fig.add_trace(go.Scatter(x=[t.number for t in group], y=[t.metrics[objective] for t in group],
                                     mode="markers", name=_plain(f"budget {budget}" if len(budgets) > 1
                                                                 else "complete trials"),
                                     customdata=hover_data(data, group), hovertemplate=HOVER))
        crosses = [t for t in infeasible if t.number in drawn]
        if crosses:
            fig.add_trace(go.Scatter(x=[t.number for t in crosses], y=[t.metrics[objective] for t in crosses],
                                     mode="markers", name="infeasible trials", marker=INFEASIBLE_MARKER,
                                     customdata=hover_data(data, crosses), hovertemplate=HOVER))
        _add_retrained(fig, data, None, objective)
        note = "One objective: every complete trial (click a point to see its architecture)."
        if data.constraints:
            note += (f" Constraints {', '.join(data.constraints)}: {len(infeasible)} trial(s) break them"
                     + (" (crosses)" if infeasible else "") + "; the best trial and the progress are of the trials "
                     "that meet them while any does.")
        if len(budgets) > 1:
            note += (f" Multi-fidelity: {len(budgets)} budgets, one colour each; a low-budget result is not comparable"
                     " to a full one.")
        return section("pareto", "Objective per trial", figure_html(fig, "pareto"), note + cut)
    y_name, x_name = data.objectives[0], data.objectives[1]
    front = sorted(data.front(), key=lambda t: (t.metrics[x_name], t.number))
    numbers = {t.number for t in front}
    drawn = {t.number for t in shown}
    infeasible = [t for t in data.infeasible() if t.number not in numbers and t.number in drawn]
    numbers |= {t.number for t in infeasible}
    rest = [t for t in shown if t.number not in numbers]
    xs = np.array([t.metrics[x_name] for t in done])
    log_x = bool(xs.min() > 0 and xs.max() / xs.min() > 100)
    fig = _figure(xaxis_title=f"{x_name} ({data.directions[1]})", yaxis_title=f"{y_name} ({data.directions[0]})",
                  height=480)
    fig.add_trace(go.Scatter(x=[t.metrics[x_name] for t in rest], y=[t.metrics[y_name] for t in rest],
                             mode="markers", name="dominated trials", marker=dict(color="#b0b0b0", size=7),
                             customdata=hover_data(data, rest), hovertemplate=HOVER))
    if infeasible:
        fig.add_trace(go.Scatter(x=[t.metrics[x_name] for t in infeasible], y=[t.metrics[y_name] for t in infeasible],
                                 mode="markers", name="infeasible trials", marker=INFEASIBLE_MARKER,
                                 customdata=hover_data(data, infeasible), hovertemplate=HOVER))
    fig.add_trace(go.Scatter(x=[t.metrics[x_name] for t in front], y=[t.metrics[y_name] for t in front],
                             mode="lines+markers", name="Pareto front",
                             line=dict(shape="hv" if data.directions[1] == "minimize" else "vh", color="#1f77b4"),
                             marker=dict(size=9, color="#1f77b4"),
                             customdata=hover_data(data, front), hovertemplate=HOVER))
    _add_retrained(fig, data, x_name, y_name)
    if log_x:
        fig.update_xaxes(type="log")
    note = (f"{len(front)} Pareto-optimal of {len(done)} complete trials; hover a point for its architecture and "
            "metrics, click it to draw the architecture.")
    note += _front_constraints(data) + _mixed_budgets(done) + cut
    return section("pareto", "Pareto front", figure_html(fig, "pareto"), note)


def _front_constraints(data: StudyData, drawn: str = "") -> str:
    """The Pareto note's sentence on the constraints, '' without any: how many complete trials break them (``drawn``
    says how they are marked, e.g. "orange lines; ") and which trials the front holds."""
    if not data.constraints:
        return ""
    rule = ("only trials that meet them, as the search run's front.json" if data.feasible_only() else
            "feasible-first: the best of the least-violating trials while none is feasible")
    return (f" Constraints {', '.join(data.constraints)}: {len(data.infeasible())} trial(s) break them ({drawn}the "
            f"front is {rule}).")


def _mixed_budgets(trials: Sequence[Trial]) -> str:
    """A note's sentence when ``trials`` were run at several budgets (multi-fidelity), else ''."""
    budgets = _budgets(trials)
    if len(budgets) < 2:
        return ""
    return (f" Multi-fidelity: these trials ran at {len(budgets)} budgets (hover shows each one's), so low-budget and "
            "full results are mixed here.")


def _add_retrained(fig: Any, data: StudyData, x_name: str | None, y_name: str) -> None:
    """Completed stage-2 results as stars at the retrain's own x (its search trial's when it has none; one objective:
    the trial number), y = retrained ``y_name`` (else test_acc)."""
    import plotly.graph_objects as go

    by_number = {t.number: t for t in data.trials}
    points, custom, label = [], [], None
    for r in data.retrained():
        if not r.completed:  # a failed or pruned retrain has no final result to draw
            continue
        metric = y_name if y_name in r.metrics else ("test_acc" if "test_acc" in r.metrics else None)
        source = by_number.get(r.source) if r.source is not None else None
        if metric is None or source is None:
            continue
        label = label or metric
        x = source.number if x_name is None else r.metrics.get(x_name, source.metrics.get(x_name))
        points.append((x, r.metrics[metric]))
        text = "<br>".join(f"{escape(k)} = {number_text(float(v))}" for k, v in sorted(r.metrics.items())
                           if isinstance(v, (int, float)))
        custom.append([source.number, _wrap(data.arch_text[source.number]), "retrained (stage 2)<br>" + text])
    if points:
        fig.add_trace(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points], mode="markers",
                                 name=_plain(f"retrained ({label})"),
                                 marker=dict(symbol="star", size=14, color="#d62728"),
                                 customdata=custom, hovertemplate=HOVER))


# -- architecture ----------------------------------------------------------------------------------
def architecture_view(data: StudyData) -> str:
    """The selected trial's diagram and details; starts on the best (first front) trial. The :data:`MAX_DIAGRAMS`
    drawn trials each have a ``<template>``; the others' text form is built on click by the page script from one
    JSON object (``id="nf-arch-text"``, :func:`_text_forms`)."""
    order = [t.number for t in data.front()] + ([data.best().number] if data.best() is not None else [])
    order += [t.number for t in data.trials]
    ordered = list(dict.fromkeys(order))
    by_number = {t.number: t for t in data.trials}
    templates = []
    for number in ordered[:MAX_DIAGRAMS]:
        t = by_number[number]
        budget = [("budget", budget_text(t))] if t.fidelity else []
        details = html_table(["", ""], [("trial", number), ("state", t.state.value),
                                        ("architecture", data.arch_text[number]), *budget,
                                        *((k, v) for k, v in sorted(t.metrics.items()))], cls="nf-summary")
        templates.append(f'<template id="nf-arch-{number}"><div class="nf-diagram">'
                         f'{architecture_svg(data.space, t.arch)}</div>{details}</template>')
    undrawn = [by_number[n] for n in ordered[MAX_DIAGRAMS:]]
    if undrawn:
        templates.append(_text_forms(data, undrawn))
    initial = ordered[0] if ordered else None
    note = "Click a point in a plot or a row in a table to show that trial."
    if len(data.trials) > MAX_DIAGRAMS:
        note += (f" Diagrams are embedded for {MAX_DIAGRAMS} of {len(data.trials)} trials (the front and best first);"
                 " the others show their architecture string, state and metrics.")
    body = (f'<div id="nf-arch-view" data-initial="{"" if initial is None else initial}"></div>'
            + "".join(templates))
    return section("architecture", "Architecture", body, note)


def _text_forms(data: StudyData, trials: Sequence[Trial]) -> str:
    """The text form of ``trials`` (those without a diagram) as one JSON object the page script turns into the
    details table a drawn trial's template has: ``{"holds": MAX_DIAGRAMS, "keys": [metric names], "trials":
    {number: [state, architecture, budget or null, [key index, value, key index, value, ...]]}}``, the values as
    the table cells read (:func:`number_text`), so a large study carries each trial's details once."""
    keys = sorted({k for t in trials for k in t.metrics})
    index = {k: i for i, k in enumerate(keys)}
    forms = {}
    for t in trials:
        pairs = [x for k, v in sorted(t.metrics.items()) for x in (index[k], _cell_json(v))]
        forms[t.number] = [t.state.value, data.arch_text[t.number], budget_text(t), pairs]
    payload = json.dumps({"holds": MAX_DIAGRAMS, "keys": keys, "trials": forms}, separators=(",", ":"))
    return f'<script type="application/json" id="nf-arch-text">{_script_safe(payload)}</script>'


def _cell_json(value: Any) -> Any:
    """``value`` as JSON the page script shows as :func:`html_table` shows it in a cell (unescaped): a float that
    JavaScript prints as :func:`number_text` does as a number, any other as its text."""
    text = unescape(_cell(value))
    if isinstance(value, float) and math.isfinite(value) and "e" not in text:
        return int(text) if value.is_integer() else float(text)  # printed alike by Python and JavaScript
    return value if isinstance(value, int) and not isinstance(value, bool) else text


def _script_safe(payload: str) -> str:
    """JSON text safe inside a ``<script>`` element: ``<``, ``>`` and ``&`` as JSON escapes, as plotly writes its
    figures (``</`` would close the element, and ``<!--`` then ``<script`` keep it from closing where it ends)."""
    return payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# -- operation importance --------------------------------------------------------------------------
def importance_view(data: StudyData) -> str:
    """Per objective: a heatmap of the mean objective per edge/layer and op, and random-forest importances."""
    import plotly.graph_objects as go

    if not data.complete:
        return section("importance", "Operation importance", "<p>No complete trial yet.</p>")
    parts, forests = [], {}
    for k, objective in enumerate(data.objectives):
        table = op_means(data, objective)
        text = [[f"{number_text(m)} (n={c})" if c else "" for m, c in zip(mrow, crow)]
                for mrow, crow in zip(table.mean, table.count)]
        fig = _figure(title=f"mean {objective} of the trials using each choice", xaxis_title="choice",
                      yaxis_title="edge/layer", height=max(320, 28 * len(table.params) + 120))
        fig.add_trace(go.Heatmap(z=table.mean, x=[_plain(c) for c in table.choices],
                                 y=[_plain(p) for p in table.params], text=text,
                                 hovertemplate="%{y} = %{x}<br>mean %{text}<extra></extra>",
                                 colorscale="Viridis", reversescale=data.directions[k] == "minimize",
                                 colorbar=dict(title=_plain(objective))))
        fig.update_yaxes(autorange="reversed")
        parts.append(figure_html(fig, f"importance-{k}"))
        forest = forest_importance(data, objective)
        if forest is not None:
            forests[objective] = forest
    if forests:
        fig = _figure(title="random-forest importance of each edge/layer", barmode="group",
                      xaxis_title="edge/layer", yaxis_title="share of impurity decrease")
        for objective, forest in forests.items():
            fig.add_trace(go.Bar(x=[_plain(p) for p in forest], y=list(forest.values()), name=_plain(objective)))
        parts.append(figure_html(fig, "importance-forest"))
        rows = len(data.complete)
        sample = (f" (fitted on {MAX_FOREST_ROWS} of the {rows} complete trials, drawn at random with a fixed seed)"
                  if rows > MAX_FOREST_ROWS else "")
        note = ("Importance: a 100-tree random forest (scikit-learn) on one-hot choices, impurity decrease summed "
                f"per edge/layer{sample}; means and importances describe the trials this strategy chose, not the "
                "whole space.")
    else:
        note = (f"The random-forest importance needs at least 10 complete trials with varying objectives "
                f"({len(data.complete)} so far).")
    if len(_budgets(data.complete)) > 1:
        note += f" Multi-fidelity: these use the complete trials of all {len(_budgets(data.complete))} budgets."
    return section("importance", "Operation importance", "".join(parts), note)


# -- learning curves -------------------------------------------------------------------------------
def curves_view(data: StudyData) -> str:
    """Intermediate values the search trials reported during training; pruned trials dashed red, ending in a cross;
    a curve of one value is a dot (a line needs two). Stage-2 retrains (long runs of another kind) are left out and
    counted in the note."""
    import plotly.graph_objects as go

    from ..harness import counted

    every = [t for t in data.search_trials if t.intermediate]
    retrains = sum(bool(t.intermediate) for t in data.trials) - len(every)
    left_out = (f" {counted(retrains, 'stage-2 retrain curve')} left out (retrains are not search trials)."
                if retrains else "")
    with_curves = every[-MAX_CURVES:]
    if not with_curves:
        return section("curves", "Learning curves", f"<p>No search trial reported intermediate values.{left_out}</p>")
    fig = _figure(xaxis_title="step", yaxis_title=f"reported value ({data.objectives[0]})", showlegend=False)
    for t in with_curves:
        steps, values = zip(*t.intermediate)
        pruned = t.state == TrialState.PRUNED
        color = STATE_COLORS.get(t.state.value, "#1f77b4")
        end_symbol, end_size = ("x", 9) if pruned else ("circle", 6)
        fig.add_trace(go.Scatter(
            x=steps, y=values, mode="lines+markers" if pruned or len(steps) == 1 else "lines", name=f"trial {t.number}",
            line=dict(color=color, width=1.2, dash="dash" if pruned else "solid"), opacity=0.8 if pruned else 0.5,
            marker=dict(symbol=["circle"] * (len(steps) - 1) + [end_symbol], size=[0] * (len(steps) - 1) + [end_size]),
            customdata=[hover_data(data, [t])[0]] * len(steps), hovertemplate=HOVER))
    counts = {s: sum(t.state.value == s for t in with_curves) for s in ("COMPLETE", "PRUNED", "RUNNING", "FAILED")}
    note = ", ".join(f"{n} {s.lower()}" for s, n in counts.items() if n) + " trial curves; pruned ones dashed red."
    if len(every) > len(with_curves):
        note = f"Showing the last {len(with_curves)} of {len(every)} trials' curves: " + note
    return section("curves", "Learning curves", figure_html(fig, "curves"), note + left_out)


# -- failures --------------------------------------------------------------------------------------
def failures_view(data: StudyData) -> str:
    """Failed trials with their error text, attempts and what became of their retries."""
    failed = [t for t in data.trials if t.state == TrialState.FAILED]
    if not failed:
        return section("failures", "Failures", "<p>No trial failed.</p>")
    retried_by = data.retries()
    by_number = {t.number: t for t in data.trials}
    rows, attrs = [], []
    for t in failed:
        nxt = retried_by.get(t.number)
        outcome = f"trial {nxt}: {by_number[nxt].state.value}" if nxt is not None else "not retried"
        rows.append([t.number, data.arch_text[t.number], _error_text(t), t.attempts, t.retry_of, outcome])
        attrs.append(f'class="nf-select" data-number="{t.number}"')
    table = html_table(["trial", "architecture", "error", "attempts", "retry of", "retry"], rows, row_attrs=attrs)
    return section("failures", "Failures", table, f"{len(failed)} failed trial(s) of {len(data.trials)}.")


# -- model diagnostics -----------------------------------------------------------------------------
def diagnostics_view(data: StudyData, diagnostics: dict[str, Any] | None) -> str:
    """Leave-one-out predicted vs actual with intervals, when the strategy's model provided them."""
    import plotly.graph_objects as go

    if diagnostics and "skipped" in diagnostics:  # the model needs a package that is not installed
        return section("diagnostics", "Model diagnostics", f"<p>No model diagnostics: {escape(diagnostics['skipped'])}"
                                                           ".</p>")
    if not diagnostics:
        return section("diagnostics", "Model diagnostics",
                       f"<p>No model diagnostics: strategy {escape(data.strategy)!s} has no surrogate model with "
                       "leave-one-out diagnostics, or none were recorded.</p>")
    actual = np.asarray(diagnostics["actual"], dtype=float)
    predicted = np.asarray(diagnostics["predicted"], dtype=float)
    lower, upper = diagnostics.get("lower"), diagnostics.get("upper")
    error_y = None
    if lower is not None and upper is not None:
        error_y = dict(type="data", symmetric=False, array=(np.asarray(upper, dtype=float) - predicted).tolist(),
                       arrayminus=(predicted - np.asarray(lower, dtype=float)).tolist(), color="#9ecae1")
    fig = _figure(xaxis_title=f"actual {diagnostics.get('metric', data.objectives[0])}",
                  yaxis_title="leave-one-out prediction", height=440)
    trials, unusable = _diagnostic_trials(data, diagnostics.get("numbers"), len(actual))
    fig.add_trace(go.Scatter(x=actual.tolist(), y=predicted.tolist(), mode="markers", error_y=error_y, name="trials",
                             customdata=[None if t is None else hover_data(data, [t])[0] for t in trials],
                             hovertemplate=[NO_TRIAL_HOVER if t is None else HOVER for t in trials]))
    both = np.concatenate([actual, predicted])  # recorded nulls (missing values) are NaN: left out
    span = [float(np.nanmin(both)), float(np.nanmax(both))]
    fig.add_trace(go.Scatter(x=span, y=span, mode="lines", name="y = x", line=dict(color="#888", dash="dot")))
    scores = {k: v for k, v in diagnostics.items() if k in DIAGNOSTIC_SCORES and v is not None}
    history = diagnostics.get("history")  # computed ones: [results fitted on, results]; a recorded one may be other
    usable = (isinstance(history, (list, tuple)) and len(history) == 2
              and all(isinstance(v, int) and not isinstance(v, bool) for v in history))
    fitted, total = history if usable else (None, None)
    others = f"the others of the last {fitted} of {total} results" if fitted and fitted < total else "all the others"
    note = (f"Leave-one-out: each result predicted by the strategy's model fitted on {others} "
            "(bars: 95 % intervals). " + ", ".join(f"{k} {number_text(float(v))}" for k, v in scores.items()))
    if unusable:
        note += f" The recorded 'numbers' {unusable}: those points name no trial."
    return section("diagnostics", "Model diagnostics", figure_html(fig, "diagnostics"), note)


def _diagnostic_trials(data: StudyData, numbers: Any, n: int) -> tuple[list[Trial | None], str]:
    """The trial each of the ``n`` diagnostic results names by its entry in the recorded ``numbers`` (None for a
    ``null``, which the docs allow, and for an entry that is no trial number of the study), and what made entries
    unusable ("" when none was: a ``null`` is not)."""
    if numbers is None:
        return [None] * n, ""
    if not isinstance(numbers, (list, tuple)):
        return [None] * n, f"is {numbers!r:.40}, not a list of trial numbers"
    if len(numbers) != n:
        return [None] * n, f"has {len(numbers)} entries for {n} results"
    by_number = {t.number: t for t in data.trials}
    trials = [by_number.get(k) if isinstance(k, int) and not isinstance(k, bool) else None for k in numbers]
    bad = [k for k, t in zip(numbers, trials) if t is None and k is not None]
    return trials, (f"has {len(bad)} of {n} entries that are no trial number of this study (first: {bad[0]!r:.40})"
                    if bad else "")


# -- trials table ----------------------------------------------------------------------------------
def trials_table_view(data: StudyData) -> str:
    """Every trial: sortable by any column (click its header), filterable by text."""
    metrics = sorted({k for t in data.trials for k, v in t.metrics.items() if isinstance(v, (int, float))},
                     key=lambda k: (k not in data.objectives, k))
    budgets = any(t.fidelity for t in data.trials)  # multi-fidelity: a budget-4 result is not a full one
    columns = ["trial", "state", "architecture", *(["budget"] if budgets else []), *metrics, "seconds", "attempts",
               "run process", "error"]
    rows, attrs = [], []
    infeasible = {t.number for t in data.infeasible()}
    for t in data.trials[-MAX_ROWS:]:
        seconds = (t.finished_at - t.started_at) if t.finished_at and t.started_at else None
        stage = stage_of(t, default=None)
        state = t.state.value + (f" ({stage})" if stage else "") + (" (infeasible)" if t.number in infeasible else "")
        rows.append([t.number, state, data.arch_text[t.number], *([budget_text(t)] if budgets else []),
                     *(t.metrics.get(m) for m in metrics), seconds,
                     t.attempts, _worker_pid(t.worker),
                     _error_text(t)[:200]])
        attrs.append(f'class="nf-select" data-number="{t.number}"')
    filter_box = ('<input type="search" id="nf-filter" placeholder="filter rows (text in any column)"> '
                  '<span id="nf-filter-count"></span>')
    table = html_table(columns, rows, cls="nf-table nf-sortable", row_attrs=attrs).replace(
        '<table class="nf-table nf-sortable">', '<table class="nf-table nf-sortable" id="nf-trials-table">', 1)
    shown = (f"Showing the last {len(rows)} of {len(data.trials)} trials ({list_all(data)} lists them all). "
             if len(data.trials) > len(rows) else "")
    return section("trials", "Trials", filter_box + '<div class="nf-scroll">' + table + "</div>",
                   shown + "Click a column header to sort (again to reverse); run process = the process id of the "
                   "run (or resume) that claimed the trial, the same for each of its worker processes.")


def list_all(data: StudyData) -> str:
    """What lists every trial of ``data``: ``nasforge trials NAME --storage URL --out trials.csv`` for a stored
    study (never with the storage's password), ``study.trials_dataframe()`` for one in memory."""
    from ...experiment.storage.display import study_command

    if data.storage_url == "memory":
        return "study.trials_dataframe()"
    return study_command("trials", data.name, data.storage_url, "--out", "trials.csv")


def _plotted(data: StudyData, trials: Sequence[Trial]) -> list[Trial]:
    """The ``trials`` (complete ones) the objective plot draws: all up to :data:`MAX_ROWS`, else the last
    :data:`MAX_ROWS` of them with the best trial and the Pareto set."""
    if len(trials) <= MAX_ROWS:
        return list(trials)
    best = data.best()
    keep = {t.number for t in data.front()} | ({best.number} if best is not None else set())
    keep |= {t.number for t in trials[-MAX_ROWS:]}
    return [t for t in trials if t.number in keep]


def _plotted_note(data: StudyData, shown: Sequence[Trial]) -> str:
    """The objective plot's sentence on the trials it leaves out, "" when it draws every complete one."""
    done = data.complete
    if len(shown) == len(done):
        return ""
    return (f" Showing {len(shown)} of {len(done)} complete trials: the last {MAX_ROWS} with the best trial and the "
            f"Pareto set ({list_all(data)} lists them all).")


def _error_text(trial: Trial) -> str:
    """A trial's error, ``FAILED with no error text`` for a failure without one (``Result(status="failed")``: a
    blank cell would read as a lost message), else ""."""
    return trial.error or (error_line(trial) if trial.state == TrialState.FAILED else "")


def _worker_pid(worker: str | None) -> str:
    """The process id in a worker id (``host:...:pid:tag``), else the id itself."""
    parts = (worker or "").split(":")
    return next((p for p in reversed(parts[:-1]) if p.isdigit()), worker or "")


# -- nasforge bench folders ------------------------------------------------------------------------
BENCH_HOVER = "%{fullData.name}: regret %{customdata:.6g} after %{x}<extra></extra>"
"""A bench curve's hover: regret to 6 significant digits, as the summary table gives it (:func:`number_text`)."""


def bench_view(bench: BenchData) -> str:
    """Regret per evaluation and per unique evaluation (mean with interquartile band) of every strategy, on
    log axes; zero regret (the optimum found) is drawn at a floor a decade below the smallest positive regret,
    labelled 0, as bench_regret.png draws it on its linear part near 0."""
    import plotly.graph_objects as go

    from ..harness import counted, lone_points

    meta, curves = bench.meta, bench.curves
    drawn = [c for c in curves.columns if c.startswith("regret_") and c.endswith(("_mean", "_q25", "_q75"))]
    floor, ticks = regret_axis(curves[drawn].to_numpy(dtype=float).ravel())
    parts = []
    for key, prefix, axis in (("eval", "regret", "evaluations"), ("unique", "regret_unique", "unique evaluations")):
        if f"{prefix}_mean" not in curves.columns:
            continue
        fig = _figure(xaxis_title=axis, yaxis_title=f"regret of {meta.get('objective', 'objective')}", height=440)
        for k, name in enumerate(bench.strategies):
            rows = curves[curves["strategy"] == name]
            color = _palette(k)
            x = rows["evaluations"].tolist()
            if f"{prefix}_q25" in rows and f"{prefix}_q75" in rows:
                band = _floored(rows[f"{prefix}_q75"], floor) + _floored(rows[f"{prefix}_q25"], floor)[::-1]
                fig.add_trace(go.Scatter(x=x + x[::-1], y=band, fill="toself", fillcolor=_alpha(color),
                                         line=dict(width=0), hoverinfo="skip", showlegend=False,
                                         name=_plain(f"{name} IQR")))
            mean = rows[f"{prefix}_mean"]
            lone = set(lone_points(mean))  # a line needs two points: a finite one between gaps is a dot
            dots = dict(mode="lines+markers", marker=dict(size=[8 if i in lone else 0 for i in range(len(x))]))
            fig.add_trace(go.Scatter(x=x, y=_floored(mean, floor), name=_plain(name), line=dict(color=color),
                                     customdata=mean.tolist(), hovertemplate=BENCH_HOVER,
                                     **(dots if lone else dict(mode="lines"))))
        fig.update_xaxes(type="log")
        _log_regret_yaxis(fig, ticks)
        parts.append(figure_html(fig, f"bench-{key}"))
    summary = meta.get("summary") or []
    table = ""
    if summary:
        columns = list(summary[0])
        cells = [["-" if row.get(c, "") is None else row.get(c, "") for c in columns] for row in summary]
        table = html_table(columns, cells, cls="nf-table nf-sortable")
    footnote = _bench_footnote(meta.get("stopped_early"), summary)
    if footnote:
        table += f'<p class="nf-note">{escape(footnote)}</p>'
    note = (f"{meta.get('benchmark', '')}: {counted(len(bench.strategies), 'strategy')} x "
            f"{counted(meta.get('seeds', '?'), 'seed')} x {counted(meta.get('budget', '?'), 'evaluation')}; "
            f"optimum {meta.get('optimum', '?')} ({meta.get('direction', '')}); "
            "lines: mean regret, bands: interquartile range over seeds; regret 0 (optimum found) is drawn at the "
            "bottom line labelled 0.")
    skipped = meta.get("skipped_defaults")
    if isinstance(skipped, dict) and skipped:  # an install without their packages ran fewer default strategies
        note += " Default strategies not run: " + "; ".join(f"{name} ({why})" for name, why in skipped.items()) + "."
    return section("bench", "Regret of each strategy", '<div class="nf-row">' + "".join(parts) + "</div>" + table, note)


def _bench_footnote(stopped: Any, summary: list[dict[str, Any]]) -> str:
    """What the ``-`` (null) cells of a bench summary mean, as ``nasforge bench`` says below its table: runs that
    stopped early (``stopped``: bench.json's ``stopped_early``, strategy -> seed -> evaluations), and per-unique
    curves that stop where under half the runs reached n unique evaluations."""
    if not isinstance(stopped, dict):
        stopped = {}
    stopped = {name: seeds for name, seeds in stopped.items() if isinstance(seeds, dict) and seeds}
    blank_mean = any(v is None for row in summary for k, v in row.items() if k.startswith("mean@"))
    repeated = any(row.get(k) is None and row.get(f"mean@{k.split('@', 1)[1]}") is not None
                   for row in summary for k in row if k.startswith("mean_unique@"))
    notes = []
    if stopped or blank_mean:
        runs = "; ".join(f"{name}: " + ", ".join(f"seed {seed} after {n}" for seed, n in list(seeds.items())[:5])
                         + (f" and {len(seeds) - 5} more" if len(seeds) > 5 else "") for name, seeds in stopped.items())
        notes.append("-: a run of the strategy stopped before n evaluations (it found no new architecture to propose"
                     + (f"; {runs}" if runs else "") + "), so no regret after n is reported and its curves end where "
                     "its shortest run stopped.")
    if repeated:
        notes.append("mean_unique -: under half the runs reached n unique evaluations (they repeat architectures), "
                     "so the per-unique curve stops before n.")
    return " ".join(notes)


def _log_regret_yaxis(fig: Any, ticks: list[float]) -> None:
    """A log y axis with a tick per decade of ``ticks``, the first (the floor of
    :func:`~nasforge.analysis.regret.regret_axis`) labelled 0."""
    fig.update_yaxes(type="log", tickvals=ticks, ticktext=["0"] + [f"{t:g}" for t in ticks[1:]])


def _floored(values: Any, floor: float) -> list[float | None]:
    """Regret values with 0 raised to ``floor`` (the positive ones are at least ten times it); NaN (no value)
    stays a gap. A negative regret (a value better than the optimum) is a ValueError, never drawn as 0."""
    out = []
    for v in values:
        if math.isfinite(v) and v < 0:
            raise ValueError(f"negative regret {v:g}: a value better than the optimum cannot be drawn")
        out.append(None if not math.isfinite(v) else max(float(v), floor))
    return out


_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def _palette(k: int) -> str:
    return _COLORS[k % len(_COLORS)]


def _alpha(color: str, alpha: float = 0.15) -> str:
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"
