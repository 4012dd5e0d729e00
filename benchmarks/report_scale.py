"""How the HTML report scales: seconds to write it and its size for studies of N trials on NAS-Bench-201,
and (when Debian's chromium + chromedriver are installed) seconds until a headless browser has drawn
every plot. Writes JSON to benchmarks/results/report_scale.json.

One objective is val_acc (evolution); two are val_acc and a cost, the convolution weights of the cell
(9 per 3x3, 1 per 1x1 convolution; mo_random), so the progress view draws the hypervolume.

    .venv/bin/python benchmarks/report_scale.py --trials 100,1000 --objectives 1,2
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from nasforge import Result, Study, TableEvaluator
from nasforge.analysis import report
from nasforge.benchmarks import load_nb201
from nasforge.benchmarks.tabular import TabularBenchmark

from _results import RESULTS, write_json

CONV_WEIGHTS = {"nor_conv_3x3": 9.0, "nor_conv_1x1": 1.0}


def make_study(table: TabularBenchmark, n: int, objectives: int, url: str) -> Study:
    """A study of ``n`` trials with one objective (val_acc) or two (val_acc up, convolution weights down)."""
    if objectives == 1:
        study = Study(table.space, "evolution", objectives="val_acc", seed=0, name=f"scale-{n}-1", storage=url)
        study.optimize(TableEvaluator(table), n_trials=n, progress=False)
        return study

    def evaluate(arch, *args, **kwargs) -> Result:
        cost = sum(CONV_WEIGHTS.get(op, 0.0) for op in arch.genotype)
        return Result(metrics={"val_acc": table.value(arch, "val_acc"), "conv_weights": cost})

    study = Study(table.space, "mo_random", objectives=["val_acc", "conv_weights"],
                  directions=["maximize", "minimize"], seed=0, name=f"scale-{n}-2", storage=url)
    study.optimize(evaluate, n_trials=n, progress=False)
    return study


def browser_seconds(path: Path) -> float | None:
    """Seconds from navigation until every plot of the page is drawn (None without a browser)."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        return None
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = Options()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 f"--user-data-dir={tempfile.mkdtemp()}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    try:
        start = time.perf_counter()
        driver.get(path.resolve().as_uri())
        WebDriverWait(driver, 300).until(lambda d: d.execute_script(
            "var p = document.querySelectorAll('.nf-plot'); return p.length > 0 && "
            "Array.prototype.every.call(p, function(x){ return x.querySelector('.main-svg'); });"))
        return time.perf_counter() - start
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", default="100,1000", help="comma-separated study sizes")
    parser.add_argument("--objectives", default="1", help="comma-separated objective counts (1 and/or 2)")
    parser.add_argument("--json", default=str(RESULTS / "report_scale.json"))
    args = parser.parse_args()
    table = load_nb201()
    import plotly.graph_objects  # noqa: F401  (imports are not part of the timing)
    import sklearn.ensemble  # noqa: F401

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for objectives in (int(v) for v in args.objectives.split(",")):
            for n in (int(v) for v in args.trials.split(",")):
                study = make_study(table, n, objectives, f"sqlite:///{tmp}/scale.db")
                start = time.perf_counter()
                path = report(study, Path(tmp) / f"report-{n}-{objectives}.html")
                seconds = time.perf_counter() - start
                row = {"trials": n, "objectives": objectives, "write_seconds": round(seconds, 2),
                       "megabytes": round(path.stat().st_size / 1e6, 2), "browser_draw_seconds": browser_seconds(path)}
                if row["browser_draw_seconds"] is not None:
                    row["browser_draw_seconds"] = round(row["browser_draw_seconds"], 2)
                rows.append(row)
                print(row, flush=True)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, {"note": "one run on a shared, loaded 2-core machine", "rows": rows})


if __name__ == "__main__":
    main()
