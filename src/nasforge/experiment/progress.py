"""Progress display for a running study: a rich bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import contextlib
import contextvars
import math
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO

Best = float | dict[str, float] | None
Status = Callable[[], tuple[str, str]]  # a line's counts (failed, pruned, running) and bests, computed when shown
BAR_INTERVAL = 0.25  # the most seconds between recomputed statuses of the rich bar (it redraws 10 times a second)
STATUS_SHARE = 0.05  # the rich bar recomputes its status once this share of the time since the last went into it
CUT_MIN = 8  # the fewest cells a cut study name or status keeps on the bar ("search-…"), or it is left out


_ESTIMATE: contextvars.ContextVar[Callable[[], float | None] | None] = contextvars.ContextVar("eta", default=None)


@contextlib.contextmanager
def eta_from(estimate: Callable[[], float | None]) -> Iterator[None]:
    """A :class:`ProgressReporter` made inside takes its ETA from ``estimate`` (seconds left now; None: the
    reporter's own rule), so a caller that knows more about the work left (stage 2's per-network times) and prints
    its own ETA shows one estimate, not two that disagree."""
    token = _ESTIMATE.set(estimate)
    try:
        yield
    finally:
        _ESTIMATE.reset(token)


def format_seconds(seconds: float) -> str:
    """``12m05s``, or ``1h05m`` from an hour on: the durations and ETAs of progress lines."""
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def _best_text(best: float | dict[str, float] | None, front: int | str | None = None) -> str:
    """``best V``; with several objectives ``front N | best A x | best B y``: each objective's best is labelled on
    its own, since they may come from different trials (no one trial need hold the pair). ``front`` may say why
    there is none instead of a size (``front none feasible``, with no bests)."""
    if isinstance(best, dict) and not best and isinstance(front, str):
        return f"front {front}"
    if isinstance(best, dict) and best:
        size = "" if front is None else f"front {front} | "
        return size + " | ".join(f"best {name} {value:.6g}" for name, value in best.items())
    return "best -" if best is None or isinstance(best, dict) else f"best {best:.6g}"


def _fit(width: int, name: str, done: str, eta: str, status: str) -> tuple[int, int, int, int]:
    """Cells of the bar's name, bar, ETA and status on a line ``width`` cells wide (done/total is cut only on a
    terminal too narrow for it, under about 16 cells; one cell between columns). In order: done/total, the ETA, a
    bar of up to 5 cells, the study name's first ``CUT_MIN`` cells, the status (the bests, then the counts), the
    rest of the name, the bar up to 30 cells; a name or status cut to fewer than ``CUT_MIN`` cells is left out."""
    from rich.cells import cell_len

    room = width - cell_len(done) - 4
    eta_cells = min(cell_len(eta), max(room - 1, 1))
    room -= eta_cells
    bar_cells = min(max(room, 1), 5)
    room -= bar_cells
    least = min(cell_len(name), CUT_MIN)
    status_cells = min(cell_len(status), max(room - least, 0))
    status_cells *= status_cells >= min(cell_len(status), CUT_MIN)
    room -= status_cells
    name_cells = min(cell_len(name), room) if room >= least else 0
    return name_cells, bar_cells + min(max(room - name_cells, 0), 25), eta_cells, status_cells


def _bar_status(status: Status) -> str:
    """The bar's status: the bests before the counts, so that a cut status keeps them (a plain line says them last)."""
    counts, bests = status()
    return f"{bests} | {counts}"


def _bar_columns(console: Any) -> list[Any]:
    """The rich bar's columns: the study name, the bar, done/total, the ETA, the status (the bests first, then the
    counts), each as wide as :func:`_fit` gives it: on a narrow terminal the bar shrinks first (from 30 cells to 5),
    then the name (to ``CUT_MIN`` cells), then the status from its end (the counts before the bests); a cut text
    ends with "…". Texts are plain, never markup (a study named ``run[/x]`` is shown so)."""
    from rich.progress import BarColumn, ProgressColumn, TextColumn
    from rich.table import Column
    from rich.text import Text

    def widths(task: Any) -> tuple[int, int, int, int]:
        return _fit(console.width, task.description, f"{task.completed}/{task.total}", task.fields["eta"],
                    task.fields["status"])

    class Cut(ProgressColumn):
        """A task's description or field as plain text on one line, cut to the cells :func:`_fit` gives it."""

        def __init__(self, field: str, place: int, style: str = "") -> None:
            super().__init__(table_column=Column(no_wrap=True))
            self.field, self.place, self.style = field, place, style

        def render(self, task: Any) -> Text:
            cells = widths(task)[self.place]
            text = Text(task.description if self.field == "description" else task.fields[self.field], style=self.style)
            text.truncate(cells, overflow="ellipsis")
            return text if cells else Text()

    class Bar(BarColumn):
        """The bar, as wide as the line leaves it (up to 30 cells)."""

        def render(self, task: Any) -> Any:
            self.bar_width = widths(task)[1]
            return super().render(task)

    return [Cut("description", 0, "bold"), Bar(table_column=Column(no_wrap=True)),
            TextColumn("{task.completed}/{task.total}", markup=False, table_column=Column(no_wrap=True)),
            Cut("eta", 2), Cut("status", 3)]


