"""Where the benchmark scripts keep their result files, and reading and writing them without losing what is there.

Scripts run as ``python benchmarks/NAME.py`` import it as ``_results`` (their folder is on ``sys.path``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nasforge.exceptions import UsageError
from nasforge.writes import write_atomic

CHECKOUT = Path(__file__).resolve().parents[1]
"""This checkout's root (the folder holding ``benchmarks``, ``examples`` and ``src``), whatever the working folder."""

RESULTS = CHECKOUT / "benchmarks" / "results"
"""This checkout's ``benchmarks/results``: the scripts' default outputs."""


def read_json(path: str | Path, default: Any) -> Any:
    """The JSON stored at ``path`` to merge new results into, ``default`` when there is no file. A file that is not
    JSON of ``default``'s type (truncated, damaged, another file) stops the script with one line naming it, so it is
    never replaced."""
    path = Path(path)
    if not path.exists():
        return default
    try:
        stored = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SystemExit(f"{path}: cannot read the stored results ({exc}); not replacing it (move it aside or "
                         f"choose another output)") from None
    if not isinstance(stored, type(default)):
        raise SystemExit(f"{path}: stored results are a JSON {type(stored).__name__}, not a "
                         f"{type(default).__name__}; not replacing it (move it aside or choose another output)")
    return stored


def write_file(path: str | Path, data: str | bytes) -> Path:
    """``data`` at ``path`` (its folder created), through a temporary file renamed over it, so an interrupted
    write leaves the previous file whole; a failed write stops the script with one line."""
    try:
        return write_atomic(path, data, "results file")
    except UsageError as exc:
        raise SystemExit(str(exc)) from None


def write_json(path: str | Path, data: Any, indent: int = 1, **dumps: Any) -> Path:
    """``data`` as JSON at ``path``, written as :func:`write_file` does."""
    return write_file(path, json.dumps(data, indent=indent, **dumps) + "\n")


def refuse_other_run(path: str | Path, stored: dict, run: dict[str, Any], before: dict[str, Any] | None = None,
                     option: str = "--out") -> None:
    """Stop with one line when ``stored`` (the results at ``path``, empty when there are none) was measured with other
    ``run`` settings, which the results written there would then mix with or replace. A setting ``stored`` does not
    record counts as its value in ``before``: what runs measured before the option existed used. ``option`` is the
    script's option that chooses the file."""
    for key, value in run.items() if stored else ():
        theirs = stored.get(key, (before or {}).get(key))
        if theirs != value:
            raise SystemExit(f"{path} holds results of a run with {key} {theirs!r}, not {value!r}; nothing replaced "
                             f"(choose another {option} to keep both)")


def int_list(parser: Any, option: str, text: str) -> list[int]:
    """``text`` (``"0,1,2"``) as whole numbers; else ``parser.error`` naming ``option`` (one line, exit 2)."""
    try:
        return [int(s) for s in text.split(",")]
    except ValueError:
        parser.error(f"{option} must be comma-separated whole numbers, got {text!r}")
        raise  # parser.error exits


def validation_pick(summary: dict) -> dict[str, Any]:
    """The best network of a ``nasforge search`` summary as recorded: ``best_test_acc`` is the test accuracy of the
    retrained network the search's validation picked (``best_selected_by``), not the highest one, which is kept
    beside it (``highest_retrained_test_acc``)."""
    retrained = [row["test_acc"] for row in summary["front"] if row.get("test_acc") is not None]
    return {"best_test_acc": summary.get("best_test_acc"), "best_selected_by": summary.get("best_selected_by"),
            "highest_retrained_test_acc": max(retrained, default=None)}


def validation_pick_line(pick: dict[str, Any]) -> str:
    """:func:`validation_pick` in words, for a script's printed summary."""
    return (f"test accuracy of the network picked by validation {pick['best_test_acc']:.2f}% (highest retrained "
            f"{pick['highest_retrained_test_acc']:.2f}%)")
