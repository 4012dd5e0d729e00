"""Engine robustness figures: concurrent first use of a database, and bad input through the API and CLI.

    .venv/bin/python benchmarks/robustness_engine.py starts --rounds 50 --procs 4 \
        --json benchmarks/results/engine_starts_sqlite.json
    .venv/bin/python benchmarks/robustness_engine.py starts --rounds 25 --procs 4 --storage postgresql+psycopg://... \
        --json benchmarks/results/engine_starts_postgres.json
    .venv/bin/python benchmarks/robustness_engine.py starts --rounds 8 --procs 4 --child-pythonpath OLD/src \
        --json benchmarks/results/engine_starts_sqlite_before.json     # OLD: a checkout of nasforge at 363690a
    .venv/bin/python benchmarks/robustness_engine.py inputs --json benchmarks/results/engine_bad_inputs.json

``starts``: each round launches ``--procs`` processes at the same moment, each opening a study on a
storage nobody created yet (``Study(..., load_if_exists=True).optimize(...)``); counted: processes
that crashed, and rounds whose study does not hold every process's trials. ``--storage pg-url``
drops nasforge's tables before each round instead of using a fresh SQLite file;
``--child-pythonpath`` runs the children on another source tree (e.g. an older nasforge).

``inputs``: several hundred bad values for the engine's API (Study, optimize, tell, enqueue, load,
storages) and its commands (studies, status, trials, resume, delete). Each counts as *clear* when it
raises a nasforge error (CLI: exits 2) with one line naming the option or value, *unclear* when the
line does not name it, *traceback* for any other exception, *accepted* when nothing complains; every
file in the working folder is hashed before and after to count *damaged* files.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import write_json

CHILD = """
import sys
from nasforge import Result, Study
from nasforge.spaces import get_space

def evaluate(arch):
    return Result(metrics={{"acc": float(len(str(arch.genotype)))}})

study = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="race", storage={url!r},
              load_if_exists=True)
