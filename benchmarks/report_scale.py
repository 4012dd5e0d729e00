"""How the HTML report scales: seconds to write it and its size for studies of N trials on NAS-Bench-201,
and (when Debian's chromium + chromedriver are installed) seconds until a headless browser has drawn
every plot. Writes JSON to benchmarks/results/report_scale.json.

    .venv/bin/python benchmarks/report_scale.py --trials 100,1000
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from nasforge import Study, TableEvaluator
from nasforge.analysis import report
from nasforge.benchmarks import load_nb201


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
    parser.add_argument("--json", default="benchmarks/results/report_scale.json")
    args = parser.parse_args()
    table = load_nb201()
    import plotly.graph_objects  # noqa: F401  (imports are not part of the timing)
    import sklearn.ensemble  # noqa: F401

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(v) for v in args.trials.split(",")):
            study = Study(table.space, "evolution", objectives="val_acc", seed=0, name=f"scale-{n}",
                          storage=f"sqlite:///{tmp}/scale.db")
            study.optimize(TableEvaluator(table), n_trials=n)
            start = time.perf_counter()
            path = report(study, Path(tmp) / f"report-{n}.html")
            seconds = time.perf_counter() - start
            row = {"trials": n, "write_seconds": round(seconds, 2), "megabytes": round(path.stat().st_size / 1e6, 2),
                   "browser_draw_seconds": browser_seconds(path)}
            if row["browser_draw_seconds"] is not None:
                row["browser_draw_seconds"] = round(row["browser_draw_seconds"], 2)
            rows.append(row)
            print(row, flush=True)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"note": "one run on a shared, loaded 2-core machine", "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
