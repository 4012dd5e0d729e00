"""``nasforge oneshot train|search|study``: one-shot NAS with weight-sharing supernets.

- ``train``: train a supernet (SPOS, DARTS or GDAS, with any trick; optionally split it for few-shot NAS)
  and save it; DARTS/GDAS also print the derived architecture (argmax or DARTS-PT);
- ``search``: run any strategy on a saved supernet through the Study loop (``SupernetEvaluator``);
- ``study``: the ranking study (supernet scores vs standalone ground truth, tricks, baselines).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

from . import UsageError
from .options import (add_score_arguments, add_space_arguments, fraction, load_space, non_negative_float,
                      non_negative_int, not_a_file, positive_float, positive_int, score_settings)
from .output import add_format_argument, counted, json_safe, print_rows

DATA_HELP = "digits, digits-hard (digits with pixel noise) or a load_dataset name (cifar10, npz, folder)"


def add_augment_argument(p: argparse.ArgumentParser, what: str) -> None:
    """``--augment {none,crop,crop_flip}``: the training augmentation ``what`` names (default: the data set's own)."""
    from ..oneshot.checks import AUGMENTATIONS

    p.add_argument("--augment", choices=AUGMENTATIONS, default=None,
                   help=f"training augmentation {what}: none, crop (random shifts) or crop_flip (shifts and "
                        "left-right mirror flips) (default: the data set's own: crop for digits, crop_flip for files; "
                        "choose crop or none for images that must not be mirrored, such as digits or text)")


def register(sub: argparse._SubParsersAction) -> None:
    from ..oneshot.checks import SUPERNET_SIZES
    from ..oneshot.study import MIN_K, RankingConfig

    study = {f.name: f.default for f in fields(RankingConfig)}  # the study's own defaults, shown in --help
    p = sub.add_parser("oneshot", help="one-shot NAS: train supernets, search on them, measure their ranking",
                       description="Weight-sharing supernets (SPOS, DARTS, GDAS, few-shot) and the ranking study.")
    commands = p.add_subparsers(dest="oneshot_command", metavar="SUBCOMMAND", required=True)

    t = commands.add_parser("train", help="train a supernet and save it",
                            description="Train a weight-sharing supernet (SPOS, DARTS or GDAS; split into "
                                        "sub-supernets for few-shot NAS with --few-shot-split) and save it with its "
                                        "record in --out; DARTS and GDAS also print the architecture they derive.")
    add_space_arguments(t, names="nb201, darts, chain, proxylessnas")  # the spaces with a supernet (not nb101)
    _data_arguments(t)
    t.add_argument("--method", default="spos", choices=("spos", "darts", "gdas"), help="supernet trainer")
    t.add_argument("--epochs", type=positive_int, default=30, metavar="N", help="training epochs")
    sizes = ", ".join(f"{space} {size['C']}" for space, size in SUPERNET_SIZES.items())
    t.add_argument("--C", type=positive_int, metavar="N",
                   help=f"base channels of the supernet (default: the space's: {sizes}; not for a model space: its "
                        "module sets its size)")
    cells = ", ".join(f"{space} {size['N']}" for space, size in SUPERNET_SIZES.items() if "N" in size)
    t.add_argument("--N", type=positive_int, metavar="N",
                   help=f"cells per stage (cell spaces; default: the space's: {cells})")
    t.add_argument("--batch-size", type=positive_int, default=64, metavar="N", help="mini-batch size")
    t.add_argument("--lr", type=positive_float, default=0.05, metavar="NUMBER",
                   help="peak learning rate of the weights (cosine)")
    t.add_argument("--weight-decay", type=non_negative_float, default=3e-4, metavar="NUMBER",
                   help="weight decay of the weights (the ranking study's supernets rank best with 0.01)")
    t.add_argument("--sampling", default="uniform", choices=("uniform", "fair", "strict_fair"), help="SPOS sampling")
    t.add_argument("--order", type=int, default=1, choices=(1, 2), help="DARTS first or second order")
    t.add_argument("--arch-lr", type=positive_float, default=3e-3, metavar="NUMBER",
                   help="learning rate of the architecture weights")
    t.add_argument("--warmup-epochs", type=non_negative_int, default=0, metavar="N",
                   help="weight-only epochs before architecture updates")
    t.add_argument("--path-dropout", type=fraction, default=0.0, metavar="NUMBER",
                   help="DARTS: drop each option with this probability (not GDAS: it runs one option per decision)")
    t.add_argument("--path-dropout-schedule", default="linear", choices=("linear", "constant"),
                   help="path dropout ramp")
    t.add_argument("--sdarts", choices=("random", "adversarial"),
                   help="SDARTS perturbation of the architecture (default: none)")
    t.add_argument("--sdarts-epsilon", type=positive_float, default=0.03, metavar="NUMBER",
                   help="SDARTS perturbation radius")
    t.add_argument("--early-stop-skips", type=positive_int, metavar="N",
                   help="DARTS+: stop when this many decisions pick a skip (default: never)")
    t.add_argument("--norm", default="batch", choices=("batch", "ghost", "group"), help="normalization in the ops")
    t.add_argument("--affine-off", action="store_true", help="normalization without learned scale and shift")
    t.add_argument("--drop-path", type=fraction, default=0.0, metavar="NUMBER",
                   help="drop-path probability of the ops")
    t.add_argument("--few-shot-split", metavar="DECISIONS",
                   help="comma-separated decisions to split on (e.g. edge_0_3) for few-shot NAS (default: none, "
                        "one-shot)")
    t.add_argument("--few-shot-epochs", type=positive_int, metavar="N",
                   help="with --few-shot-split: further epochs of each sub-supernet, a cosine schedule restarted at "
                        f"{FEW_SHOT_LR_FACTOR:g} x --lr (default: {FEW_SHOT_EPOCHS})")
    t.add_argument("--few-shot-shared-seed", action=argparse.BooleanOptionalAction,
                   help="with --few-shot-split: every sub-supernet trains with the same batches and augmentation "
                        "(default: on; --no-few-shot-shared-seed: seed + i)")
    t.add_argument("--derive", choices=("argmax", "pt"),
                   help="how DARTS/GDAS derive the architecture (pt: DARTS-PT perturbation) (default: argmax; "
                        "refused with SPOS)")
    t.add_argument("--seed", type=non_negative_int, default=0, help="random seed")
    t.add_argument("--threads", type=positive_int, default=1, metavar="N", help="torch threads")
    t.add_argument("--out", default="nasforge-runs/supernet", help="folder for the saved supernet and record")
    t.add_argument("--overwrite", action="store_true",
                   help="save into an --out that already holds files (a supernet saved there is replaced, other "
                        "files are left alone)")
    t.set_defaults(func=run_train)

    s = commands.add_parser("search", help="search a saved supernet with any strategy (one Study)",
                            description="Search a supernet saved by 'nasforge oneshot train' with a strategy: each "
                                        "trial scores an architecture with the supernet's shared weights (no "
                                        "training), and the best --top architectures are listed.")
    s.add_argument("--supernet", "--checkpoint", dest="supernet", metavar="FOLDER", required=True, action=_Typed,
                   help="supernet folder written by 'nasforge oneshot train' (--checkpoint: the older name)")
    s.add_argument("--data", metavar="NAME", help="data set to score on (default: the one the supernet was trained on)")
    s.add_argument("--data-dir", metavar="PATH",
                   help="folder or file for --data, or where the recorded data set's files are now (its recorded "
                        "split is kept) (default: the recorded folder)")
    s.add_argument("--strategy", default="evolution", metavar="NAME",
                   help="search strategy (default: evolution): a single-objective, single-fidelity one, e.g. "
                        "evolution, random, local_search, tpe (a multi-objective one, e.g. nsga2, runs on the one "
                        "--score-by objective); every strategy: docs/strategies.md")
    s.add_argument("--trials", type=positive_int, default=100, help="architectures scored")
    add_score_arguments(s)
    s.add_argument("--score-by", default="loss", choices=("loss", "acc"),
                   help="optimize and rank by the validation loss (minimized: it ranks better, docs/oneshot.md) or "
                        "the validation accuracy (default: loss)")
    s.add_argument("--storage", help="study storage URL (default: in memory; a relative sqlite path is stored "
                                     "as absolute)")
    s.add_argument("--name", default="oneshot-search", metavar="NAME", help="study name (unique within --storage)")
    s.add_argument("--seed", type=non_negative_int, default=0, help="random seed")
    s.add_argument("--top", type=positive_int, default=5, metavar="N", help="architectures listed")
    add_format_argument(s)
    s.set_defaults(func=run_search)

    r = commands.add_parser("study", help="rank K architectures with supernets vs standalone ground truth",
                            description="The ranking study: train K architectures standalone (the ground truth, "
                                        "stored and reused), score them with supernets trained under each "
                                        "configuration and write how well each ranks them (Kendall tau) to --out.")
    r.add_argument("--data", default="digits-hard", metavar="NAME", help=DATA_HELP)
    r.add_argument("--data-dir", metavar="PATH", help="folder or file for --data (default: none; digits is embedded)")
    r.add_argument("--noise", type=non_negative_float, metavar="NUMBER",
                   help=f"pixel noise std of digits-hard (default: {study['noise']:g})")
    add_augment_argument(r, "of the ground truth and the supernets")
    r.add_argument("--k", type=positive_int, default=40, metavar="N",
                   help=f"architectures with standalone ground truth, at least {MIN_K} (the top-10 figures)")
    r.add_argument("--seeds", type=positive_int, default=4, help="ground-truth training seeds per architecture")
    r.add_argument("--epochs", type=positive_int, default=8, metavar="N", help="ground-truth training epochs")
    r.add_argument("--check-epochs", default="", metavar="N[,N]",
                   help="comma-separated: also train the ground truth this long and score every row against it")
    r.add_argument("--supernet-epochs", type=positive_int, default=150, metavar="N",
                   help="SPOS supernet epochs (the few-shot epochs scale with it unless given)")
    r.add_argument("--few-shot-epochs", type=positive_int, metavar="N",
                   help=f"further epochs per few-shot sub-supernet (default: --supernet-epochs / "
                        f"{study['supernet_epochs'] // study['fewshot_epochs']}, at least 1: "
                        f"{study['fewshot_epochs']} at the default; not with --few-shot-split-epoch)")
    r.add_argument("--few-shot-split", default="edge_0_3", metavar="DECISIONS",
                   help="comma-separated decisions few-shot splits on")
    r.add_argument("--finetune-steps", type=positive_int, default=20, metavar="N",
                   help="fine-tuning steps in the fine-tune rows (at least 1)")
    r.add_argument("--tricks", default="", metavar="NAME[,NAME]",
                   help="extra rows, comma-separated: strict_fair, affine_off, drop_path, ghost_bn, group_norm")
    r.add_argument("--C", type=positive_int, default=8, metavar="N", help="base channels of the ground-truth networks")
    r.add_argument("--N", type=positive_int, default=1, metavar="N", help="cells per stage")
    r.add_argument("--supernet-width", type=positive_int, default=4, metavar="N",
                   help="the supernets have this times --C base channels")
    r.add_argument("--supernet-weight-decay", type=non_negative_float, default=0.01, metavar="NUMBER",
                   help="weight decay of the supernets")
    r.add_argument("--score-by", default="loss", choices=("loss", "acc"),
                   help="a supernet scores a sub-network by its validation accuracy or (minus) its validation loss")
    r.add_argument("--storage", help="ground-truth storage URL (default: sqlite in --out, reused on reruns)")
    r.add_argument("--seed", type=non_negative_int, default=0,
                   help="seed of the data split and the architecture sample")
    r.add_argument("--supernet-seed", type=non_negative_int, default=0, metavar="N",
                   help="first seed of the supernets' training and scoring")
    r.add_argument("--supernet-seeds", type=positive_int, default=2, metavar="N",
                   help="supernet trainings per row (seeds from --supernet-seed); rows show mean and std over them")
    r.add_argument("--few-shot-lr-factor", type=positive_float, metavar="NUMBER",
                   help="few-shot sub-supernets restart the cosine schedule at this times the SPOS learning rate "
                        f"(default: {study['fewshot_lr_factor']:g})")
    r.add_argument("--few-shot-parent-epochs", type=non_negative_int, metavar="N",
                   help="few-shot parent: a SPOS supernet of this many epochs (default: half of --supernet-epochs, "
                        f"at least 1: {study['fewshot_parent_epochs']} at the default {study['supernet_epochs']}, "
                        f"so the parent and the default split's 5 parts x {study['fewshot_epochs']} epochs train as "
                        "long as the SPOS row); 0: split the SPOS row's trained supernet")
    r.add_argument("--few-shot-split-epoch", type=positive_int, default=None, metavar="N",
                   help="instead: split SPOS at this epoch; the parts finish its schedule (no restart; excludes "
                        "--few-shot-epochs, --few-shot-lr-factor and --few-shot-parent-epochs) (default: none)")
    r.add_argument("--few-shot-shared-seed", action=argparse.BooleanOptionalAction, default=True,
                   help="every few-shot sub-supernet trains with the same batches and augmentation (not seed + i)")
    r.add_argument("--workers", type=positive_int, default=2,
                   help="processes for the ground-truth trainings and the supernet seeds")
    r.add_argument("--threads", type=positive_int, default=1, metavar="N", help="torch threads per process")
    r.add_argument("--out", default="nasforge-runs/oneshot-study",
                   help="folder for JSON, table and plots (an earlier report there is refused: see --overwrite)")
    r.add_argument("--overwrite", action="store_true",
                   help="replace an earlier report in --out (its stored ground truth is reused either way)")
    add_format_argument(r, note="csv: a row per scorer, as ranking.json's rows; with csv or json the progress "
                                "lines go to stderr")
    r.set_defaults(func=run_study)


class _Typed(argparse.Action):
    """Store the value, and as ``<dest>_option`` the option name typed (an alias's errors name the alias)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        setattr(namespace, self.dest, values)
        setattr(namespace, f"{self.dest}_option", option_string)


def _data_arguments(p: argparse.ArgumentParser) -> None:
    """``--data``, ``--data-dir``, ``--noise`` and ``--val-fraction`` of ``oneshot train`` (study_data's defaults)."""
    from ..oneshot.study import split_defaults

    split = split_defaults()
    p.add_argument("--data", default="digits-hard", metavar="NAME", help=DATA_HELP)
    p.add_argument("--data-dir", metavar="PATH", help="folder or file for --data (default: none; digits is embedded)")
    p.add_argument("--noise", type=non_negative_float, metavar="NUMBER",
                   help=f"pixel noise std of digits-hard (default: {split['noise']:g})")
    p.add_argument("--val-fraction", type=fraction, metavar="NUMBER",
                   help=f"validation share of the images (default: {split['val_fraction']:g}; not for data holding "
                        "its own validation split)")
    add_augment_argument(p, "of the supernet (recorded: networks retrained after a search use it too)")


FEW_SHOT_LR_FACTOR = 0.5
"""``oneshot train --few-shot-split``: the sub-supernets restart the cosine schedule at this times ``--lr``."""
FEW_SHOT_EPOCHS = 8
"""``oneshot train --few-shot-split``: the further epochs of each sub-supernet unless ``--few-shot-epochs``."""
TRAIN_FLAGS = ("method", "epochs", "batch_size", "lr", "weight_decay", "sampling", "order", "arch_lr",
               "warmup_epochs", "path_dropout", "path_dropout_schedule", "sdarts", "sdarts_epsilon",
               "early_stop_skips", "seed")
"""OneShotConfig fields that ``oneshot train`` sets from the option of the same name."""
STUDY_FLAGS = {"k": "--k", "gt_seeds": "--seeds", "finetune_steps": "--finetune-steps", "data": "--data",
               "data_dir": "--data-dir", "noise": "--noise", "augment": "--augment", "split_on": "--few-shot-split",
               "extra_tricks": "--tricks", "score_by": "--score-by", "supernet_width": "--supernet-width",
               "supernet_weight_decay": "--supernet-weight-decay", "supernet_epochs": "--supernet-epochs",
               "fewshot_split_epoch": "--few-shot-split-epoch", "fewshot_parent_epochs": "--few-shot-parent-epochs",
               "fewshot_epochs": "--few-shot-epochs", "fewshot_lr_factor": "--few-shot-lr-factor",
               "check_epochs": "--check-epochs", "out": "--out", "storage": "--storage"}
"""RankingConfig fields (and ``out``, ``storage``) as the ``oneshot study`` options that set them."""


def _flag(name: str) -> str:
    return STUDY_FLAGS.get(name, name)


def _train_flag(name: str) -> str:
    """The ``oneshot train`` option that sets data setting ``name`` (the test fraction is study_data's, no option)."""
    return "the test fraction" if name == "test_fraction" else "--" + name.replace("_", "-")


def _as_flags(message: str, fields: tuple[str, ...]) -> str:
    """``message`` with each of ``fields`` (a whole word, not part of another) written as its --option."""
    import re

    words = "|".join(sorted(fields, key=len, reverse=True))
    return re.sub(rf"(?<![\w-])({words})(?![\w-])", lambda m: "--" + m.group(1).replace("_", "-"), message)


def _split_decisions(text: str | None, space: Any, option: str = "--few-shot-split") -> list[str]:
    """The comma-separated decisions of ``text``; a UsageError naming ``option`` for an unknown or repeated one, or
    one with a single option."""
    from ..oneshot.base import check_splittable, decisions

    split_on = [d.strip() for d in (text or "").split(",") if d.strip()]
    names = [name for name, _ in decisions(space)]
    unknown = [d for d in split_on if d not in names]
    if unknown:
        from ..registry import did_you_mean

        raise UsageError(f"{option}: unknown decision(s) {', '.join(unknown)}{did_you_mean(unknown[0], names)}; "
                         f"choose from {', '.join(names)}")
    repeated = sorted({d for d in split_on if split_on.count(d) > 1})
    if repeated:
        raise UsageError(f"{option}: decision(s) {', '.join(repeated)} given twice; split on distinct decisions")
    check_splittable(space, split_on, option)
    return split_on


def run_train(args: argparse.Namespace) -> int:
    import torch

    from ..evaluators.training import held_fractions
    from ..models.layers import Norm
    from ..oneshot import (OneShotConfig, build_supernet, derive_argmax, is_differentiable, perturbation_select,
                           split_supernet, train_few_shot, train_supernet)
    from ..data.sources import check_out_of_data
    from ..oneshot.checkpoint import check_save_folder, data_fingerprint, save_supernet
    from ..oneshot.checks import check_split_options
    from ..oneshot.study import check_data_options, split_defaults, study_data

    torch.set_num_threads(args.threads)
    space = load_space(args)
    check_save_folder(not_a_file(args.out), args.overwrite, "--out", "--overwrite")  # before training
    check_out_of_data(args.out, "--out", args.data, args.data_dir)  # a supernet saved there would become a class
    check_data_options(args.data, args.data_dir, args.noise, _train_flag, strict_noise=True)
    held = held_fractions(args.data, args.data_dir).get("val_fraction") if args.val_fraction is not None else None
    if held is not None:
        raise UsageError(f"--val-fraction {args.val_fraction} does not apply to --data {args.data} {args.data_dir}: "
                         f"its validation split is {held}; leave it out")
    defaults = split_defaults()
    noise = defaults["noise"] if args.noise is None else args.noise
    val_fraction = defaults["val_fraction"] if args.val_fraction is None else args.val_fraction
    data_dir = None if args.data_dir is None else str(Path(args.data_dir).absolute())  # recorded: found from anywhere
    options = {"data_dir": data_dir, "noise": noise, "val_fraction": val_fraction, "seed": args.seed,
               **({"augment": args.augment} if args.augment is not None else {})}  # recorded where given
    check_split_options(options, _train_flag, data=args.data)
    if args.method != "spos" and args.warmup_epochs >= args.epochs:
        raise UsageError(f"--warmup-epochs {args.warmup_epochs} must be below --epochs {args.epochs}: the "
                         "architecture weights would never be updated")
    if args.derive is not None and args.method == "spos":
        raise UsageError("--derive applies to --method darts or gdas (SPOS derives nothing: search it with "
                         "'nasforge oneshot search')")
    if space.name == "model_space" and (args.C is not None or args.N is not None):
        raise UsageError("--C/--N: a model-space supernet is your module, which sets its own size; leave them out")
    if args.method != "spos" and (args.few_shot_split or "").strip(" ,"):  # before its decisions are checked
        raise UsageError("--few-shot-split trains sub-supernets with SPOS: use --method spos")
    split_on = _split_decisions(args.few_shot_split, space)
    derive = args.derive or "argmax"  # None: not given (SPOS refuses any value given)
    shared_seed = "--few-shot-shared-seed" if args.few_shot_shared_seed else "--no-few-shot-shared-seed"  # as typed
    unused = [flag for flag, value in (("--few-shot-epochs", args.few_shot_epochs),
                                       (shared_seed, args.few_shot_shared_seed)) if value is not None]
    if unused and not split_on:
        raise UsageError(f"{', '.join(unused)} appl{'y' if len(unused) > 1 else 'ies'} only with --few-shot-split")
    try:
        config = OneShotConfig(**{name: getattr(args, name) for name in TRAIN_FLAGS})
    except UsageError as exc:
        raise UsageError(_as_flags(str(exc), TRAIN_FLAGS)) from None
    try:
        data = study_data(args.data, **options)
    except (ValueError, FileNotFoundError) as exc:
        raise UsageError(f"--data {args.data}: {exc}") from None
    torch.manual_seed(args.seed)
    try:
        net = build_supernet(space, data.num_classes, data.in_channels, norm=Norm(args.norm, not args.affine_off),
                             drop_path=args.drop_path, C=args.C, N=args.N)  # None: the space's default size
    except ValueError as exc:
        message = _as_flags(str(exc), ("N", "drop_path"))
        where = f"--space-module {space.module}" if getattr(space, "module", None) else \
            f"--space-config {args.space_config}" if args.space_config and not message.startswith("--") else \
            f"--space {args.space or space.name}"  # a problem with the config's layers or stages names its file
        raise UsageError(f"{where}: {message}") from None
    try:
        record = train_supernet(net, data, config)
    except UsageError as exc:  # the checks that need the supernet (e.g. early_stop_skips against its decisions)
        raise UsageError(_as_flags(str(exc), TRAIN_FLAGS)) from None
    except FloatingPointError as exc:
        raise _diverged(exc, args.lr) from None
    records = [record.to_json()]
    ran = f"{config.epochs} epoch{'s' * (config.epochs > 1)}"
    if record.stopped_early_at is not None:
        ran = f"stopped early at epoch {record.stopped_early_at + 1} of {config.epochs}: " \
              f"{_as_flags(record.stop_reason, TRAIN_FLAGS)}"
    print(f"trained {type(net).__name__} ({config.method}, {ran}) in {record.train_seconds:.1f} s")
    for line in record.tricks:
        print(f"  trick: {line}")
    recorded = {"data": args.data, "data_options": options}
    if data_dir is not None:  # files can change (a built-in set cannot): scoring checks they did not
        recorded["fingerprint"] = data_fingerprint(data)
    derived = None
    if config.method != "spos" and is_differentiable(net):
        if derive == "pt":  # minutes of selection: the trained supernet is saved first, never lost
            save_supernet(net, args.out, {"data": recorded, "records": records, "derived": None, "derive": None},
                          overwrite=True)
            print(f"saved to {args.out}; deriving with DARTS-PT (one accuracy pass per option of each decision)")
            arch = perturbation_select(net, data, seed=args.seed, on_decision=_pt_progress)[0]
        else:
            arch = derive_argmax(net)
        derived = space.format(arch)
        print(f"derived ({derive}): {derived}")
    if split_on:
        from dataclasses import replace

        net = split_supernet(net, split_on)
        epochs = FEW_SHOT_EPOCHS if args.few_shot_epochs is None else args.few_shot_epochs
        lr = config.lr * FEW_SHOT_LR_FACTOR
        try:
            extra = train_few_shot(net, data, replace(config, epochs=epochs, lr=lr),
                                   shared_seed=args.few_shot_shared_seed is not False)
        except FloatingPointError as exc:
            raise _diverged(exc, args.lr) from None
        records += [r.to_json() for r in extra]
        print(f"few-shot: {len(extra)} sub-supernets trained {counted(epochs, 'more epoch')} at lr {lr:g} "
              f"({FEW_SHOT_LR_FACTOR:g} x --lr; {sum(r.train_seconds for r in extra):.1f} s)")
    meta = {"data": recorded, "records": records, "derived": derived,
            "derive": derive if derived is not None else None}  # how derived was obtained (recorded since 2026-12-07)
    folder = save_supernet(net, args.out, meta, overwrite=True)  # --out was checked before training
    print(f"saved to {folder}")
    return 0


def _pt_progress(done: int, total: int, entry: dict[str, Any]) -> None:
    """One line per DARTS-PT decision: how far the selection is."""
    print(f"  DARTS-PT {done}/{total}: {entry['decision']} -> {entry['chosen']}", flush=True)


def _diverged(exc: FloatingPointError, lr: float) -> UsageError:
    """The one-line error of a training whose loss stopped being finite."""
    return UsageError(f"--lr {lr:g}: {exc} (the loss is no longer finite); train again with a lower --lr; "
                      "nothing was saved")


def run_search(args: argparse.Namespace) -> int:
    folder, option = Path(args.supernet), args.supernet_option  # --supernet or its older name --checkpoint
    if not (folder / "supernet.json").is_file():  # said before the imports that need torch
        raise UsageError(f"{option} {args.supernet}: {str(folder)!r} holds no saved supernet (supernet.json "
                         "and supernet.pt)")
    from ..data.sources import check_storage_out_of_data
    from ..evaluators.supernet import SupernetEvaluator, check_supernet_strategy
    from ..exceptions import NasforgeError, StudyExistsError
    from ..experiment import Study
    from ..oneshot.checkpoint import CheckpointError
    from ..oneshot.study import SCORE_BY
    from ..experiment.storage.urls import absolute_sqlite_url, check_storage_url, storage_errors_as_usage
    from ..pipelines.search import NAME_RULE, noting_resume, valid_name

    if not valid_name(args.name):  # the rule of nasforge search's --name
        raise UsageError(f"--name {NAME_RULE}, got {args.name!r}")
    check_supernet_strategy(args.strategy, "--strategy")
    score = {**score_settings(args), "seed": args.seed}
    if args.storage is not None:
        check_storage_url(args.storage, "--storage")
        args.storage = absolute_sqlite_url(args.storage)  # the resume command it prints works from any directory
    options = {"data_dir": args.data_dir} if args.data_dir else None
    try:
        evaluator = SupernetEvaluator.from_checkpoint(folder, data=args.data, score=score, data_options=options,
                                                      latency_repeats=0)  # no column shows a latency
    except CheckpointError as exc:
        raise UsageError(f"{option} {args.supernet}: {exc}") from None
    except (ValueError, FileNotFoundError) as exc:
        given = " ".join(f"{flag} {value}" for flag, value in (("--data", args.data), ("--data-dir", args.data_dir))
                         if value) or "--data (the recorded data set)"
        raise UsageError(f"{given}: {exc}") from None
    scored = evaluator.spec()["kwargs"]  # the data set it scores on, and where its files are
    check_storage_out_of_data(args.storage, "--storage", scored["data"], scored["data_options"].get("data_dir"))
    space = evaluator.supernet.space
    try:
        with storage_errors_as_usage():  # a --storage that cannot be opened: one line, exit 2
            objective, direction = SEARCH_OBJECTIVES[args.score_by]
            study = Study(space, strategy=args.strategy, name=args.name, storage=args.storage, seed=args.seed,
                          objectives=objective, directions=direction)
    except StudyExistsError:
        raise UsageError(_study_exists(args.name, args.storage)) from None
    except (KeyError, ValueError) as exc:
        raise UsageError(f"--strategy {args.strategy}: {exc}") from None
    # an interrupted run stored in --storage is finished by nasforge resume: its command is printed
    with noting_resume(args.name, args.storage, usage_errors=False) if args.storage else contextlib.nullcontext():
        start = time.perf_counter()
        study.optimize(evaluator, n_trials=args.trials, evaluator_spec=evaluator.spec())  # a resume rebuilds it
    seconds = time.perf_counter() - start  # the whole evaluation (sizes too), not the scorer's part of it
    done = sorted((t for t in study.trials if t.state.name == "COMPLETE"), key=lambda t: SCORE_BY[args.score_by](
        t.metrics), reverse=True)  # best first, by the objective searched
    if not done:  # nothing to list: a failure (exit 1), not an empty table
        raise NasforgeError(f"no architecture was scored: all {counted(len(study.trials), 'trial')} failed (the "
                            "warning above gives the first error)")
    rows = [{"rank": i + 1, "val_acc": t.metrics["val_acc"], "val_loss": t.metrics["val_loss"],
             "params": t.metrics.get("params"), "arch": space.format(t.arch)} for i, t in enumerate(done[:args.top])]
    summary = {"trials": len(done), "score_by": args.score_by,
               "archs_per_second": evaluator.scorer.n_scored / seconds if seconds else None, "top": rows}
    _print(summary, rows, args.format)
    return 0


SEARCH_OBJECTIVES = {"loss": ("val_loss", "minimize"), "acc": ("val_acc", "maximize")}
"""``oneshot search --score-by``: the study's objective and direction."""


def _study_exists(name: str, storage: str) -> str:
    """The error for a study ``name`` already in ``storage``: ``nasforge resume`` is offered only while it has
    trials left to run (a finished study has nothing to resume)."""
    import shlex

    from ..exceptions import NasforgeError
    from ..experiment import Study
    from ..experiment.identity import STALE_AFTER
    from ..experiment.storage import open_storage
    from ..experiment.storage.display import display_url, without_password
    from ..pipelines.search import resume_command

    left: int | None = None  # unknown: not loadable here (e.g. a space this process cannot rebuild)
    try:
        study = Study.load(name, open_storage(storage, readonly=True))
        config = study.run_config
        left = study.work_left(config.get("stale_after", STALE_AFTER)) if config else 0
    except NasforgeError:
        pass
    message = f"study {name!r} already exists in {display_url(storage)}"
    if left:
        message += f"; to finish its {counted(left, 'trial')} left: {resume_command(name, storage)}; or"
    else:
        message += f"{' and is finished' if left == 0 else ''}; to run a new search,"
    return (f"{message} pass another --name or another --storage (nasforge delete {shlex.quote(name)} --storage "
            f"{shlex.quote(without_password(storage))} --yes removes it)")


def run_study(args: argparse.Namespace) -> int:
    from ..oneshot.study import (RankingConfig, check_data_options, format_table, run_ranking_study,
                                 scaled_fewshot_budget)
    from ..experiment.storage.urls import check_storage_url

    not_a_file(args.out)
    if args.storage is not None:
        check_storage_url(args.storage, "--storage")
    if args.few_shot_split_epoch is not None:
        given = [flag for flag, value in (("--few-shot-parent-epochs", args.few_shot_parent_epochs),
                                          ("--few-shot-epochs", args.few_shot_epochs),
                                          ("--few-shot-lr-factor", args.few_shot_lr_factor)) if value is not None]
        if given:
            raise UsageError(f"{', '.join(given)}: not used with --few-shot-split-epoch (the parts inherit SPOS's "
                             "weights at that epoch and finish its schedule); give one or the other")
    check_data_options(args.data, args.data_dir, args.noise, _flag, strict_noise=True)  # any --noise given
    tricks = tuple(t.strip() for t in args.tricks.split(",") if t.strip())
    try:
        checks = tuple(int(e) for e in args.check_epochs.split(",") if e.strip())
    except ValueError:
        raise UsageError(f"--check-epochs: expected comma-separated epochs, got {args.check_epochs!r}") from None
    if any(e < 1 or e == args.epochs for e in checks):
        raise UsageError(f"--check-epochs: each must be a positive number of epochs other than --epochs, "
                         f"got {checks}")
    optional = {"noise": args.noise, "fewshot_epochs": args.few_shot_epochs,
                "fewshot_lr_factor": args.few_shot_lr_factor, "fewshot_parent_epochs": args.few_shot_parent_epochs}
    given = {k: v for k, v in optional.items() if v is not None}  # the others keep RankingConfig's defaults,
    if args.few_shot_split_epoch is None:  # but the few-shot budget follows --supernet-epochs
        given = {**scaled_fewshot_budget(args.supernet_epochs), **given}
    if "fewshot_parent_epochs" in given:  # 0: split the SPOS row's trained supernet
        given["fewshot_parent_epochs"] = given["fewshot_parent_epochs"] or None
    cfg = RankingConfig(data=args.data, data_dir=args.data_dir, k=args.k, gt_seeds=args.seeds,
                        gt_epochs=args.epochs, check_epochs=checks, C=args.C, N=args.N,
                        supernet_width=args.supernet_width, supernet_weight_decay=args.supernet_weight_decay,
                        score_by=args.score_by,
                        supernet_epochs=args.supernet_epochs, finetune_steps=args.finetune_steps,
                        split_on=tuple(d.strip() for d in args.few_shot_split.split(",") if d.strip()),
                        extra_tricks=tricks, seed=args.seed, supernet_seed=args.supernet_seed,
                        supernet_seeds=args.supernet_seeds, fewshot_split_epoch=args.few_shot_split_epoch,
                        fewshot_shared_seed=args.few_shot_shared_seed, workers=args.workers, threads=args.threads,
                        augment=args.augment, **given)
    as_data = args.format != "table"  # stdout holds the JSON or CSV alone; the progress lines go to stderr
    try:
        result = run_ranking_study(cfg, args.out, storage=args.storage,
                                   log=functools.partial(print, file=sys.stderr, flush=True) if as_data else print,
                                   overwrite=args.overwrite, label=_flag)
    except KeyboardInterrupt as exc:  # the trainings done are stored: say where and how to go on
        default = Path(args.out) / "ground_truth.db"
        if args.storage is not None or default.is_file():
            where = f"--storage {args.storage}" if args.storage is not None else str(default)
            exc.add_note(f"the ground-truth trainings done so far are stored in {where}; rerun the same command "
                         "to reuse them")
        raise
    if args.format == "json":
        print(json.dumps(result.to_json(), indent=1, allow_nan=False))
    elif args.format == "csv":  # a nested value (a row's fav_ops) as a JSON cell
        rows = [{k: json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v for k, v in row.items()}
                for row in result.to_json()["rows"]]
        print_rows(rows, "csv")
    else:
        print(format_table(result))
        prune = result.pruning
        print(f"pruning each edge's lowest-scored op keeps {prune['archs_left']} archs, best "
              f"{prune['best_left']:.1f}% (random pruning: {prune['random_best_left']:.1f}%, "
              f"all: {prune['best_overall']:.1f}%)")
        print(f"wrote {Path(args.out) / 'ranking.json'}, ranking.md, ranking_tau.png, ranking_scatter.png")
    return 0


def _print(summary: dict[str, Any], rows: list[dict[str, Any]], fmt: str) -> None:
    if fmt == "json":
        print(json.dumps(json_safe(summary), indent=1, allow_nan=False))
        return
    if fmt == "csv":
        print_rows(rows, "csv")
        return
    print(f"{summary['trials']} architectures scored ({summary['archs_per_second'] or 0:.1f} archs/s), ranked by "
          f"val {summary['score_by']}")
    print(f"{'rank':>4}  {'val_acc':>7}  {'val_loss':>8}  {'params':>8}  architecture")
    for r in rows:
        params = f"{r['params'] / 1e3:.1f}k" if r["params"] is not None else "-"
        print(f"{r['rank']:>4}  {r['val_acc']:6.2f}%  {r['val_loss']:8.4f}  {params:>8}  {r['arch']}")
