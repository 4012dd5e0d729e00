"""The live dashboard: its routes, that it never writes, and that it answers while 2 processes write the study."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from nasforge import Study, get_space
from nasforge.analysis.dashboard import Dashboard, serve_in_thread
from nasforge.exceptions import UsageError

from engine_backends import backend  # noqa: F401 (a fixture: memory, SQLite, PostgreSQL)

pytest.importorskip("plotly")
TESTS = Path(__file__).parent


def get(url: str, timeout: float = 30.0, data: bytes | None = None, method: str | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data, method=method), timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class _IdleServer:
    """Stands in for the dashboard's HTTP server: ``nasforge dashboard`` starts, serves nothing and returns."""

    server_port = 8080

    def serve_forever(self) -> None:
        pass

    def server_close(self) -> None:
        pass


def snapshot(db: Path) -> tuple[str, int]:
    return hashlib.sha256(db.read_bytes()).hexdigest(), os.stat(db).st_mtime_ns


def test_routes_and_never_writes(tmp_path):
    from test_report import make_study

    db = tmp_path / "study.db"
    url = f"sqlite:///{db}"
    make_study(url, "toy one", n=10).storage.close()
    before = snapshot(db)
    server, base = serve_in_thread(url)
    try:
        status, index = get(base + "/")
        assert status == 200 and 'href="/study?name=toy%20one"' in index and "window.NF_LIVE" in index
        status, listing = get(base + "/api/index/version")
        assert status == 200 and len(json.loads(listing)["version"]) == 16
        assert get(base + "/index/body")[1].startswith('<section id="nf-studies">')
        status, page = get(base + "/study?name=toy%20one")
        assert status == 200 and '<script src="/static/plotly.min.js">' in page and "window.NF_LIVE" in page
        assert '<section id="nf-pareto">' in page and 'id="nf-trials-table"' in page
        status, typed = get(base + "/study/toy%20one")  # typed by hand
        assert status == 200 and '<section id="nf-pareto">' in typed
        status, body = get(base + "/study/body?name=toy%20one")
        assert status == 200 and body.startswith('<section id="nf-summary">') and "<html" not in body
        status, version = get(base + "/api/study/version?name=toy%20one")
        assert status == 200 and int(json.loads(version)["version"].split(".")[2]) > 0
        status, js = get(base + "/static/plotly.min.js")
        assert status == 200 and len(js) > 1_000_000
        assert get(base + "/study/nope")[0] == 404 and get(base + "/nowhere")[0] == 404
        assert get(base + "/study?name=toy%20one", data=b"x=1")[0] == 405  # POST: read-only
    finally:
        server.shutdown()
        server.server_close()
    assert snapshot(db) == before  # same bytes, same modification time
    with Dashboard(url).storage() as storage:
        record = storage.load_study("toy one")
        with pytest.raises(Exception, match="readonly|read-only|read only"):
            storage.update_study(record.id, user_attrs={"written": True})
    assert snapshot(db) == before


WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from engine_evaluators import Toy
    from nasforge import Study, get_space

    if __name__ == "__main__":
        study = Study(get_space("nb201"), "random", objectives=["acc", "params"], directions=["maximize", "minimize"],
                      seed=0, name="live", storage={url!r}, load_if_exists=True)
        study.optimize(Toy(sleep=0.25), n_trials={n})
