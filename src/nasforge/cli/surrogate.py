"""``nasforge surrogate fit | eval | info``: fit, check and describe surrogate benchmarks."""

from __future__ import annotations

import argparse
import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

from ..writes import is_matplotlib_png, json_starting
from . import UsageError
from .options import (add_table_arguments, arch_column, built_predictor, direction_note, json_object,
                      load_space, load_table, metric_dataset, non_negative_int, not_a_file, note_inferred, out_dir,
                      positive_int, read_table_arg, refuse_repeated, registered_names)
from .output import add_format_argument, json_safe, print_rows

EVAL_OUTPUTS = {"fidelity.json": json_starting(rb'"surrogate":'), "fidelity_regret.png": is_matplotlib_png}
"""The files ``surrogate eval`` writes, each with how an earlier run's is recognised (any other file of their names
is refused)."""
FEW_HELD_OUT = 30  # fewer held-out rows give rank correlations too noisy to trust (KT's std error > 0.1)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("surrogate", help="surrogate benchmarks: fit one on a table, check its fidelity, describe it",
                       description="Fit, evaluate and inspect surrogate benchmarks (versioned artifact folders).")
    commands = p.add_subparsers(dest="surrogate_command", metavar="SUBCOMMAND", required=True)

    f = commands.add_parser("fit", help="fit a surrogate on a table (or a study's exported trials) and save it",
                            description="Fit one predictor per metric, report held-out metrics and write an "
                                        "artifact folder (manifest.json + models in safe formats, with SHA-256 "
                                        "checksums). --table may also be a study's trials CSV (nasforge trials "
                                        "--format csv): its COMPLETE search-stage trials at their highest fidelity are "
                                        "used (a note says what was left out).")
    add_table_arguments(f, dataset_default_help="the one the first of --metrics names (cifar100 for "
                                                    "cifar100-val,imagenet-val) where no metric is val_acc or "
                                                    "test_acc, else cifar10")
    f.add_argument("--metrics", default="val_acc", metavar="METRIC[,METRIC]", help="comma-separated metrics to model")
    f.add_argument("--model", default="lgb", metavar="NAME", help="predictor name (see nasforge predictors eval)")
    f.add_argument("--params", default="{}", metavar="JSON", help="JSON object of predictor constructor arguments")
    f.add_argument("--noise", default="none", metavar="none|seeds|NUMBER",
                   help="noise model: 'none', 'seeds' (learned from <metric>_seed<k> columns) or a standard deviation")
    f.add_argument("--holdout", type=float, default=0.1, metavar="NUMBER",
                   help="fraction in [0, 1) held out to measure the model")
    f.add_argument("--seed", type=non_negative_int, default=0, help="seed of the hold-out split and the model")
    f.add_argument("--artifact-version", default="1.0", type=_artifact_version, metavar="VERSION",
                   help="version in the artifact name (<space>-<model>-v<version>, <space>-<dataset>-<model>-"
                        "v<version> for a data set other than cifar10): letters, digits and . _ + -, "
                        "starting with a letter or digit")
    f.add_argument("--out", required=True, help="new folder for the artifact (one holding a surrogate is refused: "
                                                "see --overwrite)")
    f.add_argument("--overwrite", action="store_true",
                   help="replace the surrogate in --out (once the new one is saved; a folder holding other files "
                        "too is still refused)")
    f.set_defaults(func=run_fit)

    e = commands.add_parser("eval", help="fidelity report of a surrogate against a table",
                            description="(a) surrogate vs one training seed against the other seeds' mean (tables "
                                        "with per-seed columns); (b) regret curves of strategies on the surrogate "
                                        "vs on the table.")
    e.add_argument("artifact", metavar="ARTIFACT", help="surrogate artifact folder")
    add_table_arguments(e, space_default=None, space_default_help="the surrogate's own",
                        dataset_default_help="the one the surrogate was fitted on, else cifar10")
    e.add_argument("--metric", metavar="METRIC", help="metric to check (default: the surrogate's first)")
    e.add_argument("--strategies", default="evolution,random", metavar="NAME[,NAME]", help="comma-separated strategies")
    e.add_argument("--seeds", type=positive_int, default=5, help="runs (seeds 0..N-1) per strategy")
    e.add_argument("--trials", type=positive_int, default=100, help="evaluations per run")
    e.add_argument("--direction", default=None, type=str.lower, choices=["maximize", "minimize", "max", "min"],
                   help="of --metric in the regret check (minimize a loss, latency or time; default: as nasforge "
                        "bench, from its name: minimize a name with a part loss or error, with a note saying so, else "
                        "maximize; max/min spell the same)")
    e.add_argument("--noisy", action="store_true", help="search the surrogate with noisy draws")
    e.add_argument("--other-table", action="store_true",
                   help="score against a table other than the one the surrogate was fitted on (refused otherwise; a "
                        "surrogate fitted on a study's trials is scored against any table of its space without it)")
    e.add_argument("--out", default="surrogate-eval",
                   help="folder for fidelity.json and fidelity_regret.png (an earlier run's outputs there are "
                        "refused: see --overwrite)")
    e.add_argument("--overwrite", action="store_true", help="replace an earlier run's outputs in --out")
    e.set_defaults(func=run_eval)

    i = commands.add_parser("info", help="describe a surrogate (manifest and held-out scores)",
                            description="Describe a surrogate artifact folder (checked as surrogate eval loads "
                                        "it): its name, space, training data and library versions, and each "
                                        "metric's predictor, held-out scores (KT, R2, MAE) and noise model.")
    i.add_argument("artifact", metavar="ARTIFACT", help="surrogate artifact folder")
    add_format_argument(i)
    i.set_defaults(func=run_info)


