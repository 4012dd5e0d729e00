"""Study management commands: studies, status, trials, resume, delete."""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from . import UsageError

DEFAULT_STORAGE = "sqlite:///nasforge.db"


def register(sub: argparse._SubParsersAction) -> None:
    def storage_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--storage", default=DEFAULT_STORAGE,
                       help=f"storage URL (default {DEFAULT_STORAGE}: a SQLite file in the working directory)")

    p = sub.add_parser("studies", help="list the studies in a storage")
    storage_arg(p)
    p.set_defaults(func=cmd_studies)

    p = sub.add_parser("status", help="progress, best trial and running trials of a study")
    p.add_argument("study")
    storage_arg(p)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("trials", help="a study's trials as a table, CSV or JSON")
    p.add_argument("study")
    storage_arg(p)
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="CSV output")
    fmt.add_argument("--json", action="store_true", help="JSON output (study and trials)")
    p.add_argument("--output", "-o", help="write to this file instead of standard output")
    p.set_defaults(func=cmd_trials)

    p = sub.add_parser("resume", help="continue an interrupted study to its recorded number of trials")
    p.add_argument("study")
    storage_arg(p)
    p.add_argument("--evaluator", help="evaluator factory 'package.module:callable' (default: the one recorded)")
    p.add_argument("--evaluator-kwargs", default=None, help="JSON object of keyword arguments for --evaluator")
    p.add_argument("--n-workers", type=int, help="override the recorded number of workers")
    p.add_argument("--executor", choices=["inline", "process", "ray"], help="override the recorded executor")
    p.add_argument("--no-progress", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("delete", help="delete a study and all its trials")
    p.add_argument("study")
    storage_arg(p)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=cmd_delete)


def _storage_errors(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Report storage failures (locked file, lost server) as usage errors: one line, exit code 2."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        from ..experiment.storage import StorageError

        try:
            return command(args)
        except StorageError as exc:
            raise UsageError(str(exc)) from None

    return run


def _storage(url: str) -> Any:
    """Open an existing storage; a missing SQLite file is an error rather than a new empty database."""
    from ..experiment.storage import get_storage

    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and not os.path.exists(path):
            raise UsageError(f"no database file {path!r} (storage {url}); run a study first or pass --storage")
    return get_storage(url)


def _load(args: argparse.Namespace) -> Any:
    from ..experiment import Study

    return Study.load(args.study, _storage(args.storage))


@_storage_errors
def cmd_studies(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    summaries = _storage(args.storage).list_studies()
    if not summaries:
        print(f"no studies in {args.storage}")
        return 0
    table = Table("study", "space", "strategy", "objectives", "trials", "complete", "failed", "pruned",
                  "running", "created")
    for s in summaries:
        c = s.counts
        table.add_row(s.name, s.space, s.strategy, ",".join(s.objectives), str(s.n_trials),
                      str(c.get("COMPLETE", 0)), str(c.get("FAILED", 0)), str(c.get("PRUNED", 0)),
                      str(c.get("RUNNING", 0) + c.get("WAITING", 0)),
                      time.strftime("%Y-%m-%d %H:%M", time.localtime(s.created_at)))
    Console(width=160).print(table)
    return 0


@_storage_errors
def cmd_status(args: argparse.Namespace) -> int:
    from ..experiment.scheduler import process_gone

    study = _load(args)
    counts: dict[str, int] = {}
    for t in study.trials:
        counts[t.state.value] = counts.get(t.state.value, 0) + 1
    config = study.run_config or {}
    print(f"study {study.name!r} ({study.storage.url}): space {study.space.name}, strategy {study.strategy.name}, "
          f"objectives {study.objectives} {study.directions}")
    total = config.get("n_trials_total")
    proposals = study.n_proposals
    target = f" (proposals {proposals}, target of the last run {total})" if total else ""
    print(f"trials: {len(study.trials)}{target} | " + ", ".join(f"{k.lower()} {v}" for k, v in sorted(counts.items())))
    if study.completed():
        if study.is_multi_objective:
            print(f"pareto front: {len(study.pareto_front())} trials")
        else:
            best = study.best_trial
            print(f"best: trial {best.number} {study.objectives[0]}={study.best_value:.6g} "
                  f"{study.space.format(best.arch)}")
    now = time.time()
    for t in study.trials:
        if t.state.value == "RUNNING":
            age = "never" if t.heartbeat is None else f"{now - t.heartbeat:.0f} s ago"
            gone = " (its process is gone: resume re-runs it)" if process_gone(t.worker) else ""
            print(f"running: trial {t.number} on {t.worker}, heartbeat {age}{gone}")
    return 0


@_storage_errors
def cmd_trials(args: argparse.Namespace) -> int:
    study = _load(args)
    if args.json:
        text = json.dumps(study.to_json(), indent=1)
    elif args.csv:
        text = study.trials_dataframe().to_csv(index=False)
    else:
        frame = study.trials_dataframe()
        hidden = [c for c in ("started_at", "finished_at", "worker") if c in frame]
        text = frame.drop(columns=hidden).to_string(index=False)
    if args.output:
        with open(args.output, "w") as fh:
            fh.write(text if text.endswith("\n") else text + "\n")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


@_storage_errors
def cmd_resume(args: argparse.Namespace) -> int:
    from ..experiment.evaluator_spec import build_evaluator

    study = _load(args)
    if study.user_attrs.get("pipeline"):  # a whole job (e.g. nasforge search): finish every stage and output
        from rich.console import Console

        from ..pipelines import resume as resume_pipeline

        resume_pipeline(study.name, args.storage, workers=args.n_workers, console=Console())
        return 0
    config = study.run_config or {}
    if not config:
        raise UsageError(f"study {study.name!r} has no recorded optimize run to resume")
    if args.evaluator:
        try:
            kwargs = json.loads(args.evaluator_kwargs) if args.evaluator_kwargs else {}
        except json.JSONDecodeError as exc:
            raise UsageError(f"--evaluator-kwargs is not valid JSON: {exc}") from None
        spec: dict[str, Any] | None = {"factory": args.evaluator, "kwargs": kwargs}
    else:
        spec = config.get("evaluator")
    if not spec:
        raise UsageError(f"study {study.name!r} recorded no evaluator; pass --evaluator package.module:callable")
    overrides: dict[str, Any] = {"progress": not args.no_progress, "evaluator_spec": spec}
    if args.n_workers is not None:
        overrides["n_workers"] = args.n_workers
        overrides["max_pending"] = None
    if args.executor is not None:
        overrides["executor"] = args.executor
    before = sum(t.done for t in study.trials)
    study.resume(build_evaluator(spec), **overrides)
    done = sum(t.done for t in study.trials)
    best = ""
    if study.completed() and not study.is_multi_objective:
        best = f", best {study.objectives[0]}={study.best_value:.6g}"
    print(f"study {study.name!r}: {done - before} trials finished in this run, {done} in total{best}")
    return 0


@_storage_errors
def cmd_delete(args: argparse.Namespace) -> int:
    storage = _storage(args.storage)
    record = storage.load_study(args.study)
    if not args.yes:
        raise UsageError(f"this deletes study {record.name!r} and all its trials; pass --yes to confirm")
    storage.delete_study(args.study)
    print(f"deleted study {args.study!r} from {args.storage}")
    return 0
