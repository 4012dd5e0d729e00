"""Printing rows of results: ``--format table|csv|json``, tables that stay readable at 80 columns.

``print_rows(rows, fmt)`` prints a list of dicts. As a table, columns keep their full headers; a
table wider than the terminal is printed vertically (one ``header: value`` block per row) rather
than with truncated cells, unless leaving out the columns it may drop (``drop``), then cutting the long cells of
the columns it may cut (``cut``: a name) to no fewer than :data:`CUT_MIN` cells makes it fit. The layout (rich's
simple-head table) is decided from the column widths, and the rows are written as text at once: a table of
10,000 rows takes a fraction of a second. JSON is strict: NaN and infinities become ``null``. ``job_console()``
is the console a search job (``search``, ``resume``) logs to. ``NO_COLOR`` (set, not empty) turns off every style,
bold headers too. ``closed_output_dropped()`` lets a command finish (and save) when the reader of its stdout or
stderr stops (``| head``).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import os
import re
import sys
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TextIO

from ..terminal_text import escaped

FORMATS = ("table", "csv", "json")
CUT_MIN = 16
"""The fewest cells :func:`print_rows` cuts a column to (the column's title, if wider) before it prints blocks."""


def add_format_argument(p: argparse.ArgumentParser, default: str | None = "table", note: str = "") -> None:
    """Add ``--format table|csv|json``; ``note`` ends its help (e.g. how a ``default`` of None is chosen)."""
    p.add_argument("--format", choices=FORMATS, default=default,
                   help="output: a table for people, CSV or JSON (NaN/inf as null) for programs"
                        + (f" ({note})" if note else ""))


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
    """A table cell's text: tabs as spaces, Windows line ends as newlines (so that its columns line up), other
    control characters escaped (a stored text reaches the terminal as text, not as commands)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}" if math.isfinite(value) else str(value)
    return escaped(str(value).replace("\r\n", "\n").expandtabs(4))


def _csv_value(value: Any) -> Any:
    """A CSV cell: empty for None; a float at 12 significant digits, which drops the noise of float arithmetic
    (3.1929999999999907 of 84.123 - 80.93 is 3.193) and keeps every digit a measurement has."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.12g}")
    return value


def significant_decimals(rows: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> dict[str, int]:
    """:func:`print_rows`' decimals per column of ``keys``: 0 where every value is a whole number (a parameter
    count is ``1230002``, not ``1230002.000``), else as many as the column's values need at 6 significant digits,
    as ``status`` and the reports show numbers (``84.892``, a loss ``0.00019854``, a regret ``0.00016`` beside an
    exact ``0.00000``; at most 12). CSV and JSON keep every digit."""
    from decimal import Decimal

    digits = {}
    for key in keys:
        values = [v for row in rows if isinstance(v := row.get(key), float) and math.isfinite(v)]
        needed = [-Decimal(f"{v:.6g}").as_tuple().exponent for v in values if not v.is_integer()]
        digits[key] = min(max([0, *needed]), 12)
    return digits


def regret_decimals(rows: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> dict[str, int]:
    """:func:`print_rows`' decimals per regret column of ``keys``: 3, or more where the column's smallest positive
    value needs them to show 2 significant digits (a regret of ``0.00016`` beside an exact ``0.000``, never read as
    an optimum found; at most 12), so a table of percent-scale regrets keeps its width (``0.021``, not
    ``0.0208571``). CSV and JSON keep every digit."""
    digits = {}
    for key in keys:
        positive = [abs(v) for row in rows if isinstance(v := row.get(key), float) and math.isfinite(v) and v]
        smallest = min(positive, default=1.0)
        digits[key] = min(max(3, 1 - math.floor(math.log10(smallest))), 12)
    return digits


def print_rows(rows: Sequence[Mapping[str, Any]], fmt: str = "table", headers: Mapping[str, str] | None = None,
               title: str | None = None, digits: int | Mapping[str, int] = 3, out: TextIO | None = None,
               width: int | None = None, keys: Sequence[str] | None = None, cut: Sequence[str] = (),
               blocks: Sequence[Mapping[str, Any]] | None = None, drop: Sequence[str] = ()) -> None:
    """Print ``rows`` (dicts sharing keys) as a table, CSV or JSON on ``out`` (default stdout).

    ``headers`` maps keys to short column titles (table only). ``digits``: decimals of a float in the table, or
    a mapping key -> decimals (3 for a key it leaves out; 0 prints a whole number as an integer). ``width`` is the
    terminal width (default: rich's detection, which honours ``$COLUMNS``). ``keys``: the columns (default: the
    keys of ``rows``), so that a CSV of no row still has its header; a CSV's floats are written at 12 significant
    digits (no float noise). ``cut``: the columns a table too wide for the terminal may cut, in that order, each
    down to :data:`CUT_MIN` cells, a cut cell keeping its start and end around "…" (:func:`_shortened`), so that
    one long name does not turn the table into blocks; CSV and JSON are never cut. ``blocks``: the rows (one to
    each of ``rows``, with their own keys) that a table too wide even so prints as blocks, in place of ``rows``
    (whose cells may be laid out for the table: several values to a cell, fewer digits). ``drop``: the columns a
    table too wide for the terminal leaves out, one at a time in that order, before it cuts any (so that the name
    ``cut`` would cut shows whole).
    """
    out = out or sys.stdout
    keys = list(keys) if keys is not None else list(dict.fromkeys(k for row in rows for k in row))
    if fmt == "json":
        out.write(json.dumps(json_safe([dict(row) for row in rows]), indent=1, allow_nan=False) + "\n")
        return
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=keys, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_value(v) for k, v in json_safe(dict(row)).items()})
        return
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r}; choose from {list(FORMATS)}")
    console = console_for(out, width=width)
    if title:
        from rich.cells import cell_len

        narrow = cell_len(title) == len(title)  # one cell per character: wrap at spaces, none left at line ends
        if narrow:
            title = textwrap.fill(title, console.width, break_on_hyphens=False)
        console.print(escaped(title), markup=False, highlight=False, soft_wrap=narrow)  # else rich wraps by cells
    if not rows:
        console.print("(none)")
        return
    titles, cells = _titled_cells(rows, keys, headers, digits, out)
    widths = [max(_width(c) for c in column) for column in zip(titles, *cells)]
    for key in (k for k in drop if k in keys):
        if sum(widths) + 2 * (len(widths) - 1) <= console.width:
            break
        i = keys.index(key)
        for column in (keys, titles, widths, *cells):
            del column[i]
    fitted = _fitted(widths, titles, [k in cut for k in keys], console.width)
    if fitted is not None:
        cells = [[_shortened(c, w) if w < full else c for c, w, full in zip(row, fitted, widths)] for row in cells]
        widths = fitted
        numeric = [all(isinstance(row.get(k), (int, float)) or row.get(k) is None for row in rows) for k in keys]
        header = "  ".join(_justified(t, w, right) for t, w, right in zip(titles, widths, numeric))
        console.print(header, style="bold", markup=False, highlight=False, soft_wrap=True, emoji=False)
        out.write(_rule(out) * _width(header) + "\n" + "".join(_table_row(c, widths, numeric) for c in cells))
        return
    if blocks is not None:  # too wide even so: one block per row, of the rows given for blocks
        titles, cells = _titled_cells(blocks, list(dict.fromkeys(k for row in blocks for k in row)), headers, digits,
                                      out)
    out.write(_blocks(titles, cells))


