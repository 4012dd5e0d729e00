"""Which supernet settings rank best? SPOS width, weight decay, learning rate, batch size, epochs, augmentation.

    .venv/bin/python benchmarks/oneshot_supernet_settings.py --settings '{"base": {}, "C32 wd1e-2": {"C": 32,
        "weight_decay": 0.01}}' --seeds 0,1,2,3 [--results benchmarks/results/oneshot_supernet_settings.json]
        [--truth benchmarks/results/oneshot_ranking_s1_wide.json] [--mixes 3]

Each setting overrides the ranking study's SPOS supernet (``C`` its base channels, default 8 like the ground
truth's networks; ``trick`` one of the study's network tricks, ``affine_off``, ``ghost_bn``, ``group_norm`` or
``drop_path``; any other key a field of :class:`nasforge.oneshot.OneShotConfig`; 150 epochs unless
``epochs`` is given). Per setting and supernet seed: one supernet trained on the study's data, the study's K architectures scored with BN recalibration on 8
batches (the study's "SPOS + BN recalibration" row), Kendall tau of the accuracy and of minus the loss
against the study's stored ground truth (``--truth``, default ``benchmarks/results/oneshot_ranking.json``:
the mean of 4 standalone seeds; the study's ``seed`` recorded there picks the architecture sample and
the data split, so a study run with ``--seed 1`` is a second sample). The summary adds the ensemble (scores averaged
over the seeds). Results are merged into ``--results`` as each supernet finishes (a setting and seed already there
is kept unless ``--force``). Torch uses one thread per process. ``--mixes k`` also prints the best ensembles
that mix the stored settings (every combination of 2 to k settings, all their seeds, scores by loss z-scored per
supernet): chosen after the fact on the sample that judges them, so a screen, not a result.
"""

from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import fields, replace
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch

from nasforge.oneshot.scoring import ScoreConfig, SubnetScorer
from nasforge.oneshot.study import RankingConfig, _supernet_for, kendall, sample_architectures, study_data
from nasforge.oneshot.trainer import OneShotConfig, train_supernet
from nasforge.spaces import get_space

from _results import CHECKOUT, RESULTS, read_json, write_json

TRUTH_FILE = RESULTS / "oneshot_ranking.json"
TRICKS = (None, "affine_off", "ghost_bn", "group_norm", "drop_path")


def stored_truth(path: Path) -> tuple[list[str], np.ndarray, int]:
    """The stored study's architectures, their ground truth (mean standalone accuracy over its seeds) and
    the study's seed."""
    if not path.is_file():
        raise SystemExit(f"--truth {str(path)!r}: no such file")
    stored = read_json(path, {})
    try:
        return stored["archs"], np.array(stored["ground_truth"]["acc"]).mean(0), stored["config"]["seed"]
    except (KeyError, TypeError, ValueError):
        raise SystemExit(f"--truth {str(path)!r}: not a ranking study's JSON (archs, ground_truth, config)") from None


def check_settings(settings: object) -> None:
    """Stop with one line naming the setting and key when ``settings`` is not {name: {C, trick or a
    OneShotConfig field: value}} that the supernet and its training accept."""
    known = {f.name for f in fields(OneShotConfig)}
    if not isinstance(settings, dict) or not all(isinstance(s, dict) for s in settings.values()):
        raise SystemExit("--settings: a JSON object {name: {key: value}} expected")
    for name, setting in settings.items():
        overrides = dict(setting)
        unknown = sorted(set(overrides) - known - {"C", "trick"})
        if unknown:
            raise SystemExit(f"--settings {name!r}: unknown key {unknown[0]!r} (C, trick or a field of OneShotConfig: "
                             f"{', '.join(sorted(known))})")
        channels, trick = overrides.pop("C", 8), overrides.pop("trick", None)
        if trick not in TRICKS:
            raise SystemExit(f"--settings {name!r}: unknown trick {trick!r} (one of {', '.join(TRICKS[1:])})")
        if not isinstance(channels, int) or isinstance(channels, bool) or channels <= 0 or channels % 8:
            raise SystemExit(f"--settings {name!r}: C must be a multiple of the ground truth's 8 channels, "
                             f"not {channels!r}")
        try:
            OneShotConfig(**{"epochs": 150, "seed": 0, **overrides})
        except (TypeError, ValueError) as exc:
            raise SystemExit(f"--settings {name!r}: {exc}") from None


def check_sample(path: Path) -> None:
    """Stop with one line when the study stored at ``path`` holds another architecture sample than the one
    its seed draws here."""
    stored_archs, _, study_seed = stored_truth(path)
    cfg = replace(RankingConfig(C=8), seed=study_seed)
    space = get_space(cfg.space)
    if [space.format(a) for a in sample_architectures(space, cfg.k, cfg.seed)] != stored_archs:
        raise SystemExit(f"--truth {str(path)!r} holds another architecture sample")


def shown(path: Path) -> str:
    """``path`` as stored in a results file: relative to the checkout when inside it (where the documented commands
    run), else absolute."""
    path = path.resolve()
    return str(path.relative_to(CHECKOUT)) if path.is_relative_to(CHECKOUT) else str(path)


def same_truth(stored: str, given: Path) -> bool:
    """Whether the ``truth`` stored in a results file (relative: to the checkout) names the file ``given``."""
    return (CHECKOUT / stored).resolve() == given.resolve()


