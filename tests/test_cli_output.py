"""--format table|csv|json and 80-column tables."""

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from nasforge.cli import main
from nasforge.cli.output import counted, json_safe, print_rows
from test_cli_options import chain_table

ROWS = [{"strategy": "optuna_random", "evaluations": 100, "mean": 1.25, "median": float("nan"),
         "mean_unique": 1.3, "cifar100-test": 71.2, "duplicates": 0.0, "ms_per_run": 12.5},
        {"strategy": "evolution", "evaluations": 300, "mean": 0.5, "median": 0.4, "mean_unique": float("inf"),
         "cifar100-test": 72.0, "duplicates": 1.0, "ms_per_run": 9.0}]


def test_wide_tables_never_cut_headers_or_cells():
    out = io.StringIO()
    wide = [{**row, "a_very_long_metric_name_number_one": 1.0, "another_long_metric_name": 2.0} for row in ROWS]
    print_rows(wide, "table", width=80, out=out)
    text = out.getvalue()
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    for key in wide[0]:
        assert key in text  # vertical layout: every full title is there


def test_narrow_tables_stay_tables_with_full_titles():
    out = io.StringIO()
    print_rows(ROWS, "table", width=80, out=out,
               headers={"evaluations": "n", "mean_unique": "uniq mean", "duplicates": "dup", "ms_per_run": "ms/run"})
    text = out.getvalue()
    assert "…" not in text and "uniq mean" in text and "─────" in text  # a table, not blocks


def test_tables_and_blocks_keep_their_layout():
    rows = [{"number": 1, "arch": "ab", "acc": 0.5, "error": "line one\nline two"},
            {"number": 12, "arch": "a\tb", "acc": float("nan"), "error": None}]
    out = io.StringIO()
    print_rows(rows, "table", width=80, out=out)
    assert out.getvalue() == ("number  arch     acc  error   \n" + "─" * 30 + "\n"
                              "     1  ab     0.500  line one\n"
                              "                      line two\n"
                              "    12  a   b    nan          \n")
    out = io.StringIO()
    print_rows(rows, "table", width=29, out=out)  # one column short: blocks
    assert out.getvalue().startswith("number  1\n  arch  ab\n   acc  0.500\n error  line one\n        line two\n\n")


def test_long_tables_are_not_rendered_row_by_row(monkeypatch):
    from rich.console import Console
    from rich.table import Table

    calls = []
    monkeypatch.setattr(Console, "print", lambda self, *a, **k: calls.append(a))
    monkeypatch.setattr(Table, "add_row", lambda *a, **k: pytest.fail("a rich Table measured row by row"))
    rows = [{"number": i, "state": "COMPLETE", "arch": "|nor_conv_3x3~0|+" * (i % 3 + 1)} for i in range(2000)]
    for width in (200, 40):  # a table, then one block per row
        out = io.StringIO()
        print_rows(rows, "table", width=width, out=out)
        assert out.getvalue().count("COMPLETE") == 2000 and len(calls) <= 1
        calls.clear()


