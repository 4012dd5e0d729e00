"""The one-line error of a refused command, shared by the command-line tests."""

from __future__ import annotations

from nasforge.cli import main


def err_line(capsys) -> str:
    """The one line written to stderr since the last read."""
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def error_line(capsys, argv: list[str]) -> str:
    """The one line a refused command prints (exit status 2, no traceback, nothing on stdout)."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err and not captured.out, captured.err
    return lines[0]
