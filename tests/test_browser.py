"""The report and the dashboard in a real browser: headless Debian Chromium driven by Selenium.

Skips with the reason when Chromium, chromedriver or Selenium is missing (CI installs them with
``apt-get install chromium chromium-driver``; no browser is ever downloaded). One browser for the
whole module. ``NASFORGE_DOCS_SCREENSHOTS=1`` also saves the report screenshot as docs/report.png.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("plotly")
CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser")) if p), None)
CHROMEDRIVER = shutil.which("chromedriver")
if CHROMIUM is None or CHROMEDRIVER is None:
    pytest.skip(f"headless browser tests need Debian's chromium and chromium-driver (found chromium={CHROMIUM}, "
                f"chromedriver={CHROMEDRIVER}); install with: apt-get install -y chromium chromium-driver",
                allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")

from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from nasforge.analysis.dashboard import serve_in_thread  # noqa: E402
from nasforge.analysis.studyreport import from_study, report  # noqa: E402
from test_report import make_study, markup_data, toy_metrics  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,1000")


@pytest.fixture(scope="module")
def browser():
    profile = tempfile.mkdtemp(prefix="nasforge-chromium-")
    options = Options()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not fetch anything
    try:
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    except Exception as exc:  # a broken install is a skip with its reason, not a test failure
        pytest.skip(f"cannot start headless Chromium: {str(exc).splitlines()[0]}")
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    return make_study(f"sqlite:///{folder / 'study.db'}", "browser", n=24)


@pytest.fixture(scope="module")
def report_page(browser, study, tmp_path_factory):
    path = report(study, tmp_path_factory.mktemp("page") / "report.html")
    browser.get(path.as_uri())
    wait_for_plots(browser)
    return browser


def wait_for_plots(driver, timeout: float = 60) -> None:
    """Until every embedded figure is drawn."""
    WebDriverWait(driver, timeout).until(lambda d: d.execute_script(
        "var plots = document.querySelectorAll('.nf-plot');"
        "return plots.length > 0 && Array.prototype.every.call(plots, function(p){ return p.querySelector('.main-svg'); });"))


def console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def screenshot_is_not_blank(driver, path: Path) -> None:
    from PIL import Image

    driver.save_screenshot(str(path))
    pixels = np.asarray(Image.open(path).convert("L"), dtype=float)
    assert pixels.std() > 20, f"screenshot {path} looks blank (pixel std {pixels.std():.1f})"
    assert len(np.unique(pixels)) > 50


def test_report_loads_without_console_errors(report_page):
    assert console_errors(report_page) == []
    drawn = report_page.execute_script("return document.querySelectorAll('.nf-plot .main-svg').length")
    assert drawn >= 7


def test_every_plot_is_drawn_in_the_page_template(report_page):
    """The figures carry no template of their own: the page script applies the one the page embeds."""
    colors = report_page.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll('.nf-plot'),"
        " function(p){ return p._fullLayout.colorway[0] + ' ' + p._fullLayout.paper_bgcolor; });")
    assert len(colors) >= 7 and set(colors) == {"#636efa white"}  # plotly_white's; plotly.js's own: #1f77b4 #fff


def test_pareto_plot_has_a_point_per_complete_trial(report_page, study):
    data = from_study(study)
    points = report_page.find_elements(By.CSS_SELECTOR, "#nf-plot-pareto .scatterlayer .trace .points path")
    assert len(points) == len(data.complete) + len(data.retrained()) == 22


def test_hovering_a_point_shows_its_architecture_and_clicking_draws_it(report_page, study):
    data = from_study(study)
    front = sorted(data.front(), key=lambda t: t.metrics["params"])
    traces = report_page.find_elements(By.CSS_SELECTOR, "#nf-plot-pareto .scatterlayer .trace")
    point = traces[1].find_elements(By.CSS_SELECTOR, ".points path")[0]  # the cheapest front member
    report_page.execute_script("arguments[0].scrollIntoView({block: 'center'})", point)
    ActionChains(report_page).move_to_element(point).perform()
    hover = WebDriverWait(report_page, 10).until(
        lambda d: d.find_element(By.CSS_SELECTOR, "#nf-plot-pareto .hoverlayer").text or None)
    expected = front[0]
    assert f"trial {expected.number}" in hover
    assert data.arch_text[expected.number] in hover.replace("\n", "")
    ActionChains(report_page).click(point).perform()
    view = report_page.find_element(By.ID, "nf-arch-view")
    WebDriverWait(report_page, 10).until(lambda d: view.get_attribute("data-selected") == str(expected.number))
    labels = [e.text for e in view.find_elements(By.CSS_SELECTOR, "svg text.nf-op")]
    assert labels == list(expected.arch.genotype)


def test_trials_table_sorts_and_filters(report_page, study, tmp_path):
    table = report_page.find_element(By.ID, "nf-trials-table")
    report_page.execute_script("arguments[0].scrollIntoView()", table)
    headers = [h.text for h in table.find_elements(By.CSS_SELECTOR, "thead th")]
    column = headers.index("acc")
    header = table.find_elements(By.CSS_SELECTOR, "thead th")[column]

    def acc_column() -> list[float]:
        cells = report_page.execute_script(
            "var k = arguments[1]; return Array.prototype.map.call(arguments[0].tBodies[0].rows,"
            " function(r){ return r.children[k].textContent; })", table, column)
        return [float(c) for c in cells if c]

    header.click()
    ascending = acc_column()
    assert ascending == sorted(ascending) and len(ascending) == 20
    header.click()
    assert acc_column() == sorted(ascending, reverse=True)
    box = report_page.find_element(By.ID, "nf-filter")
    box.send_keys("FAILED")
    visible = [r for r in table.find_elements(By.CSS_SELECTOR, "tbody tr") if r.is_displayed()]
    assert len(visible) == 2 and all("FAILED" in r.text for r in visible)
    report_page.execute_script("var b = document.getElementById('nf-filter'); b.value = '';"
                               "b.dispatchEvent(new Event('input'));")
    report_page.execute_script("window.scrollTo(0, 0)")
    report_page.set_window_size(1280, 1650)
    time.sleep(0.5)  # plots re-layout to the new width
    shot = tmp_path / "report.png"
    screenshot_is_not_blank(report_page, shot)
    if os.environ.get("NASFORGE_DOCS_SCREENSHOTS") == "1":
        shutil.copy(shot, DOCS / "report.png")
    report_page.set_window_size(1280, 1000)


@pytest.mark.slow  # kept out of the default suite, over its 10-minute budget (run with -m slow)
def test_dashboard_shows_a_trial_that_completes_after_the_page_opened(browser, tmp_path):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    study = make_study(url, "live", n=8)
    server, base = serve_in_thread(url, interval=0.5)
    try:
        browser.get(f"{base}/")
        link = WebDriverWait(browser, 30).until(lambda d: d.find_element(By.LINK_TEXT, "live"))
        link.click()  # the study's live page
        wait_for_plots(browser)
        generated = browser.find_element(By.ID, "nf-generated").text
        time.sleep(1.1)  # the stamp counts seconds
        trial = study.ask()  # another writer finishes a trial now
        study.tell(trial, toy_metrics(trial.arch))
        row = f'#nf-trials-table tr[data-number="{trial.number}"]'
        WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, row))
        wait_for_plots(browser)
        assert "COMPLETE" in browser.find_element(By.CSS_SELECTOR, row).text
        assert browser.find_element(By.ID, "nf-generated").text > generated  # was the first page's for ever
        assert console_errors(browser) == []
        screenshot_is_not_blank(browser, tmp_path / "dashboard.png")
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow  # kept out of the default suite, over its 10-minute budget (run with -m slow)
def test_a_dashboard_page_of_a_deleted_study_says_so_and_stops_asking(browser, tmp_path):
    """Would fail: the page showed "live: SyntaxError: Unexpected token ..." (it read the 404 line as JSON) and
    asked again every interval."""
    url = f"sqlite:///{tmp_path / 'gone.db'}"
    study = make_study(url, "gone", n=4)
    server, base = serve_in_thread(url, interval=0.3)
    try:
        browser.get(f"{base}/study?name=gone")
        wait_for_plots(browser)
        study.storage.delete_study("gone")
        label = browser.find_element(By.ID, "nf-live")
        WebDriverWait(browser, 30).until(lambda d: "deleted" in label.text)
        assert label.text == "live: stopped: this study was deleted or renamed"
        count = "return performance.getEntriesByType('resource').length"
        asked = browser.execute_script(count)
        time.sleep(1.5)  # five intervals
        assert browser.execute_script(count) == asked and "stopped" in label.text
    finally:
        server.shutdown()
        server.server_close()
        study.storage.close()


def test_plotly_draws_markup_in_labels_and_names_as_written(browser, study, tmp_path):
    """Would fail: a choice label "<i>none</i>" was drawn as an italic "none", an edge "<b>edge_0_1</b>" bold."""
    from nasforge.analysis.studyreport import views
    from nasforge.analysis.studyreport.page import render_page

    data = markup_data(study.storage.url, "browser")
    path = tmp_path / "markup.html"
    path.write_text(render_page("nasforge markup", [views.importance_view(data)]))
    browser.get(path.as_uri())
    wait_for_plots(browser)

    def ticks(axis: str) -> list[str]:
        return browser.execute_script("return Array.prototype.map.call(document.querySelectorAll(arguments[0]),"
                                      " function(t){ return t.textContent; })", f"#nf-plot-importance-0 .{axis} text")

    assert "<i>none</i>" in ticks("xtick") and "<b>edge_0_1</b>" in ticks("ytick"), (ticks("xtick"), ticks("ytick"))
    assert browser.find_elements(By.CSS_SELECTOR, ".nf-plot tspan[style*='italic'], .nf-plot tspan[style*='bold']") \
        == []