def _artifact_version(text: str) -> str:
    """``--artifact-version``: a version that keeps the artifact name one plain word (no path, never empty)."""
    from ..benchmarks.surrogate import check_word

    try:
        return check_word("the version", text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("the version ")) from None


def _fitted_dataset(args: argparse.Namespace, surrogate, metric: str) -> tuple[str | None, Any, bool | None]:
    """The NAS-Bench-201 data set of the table to score (``--table``, or the default one) that holds the very data
    the surrogate was fitted on (its manifest's SHA-256), however the table is named; tried first is the data set
    its training-data source names (and taken where the manifest has no SHA-256). None when no data set matches
    or it was fitted on a study's trials. Also returns the table of the data set ``load_table`` reads with it (the
    one that matched; with none, the default data set's where it was read, else None) and ``fitted_on`` of that
    table, so the caller neither reads the table nor hashes its data again. ``metric``: the one the run reads
    (a gap in another column is ignored, as in ``surrogate fit``)."""
    from ..benchmarks import read_table
    from .options import DATASETS, DEFAULT_DATASET

    source = str(surrogate.manifest["training_data"].get("source"))
    if source.startswith("study "):  # a study's trials: their own metric columns, no data set to pick
        return None, None, None
    named = [d for d in DATASETS if source.endswith((f"-{d}", f" ({d})"))]
    frame = read_table(args.table, text_columns=(arch_column(args),)) if args.table else None
    default: tuple[Any, bool | None] = (None, None)
    for dataset in [*named, *(d for d in DATASETS if d not in named)]:
        try:
            table = load_table(argparse.Namespace(**{**vars(args), "dataset": dataset}), frame=frame,
                               space=surrogate.space, reads=[metric])
        except UsageError:  # a --table without this data set's columns
            continue
        fitted = surrogate.fitted_on(table)
        if fitted is None:  # a manifest without the data's SHA-256: as its source names it
            chosen = named[0] if named else None
            return chosen, table if dataset == (chosen or DEFAULT_DATASET) else None, None
        if fitted:
            return dataset, table, True
        if dataset == DEFAULT_DATASET:  # what load_table reads when no data set matches
            default = (table, fitted)
    return None, *default


def _noise(text: str) -> str | float | None:
    if text == "none":
        return None
    if text == "seeds":
        return text
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"--noise must be 'none', 'seeds' or a standard deviation, got {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise UsageError(f"--noise must be a finite, non-negative standard deviation, got {text}")
    return value


