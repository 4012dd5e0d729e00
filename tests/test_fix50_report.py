"""What the report says about the studies it compares, its bench hovers and one objective under constraints."""
import re
from html import unescape

import pytest

pytest.importorskip("plotly")

from nasforge import Result, Study, get_space  # noqa: E402
from nasforge.analysis.studyreport import render_study  # noqa: E402
from report_pages import figures  # noqa: E402
from test_report import toy_metrics  # noqa: E402


def one_objective(name: str, n: int, fail: bool = False, **kwargs) -> Study:
    """An in-memory nb201 study of ``n`` trials with objective acc (every one failed with ``fail``)."""
    study = Study(get_space("nb201"), kwargs.pop("strategy", "random"), objectives="acc", seed=0, name=name, **kwargs)
    for _ in range(n):
        trial = study.ask()
        study.tell(trial, Result(metrics={}, status="failed", error="boom") if fail else toy_metrics(trial.arch))
    return study


def note_of(html: str, key: str) -> str:
    """The note of the page's section ``key``, unescaped."""
    return unescape(re.search(rf'<section id="nf-{key}"><h2>[^<]*</h2><p class="nf-note">(.*?)</p>', html).group(1))


def test_a_comparison_names_the_studies_that_have_no_line():
    page = render_study([one_objective("evo", 6), one_objective("allfail", 3, fail=True), one_objective("empty", 0)])
    assert [t["name"] for t in figures(page)["nf-plot-progress-trials"]["data"]] == ["evo"]
    assert note_of(page, "progress") == ("3 studies of space nb201 overlaid (no line for allfail, empty: no complete "
                                         "trial yet).")


def test_the_bench_hover_gives_regret_to_6_significant_digits(tmp_path):
    import pandas as pd

    from nasforge.analysis.studyreport import BenchData
    from nasforge.analysis.studyreport.views import bench_view

    curves = pd.DataFrame({"strategy": ["random"] * 2, "evaluations": [1, 2], "regret_mean": [2.0846712, 1.0846712]})
    meta = {"summary": [{"strategy": "random", "mean@2": 1.0846712}]}
    page = bench_view(BenchData(tmp_path, meta, curves))
    assert "<td>1.08467</td>" in page
    (line,) = figures(page)["nf-plot-bench-eval"]["data"]  # hover as the table: 6 digits (docs/report.md)
    assert line["customdata"] == [2.0846712, 1.0846712] and "regret %{customdata:.6g} after" in line["hovertemplate"]


def test_a_comparison_counts_stage_2_retrains_apart_as_the_summary_does():
    studies = [one_objective("plain", 3), one_objective("retrained", 4)]
    best = studies[1].best_trial
    queued = studies[1].enqueue(best.arch, user_attrs={"stage": "retrain", "source_trial": best.number})
    studies[1].tell(queued, {"acc": best.metrics["acc"] + 1.0})
    rows = re.findall(r"<tr><td>(plain|retrained)</td><td>random</td><td>([^<]*)</td>", render_study(studies))
    assert rows == [("plain", "3: 3 COMPLETE"), ("retrained", "5 (4 search, 1 stage-2 retrain): 5 COMPLETE")]
    assert "<td>5 (4 search, 1 stage-2 retrain): 5 COMPLETE</td>" in render_study(studies[1])  # its own Summary



def test_one_objective_with_constraints_draws_the_trials_breaking_them_apart():
    study = Study(get_space("nb201"), "mo_random", objectives="acc", seed=0, constraints=["params <= 1.5"])
    for acc, params in ((50.0, 1.0), (81.8, 2.0), (60.0, 0.0), (70.0, 3.0), (73.4, 1.0)):
        study.tell(study.ask(), {"acc": acc, "params": params})
    page = render_study(study)
    traces = {t["name"]: t for t in figures(page)["nf-plot-pareto"]["data"]}
    assert set(traces) == {"complete trials", "infeasible trials"}
    assert (traces["complete trials"]["x"], traces["complete trials"]["y"]) == ([0, 2, 4], [50.0, 60.0, 73.4])
    assert (traces["infeasible trials"]["x"], traces["infeasible trials"]["y"]) == ([1, 3], [81.8, 70.0])
    assert traces["infeasible trials"]["marker"]["symbol"] == "x" and study.best_trial.number == 4
    assert note_of(page, "pareto").endswith("Constraints params <= 1.5: 2 trial(s) break them (crosses); the best "
                                            "trial and the progress are of the trials that meet them while any does.")
