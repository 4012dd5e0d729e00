"""``nasforge report``: one self-contained interactive HTML file for studies or a ``nasforge bench`` folder."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..experiment.storage.urls import check_stored_storage
from ..extras import check_installed
from . import UsageError
from .engine import DEFAULT_STORAGE, _path_like, refuse_server_run_folders, study_source

if TYPE_CHECKING:
    from ..analysis.studyreport import StudyData


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write an interactive HTML report of a study (or a bench folder)",
                       description="Write ONE self-contained HTML file (plotly inlined, no network needed): summary, "
                                   "progress, Pareto front, architecture diagrams, operation importance, learning "
                                   "curves, failures, model diagnostics and a sortable trials table. Several "
                                   "studies of one space: their progress overlaid. A run folder of 'nasforge search' "
                                   "is its study; a folder written by 'nasforge bench --out' gives the regret report "
                                   "of its strategies.")
    p.add_argument("study", nargs="+", metavar="STUDY",
                   help="study name(s) in --storage, 'nasforge search' run folder(s) (each holding the study.db of "
                        "its study; without --storage), or one 'nasforge bench --out' folder (holding bench.json)")
    p.add_argument("--storage", action="append", default=None,
                   help=f"storage URL, opened read-only (default: {DEFAULT_STORAGE}; a run folder needs none); one per "
                        f"report: {SEVERAL_FILES}")
    p.add_argument("--out", default=None,
                   help="HTML file to write (default: report.html; for a bench folder or one run folder, report.html "
                        "inside it: the folder's own report, replaced by a new one); a name ending in / is refused "
                        "(name the file); an existing file is refused unless it is empty, or a report nasforge "
                        "wrote and --overwrite is given")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an earlier report nasforge wrote at --out or ./report.html (never any other file)")
    p.add_argument("--optimum", type=float, default=None, metavar="NUMBER",
                   help="known optimum of the objective of a single-objective study (no worse than its best "
                        "trial): plot regret instead of best-so-far (default: none: best-so-far)")
    p.set_defaults(func=run)


SEVERAL_FILES = ("studies of several SQLite files are compared as run folders (each file copied to a folder of its "
                 "own as study.db: nasforge report FOLDER_A FOLDER_B) or in Python: report([Study.load(NAME_A, URL_A), "
                 "Study.load(NAME_B, URL_B)], 'compare.html')")
"""How studies stored in several database files are reported together (one --storage is read per report)."""


def run(args: argparse.Namespace) -> int:
    from ..analysis.studyreport.data import hide_password
    from ..experiment.storage import StorageError

    if args.storage is not None and len(args.storage) > 1:  # argparse would keep the last one unsaid
        raise UsageError(f"--storage given {len(args.storage)} times: a report reads its studies from one storage; "
                         f"{SEVERAL_FILES}")
    args.storage = args.storage[0] if args.storage else None
    try:
        return _run(args)
    except (StorageError, UsageError) as exc:  # a locked, foreign or unreachable database: bad --storage
        raise UsageError(hide_password(str(exc), args.storage)) from None


def _run(args: argparse.Namespace) -> int:
    from ..analysis.studyreport import bench_report, check_studies, load_bench, report
    from ..checks import check_real
    from ..experiment.storage import StorageError
    from ..pipelines.search import RUNS_ROOT, run_folder_storage

    if args.optimum is not None:
        check_real("--optimum", args.optimum, lambda v: True, "a finite number")
    twice = sorted({name for name in args.study if args.study.count(name) > 1})
    if twice:
        raise UsageError(f"{', '.join(map(repr, twice))} named more than once: each study or folder is reported once")
    first = Path(args.study[0])
    # an explicit --storage means studies: a folder of the same name is then not read as a bench folder
    benches = [] if args.storage is not None else [name for name in args.study if _is_bench(name)]
    if len(benches) > 1:
        raise UsageError(f"report takes one 'nasforge bench --out' folder at a time (bench folders: "
                         f"{', '.join(benches)}); run it once per folder")
    if len(args.study) > 1 and benches:
        others = ", ".join(name for name in args.study if name not in benches)
        raise UsageError(f"a bench folder cannot be reported with studies or run folders ({others}): report "
                         f"{benches[0]} on its own")
    if benches:
        _check_not_ambiguous(benches)
        if args.optimum is not None:
            raise UsageError(f"--optimum applies to studies; bench folder {first} has its table's optimum "
                             "(bench.json) and reports regret already")
        default = first / "report.html"
        _check_out(args.out or default, True, args.out is None)  # a place it can be written, before reading
        bench = load_bench(first)  # a damaged folder is named before any advice about --out
        _final_out(args, default, args.out is None, bench=True)
        path = bench_report(bench, args.out)
    else:
        if len(args.study) == 1 and os.path.isfile(first / "simulated.json"):
            raise UsageError(f"{first} holds a simulated-time bench (simulated.json); report reads the folders of "
                             f"a plain 'nasforge bench --out' run; its plot is {first / 'simulated_regret.png'}")
        check_installed(("sqlalchemy", "plotly"), "the report of a stored study")  # both named at once
        for name in args.study:  # a .db file or a path that is no run folder names itself, as in status
            if args.storage is None:  # first, as status refuses such a folder; its command writes where this would
                refuse_server_run_folders(name, "nasforge report",
                                          writes="report.html" if len(args.study) == 1 and args.out is None else None)
            if len(args.study) == 1 and not os.path.isfile(name):
                continue  # a folder or a missing path: its message below names bench folders too
            try:
                _path_like(name, args.storage)
            except UsageError as exc:  # several .db files: --storage reads one
                several = len(args.study) > 1 and os.path.isfile(name)
                raise UsageError(f"{exc}; {SEVERAL_FILES}" if several else str(exc)) from None
        sources = [study_source(name, args.storage, "nasforge report") for name in args.study]
        if len(set(sources)) < len(sources):
            raise UsageError(f"{' '.join(args.study)}: one run folder named more than once; each study is reported "
                             "once")
        run_folder = len(sources) == 1 and sources[0][1] is None
        # the folder study_source read: STUDY itself, or ./nasforge-runs/STUDY/ found by its run name
        folder = first if run_folder_storage(first) else Path(RUNS_ROOT) / first
        own = run_folder and args.out is None  # the run folder's own report.html
        default = folder / "report.html" if run_folder else Path("report.html")
        # a place the report can be written is checked before reading (a folder, an unwritable one, another
        # file); an earlier report there, which --overwrite would replace, after the studies are found
        _check_out(args.out or default, True, args.out is None)
        try:
            studies = [_load(url, name) for url, name in sources]
        except (UsageError, StorageError) as exc:
            if len(args.study) == 1 and not run_folder and os.path.isdir(first):  # a folder, yet not read as one
                raise UsageError(_folder_error(first, exc)) from None
            if len(args.study) == 1 and args.storage is None and not os.path.lexists(first):
                raise UsageError(f"{first}: no such folder (of 'nasforge bench --out' or 'nasforge search'), no "
                                 f"{RUNS_ROOT}/{first}/, and as a study name: {exc}") from None
            raise
        out = _final_out(args, default, own, bench=False)
        check_studies(studies, args.optimum, "--optimum")
        path = report(studies if len(studies) > 1 else studies[0], out, optimum=args.optimum)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def _check_out(path: str | Path, overwrite: bool, default: bool) -> Path:
    """``--out`` (or the default report.html, ``default``): a path a report may be written to, an earlier report
    there only with ``overwrite`` (``--overwrite``, or the default report.html of a bench or run folder): see
    :func:`nasforge.analysis.studyreport.check_report_path`. A refusal of the default names the file, not an --out
    never given."""
    from ..analysis.studyreport import check_report_path

    try:
        return check_report_path(path, "--out", overwrite)
    except UsageError as exc:
        shown = f"--out {str(path)!r}"
        if not default or not str(exc).startswith(shown):
            raise
        raise UsageError(f"{str(path)!r} (the default --out){str(exc).removeprefix(shown)}") from None


def _final_out(args: argparse.Namespace, default: Path, own: bool, bench: bool) -> Path:
    """The report's path (:func:`_check_out`), checked once its sources are read. At the folder's own report.html
    (``own``: ``default``, replaced without --overwrite) a report nasforge wrote of the other kind is refused: a
    study's report where a bench report is written (``bench``), or a bench report where a study's is (a bench and a
    search run sharing a folder: neither report is replaced unasked)."""
    from ..analysis.studyreport import is_bench_report, is_report

    if own and not args.overwrite and default.is_file() and is_report(default) and is_bench_report(default) != bench:
        other, this = ("a 'nasforge search' study", "bench") if bench else ("a 'nasforge bench' run", "study")
        raise UsageError(f"{str(default)!r} (the default --out) is the report of {other} sharing this folder; pass "
                         f"--out FILE for this {this} report, or --overwrite to replace that one")
    return _check_out(args.out or default, args.overwrite or own, args.out is None)


def _is_bench(name: str) -> bool:
    """Whether ``name`` is a folder written by ``nasforge bench --out`` (it holds bench.json)."""
    return os.path.isfile(Path(name) / "bench.json")


def _check_not_ambiguous(benches: list[str]) -> None:
    """A UsageError when a bench folder named without --storage is also a study of :data:`DEFAULT_STORAGE`, as
    ``status`` and ``trials`` refuse a run folder named like one: the command line says how to name each."""
    import shlex

    from .engine import _default_storage_holds

    for name in benches:
        if _default_storage_holds(name):
            folder = name if name.startswith(("/", "./")) else f"./{name}"  # a name no study has
            raise UsageError(f"{name!r} is both a 'nasforge bench --out' folder and a study in {DEFAULT_STORAGE}: "
                             f"for the folder run nasforge report {shlex.quote(folder)}, for the study nasforge "
                             f"report {shlex.quote(name)} --storage {DEFAULT_STORAGE}")


def _folder_error(folder: Path, exc: Exception) -> str:
    """The error of a STUDY argument that names a folder but was read as a study name."""
    from ..pipelines.search import run_folder_storage

    if run_folder_storage(folder):  # a run folder, with --storage given
        return f"{exc}; {folder} is a 'nasforge search' run folder: leave out --storage to report the study in it"
    if _is_bench(str(folder)):  # a bench folder, with --storage given
        return f"{exc}; {folder} is a 'nasforge bench --out' folder: leave out --storage to report it"
    return (f"{folder} is neither a 'nasforge bench --out' folder (bench.json is missing) nor a 'nasforge search' "
            f"run folder (study.db is missing), and {exc}")


def _load(url: str, name: str | None) -> StudyData:
    """Study ``name`` (None: the only one) of the storage at ``url``, read without changing anything."""
    from ..analysis.studyreport import load_study_data, open_readonly
    from ..pipelines.search import only_study

    check_stored_storage(url)
    storage = open_readonly(url)
    try:
        return load_study_data(storage, name if name is not None else only_study(storage, "nasforge report"))
    finally:
        storage.close()
