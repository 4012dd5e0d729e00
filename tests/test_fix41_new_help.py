"""The --strategy help of ``nasforge search`` and ``oneshot search`` names the strategies that fit (fix41_new)."""

from __future__ import annotations

import subprocess
import sys

from nasforge.cli.search import MULTI_OBJECTIVE_STRATEGIES
from nasforge.strategies import STRATEGIES


def _help(*command: str) -> str:
    done = subprocess.run([sys.executable, "-m", "nasforge", *command, "--help"], capture_output=True, text=True,
                          env={"COLUMNS": "400", "PATH": "", **_pythonpath()}, check=True)
    return " ".join(done.stdout.split())


def _pythonpath() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "HOME", "NASFORGE_DATA")}


def test_the_listed_multi_objective_strategies_are_the_registry_s() -> None:
    aliases = {"mo_re"}  # mo_evolution's other name
    assert set(MULTI_OBJECTIVE_STRATEGIES) == set(STRATEGIES.names(multi_objective=True)) - aliases


def test_search_help_lists_the_multi_objective_strategies() -> None:
    text = _help("search")
    assert "two or more --objectives need a multi-objective one: " + ", ".join(MULTI_OBJECTIVE_STRATEGIES) in text
    assert "docs/strategies.md" in text


def test_oneshot_search_help_says_which_strategies_fit() -> None:
    text = _help("oneshot", "search")
    assert "single-objective, single-fidelity" in text and "docs/strategies.md" in text
