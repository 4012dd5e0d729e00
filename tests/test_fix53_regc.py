"""Regressions of stop 53's own fixes (review c): TrainingEvaluator's reports start at step 1, so a curve pruner
that cannot stop its trials is refused again; bench --pruner is checked up front; one data file at two paths is the
same data in a comparison report; a runtime nasforge error while an evaluator module imports keeps the module name."""

from __future__ import annotations

import sys

import pytest

from nasforge import Study
from nasforge.cli.options import parse_pruner
from nasforge.evaluators.training import TrainingEvaluator
from nasforge.exceptions import UsageError
from nasforge.experiment.evaluator_spec import EvaluatorFactoryError, resolve
from nasforge.experiment.reporting import first_report_step
from nasforge.spaces import get_space

CURVE_4 = {"name": "curve", "min_points": 4, "max_step": 4}


class _FromOne:
    """Declares what TrainingEvaluator declares: reports from step 1 (it is never called: refused before)."""

    first_report_step = 1

    def __call__(self, arch, fidelity=None, reporter=None):
        raise AssertionError("evaluated before the refusal")


def test_an_evaluator_reporting_from_step_1_gets_the_curve_pruner_refused_again():
    """Would fail: with the step-0 leniency for every evaluator, TrainingEvaluator ran with a curve pruner that can
    never stop its trials (min_points 4 reports end at step 4 = max_step)."""
    assert TrainingEvaluator.first_report_step == 1 and first_report_step(TrainingEvaluator.evaluate) == 0
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0)
    with pytest.raises(UsageError, match="pruner 'curve' can never stop a trial: .* at step 4"):
        study.optimize(_FromOne(), n_trials=1, pruner=CURVE_4, progress=False)
    assert not study.trials


def test_bench_and_search_check_the_pruner_from_step_1_resume_from_step_0():
    with pytest.raises(UsageError, match="^--pruner: pruner 'curve' can never stop a trial"):
        parse_pruner('{"name": "curve", "min_points": 4, "max_step": 4}', first_step=1)
    assert parse_pruner('{"name": "curve", "min_points": 4, "max_step": 4}') == CURVE_4  # a user's evaluator


def test_one_data_file_at_two_paths_is_the_same_data_in_a_comparison_report():
    pytest.importorskip("plotly")
    from nasforge.analysis.studyreport import render_study
    from test_fix53_journeys import NOTE, _searched

    copies = render_study([_searched("a", "npz", "/d/x.npz", "12ab"), _searched("b", "npz", "/e/copy.npz", "12ab")])
    assert "<td>npz /d/x.npz</td>" in copies and NOTE not in copies  # was: "searched different data"
    other = render_study([_searched("a", "npz", "/d/x.npz", "12ab"), _searched("b", "npz", "/e/copy.npz", "99")])
    assert NOTE in other


def test_a_runtime_nasforge_error_while_a_module_imports_names_the_module(tmp_path, monkeypatch):
    (tmp_path / "fix53_runtime.py").write_text("from nasforge.exceptions import StorageError\n"
                                               "raise StorageError('no database here')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fix53_runtime", raising=False)
    with pytest.raises(EvaluatorFactoryError, match="^importing evaluator module 'fix53_runtime' raised StorageError"):
        resolve("fix53_runtime:f")
