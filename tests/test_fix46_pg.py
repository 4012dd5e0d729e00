"""Fixes of stop 46 (PostgreSQL and many studies): the ``studies`` table at 80 columns, a default connect timeout
for PostgreSQL servers that never answer, and engine.md on ``trials --out F --overwrite``."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.cells import cell_len

from nasforge import Result, Study, get_space
from nasforge.cli import main
from nasforge.cli.output import CUT_MIN, print_rows
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


SPACE = get_space("chain", layers=[["conv3", "conv5", "skip"], ["conv3", "conv5"]])
LONG = "x" * 252 + "-end"  # the longest name allowed: with the other columns, wider than 300 columns
RUN = "search-nb201-cifar10-20261206-233512"  # a name as nasforge search gives a run


def _stored(url: str, name: str, complete: int, failed: int = 0) -> None:
    study = Study(SPACE, "random", objectives="acc", seed=0, name=name, storage=url)
    for i in range(complete + failed):
        study.tell(study.ask(), Result.failed("diverged") if i < failed else Result(metrics={"acc": float(i)}))
    study.close()


@pytest.fixture()
def many(tmp_path) -> str:
    """A storage of ordinary studies: short names, a run's name with a failed trial, one that holds none."""
    url = f"sqlite:///{tmp_path / 'many.db'}"
    for n, name in enumerate(("a", "s101", "exp_1", "ünïcødé-研究")):
        _stored(url, name, n + 1)
    _stored(url, RUN, 4, failed=2)
    _stored(url, "empty", 0)
    return url


def _lines(capsys, url: str, columns: int) -> list[str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLUMNS", str(columns))
        assert main(["studies", "--storage", url]) == 0
    return capsys.readouterr().out.splitlines()


def test_studies_is_a_table_at_80_columns_with_each_studys_counts_on_its_line(many, capsys):
    """Would fail: its 11 columns needed 103 or more, so every study printed as an 11-line block (a study's counts
    not on its name's line), in every 80-column terminal and pipe."""
    Study(SPACE, "nsga2", objectives=["val_acc", "params"], directions=["maximize", "minimize"], seed=0, name="mo",
          storage=many).close()
    lines = _lines(capsys, many, 80)  # (the created column left out, so that the run's name shows whole)
    assert lines[0].split() == ["study", "space", "strat.", "objectives", "trials"] and "──" in lines[1]
    assert all(cell_len(line) <= 80 for line in lines)
    rows = {line.split()[0]: line for line in lines[2:] if not line.startswith(" ")}
    assert len(rows) == 7 and len(lines) == 2 + 7 + 2  # objectives and states one a line: 2 lines more
    assert "complete 2" in rows["s101"]  # each study's counts on its name's line
    assert "complete 4" in rows[RUN]
    assert lines[lines.index(rows[RUN]) + 1].split() == ["failed", "2"]
    assert rows["empty"].split()[4] == "0" and "ünïcødé-研究" in rows
    assert rows["mo"].split()[3] == "val_acc:max" and lines[lines.index(rows["mo"]) + 1].split() == ["params:min"]


def test_one_long_name_is_cut_instead_of_turning_the_listing_into_blocks(many, capsys):
    """Would fail: one 256-character name made blocks of every study, at any terminal width."""
    _stored(many, LONG, 1)
    for columns in (80, 200):
        lines = _lines(capsys, many, columns)
        assert len(lines) == 2 + 7 + 1 and all(cell_len(line) <= columns for line in lines)
        (cut,) = [line for line in lines if line.startswith("xxx")]
        assert "…" in cut and "-end" in cut and LONG not in cut
        assert any(line.split()[0] == "s101" for line in lines)  # the others whole
    assert main(["studies", "--storage", many, "--format", "csv"]) == 0  # CSV (and JSON) give it whole
    assert LONG in capsys.readouterr().out


def test_studies_csv_and_json_keep_their_columns(many, capsys):
    """Scripts read these: a column per state and the creation time to the minute, as before."""
    assert main(["studies", "--storage", many, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == ["study", "space", "strategy", "objectives", "trials", "complete", "failed", "pruned",
                             "running", "waiting", "created"]
    run = next(r for r in rows if r["study"] == RUN)
    assert (run["trials"], run["complete"], run["failed"], run["strategy"]) == ("6", "4", "2", "random")
    assert len(run["created"]) == len("2026-12-06 23:35")
    assert main(["studies", "--storage", many, "--format", "json"]) == 0
    listed = {r["study"]: r for r in json.loads(capsys.readouterr().out)}
    assert listed[RUN] == {**run, "trials": 6, "complete": 4, "failed": 2, "pruned": 0, "running": 0, "waiting": 0}


def test_print_rows_cuts_only_the_columns_it_may_and_only_as_far_as_needed():
    rows = [{"name": "n" * 30 + "研究" * 10 + "tail", "value": 1}, {"name": "short", "value": 22}]
    out = io.StringIO()
    print_rows(rows, width=40, out=out, cut=("name",))
    lines = out.getvalue().splitlines()
    assert [cell_len(line) for line in lines] == [40] * 4  # wide characters counted as two cells
    assert lines[2] == "n" * 16 + "…" + "研究" * 3 + "tail      1"  # 16 cells each side of the "…"
    assert lines[3].startswith("short ")
    for cut in ((), ("value",)):  # a column that may not be cut, or cutting too little: blocks, every cell whole
        out = io.StringIO()
        print_rows(rows, width=40, out=out, cut=cut)
        assert out.getvalue().startswith(f" name  {rows[0]['name']}\n")
    out = io.StringIO()
    print_rows(rows, width=CUT_MIN + 6, out=out, cut=("name",))  # no room for CUT_MIN cells and the value: blocks
    assert "…" not in out.getvalue() and rows[0]["name"] in out.getvalue()
