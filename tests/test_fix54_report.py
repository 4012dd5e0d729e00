"""Regressions of review 54's report fixes: pareto.png's legend covering front points and retrained stars (and
leaving the image), and the 3+ objective Pareto view ignoring the constraints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nasforge import Result, Study, get_space


@pytest.fixture
def figures(monkeypatch) -> list:
    """The figures pareto.plot_front draws, laid out as they are saved (nothing written)."""
    import matplotlib

    matplotlib.use("Agg")
    from nasforge.analysis import pareto

    drawn: list = []

    def keep(fig, *args, **kwargs):
        fig.set_dpi(kwargs.get("dpi", 120))
        fig.canvas.draw()
        drawn.append(fig)

    monkeypatch.setattr(pareto, "write_figure", keep)
    return drawn


def test_pareto_png_legend_stays_in_the_image_and_covers_no_point(figures):
    """Review 54's runB (8 NB201 trials, 2 retrained, a params bound past the points): the legend sat at the axes'
    lower right, over the smallest front trial and both retrained stars, and its long off-plot bound entry pushed
    it past the image's left edge."""
    from nasforge.analysis.pareto import plot_front

    params = np.array([267450, 484282, 334650, 461882, 312250, 73018, 95418, 267450], dtype=float)
    val = np.array([80.22, 83.01, 81.34, 88.30, 84.12, 9.47, 69.08, 76.60])
    stars = (np.array([461882.0, 73018.0]), np.array([29.25, 8.91]), "retrained test acc")
    plot_front("unused.png", params, val, np.array([5, 6, 0, 4, 3]), "parameters (full-size network) (minimize)",
               "val_acc (maximize)", title="srch: val_acc (maximize) vs params\nconstraints: params <= 600000",
               extra=stars, log_x=False, infeasible=np.array([], dtype=int), bounds=([600000.0], []))
    fig, = figures
    legend = (fig.legends or [fig.axes[0].get_legend()])[0]
    box, image = legend.get_window_extent(), fig.bbox
    assert image.x0 <= box.x0 and box.x1 <= image.x1 and image.y0 <= box.y0 and box.y1 <= image.y1
    points = np.vstack([c.get_offset_transform().transform(c.get_offsets()) for c in fig.axes[0].collections])
    assert len(points) == 8 + 2  # every trial and both stars
    assert not any(box.contains(px, py) for px, py in points)


def test_pareto_png_names_an_off_plot_bound_by_its_metric(figures):
    """The search's entry read "constraint bound off the plot: parameters (full-size network) (minimize) =
    6e+05"."""
    from nasforge.pipelines import search as pipeline

    study = Study(get_space("nb201"), "mo_random", objectives=["val_acc", "params"], directions=["max", "min"],
                  constraints=["params <= 600000"], seed=0)
    for acc, params in ((80.2, 267450), (83.0, 484282), (9.5, 73018), (88.3, 461882)):
        study.tell(study.ask(), Result(metrics={"val_acc": acc, "params": params}))
    done = study.completed(searched_only=True)
    pipeline._plot_pareto(Path("unused.png"), study, done, [done[k] for k in (0, 2, 3)], "params",
                          [{"trial": done[3].number, "test_acc": 29.2}], ["params <= 600000"])
    fig, = figures
    labels = [t.get_text() for t in (fig.legends or [fig.axes[0].get_legend()])[0].get_texts()]
    assert "constraint bound off the plot: params = 6e+05" in labels


def test_three_objective_pareto_view_marks_and_counts_the_trials_breaking_the_constraints():
    """The parallel coordinates drew trials breaking the constraints as plain grey lines, like feasible dominated
    ones, and the note never mentioned the constraints."""
    pytest.importorskip("plotly")
    from nasforge.analysis.studyreport import render_study
    from report_pages import figures
    from test_fix50_report import note_of

    study = Study(get_space("nb201"), "mo_random", objectives=["a", "b", "c"], directions=["max", "min", "max"],
                  constraints=["test_acc >= 80"], seed=0)
    for a, b, c, test in ((1, 4, 2, 90), (2, 5, 1, 90), (1, 6, 0, 90), (9, 1, 9, 10), (3, 9, 0, 20)):
        study.tell(study.ask(), Result(metrics={"a": a, "b": b, "c": c, "test_acc": test}))
    page = render_study(study)
    line = figures(page)["nf-plot-pareto"]["data"][0]["line"]
    scale = dict((value, colour) for value, colour in line["colorscale"])
    colours = [scale[v] for v in line["color"]]  # trials 0..4: front, front, dominated, infeasible, infeasible
    assert colours[0] == colours[1] != colours[2] and colours[3] == colours[4] not in (colours[0], colours[2])
    assert (line["cmin"], line["cmax"]) == (0, 1)
    assert ("Constraints test_acc >= 80: 2 trial(s) break them (orange lines; the front is feasible-first: the best "
            "of the least-violating trials while none is feasible).") in note_of(page, "pareto")
