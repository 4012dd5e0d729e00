"""Fixes of round 49, topic cli: a storage URL whose port is no number, a closed standard error, stage 2's ETA."""

import io
import os
import subprocess
import sys

import pytest

import nasforge.cli.bench as bench_cli
from nasforge.cli import main
from test_cli_options import chain_table


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# -- a storage URL that cannot be parsed: search and resume give the one line every command gives ----------------
@pytest.mark.parametrize("url", ["postgresql+psycopg://nf:secretpw@127.0.0.1:notaport/db",
                                 "postgresql+psycopg://nf:secretpw@[::1/db"])
@pytest.mark.parametrize("command", [["search", "--trials", "2", "--retrain", "0"], ["resume", "s"]])
def test_search_and_resume_refuse_a_url_whose_port_is_no_number_in_one_line(tmp_path, monkeypatch, capsys, url,
                                                                               command):
    monkeypatch.chdir(tmp_path)
    out = ["--out", str(tmp_path / "run")] if command[0] == "search" else []
    assert main([*command, *out, "--storage", url]) == 2
    err = one_line(capsys.readouterr().err)
    assert f"{command[0]}: error: bad storage URL 'postgresql+psycopg://nf:***@" in err
    assert "its port is not a number" in err and "secretpw" not in err
    assert list(tmp_path.iterdir()) == []  # no run folder made


# -- a reader of standard error that stops early (`nasforge search ... 2>&1 | head -1`) -----------------------------
def run_with_stderr_closed(args: list[str]) -> subprocess.CompletedProcess[str]:
    """``nasforge ARGS`` with a standard error whose reader is gone: every write to it fails with a broken pipe."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-m", "nasforge", *args], stdout=subprocess.PIPE, stderr=write,
                              text=True, timeout=120)
    finally:
        os.close(write)


def test_bench_runs_to_its_end_when_the_reader_of_its_stderr_stops(tmp_path):
    """bench writes its progress lines to stderr: it still saves every output and exits 0."""
    table = tmp_path / "chain.csv"
    chain_table(table)
    out = tmp_path / "out"
    done = run_with_stderr_closed(["bench", "--table", str(table), "--space", "chain", "--objective", "acc",
                                   "--strategies", "random", "--seeds", "2", "--trials", "5", "--workers", "1",
                                   "--format", "json", "--out", str(out)])
    assert done.returncode == 0
    assert {p.name for p in out.iterdir()} == {"bench.json", "bench_curves.csv", "bench_regret.png"}


def test_bad_input_keeps_exit_status_2_when_the_reader_of_stderr_stops():
    assert run_with_stderr_closed(["bench", "--workers", "0"]).returncode == 2


class _Gone(io.StringIO):
    """A stream whose reader has gone."""

    def write(self, text):
        raise BrokenPipeError

    def fileno(self):
        return 98


def test_ctrl_c_gives_130_when_the_reader_of_stderr_is_gone(monkeypatch):
    """`nasforge search ... 2>&1 | tee log` stopped with Ctrl-C: tee is gone too, so the 'interrupted' line cannot
    be written; the command still stops as at Ctrl-C, with status 130."""
    def run(args):
        print("progress", file=sys.stderr)
        raise KeyboardInterrupt

    redirected = []
    monkeypatch.setattr(os, "dup2", lambda src, dst: redirected.append(dst))
    monkeypatch.setattr("sys.stderr", _Gone())
    monkeypatch.setattr(bench_cli, "run", run)
    assert main(["bench"]) == 130 and redirected == [98]


@pytest.mark.slow  # a real (tiny) search: about 10-20 s
def test_search_finishes_its_run_when_the_reader_of_its_stderr_stops(tmp_path):
    out = tmp_path / "run"
    done = run_with_stderr_closed(["search", "--trials", "2", "--retrain", "0", "--search-epochs", "1",
                                   "--out", str(out)])
    assert done.returncode == 0
    assert {"summary.json", "trials.csv", "front.json"} <= {p.name for p in out.iterdir()}


# -- benchmarks/strategies_learning.py --ask-times SIZES (the 2,000 and 4,000 figures of docs/strategies.md) -------
BENCHMARKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")


def test_ask_times_measures_at_the_sizes_given_with_the_peak_memory(monkeypatch, nb201_table):
    monkeypatch.syspath_prepend(BENCHMARKS)
    import strategies_learning

    rows = strategies_learning.ask_times(nb201_table, ["random"], sizes=(5, 20), repeats=1)
    assert set(rows) == {"random@5", "random@20"}
    assert all(row["mean_ask_s"] >= 0 and row["peak_rss_mb"] > 0 for row in rows.values())


@pytest.mark.parametrize("sizes", ["0", "2k", ""])
def test_ask_times_refuses_sizes_that_are_no_positive_numbers(tmp_path, sizes):
    done = subprocess.run([sys.executable, os.path.join(BENCHMARKS, "strategies_learning.py"), "--ask-times", sizes,
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--ask-times must be positive whole numbers" in done.stderr
    assert list(tmp_path.iterdir()) == []
