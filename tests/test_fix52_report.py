"""Report fixes of review 52: the budget of a best value short of the full budget (Summary, Studies table, Progress
note, as ``nasforge status`` names it)."""

from __future__ import annotations

import pytest

from nasforge import Study, get_space
from nasforge.analysis.studyreport import render_study
from nasforge.cli import main

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