def run_fit(args: argparse.Namespace) -> int:
    from ..benchmarks import SurrogateBenchmark
    from ..benchmarks.surrogate import MANIFEST_FILE, check_metric_columns, staging_place
    from ..predictors import available_predictors, predictor_class
    from ..predictors.registry import refuse_seed
    from ..writes import check_folder, new_folders_removed_on_failure

    params = json_object(args.params, "--params")
    refuse_seed(params, "--params", "use --seed (it seeds the hold-out split and the models)")
    if args.model not in available_predictors():
        from ..registry import did_you_mean

        raise UsageError(f"--model: unknown predictor {args.model!r}"
                         f"{did_you_mean(args.model, available_predictors())}; choose from {available_predictors()}")
    if not 0.0 <= args.holdout < 1.0:
        raise UsageError(f"--holdout must be a fraction in [0, 1), got {args.holdout}")
    noise = _noise(args.noise)
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    if not metrics:
        raise UsageError(f"--metrics names no metric: {args.metrics!r}")
    refuse_repeated(metrics, "--metrics", "metric")
    not_a_file(args.out)
    replacing = args.overwrite and (Path(args.out) / MANIFEST_FILE).exists()
    _check_out(args.out, replacing)  # before fitting: a folder in use is refused at once
    frame = read_table_arg(args, "surrogate fit fits a surrogate on a table or a study's trials",
                           lambda artifact: f"it is fitted already: describe it with `nasforge surrogate info "
                                            f"{artifact}`, or check it against a table with `nasforge surrogate "
                                            f"eval {artifact}`")
    trials = frame is not None and "state" in frame.columns  # a study's exported trials
    if trials:
        if args.dataset is not None:
            raise UsageError(f"--dataset {args.dataset}: --table {args.table} is a study's trials, whose metric "
                             "columns are used as they are; leave --dataset out")
        column = arch_column(args)
        if column not in frame.columns:
            raise UsageError(f"--arch-column: column {column!r} is not in --table {args.table}")
        space, data = load_space(args, table_archs=frame[column].astype(str), announce=False), frame
        available = [str(c) for c in frame.columns]
    else:
        if args.dataset is None and not {"val_acc", "test_acc"} & set(metrics):  # those read --dataset's columns
            args.dataset = metric_dataset(args, metrics[0], "--metrics", frame)  # as bench's objective: name, source
        data = load_table(args, frame=frame, reads=metrics)
        space, available = data.space, data.metrics
    missing = [m for m in metrics if m not in available]
    if missing:
        from ..registry import did_you_mean

        raise UsageError(f"--metrics: {missing} not in the table{did_you_mean(missing[0], available)}; "
                         f"available: {available}")
    if trials:
        check_metric_columns(frame[frame["state"] == "COMPLETE"], metrics, f"--metrics: --table {args.table}")
    if not predictor_class(args.model).has_file_format():  # before asking for a package it needs
        _refuse_unsaveable(args.model)
    probe = built_predictor(args.model, space, params)
    if not probe.can_save():
        _refuse_unsaveable(args.model, probe.unsaveable_members() if args.model == "ensemble" else [])
    place = staging_place(Path(os.path.realpath(args.out)), replacing)  # --out (a link's target), or beside it
    with new_folders_removed_on_failure(place):  # a failed run leaves no folder it made; nothing else is touched
        check_folder(place, f"--out {args.out}")
        note_inferred(args, space)  # now that nothing refuses the fit
        surrogate = SurrogateBenchmark.fit(space, data, metrics=metrics, model=args.model, model_params=params,
                                           noise_model=noise, holdout=args.holdout, seed=args.seed,
                                           version=args.artifact_version, arch_column=arch_column(args),
                                           source=str(args.table) if trials else None,
                                           dataset=None if trials else args.dataset)
        _check_out(args.out, replacing, meanwhile=True)
        try:
            surrogate.save(args.out, overwrite=replacing)
        except UsageError:
            raise
        except OSError as exc:  # e.g. a full disk: said in one line
            raise UsageError(f"--out {args.out}: cannot save the surrogate ({exc.strerror or exc})") from None
    if surrogate.manifest["training_data"].get("selected"):
        print(f"note: {surrogate.manifest['training_data']['selected']}")
    print(f"fitted {surrogate.name} on {surrogate.manifest['training_data']['train_rows']} rows; wrote {args.out}")
    _print_metric_table(surrogate.manifest)
    return 0