def _is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is a terminal: False for an object without ``isatty`` (a notebook's or a logger's stand-in
    for ``sys.stderr``, or None where Python runs without one) or whose ``isatty`` fails (a closed file)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class ProgressReporter:
    """Shows done / failed / pruned / running, the best value so far (for several objectives: the size of the
    Pareto front and each objective's own best) and an ETA: the time so far per trial's worth of work done, times
    the work left. A running trial counts as done by its age over the mean duration of the trials finished so far,
    at most half done: parallel workers finish several at once, so counting finished trials alone would overstate
    what is left, while a trial claimed just now (one worker: the next one, claimed as the last finished) has done
    nothing, and one older than the mean (a slow trial, or a mean pulled down by pruned or failed ones) is not
    taken as nearly finished. In simulated runs (1-4 workers; equal, spread, pruned, failed and retried trials)
    the error against the true time left was 24 % on average against 42 % for the rule before (finished trials
    alone, its clock started before the workers' start-up). Start times
    are inferred from the updates: a finished trial is the oldest running one, a trial first
    seen in place of a finished one started now, any other at the last update (the run's start at first).

    Made inside :func:`eta_from`, the ETA is that estimate's where it gives one (the same deadline rule applies).

    The clock of the ETA starts at :meth:`begin` (the run calls it once its workers are ready: starting them is no
    trial's work). With a deadline (the run's ``timeout``) an ETA past it is replaced by the time to it (``timeout
    in 0m30s``), and once it is reached the line says how many trials in flight still finish (``timeout: finishing
    2 trials``): no ETA then, since such a trial may run for as long as a whole trial. The final line of a run the
    timeout stopped says ``stopped: timeout``.

    On a terminal this is a rich progress bar (name, bar, done/total, ETA, status with the bests before the counts:
    on a narrow terminal the bar shrinks, then the name, then the status from its end; done/total and the ETA
    last); otherwise (logs, CI, a ``TERM=dumb`` terminal, where rich shows no bar until the end) one plain line per
    finished trial, at most every ``min_interval`` seconds, plus a final line. The study name is shown as text:
    control characters and bidi overrides as escapes (as the tables of the CLI show it), brackets as they are (no
    rich markup).
    """

    def __init__(self, name: str, total: int, stream: TextIO | None = None, min_interval: float = 2.0) -> None:
        from ..terminal_text import escaped

        self.name, self.total = escaped(name), total
        self.stream = stream or sys.stderr
        self.min_interval = min_interval
        self._start = time.monotonic()
        self._deadline: float | None = None  # monotonic time the run stops proposing at (its timeout)
        self._estimate = _ESTIMATE.get()  # the caller's own ETA rule (eta_from), if any
        self._stopped: str | None = None  # why the run ended before its total, once closed
        self._last_line = -float("inf")
        self._unshown: tuple[int, Status] | None = None  # the last update, when its line was not printed
        self._latest: tuple[int, Status] | None = None  # the last update
        self._starts: list[float] = []  # the inferred start times of the running trials, oldest first
        self._durations: list[float] = []  # of the finished trials
        self._seen = (0, self._start)  # done and time at the last update
        self._last_status, self._status_cost = -float("inf"), 0.0
        self._bar: Any = None
        if _is_terminal(self.stream):
            from rich.console import Console

            console = Console(file=self.stream)
            if not console.is_dumb_terminal:  # TERM=dumb (Emacs' shell): rich never redraws a bar there
                self._start_bar(console, total)

    def _start_bar(self, console: Any, total: int) -> None:
        """Show the rich progress bar on ``console``."""
        from rich.progress import Progress

        self._bar = Progress(*_bar_columns(console), console=console, transient=False)
        self._task = self._bar.add_task(self.name, total=total, status="", eta="eta ?")
        self._bar.start()

    def begin(self, deadline: float | None = None) -> None:
        """The run's workers are ready: the ETA's clock starts now; ``deadline``: the ``time.monotonic()`` at
        which the run stops proposing (its timeout), None without one."""
        now = time.monotonic()
        self._start, self._seen, self._deadline = now, (self._seen[0], now), deadline
        self._starts = [now] * len(self._starts)

    def grow(self, extra: int) -> None:
        """Expect ``extra`` more trials (retries)."""
        self.total += extra
        if self._bar is not None:
            self._bar.update(self._task, total=self.total)

    def settle(self, total: int) -> None:
        """The run proposes no more before its total (the strategy ran out of architectures, or other processes
        made the study's total): expect ``total`` trials (those done and those it still runs), never more than
        before, so that the ETA counts only work that will be done and the bar ends full."""
        total = max(min(self.total, total), self._seen[0])
        if total != self.total:
            self.total = total
            if self._bar is not None:
                self._bar.update(self._task, total=self.total)

    def update(self, done: int, failed: int, running: int, best: Best | Callable[[], Best],
               pruned: int = 0, front: int | str | Callable[[], int | str | None] | None = None,
               waiting: int = 0) -> None:
        """``done``: finished trials, of which ``failed`` FAILED and ``pruned`` PRUNED; ``running``: trials
        running on a worker; ``waiting``: trials queued for a worker (shown only when some are: ``max_pending``
        above the workers), which the ETA does not count as started; ``best``: the best value, or each
        objective's best by name (``front``: the Pareto front's size, or why there is none).
        ``best`` and ``front`` may be functions returning them: they are called only when the status is shown
        (at most every ``min_interval`` seconds), since computing them costs a pass over the trials."""
        queued = f" | waiting {waiting}" if waiting else ""

        def status() -> tuple[str, str]:  # the counts, the bests
            shown_best = best() if callable(best) else best
            shown_front = front() if callable(front) else front
            counts = f"failed {failed} | pruned {pruned} | running {running}{queued}"
            return counts, _best_text(shown_best, shown_front)

        now = time.monotonic()
        self._track(done, running, now)
        self._latest = (done, status)
        if self._bar is not None:  # a cheap status is always fresh; a costly one (many trials) at most every 0.25 s
            eta = self._eta(done, now)
            if now - self._last_status >= min(BAR_INTERVAL, self._status_cost / STATUS_SHARE) or done >= self.total:
                text = _bar_status(status)
                self._status_cost = time.monotonic() - now
                self._bar.update(self._task, completed=done, status=text, eta=eta)
                self._last_status, self._unshown = now, None
            else:
                self._bar.update(self._task, completed=done, eta=eta)
                self._unshown = (done, status)
            return
        self._unshown = (done, status)
        if now - self._last_line >= self.min_interval or done >= self.total:
            self._line(done, status, now)

    def _track(self, done: int, running: int, now: float) -> None:
        """Infer the start times of the running trials and the durations of the finished ones (class docstring)."""
        finished, last = max(done - self._seen[0], 0), self._seen[1]
        for _ in range(finished):
            self._durations.append(now - (self._starts.pop(0) if self._starts else self._start))
        new = max(running - len(self._starts), 0)
        replacing = min(new, finished)
        self._starts = self._starts[:running] + [last] * (new - replacing) + [now] * replacing
        self._starts.sort()
        self._seen = (done, now)

    def _eta(self, done: int, now: float) -> str:
        """``eta 1m05s`` (class docstring); ``eta ?`` before a trial finished (``eta ? (timeout in 0m30s)``). With a
        deadline: ``timeout in 0m30s`` in place of an ETA past it, ``timeout: finishing 2 trials`` once it is
        reached (trials in flight run to their end), ``stopped: timeout`` once a run the timeout stopped is closed.
        Times to the deadline round up: ``--timeout 4`` first shows ``0m04s``."""
        if self._stopped is not None:
            return f"stopped: {self._stopped}"
        left = math.ceil(self._deadline - now) if self._deadline is not None else None
        if left is not None and left <= 0:
            running = len(self._starts)
            return f"timeout: finishing {running} trial{'s' * (running != 1)}" if running else "timeout reached"
        if not done:
            return "eta ?" if left is None else f"eta ? (timeout in {format_seconds(left)})"
        eta = self._estimate() if self._estimate is not None else None
        if eta is None:
            elapsed = now - self._start
            mean = sum(self._durations) / len(self._durations) if self._durations else 0.0
            running = sum(min((now - start) / mean, 0.5) for start in self._starts) if mean > 0 else 0.0
            worked = done + min(running, max(self.total - done, 0))  # trials' worth of work done
            eta = elapsed / worked * max(self.total - worked, 0.0)
        return f"timeout in {format_seconds(left)}" if left is not None and left < eta else f"eta {format_seconds(eta)}"

    def _line(self, done: int, status: Status, now: float) -> None:
        if self.stream is not None:  # None: Python runs without a sys.stderr (print would write to stdout)
            self.stream.write(f"[{self.name}] done {done}/{self.total} | {' | '.join(status())} "
                              f"| elapsed {format_seconds(now - self._start)} | {self._eta(done, now)}\n")
            flush = getattr(self.stream, "flush", None)  # a write-only stand-in for sys.stderr may have none
            if flush is not None:
                flush()
        self._last_line, self._unshown = now, None

    def close(self, stopped: str | None = None) -> None:
        """Stop the bar (showing the last status, if it was not); in plain mode, print the last state if it was not
        shown (a run that stopped early). ``stopped``: why the run ended before its total (``"timeout"``), said
        in place of the ETA, on a final line of its own if the last one was shown."""
        self._stopped = stopped if self._seen[0] < self.total else None  # a run that did all it had to: no stop
        if self._bar is not None:
            done = self._seen[0]
            if self._unshown is not None:
                self._bar.update(self._task, status=_bar_status(self._unshown[1]))
            self._bar.update(self._task, eta=self._eta(done, time.monotonic()))
            self._bar.stop()
        elif self._unshown is not None:
            self._line(*self._unshown, time.monotonic())
        elif stopped is not None and self._latest is not None:  # its last line gave an ETA
            self._line(*self._latest, time.monotonic())
