"""``nasforge surrogate fit | eval | info``: fit, check and describe surrogate benchmarks."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import UsageError
from .options import add_table_arguments, load_space, load_table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("surrogate", help="surrogate benchmarks: fit one on a table, check its fidelity, describe it",
                       description="Fit, evaluate and inspect surrogate benchmarks (versioned artifact folders).")
    commands = p.add_subparsers(dest="surrogate_command", metavar="SUBCOMMAND", required=True)

    f = commands.add_parser("fit", help="fit a surrogate on a table (or a study's exported trials) and save it",
                            description="Fit one predictor per metric, report held-out metrics and write an "
                                        "artifact folder (manifest.json + models in safe formats).")
    add_table_arguments(f)
    f.add_argument("--trials", help="CSV of a study's trials (trials_dataframe export) instead of --table")
    f.add_argument("--metrics", default="val_acc", help="comma-separated metrics to model (default: val_acc)")
    f.add_argument("--model", default="lgb", help="predictor name (default: lgb; see nasforge predictors eval)")
    f.add_argument("--params", default="{}", help="JSON object of predictor constructor arguments")
    f.add_argument("--noise", default="none",
                   help="noise model: 'none', 'seeds' (learned from <metric>_seed<k> columns) or a standard deviation")
    f.add_argument("--holdout", type=float, default=0.1, help="fraction held out to measure the model")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--version", default="1.0", help="version in the artifact name (<space>-<model>-v<version>)")
    f.add_argument("--out", required=True, help="new folder for the artifact")
    f.set_defaults(func=run_fit)

    e = commands.add_parser("eval", help="fidelity report of a surrogate against a table",
                            description="(a) surrogate vs one training seed against the other seeds' mean (tables "
                                        "with per-seed columns); (b) regret curves of strategies on the surrogate "
                                        "vs on the table.")
    e.add_argument("artifact", help="surrogate artifact folder")
    add_table_arguments(e)
    e.add_argument("--metric", help="metric to check (default: the surrogate's first)")
    e.add_argument("--strategies", default="evolution,random", help="comma-separated strategies")
    e.add_argument("--runs", type=int, default=5, help="seeds per strategy")
    e.add_argument("--budget", type=int, default=100, help="evaluations per run")
    e.add_argument("--noisy", action="store_true", help="search the surrogate with noisy draws")
    e.add_argument("--out", default="surrogate-eval", help="folder for fidelity.json and fidelity_regret.png")
    e.set_defaults(func=run_eval)

    i = commands.add_parser("info", help="print a surrogate's manifest")
    i.add_argument("artifact", help="surrogate artifact folder")
    i.add_argument("--json", action="store_true", help="print the raw manifest JSON")
    i.set_defaults(func=run_info)


def _noise(text: str) -> str | float | None:
    if text == "none":
        return None
    if text == "seeds":
        return text
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"--noise must be 'none', 'seeds' or a standard deviation, got {text!r}") from None
    if value < 0:
        raise UsageError(f"--noise standard deviation must be non-negative, got {value}")
    return value


def run_fit(args: argparse.Namespace) -> int:
    from ..benchmarks import SurrogateBenchmark, read_table

    try:
        params = json.loads(args.params)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--params is not valid JSON: {exc}") from None
    if not isinstance(params, dict):
        raise UsageError(f"--params must be a JSON object, got {args.params!r}")
    if (Path(args.out) / "manifest.json").exists():
        raise UsageError(f"{args.out} already holds a surrogate; choose a new --out folder")
    if args.trials:
        data = read_table(args.trials)
        if args.arch_column not in data.columns:
            raise UsageError(f"--arch-column: column {args.arch_column!r} is not in --trials {args.trials}")
        space = load_space(args, table_archs=data[args.arch_column].astype(str))
    else:
        data = load_table(args)
        space = data.space
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    surrogate = SurrogateBenchmark.fit(space, data, metrics=metrics, model=args.model, model_params=params,
                                       noise_model=_noise(args.noise), holdout=args.holdout, seed=args.seed,
                                       version=args.version, arch_column=args.arch_column)
    surrogate.save(args.out)
    print(f"fitted {surrogate.name} on {surrogate.manifest['training_data']['train_rows']} rows; wrote {args.out}")
    _print_metrics(surrogate.manifest)
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from ..analysis.surrogate_fidelity import fidelity_report, plot_regret_fidelity
    from ..benchmarks import SurrogateBenchmark

    table = load_table(args)
    surrogate = SurrogateBenchmark.load(args.artifact, table.space)
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    if not strategies:
        raise UsageError("--strategies is empty")
    report = fidelity_report(surrogate, table, args.metric, strategies, args.runs, args.budget, args.noisy)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "fidelity.json").write_text(json.dumps(report, indent=1))
    written = [out / "fidelity.json"]
    for check, reason in report["skipped"].items():
        print(f"{check} check skipped: {reason}")
    if "seeds" in report:
        seeds = report["seeds"]
        print(f"(a) against the mean of the other seeds, {seeds['n_archs']} archs, {seeds['n_seeds']} seeds:")
        for label, key in (("surrogate", "surrogate_vs_other_seeds"), ("one seed", "one_seed_vs_other_seeds")):
            s = seeds[key]
            print(f"    {label:>9}: MAE {s['mae']:.3f}  R2 {s['r2']:.3f}  KT {s['kendall_tau']:.3f}")
    if "regret" in report:
        written.append(plot_regret_fidelity(report["regret"], out / "fidelity_regret.png"))
        print(f"(b) final regret after {args.budget} evaluations (mean of {args.runs} runs):")
        for name, curves in report["regret"]["strategies"].items():
            final = curves["final_regret"]
            print(f"    {name:>12}: table {final['table']:.3f}  surrogate {final['surrogate']:.3f}  "
                  f"surrogate pick on table {final['surrogate_true']:.3f}  mean |gap| {curves['mean_abs_gap']:.3f}")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def run_info(args: argparse.Namespace) -> int:
    from ..benchmarks.surrogate import read_manifest

    manifest = read_manifest(args.artifact)
    if args.json:
        print(json.dumps(manifest, indent=1))
        return 0
    data = manifest["training_data"]
    print(f"{manifest['name']}  (space {manifest['space']}, artifact format {manifest['format_version']}, "
          f"created {manifest.get('created', '?')})")
    print(f"training data: {data.get('source')}, {data.get('train_rows')} train / {data.get('holdout_rows')} "
          f"held-out rows, sha256 {str(data.get('sha256'))[:16]}...")
    print("libraries: " + ", ".join(f"{k} {v}" for k, v in manifest.get("libraries", {}).items()))
    _print_metrics(manifest)
    return 0


def _print_metrics(manifest: dict) -> None:
    for metric, entry in manifest["metrics"].items():
        scores = entry.get("holdout") or {}
        noise = entry.get("noise")
        held = "  ".join(f"{k} {scores[k]:.3f}" for k in ("kendall_tau", "r2", "mae") if k in scores)
        noise_text = f"noise from {noise['source']}" if noise else "no noise model"
        print(f"  {metric}: {entry['predictor']}; held-out {held or 'n/a'}; {noise_text}")
