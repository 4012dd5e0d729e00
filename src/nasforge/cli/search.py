"""``nasforge search``: the two-stage main job (:mod:`nasforge.pipelines.search`) from the command line."""

from __future__ import annotations

import argparse

from ..exceptions import UsageError
from ..extras import check_installed
from ..pipelines.search import OBJECTIVES, SearchConfig, choose_for_retraining, parse_objectives
from .oneshot import add_augment_argument
from .options import (PRUNER_METAVAR, add_score_arguments, add_space_arguments, json_object,
                      load_space, non_negative_int, not_a_file, parse_pruner, positive_int, positive_seconds,
                      score_settings)
from .output import job_console

__all__ = ["choose_for_retraining", "job_console", "parse_objectives", "register", "run"]

MULTI_OBJECTIVE_STRATEGIES = ("mo_evolution", "mo_random", "nsga2", "parego", "ts_hvi", "qnehvi")
"""The multi-objective strategies ``--help`` lists (the registry's, without aliases; kept here so that the help
needs no import of the strategies)."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="multi-objective NAS with real training (search, then retrain the front)",
                       description="Search a space at low fidelity on real data, then retrain the Pareto front at "
                                   "full fidelity, save the retrained networks and report test accuracy, "
                                   "parameters, FLOPs and latency. An interrupted search is finished by "
                                   "`nasforge resume NAME --storage URL`.")
    add_space_arguments(p, default_help="nb201; with --evaluator supernet the supernet's space")
    p.add_argument("--data", metavar="NAME",
                   help="digits (embedded), cifar10, cifar100, npz or folder; with --evaluator supernet also "
                        "digits-hard (default: digits; with --evaluator supernet the data set the supernet "
                        "was trained on, with its recorded split and noise)")
    p.add_argument("--data-dir", metavar="PATH",
                   help="folder (CIFAR batches, image folder) or .npz file for --data (default: none; "
                        "digits is embedded)")
    add_augment_argument(p, "of both stages (with --evaluator supernet: the one the supernet recorded; refused "
                            "with --evaluator supernet and --retrain 0, which train nothing)")
    p.add_argument("--objectives", default="val_acc:max,params:min", metavar="METRIC[:max|:min][,...]",
                   help=f"comma-separated metric[:max|:min] (or :maximize|:minimize); metrics: {', '.join(OBJECTIVES)}")
    p.add_argument("--strategy", default="mo_evolution", metavar="NAME",
                   help="search strategy (default: mo_evolution); two or more --objectives need a multi-objective "
                        f"one: {', '.join(MULTI_OBJECTIVE_STRATEGIES)} (ts_hvi: exactly 2), or random or grid (no "
                        "--constraints; they read no scores); one objective takes any strategy but ts_hvi and qnehvi "
                        "(e.g. evolution, random, tpe, hyperband); every strategy: docs/strategies.md")
    p.add_argument("--trials", type=positive_int, default=60, help="search trials in stage 1")
    p.add_argument("--timeout", type=positive_seconds, default=None, metavar="SECONDS",
                   help="time limit of stage 1 in seconds (default: none)")
    p.add_argument("--workers", type=positive_int, default=2, help="parallel worker processes")
    p.add_argument("--threads", type=positive_int, default=None, metavar="N",
                   help="torch threads per worker (default: 1, the fastest where other jobs share the cores; "
                        "to use more cores, raise --workers)")
    p.add_argument("--storage", metavar="URL", help="study storage URL (default: sqlite:///<out>/study.db)")
    p.add_argument("--out", default=None, help="output folder (default: ./nasforge-runs/<name>)")
    p.add_argument("--name", default=None, metavar="NAME", help="study name (default: search-<space>-<data>-<time>)")
    p.add_argument("--retrain", type=non_negative_int, default=5, metavar="N",
                   help="architectures retrained in stage 2 (0 skips)")
    p.add_argument("--search-epochs", type=positive_int, metavar="N",
                   help="epochs per search trial (default: per-space preset; a multi-fidelity strategy whose budget "
                        "is epochs, its default fidelity, chooses them: set its max_budget in --strategy-kwargs)")
    p.add_argument("--final-epochs", type=positive_int, metavar="N",
                   help="epochs of the final retraining (default: per-space preset; refused with --retrain 0)")
    p.add_argument("--pruner", default=None, metavar=PRUNER_METAVAR,
                   help="stop weak search trials early on their validation curve (needs --search-epochs 2 or more): "
                        "median, asha, curve (learning-curve extrapolation; needs --search-epochs 5 or more), a JSON "
                        "object naming one with its settings, e.g. '{\"name\": \"asha\", \"max_resource\": 27}', "
                        "or none (default: none; it judges the first objective only, so it can cut cheap but less "
                        "accurate networks)")
    p.add_argument("--constraints", default="", metavar="'METRIC <= NUMBER,...'",
                   help="comma-separated; the front and the retrains keep only architectures that satisfy them, "
                        "e.g. 'params <= 200000'; none does: nothing is retrained, exit 1 (multi-objective "
                        "strategies; ts_hvi and qnehvi check a params bound before proposing)")
    p.add_argument("--strategy-kwargs", default="{}", metavar="JSON",
                   help="JSON object of the strategy's parameters, recorded with the study, e.g. "
                        "'{\"population_size\": 30}' for nsga2 or '{\"gain\": \"pnd\"}' for ts_hvi")
    p.add_argument("--seed", type=non_negative_int, default=0,
                   help="seed of the data split, weights and search (with --evaluator supernet: the supernet's "
                        "recorded split is kept)")
    p.add_argument("--evaluator", default="training", choices=("training", "supernet"),
                   help="stage 1: train every trial, or score it with a saved supernet (needs --supernet)")
    p.add_argument("--supernet", metavar="FOLDER",
                   help="supernet saved by 'nasforge oneshot train' (default: none; needed with --evaluator supernet)")
    add_score_arguments(p, training="; with --evaluator training: inherited (default: the running statistics "
                                    "training leaves) or recalibrate (re-estimated in one pass over the training "
                                    "split before each validation of a search trial, which takes the scores of "
                                    "networks trained about 1 epoch off chance level: docs/training.md)")
    p.add_argument("--max-crash-reruns", type=non_negative_int, default=3, metavar="N",
                   help="re-run a trial whose process died (the run was killed) at most N times, then it is FAILED; "
                        "recorded, and kept by 'nasforge resume' unless given there")
    p.add_argument("--no-progress", action="store_true", help="no live display of the trials")
    p.set_defaults(func=run)


def _option(field: str) -> str:
    return "--" + field.replace("_", "-")


def run(args: argparse.Namespace) -> int:
    # every extra a run needs, named in one line before any work: training, its stored study, report.html
    # psycopg 3 (the postgres extra) only where the URL names it: a plain postgresql:// URL takes SQLAlchemy's default
    # driver, which depends on its version (the storage names a missing one)
    server = ("psycopg",) if str(args.storage).startswith("postgresql+psycopg://") else ()
    check_installed(("torch", "sqlalchemy", "plotly", *server), "a search (its training, stored study and report)")
    try:
        objectives, directions = parse_objectives(args.objectives)
    except UsageError as exc:
        raise UsageError(f"--objectives: {exc}") from None
    constraints = [c.strip() for c in args.constraints.split(",") if c.strip()]
    if args.constraints.strip() and not constraints:
        raise UsageError(f"--constraints: no constraint in {args.constraints!r}; write 'METRIC <= NUMBER,...'")
    if args.out is not None:
        not_a_file(args.out)
    score, bn_mode = {}, None
    if args.evaluator != "supernet":  # its --bn-mode is how trials validate (SearchConfig.bn_mode)
        bn_mode, supernet_only = args.bn_mode, [k for k in ("recal_batches", "finetune_steps") if getattr(args, k)
                                                is not None]
        if supernet_only:
            raise UsageError(f"{', '.join(_option(k) for k in supernet_only)}: appl"
                             f"{'y' if len(supernet_only) > 1 else 'ies'} to --evaluator supernet only (how the "
                             "supernet scores)")
    else:
        score = score_settings(args)
    pruner = None if args.pruner is None else parse_pruner(args.pruner, strategy_option="--strategy", first_step=1)
    named = any(getattr(args, flag, None) for flag in ("space_given", "space_config", "space_module"))
    config = SearchConfig(data=args.data, data_dir=args.data_dir, objectives=objectives, directions=directions,
                          strategy=args.strategy, trials=args.trials, timeout=args.timeout, workers=args.workers,
                          threads=args.threads, storage=args.storage, out=args.out, name=args.name,
                          retrain=args.retrain, search_epochs=args.search_epochs, final_epochs=args.final_epochs,
                          pruner=pruner, seed=args.seed, space=args.space if named else None,
                          evaluator=args.evaluator, supernet=args.supernet, supernet_score=score or None,
                          max_crash_reruns=args.max_crash_reruns,
                          constraints=constraints, augment=args.augment, bn_mode=bn_mode,
                          strategy_kwargs=json_object(args.strategy_kwargs, "--strategy-kwargs"))
    config.validate(label=_option)
    from ..pipelines.search import run_search

    # a named space is built here (a model space for the data the search trains on: --data left out, digits or the
    # supernet's own); none named: run_search's rule (the supernet's own with --evaluator supernet, else nb201)
    space = load_space(argparse.Namespace(**{**vars(args), "data": config.resolved().data})) if named else None

    run_search(config, space=space, console=job_console(), progress=not args.no_progress, out_name="--out")
    return 0