def _rule(out: TextIO) -> str:
    """The character of the line under a table's header: '─', or '-' where ``out``'s encoding has no '─' (an ASCII
    or Latin-1 terminal, a cp1252 redirect); a buffer without an encoding (a table rendered first, then printed)
    takes standard output's."""
    return "─" if _encodes("─", _encoding_of(out)) else "-"


def _encoding_of(out: TextIO) -> str:
    """The encoding ``out`` writes in; a buffer without one (a table rendered first, then printed) takes standard
    output's."""
    return getattr(out, "encoding", None) or getattr(sys.stdout, "encoding", None) or "utf-8"


def _titled_cells(rows: Sequence[Mapping[str, Any]], keys: Sequence[str], headers: Mapping[str, str] | None,
                  digits: int | Mapping[str, int], out: TextIO) -> tuple[list[str], list[list[str]]]:
    """The titles of the columns ``keys`` and the table cells of ``rows`` (:func:`print_rows`' arguments), as
    ``out`` writes them (:func:`as_written`), so that columns are measured on what shows."""
    places = {k: digits.get(k, 3) if isinstance(digits, Mapping) else digits for k in keys}
    return ([as_written((headers or {}).get(k, k), out) for k in keys],
            [[as_written(_cell(row.get(k), places[k]), out) for k in keys] for row in rows])


def as_written(text: str, stream: TextIO) -> str:
    """``text`` as ``stream`` writes it: unchanged where its encoding shows all of it, else with each character it
    cannot show as the backslash escape :func:`unencodable_escaped` has the stream write (``\\xe9``)."""
    encoding = _encoding_of(stream)
    if _encodes(text, encoding):
        return text
    return text.encode(encoding, "backslashreplace").decode(encoding)


def _blocks(titles: Sequence[str], cells: Sequence[Sequence[str]]) -> str:
    """One block per row: a ``title  value`` line per column (titles right-aligned, the further lines of a cell
    of several lines under its first), a blank line after each block."""
    pad = max(len(t) for t in titles)
    indent = "\n" + " " * (pad + 2)
    return "".join("".join(f"{t:>{pad}}  {v}\n" for t, v in zip(titles, (c.replace("\n", indent) for c in row)))
                   + "\n" for row in cells)