study.optimize(evaluate, {trials})
"""


# -- concurrent starts ----------------------------------------------------------------------------
def _drop_tables(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for table in ("nasforge_trials", "nasforge_studies", "nasforge_meta"):
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table} CASCADE"))
    engine.dispose()


def starts(args: argparse.Namespace) -> dict:
    from nasforge import Study

    env = dict(os.environ)
    if args.child_pythonpath:
        env["PYTHONPATH"] = args.child_pythonpath
    crashed, short_rounds, launches, messages = 0, 0, 0, {}
    folder = Path(tempfile.mkdtemp(prefix="nasforge-starts-"))
    begin = time.perf_counter()
    for round_ in range(args.rounds):
        if args.storage:
            _drop_tables(args.storage)
            url = args.storage
        else:
            url = f"sqlite:///{folder / f'fresh{round_}.db'}"
        procs = [subprocess.Popen([sys.executable, "-c", CHILD.format(url=url, trials=args.trials)],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for _ in range(args.procs)]
        for proc in procs:
            _, err = proc.communicate(timeout=300)
            launches += 1
            if proc.returncode != 0:
                crashed += 1
                last = (err.strip().splitlines() or ["?"])[-1][:160]
                messages[last] = messages.get(last, 0) + 1
        try:
            n = len(Study.load("race", url).trials)
        except Exception:  # noqa: BLE001 - a round whose study is missing counts as short
            n = -1
        short_rounds += n != args.procs * args.trials
        print(f"round {round_ + 1}/{args.rounds}: crashed so far {crashed} of {launches}", flush=True)
    return {"rounds": args.rounds, "processes_per_round": args.procs, "launches": launches, "crashed": crashed,
            "rounds_missing_trials": short_rounds, "storage": "postgresql" if args.storage else "sqlite (fresh file)",
            "child_pythonpath": args.child_pythonpath, "crash_messages": messages,
            "seconds": round(time.perf_counter() - begin, 1)}


# -- bad inputs -------------------------------------------------------------------------------------
class Tally:
    def __init__(self) -> None:
        self.counts = {"clear": 0, "unclear": 0, "traceback": 0, "accepted": 0}
        self.examples: dict[str, list[str]] = {k: [] for k in self.counts}
        self.damaged: list[str] = []

    def add(self, kind: str, label: str, detail: str = "") -> None:
        self.counts[kind] += 1
        if len(self.examples[kind]) < 12:
            self.examples[kind].append(f"{label}: {detail}"[:200])


def _judge(tally: Tally, label: str, call, needles: tuple[str, ...]) -> None:
    from nasforge.exceptions import NasforgeError

    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            call()
    except NasforgeError as exc:
        text = str(exc)
        named = any(n.lower() in text.lower() for n in needles)
        tally.add("clear" if named and "\n" not in text else "unclear", label, text)
    except Exception as exc:  # noqa: BLE001 - anything else is a traceback for the user
        tally.add("traceback", label, f"{type(exc).__name__}: {exc}")
    else:
        tally.add("accepted", label)


def _api_cases(folder: Path):
    """(label, callable, words the message must contain) for bad API input."""
    from nasforge import Result, Study
    from nasforge.experiment import get_storage
    from nasforge.experiment.evaluator_spec import build_evaluator
    from nasforge.experiment.storage import open_storage
    from nasforge.spaces import get_space

    space = get_space("nb201")
    url = f"sqlite:///{folder / 'api.db'}"
    study = Study(space, "random", objectives="acc", seed=0, name="api", storage=url)
    study.optimize(lambda arch: Result(metrics={"acc": 1.0}), 2)

    def good(arch):
        return Result(metrics={"acc": 1.0})

    bad_counts = [-5, -1, 2.5, "3", None, True, math.nan, math.inf, [1]]
    bad_seconds = [-5, -0.1, "10", math.nan, math.inf, [1], True]
    opts = {
        "n_trials": (bad_counts, "n_trials"), "n_workers": (bad_counts + [0], "n_workers"),
        "max_pending": ([0, -2, 1.5, "2", True], "max_pending"), "max_retries": ([-1, 0.5, "1", None], "max_retries"),
        "max_crash_reruns": ([-1, 1.5, "2", None], "max_crash_reruns"),
        "min_trials_for_failure_rate": ([0, -3, 2.5, None], "min_trials_for_failure_rate"),
        "timeout": (bad_seconds, "timeout"), "trial_timeout": (bad_seconds + [0], "trial_timeout"),
        "heartbeat_interval": (bad_seconds + [0, None], "heartbeat_interval"),
        "stale_after": (bad_seconds + [0, None], "stale_after"),
        "max_failure_rate": ([-0.1, 1.5, "0.5", math.nan, True], "max_failure_rate"),
        "executor": (["gpu", "", 3, None, "Process"], "executor"),
        "pruner": (["magic", 3, {"name": "asha", "reduction_factor": 1}, {"name": "median", "bogus": 1},
                    {"nom": "asha"}, ["asha"]], "pruner"),
        "fidelity": (["epochs=3", [1, 2], 5], "fidelity"),
    }
    for option, (values, word) in opts.items():
        for value in values:
            kwargs = {"n_trials": 1, option: value}
            if option in ("n_workers", "trial_timeout"):
                kwargs["executor"] = "process"
            yield f"optimize({option}={value!r})", (lambda kw=kwargs: study.optimize(good, **kw)), (word,)
    names = ["", "   ", None, 7, ["a"], "x" * 257, "y" * 300]
    for name in names:
        yield f"Study(name={name!r:.30})", (lambda n=name: Study(space, "random", objectives="acc", name=n,
                                                                 storage=url)), ("name",)
        yield f"Study.load({name!r:.30})", (lambda n=name: Study.load(n, url)), ("name",)
    yield "Study(name='api') twice", lambda: Study(space, "random", objectives="acc", name="api", storage=url), ("api",)
    yield "Study.load('nope')", lambda: Study.load("nope", url), ("nope",)
    for objectives in ([], "", [""], None, 3, ["acc", 5]):
        yield f"Study(objectives={objectives!r})", (lambda o=objectives: Study(space, "random", objectives=o)), \
            ("objectives",)
    for directions in ("up", ["maximize", "minimize"], [], "maxi", None):
        yield f"Study(directions={directions!r})", (lambda d=directions: Study(space, "random", objectives="acc",
                                                                              directions=d)), ("direction",)
    for seed in (1.5, "1", [1], True):
        yield f"Study(seed={seed!r})", (lambda s=seed: Study(space, "random", objectives="acc", seed=s)), ("seed",)
    for strategy in ("nope", "", 3):
        yield f"Study(strategy={strategy!r})", (lambda s=strategy: Study(space, s, objectives="acc")), \
            ("strategy", str(strategy))
    for attrs in ({"f": object()}, {"x": math.nan}, [1, 2]):
        yield f"Study(user_attrs={attrs!r:.30})", (lambda a=attrs: Study(space, "random", objectives="acc",
                                                                        user_attrs=a)), ("user_attrs", "JSON")
    for number in (999, -1, 2.0, "0", None, True):
        yield f"tell({number!r}, 1.0)", (lambda n=number: study.tell(n, 1.0)), ("trial",)
        yield f"set_trial_user_attr({number!r})", (lambda n=number: study.set_trial_user_attr(n, "k", 1)), ("trial",)
    yield "tell(finished trial)", lambda: study.tell(0, 1.0), ("trial 0",)
    for value in (object(), math.nan, math.inf, {1, 2}):
        yield f"set_user_attr({value!r:.20})", (lambda v=value: study.set_user_attr("k", v)), ("attribute", "JSON")
        yield f"set_trial_user_attr(0, {value!r:.20})", (lambda v=value: study.set_trial_user_attr(0, "k", v)), \
            ("attribute", "JSON")
    darts = get_space("darts").sample(__import__("numpy").random.default_rng(0))
    for arch in ("|nor_conv_3x3~0|", None, darts):
        yield f"enqueue({str(arch)[:30]})", (lambda a=arch: study.enqueue(a)), ("architecture", "space", "expected")
    for attrs in ({"f": object()}, {"x": math.inf}):
        yield f"enqueue(user_attrs={attrs!r:.30})", (lambda a=attrs: study.enqueue(study.trials[0].arch,
                                                                                 user_attrs=a)), ("user_attrs",)
        yield f"enqueue(fidelity={attrs!r:.30})", (lambda a=attrs: study.enqueue(study.trials[0].arch,
                                                                               fidelity=a)), ("fidelity",)
    junk = folder / "junk.db"
    junk.write_bytes(b"junk" * 400)
    for bad in ("not a url", "foo://bar", "sqlite:////nonexistent_dir/x.db", f"sqlite:///{junk}", "memory.txt",
                "postgresql+psycopg://nobody@127.0.0.1:1/none", "mysql://x/y"):
        yield f"get_storage({bad!r})", (lambda b=bad: get_storage(b)), (bad.split("//")[-1][:12], "storage")
        yield f"open_storage({bad!r}, readonly)", (lambda b=bad: open_storage(b, readonly=True)), \
            (bad.split("//")[-1][:12], "storage")
    for missing in ("missing.db", "other.db"):
        yield f"open_storage({missing}, readonly)", (lambda m=missing: open_storage(f"sqlite:///{folder / m}",
                                                                                    readonly=True)), (missing,
                                                                                                      "nasforge")
    yield "resume() without a run", lambda: Study(space, "random", objectives="acc").resume(good), ("resume",)
    for spec in ("os:system", {"factory": "os:system", "kwargs": {"command": "true"}}, "nomodule:x", "noseparator",
                 {"factory": 3}, {"factory": "json:dumps", "kwargs": [1]}, {"kwargs": {}}, 5):
        yield f"build_evaluator({spec!r:.40})", (lambda s=spec: build_evaluator(s)), ("factory", "spec", "kwargs")


def _cli_cases(folder: Path):
    """(label, argv, words the error line must contain) for the engine's commands."""
    import sqlite3

    from nasforge import Result, Study
    from nasforge.spaces import get_space

    db = folder / "cli.db"
    url = f"sqlite:///{db}"
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="demo", storage=url)
    study.optimize(lambda arch: Result(metrics={"acc": 1.0}), 3)
    study.set_run_config({**study.run_config, "n_trials_total": 5})
    study.storage.close()
    raw = sqlite3.connect(folder / "other.db")
    raw.execute("CREATE TABLE t (x)")
    raw.commit()
    raw.close()
    (folder / "empty.db").write_bytes(b"")
    storages = {"missing": (f"sqlite:///{folder / 'missing.db'}", "missing.db"),
                "other": (f"sqlite:///{folder / 'other.db'}", "other.db"),
                "empty": (f"sqlite:///{folder / 'empty.db'}", "empty.db"),
                "junk": (f"sqlite:///{folder / 'junk.db'}", "junk.db"), "bogus": ("bogus", "bogus"),
                "scheme": ("foo://bar", "foo://bar"), "nodir": ("sqlite:////nonexistent_dir/x.db", "x.db")}
    for command in (["studies"], ["status", "demo"], ["trials", "demo"], ["resume", "demo"],
                    ["delete", "demo", "--yes"]):
        for key, (bad, word) in storages.items():
            yield f"{' '.join(command)} --storage {key}", [*command, "--storage", bad], (word,)
    for command in (["status"], ["trials"], ["resume"], ["delete"]):
        for name in ("nope", "", "x" * 300):
            yield f"{command[0]} {name[:10]!r}", [*command, name, "--storage", url], (name[:10] or "study",)
    for command in (["studies"], ["status", "demo"], ["trials", "demo"]):
        for fmt in ("xml", "", "JSON"):
            yield f"{' '.join(command)} --format {fmt!r}", [*command, "--storage", url, "--format", fmt], ("format",)
    for old in (["trials", "demo", "--csv"], ["trials", "demo", "--json"], ["trials", "demo", "-o", "x"],
                ["trials", "demo", "--output", "x"], ["resume", "demo", "--n-workers", "2"]):
        yield f"old flag {old[2]}", [*old, "--storage", url], (old[2],)
    for workers in ("0", "-2", "1.5", "two"):
        yield f"resume --workers {workers}", ["resume", "demo", "--storage", url, "--workers", workers], ("workers",)
    for executor in ("gpu", ""):
        yield f"resume --executor {executor!r}", ["resume", "demo", "--storage", url, "--executor", executor], \
            ("executor",)
    for factory in ("nomodule:make", "os", "json:nothing", "json:__name__"):
        yield f"resume --evaluator {factory}", ["resume", "demo", "--storage", url, "--evaluator", factory], \
            (factory.split(":")[0],)
    for kwargs in ("{bad", "[1]", "3"):
        yield f"resume --evaluator-kwargs {kwargs}", ["resume", "demo", "--storage", url, "--evaluator",
                                                      "json:dumps", "--evaluator-kwargs", kwargs], ("kwargs",)
    yield "resume --evaluator-kwargs alone", ["resume", "demo", "--storage", url, "--evaluator-kwargs", "{}"], \
        ("--evaluator",)
    yield "delete without --yes", ["delete", "demo", "--storage", url], ("--yes",)


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def inputs(args: argparse.Namespace) -> dict:
    from nasforge.cli import main as cli

    folder = Path(tempfile.mkdtemp(prefix="nasforge-inputs-"))
    os.chdir(folder)
    api, command = Tally(), Tally()
    for label, call, needles in _api_cases(folder):
        _judge(api, label, call, needles)
    folder = folder / "cli"  # the API's studies may still checkpoint their own file meanwhile
    folder.mkdir()
    os.chdir(folder)
    (folder / "junk.db").write_bytes(b"junk" * 400)
    cases = list(_cli_cases(folder))
    damaged = 0
    for label, argv, needles in cases:
        before = _hashes(folder)
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                code = cli(argv)
        except BaseException as exc:  # noqa: BLE001 - a traceback reached the user
            command.add("traceback", label, f"{type(exc).__name__}: {exc}")
            continue
        finally:
            after = _hashes(folder)
            changed = [n for n in before if n in after and before[n] != after[n]]
            changed += [n for n in after if n not in before and not n.endswith(("-wal", "-shm"))]
            if argv[0] in ("studies", "status", "trials"):
                changed += [n for n in after if n not in before]
            hurt = set(changed) - {"cli.db", "cli.db-wal", "cli.db-shm"}
            if argv[0] in ("studies", "status", "trials"):
                hurt |= set(changed) & {"cli.db", "cli.db-wal", "cli.db-shm"}
            damaged += len(hurt)
            if hurt:
                command.damaged.append(f"{label}: {sorted(hurt)}")
        text = err.getvalue().strip()
        if code == 0:
            command.add("accepted", label)
        elif code in (1, 2) and len(text.splitlines()) == 1 and "Traceback" not in text:
            named = any(n.lower() in text.lower() for n in needles)
            command.add("clear" if named else "unclear", label, text)
        else:
            command.add("traceback", label, text[-200:])
    total = {k: api.counts[k] + command.counts[k] for k in api.counts}
    return {"api": {"tried": sum(api.counts.values()), **api.counts, "examples": api.examples},
            "cli": {"tried": sum(command.counts.values()), **command.counts, "examples": command.examples},
            "tried": sum(total.values()), **total, "files_damaged": damaged, "damage": command.damaged}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("starts", help="concurrent first use of a database")
    p.add_argument("--rounds", type=int, default=50)
    p.add_argument("--procs", type=int, default=4)
    p.add_argument("--trials", type=int, default=2, help="trials each process runs")
    p.add_argument("--storage", help="a PostgreSQL URL (its nasforge tables are dropped before each round)")
    p.add_argument("--child-pythonpath", help="PYTHONPATH for the child processes (e.g. an older source tree)")
    p.add_argument("--json")
    p = sub.add_parser("inputs", help="bad input through the API and the CLI")
    p.add_argument("--json")
    args = parser.parse_args()
    args.json = os.path.abspath(args.json) if args.json else None  # "inputs" works in a scratch folder
    result = starts(args) if args.what == "starts" else inputs(args)
    summary = {k: v for k, v in result.items() if k not in ("api", "cli", "crash_messages")}
    print(json.dumps(summary))
    if args.what == "inputs":
        for part in ("api", "cli"):
            print(part, {k: v for k, v in result[part].items() if k != "examples"})
            for kind in ("unclear", "traceback", "accepted"):
                for example in result[part]["examples"][kind]:
                    print(f"  {kind}: {example}")
    if args.json:
        write_json(args.json, result, indent=2)


if __name__ == "__main__":
    main()