def _check_out(out: str, replacing: bool, meanwhile: bool = False) -> None:
    """``surrogate fit --out`` must be new or empty, or (``replacing``) hold a surrogate and nothing else; else a
    UsageError. ``meanwhile``: checked again once the fit is done, so a refusal says the folder changed during it."""
    from ..benchmarks.surrogate import check_new_folder, check_replaceable

    try:
        check_replaceable(out) if replacing else check_new_folder(out, "--overwrite")
    except UsageError as exc:
        said = " (it changed while the surrogate was fitted: another run saved there?; it was left as it is)"
        raise UsageError(f"--out: {exc}{said if meanwhile else ''}") from None


def refuse_artifact_out(out: str) -> None:
    """A UsageError when ``--out`` is, or lies inside, a surrogate artifact, a saved predictor or a saved network:
    results written there would change it (an artifact is replaced whole, so it holds nothing else)."""
    from ..predictors.base import enclosing_artifact

    found = enclosing_artifact(out, itself=True)
    if found is not None:
        where = "is" if Path(os.path.abspath(out)) == found[1] else "lies inside"
        raise UsageError(f"--out {out} {where} {found[0]} {found[1]}; write the results into a folder of their own")


def _refuse_unsaveable(model: str, members: list[str] | None = None) -> None:
    """The UsageError of a --model (or of the ``members`` of an ensemble) that has no safe file format."""
    what = (f"ensemble member(s) {', '.join(map(repr, sorted(set(members))))} have" if members
            else "this predictor has")
    raise UsageError(f"--model {model}: {what} no safe file format (pickle would be needed), so the surrogate "
                     "cannot be saved; use xgb, lgb, knn, gin, mlp or an ensemble of those")


