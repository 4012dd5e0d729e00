"""``nasforge export``: a saved network as ONNX, TorchScript or safetensors (:mod:`nasforge.export`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import UsageError
from .options import non_negative_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write a retrained network as ONNX, TorchScript or safetensors",
                       description="Export a network saved by `nasforge search` (or any folder with model.json and "
                                   "model.safetensors) so that it runs without nasforge: ONNX for onnxruntime, "
                                   "TorchScript for torch.jit.load, or safetensors weights plus a JSON sidecar. "
                                   "See docs/export.md.")
    p.add_argument("source", metavar="RUN_DIR_OR_STUDY",
                   help="a run folder of nasforge search (also by the run name search printed: "
                        "./nasforge-runs/NAME), a saved network's folder, or a study name with --storage (without it, "
                        "a study of ./nasforge.db when no run folder has that name)")
    p.add_argument("--storage", help="storage URL of the study named by RUN_DIR_OR_STUDY (default: none; a run or "
                                     "network folder needs none)")
    p.add_argument("--trial", type=non_negative_int, metavar="N",
                   help="trial whose saved network to export: a retrain trial, the search trial it retrained, or "
                        "any trial that saved one (a Python study's save_dir) (default: the retrained network "
                        "whose search trial is best on the first objective)")
    p.add_argument("--format", choices=["onnx", "torchscript", "safetensors"], default="onnx", help="output format")
    p.add_argument("--out", required=True,
                   help="output file, named with its format's suffix (model.onnx, model.pt, model.safetensors; another "
                        "suffix is refused), or a folder that receives model.<suffix>: an existing one, or a new one "
                        "written with a trailing / (a name without a suffix is refused); an existing file is refused "
                        "unless --overwrite")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the files of a previous export at --out (never the saved network itself)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        folder, path = _export(args)
    except UsageError as exc:  # a name in it (--out, a folder) is shown escaped, on one line
        exc.args = (_one_line(str(exc)),)  # in place: --debug's traceback still shows where it was raised
        raise
    print(f"exported {_one_line(str(folder))} as {args.format}: {_one_line(str(path))} (preprocessing and classes in "
          f"{_one_line(path.name)}.json)")
    return 0


def _one_line(text: str) -> str:
    """``text`` with its control characters (a newline too) written as escapes, so a name never drives the terminal
    or splits the line."""
    from ..terminal_text import escaped

    return escaped(text).replace("\n", "\\n")


def _export(args: argparse.Namespace) -> tuple[Path, Path]:
    """Export as ``args`` say: the network's folder and the model file written."""
    from ..exceptions import StorageError
    from ..experiment.storage.urls import check_stored_storage
    from ..export import export_model, export_target, find_saved_trial

    if args.storage is not None:  # a run folder or memory as --storage: said as every command says it
        check_stored_storage(args.storage, hint="name the folder in place of RUN_DIR_OR_STUDY (without --storage), "
                                                "or ")
    if not args.source.strip():  # named as the command line names it (with --storage it is a study's name)
        what = ("a study of --storage" if args.storage is not None
                else "a run folder, a saved network's folder or a study")
        raise UsageError(f"RUN_DIR_OR_STUDY must name {what}, got {args.source!r} (an unset shell variable?)")
    # a bad --out is refused before any work: before the study is read or a model-space module imported
    export_target(args.source, args.format, args.out, overwrite=args.overwrite, flag="--overwrite")
    try:  # without --storage: a run folder before a study of ./nasforge.db, as find_saved_network says
        folder, metrics = find_saved_trial(args.source, trial=args.trial, storage=args.storage)
    except StorageError as exc:  # a newer, damaged, locked or unreachable database: a bad --storage, as elsewhere
        raise UsageError(str(exc)) from None
    # the sidecar's metrics are those of the trial exported (model.json's are the first run's that saved it)
    path = export_model(folder, args.format, args.out, overwrite=args.overwrite, flag="--overwrite", metrics=metrics)
    return folder, path
