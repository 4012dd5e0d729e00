"""Review 37 of the reports: progress of multi-fidelity studies, regret at the optimum, number display, the
progress x axis, empty studies, the strategy's settings, status/trials output and the bench timing and plots."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from nasforge import Result, Study, get_space
from nasforge.analysis import harness
from nasforge.analysis.studyreport import check_studies, from_study, render_study, views
from nasforge.cli import main
from nasforge.exceptions import UsageError

from report_pages import figures, op_length_score

pytest.importorskip("plotly")
SPACE = get_space("nb201")


def hyperband_study() -> Study:
    """A minimized error that looks better at low budgets: the low-budget results must never be the best so far."""
    study = Study(SPACE, "hyperband", objectives="err", directions="minimize", seed=0)
    for _ in range(60):
        trial = study.ask()
        epochs = (trial.fidelity or {}).get("epochs", 200)
        study.tell(trial, {"err": op_length_score(trial.arch) * (0.5 + 0.5 * min(epochs, 200) / 200)})
    return study


def test_progress_of_a_multi_fidelity_study_ranks_as_the_best_trial_does():
    study = hyperband_study()
    data = from_study(study)
    assert len(data.ranked()) < len(data.complete)  # low-budget results exist, better than the full-budget ones
    progress = figures(render_study(data))["nf-plot-progress-trials"]
    assert progress["data"][0]["y"][-1] == pytest.approx(study.best_value)
    low = min(t.metrics["err"] for t in data.complete)
    assert low < study.best_value and low not in progress["data"][0]["y"]
    optimum = (low + study.best_value) / 2  # better than the best ranked: a positive regret, not the "0" line
    regret = figures(render_study(data, optimum=optimum))["nf-plot-progress-trials"]
    floor = regret["layout"]["yaxis"]["tickvals"][0]
    curve = regret["data"][0]["y"]
    assert curve[-1] == pytest.approx(study.best_value - optimum) and min(curve) > floor


def test_a_negative_regret_is_refused_not_drawn_as_zero():
    with pytest.raises(ValueError, match="negative regret"):
        views._floored([1.0, -0.5], 0.01)


def _typed_study(values: list[float], direction: str) -> Study:
    study = Study(SPACE, "random", objectives="err", directions=direction, seed=0)
    for value in values:
        study.tell(study.ask(), {"err": value})
    return study


def test_the_optimum_typed_as_shown_is_regret_zero_on_a_readable_axis():
    study = _typed_study([30.0, 100 - 80.044], "minimize")  # stored 19.956000000000003, shown 19.956
    assert views.number_text(study.best_value) == "19.956"
    fig = figures(render_study(from_study(study), optimum=19.956))["nf-plot-progress-trials"]
    ticks = fig["layout"]["yaxis"]["tickvals"]
    assert fig["data"][0]["y"][-1] == ticks[0] == 1.0 and ticks[-1] == 100  # 0, then the decades of 10.044
    maximized = _typed_study([80.0, 84.89200000000001], "maximize")
    check_studies([from_study(maximized)], 84.892)  # the displayed best is the optimum, not "worse than the best"
    with pytest.raises(UsageError, match="worse than the best"):
        check_studies([from_study(maximized)], 84.8919)


@pytest.mark.parametrize("value, text", [(1234567.0, "1234567"), (1235401.0, "1235401"), (93.37, "93.37"),
                                         (0.1 + 0.2, "0.3"), (0.8581624031066895, "0.858162"),
                                         (47.70133333333333, "47.7013"), (91.0, "91"), (float("nan"), "nan")])
def test_numbers_show_integers_whole_and_others_to_6_significant_digits(value, text):
    assert views.number_text(value) == text


def test_progress_x_axis_counts_finished_trials_of_any_state():
    study = Study(SPACE, "random", objectives="acc", seed=0)
    for i in range(6):
        trial = study.ask()
        if i in (1, 2):
            study.tell(trial, Result(metrics={}, status="failed", error="boom"))
        else:
            study.tell(trial, {"acc": float(i)})
    fig = figures(render_study(from_study(study)))["nf-plot-progress-trials"]
    assert fig["data"][0]["x"] == [1, 4, 5, 6] and "any state" in fig["layout"]["xaxis"]["title"]["text"]


def test_summary_shows_the_effective_strategy_settings_and_an_empty_study_says_nothing_ran():
    study = Study(SPACE, "evolution", objectives="acc", seed=0)
    html = render_study(from_study(study))
    assert '&quot;population_size&quot;: 20' in html and "evolution {}" not in html
    assert "no trial started yet" in html and "no trial claimed yet" in html and "0.0 s" not in html
    assert '<section id="nf-pareto"><h2>Objective per trial</h2>' in html


@pytest.fixture()
def stored(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    study = Study(get_space("chain", layers=[["a", "b", "c"], ["x", "y"]]), "mo_random", objectives=["acc", "params"],
                  directions=["maximize", "minimize"], seed=0, name="big", storage="sqlite:///nasforge.db")
    for acc, params in ((90.0, 1_234_567.0), (91.0, 1_235_401.0), (89.0, 1_230_002.0)):
        study.tell(study.ask(), {"acc": acc, "params": params, "loss": 0.12341 + acc / 1e6})
    study.storage.close()
    return study


def test_trials_prints_integers_whole_and_distinct_values_apart(stored, capsys):
    assert main(["trials", "big"]) == 0
    out = capsys.readouterr().out
    assert "1234567" in out and "1234567.000" not in out and " 90 " in out


def test_trials_digits_print_whole_numbers_as_integers_and_others_with_3_decimals():
    from nasforge.cli.output import significant_decimals

    rows = [{"loss": 0.12341}, {"loss": 0.12342}, {"params": 3.0}, {"acc": 93.37}]
    assert significant_decimals(rows, ["loss", "params", "acc"]) == {"loss": 5, "params": 0, "acc": 2}  # 6 digits


def test_trials_csv_without_a_matching_trial_is_its_header(stored, capsys):
    pd = pytest.importorskip("pandas")
    assert main(["trials", "big", "--format", "csv", "--state", "failed"]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert frame.empty and list(frame.columns[:5]) == ["number", "state", "arch", "acc", "params"]
    assert frame.columns[-1] == "told_to_strategy"


def test_status_json_lists_the_pareto_front_beside_its_size(stored, capsys):
    assert main(["status", "big", "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["pareto_front"] == 3 and [m["trial"] for m in info["pareto_front_trials"]] == [0, 1, 2]
    assert info["pareto_front_trials"][0] == {"trial": 0, "acc": 90.0, "params": 1234567.0, "arch": "c|y"}
    assert main(["status", "big"]) == 0
    out = capsys.readouterr().out
    assert "pareto front: 3 trials" in out and "trial 1 acc=91 params=1.2354e+06" not in out
    assert main(["status", "big", "--format", "csv"]) == 0
    header = capsys.readouterr().out.splitlines()[0].split(",")
    assert "pareto_front" in header and "pareto_front_trials" not in header


def test_bench_warms_each_strategy_up_untimed_before_the_timed_runs(monkeypatch):
    calls = []
    monkeypatch.setattr(harness, "run_trace", lambda _bench, strategy, seed, budget, *a, **k: calls.append(
        (strategy, seed, budget)) or budget)
    tasks = [(s, seed, 40, "acc", "maximize", None, {}) for s in ("random", "evolution") for seed in range(2)]
    assert harness._map(tasks, object(), 1) == [40] * 4
    assert calls == [("random", 1, 25), ("evolution", 1, 25), ("random", 0, 40), ("random", 1, 40),
                     ("evolution", 0, 40), ("evolution", 1, 40)]


def test_regret_plots_label_ticks_within_two_decades():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2], [3.0, 85.0])
    harness.regret_yaxis(ax, [np.array([3.0, 85.0])])
    fig.canvas.draw()
    labels = {t.get_text() for t in ax.get_yticklabels()}
    plt.close(fig)
    assert {"5", "10", "20", "50"} <= labels


def test_compare_takes_workers_0_as_every_core(nb201_table):
    """Would fail: the argument check of 2026-12-06 refused ``workers=0``, which has always meant every core."""
    from nasforge.analysis import harness

    report = harness.compare(nb201_table, ["random"], seeds=1, budget=3, workers=0)
    assert list(report.strategies) == ["random"]
