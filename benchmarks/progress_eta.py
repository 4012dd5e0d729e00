"""How right is the progress line's ETA? Simulates the scheduler's calls into ``ProgressReporter`` with a fake clock
(trials claimed as workers free up, a line at each finish and every 10 s heartbeat) and compares each printed ETA
with the true time left, for nasforge's rule and the rule before 2026-12-06 (finished trials only).

    .venv/bin/python benchmarks/progress_eta.py

Scenarios: 20 or 30 trials of equal, log-normal and widely spread durations, a quarter failing at once, half pruned
at a quarter of the time, a fifth failing and retried; 1, 2 and 4 workers; a 0 or 30 s start-up (data loading),
which nasforge's ETA leaves out: its clock starts once the workers are ready (``ProgressReporter.begin``), as the
run's does; the rule before counted it, its clock started with the run.
Prints the mean absolute error, the mean signed error (+: the ETA says more than is left) and the worst error."""

from __future__ import annotations

import io
import random
import re
import statistics
import types

from nasforge.experiment import progress


class FinishedOnly(progress.ProgressReporter):
    """The rule before 2026-12-06: time so far per finished trial, times the trials left, its clock started when the
    reporter was made (before the workers' start-up: that rule had no :meth:`begin`)."""

    def begin(self, deadline: float | None = None) -> None:
        pass

    def _line(self, done, status, now):
        elapsed = now - self._start
        eta = progress.format_seconds(elapsed / done * (self.total - done)) if done else "?"
        print(f"[{self.name}] done {done}/{self.total} | {status()} | eta {eta}", file=self.stream, flush=True)
        self._last_line, self._unshown = now, None


def seconds(text: str) -> int:
    high, unit, low, _ = re.match(r"(\d+)([hm])(\d+)([ms])", text).groups()
    return int(high) * (3600 if unit == "h" else 60) + int(low) * (60 if unit == "h" else 1)


def errors(reporter_class: type, jobs: list, workers: int, startup: float, heartbeat: float = 10.0) -> list[float]:
    """Relative ETA errors of every line printed in one simulated run of ``jobs`` ((seconds, outcome) pairs;
    outcome "ok", "fail", "prune" or ("retry", seconds): fails, then a retry of that length runs)."""
    clock = types.SimpleNamespace(t=0.0)
    progress.time = types.SimpleNamespace(monotonic=lambda: clock.t)
    stream, lines = io.StringIO(), []
    reporter = reporter_class("s", len(jobs), stream=stream, min_interval=2.0)
    clock.t = startup
    reporter.begin()  # as the run does once its workers are ready (FinishedOnly: no begin, as before 2026-12-06)
    pending, running, done, failed, pruned = list(jobs), [], 0, 0, 0
    while True:
        while len(running) < workers and pending:
            duration, outcome = pending.pop(0)
            running.append((clock.t + duration, outcome))
        if not running:
            break
        before = len(stream.getvalue())
        reporter.update(done, failed, len(running), 0.5, pruned)
        lines += [(clock.t, line) for line in stream.getvalue()[before:].splitlines()]
        clock.t = min(min(end for end, _ in running), clock.t + heartbeat)
        finished = [r for r in running if r[0] <= clock.t + 1e-9]
        running = [r for r in running if r[0] > clock.t + 1e-9]
        for _, outcome in finished:
            done += 1
            failed += outcome == "fail" or isinstance(outcome, tuple)
            pruned += outcome == "prune"
            if isinstance(outcome, tuple):
                pending.insert(0, (outcome[1], "ok"))
                reporter.grow(1)
    end = clock.t
    progress.time = __import__("time")
    return [(seconds(m.group(1)) - (end - t)) / (end - t) for t, line in lines
            if (m := re.search(r"eta (\d+[hm]\d+[ms])$", line)) and end > t]


def scenarios() -> dict[str, list]:
    rng = random.Random(0)
    return {"equal": [(60.0, "ok")] * 20,
            "log-normal": [(rng.lognormvariate(4, 0.6), "ok") for _ in range(20)],
            "spread 30-300 s": [(rng.uniform(30, 300), "ok") for _ in range(30)],
            "25% fail": [(60.0, "ok") if i % 4 else (3.0, "fail") for i in range(20)],
            "50% pruned": [(60.0, "ok") if i % 2 else (15.0, "prune") for i in range(20)],
            "20% retried": [(60.0, "ok") if i % 5 else (20.0, ("retry", 60.0)) for i in range(20)]}


def main() -> None:
    rules = {"nasforge": progress.ProgressReporter, "finished only": FinishedOnly}
    print(f"{'scenario':16} {'workers':>7} {'start-up':>8} | " + " | ".join(f"{r:>24}" for r in rules))
    totals: dict[str, list[float]] = {r: [] for r in rules}
    for name, jobs in scenarios().items():
        for workers in (1, 2, 4):
            for startup in (0.0, 30.0):
                cells = []
                for rule, cls in rules.items():
                    errs = errors(cls, jobs, workers, startup)
                    mean_abs = statistics.mean(abs(e) for e in errs)
                    totals[rule].append(mean_abs)
                    cells.append(f"{mean_abs:6.1%} {statistics.mean(errs):+7.1%} {max(errs, key=abs):+7.0%}")
                print(f"{name:16} {workers:7} {startup:8.0f} | " + " | ".join(f"{c:>24}" for c in cells))
    print("mean absolute error over all runs: "
          + ", ".join(f"{rule} {statistics.mean(v):.1%}" for rule, v in totals.items()))


if __name__ == "__main__":
    main()
