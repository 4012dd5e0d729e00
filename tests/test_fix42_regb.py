"""Fixes of regression review 42 b: a strategy whose runs stopped early stays visible in the bench plots and report,
whose '-' cells are explained; compare() gives one warning per strategy, also with worker processes."""

from __future__ import annotations

import json
import os
import re
import warnings

import numpy as np
import pytest

from nasforge.analysis.harness import compare, lone_points
from nasforge.exceptions import SpaceExhausted, SpaceExhaustedWarning
from nasforge.strategies import STRATEGIES, Strategy


def _table():
    """A 9-architecture chain table: acc = the sum of the choices' positions (a=0, b=1, c=2)."""
    from nasforge.benchmarks import TabularBenchmark
    from nasforge.spaces import ChainSpace

    space = ChainSpace([["a", "b", "c"]] * 2)
    return TabularBenchmark([{"arch": space.format(a), "acc": float(sum("abc".index(c) for c in a.genotype)),
                              "test_acc": 1.0} for a in space.enumerate()], space)


class GivesUpSoon(Strategy):
    """Proposes only the first 1 + 3 * seed architectures: seed 0 stops after one evaluation."""

    name = "gives_up_soon"
    max_dedup_tries = own_tries = 50

    def _propose(self):
        return self.rng.choice(list(self.space.enumerate())[:1 + 3 * self.seed])

    def _unproposed(self):  # gives up, as on a space that cannot be enumerated (on this one asks find the rest)
        raise SpaceExhausted(f"{self.name}: gave up")


@pytest.fixture()
def report(monkeypatch):
    monkeypatch.setattr(STRATEGIES, "_entries", dict(STRATEGIES._entries))
    monkeypatch.setattr(STRATEGIES, "_tags", dict(STRATEGIES._tags))
    STRATEGIES.register("gives_up_soon", GivesUpSoon)
    with pytest.warns(SpaceExhaustedWarning):
        return compare(_table(), ["gives_up_soon", "random"], seeds=3, budget=5, objective="acc",
                       secondary="test_acc", workers=1)


def test_lone_points_are_the_finite_values_between_gaps():
    assert lone_points([1.0, np.nan, np.nan]) == [0]
    assert lone_points([np.nan, 1.0, np.nan, 2.0, 3.0, np.nan, 4.0]) == [1, 6]
    assert lone_points([1.0, 2.0]) == [] and lone_points([7.0]) == [0]


def test_bench_png_marks_a_strategy_whose_shortest_run_made_one_evaluation(report, monkeypatch, tmp_path):
    import matplotlib.pyplot as plt

    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    report.plot(tmp_path / "p.png")
    for ax in figures[0].axes:
        gives_up, random = ax.get_lines()
        assert (gives_up.get_label(), gives_up.get_marker(), gives_up.get_markevery()) == ("gives_up_soon", "o", [0])
        assert random.get_marker() in ("None", None, "")


def test_bench_report_draws_the_stopped_strategy_and_explains_its_dashes(report, tmp_path):
    from nasforge.analysis import bench_report

    report.save(tmp_path / "b")
    bench_report(tmp_path / "b")
    page = (tmp_path / "b" / "report.html").read_text()
    figures = dict(re.findall(r'data-target="nf-plot-bench-(\w+)">(.*?)</script>', page))
    for key in ("eval", "unique"):
        trace = next(t for t in json.loads(figures[key])["data"] if t.get("name") == "gives_up_soon")
        assert trace["mode"] == "lines+markers" and trace["marker"]["size"] == [8, 0, 0, 0, 0]
        assert trace["y"][0] is not None and trace["y"][1:] == [None] * 4
    row = re.search(r"<tr><td>gives_up_soon</td>(.*?)</tr>", page).group(1)
    assert re.findall(r"<td>(.*?)</td>", row)[:4] == ["-"] * 4
    assert ("-: a run of the strategy stopped before n evaluations (it found no new architecture to propose; "
            "gives_up_soon: seed 0 after 1, seed 1 after 4), so no regret after n is reported") in page


def test_bench_footnote_explains_a_per_unique_curve_cut_by_repeats_and_nothing_when_all_cells_have_numbers():
    from nasforge.analysis.studyreport.views import _bench_footnote

    repeats = [{"strategy": "tpe", "mean@5": 0.5, "mean_unique@5": None}]
    assert _bench_footnote({}, repeats) == ("mean_unique -: under half the runs reached n unique evaluations (they "
                                            "repeat architectures), so the per-unique curve stops before n.")
    assert _bench_footnote(None, [{"strategy": "tpe", "mean@5": 0.5, "mean_unique@5": 0.5}]) == ""


def test_compare_with_worker_processes_warns_once_per_strategy_and_no_run_warns_on_its_own(report, capfd):
    def show(message, category, filename, lineno, file=None, line=None):  # to fd 2, where a worker's go as well
        os.write(2, f"{filename}:{lineno}: {category.__name__}: {message}\n".encode())

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        compare(_table(), ["gives_up_soon"], seeds=3, budget=5, objective="acc", secondary=None, workers=2)
    err = capfd.readouterr().err
    assert err.count("SpaceExhaustedWarning") == 1 and f"{__file__}:" in err
    assert "SpaceExhaustedWarning: strategy 'gives_up_soon': 2 of 3 runs stopped before 5 evaluations" in err
