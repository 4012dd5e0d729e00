"""Report fixes of review 52: the budget of a best value short of the full budget (Summary, Studies table, Progress
note, as ``nasforge status`` names it) and recorded model diagnostics whose ``numbers`` are partly unusable."""

from __future__ import annotations

from html import escape

import pytest

from nasforge import Result, Study, get_space
from nasforge.analysis.studyreport import render_study
from nasforge.cli import main

from report_pages import figures, op_length_score

pytest.importorskip("plotly")


def _chain6():
    return get_space("chain", layers=[["a", "b", "c"], ["x", "y"]])  # 6 architectures


def _score(arch, fidelity):
    return {"val_acc": (sum(map(ord, str(arch.genotype))) % 100) / 10 + fidelity["epochs"]}


def _multi_fidelity(strategy: str, n: int, name: str, storage: str = "memory") -> Study:
    study = Study(_chain6(), strategy, seed=0, max_budget=9, eta=3, objectives="val_acc", name=name, storage=storage)
    study.optimize(_score, n_trials=n)
    return study


def test_a_best_value_short_of_the_full_budget_names_its_budget_as_status_does(tmp_path, capsys):
    """Would fail: the Summary's caption read "best trial", the Studies cell the value alone and the Progress note
    named no budget, so a 1-of-9-epoch value read as a final result beside the others."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    short = _multi_fidelity("hyperband", 5, "short", url)  # all 5 in the first bracket, at 1 epoch
    full = _multi_fidelity("asha", 9, "full")  # reaches 9 epochs
    assert main(["status", "short", "--storage", url]) == 0
    assert "\nbest (at epochs=1 of 9): trial " in capsys.readouterr().out
    page = render_study(short)
    assert "<h3>best trial (at epochs=1 of 9)</h3>" in page
    assert "Not at the full budget yet: short (at epochs=1 of 9)." in page
    best = short.best_trial.metrics["val_acc"]
    both = render_study([short, full])
    assert f"<td>short</td><td>hyperband</td><td>5: 5 COMPLETE</td><td>{best:g} (at epochs=1 of 9)</td>" in both
    assert "Not at the full budget yet: short (at epochs=1 of 9)." in both
    assert f"<td>{full.best_trial.metrics['val_acc']:g}</td>" in both
    alone = render_study(full)  # at its full budget: no budget named
    assert "<h3>best trial</h3>" in alone and "Not at the full budget" not in alone


def _small_study() -> Study:
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0)
    for _ in range(4):
        trial = study.ask()
        study.tell(trial, Result(metrics={"acc": op_length_score(trial.arch)}))
    return study


def _diagnostics(study: Study, numbers) -> tuple[dict, str]:
    study.set_user_attr("model_diagnostics", {"actual": [1, 2, 3, 4], "predicted": [1.1, 2.2, 2.9, 4.1],
                                              "numbers": numbers})
    page = render_study(study)
    return figures(page)["nf-plot-diagnostics"]["data"][0], page


def test_a_null_in_recorded_numbers_loses_only_its_own_hover():
    """Would fail: one null (allowed by the docs) took every point's trial hover away."""
    trace, page = _diagnostics(_small_study(), [0, 1, 2, None])
    assert [c and c[0] for c in trace["customdata"]] == [0, 1, 2, None]
    assert trace["hovertemplate"][:3] == [trace["hovertemplate"][0]] * 3 and "trial %{customdata[0]}" in \
        trace["hovertemplate"][0]
    assert "customdata" not in trace["hovertemplate"][3]
    assert "The recorded &#x27;numbers&#x27;" not in page  # a null is no unusable entry


@pytest.mark.parametrize("numbers, why", [
    (["x", 1, 2, 3], "has 1 of 4 entries that are no trial number of this study (first: 'x')"),
    ([0, 1.5, True, 99], "has 3 of 4 entries that are no trial number of this study (first: 1.5)"),
    ([0, 1], "has 2 entries for 4 results"),
    ("0,1,2,3", "is '0,1,2,3', not a list of trial numbers"),
])
def test_unusable_recorded_numbers_are_named_and_the_usable_ones_keep_their_hovers(numbers, why):
    """Would fail: unusable entries silently took every hover away."""
    trace, page = _diagnostics(_small_study(), numbers)
    assert escape(f"The recorded 'numbers' {why}: those points name no trial.") in page
    kept = [k for k in (numbers if isinstance(numbers, list) and len(numbers) == 4 else [])
            if isinstance(k, int) and not isinstance(k, bool) and k < 4]
    assert [c[0] for c in trace["customdata"] if c] == kept


def test_recorded_model_diagnostics_that_are_not_an_object_are_named_unusable():
    """Would fail: a list read "No model diagnostics: ... or none were recorded", hiding that some were."""
    study = _small_study()
    study.set_user_attr("model_diagnostics", [1, 2, 3])
    page = render_study(study)
    assert escape('No model diagnostics: the study\'s user_attrs["model_diagnostics"] was recorded but is unusable: '
                  "[1, 2, 3] is not an object of results (actual, predicted, ...).") in page
