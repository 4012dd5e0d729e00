"""A live, read-only dashboard: the report's views served from a study database as trials finish.

A small WSGI app (stdlib ``wsgiref``, one thread per request). The storage is opened read-only
(SQLite ``mode=ro``, PostgreSQL read-only transactions), so the dashboard cannot change a study;
SQLite readers in WAL mode never block the writers, so it stays responsive while workers write.

Routes: ``/`` (studies; ``/index/body`` and ``/api/index/version`` refresh it), ``/study?name=NAME`` (the
report page, polling for changes; ``/study/NAME`` too, for a name without "/"), ``/study/body?name=NAME`` (the
views alone), ``/api/study/version?name=NAME&since=VERSION`` (last change), ``/static/plotly.min.js``. Study
names travel in the query string, which the server leaves encoded, so every name round-trips ("/", "%", ...).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socketserver
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from html import escape
from typing import Any
from urllib.parse import parse_qs, quote
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from ..checks import check_real
from ..exceptions import StorageError, UsageError
from ..experiment.storage import Storage
from .studyreport import study_sections
from .studyreport.data import display_url, hide_password, load_study_data, open_readonly, study_version
from .studyreport.page import plotly_js, render_page
from .studyreport.views import Raw, html_table, section

PLOTLY_URL = "/static/plotly.min.js"
INTERVAL_RANGE = (0.2, 86400.0)
"""Seconds a page may wait between its checks for changes: more often floods the server, less than once a day
is no live page (and past ~24.8 days the browser's timer overflows)."""
StartResponse = Callable[..., Any]
Version = tuple[int, int, int]
""":func:`~nasforge.analysis.studyreport.data.study_version`: (study id, creation time, last event)."""


class Dashboard:
    """WSGI app over one storage URL; ``interval`` is how often (seconds) a page checks for changes."""

    def __init__(self, storage: str, interval: float = 2.0) -> None:
        check_interval(interval)
        self.url = storage
        # SQLite is opened afresh for every request: a read-only open of a file no process is writing
        # may read it as immutable, which is right for that moment only. Other databases: one storage.
        self._shared = None if storage.startswith("sqlite") or "://" not in storage else open_readonly(storage)
        with self.storage():
            pass  # a bad URL or a missing file fails here, not at the first request
        self.interval = interval
        self._plotly: bytes | None = None
        self._cache: dict[str, tuple[Version, list[str], str]] = {}  # study name -> its views at a version
        self._rendering: dict[str, threading.Lock] = {}  # study name -> held while its views are checked or made
        self._lock = threading.Lock()  # guards _rendering

    @contextmanager
    def storage(self) -> Iterator[Storage]:
        """A read-only storage on the dashboard's URL, for one request."""
        if self._shared is not None:
            yield self._shared
            return
        storage = open_readonly(self.url)
        try:
            yield storage
        finally:
            storage.close()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return _send(start_response, "405 Method Not Allowed", "text/plain", b"read-only dashboard")
        path = environ.get("PATH_INFO", "/")
        with contextlib.suppress(UnicodeError):  # WSGI gives the decoded path as latin-1 text (PEP 3333)
            path = path.encode("latin-1").decode("utf-8")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        try:
            return self._route(path, query, start_response)
        except _BadRequest as exc:
            return _send(start_response, "400 Bad Request", "text/plain", str(exc).encode())
        except (UsageError, KeyError) as exc:
            message = hide_password(str(exc.args[0] if exc.args else exc), self.url)
            return _send(start_response, "404 Not Found", "text/plain", message.encode())
        except StorageError as exc:
            message = hide_password(str(exc), self.url)
            return _send(start_response, "503 Service Unavailable", "text/plain", message.encode())

    def _route(self, path: str, query: dict[str, list[str]], start_response: StartResponse) -> Iterable[bytes]:
        if path == "/":
            return _send(start_response, "200 OK", "text/html", self.index().encode())
        if path == "/index/body":
            return _send(start_response, "200 OK", "text/html", self.index_section()[1].encode())
        if path == "/api/index/version":
            body = json.dumps({"version": self.index_section()[0]}).encode()
            return _send(start_response, "200 OK", "application/json", body)
        if path == PLOTLY_URL:
            if self._plotly is None:
                self._plotly = plotly_js().encode()
            return _send(start_response, "200 OK", "application/javascript", self._plotly,
                         [("Cache-Control", "max-age=86400")])
        if path == "/api/study/version":
            name, since = _name(query), parse_version(query.get("since", [None])[0])
            with self.storage() as storage:
                body = json.dumps({"version": version_text(study_version(storage, name, since))}).encode()
            return _send(start_response, "200 OK", "application/json", body)
        if path == "/study/body" and "name" in query:
            return _send(start_response, "200 OK", "text/html", self.body(_name(query)).encode())
        if path == "/study":
            return _send(start_response, "200 OK", "text/html", self.page(_name(query)).encode())
        if path.startswith("/study/"):  # typed by hand: /study/NAME (the server decoded it once)
            return _send(start_response, "200 OK", "text/html", self.page(path[len("/study/"):]).encode())
        return _send(start_response, "404 Not Found", "text/plain", f"no page {path}".encode())

    # -- pages -----------------------------------------------------------------------------------
    def index(self) -> str:
        """The studies in the storage, with trial counts, each linking to its live page."""
        version, body = self.index_section()
        live = {"versionUrl": "/api/index/version", "bodyUrl": "/index/body", "version": version,
                "interval": int(self.interval * 1000)}
        return render_page(f"nasforge dashboard: {display_url(self.url)}", [body], "read-only", plotly_src=PLOTLY_URL,
                           live=live)

    def index_section(self) -> tuple[str, str]:
        """(a change marker, the HTML section) of the study listing."""
        with self.storage() as storage:
            studies = storage.list_studies()
        rows = []
        for s in studies:
            counts = ", ".join(f"{n} {state}" for state, n in sorted(s.counts.items()))
            link = Raw(f'<a href="{escape(study_url("/study", s.name))}">{escape(s.name)}</a>')
            rows.append([link, s.space, s.strategy, ", ".join(s.objectives), counts or "no trials",
                         "?" if s.created_at is None  # a damaged creation time
                         else time.strftime("%Y-%m-%d %H:%M", time.localtime(s.created_at))])
        table = html_table(["study", "space", "strategy", "objectives", "trials", "created"], rows)
        listing = json.dumps([[s.name, sorted(s.counts.items())] for s in studies])
        version = hashlib.sha1(listing.encode()).hexdigest()[:16]
        return version, section("studies", "Studies", table, "This list and every study page refresh themselves.")

    def body(self, name: str) -> str:
        return "".join(self._views(name)[1])

    def page(self, name: str) -> str:
        version, sections, subtitle = self._views(name)
        live = {"versionUrl": study_url("/api/study/version", name), "bodyUrl": study_url("/study/body", name),
                "version": version_text(version), "interval": int(self.interval * 1000)}
        return render_page(f"nasforge study {name}", sections, subtitle, plotly_src=PLOTLY_URL, live=live)

    def _views(self, name: str) -> tuple[Version, list[str], str]:
        """(version, sections, subtitle) of a study, rendered again only when it changed since (a trial
        changed, or the study was deleted and another created under its name). One request at a time renders a
        study: those arriving meanwhile wait, then share its views when nothing changed since."""
        with self._lock:
            rendering = self._rendering.setdefault(name, threading.Lock())
        with rendering:
            cached = self._cache.get(name)
            with self.storage() as storage:
                if cached is not None and study_version(storage, name, cached[0]) == cached[0]:
                    return cached
                data = load_study_data(storage, name)
            subtitle = f"space {data.space.name}, strategy {data.strategy}, storage {display_url(self.url)} (read-only)"
            self._cache[name] = ((*data.identity, data.version), study_sections(data), subtitle)
            return self._cache[name]


def check_interval(interval: Any, name: str = "interval") -> None:
    """A UsageError naming ``name`` unless ``interval`` is a number of seconds in :data:`INTERVAL_RANGE`."""
    low, high = INTERVAL_RANGE
    check_real(name, interval, lambda v: low <= v <= high, f"a number of seconds in [{low:g}, {high:g}]")


class _BadRequest(Exception):
    """A request the dashboard cannot answer as asked (HTTP 400)."""


def study_url(route: str, name: str) -> str:
    """``route?name=NAME``, the name percent-encoded: it round-trips whatever characters it holds."""
    return f"{route}?name={quote(name, safe='')}"


def version_text(version: Version) -> str:
    """A version as the page holds it (``ID.CREATED.EVENT``): compared as text, sent back as ``since``."""
    return ".".join(map(str, version))


def parse_version(text: str | None) -> Version | None:
    """The version in ``since`` (None when not given); a _BadRequest when it is not one this server gave."""
    if text is None:
        return None
    try:
        study_id, created, event = (int(part) for part in text.split("."))
    except ValueError:
        raise _BadRequest(f"since must be a version this dashboard gave (ID.CREATED.EVENT), got {text!r}") from None
    return study_id, created, event


def _name(query: dict[str, list[str]]) -> str:
    if not query.get("name"):
        raise _BadRequest("name a study: ?name=STUDY")
    return query["name"][0]


def _send(start_response: StartResponse, status: str, kind: str, body: bytes,
          headers: list[tuple[str, str]] | None = None) -> list[bytes]:
    start_response(status, [("Content-Type", f"{kind}; charset=utf-8"), ("Content-Length", str(len(body))),
                            *(headers or [("Cache-Control", "no-store")])])
    return [body]


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's name)
        pass


def make_dashboard_server(storage: str, host: str = "127.0.0.1", port: int = 8080, interval: float = 2.0):
    """A threaded WSGI server for :class:`Dashboard` (call ``serve_forever``; ``port=0`` picks a free one)."""
    app = Dashboard(storage, interval)
    try:
        return make_server(host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def serve_in_thread(storage: str, host: str = "127.0.0.1", port: int = 0, interval: float = 2.0):
    """Start a dashboard server in a daemon thread; returns ``(server, base_url)`` (``server.shutdown()`` stops it)."""
    server = make_dashboard_server(storage, host, port, interval)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_port}"
