"""Regressions of review 43's report fixes: the views table of docs/report.md, decimals in the numeric sort, null in
recorded diagnostics, constraint bounds far from the points, a malformed recorded history, multi-objective progress
hovers, NB201's canonical_rule and empty stored space settings when studies are compared."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pytest

from nasforge import Result, Study, get_space
from nasforge.analysis.studyreport import load_study_data, open_readonly, render_study
from nasforge.spaces import ChainSpace

from report_pages import figures

pytest.importorskip("plotly")

DOCS = Path(__file__).resolve().parents[1] / "docs" / "report.md"


def test_docs_views_table_keeps_each_row_on_one_line():
    lines = DOCS.read_text().splitlines()
    start = lines.index("| view | what it shows |")
    rows = []
    for line in lines[start:]:
        if not line.strip():
            break
        assert line.startswith("|") and line.endswith("|"), f"a views table row carries on: {line[:60]!r}"
        rows.append(line.split("|")[1].strip())
    assert rows[2:5] == ["Summary", "Progress", "Pareto front"]


def text_sorted(cells: list[str]) -> list[str]:
    """``cells`` sorted by the report page's text comparator, run in node."""
    from nasforge.analysis.studyreport.page import SCRIPT

    compare = re.search(r"  function textCompare\(a, b\)\{.*?\n  \}\n", SCRIPT, re.S).group(0)
    script = f"{compare}\nconsole.log(JSON.stringify({json.dumps(cells)}.sort(textCompare)))"
    return json.loads(subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the page's comparator")
def test_trials_table_sorts_decimal_and_whole_numbers_inside_text_by_value():
    fractions = ['{"fraction": 1}', '{"fraction": 0.5}', '{"fraction": 0.125}', '{"fraction": 0.25}']
    assert text_sorted(fractions) == ['{"fraction": 0.125}', '{"fraction": 0.25}', '{"fraction": 0.5}',
                                      '{"fraction": 1}']
    assert text_sorted(['{"epochs": 12}', '{"epochs": 1}', '{"epochs": 4}']) == [
        '{"epochs": 1}', '{"epochs": 4}', '{"epochs": 12}']
    assert text_sorted(["b", "a2", "a10", "a"]) == ["a", "a2", "a10", "b"]
    # a number glued to a letter or a dot is a run of digits, not an exponent or a decimal
    assert text_sorted(["mb_k5e3", "mb_k3e10", "mb_k3e6", "mb_k3e3"]) == ["mb_k3e3", "mb_k3e6", "mb_k3e10", "mb_k5e3"]
    assert text_sorted(["v1.10", "v1.9", "v1.2.3"]) == ["v1.2.3", "v1.9", "v1.10"]
    assert text_sorted(["lr 1e-2", "lr 5e-3", "lr 0.02"]) == ["lr 5e-3", "lr 1e-2", "lr 0.02"]


def small_study(**attrs) -> Study:
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0)
    for value in (1.0, 2.0, 3.0, 4.0):
        study.tell(study.ask(), Result(metrics={"acc": value}))
    for key, value in attrs.items():
        study.set_user_attr(key, value)
    return study


def test_recorded_diagnostics_with_null_are_drawn_leaving_the_missing_values_out():
    study = small_study(model_diagnostics={"actual": [1.0, 2.0, 3.0, 4.0], "predicted": [1.1, None, 2.9, 4.2],
                                           "lower": [0.5, None, 2, 3], "upper": [2, None, 4, 5], "rmse": 0.2})
    page = render_study(study)
    assert "No model diagnostics" not in page and "rmse 0.2" in page
    points = figures(page)["nf-plot-diagnostics"]["data"][0]
    assert points["x"] == [1.0, 2.0, 3.0, 4.0] and points["y"][1] is None
    study.set_user_attr("model_diagnostics", {"actual": [1.0, None], "predicted": [None, 2.0]})
    assert "has no result with both &#x27;actual&#x27; and &#x27;predicted&#x27;" in render_study(study)


def test_recorded_diagnostics_with_a_malformed_history_are_drawn():
    study = small_study(model_diagnostics={"actual": [1, 2, 3], "predicted": [1, 2, 3], "history": [3, None]})
    page = render_study(study)
    assert "fitted on all the others" in page and "nf-plot-diagnostics" in page