""")


@pytest.mark.slow  # kept out of the default suite, over its 10-minute budget (run with -m slow)
def test_responsive_while_two_worker_processes_write(tmp_path):
    db = tmp_path / "live.db"
    url = f"sqlite:///{db}"
    Study(get_space("nb201"), "random", objectives=["acc", "params"], directions=["maximize", "minimize"], seed=0,
          name="live", storage=url).storage.close()
    script = tmp_path / "writer.py"
    n = 6  # trials per writer
    script.write_text(WRITER.format(tests=str(TESTS), url=url, n=n))
    server, base = serve_in_thread(url)
    writers = [subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
               for _ in range(2)]  # two processes run the same study at once, each writing its trials
    versions, slowest, requests = [], 0.0, 0
    try:
        deadline = time.time() + 240
        while any(w.poll() is None for w in writers) and time.time() < deadline:
            start = time.perf_counter()
            status, version = get(base + "/api/study/version?name=live", timeout=30)
            slowest = max(slowest, time.perf_counter() - start)
            status_body, _ = get(base + "/study/body?name=live", timeout=120)  # renders every view again
            requests += 1
            assert status == 200 and status_body == 200
            versions.append(int(json.loads(version)["version"].split(".")[2]))
            time.sleep(0.2)
        for writer in writers:
            output = writer.communicate(timeout=60)[0].decode()
            assert writer.returncode == 0, output
        status, body = get(base + "/study/body?name=live")
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
        server.shutdown()
        server.server_close()
    # the dashboard answered throughout and saw the study change several times while it ran
    assert requests >= 3 and slowest < 30, (requests, slowest)
    assert len(set(versions)) >= 3 and versions == sorted(versions)
    assert status == 200 and body.count('class="nf-select" data-number=') >= 2 * n
    trials = Study.load("live", url).trials
    assert len(trials) == 2 * n and len({t.worker for t in trials}) == 2  # both processes wrote trials


def test_dashboard_command(tmp_path, capsys):
    from nasforge.cli import main
    from test_report import make_study

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    make_study(url, "cli", n=4).storage.close()
    command = [sys.executable, "-c", "import sys; from nasforge.cli import main; sys.exit(main())",
               "dashboard", "--storage", url, "--port", "0"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = server.stdout.readline()
        assert "http://127.0.0.1:" in line, line
        base = line.split("on ", 1)[1].split("/ ", 1)[0]
        status, index = get(base + "/")
        assert status == 200 and "/study?name=cli" in index
    finally:
        server.terminate()
        server.wait(timeout=30)
    for interval in ("0", "0.0001", "86401", "1e308", "nan", "inf"):  # 1e308 was an HTTP 500 (OverflowError)
        assert main(["dashboard", "--storage", url, "--interval", interval]) == 2
        err = capsys.readouterr().err
        assert "argument --interval: must be a number of seconds in [0.2, 86400], got" in err and len(err.splitlines()) == 1
    for interval in (0.1, 1e308, float("nan")):
        with pytest.raises(UsageError, match=r"interval must be a number of seconds in \[0.2, 86400\]"):
            Dashboard(url, interval)
    assert main(["dashboard", "--storage", f"sqlite:///{tmp_path / 'none.db'}", "--port", "0"]) == 2
    assert "no database file" in capsys.readouterr().err


def test_storage_passwords_are_never_shown(tmp_path, monkeypatch, capsys):
    """The password of --storage was in the dashboard's title, every study subtitle, its error pages and its
    start-up line. No PostgreSQL here: the dashboard is given its URL and reads a SQLite copy."""
    import nasforge.analysis.dashboard as dashboard
    from nasforge.cli import main
    from nasforge.exceptions import StorageError
    from test_report import make_study

    url, pg = f"sqlite:///{tmp_path / 'study.db'}", "postgresql+psycopg://nf:secretpw@db.example/nas"
    make_study(url, "toy", n=6).storage.close()
    real_open = dashboard.open_readonly
    monkeypatch.setattr(dashboard, "open_readonly", lambda _url: real_open(url))
    app = Dashboard(pg)
    pages = [app.index(), app.page("toy")]

    def unreachable(_url):
        raise StorageError(f"storage {pg!r}: connection refused")

    app._shared = None
    monkeypatch.setattr(dashboard, "open_readonly", unreachable)
    pages.append(b"".join(app({"PATH_INFO": "/study", "QUERY_STRING": "name=toy"}, lambda *a: None)).decode())
    assert all("secretpw" not in page and "nf:***@db.example/nas" in page for page in pages)

    monkeypatch.setattr(dashboard, "make_dashboard_server", lambda *args: _IdleServer())
    assert main(["dashboard", "--storage", pg]) == 0
    line = capsys.readouterr().out
    assert "secretpw" not in line and "read-only postgresql+psycopg://nf:***@db.example/nas" in line


def test_postgresql_is_opened_read_only():
    url = os.environ.get("NASFORGE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("NASFORGE_TEST_POSTGRES_URL is not set (CI starts a local PostgreSQL server)")
    from test_report import toy_metrics

    name = f"dashboard-{os.getpid()}-{time.time_ns()}"
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0, name=name, storage=url)
    try:
        for _ in range(3):
            trial = study.ask()
            study.tell(trial, toy_metrics(trial.arch))
        app = Dashboard(url)
        assert app.body(name).count('class="nf-select" data-number=') >= 3
        with app.storage() as storage, pytest.raises(Exception, match="read-only"):
            storage.update_study(storage.load_study(name).id, user_attrs={"written": True})
    finally:
        study.storage.delete_study(name)


def test_every_study_name_round_trips_and_bad_queries_are_400(tmp_path):
    import html
    import re

    from test_report import make_study

    url = f"sqlite:///{tmp_path / 'names.db'}"
    names = ["50%41", "x/body", "a&b+c d", "straße é", "body", "q?x=1#y"]
    for name in names:
        make_study(url, name, n=3).storage.close()
    server, base = serve_in_thread(url)
    try:
        index = get(base + "/")[1]
        links = [html.unescape(h) for h in re.findall(r'<a href="(/study\?[^"]+)">', index)]
        assert len(links) == len(names)
        for link in links:  # each link, as a browser follows it, shows its own study
            status, page = get(base + link)
            assert status == 200, (link, page[:200])
            title = html.unescape(re.search(r"<title>nasforge study (.*?)</title>", page).group(1))
            assert title in names and link == "/study?name=" + urllib.parse.quote(title, safe="")
            live = json.loads(re.search(r"window.NF_LIVE = (.*?);</script>", page).group(1))
            status, version = get(base + live["versionUrl"] + "&since=" + urllib.parse.quote(live["version"]))
            assert status == 200 and json.loads(version)["version"] == live["version"]
            status, body = get(base + live["bodyUrl"])
            assert status == 200 and body.startswith('<section id="nf-summary">')
        assert "<title>nasforge study straße é</title>" in get(base + "/study/stra%C3%9Fe%20%C3%A9")[1]
        assert "<title>nasforge study 50%41</title>" in get(base + "/study/50%2541")[1]  # decoded once
        # 1.1796509444861862.99...9 was an HTTP 500 (OverflowError: too large for a SQLite INTEGER)
        for bad in ("since=abc", "since=1.2", "since=-1", "since=1.2.x", "since=1.1796509444861862." + "9" * 25,
                    "since=1_0.2.3", "since=1.2.3.x", "since=1.2.3.0123456789abcdeF", "since=%D9%A1.2.3"):
            status, text = get(base + "/api/study/version?name=body&" + bad)
            assert status == 400 and "since must be a version this dashboard gave" in text, (bad, text)
        status, version = get(base + "/api/study/version?name=body&since=1.2.3")  # a page of before the stamp
        assert status == 200 and len(json.loads(version)["version"].split(".")) == 4
        assert get(base + "/api/study/version")[0] == 400 and get(base + "/study")[0] == 400
        status, text = get(base + "/study/body")  # was "404 no study 'body'"
        assert status == 400 and text == "name a study: /study/body?name=STUDY"
        status, page = get(base + "/study/?name=x%2Fbody")  # was "no study ''"
        assert status == 200 and "<title>nasforge study x/body</title>" in page
    finally:
        server.shutdown()
        server.server_close()


def test_a_study_replaced_under_its_name_is_shown_anew(tmp_path):
    from nasforge.experiment.storage import open_storage
    from test_report import make_study

    url = f"sqlite:///{tmp_path / 'again.db'}"
    make_study(url, "again", n=12).storage.close()
    app = Dashboard(url)
    old_body = app.body("again")  # rendered and cached
    server, base = serve_in_thread(url)
    try:
        old_page = get(base + "/study?name=again")[1]
        old = json.loads(old_page.split("window.NF_LIVE = ", 1)[1].split(";</script>", 1)[0])["version"]
        storage = open_storage(url)
        storage.delete_study("again")
        storage.close()
        make_study(url, "again", n=3, seed=5).storage.close()  # fewer trials: its last event is lower
        status, version = get(base + "/api/study/version?name=again&since=" + old)
        new = json.loads(version)["version"]
        assert status == 200 and new != old  # an open page sees the change and reloads its views (a new
        # database never reuses the id; older files did, and the version tells them apart by creation time too)
        assert get(base + "/study/body?name=again")[1].count('class="nf-select" data-number=') < \
            old_page.count('class="nf-select" data-number=')
    finally:
        server.shutdown()
        server.server_close()
    new_body = app.body("again")  # not the cached views of the deleted study
    assert new_body.count('class="nf-select" data-number=') < old_body.count('class="nf-select" data-number=')
    assert "3: 3 COMPLETE" in new_body and "12: " in old_body
    storage = open_storage(url)
    storage.delete_study("again")
    storage.close()
    Study(get_space("nb201"), "random", objectives="acc", name="again", storage=url).storage.close()  # no trial yet
    server, base = serve_in_thread(url)
    try:
        status, version = get(base + "/api/study/version?name=again")
        empty = json.loads(version)["version"]
        assert status == 200 and empty.split(".")[2] == "-1"  # no event yet: the version an open page keeps
        assert get(base + "/api/study/version?name=again&since=" + empty)[0] == 200  # and sends back: accepted
    finally:
        server.shutdown()
        server.server_close()


def test_concurrent_requests_share_one_render_per_change(tmp_path, monkeypatch):
    import threading

    from nasforge.analysis import dashboard
    from test_report import make_study

    url = f"sqlite:///{tmp_path / 'busy.db'}"
    study = make_study(url, "busy", n=6)
    app = Dashboard(url)
    renders = []

    def slow_sections(data):
        renders.append(data.version)
        time.sleep(0.3)  # the others arrive meanwhile
        return real(data)

    real = dashboard.study_sections
    monkeypatch.setattr(dashboard, "study_sections", slow_sections)
    for round_ in range(2):  # the first look, then after a change
        bodies = []
        threads = [threading.Thread(target=lambda: bodies.append(app.body("busy"))) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(renders) == round_ + 1 and len(set(bodies)) == 1 and len(bodies) == 3
        study.tell(study.ask(), {"acc": 50.0, "params": 1.0})
    study.storage.close()


def test_a_damaged_creation_time_is_shown_as_unknown(tmp_path):
    """Would fail: a study whose stored creation time is damaged was listed as created now."""
    import sqlite3

    from test_report import make_study

    db = tmp_path / "study.db"
    make_study(f"sqlite:///{db}", "toy", n=3).storage.close()
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE nasforge_studies SET created_at = 'yesterday'")
    _, section = Dashboard(f"sqlite:///{db}").index_section()
    assert "<td>?</td>" in section and time.strftime("%Y-%m-%d") not in section


@pytest.mark.parametrize("column, value", [("user_attrs", "[" * 100_000 + "]" * 100_000), ("metrics", '{"acc": [1]}')])
def test_a_damaged_trial_row_is_a_503_naming_the_field(tmp_path, column, value):
    """Would fail: a trial row holding 100,000-deep JSON was a bare 500 "internal error" (a RecursionError); the
    dashboard names the damaged field, as the CLI does."""
    import sqlite3

    from test_report import make_study

    db = tmp_path / "study.db"
    make_study(f"sqlite:///{db}", "toy", n=3).storage.close()
    with sqlite3.connect(db) as raw:
        raw.execute(f"UPDATE nasforge_trials SET {column} = ? WHERE number = 1", (value,))
    answers = []
    body = Dashboard(f"sqlite:///{db}")({"REQUEST_METHOD": "GET", "PATH_INFO": "/study", "QUERY_STRING": "name=toy"},
                                        lambda status, headers: answers.append(status))
    text = b"".join(body).decode()
    assert answers == ["503 Service Unavailable"] and f"corrupted '{column}' field" in text, (answers, text)


def test_version_follows_progress_and_study_attributes(backend):
    """Would fail: a running trial's reported values and the study's user_attrs and run_config change with no trial
    event, so the version stayed and an open page (even reloaded) kept the views of before."""
    from nasforge.analysis.studyreport.data import change_stamp, load_study_data, study_version

    study = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="v", storage=backend)
    storage, trial = study.storage, study.ask()
    versions = [study_version(storage, "v")]

    def changed() -> bool:
        version = study_version(storage, "v", versions[-1])
        assert version == study_version(storage, "v")  # reading the changes since the last version: a full read
        data = load_study_data(storage, "v")  # the dashboard's views carry the same version
        assert version == (*data.identity, data.version, change_stamp(data.user_attrs, data.run_config, data.trials))
        versions.append(version)
        return versions[-1] != versions[-2]

    study.heartbeat([trial.number])
    assert not changed()  # a heartbeat alone changes nothing shown
    for step in (1, 2):
        trial.intermediate.append((step, 0.5 * step))
        assert study.record_progress(trial) and changed() and not changed()
    study.set_user_attr("retrained", {str(trial.number): {"metrics": {"test_acc": 1.0}, "status": "ok"}})
    assert changed() and not changed()
    study.set_run_config({"n_trials_total": 5})
    assert changed()
    study.tell(trial, {"acc": 1.0})
    assert changed() and versions[-1][2] > versions[-2][2]
    study.storage.close()


def test_an_open_page_sees_a_growing_curve_and_retrained_results(tmp_path):
    """The reviewer's case: the dashboard served the curve a running trial had when first rendered, and no
    retrained result set after it, while ``nasforge report`` showed them."""
    from test_report import figures

    url = f"sqlite:///{tmp_path / 'curve.db'}"
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="curve", storage=url)
    trial = study.ask()
    app = Dashboard(url)
    server, base = serve_in_thread(url)
    try:
        page = get(base + "/study?name=curve")[1]
        old = json.loads(page.split("window.NF_LIVE = ", 1)[1].split(";</script>", 1)[0])["version"]
        for step in (1, 2, 3):
            trial.intermediate.append((step, 10.0 * step))
            study.record_progress(trial)
            version = json.loads(get(base + "/api/study/version?name=curve&since=" + old)[1])["version"]
            assert version != old
            curve = figures(get(base + "/study/body?name=curve")[1])["nf-plot-curves"]["data"][0]
            assert curve["x"] == list(range(1, step + 1)), curve
            old = version
        study.set_user_attr("retrained", {str(trial.number): {"metrics": {"test_acc": 77.0}, "status": "ok"}})
        assert "retrained (stage 2)" in get(base + "/study/body?name=curve")[1]
    finally:
        server.shutdown()
        server.server_close()
        study.storage.close()
    assert "retrained (stage 2)" in app.body("curve")  # a Dashboard object that cached the views before


def test_head_gets_the_headers_alone_and_a_bug_is_one_line_and_a_500(tmp_path, monkeypatch, capsys):
    from nasforge.analysis import dashboard
    from test_report import make_study

    url = f"sqlite:///{tmp_path / 'head.db'}"
    make_study(url, "toy", n=3).storage.close()
    make_study(url, "other", n=3).storage.close()
    server, base = serve_in_thread(url)
    try:
        for route in ("/", "/study?name=toy", "/api/study/version?name=toy", "/study?name=nope"):
            request = urllib.request.Request(base + route, method="HEAD")
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    status, headers, body = response.status, response.headers, response.read()
            except urllib.error.HTTPError as exc:
                status, headers, body = exc.code, exc.headers, exc.read()
            full = get(base + route)
            assert (status, body) == (full[0], b"") and int(headers["Content-Length"]) == len(full[1].encode())

        def broken(data):
            raise RuntimeError("boom\nsecond line")

        monkeypatch.setattr(dashboard, "study_sections", broken)
        capsys.readouterr()
        status, text = get(base + "/study?name=other")  # not rendered yet
        time.sleep(0.2)  # the server thread writes its line
        err = capsys.readouterr().err
    finally:
        server.shutdown()
        server.server_close()
    assert status == 500 and "internal error" in text and "boom" not in text
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("nasforge dashboard: GET /study failed at ") and "RuntimeError: boom second line" in err


def test_unknown_names_keep_no_render_lock(tmp_path):
    """Would fail: every name asked for (a typo, a scan) kept a lock, and a deleted study its views, for ever."""
    from nasforge.experiment.storage import open_storage
    from test_report import make_study

    url = f"sqlite:///{tmp_path / 'locks.db'}"
    make_study(url, "toy", n=3).storage.close()
    make_study(url, "gone", n=3).storage.close()
    app = Dashboard(url)
    app.body("toy"), app.body("gone")
    for k in range(20):
        with pytest.raises(UsageError, match=f"no study 'nope{k}'"):
            app.body(f"nope{k}")
    with open_storage(url) as storage:
        storage.delete_study("gone")
    with pytest.raises(UsageError, match="no study 'gone'"):
        app.page("gone")
    assert set(app._rendering) == set(app._cache) == {"toy"}


def test_hosts_beyond_this_machine_are_warned_about_and_ipv6_is_served(tmp_path, monkeypatch, capsys):
    """Would fail: --host 0.0.0.0 printed http://0.0.0.0:PORT/ without a word about who can read it, and ::1 (or
    any IPv6 address) could not be listened on."""
    import socket

    import nasforge.analysis.dashboard as dashboard
    from nasforge.cli import main
    from test_report import make_study

    assert dashboard.server_url("0.0.0.0", 80) == "http://127.0.0.1:80"
    assert dashboard.server_url("::", 80) == dashboard.server_url("[::1]", 80) == "http://[::1]:80"
    assert dashboard.server_url("10.1.2.3", 80) == "http://10.1.2.3:80"
    assert dashboard.is_loopback("127.0.0.1") and dashboard.is_loopback("::1") and dashboard.is_loopback("localhost")
    assert not any(dashboard.is_loopback(host) for host in ("0.0.0.0", "::", "", "10.1.2.3", "no-such-host.invalid"))

    url = f"sqlite:///{tmp_path / 'hosts.db'}"
    make_study(url, "toy", n=3).storage.close()
    monkeypatch.setattr(dashboard, "make_dashboard_server", lambda *args: _IdleServer())
    for host, shown, warned in (("0.0.0.0", "http://127.0.0.1:8080/", True), ("::", "http://[::1]:8080/", True),
                                ("127.0.0.1", "http://127.0.0.1:8080/", False), ("::1", "http://[::1]:8080/", False)):
        assert main(["dashboard", "--storage", url, "--host", host]) == 0
        out, err = capsys.readouterr()
        assert f"nasforge dashboard on {shown} " in out
        assert len(err.splitlines()) == warned and (not warned or "without authentication" in err), (host, err)
    monkeypatch.undo()
    try:
        socket.socket(socket.AF_INET6).close()
        server, base = serve_in_thread(url, host="::1")
    except (OSError, UsageError) as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    try:
        assert base.startswith("http://[::1]:") and get(base + "/study?name=toy")[0] == 200
    finally:
        server.shutdown()
        server.server_close()
