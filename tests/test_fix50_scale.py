"""The report of a large study stays small enough to open: no template per undrawn trial, a capped Trials table and
objective plot with a note (fix50, topic scale)."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from nasforge import Study, get_space

from report_pages import figures, op_length_score

pytest.importorskip("plotly")
SPACE = get_space("nb201")


def _told_study(n: int, storage: str | None = None) -> Study:
    study = Study(SPACE, "random", objectives="acc", seed=0, name="big", storage=storage)
    for _ in range(n):
        trial = study.ask()
        study.tell(trial, {"acc": op_length_score(trial.arch), "params": 1234567})
    return study


def _text_forms(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="nf-arch-text">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def test_trials_past_the_diagram_limit_carry_their_text_form_once_not_a_template_each(monkeypatch):
    """Would fail: every trial had a <template> (past the 2,000 diagrams a full details table), 82 MB at 100k."""
    from nasforge.analysis.studyreport import from_study, views

    monkeypatch.setattr(views, "MAX_DIAGRAMS", 3)
    data = from_study(_told_study(6))
    html = views.architecture_view(data)
    templates = dict(re.findall(r'<template id="nf-arch-(\d+)">(.*?)</template>', html, re.S))
    assert len(templates) == 3 and all("<svg" in body for body in templates.values())
    forms = _text_forms(html)
    assert forms["holds"] == 3 and sorted(map(int, forms["trials"])) == sorted(
        t.number for t in data.trials if str(t.number) not in templates)
    for number, (state, arch, budget, pairs) in forms["trials"].items():
        trial = data.trials[int(number)]
        assert (state, arch, budget) == ("COMPLETE", data.arch_text[trial.number], None)
        shown = {forms["keys"][k]: v for k, v in zip(pairs[::2], pairs[1::2])}
        assert shown == {"acc": float(views.number_text(trial.metrics["acc"])), "params": 1234567}


def test_a_study_past_max_rows_lists_and_draws_its_last_trials_with_a_note(monkeypatch, tmp_path):
    """Would fail: the Trials table had a row and the objective plot a point per trial (34 + 37 MB at 100k)."""
    from nasforge.analysis.studyreport import from_study, render_study, views

    monkeypatch.setattr(views, "MAX_ROWS", 4)
    data = from_study(_told_study(10, f"sqlite:///{tmp_path / 's.db'}"))
    html = render_study(data)
    table = html[html.index('id="nf-trials-table"'):]
    table = table[:table.index("</table>")]
    assert re.findall(r'<tr class="nf-select" data-number="(\d+)"', table) == ["6", "7", "8", "9"]
    assert "Showing the last 4 of 10 trials (nasforge trials big --storage sqlite:///" in html
    drawn = {x for trace in figures(html)["nf-plot-pareto"]["data"] for x in trace["x"]}
    assert drawn == {6, 7, 8, 9, data.best().number} | {t.number for t in data.front()} and len(drawn) < 10
    assert f"Showing {len(drawn)} of 10 complete trials: the last 4 with the best trial and the Pareto set" in html
    monkeypatch.setattr(views, "MAX_ROWS", 10)
    assert "Showing" not in render_study(data)  # up to the cap: every trial, no note


@pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("chromedriver")), reason="needs chromium")
def test_clicking_an_undrawn_trial_shows_its_text_form_in_a_browser(monkeypatch, tmp_path):
    """The page script builds the details table a template held from the JSON."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    from nasforge.analysis.studyreport import from_study, report, views

    monkeypatch.setattr(views, "MAX_DIAGRAMS", 3)
    data = from_study(_told_study(6))
    path = report(data, tmp_path / "report.html")
    options = Options()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    except Exception as exc:  # a broken install is a skip with its reason
        pytest.skip(f"cannot start headless Chromium: {str(exc).splitlines()[0]}")
    try:
        driver.get(path.as_uri())
        undrawn = next(iter(_text_forms(path.read_text())["trials"]))
        driver.execute_script("window.nfSelect(arguments[0])", undrawn)
        view = driver.find_element(By.ID, "nf-arch-view")
        rows = [[c.text for c in r.find_elements(By.TAG_NAME, "td")] for r in view.find_elements(By.TAG_NAME, "tr")]
        trial = data.trials[int(undrawn)]
        assert f"No diagram embedded for trial {undrawn} (the page holds 3); its text form:" in view.text
        assert rows[1:] == [["trial", undrawn], ["state", "COMPLETE"], ["architecture", data.arch_text[trial.number]],
                            ["acc", views.number_text(trial.metrics["acc"])], ["params", "1234567"]]
    finally:
        driver.quit()


def test_names_that_would_open_markup_stay_inside_the_text_forms(monkeypatch):
    """Would fail: only '</' was escaped, and a metric named '<!--<script>' kept the element from closing, so five
    sections of the page were swallowed."""
    from nasforge import Result
    from nasforge.analysis.studyreport import from_study, views

    monkeypatch.setattr(views, "MAX_DIAGRAMS", 1)
    study = Study(SPACE, "random", objectives="acc", seed=0, name="s")
    for i in range(3):
        trial = study.ask()
        study.tell(trial, Result(metrics={"acc": 50.0 + i, "<!--<script>&": 1.0}))
    html = views.architecture_view(from_study(study))
    found = re.search(r'<script type="application/json" id="nf-arch-text">(.*?)</script>', html, re.S)
    assert not re.search(r"[<>&]", found.group(1))
    assert "<!--<script>&" in json.dumps(_text_forms(html), ensure_ascii=False)