def pareto_axes(monkeypatch) -> list:
    """The axes pareto.plot_front draws on, one per call (nothing written)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nasforge.analysis import pareto

    axes = []
    subplots = plt.subplots
    monkeypatch.setattr(plt, "subplots", lambda *a, **k: (lambda fa: axes.append(fa[1]) or fa)(subplots(*a, **k)))
    monkeypatch.setattr(pareto, "write_figure", lambda fig, *a, **k: None)
    return axes


def test_constraint_bound_far_from_the_points_is_named_not_drawn(monkeypatch):
    from nasforge.analysis import pareto

    axes = pareto_axes(monkeypatch)
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0.07, 1.5, 50), rng.uniform(60, 90, 50)
    front = np.array([int(np.argmax(y)), int(np.argmin(x))])
    for bounds in (([], []), ([50.0], [1000.0]), ([1.0], [])):
        pareto.plot_front("unused.png", x, y, front, "params", "acc", log_x=False, infeasible=np.array([1, 2]),
                          bounds=bounds)
    plain, far, near = axes
    assert far.get_xlim() == plain.get_xlim() and far.get_ylim() == plain.get_ylim()
    assert "constraint bound off the plot: params = 50, acc = 1000" in far.get_legend_handles_labels()[1]
    assert near.get_xlim() == plain.get_xlim() and "constraint bound" in near.get_legend_handles_labels()[1]


def test_multi_objective_progress_hover_names_the_trial_finished_and_the_one_that_raised_the_hypervolume():
    study = Study(get_space("nb201"), "mo_random", objectives=["acc", "p"], seed=0)
    for metrics in ({"acc": 1, "p": 5}, {"acc": 2, "p": 6}, {"acc": 3, "p": 1}, {"acc": 0.5, "p": 0.5}, None):
        trial = study.ask()
        study.tell(trial, Result(status="failed", error="x") if metrics is None else Result(metrics=metrics))
    line = figures(render_study(study))["nf-plot-progress-trials"]["data"][0]
    assert line["x"][-1] == 5 and line["text"][-1] == "4"  # the failed trial 4 finished 5th
    raised = [c[0] for c in line["customdata"]]
    assert raised[-1] == raised[-2] != 4
    assert line["hovertemplate"].startswith("after trial %{text} finished, hypervolume last raised by: trial")
    unchanged = [k for k in range(1, len(line["y"])) if line["y"][k] == line["y"][k - 1]]
    assert all(raised[k] == raised[k - 1] for k in unchanged)


def test_nb201_studies_differing_only_in_canonical_rule_are_overlaid(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    for name, space in (("n1", get_space("nb201")), ("n2", get_space("nb201", canonical_rule="functional"))):
        study = Study(space, "random", objectives="acc", seed=0, name=name, storage=url)
        for value in (1.0, 2.0, 3.0):
            study.tell(study.ask(), Result(metrics={"acc": value}))
    storage = open_readonly(url)
    assert "2 studies of space nb201 overlaid" in render_study([load_study_data(storage, n) for n in ("n1", "n2")])


def test_a_study_whose_space_settings_were_stored_empty_is_overlaid_with_a_note(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    for name in ("ca", "cb"):
        study = Study(ChainSpace([["a", "b"], ["a", "b"]]), "random", objectives="acc", seed=0, name=name,
                      storage=url)
        for value in (1.0, 2.0, 3.0):
            study.tell(study.ask(), Result(metrics={"acc": value}))
    with sqlite3.connect(tmp_path / "s.db") as db:
        db.execute("UPDATE nasforge_studies SET space_config = '{}' WHERE name = 'ca'")
    storage = open_readonly(url)
    page = render_study([load_study_data(storage, n) for n in ("ca", "cb")])
    assert "2 studies of space chain overlaid" in page
    assert ("Space settings of &#x27;ca&#x27; were stored empty ({}): whether its space matches the others&#x27; "
            "could not be checked.") in page


def test_infeasible_trials_below_the_zoomed_axis_are_marked_infeasible(monkeypatch):
    """Regression: infeasible trials cut off by the zoom were drawn as plain grey 'other trial(s) below the axis'."""
    from nasforge.analysis import pareto

    axes = pareto_axes(monkeypatch)
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 1.5, 2.5])
    y = np.array([80.0, 85.0, 90.0, 92.0, 93.0, 10.0, 12.0])  # trials 5 and 6 far below the front
    pareto.plot_front("unused.png", x, y, np.arange(5), "params", "acc", log_x=False, infeasible=np.array([6]))
    labels = axes[0].get_legend_handles_labels()[1]
    assert "1 other trial(s) below the axis (to 10)" in labels
    assert "1 infeasible trial(s) below the axis (to 12)" in labels
