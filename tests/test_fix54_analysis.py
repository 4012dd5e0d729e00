"""Review 54 of the analysis numbers: the optimum typed as shown, simulated tables between grid points, bench
regrets on fraction-scale metrics and the incumbent curves' direction check."""

from __future__ import annotations

import pytest

from nasforge import Study, get_space

from report_pages import figures

SPACE = get_space("nb201")


def _typed_study(values: list[float], direction: str) -> Study:
    study = Study(SPACE, "random", objectives="err", directions=direction, seed=0)
    for value in values:
        study.tell(study.ask(), {"err": value})
    return study


@pytest.mark.parametrize("values, direction, typed", [
    ([30.0, 26.715333333333334], "minimize", 26.7153),  # shown rounded down: better than the best as stored
    ([0.1, 0.12345651], "maximize", 0.123457),  # shown rounded up: better than the best as stored
])
def test_the_optimum_typed_as_shown_is_regret_zero_on_either_side(values, direction, typed):
    """Would fail: the found value replaced the typed one only when rounding made it worse, so these gave a regret
    of 3.3e-5 and 4.9e-7 on an axis grown six decades down, not the 0 the docs promise."""
    pytest.importorskip("plotly")
    from nasforge.analysis.studyreport import from_study, render_study, shown_optimum, views

    study = _typed_study(values, direction)
    assert views.number_text(study.best_value) == repr(typed)
    data = from_study(study)
    assert shown_optimum([data], typed) == study.best_value
    fig = figures(render_study(data, optimum=typed))["nf-plot-progress-trials"]
    assert fig["data"][0]["y"][-1] == fig["layout"]["yaxis"]["tickvals"][0]  # regret 0: the line labelled 0
    assert shown_optimum([data], typed - 0.001 if direction == "minimize" else typed + 0.001) != study.best_value
