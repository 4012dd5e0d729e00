"""Fixes of review 54 (benchmark scripts): their command lines stop before any work when asked for help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "threads_repeat.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=30)


def test_threads_repeat_help_prints_its_usage_without_training():
    """Would fail: the script had no argument parser, so ``--help`` started the four trainings."""
    done = _run("--help")
    assert done.returncode == 0
    assert "usage: threads_repeat.py" in done.stdout and "docs/training.md" in done.stdout
    assert "threads 1" not in done.stdout


def test_threads_repeat_refuses_an_unknown_option_before_training():
    """Would fail: a mistyped option was ignored and the benchmark ran."""
    done = _run("--thread", "4")
    assert done.returncode == 2
    assert "--thread" in done.stderr and "threads 1" not in done.stdout
