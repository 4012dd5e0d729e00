"""A live, read-only dashboard: the report's views served from a study database as trials finish.

A small WSGI app (stdlib ``wsgiref``, one thread per connection, 64 at once). The storage is opened read-only
(SQLite ``mode=ro``, PostgreSQL read-only transactions), so the dashboard cannot change a study;
SQLite readers in WAL mode neither block the workers writing trials nor wait for them. A request that finds the
database locked by another session as a whole waits up to the storage's busy timeout (60 s), then answers 503;
other requests are served meanwhile (a thread each). A storage that cannot be reached for now (a missing SQLite
file, a stopped server) is a 503 too, after which a page keeps checking; only a study that is not in a readable
storage is a 404, which stops its page.

Routes: ``/`` (studies; ``/index/body`` and ``/api/index/version`` refresh it), ``/study?name=NAME`` (the
report page, polling for changes; ``/study/NAME`` too, for a name without "/" other than "body"),
``/study/body?name=NAME`` (the views alone), ``/api/study/version?name=NAME&since=VERSION`` (last change),
``/static/plotly.min.js``; HEAD requests get the headers alone. Study names travel in the query string, which the
server leaves encoded, so every name round-trips ("/", "%", ...). A request whose ``Host`` is a name the dashboard
was not told of is HTTP 421 (:meth:`Dashboard.answers`): a web page cannot read it through DNS rebinding.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import re
import socket
import socketserver
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from html import escape
from typing import Any
from urllib.parse import parse_qs, quote
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer, make_server

from ..checks import check_int, check_real
from ..exceptions import ForeignStorageError, MissingStorageError, StorageError, UsageError
from ..experiment.storage import Storage
from ..experiment.storage.urls import check_stored_storage
from .studyreport import study_sections
from .studyreport.data import (Version, change_stamp, display_url, hide_password, load_study_data, open_readonly,
                               study_version)
from .studyreport.page import plotly_js, render_page
from .studyreport.views import Raw, gone_workers, html_table, section

PLOTLY_URL = "/static/plotly.min.js"
INTERVAL_RANGE = (0.2, 86400.0)
"""Seconds a page may wait between its checks for changes: more often floods the server, less than once a day
is no live page (and past ~24.8 days the browser's timer overflows)."""
StartResponse = Callable[..., Any]
_VERSION = re.compile(r"(\d{1,18})\.(\d{1,18})\.(-1|\d{1,18})(?:\.[0-9a-f]{16})?", re.ASCII)  # -1: no event yet
"""A ``since`` version (:func:`version_text`): numbers of at most 18 digits (SQL integers end at 2**63), then the
change stamp, which a page served before versions had one does not send (it is answered with the new version)."""


class Dashboard:
    """WSGI app over one storage URL; ``interval`` is how often (seconds) a page checks for changes."""

    def __init__(self, storage: str, interval: float = 2.0, allowed_hosts: Iterable[str] = ()) -> None:
        check_interval(interval)
        if isinstance(allowed_hosts, str):
            raise UsageError(f"allowed_hosts must be a list of host names, got the text {allowed_hosts!r:.60}")
        self.hosts = {"localhost", *(host_name(host, "allowed_hosts") for host in allowed_hosts)}
        """The names the dashboard answers for (:meth:`answers`)."""
        if not isinstance(storage, str):
            raise UsageError(f"storage must be a storage URL (sqlite:///FILE.db or postgresql://...), got "
                             f"{storage!r:.60}")
        check_stored_storage(storage, "storage")  # 'memory' would be a new, empty storage at every request
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

    def answers(self, host: str | None) -> bool:
        """Whether a request with the ``Host`` header ``host`` is answered: one without (no browser sends it), to an
        IP address (which DNS cannot rebind) or to one of :attr:`hosts` (``localhost``, the name listened on, each
        allowed one; any port). A page of another name whose DNS now points here (DNS rebinding) is refused."""
        if host is None:
            return True
        name = _host_of(host)
        return name in self.hosts or _is_address(name)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if not self.answers(environ.get("HTTP_HOST")):
            message = (f"this dashboard does not answer for the host {environ['HTTP_HOST']!r:.80}: its --host, "
                       "localhost, an IP address or a name given with --allowed-host NAME")
            body = _send(start_response, "421 Misdirected Request", "text/plain", message.encode())
            return [] if method == "HEAD" else body
        if method not in ("GET", "HEAD"):
            return _send(start_response, "405 Method Not Allowed", "text/plain", b"read-only dashboard")
        path = environ.get("PATH_INFO", "/")
        with contextlib.suppress(UnicodeError):  # WSGI gives the decoded path as latin-1 text (PEP 3333)
            path = path.encode("latin-1").decode("utf-8")
        body = self._answer(method, path, parse_qs(environ.get("QUERY_STRING", "")), start_response)
        return [] if method == "HEAD" else body  # the headers (Content-Length included) describe the body

    def _answer(self, method: str, path: str, query: dict[str, list[str]],
                start_response: StartResponse) -> Iterable[bytes]:
        try:
            return self._route(path, query, start_response)
        except _BadRequest as exc:
            return _send(start_response, "400 Bad Request", "text/plain", str(exc).encode())
        except MissingStorageError:  # for now, perhaps: removed to be written anew, a copy being swapped in
            message = (f"storage unavailable: the database file of {display_url(self.url)} is missing now (moved, "
                       "deleted or being replaced); an open page keeps checking")
            return _send(start_response, "503 Service Unavailable", "text/plain", message.encode())
        except ForeignStorageError as exc:  # e.g. an empty file, a copy being written in: unreadable for now
            return self._unavailable(exc, start_response)
        except (UsageError, KeyError) as exc:  # no such study in a readable storage: its page stops asking
            message = hide_password(str(exc.args[0] if exc.args else exc), self.url)
            return _send(start_response, "404 Not Found", "text/plain", message.encode())
        except StorageError as exc:  # unreachable, locked, damaged: a page keeps asking
            return self._unavailable(exc, start_response)
        except Exception as exc:  # a bug: one line on stderr (what and where), not wsgiref's traceback
            where = traceback.extract_tb(exc.__traceback__)[-1]
            reason = hide_password(" ".join(str(exc).split()), self.url)
            print(f"nasforge dashboard: {method} {path} failed at {where.filename}:{where.lineno}: "
                  f"{type(exc).__name__}: {reason}", file=sys.stderr, flush=True)
            return _send(start_response, "500 Internal Server Error", "text/plain",
                         b"internal error of the dashboard (its console says which)")

    def _unavailable(self, exc: StorageError, start_response: StartResponse) -> list[bytes]:
        """HTTP 503 with the storage's error: a condition that may pass, so a page keeps checking."""
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
            name, since = _name(query, path), parse_version(query.get("since", [None])[0])
            with self.storage() as storage:
                body = json.dumps({"version": version_text(study_version(storage, name, since))}).encode()
            return _send(start_response, "200 OK", "application/json", body)
        if path == "/study/body":
            return _send(start_response, "200 OK", "text/html", self.body(_name(query, path)).encode())
        if path in ("/study", "/study/"):
            return _send(start_response, "200 OK", "text/html", self.page(_name(query, "/study")).encode())
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
            gone = _gone_counts(storage, studies)
        rows = []
        for s in studies:
            counts = ", ".join(f"{n} {state}" + (f" ({gone[s.name]} of a process that is gone)"
                                                 if state == "RUNNING" and gone.get(s.name) else "")
                               for state, n in sorted(s.counts.items()))
            link = Raw(f'<a href="{escape(study_url("/study", s.name))}">{escape(s.name)}</a>')
            rows.append([link, s.space, s.strategy, ", ".join(s.objective_specs), counts or "no trials",
                         "?" if s.created_at is None  # a damaged creation time
                         else time.strftime("%Y-%m-%d %H:%M", time.localtime(s.created_at))])
        table = (html_table(["study", "space", "strategy", "objectives", "trials", "created"], rows) if rows
                 else "<p>No study in this storage yet.</p>")  # as 'nasforge studies' says, not a bare header
        version = hashlib.sha1(table.encode()).hexdigest()[:16]  # whatever the list shows (e.g. a study re-created)
        return version, section("studies", "Studies", table, "This list and every study page refresh themselves.")

    def body(self, name: str) -> str:
        return "".join(self._views(name)[1])

    def page(self, name: str) -> str:
        version, sections, subtitle = self._views(name)
        live = {"versionUrl": study_url("/api/study/version", name), "bodyUrl": study_url("/study/body", name),
                "version": version_text(version), "interval": int(self.interval * 1000)}
        return render_page(f"nasforge study {name}", sections, subtitle, plotly_src=PLOTLY_URL, live=live)

    def _views(self, name: str) -> tuple[Version, list[str], str]:
        """(version, sections, subtitle) of a study, rendered again only when its version changed since (a trial
        changed or reported progress, the study's user_attrs or run_config changed, or the study was deleted and
        another created under its name: :func:`study_version`). One request at a time renders a
        study: those arriving meanwhile wait, then share its views when nothing changed since. A name that is no
        study (any more) keeps neither a lock nor views."""
        with self._lock:
            rendering = self._rendering.setdefault(name, threading.Lock())
        try:
            with rendering:
                return self._render(name)
        except (UsageError, KeyError):
            with self._lock:
                self._rendering.pop(name, None)
                self._cache.pop(name, None)
            raise

    def _render(self, name: str) -> tuple[Version, list[str], str]:
        """The cached views of a study while its version holds, else its views made now and cached."""
        cached = self._cache.get(name)
        with self.storage() as storage:
            if cached is not None and study_version(storage, name, cached[0]) == cached[0]:
                return cached
            data = load_study_data(storage, name)
        subtitle = f"space {data.space.name}, strategy {data.strategy}, storage {display_url(self.url)} (read-only)"
        version = (*data.identity, data.version, change_stamp(data.user_attrs, data.run_config, data.trials))
        self._cache[name] = (version, study_sections(data), subtitle)
        return self._cache[name]


def _gone_counts(storage: Storage, studies: Iterable[Any]) -> dict[str, int]:
    """Study name -> how many of its RUNNING trials are of a process that is gone, as ``nasforge status`` flags
    them (:func:`~.studyreport.views.gone_workers`, the rule of ``gone_running``): one read of the RUNNING trials'
    workers (:meth:`~nasforge.experiment.storage.Storage.running_workers`), none when no study has one."""
    if not any(summary.counts.get("RUNNING") for summary in studies):
        return {}
    return {name: gone_workers(workers) for name, workers in storage.running_workers().items()}


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
    """A version as the page holds it (``ID.CREATED.EVENT.STAMP``): compared as text, sent back as ``since``."""
    return ".".join(map(str, version))


def parse_version(text: str | None) -> tuple[int, int, int] | None:
    """The study id, creation time and event of the version in ``since`` (None when not given): what the server
    reads; a _BadRequest when it is not a version this server gives (:data:`_VERSION`)."""
    if text is None:
        return None
    match = _VERSION.fullmatch(text)
    if match is None:
        raise _BadRequest(f"since must be a version this dashboard gave (ID.CREATED.EVENT.STAMP), got {text!r:.80}")
    study_id, created, event = (int(number) for number in match.groups())
    return study_id, created, event


def host_name(value: Any, name: str) -> str:
    """``value``, a host name or an IP address without port, as a ``Host`` header carries it (lower case, IDNA,
    no final dot); a UsageError naming ``name`` when it is none."""
    if isinstance(value, str):
        host = _bare(value.strip()).lower().rstrip(".")
        if _is_address(host):
            return host
        with contextlib.suppress(UnicodeError):
            host = host.encode("idna").decode("ascii")
        if _HOST_NAME.fullmatch(host):
            return host
    raise UsageError(f"{name} must hold host names (letters, digits, '-', '.'; no port) or IP addresses, got "
                     f"{value!r:.60}")


_HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*", re.ASCII)


def _host_of(header: str) -> str:
    """The host of a ``Host`` header (``name``, ``name:port``, ``[v6]:port``): lower case, without a final dot."""
    host = header.strip()
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return host.lower().rstrip(".")


def _is_address(host: str) -> bool:
    """Whether ``host`` is an IP address (an IPv6 one with a zone, ``fe80::1%eth0``, too)."""
    try:
        ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        return False
    return True


def _name(query: dict[str, list[str]], route: str) -> str:
    if not query.get("name"):
        raise _BadRequest(f"name a study: {route}?name=STUDY")
    return query["name"][0]


SEND_CHUNK = 1 << 16
"""Bytes of an answer written at once: the handler's timeout bounds each write, so a client that keeps reading a large
answer (plotly.js, 4.8 MB) slowly gets all of it, and only one that stops reading is dropped."""


def _send(start_response: StartResponse, status: str, kind: str, body: bytes,
          headers: list[tuple[str, str]] | None = None) -> list[bytes]:
    start_response(status, [("Content-Type", f"{kind}; charset=utf-8"), ("Content-Length", str(len(body))),
                            *(headers or [("Cache-Control", "no-store")])])
    return [body[i:i + SEND_CHUNK] for i in range(0, len(body), SEND_CHUNK)] or [body]


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    """A thread per connection, :attr:`max_connections` at once: a connection beyond is closed when accepted, so
    idle clients cannot use up the process's file descriptors (at that limit the server would serve nobody)."""

    daemon_threads = True
    max_connections = 64

    def server_activate(self) -> None:
        super().server_activate()
        self._slots = threading.BoundedSemaphore(self.max_connections)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:  # no thread started: nothing else gives the slot back
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went silent (:attr:`_QuietHandler.timeout`) or away is dropped without a traceback."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _ThreadingServer6(_ThreadingServer):
    address_family = socket.AF_INET6


class _QuietServerHandler(ServerHandler):
    """wsgiref's per-request handler, dropping a client that went silent or away (an ``OSError`` while the answer is
    written) without a traceback."""

    def log_exception(self, exc_info: Any) -> None:
        if not isinstance(exc_info[1], OSError):
            super().log_exception(exc_info)


class _QuietHandler(WSGIRequestHandler):
    timeout = 30.0  # seconds a client may stay silent while sending its request (or not reading a chunk of the answer)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's name)
        pass

    def handle(self) -> None:
        """As wsgiref's, with :class:`_QuietServerHandler`."""
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.requestline = self.request_version = self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():  # an error was sent
            return
        handler = _QuietServerHandler(self.rfile, self.wfile, self.get_stderr(), self.get_environ(), multithread=False)
        handler.request_handler = self  # for logging
        handler.run(self.server.get_app())


def make_dashboard_server(storage: str, host: str = "127.0.0.1", port: int = 8080, interval: float = 2.0,
                          allowed_hosts: Iterable[str] = ()):
    """A threaded WSGI server for :class:`Dashboard` (call ``serve_forever``; ``port=0`` picks a free one); an
    IPv6 ``host`` (``::1``, ``::``, bracketed or not) listens on IPv6. It answers requests for ``host``,
    ``localhost``, IP addresses and ``allowed_hosts`` (:meth:`Dashboard.answers`)."""
    port = check_int("port", port, 0, 65535)
    if not isinstance(host, str):
        raise UsageError(f"host must be a host name or an IP address (text), got {host!r:.60}")
    app = Dashboard(storage, interval, allowed_hosts)
    bare = _bare(host)
    if bare:  # "": every interface, as "0.0.0.0"
        app.hosts.add(host_name(bare, "host"))
    server_class = _ThreadingServer6 if ":" in bare else _ThreadingServer
    try:
        return make_server(bare, port, app, server_class=server_class, handler_class=_QuietHandler)
    except (OSError, UnicodeError) as exc:  # UnicodeError: a host name IDNA cannot encode
        raise UsageError(f"cannot listen on {host}:{port}: {getattr(exc, 'strerror', None) or exc}") from None


def server_url(host: str, port: int) -> str:
    """The URL a browser on this machine opens for a server listening on ``host``: every interface (``0.0.0.0``,
    ``::``) is reached at the loopback address; an IPv6 address is bracketed."""
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(_bare(host), _bare(host))
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address or a name of loopback addresses only (no other machine reaches it)."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(_bare(host), None)}
    except (OSError, UnicodeError):
        return False
    return all(_loopback(ipaddress.ip_address(address.split("%")[0])) for address in addresses)


def _loopback(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether ``address`` is loopback, an IPv4-mapped IPv6 one (``::ffff:127.0.0.1``) too: Python < 3.13 says
    such an address is no loopback."""
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def _bare(host: str) -> str:
    """``host`` without the brackets of an IPv6 address in a URL (``[::1]``)."""
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def serve_in_thread(storage: str, host: str = "127.0.0.1", port: int = 0, interval: float = 2.0,
                    allowed_hosts: Iterable[str] = ()):
    """Start a dashboard server in a daemon thread; returns ``(server, base_url)`` (``server.shutdown()`` stops it)."""
    server = make_dashboard_server(storage, host, port, interval, allowed_hosts)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server_url(host, server.server_port)