def test_control_characters_in_table_cells_are_escaped_not_sent_to_the_terminal():
    """Study names, trial errors and worker ids from a database reached the terminal raw: ESC sequences (clearing
    the screen, setting the title), BEL and a right-to-left override. Tables show them escaped; CSV/JSON keep them."""
    rows = [{"study": "demo\x1b]0;pwned\x07", "error": "bad\x1b[2J\rline\u202eevil\x9b", "worker": "w\x00"}]
    out = io.StringIO()
    print_rows(rows, "table", width=200, out=out, title="study \x1b[31mred")
    text = out.getvalue()
    assert "\\x1b]0;pwned\\x07" in text and "bad\\x1b[2J\\rline\\u202eevil\\x9b" in text and "w\\x00" in text, text
    assert "study \\x1b[31mred" in text and not any(c in text for c in "\x1b\x07\r\x00\u202e\x9b")
    out = io.StringIO()
    print_rows(rows, "table", width=20, out=out)  # blocks
    assert "\x1b" not in out.getvalue() and "\\x1b" in out.getvalue()
    out = io.StringIO()
    print_rows(rows, "json", out=out)
    assert json.loads(out.getvalue()) == rows
    out = io.StringIO()
    print_rows(ROWS, "json", out=out)
    data = json.loads(out.getvalue(), parse_constant=lambda c: pytest.fail(f"invalid JSON constant {c}"))
    assert data[0]["median"] is None and data[1]["mean_unique"] is None
    out = io.StringIO()
    print_rows(ROWS, "csv", out=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows[0]["strategy"] == "optuna_random" and rows[0]["median"] == ""
    assert json_safe({"a": [float("nan"), 1.0]}) == {"a": [None, 1.0]}


def test_bench_output_at_80_columns(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    table = tmp_path / "chain.csv"
    chain_table(table)
    argv = ["bench", "--table", str(table), "--space", "chain", "--objective", "acc", "--secondary", "params",
            "--strategies", "random,optuna_random,local_search", "--seeds", "2", "--trials", "12", "--workers", "1",
            "--out", str(tmp_path / "out")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "…" not in out
    assert all(len(line) <= 80 for line in out.splitlines() if not line.startswith("wall time"))  # paths may not
    for title in ("strategy", "mean", "median", "uniq mean", "params", "dup", "ms/run"):
        assert title in out
    assert main([*argv, "--format", "json", "--overwrite"]) == 0  # the same --out: replace that run
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert {r["strategy"] for r in rows} == {"random", "optuna_random", "local_search"}
    assert "wall time" in captured.err  # progress lines stay off stdout


def test_a_reader_that_stops_loses_no_output(tmp_path):
    """`nasforge bench ... | head -1`: stdout's reader is gone; the command still saves everything and exits 0."""
    table = tmp_path / "chain.csv"
    chain_table(table)
    read, write = os.pipe()
    os.close(read)  # every write to stdout now fails with a broken pipe
    try:
        for fmt in ("table", "json"):
            out = tmp_path / fmt
            done = subprocess.run([sys.executable, "-m", "nasforge", "bench", "--table", str(table), "--space",
                                   "chain", "--objective", "acc", "--strategies", "random", "--seeds", "2",
                                   "--trials", "5", "--workers", "1", "--format", fmt, "--out", str(out)],
                                  stdout=write, stderr=subprocess.PIPE, text=True)
            assert done.returncode == 0, done.stderr
            assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
            assert {p.name for p in out.iterdir()} == {"bench.json", "bench_curves.csv", "bench_regret.png"}
    finally:
        os.close(write)


def test_no_color_turns_off_bold_headers(monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")  # as on a terminal
    out = io.StringIO()
    print_rows(ROWS, "table", width=200, out=out)
    assert "\x1b[" in out.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    out = io.StringIO()
    print_rows(ROWS, "table", width=200, out=out)
    assert "\x1b[" not in out.getvalue() and "strategy" in out.getvalue()


def test_counts_agree_with_their_noun():
    assert [counted(1, "strategy"), counted(2, "strategy"), counted(1, "seed"), counted(0, "trial"),
            counted(3, "day")] == ["1 strategy", "2 strategies", "1 seed", "0 trials", "3 days"]


def test_a_long_title_wraps_at_spaces_without_trailing_ones():
    out = io.StringIO()
    title = "regret of val_acc (optimum 94.373) after n evaluations; uniq: per unique evaluation; test_acc of it"
    print_rows(ROWS, "table", width=60, title=title, out=out)
    lines = out.getvalue().splitlines()[:2]
    assert " ".join(lines) == title and all(len(line) <= 60 and not line.endswith(" ") for line in lines)


def test_a_title_of_wide_characters_stays_within_the_width():
    out = io.StringIO()
    title = " ".join(["後悔の値"] * 12)  # 2 cells per character: textwrap would count 1
    print_rows(ROWS, "table", width=40, title=title, out=out)
    from rich.cells import cell_len

    assert all(cell_len(line) <= 40 for line in out.getvalue().splitlines())
