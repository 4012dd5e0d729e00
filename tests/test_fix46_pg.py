"""Fixes of stop 46 (PostgreSQL and many studies): the ``studies`` table at 80 columns, a default connect timeout
for PostgreSQL servers that never answer, and engine.md on ``trials --out F --overwrite``."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nasforge.cli import main
from nasforge.experiment.storage import sql

ROOT = Path(__file__).resolve().parents[1]


def test_engine_md_says_trials_overwrite_replaces_an_export_of_any_format():
    """Would fail: docs/engine.md said --overwrite replaced only an export "in the same --format" and refused another
    format's export, while the code and docs/cli.md replace any earlier ``trials`` export."""
    text = " ".join((ROOT / "docs" / "engine.md").read_text(encoding="utf-8").split())
    assert "an earlier `trials` export in any `--format`" in text
    assert "same `--format`" not in text and "another format's export" not in text


@pytest.fixture()
def silent_server() -> Iterator[int]:
    """The port of a local server that accepts connections and never answers (a host behind a firewall that drops
    packets behaves so)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):  # the listener closed: the test is over
            while True:
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    listener.close()
    for connection in held:
        connection.close()


def _refused_within(capsys, url: str, seconds: float) -> str:
    """``nasforge studies --storage url``'s one-line error, which must come within ``seconds``."""
    began = time.monotonic()
    assert main(["studies", "--storage", url]) == 2
    took = time.monotonic() - began
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert took < seconds, f"{took:.1f} s: {err}"
    return err


def test_a_server_that_never_answers_is_refused_within_the_urls_connect_timeout(silent_server, capsys):
    pytest.importorskip("psycopg")
    err = _refused_within(capsys, f"postgresql+psycopg://nf@127.0.0.1:{silent_server}/nf?connect_timeout=2", 20)
    assert "cannot open storage" in err and "timeout" in err


def test_a_server_that_never_answers_is_refused_within_the_default_connect_timeout(silent_server, capsys,
                                                                                    monkeypatch):
    """Would fail: without a connect_timeout in the URL or PGCONNECT_TIMEOUT, psycopg waited 130 s (every command
    did); nasforge now gives PostgreSQL connections CONNECT_TIMEOUT (10 s; 2 s here, to keep the test fast)."""
    pytest.importorskip("psycopg")
    monkeypatch.delenv("PGCONNECT_TIMEOUT", raising=False)
    monkeypatch.setattr(sql, "CONNECT_TIMEOUT", 2)
    err = _refused_within(capsys, f"postgresql+psycopg://nf@127.0.0.1:{silent_server}/nf", 20)
    assert "cannot open storage" in err and "no answer within the connect timeout: 2 s unless" in err
    assert "?connect_timeout=SECONDS" in err


@pytest.mark.parametrize("url, env, expected", [
    ("postgresql+psycopg://u@h/db", None, 10),
    ("postgresql://u@h/db", None, 10),  # psycopg2, also on libpq
    ("postgresql+psycopg://u@h/db?connect_timeout=3", None, None),  # the user's own: libpq reads it from the URL
    ("postgresql+psycopg://u@h/db", "30", None),  # ... or from PGCONNECT_TIMEOUT
    ("postgresql+pg8000://u@h/db", None, None),  # no libpq: no such argument
])
def test_postgres_engines_get_a_connect_timeout_only_where_none_is_set(url, env, expected, monkeypatch):
    monkeypatch.delenv("PGCONNECT_TIMEOUT", raising=False)
    if env is not None:
        monkeypatch.setenv("PGCONNECT_TIMEOUT", env)
    args = sql._postgres_connect_args(sql.sa.engine.make_url(url), readonly=True)
    assert args.get("connect_timeout") == expected
    assert args["options"].endswith("-c default_transaction_read_only=on")
