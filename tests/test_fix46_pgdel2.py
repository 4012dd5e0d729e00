"""Regressions of stop 46's studies table, PostgreSQL connect timeout and deleted-study hints: the studies blocks
keep their labels, a study is said deleted only when its storage was read and lacks it, and that check waits at most
PROBE_TIMEOUT for a server."""

from __future__ import annotations

import io
import json
import re
import time

import pytest
from rich.cells import cell_len

from nasforge import Result, Study, get_space
from nasforge.cli import main
from nasforge.cli.output import _shortened, print_rows
from nasforge.experiment.storage import sql
from nasforge.experiment.storage.urls import sqlite_url
from nasforge.pipelines import search
from nasforge.pipelines.search import resume_command, still_stored
from test_fix46_pg import silent_server  # noqa: F401  (a fixture)

SPACE = get_space("chain", layers=[["conv3", "conv5", "skip"], ["conv3", "conv5"]])
OBJECTIVES = ["validation_accuracy_top1_cifar10", "latency_ms"]


def test_studies_too_wide_for_a_table_prints_a_labelled_line_per_field(tmp_path, capsys, monkeypatch):
    """Would fail: the blocks printed the table's cells, the second objective and state at column 0 unlabelled,
    without the total trials, the states with no trial and the creation time."""
    url = sqlite_url(tmp_path / "m.db")
    study = Study(SPACE, "nsga2", objectives=OBJECTIVES, directions=["maximize", "minimize"], seed=0, name="mo",
                  storage=url)
    for result in (Result.failed("diverged"), Result(metrics=dict.fromkeys(OBJECTIVES, 1.0))):
        study.tell(study.ask(), result)
    study.tell(study.ask(), Result(metrics=dict.fromkeys(OBJECTIVES, 2.0)))
    study.close()
    for columns in (60, 50):  # (at 80 the table fits without its created and space columns)
        monkeypatch.setenv("COLUMNS", str(columns))
        assert main(["studies", "--storage", url]) == 0
        lines = capsys.readouterr().out.splitlines()
        fields = dict(line.split(None, 1) for line in lines if line)
        assert all(line.startswith(" ") or line.startswith("objectives") for line in lines if line), lines
        assert fields["objectives"] == "validation_accuracy_top1_cifar10:max,latency_ms:min"
        assert (fields["trials"], fields["complete"], fields["failed"], fields["pruned"]) == ("3", "2", "1", "0")
        assert fields["strat."] == "nsga2" and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", fields["created"])


def test_print_rows_blocks_indent_the_further_lines_of_a_cell():
    """Would fail: the second line of a cell started at column 0, like a line of its own."""
    out = io.StringIO()
    print_rows([{"name": "n" * 60, "notes": "one\ntwo"}], width=40, out=out)
    assert out.getvalue() == f" name  {'n' * 60}\nnotes  one\n       two\n\n"


@pytest.mark.parametrize("text", ["emoji-" + "🚀" * 30 + "-end", "研究" * 20 + "-end"])
def test_a_name_cut_inside_a_wide_character_gets_no_space(text):
    """Would fail: 'emoji-🚀🚀🚀🚀… 🚀🚀🚀🚀-end', '研究研 …': a space the name does not have,
    where a wide character straddled the cut."""
    for cells in (16, 17, 25, 30):
        cut = _shortened(text, cells)
        assert " " not in cut and cell_len(cut) in (cells - 1, cells) and cut.endswith("-end")