def _fitted(widths: Sequence[int], titles: Sequence[str], cuttable: Sequence[bool], room: int) -> list[int] | None:
    """The column widths of a table that fits ``room`` cells: ``widths`` as they are, or with the ``cuttable``
    columns narrowed, in order, each to no fewer than :data:`CUT_MIN` cells (nor than its title); None when the
    table does not fit even so."""
    fitted = list(widths)
    over = sum(widths) + 2 * (len(widths) - 1) - room
    for i, (title, may_cut) in enumerate(zip(titles, cuttable)):
        if over > 0 and may_cut:
            narrowed = min(fitted[i], max(fitted[i] - over, CUT_MIN, _width(title)))
            over -= fitted[i] - narrowed
            fitted[i] = narrowed
    return fitted if over <= 0 else None


def _shortened(text: str, cells: int) -> str:
    """``text`` with each line wider than ``cells`` cut in its middle, keeping its start and end around "…" (names
    that differ only at their end, as run names by their time, stay apart); a wide character that would straddle
    the cut is left out whole, with no space in its place (the column's padding fills the cell)."""
    from rich.cells import cell_len, chop_cells

    def cut(line: str) -> str:
        head = chop_cells(line, cells - 1 - (cells - 1) // 2)[0]
        return head + "…" + chop_cells(line[::-1], cells - 1 - cell_len(head))[0][::-1]

    return "\n".join(cut(line) if cell_len(line) > cells else line for line in text.split("\n"))


def _width(text: str) -> int:
    """Columns ``text`` takes on a terminal: its widest line (wide characters count twice)."""
    from rich.cells import cell_len

    return max(cell_len(line) for line in text.split("\n"))


def _justified(text: str, width: int, right: bool) -> str:
    from rich.cells import cell_len

    fill = " " * (width - cell_len(text))
    return fill + text if right else text + fill


def _table_row(cells: Sequence[str], widths: Sequence[int], numeric: Sequence[bool]) -> str:
    """One table row as lines of text: columns two spaces apart, a cell of several lines over as many lines."""
    split = [c.split("\n") for c in cells]
    height = max(len(lines) for lines in split)
    return "".join("  ".join(_justified(lines[i] if i < len(lines) else "", w, right)
                             for lines, w, right in zip(split, widths, numeric)) + "\n" for i in range(height))


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


_QUOTED_WORD = re.compile(r"'[^']*'")  # a single-quoted shell word (shlex.quote's form of a non-ASCII name)
_IN_CALL = re.compile(r"\w\((?:'[^']*', )*\Z")
"""What comes before an argument of a Python call (``Study.load('é', 'sqlite:///é.db')``), whose backslash escapes
the stream writes are the right Python: left as it is."""


def shown_on(text: str, stream: TextIO) -> str:
    """``text`` (a message line) for ``stream``: unchanged where the stream's encoding shows all of it; else each
    single-quoted shell word holding a character it cannot show (a study name in a printed ``nasforge resume ...``)
    as a bash/zsh ``$'...'`` word of ``\\u`` escapes, so that the command, copied, names that very study (a plain
    backslash escape in quotes would name another); the stream escapes the rest (:func:`unencodable_escaped`)."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    if _encodes(text, encoding):
        return text

    def word(match: re.Match[str]) -> str:
        inner = match.group()[1:-1]
        if _encodes(inner, encoding) or _IN_CALL.search(text, 0, match.start()):
            return match.group()
        return "$'" + "".join(_ansi_c(char, encoding) for char in inner) + "'"

    return _QUOTED_WORD.sub(word, text)


def _encodes(text: str, encoding: str) -> bool:
    """Whether ``encoding`` (an unknown one: taken as able) can write ``text``."""
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    except LookupError:
        return True
    return True


def _ansi_c(char: str, encoding: str) -> str:
    """``char`` inside a bash/zsh ``$'...'`` word: itself, ``\\\\`` for a backslash, or its ``\\u``/``\\U`` escape
    where ``encoding`` cannot write it."""
    if char == "\\":
        return "\\\\"
    if _encodes(char, encoding):
        return char
    return f"\\u{ord(char):04x}" if ord(char) < 0x10000 else f"\\U{ord(char):08x}"


@contextlib.contextmanager
def unencodable_escaped() -> Iterator[None]:
    """Within the block, a character that the encoding of stdout or stderr cannot show (``PYTHONIOENCODING=ascii``,
    a Latin-1 locale, a cp1252 redirect) is written as a backslash escape (``\\xe9``) instead of failing the
    command, often after its work is done; each stream's own error handling is back afterwards."""
    changed = [(stream, stream.errors) for stream in (sys.stdout, sys.stderr)
               if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict"]
    for stream, _ in changed:
        stream.reconfigure(errors="backslashreplace")
    try:
        yield
    finally:
        for stream, errors in changed:
            with contextlib.suppress(ValueError, OSError):  # closed, or its reader gone
                stream.reconfigure(errors=errors)


@contextlib.contextmanager
def closed_output_dropped() -> Iterator[None]:
    """Within the block, output to a stdout or stderr whose reader stopped (``nasforge bench | head -1``,
    ``nasforge search ... 2>&1 | head -1``) is dropped instead of failing: the command runs on, saves its outputs
    and exits with its own status (2 for bad input, 130 at Ctrl-C)."""
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _DroppedWhenClosed(stdout), _DroppedWhenClosed(stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = stdout, stderr
