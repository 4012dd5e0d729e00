"""The main job (``nasforge search``): its search stage with 2 workers vs 1 on the same trials, and its wall time.

    .venv/bin/python benchmarks/training_mainjob.py [--rounds 2] [--trials 60] [--start-methods fork,spawn]
        [--no-mainjob]
        [--json benchmarks/results/training_mainjob.json]

1. **Speed-up of the search stage, same trials.** The search stage of ``run_search`` (defaults, but
   ``mo_random``, whose proposals do not depend on results, so 1 and 2 workers train exactly the same
   architectures, and no retraining), each run a fresh process, 1 worker and 2 workers alternating for
   ``--rounds`` rounds. Each run records its stage-1 wall time, the sum of the trials' own evaluation
   times, the driver process's CPU time and its workers' CPU time, and the time to the first trial.
2. **Ceiling.** The same architectures trained by the bare evaluator: all in one process, then split
   between two processes running at once. Its ratio is what the machine (and the load from other
   processes at that moment) allows two processes to gain on this work, with no engine at all.
3. **Main job.** ``nasforge search`` with its defaults: wall time, test accuracy of the network picked by validation
   (and how it was picked; the highest retrained test accuracy beside it), span of the
   front in parameters; the front and plot go beside ``--json``, named after it (by default
   ``benchmarks/results/training_mainjob_front.json`` and ``training_mainjob_pareto.png``).

The load average is recorded around every run: other processes on the machine change every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import RESULTS, validation_pick, validation_pick_line, write_file, write_json


def child_search(workers: int, trials: int, out: str, start_method: str) -> None:
    """Stage 1 of the pipeline in this (fresh) process; prints one JSON line of measurements."""
    from nasforge.pipelines import search as pipeline
    from nasforge.pipelines.search import SearchConfig, run_search

    pipeline.START_METHOD = start_method

    start = time.perf_counter()
    summary = run_search(SearchConfig(workers=workers, threads=1, trials=trials, retrain=0, strategy="mo_random",
                                      out=out, name="bench"))
    wall = time.perf_counter() - start
    from nasforge.experiment import Study

    study = Study.load("bench", f"sqlite:///{Path(out) / 'study.db'}")
    first = min(t.started_at for t in study.trials)
    self_cpu, child_cpu = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"workers": workers, "start_method": start_method if workers > 1 else None,
                      "search_seconds": summary["search_seconds"], "run_seconds": wall,
                      "sum_trial_seconds": sum(t.cost for t in study.trials),
                      "n_complete": summary["n_complete"], "archs": [study.space.format(t.arch) for t in study.trials],
                      "driver_cpu_seconds": self_cpu.ru_utime + self_cpu.ru_stime,
                      "worker_cpu_seconds": child_cpu.ru_utime + child_cpu.ru_stime,
                      "first_trial_after_seconds": first - PROCESS_START}))


def child_train(archs_file: str, part: int, parts: int) -> None:
    """Train every ``parts``-th architecture of the file (starting at ``part``) with the search evaluator."""
    import torch

    from nasforge.pipelines.search import SearchConfig, _evaluators
    from nasforge.spaces import get_space

    torch.set_num_threads(1)
    space = get_space("nb201")
    search, _ = _evaluators(SearchConfig(threads=1, out=tempfile.gettempdir()).resolved(), space)
    search.dataset()
    archs = json.loads(Path(archs_file).read_text())[part::parts]
    start = time.perf_counter()
    for text in archs:
        search.evaluate(space.parse(text))
    print(json.dumps({"seconds": time.perf_counter() - start, "n": len(archs)}))


PROCESS_START = time.time()


def _run(args: list[str]) -> dict:
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{args} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def speedup(rounds: int, trials: int, tmp: Path, start_methods: list[str]) -> dict:
    runs, ceilings = [], []
    archs = None
    for r in range(rounds):
        for workers, method in [(1, "-"), *((2, m) for m in start_methods)]:
            load = os.getloadavg()
            run = _run(["child-search", str(workers), str(trials), str(tmp / f"s{r}-{workers}-{method}"), method])
            run.update({"round": r, "load_before": load, "load_after": os.getloadavg()})
            if archs is None:
                archs = run["archs"]
            if run["archs"] != archs:
                raise RuntimeError("1 and 2 workers did not train the same architectures")
            run.pop("archs")
            runs.append(run)
            print(f"round {r}: {workers} worker(s) {'' if workers == 1 else '(' + method + ')'}: search stage {run['search_seconds']:.1f} s (trials' own time "
                  f"{run['sum_trial_seconds']:.1f} s, driver CPU {run['driver_cpu_seconds']:.1f} s, workers' CPU "
                  f"{run['worker_cpu_seconds']:.1f} s, first trial after {run['first_trial_after_seconds']:.1f} s); "
                  f"load {load[0]:.2f}", flush=True)
        archs_file = tmp / "archs.json"
        archs_file.write_text(json.dumps(archs))
        load = os.getloadavg()
        one = _run(["child-train", str(archs_file), "0", "1"])["seconds"]
        procs = [subprocess.Popen([sys.executable, __file__, "child-train", str(archs_file), str(i), "2"],
                                  stdout=subprocess.PIPE, text=True) for i in range(2)]
        halves = [json.loads(p.communicate()[0].strip().splitlines()[-1])["seconds"] for p in procs]
        ceilings.append({"round": r, "one_process_seconds": one, "two_processes_seconds": max(halves),
                         "ratio": one / max(halves), "load_before": load, "load_after": os.getloadavg()})
        print(f"round {r}: ceiling: bare training {one:.1f} s in one process, {max(halves):.1f} s in two "
              f"({ceilings[-1]['ratio']:.2f}x); load {load[0]:.2f}", flush=True)
    report = {"trials": trials, "runs": runs, "ceilings": ceilings,
              "ceiling_median": statistics.median(c["ratio"] for c in ceilings)}
    for method in start_methods:
        ratios = []
        for r in range(rounds):
            one = next(x for x in runs if x["round"] == r and x["workers"] == 1)
            two = next(x for x in runs if x["round"] == r and x["start_method"] == method)
            ratios.append(one["search_seconds"] / two["search_seconds"])
        report[f"speedup_{method}"] = {"per_round": ratios, "median": statistics.median(ratios)}
    return report


def mainjob(tmp: Path, report: Path) -> dict:
    """``nasforge search`` with its defaults in ``tmp``; its front and plot are written beside ``report``."""
    out = tmp / "main"
    load = os.getloadavg()
    start = time.perf_counter()
    proc = subprocess.run([str(Path(sys.executable).parent / "nasforge"), "search", "--out", str(out)],
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"nasforge search failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    summary = json.loads((out / "summary.json").read_text())
    write_json(report.with_name(f"{report.stem}_front.json"), summary["front"], indent=2)
    write_file(report.with_name(f"{report.stem}_pareto.png"), (out / "pareto.png").read_bytes())
    result = {"wall_seconds": wall, "search_seconds": summary["search_seconds"],
              "retrain_seconds": summary["retrain_seconds"], **validation_pick(summary),
              "front_size": summary["front_size"], "front_param_range": summary["front_param_range"],
              "retrained_param_range": summary.get("retrained_param_range"), "n_retrained": summary["n_retrained"],
              "load_before": load, "load_after": os.getloadavg()}
    print(f"main job: wall {wall:.0f} s (search {result['search_seconds']:.0f} s, retraining "
          f"{result['retrain_seconds']:.0f} s); {validation_pick_line(result)}; front "
          f"{result['front_size']} members spanning {result['front_param_range']:.1f}x in parameters; load "
          f"{load[0]:.2f} -> {result['load_after'][0]:.2f}", flush=True)
    return result


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "child-search":
        return child_search(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5])
    if len(sys.argv) > 1 and sys.argv[1] == "child-train":
        return child_train(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="alternating 1-worker / 2-worker rounds")
    parser.add_argument("--trials", type=int, default=60, help="search trials per run")
    parser.add_argument("--start-methods", default="fork,spawn",
                        help="worker start methods of the 2-worker runs (the pipeline forks on Linux; spawn was "
                             "the previous behaviour)")
    parser.add_argument("--no-mainjob", action="store_true", help="skip the full main job")
    parser.add_argument("--only-mainjob", action="store_true", help="skip the speed-up measurement")
    parser.add_argument("--json", default=str(RESULTS / "training_mainjob.json"))
    args = parser.parse_args()
    # a run of one part (--only-mainjob, --no-mainjob) keeps the other parts of an earlier report
    earlier = Path(args.json)
    report = json.loads(earlier.read_text()) if (args.only_mainjob or args.no_mainjob) and earlier.exists() else {}
    report.update({"benchmark": "training_mainjob", "cpu_count": os.cpu_count()})
    with tempfile.TemporaryDirectory() as tmp:
        methods = [] if args.only_mainjob else args.start_methods.split(",")
        if methods:
            report["search_stage"] = s = speedup(args.rounds, args.trials, Path(tmp), methods)
        for method in methods:
            m = s[f"speedup_{method}"]
            print(f"search stage, 2 workers ({method}) vs 1 on the same {args.trials} trials: {m['median']:.2f}x "
                  f"(per round: {', '.join(f'{r:.2f}' for r in m['per_round'])})")
        if methods:
            print(f"ceiling of bare training in two processes vs one: {s['ceiling_median']:.2f}x")
        if not args.no_mainjob:
            report["main_job"] = mainjob(Path(tmp), Path(args.json))
    write_json(args.json, report, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
