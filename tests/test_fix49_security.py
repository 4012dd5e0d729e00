"""Stop 49 security fixes: the dashboard refuses requests for foreign host names (DNS rebinding) and drops silent
clients, at most a set number at once; the kill -9 torture keeps its default database in a private folder;
``oneshot study`` checks that its --storage opens before any work."""

from __future__ import annotations

import http.client
import importlib
import re
import socket
import stat
import sys
import tempfile
import time
from pathlib import Path

import pytest

from nasforge.cli import main
from nasforge.exceptions import UsageError

pytest.importorskip("plotly")
pytest.importorskip("sqlalchemy")


def _storage(tmp_path) -> str:
    from nasforge.experiment.storage import open_storage

    url = f"sqlite:///{tmp_path / 'x.db'}"
    open_storage(url).close()  # an empty study database
    return url


def _status(server, host: str | None, path: str = "/index/body", method: str = "GET") -> tuple[int, bytes]:
    """The status and body of a request sent to the server with ``host`` as its Host header (None: no header)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
    try:
        connection.putrequest(method, path, skip_host=True)
        if host is not None:
            connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_the_dashboard_refuses_a_host_name_it_was_not_told_of(tmp_path):
    """Would fail without the fix: every route answered 200 whatever the Host said, so a web page whose name was
    re-pointed at 127.0.0.1 (DNS rebinding) read every study as same-origin requests."""
    from nasforge.analysis.dashboard import serve_in_thread

    server, _ = serve_in_thread(_storage(tmp_path), allowed_hosts=["Proxy.Example.", "bücher.example"])
    try:
        for host in ("rebind.attacker.example:8080", "rebind.attacker.example", "localhost.attacker.example",
                     "127.0.0.1.nip.io:80"):
            status, body = _status(server, host)
            assert status == 421 and b"--allowed-host" in body and b"<" not in body, host
            for path in ("/", "/api/index/version", "/study/body?name=x", "/static/plotly.min.js"):
                assert _status(server, host, path)[0] == 421, (host, path)
        assert _status(server, "evil.example", "/", "HEAD") == (421, b"")
        for host in (None, "127.0.0.1", "127.0.0.1:9", "LOCALHOST:1", "localhost.", "[::1]:8080", "[::1]",
                     "10.1.2.3:8080", "proxy.example", "proxy.example.:443", "xn--bcher-kva.example"):
            assert _status(server, host)[0] == 200, host
    finally:
        server.shutdown()
        server.server_close()


def test_the_dashboard_answers_for_the_name_it_listens_on_and_checks_allowed_names(tmp_path):
    from nasforge.analysis.dashboard import Dashboard, make_dashboard_server

    url = _storage(tmp_path)
    server = make_dashboard_server(url, "localhost", 0)
    try:
        assert server.get_app().hosts == {"localhost"}
    finally:
        server.server_close()
    for bad in ("proxy.example:8080", "a b", "", "a..b", "http://proxy.example", 7):
        with pytest.raises(UsageError, match="allowed_hosts must hold host names"):
            Dashboard(url, allowed_hosts=[bad])
    with pytest.raises(UsageError, match="list of host names"):
        Dashboard(url, allowed_hosts="proxy.example")  # not one name per letter


def test_dashboard_allowed_host_option_reaches_the_server_and_a_bad_one_exits_2(tmp_path, monkeypatch, capsys):
    from nasforge.analysis import dashboard

    url = _storage(tmp_path)
    seen = []

    class Idle:
        server_port = 8080

        def __init__(self, *args) -> None:
            seen.append(args)

        def serve_forever(self) -> None:
            pass

        def server_close(self) -> None:
            pass

    monkeypatch.setattr(dashboard, "make_dashboard_server", Idle)
    assert main(["dashboard", "--storage", url, "--allowed-host", "a.example", "--allowed-host", "b.example"]) == 0
    assert seen[0][4] == ["a.example", "b.example"]
    monkeypatch.undo()
    assert main(["dashboard", "--storage", url, "--port", "0", "--allowed-host", "a.example:80"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--allowed-host must hold host names" in err and "'a.example:80'" in err


def test_the_dashboard_drops_silent_clients_and_closes_connections_beyond_its_cap(tmp_path, monkeypatch, capfd):
    """Would fail without the fix: a half-sent request held its thread and socket forever and every connection got
    a thread, so idle clients used up the file descriptors and the server then served nobody, spinning a core."""
    from nasforge.analysis import dashboard

    assert 0 < dashboard._QuietHandler.timeout <= 60 and dashboard._ThreadingServer.max_connections < 1024
    monkeypatch.setattr(dashboard._QuietHandler, "timeout", 1.0)
    monkeypatch.setattr(dashboard._ThreadingServer, "max_connections", 2)
    server, _ = dashboard.serve_in_thread(_storage(tmp_path))
    idle = []
    try:
        for _ in range(2):
            idle.append(socket.create_connection(("127.0.0.1", server.server_port), timeout=3))
            idle[-1].sendall(b"GET / HTTP/1.1\r\n")  # never finished
        time.sleep(0.1)  # both accepted, each holding a slot
        start = time.monotonic()
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=3) as extra:
            assert extra.recv(100) == b""  # closed at once: no slot left
        assert time.monotonic() - start < 0.5
        for sock in idle:
            assert sock.recv(100) == b""  # dropped by the server after its timeout
        assert time.monotonic() - start < 2.5
        time.sleep(0.1)
        assert _status(server, "127.0.0.1")[0] == 200  # the slots were given back
    finally:
        for sock in idle:
            sock.close()
        server.shutdown()
        server.server_close()
    assert "Traceback" not in capfd.readouterr().err  # a dropped client is no error of the dashboard


def test_the_dashboard_sends_a_large_answer_whole_to_a_client_that_keeps_reading(tmp_path, monkeypatch, capfd):
    """Would fail: the handler's timeout bounded the whole answer (one write), so plotly.js (4.8 MB) was cut off for a
    client reading it slowly but steadily, with a traceback on the console."""
    from nasforge.analysis import dashboard

    monkeypatch.setattr(dashboard._QuietHandler, "timeout", 0.8)
    server, _ = dashboard.serve_in_thread(_storage(tmp_path))
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 16)  # accepted sockets inherit it
    try:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
        sock.settimeout(5)
        sock.connect(("127.0.0.1", server.server_port))
        sock.sendall(b"GET /static/plotly.min.js HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        received = b""
        while chunk := sock.recv(1 << 17):
            received += chunk
            time.sleep(0.03)  # ~2 s in all for 4.8 MB: longer than the timeout, no pause near it
        sock.close()
    finally:
        server.shutdown()
        server.server_close()
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    assert length > 1_000_000 and len(body) == length
    assert "Traceback" not in capfd.readouterr().err


def test_engine_torture_keeps_its_default_database_in_a_private_folder_it_removes(tmp_path, monkeypatch):
    """Would fail without the fix: the default database was /tmp/nasforge-torture-PID-I.db, a name another user could
    plant a symlink or a database at, and it was left behind after the run."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    torture = importlib.import_module("engine_torture")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the script's scratch folder goes
    seen = []

    def fake_torture(args):
        folder = Path(args.storage.removeprefix("sqlite:///")).parent
        seen.append((args.storage, folder, stat.S_IMODE(folder.stat().st_mode)))
        return {"kills": 0, "lost": 0, "duplicates": 0, "unfinished": 0, "rerun_after_kill": 0, "proposals": 1,
                "target": 1, "seconds": 0.0}

    monkeypatch.setattr(torture, "torture", fake_torture)
    monkeypatch.setattr(sys, "argv", ["engine_torture.py", "--runs", "2"])
    torture.main()
    assert [Path(url).name for url, _, _ in seen] == ["torture-0.db", "torture-1.db"]
    folder = seen[0][1]
    assert folder.parent == tmp_path and folder.name.startswith("nasforge-torture-") and seen[0][2] == 0o700
    assert list(tmp_path.iterdir()) == []  # removed at the end, databases and all