def test_a_relative_sqlite_storage_is_not_said_deleted_from_another_folder(tmp_path, monkeypatch, capsys):
    """Would fail: the run's relative ``sqlite:///rel.db`` was read from the current folder, where no such file is,
    and the study (still stored) was said deleted, with no command to rewrite the outputs."""
    run = tmp_path / "A"
    run.mkdir()
    monkeypatch.chdir(run)
    Study(SPACE, "random", objectives="acc", name="rr", storage="sqlite:///rel.db", seed=0).close()
    (run / "runR").mkdir()
    recorded = {"name": "rr", "resume_command": resume_command("rr", "sqlite:///rel.db")}
    (run / "runR" / "summary.json").write_text(json.dumps(recorded))
    monkeypatch.chdir(tmp_path)
    assert still_stored("rr", "sqlite:///rel.db") is None
    assert main(["search", "--out", "A/runR", "--name", "other", "--trials", "1", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "rewrite its outputs with: nasforge resume rr --storage sqlite:///rel.db" in err and "deleted" not in err


def test_a_missing_sqlite_file_is_not_said_deleted(tmp_path):
    """Would fail (False): a file not found now (an unmounted disk, a folder this user cannot search) is no proof."""
    assert still_stored("here", sqlite_url(tmp_path / "none.db")) is None
    assert still_stored("here", sqlite_url(tmp_path / "no-folder" / "s.db")) is None


@pytest.mark.parametrize("url", ["postgresql+psycopg://nf@h/db", "postgresql://nf@h/db?connect_timeout=30",
                                 "postgresql+psycopg://nf:pw@h:5433/db?connect_timeout=0&sslmode=require"])
def test_the_still_stored_probe_gets_its_own_short_connect_timeout(url):
    probed = sql.sa.engine.make_url(search._probed_server(url))
    assert probed.query["connect_timeout"] == str(search.PROBE_TIMEOUT) == "2"
    original = sql.sa.engine.make_url(url)
    assert (probed.host, probed.port, probed.password, probed.database) == \
        (original.host, original.port, original.password, original.database)
    assert probed.query.get("sslmode") == original.query.get("sslmode")
    assert search._probed_server("postgresql+pg8000://nf@h/db") is None  # no libpq: no bound on its wait, can't tell


def test_a_refusal_waits_at_most_the_probe_timeout_for_a_silent_server(silent_server, monkeypatch):  # noqa: F811
    """Would fail: the check waited the URL's or PGCONNECT_TIMEOUT's 30 s (10 s by default) before the refusal."""
    pytest.importorskip("psycopg")
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "30")
    began = time.monotonic()
    assert still_stored("s", f"postgresql+psycopg://nf@127.0.0.1:{silent_server}/nf?connect_timeout=30") is None
    assert time.monotonic() - began < 8


@pytest.mark.parametrize("url, env, named", [
    ("postgresql+psycopg://u@h/db?connect_timeout=3", "7", "3 s of the URL's ?connect_timeout"),  # libpq: URL first
    ("postgresql+psycopg://u@h/db", "7", "7 s of PGCONNECT_TIMEOUT"),
    ("postgresql+psycopg://u@h/db", None, "10 s unless the URL's ?connect_timeout=SECONDS or PGCONNECT_TIMEOUT"),
])
def test_the_connect_timeout_hint_names_the_timeout_that_applied(url, env, named, monkeypatch):
    """Would fail: the hint said "10 s unless ..." also where the URL or PGCONNECT_TIMEOUT set another."""
    monkeypatch.delenv("PGCONNECT_TIMEOUT", raising=False)
    if env is not None:
        monkeypatch.setenv("PGCONNECT_TIMEOUT", env)
    hint = sql._connect_timeout_hint(sql.sa.engine.make_url(url))
    assert hint.startswith(f" (no answer within the connect timeout: {named}") and ("unless" in hint) == (env is None)


def test_a_silent_server_is_refused_naming_pgconnect_timeout(silent_server, monkeypatch, capsys):  # noqa: F811
    pytest.importorskip("psycopg")
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "2")
    assert main(["studies", "--storage", f"postgresql+psycopg://nf@127.0.0.1:{silent_server}/nf"]) == 2
    assert "(no answer within the connect timeout: 2 s of PGCONNECT_TIMEOUT)" in capsys.readouterr().err
