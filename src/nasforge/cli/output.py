"""Printing rows of results: ``--format table|csv|json``, tables that stay readable at 80 columns.

``print_rows(rows, fmt)`` prints a list of dicts. As a table, columns keep their full headers; a
table wider than the terminal is printed vertically (one ``header: value`` block per row) rather
than with truncated cells. JSON is strict: NaN and infinities become ``null``. ``job_console()`` is the
console a search job (``search``, ``resume``) logs to. ``NO_COLOR`` (set, not empty) turns off every style, bold
headers too. ``closed_stdout_dropped()`` lets a command finish (and save) when its reader stops (``| head``).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TextIO

FORMATS = ("table", "csv", "json")


def add_format_argument(p: argparse.ArgumentParser, default: str = "table") -> None:
    """Add ``--format table|csv|json``."""
    p.add_argument("--format", choices=FORMATS, default=default,
                   help="output: a table for people, CSV or JSON (NaN/inf as null) for programs")


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (so ``json.dumps`` writes valid JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):  # numpy scalars
        return json_safe(value.item())
    return value


def counted(n: int, noun: str) -> str:
    """``"1 strategy"``, ``"2 strategies"``, ``"3 seeds"``: ``n`` and ``noun`` in the singular or plural."""
    if n == 1:
        return f"1 {noun}"
    return f"{n} {noun[:-1]}ies" if noun.endswith("y") and noun[-2:-1] not in "aeiou" else f"{n} {noun}s"


def _cell(value: Any, digits: int) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}" if math.isfinite(value) else str(value)
    return str(value)


def print_rows(rows: Sequence[Mapping[str, Any]], fmt: str = "table", headers: Mapping[str, str] | None = None,
               title: str | None = None, digits: int = 3, out: TextIO | None = None, width: int | None = None) -> None:
    """Print ``rows`` (dicts sharing keys) as a table, CSV or JSON on ``out`` (default stdout).

    ``headers`` maps keys to short column titles (table only). ``width`` is the terminal width
    (default: rich's detection, which honours ``$COLUMNS``).
    """
    out = out or sys.stdout
    keys = list(dict.fromkeys(k for row in rows for k in row))
    if fmt == "json":
        out.write(json.dumps(json_safe([dict(row) for row in rows]), indent=1, allow_nan=False) + "\n")
        return
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=keys, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in json_safe(dict(row)).items()})
        return
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r}; choose from {list(FORMATS)}")
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = console_for(out, width=width)
    titles = [(headers or {}).get(k, k) for k in keys]
    cells = [[_cell(row.get(k), digits) for k in keys] for row in rows]
    if title:
        console.print(title, markup=False, highlight=False)
    if not rows:
        console.print("(none)")
        return
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    for i, t in enumerate(titles):
        numeric = all(isinstance(row.get(keys[i]), (int, float)) or row.get(keys[i]) is None for row in rows)
        table.add_column(t, justify="right" if numeric else "left", no_wrap=True)
    for c in cells:
        table.add_row(*c)
    if Console(width=10_000).measure(table).maximum <= console.width:
        console.print(table)
        return
    pad = max(len(t) for t in titles)  # too wide: one block per row rather than cut cells
    for c in cells:
        for t, v in zip(titles, c):
            console.print(f"{t:>{pad}}  {v}", markup=False, highlight=False, soft_wrap=True)
        console.print("")


def console_for(out: TextIO | None = None, **options: Any) -> Any:
    """A rich Console writing to ``out`` (None: the current stdout); with ``NO_COLOR`` set (not empty) it writes
    no ANSI style at all (rich itself drops only colours, not bold)."""
    from rich.console import Console

    plain = {"color_system": None} if os.environ.get("NO_COLOR") else {}
    return Console(file=out, **plain, **options)


def job_console() -> Any:
    """The rich Console of a search job (run or resumed): lines are never wrapped, so a command or path in a log
    written to a file or pipe (where rich assumes 80 columns) stays whole to copy; tables still fit the width."""
    return console_for(soft_wrap=True)


class _DroppedWhenClosed:
    """A text stream that writes to ``stream`` until its reader has gone (a broken pipe); from then on the
    stream's file descriptor is /dev/null (so the interpreter's last flush cannot fail) and the rest is dropped."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._dropped = False

    def write(self, text: str) -> int:
        if not self._dropped:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._drop()
        return len(text)

    def flush(self) -> None:
        if not self._dropped:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._drop()

    def _drop(self) -> None:
        self._dropped = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, ...
        return getattr(self._stream, name)


@contextlib.contextmanager
def closed_stdout_dropped() -> Iterator[None]:
    """Within the block, output to a stdout whose reader stopped (``nasforge bench | head -1``) is dropped instead
    of failing: the command runs on, saves its outputs and exits with its own status."""
    stdout = sys.stdout
    sys.stdout = _DroppedWhenClosed(stdout)
    try:
        yield
    finally:
        sys.stdout = stdout
