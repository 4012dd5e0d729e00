"""``nasforge report``: one self-contained interactive HTML file for studies or a ``nasforge bench`` folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..experiment.storage.urls import check_stored_storage
from . import UsageError

DEFAULT_STORAGE = "sqlite:///nasforge.db"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write an interactive HTML report of a study (or a bench folder)",
                       description="Write ONE self-contained HTML file (plotly inlined, no network needed): summary, "
                                   "progress, Pareto front, architecture diagrams, operation importance, learning "
                                   "curves, failures, model diagnostics and a sortable trials table. Several "
                                   "studies of one space: their progress overlaid. A folder written by "
                                   "'nasforge bench --out' gives the regret report of its strategies.")
    p.add_argument("study", nargs="+", metavar="STUDY",
                   help="study name(s) in --storage, or one 'nasforge bench --out' folder (holding bench.json)")
    p.add_argument("--storage", default=DEFAULT_STORAGE, help="storage URL (opened read-only)")
    p.add_argument("--out", default=None,
                   help="HTML file to write (default: report.html; for a bench folder, report.html inside it); "
                        "an existing file is replaced only when it is empty or a report nasforge wrote")
    p.add_argument("--optimum", type=float, default=None,
                   help="known optimum of the objective of a single-objective study (no worse than its best "
                        "trial): plot regret instead of best-so-far (default: none: best-so-far)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..analysis.studyreport.data import hide_password
    from ..experiment.storage import StorageError

    try:
        return _run(args)
    except (StorageError, UsageError) as exc:  # a locked, foreign or unreachable database: bad --storage
        raise UsageError(hide_password(str(exc), args.storage)) from None


def _run(args: argparse.Namespace) -> int:
    from ..analysis.studyreport import (bench_report, check_report_path, check_studies, load_study_data,
                                        open_readonly, report)
    from ..checks import check_real
    from ..experiment.storage import StorageError

    if args.optimum is not None:
        check_real("--optimum", args.optimum, lambda v: True, "a finite number")
    if args.out is not None and not args.out.strip():
        raise UsageError(f"--out must name the HTML file to write, got {args.out!r}")
    twice = sorted({name for name in args.study if args.study.count(name) > 1})
    if twice:
        raise UsageError(f"study {', '.join(map(repr, twice))} named more than once: each study is drawn once")
    first = Path(args.study[0])
    benches = [name for name in args.study if (Path(name) / "bench.json").is_file()]
    if len(args.study) > 1 and benches:
        raise UsageError(f"report takes one 'nasforge bench --out' folder at a time (bench folders: "
                         f"{', '.join(benches)}); run it once per folder")
    if benches:
        if args.optimum is not None:
            raise UsageError(f"--optimum applies to studies; bench folder {first} has its table's optimum "
                             "(bench.json) and reports regret already")
        check_report_path(args.out or first / "report.html", "--out")
        path = bench_report(first, args.out)
    else:
        if len(args.study) == 1 and (first / "simulated.json").is_file():
            raise UsageError(f"{first} holds a simulated-time bench (simulated.json); report reads the folders of "
                             f"a plain 'nasforge bench --out' run; its plot is {first / 'simulated_regret.png'}")
        out = check_report_path(args.out or "report.html", "--out")
        try:
            check_stored_storage(args.storage)
            storage = open_readonly(args.storage)
            try:
                studies = [load_study_data(storage, name) for name in args.study]
            finally:
                storage.close()
        except (UsageError, StorageError) as exc:
            if len(args.study) == 1 and first.is_dir():  # a folder, but not a bench folder: say both
                raise UsageError(f"{first} is not a nasforge bench folder (bench.json is missing), and {exc}") from None
            raise
        check_studies(studies, args.optimum, "--optimum")
        path = report(studies if len(studies) > 1 else studies[0], out, optimum=args.optimum)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0
