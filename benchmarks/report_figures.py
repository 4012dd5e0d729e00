"""CPU time of one study's HTML report (``nasforge.analysis.report``) with the page's plotly template applied once by
the page script (the current rule) against the previous rule in the same run: plotly applied ``plotly_white`` to
every figure in Python (``update_layout(template=...)``: validated and deep-copied per figure, and 6.5 kB of JSON in
each). The study is one of NB201 table trials with two objectives (a Pareto front, as ``nasforge search`` reports).

    python benchmarks/report_figures.py                 # 60 trials, best of 5

Writes benchmarks/results/report_figures.json (``--out`` to change), one entry per ``--label``. The figures are CPU
seconds (``time.process_time``), best of the repeats, old and new alternating so both see the same load: of a
process's first report (each in a fresh process, as ``nasforge search`` writes one: plotly's imports, plotly.js and
the template read included) and of a report after a first one; the page sizes are those of the two rules' files.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nasforge import Study, TableEvaluator
from nasforge.analysis import report
from nasforge.analysis.studyreport import views
from nasforge.benchmarks import load_nb201

from _results import RESULTS, read_json, write_json


def previous_figure(**layout: Any) -> Any:
    """The rule before: a figure in the report's style with plotly's template applied to it in Python."""
    import plotly.graph_objects as go

    fig = go.Figure()
    settings = dict(template="plotly_white", margin=dict(l=60, r=20, t=40, b=50), height=420,
                    legend=dict(orientation="h", y=-0.18))
    titles = {key: views._plain(layout[key]) for key in ("title", "xaxis_title", "yaxis_title") if key in layout}
    fig.update_layout(**{**settings, **layout, **titles})
    return fig


def timed(figure: Callable[..., Any], study: Study, path: Path) -> float:
    """CPU seconds of one report written to ``path`` with ``figure`` as the report's figure maker."""
    current, views._figure = views._figure, figure
    try:
        start = time.process_time()
        report(study, path)
        return time.process_time() - start
    finally:
        views._figure = current


def make_study(trials: int) -> Study:
    table = load_nb201()
    study = Study(table.space, "mo_random", objectives=["val_acc", "cifar100-val"], seed=0)
    study.optimize(TableEvaluator(table), n_trials=trials, progress=False)
    return study


def first_report(rule: str, trials: int) -> float:
    """CPU seconds of the first report of a fresh process under ``rule`` ("old" or "new")."""
    done = subprocess.run([sys.executable, __file__, "--first", rule, "--trials", str(trials)], check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout)["cpu_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--label", default="current")
    parser.add_argument("--out", default=str(RESULTS / "report_figures.json"))
    parser.add_argument("--first", choices=("old", "new"), help=argparse.SUPPRESS)  # one fresh process's report
    args = parser.parse_args()
    if args.first:
        study = make_study(args.trials)
        with tempfile.TemporaryDirectory() as folder:
            figure = previous_figure if args.first == "old" else views._figure
            print(json.dumps({"cpu_s": timed(figure, study, Path(folder) / "report.html")}))
        return
    stored = read_json(args.out, {})  # other labels' entries; a damaged file stops the run before measuring
    first_old, first_new = [], []
    for _ in range(args.repeats):
        first_old.append(first_report("old", args.trials))
        first_new.append(first_report("new", args.trials))
    study = make_study(args.trials)
    new_figure = views._figure
    with tempfile.TemporaryDirectory() as folder:
        old_page, new_page = Path(folder) / "old.html", Path(folder) / "new.html"
        timed(new_figure, study, new_page)  # imports, plotly.js read and the template's JSON cached
        old, new = [], []
        for _ in range(args.repeats):
            old.append(timed(previous_figure, study, old_page))
            new.append(timed(new_figure, study, new_page))
        sizes = old_page.stat().st_size, new_page.stat().st_size
    result = {"trials": args.trials, "repeats": args.repeats, "first_old_cpu_s": round(min(first_old), 3),
              "first_new_cpu_s": round(min(first_new), 3), "first_old_cpu_s_all": [round(s, 3) for s in first_old],
              "first_new_cpu_s_all": [round(s, 3) for s in first_new], "old_cpu_s": round(min(old), 3),
              "new_cpu_s": round(min(new), 3), "ratio_old_over_new": round(min(old) / min(new), 2),
              "old_cpu_s_all": [round(s, 3) for s in old], "new_cpu_s_all": [round(s, 3) for s in new],
              "old_page_bytes": sizes[0], "new_page_bytes": sizes[1],
              "load_average_1min_at_end": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
              "note": "CPU seconds of a report after a first one, best of the repeats; shared 2-core machine"}
    stored[args.label] = result
    write_json(args.out, stored)
    print(f"{args.trials} trials: a process's first report old {result['first_old_cpu_s']:.3f} s, new "
          f"{result['first_new_cpu_s']:.3f} s CPU; a later one old {result['old_cpu_s']:.3f} s, new "
          f"{result['new_cpu_s']:.3f} s ({result['ratio_old_over_new']:g}x); pages {sizes[0]:,} vs {sizes[1]:,} bytes")


if __name__ == "__main__":
    main()