def run_eval(args: argparse.Namespace) -> int:
    from ..analysis.harness import check_strategies, check_trials, coverage, refuse_repeats
    from ..analysis.surrogate_fidelity import (check_same_space, fidelity_report, plot_regret_fidelity,
                                               refuse_multi_fidelity_strategies)
    from ..benchmarks import SurrogateBenchmark
    from ..benchmarks.tabular import objective_direction
    from ..pareto import as_direction
    from ..spaces import NASBench201Space
    from ..spaces.base import foreign_form_retold
    from ..strategies import available_strategies
    from ..writes import check_outputs, new_folders_removed_on_failure, write_atomic

    if args.direction is not None:  # given: max/min spelled out now; left out, --metric's name decides below
        args.direction = as_direction(args.direction)
    strategies = registered_names(args.strategies, "--strategies", "strategy", "strategies", available_strategies())
    refuse_repeats(strategies, "--strategies")  # as bench: one row each
    refuse_multi_fidelity_strategies(strategies, "--strategies")  # as the library, named as the option
    # a user's own space (--space-module) is registered nowhere: it stands for the manifest's space of its name
    surrogate = SurrogateBenchmark.load(args.artifact, load_space(args, announce=False) if args.space_module else None)
    if args.space and args.space != surrogate.space.name:
        raise UsageError(f"--space {args.space}: surrogate {surrogate.name!r} models space {surrogate.space.name!r}")
    if args.metric is not None and args.metric not in surrogate.metrics:
        raise UsageError(f"--metric: {args.metric!r} is not modelled by {surrogate.name!r}; "
                         f"modelled: {surrogate.metrics}")
    metric = args.metric or surrogate.metrics[0]
    note = direction_note(metric, args.direction, "--metric")
    args.direction = objective_direction(metric, args.direction)
    own_space = args.space or args.space_config or args.space_module
    table, fitted = None, None  # the table and its fitted_on, once known: read and hashed once per run
    if args.dataset is None and isinstance(surrogate.space, NASBench201Space):  # like --space and --metric
        args.dataset, table, fitted = _fitted_dataset(args, surrogate, metric)
    if args.table is None and not isinstance(surrogate.space, NASBench201Space):  # no default table to read
        raise UsageError(f"surrogate {args.artifact!r} is on the {surrogate.space.name} space: pass --table <a plain "
                         "table of that space>")
    if table is None or own_space:  # the space options read the table another way
        try:
            table, fitted = load_table(args, space=None if own_space else surrogate.space, reads=[metric]), None
        except UsageError as exc:  # the surrogate fixes the space: a table of another is the wrong table
            fixed = f"surrogate {surrogate.name!r} models space {surrogate.space.name!r}: pass a table of that space"
            raise UsageError(foreign_form_retold(str(exc), fixed)) from None
    if table.space.name != surrogate.space.name:
        raise UsageError(f"--space: the table is read as space {table.space.name!r} but surrogate {surrogate.name!r} "
                         f"models space {surrogate.space.name!r}")
    if own_space and surrogate.manifest.get("space_config") is None:  # an older manifest: no options recorded
        surrogate = SurrogateBenchmark.load(args.artifact, table.space)  # so the table's serve both sides
    try:  # the searches on both sides de-duplicate alike
        check_same_space(surrogate, table, "leave the space options out to read the table with the surrogate's")
    except UsageError as exc:
        raise UsageError(f"--space-config: {exc}") from None
    if fitted is None:  # not hashed yet (or a manifest without the SHA-256: None again, at no cost)
        fitted = surrogate.fitted_on(table)
    if args.other_table and fitted is True:  # e.g. --dataset left to the fitted data set
        raise UsageError(f"--other-table: table {table.name!r} is the one surrogate {surrogate.name!r} was fitted "
                         "on; name the other table with --table or --dataset")
    if fitted is False and not args.other_table:
        source = surrogate.manifest["training_data"].get("source")
        raise UsageError(f"surrogate {surrogate.name!r} was not fitted on the data of table {table.name!r} (its rows "
                         "and values differ from the training data's SHA-256 in the manifest; it was fitted on "
                         f"{source!r}): pass that table (--table/--dataset), or --other-table to score it against "
                         "this one")
    if metric not in table.metrics:
        from ..registry import did_you_mean

        raise UsageError(f"--metric: {metric!r} is not in table {table.name!r}{did_you_mean(metric, table.metrics)}; "
                         f"available: {table.metrics}")
    if args.noisy and not any(surrogate.noise.values()):
        raise UsageError(f"--noisy: surrogate {surrogate.name!r} has no noise model (fit it with --noise)")
    check_strategies(surrogate.space, strategies, option="--strategies")  # a missing package or objective count
    distinct, total = coverage(table)
    if distinct >= total:  # the regret check runs: as bench, no more evaluations than distinct architectures
        check_trials(args.trials, distinct, table)
    folder = not_a_file(args.out)
    refuse_artifact_out(args.out)
    earlier = check_outputs(folder, EVAL_OUTPUTS, args.overwrite, "--out", "surrogate eval")
    if note:
        print(note)
    with new_folders_removed_on_failure(args.out):
        out = out_dir(args.out)
        note_inferred(args, table.space)  # now that nothing refuses the run
        report = fidelity_report(surrogate, table, metric, strategies, args.seeds, args.trials, args.noisy,
                                 args.direction)
        # strict JSON, as every other JSON nasforge writes: an undefined score (constant values) is null, not NaN
        text = json.dumps(json_safe(report), indent=1, allow_nan=False)
        written = [write_atomic(out / "fidelity.json", text, "--out", follow=False)]
        if "regret" in report:  # every output saved before printing: a closed stdout loses nothing
            written.append(plot_regret_fidelity(report["regret"], out / "fidelity_regret.png"))
    for path in earlier:  # an earlier run's plot this run did not redraw would contradict fidelity.json
        if path not in written:
            path.unlink(missing_ok=True)
    for check, reason in report["skipped"].items():
        print(f"{check} check skipped: {reason}")
    if "seeds" in report:
        seeds = report["seeds"]
        print(f"(a) against the mean of the other seeds, {seeds['n_archs']} archs, {seeds['n_seeds']} seeds:")
        if not seeds["held_out"]:
            print("    (not held out: these archs may include the surrogate's training rows, so the scores flatter "
                  "it; fit with --holdout > 0 for out-of-sample scores)")
        undefined = False
        for label, key in (("surrogate", "surrogate_vs_other_seeds"), ("one seed", "one_seed_vs_other_seeds")):
            s = seeds[key]
            undefined |= not all(math.isfinite(s[k]) for k in ("mae", "r2", "kendall_tau"))
            print(f"    {label:>9}: MAE {_score(s['mae'])}  R2 {_score(s['r2'])}  KT {_score(s['kendall_tau'])}")
        if undefined:  # as surrogate info shows such a score
            print("    -: no score: the values or predictions are constant (null in fidelity.json)")
    if "regret" in report:
        runs = f"{args.seeds} run{'s' if args.seeds != 1 else ''}"
        print(f"(b) final regret after {args.trials} evaluations (mean of {runs}):")
        for name, curves in report["regret"]["strategies"].items():
            final = curves["final_regret"]
            print(f"    {name:>12}: table {final['table']:.3f}  surrogate {final['surrogate']:.3f}  "
                  f"surrogate pick on table {final['surrogate_true']:.3f}  mean |gap| {curves['mean_abs_gap']:.3f}")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _score(value: float) -> str:
    """A fidelity score at 3 decimals, ``-`` where it is undefined (NaN: constant values), as ``surrogate info``."""
    return f"{value:.3f}" if math.isfinite(value) else "-"