@pytest.mark.parametrize("url, says", [
    ("postgresql+psycopg://u:pw@127.0.0.1:notaport/db", "its port is not a number"),
    ("postgresql+psycopg://u:pw@127.0.0.1:1/db", "Connection refused"),  # nothing listens on port 1
])
def test_oneshot_study_exits_2_before_any_work_for_a_storage_that_cannot_be_opened(tmp_path, capsys, url, says):
    """Would fail without the fix: the data loaded, the report folder was made, then the storage failed with exit
    status 1, where every other command calls a storage that cannot be opened a bad --storage (exit 2)."""
    if "notaport" not in url:
        pytest.importorskip("psycopg")
    out = tmp_path / "X"
    assert main(["oneshot", "study", "--storage", url, "--out", str(out), "--k", "10"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert "\n" not in err and says in err and "pw" not in err and "data:" not in captured.out
    assert not out.exists()  # nothing done


def test_oneshot_study_creates_no_sqlite_storage_when_another_check_fails(tmp_path, capsys):
    db = tmp_path / "gt.db"
    assert main(["oneshot", "study", "--storage", f"sqlite:///{db}", "--out", str(tmp_path / "X"), "--k", "10",
                 "--check-epochs", "0"]) == 2
    assert "--check-epochs" in capsys.readouterr().err and not db.exists() and not (tmp_path / "X").exists()