def run_one(job: tuple[str, dict, int, Path]) -> dict:
    """Train one supernet of ``setting`` with ``seed`` and score the study's K architectures."""
    name, setting, seed, truth_file = job
    torch.set_num_threads(1)
    stored_archs, truth, study_seed = stored_truth(truth_file)
    overrides = dict(setting)  # checked by check_settings
    channels = overrides.pop("C", 8)
    trick = overrides.pop("trick", None)
    cfg = replace(RankingConfig(C=8), supernet_width=channels // 8, supernet_seed=seed, seed=study_seed)
    data = study_data(cfg.data, cfg.data_dir, cfg.noise, cfg.val_fraction, cfg.test_fraction, cfg.seed)
    space = get_space(cfg.space)
    archs = sample_architectures(space, cfg.k, cfg.seed)  # the stored sample (check_sample)
    net = _supernet_for(cfg, data, trick=trick)
    record = train_supernet(net, data, OneShotConfig(**{"epochs": 150, "seed": seed, **overrides}))
    scorer = SubnetScorer(net, data, ScoreConfig(bn_mode="recalibrate", recal_batches=8, seed=seed))
    metrics = [scorer.score(a) for a in archs]
    acc, loss = np.array([m["val_acc"] for m in metrics]), np.array([m["val_loss"] for m in metrics])
    result = {"setting": name, "seed": seed, "tau_acc": kendall(acc, truth), "tau_loss": kendall(-loss, truth),
              "acc": acc.tolist(), "loss": loss.tolist(), "train_seconds": record.train_seconds}
    print(f"{name} seed {seed}: tau acc {result['tau_acc']:+.3f}, loss {result['tau_loss']:+.3f} "
          f"({record.train_seconds:.0f} s)", flush=True)
    return result


def summarize(runs: list[dict], settings: dict, truth_file: Path) -> dict:
    """Per setting: mean and std over seeds of both taus, and the tau of the seed ensemble."""
    truth = stored_truth(truth_file)[1]
    summary = {}
    for name in dict.fromkeys(r["setting"] for r in runs):
        rows = [r for r in runs if r["setting"] == name]
        entry = {"setting": settings.get(name), "seeds": [r["seed"] for r in rows]}
        for key in ("acc", "loss"):
            taus = [r[f"tau_{key}"] for r in rows]
            sign = 1 if key == "acc" else -1
            entry[f"tau_{key}_mean"] = float(np.mean(taus))
            entry[f"tau_{key}_std"] = float(np.std(taus, ddof=1)) if len(taus) > 1 else 0.0
            entry[f"tau_{key}_ensemble"] = kendall(sign * np.mean([r[key] for r in rows], 0), truth)
        entry["train_seconds_mean"] = float(np.mean([r["train_seconds"] for r in rows]))
        summary[name] = entry
    return summary


def best_mixes(runs: list[dict], truth: np.ndarray, most: int, show: int = 3) -> None:
    """Print the best ensembles of 2 to ``most`` settings (each with all its seeds; minus the loss, z-scored)."""
    scores: dict[str, list[np.ndarray]] = {}
    for r in runs:
        score = -np.array(r["loss"])
        scores.setdefault(r["setting"], []).append((score - score.mean()) / score.std())
    for k in range(2, most + 1):
        mixes = sorted(((kendall(np.mean([z for n in names for z in scores[n]], 0), truth), names)
                        for names in itertools.combinations(scores, k)), reverse=True)
        for tau, names in mixes[:show]:
            print(f"mix of {k} of {len(mixes)} combinations: tau {tau:+.3f}  {' + '.join(names)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", required=True, help="JSON: {name: {C: ..., OneShotConfig field: ...}}")
    parser.add_argument("--seeds", default="0,1,2,3")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--results", default=str(RESULTS / "oneshot_supernet_settings.json"))
    parser.add_argument("--force", action="store_true", help="retrain settings and seeds already in --results")
    parser.add_argument("--mixes", type=int, default=0, help="also print the best mixes of up to this many settings")
    parser.add_argument("--truth", type=Path, default=TRUTH_FILE, help="stored study JSON with the ground truth "
                        "(one --results file per --truth)")
    args = parser.parse_args()
    try:
        settings = json.loads(args.settings)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"--settings: not JSON ({exc})") from None
    check_settings(settings)
    check_sample(args.truth)
    path = Path(args.results)
    stored = read_json(path, {"settings": {}, "runs": []})
    before = stored.get("truth", shown(TRUTH_FILE))  # files written before --truth: the default
    if not same_truth(before, args.truth):
        raise SystemExit(f"{path} holds runs scored against {before}, not {args.truth}")
    done = {(r["setting"], r["seed"]) for r in stored["runs"]} if not args.force else set()
    jobs = [(n, s, seed, args.truth) for seed in (int(x) for x in args.seeds.split(",")) for n, s in settings.items()
            if (n, seed) not in done]
    stored["settings"].update(settings)
    stored["truth"] = shown(args.truth)
    with Pool(args.workers) as pool:
        for result in pool.imap_unordered(run_one, jobs, chunksize=1):
            key = (result["setting"], result["seed"])
            stored["runs"] = [r for r in stored["runs"] if (r["setting"], r["seed"]) != key] + [result]
            stored["summary"] = summarize(stored["runs"], stored["settings"], args.truth)
            write_json(path, stored)
    stored["summary"] = summarize(stored["runs"], stored["settings"], args.truth)
    for name, e in stored["summary"].items():
        print(f"{name:<16} acc {e['tau_acc_mean']:+.3f} ± {e['tau_acc_std']:.3f} (ens {e['tau_acc_ensemble']:+.3f})  "
              f"loss {e['tau_loss_mean']:+.3f} ± {e['tau_loss_std']:.3f} (ens {e['tau_loss_ensemble']:+.3f})  "
              f"{len(e['seeds'])} seeds")
    if args.mixes:
        best_mixes(stored["runs"], stored_truth(args.truth)[1], args.mixes)


if __name__ == "__main__":
    main()
