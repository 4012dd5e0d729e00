"""Regression review 44 (re), items 3-4: the bar keeps the bests before the counts and the study name at 80-100
columns; near a timeout the progress line gives the time to it and then the trials still finishing, not a zero ETA."""

from __future__ import annotations

import io
import re
import types

import pytest

from nasforge.experiment import progress
from nasforge.experiment.progress import ProgressReporter

NAME = "search-nb201-digits-20261206-153012"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _last_frame(text: str) -> str:
    plain = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", text)
    return [frame for frame in re.split(r"\r|\n", plain) if frame.strip()][-1]


@pytest.mark.parametrize("width", [80, 100])
@pytest.mark.parametrize("best, front, bests", [
    (0.912345, None, "best 0.912345"),
    ({"val_acc": 0.6, "params": 94.0}, 1, "front 1 | best val_acc 0.6 | best params 94"),
])
def test_bar_at_80_and_100_columns_cuts_the_name_before_the_bests(monkeypatch, width, best, front, bests):
    """Would fail: the status was cut before "best ..." (after "running") while the study name kept 24-35 cells."""
    clock = types.SimpleNamespace(t=0.0)
    monkeypatch.setattr(progress, "time", types.SimpleNamespace(monotonic=lambda: clock.t))
    monkeypatch.setenv("COLUMNS", str(width))
    out = Terminal()
    bar = ProgressReporter(NAME, total=60, stream=out)
    bar.begin()
    clock.t = 10.0
    bar.update(5, 0, 1, best, front=front)
    bar.close()
    last = _last_frame(out.getvalue())
    assert len(last) <= width and " 5/60 eta 1m" in last
    assert last.startswith("search-") and bests + " | f" in last
    if width == 80 or front is not None:  # the name gets what the status leaves, at least "search-…"
        assert NAME not in last and last.split()[0].endswith("…")


def test_with_a_deadline_the_bar_still_shows_the_bests_first(monkeypatch):
    clock = types.SimpleNamespace(t=0.0)
    monkeypatch.setattr(progress, "time", types.SimpleNamespace(monotonic=lambda: clock.t))
    monkeypatch.setenv("COLUMNS", "80")
    out = Terminal()
    bar = ProgressReporter(NAME, total=60, stream=out)
    bar.begin(deadline=30.0)
    clock.t = 10.0
    bar.update(5, 0, 1, {"val_acc": 0.6, "params": 94.0}, front=1)
    bar.close()
    assert " 5/60 timeout in 0m20s front 1 | best val_acc 0.6 | best params" in _last_frame(out.getvalue())


def test_bar_shows_every_count_and_the_whole_name_when_the_line_has_room(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    out = Terminal()
    bar = ProgressReporter(NAME, total=6, stream=out)
    bar.update(6, 1, 0, {"val_acc": 0.6, "params": 94.0}, pruned=2, front=1)
    bar.close()
    last = _last_frame(out.getvalue())
    assert last.startswith(NAME + " ━") and last.endswith(
        "6/6 eta 0m00s front 1 | best val_acc 0.6 | best params 94 | failed 1 | pruned 2 | running 0")


def test_near_a_timeout_the_line_gives_the_time_to_it_then_the_trials_still_running(monkeypatch):
    """Would fail: `--timeout 4` first said "timeout in 0m03s" (rounded down), and from the last trial before the
    deadline on the line said "eta 0m00s (timeout)" while the trials in flight ran on (up to a whole trial)."""
    clock = types.SimpleNamespace(t=0.0)
    monkeypatch.setattr(progress, "time", types.SimpleNamespace(monotonic=lambda: clock.t))
    out = io.StringIO()
    bar = ProgressReporter("s", total=5, stream=out, min_interval=0.0)
    clock.t = 1.5
    bar.begin(deadline=1.5 + 4.0)
    clock.t = 1.5001
    bar.update(0, 0, 2, None)
    clock.t = 4.5
    bar.update(1, 0, 2, 0.1)
    clock.t = 5.5  # the deadline: two trials in flight, which finish
    bar.update(1, 0, 2, 0.1)
    clock.t = 7.5
    bar.update(2, 0, 1, 0.2)
    clock.t = 8.5
    bar.update(3, 0, 0, 0.3)
    bar.close("timeout")
    etas = [line.rsplit(" | ", 1)[1] for line in out.getvalue().splitlines()]
    assert etas == ["eta ? (timeout in 0m04s)", "timeout in 0m01s", "timeout: finishing 2 trials",
                    "timeout: finishing 1 trial", "timeout reached", "stopped: timeout"]


def test_an_eta_before_the_deadline_is_shown_as_such(monkeypatch):
    clock = types.SimpleNamespace(t=0.0)
    monkeypatch.setattr(progress, "time", types.SimpleNamespace(monotonic=lambda: clock.t))
    out = io.StringIO()
    bar = ProgressReporter("s", total=4, stream=out, min_interval=0.0)
    bar.begin(deadline=600.0)
    clock.t = 10.0
    bar.update(1, 0, 0, 0.1)
    assert out.getvalue().endswith("| eta 0m30s\n")
