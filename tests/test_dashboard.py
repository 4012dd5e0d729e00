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

pytest.importorskip("plotly")
TESTS = Path(__file__).parent


def get(url: str, timeout: float = 30.0, data: bytes | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, data=data, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


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

    class Server:
        server_port = 8080

        def serve_forever(self) -> None:
            pass

        def server_close(self) -> None:
            pass

    monkeypatch.setattr(dashboard, "make_dashboard_server", lambda *args: Server())
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
        for bad in ("since=abc", "since=1.2", "since=-1", "since=1.2.x"):
            status, text = get(base + "/api/study/version?name=body&" + bad)
            assert status == 400 and "since must be a version this dashboard gave" in text, (bad, text)
        assert get(base + "/api/study/version")[0] == 400 and get(base + "/study")[0] == 400
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
