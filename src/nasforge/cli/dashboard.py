"""``nasforge dashboard``: the report's views served live and read-only from a study database."""

from __future__ import annotations

import argparse
import sys

from ..experiment.storage.urls import check_stored_storage
from .options import number_type, tcp_port

DEFAULT_STORAGE = "sqlite:///nasforge.db"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dashboard", help="serve live, read-only views of the studies in a storage",
                       description="A small web server showing every study of --storage with the views of "
                                   "'nasforge report', refreshed as trials finish. It opens the database "
                                   "read-only and listens on 127.0.0.1 unless --host says otherwise.")
    p.add_argument("--storage", default=DEFAULT_STORAGE, metavar="URL", help="storage URL (opened read-only)")
    p.add_argument("--host", default="127.0.0.1", metavar="ADDRESS",
                   help="interface to listen on (0.0.0.0: every IPv4 interface, :: every one; ::1 is IPv6); "
                        "anything beyond this machine is warned about: there is no authentication")
    p.add_argument("--allowed-host", action="append", default=[], metavar="NAME", dest="allowed_hosts",
                   help="also answer requests addressed to NAME (a name of this machine, a reverse proxy's); "
                        "repeatable. Others than --host, localhost and IP addresses get HTTP 421, so that no web "
                        "page can read the studies by pointing its own name here (DNS rebinding)")
    p.add_argument("--port", type=tcp_port, default=8080, metavar="N", help="TCP port (0: any free port)")
    p.add_argument("--interval", type=_interval, default=2.0, metavar="SECONDS",
                   help="seconds between a page's checks for new trials, 0.2 to 86400 (a day)")
    p.set_defaults(func=run)


def _in_interval_range(seconds: float) -> bool:
    from ..analysis.dashboard import INTERVAL_RANGE  # imported when the option is given, not for --help

    return INTERVAL_RANGE[0] <= seconds <= INTERVAL_RANGE[1]


_interval = number_type(float, "a number of seconds in [0.2, 86400]", _in_interval_range)


def run(args: argparse.Namespace) -> int:
    from ..extras import check_installed

    check_installed(("sqlalchemy", "plotly"), "the dashboard")  # now: it reads a stored study, draws with plotly
    from ..analysis.dashboard import host_name, is_loopback, make_dashboard_server, server_url
    from ..analysis.studyreport.data import display_url, hide_password
    from ..experiment.storage import StorageError
    from . import UsageError

    from ..pipelines.search import RUNS_ROOT
    from .engine import check_default_storage

    check_default_storage(args.storage, f"nasforge dashboard --storage sqlite:///{RUNS_ROOT}/NAME/study.db")
    for name in args.allowed_hosts:
        host_name(name, "--allowed-host")
    try:
        check_stored_storage(args.storage)
        server = make_dashboard_server(args.storage, args.host, args.port, args.interval, args.allowed_hosts)
    except (StorageError, UsageError) as exc:  # a missing, locked, foreign or unreachable database: bad --storage
        raise UsageError(hide_password(str(exc), args.storage)) from None
    if not is_loopback(args.host):
        print(f"nasforge dashboard: warning: listening on {args.host!r}, reachable from other machines, without "
              "authentication: whoever reaches this port reads every study of the storage", file=sys.stderr, flush=True)
    print(f"nasforge dashboard on {server_url(args.host, server.server_port)}/ "
          f"(read-only {display_url(args.storage)}); Ctrl-C stops it", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