def run_info(args: argparse.Namespace) -> int:
    from ..benchmarks.surrogate import check_artifact, encoding_note
    from ..predictors.encodings import EncodingChangedWarning

    manifest, space, _ = check_artifact(args.artifact)  # describe only an artifact that eval would load
    note = encoding_note(args.artifact, manifest, space)
    if note:  # a warning line, as eval gives when it loads the surrogate
        warnings.warn(note, EncodingChangedWarning, stacklevel=2)
    if args.format == "json":
        print(json.dumps(json_safe(manifest), indent=1, allow_nan=False))
        return 0
    if args.format == "csv":
        print_rows(_metric_rows(manifest), "csv")
        return 0
    data = manifest["training_data"]
    print(f"{manifest['name']}  (space {manifest['space']}, artifact format {manifest['format_version']}, "
          f"created {manifest.get('created', '?')})")
    print(f"training data: {data.get('source')}, {data.get('train_rows')} train / {data.get('holdout_rows')} "
          f"held-out rows, sha256 {str(data.get('sha256'))[:16]}...")
    print("libraries: " + ", ".join(f"{k} {v}" for k, v in manifest.get("libraries", {}).items()))
    _print_metric_table(manifest)
    return 0


_SCORES = ("kendall_tau", "r2", "mae")
_HEADERS = {"kendall_tau": "KT", "r2": "R2", "mae": "MAE"}


def _print_metric_table(manifest: dict) -> None:
    """The metric rows as a table; a held-out score that is missing shows as "-", with a note saying why."""
    rows = _metric_rows(manifest)
    print_rows([{k: "-" if k in _SCORES and v is None else v for k, v in row.items()} for row in rows], "table",
               headers=_HEADERS)
    if any(row[k] is None for row in rows for k in _SCORES):
        held = manifest["training_data"].get("holdout_rows")
        why = (f"only {held} held-out row{'' if held == 1 else 's'}, and scoring needs at least 2 (raise --holdout)"
               if isinstance(held, int) and held < 2 else "the held-out values or predictions are constant")
        print(f"-: no held-out score: {why}")
    elif isinstance(held := manifest["training_data"].get("holdout_rows"), int) and held < FEW_HELD_OUT:
        print(f"note: the held-out scores rest on only {held} rows (raise --holdout for reliable ones)")


def _metric_rows(manifest: dict) -> list[dict]:
    """One row per modelled metric: predictor, held-out scores, noise model."""
    rows = []
    for metric, entry in manifest["metrics"].items():
        scores = entry.get("holdout") or {}
        noise = entry.get("noise")
        rows.append({"metric": metric, "predictor": entry["predictor"],
                     **{k: scores.get(k) for k in _SCORES}, "noise": _noise_text(noise)})
    return rows


def _noise_text(noise: dict | None) -> str:
    """A manifest's noise model in words: its standard deviation (range), and where it was learned."""
    if not noise:
        return "none"
    low, high = min(noise["stds"]), max(noise["stds"])
    std = f"std {low:.3g}" if low == high else f"std {low:.3g}-{high:.3g}"
    return std if noise.get("source", "given") == "given" else f"{std} (from {noise['source']})"
