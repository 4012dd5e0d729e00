"""Bad inputs across the CLI (every verb) and the Python API, each run in a fresh process, counted by
what the user gets:

- ``clear``: refused with one line (CLI: exit 2, the status of bad input, one line on stderr; API: a
  NasforgeError, ValueError or TypeError) that names the culprit (the option, file, field or value);
- ``unclear``: refused without a traceback, but the message does not name the culprit or spans lines,
  or the CLI exits 1 (the status of a runtime failure) for what is bad input;
- ``traceback``: a Python traceback (a bug: raw TypeError/KeyError/IndexError/... or an uncaught error);
- ``segfault``: the process died from a signal (SIGSEGV, SIGABRT, ...);
- ``accepted``: exit 0 or still running at the time limit (the bad input was silently taken);
- ``damaged``: an input file was changed, deleted or created by a command that only reads it
  (counted on top of the outcome above).

    python benchmarks/bad_inputs.py [--jobs 2] [--timeout 40] [--only SUBSTRING]

Numeric options of every (sub)command are found from the parser itself (so new verbs are covered:
a non-number and -1 for each), the rest is table-driven below (stop 54's refusals: ids with "s54"). Writes
benchmarks/results/bad_inputs.json with the counts and every case's outcome, and the ``only`` and ``timeout``
it ran with. A file of a run with other ``--only`` or ``--timeout`` is never replaced: a subset run
(``--only``) goes to a new ``--out``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import pickle
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from _results import RESULTS, read_json, refuse_other_run, write_json

OUTPUT = RESULTS / "bad_inputs.json"
NB201_A = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"
NEGATIVE_OK = {"--optimum"}  # numeric options for which -1 is a legitimate value
NOT_UTF8 = os.fsencode("\udcff")  # a study name byte that is not UTF-8, as a shell passes $'\\xff'
MODULE = ("from torch import nn\nfrom nasforge.spaces.model_space import LayerChoice\n"
          "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
          "        self.fc = nn.Linear(2, 4)\n        self.act = LayerChoice([nn.ReLU(), nn.Tanh()], label='act')\n"
          "        self.out = nn.Linear(4, 2)\n"
          "    def forward(self, x):\n        return self.out(self.act(self.fc(x)))\n")
API_HARNESS = """
import sys
from nasforge.exceptions import NasforgeError
try:
    exec(compile(sys.argv[1], "<case>", "exec"), {})
except (NasforgeError, ValueError, TypeError) as exc:
    print(f"ERROR {type(exc).__name__}: {' '.join(str(exc).split())}", file=sys.stderr)
    sys.exit(3)
print("ACCEPTED")
"""


@dataclass
class Case:
    id: str
    kind: str  # "cli" or "api"
    args: list[str | bytes] | str  # CLI argv after "nasforge" (bytes: not UTF-8), or API code
    culprit: list[str]  # every string must appear in the error line
    # fixture names copied into the case folder, then "damage:HOW" (damage) and "readonly:FOLDER" (read_only)
    setup: list[str] = field(default_factory=list)
    must_not_create: list[str] = field(default_factory=list)


# -- fixtures --------------------------------------------------------------------------------------
def build_fixtures(folder: Path) -> None:
    """Tables, a surrogate artifact, a foreign SQLite database, ... (made once, copied per case)."""
    import numpy as np
    import pandas as pd

    from nasforge.benchmarks import SurrogateBenchmark, TabularBenchmark
    from nasforge.spaces import ChainSpace

    folder.mkdir(parents=True, exist_ok=True)
    chain = ChainSpace([["conv3", "conv5", "skip"]] * 3)
    rows = [{"arch": chain.format(a), "acc": 50.0 + i % 17, "params": float(i)} for i, a in enumerate(chain.enumerate())]
    pd.DataFrame(rows).to_csv(folder / "chain.csv", index=False)
    pd.DataFrame(rows[:10]).to_csv(folder / "partial.csv", index=False)
    (folder / "layers.json").write_text(json.dumps([["conv3", "conv5", "skip"]] * 3))
    (folder / "garbage.csv.gz").write_bytes(b"arch,acc\nthis is not gzip\n")
    data = gzip.compress(("arch,acc\n" + "".join(f"{r['arch']},{r['acc']}\n" for r in rows) * 50).encode())
    (folder / "truncated.csv.gz").write_bytes(data[: len(data) // 2])
    (folder / "empty.csv").write_bytes(b"")
    (folder / "binary.csv").write_bytes(bytes(range(256)) * 16)
    (folder / "header.csv").write_text("arch,acc\n")
    (folder / "text.csv").write_text("arch,acc\n" + "".join(f"{r['arch']},high\n" for r in rows))
    (folder / "nan.csv").write_text("arch,acc\n" + "".join(f"{r['arch']},{'nan' if i == 3 else r['acc']}\n"
                                                            for i, r in enumerate(rows)))
    (folder / "inf.csv").write_text("arch,acc\n" + "".join(f"{r['arch']},{'inf' if i == 5 else r['acc']}\n"
                                                            for i, r in enumerate(rows)))
    (folder / "mixed.csv").write_text("arch,acc\n" + "".join(f"{r['arch']},{'n/a' if i == 7 else r['acc']}\n"
                                                              for i, r in enumerate(rows)))
    (folder / "dup.csv").write_text("arch,acc\n" + "".join(f"{r['arch']},{r['acc']}\n" for r in rows)
                                    + f"{rows[0]['arch']},1\n")
    (folder / "badarch.csv").write_text("arch,acc\n" + "".join(f"{r['arch']},{r['acc']}\n" for r in rows)
                                        + "conv3|conv9|conv3,1\n")
    (folder / "nb201_bad.csv").write_text(f"arch,acc\n{NB201_A},1\n|bogus~0|+|x|,2\n")
    (folder / "table.xlsx").write_text("arch,acc\n")
    (folder / "bad.json").write_text("{not json")
    (folder / "bad.yaml").write_text("layers: [a, b\n")
    (folder / "layers_dup.json").write_text('[["a", "a"], ["b", "c"]]')
    (folder / "layers_empty.json").write_text("[]")
    (folder / "layers_one.json").write_text('[["a"], ["b"]]')
    (folder / "layers.txt").write_text("[]")
    (folder / "notspace.py").write_text("def build():\n    return 42\n")
    (folder / "trials.csv").write_text("number,state,cell,acc\n0,COMPLETE,conv3|conv3|conv3,1\n")
    # a surrogate artifact (lgb + knn) and damaged variants
    table = TabularBenchmark(rows, chain, name="chain.csv")  # as `--table chain.csv` names it
    lgb = SurrogateBenchmark.fit(chain, table, metrics=["acc"], model="lgb", model_params={"n_estimators": 30})
    lgb.save(folder / "artifact")
    SurrogateBenchmark.fit(chain, table, metrics=["acc"], model="knn").save(folder / "artifact_knn")
    # a foreign application's SQLite database, a 0-byte file
    con = sqlite3.connect(folder / "other_app.db")
    con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    con.execute("INSERT INTO customers (name) VALUES ('ada')")
    con.commit()
    con.close()
    (folder / "zero.db").write_bytes(b"")
    (folder / "notes.txt").write_text("not a database\n")
    np.save(folder / "array.npy", np.zeros(3))
    build_study_fixtures(folder)
    build_s54_fixtures(folder)


def build_study_fixtures(folder: Path) -> None:
    """Stored studies (two missing a trial row, one on a model space's module file) and image folders (one whose
    class names differ only in Unicode form)."""
    import numpy as np
    from PIL import Image

    from nasforge import Study
    from nasforge.spaces import get_space
    from nasforge.spaces.model_space import ModelSpace

    (folder / "net.py").write_text(MODULE)
    model_space = ModelSpace(f"{folder / 'net.py'}:Net", input_shape=(2,))
    for db, space, metric, n in [("study.db", get_space("nb201"), "val_acc", 5),
                                 ("modelspace.db", model_space, "score", 2)]:  # every architecture of the latter
        study = Study(space, "random", objectives=metric, seed=0, name="s", storage=f"sqlite:///{folder / db}")
        study.optimize(lambda arch: {metric: 1.0}, n_trials=n, progress=False)
        study.close()  # its file holds every row: copied alone into a case
    for db, number in (("gap.db", 2), ("tail.db", 4)):  # a trial row deleted by hand, inside the study or its last
        shutil.copy(folder / "study.db", folder / db)
        with sqlite3.connect(folder / db) as con:
            con.execute("DELETE FROM nasforge_trials WHERE number = ?", (number,))
        con.close()
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (folder / "imgs" / name).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(folder / "imgs" / name / f"{i}.png")


def damage(folder: Path, how: str) -> None:
    """Damage the artifact (or the model-space study) copied into a case folder."""
    from nasforge.predictors.checksums import file_checksums

    if how in S54_EDITS or how.startswith("supernet_"):
        damage_s54(folder, how)
        return
    if how == "module_syntax":  # the study's module file, this case's copy, edited so that it no longer parses
        with sqlite3.connect(folder / "modelspace.db") as con:
            config = json.loads(con.execute("SELECT space_config FROM nasforge_studies").fetchone()[0])
            config["module"] = f"{folder / 'net.py'}:Net"
            con.execute("UPDATE nasforge_studies SET space_config = ?", (json.dumps(config),))
        con.close()
        (folder / "net.py").write_text(MODULE + "def (:\n")
        return
    art = folder / ("artifact_knn" if "knn" in how else "artifact")
    manifest_path = art / "manifest.json"
    manifest = json.loads(manifest_path.read_text())

    def rehash() -> None:  # every checksum made to match: each model's predictor.json, then the manifest
        for entry in manifest["metrics"].values():
            record_file = art / entry["folder"] / "predictor.json"
            try:  # a record the case itself damaged stays as it is
                record = json.loads(record_file.read_text())
                record["sha256"] = file_checksums(record_file.parent, record["files"])
            except (ValueError, KeyError, TypeError, OSError):
                pass
            else:
                record_file.write_text(json.dumps(record))
            entry["files"] = file_checksums(art / entry["folder"])
        manifest_path.write_text(json.dumps(manifest))

    model = art / "acc" / "model.txt"
    if how == "truncated":
        model.write_bytes(model.read_bytes()[: model.stat().st_size // 3])
    elif how == "truncated_rehash":
        model.write_bytes(model.read_bytes()[: model.stat().st_size // 3])
        rehash()
    elif how == "pickle_rehash":
        model.write_bytes(pickle.dumps({"x": 1}))
        rehash()
    elif how == "knn_pickle_rehash":
        (art / "acc" / "knn.safetensors").write_bytes(pickle.dumps([1, 2]))
        rehash()
    elif how == "knn_npy_rehash":
        shutil.copy(folder / "array.npy", art / "acc" / "knn.safetensors")
        rehash()
    elif how == "missing_model":
        model.unlink()
    elif how in ("traversal", "absolute"):
        manifest["metrics"]["acc"]["folder"] = "../artifact_knn/acc" if how == "traversal" else str(art / "acc")
        manifest_path.write_text(json.dumps(manifest))
    elif how == "files_escape":
        manifest["metrics"]["acc"]["files"]["../manifest.json"] = "0" * 64
        manifest_path.write_text(json.dumps(manifest))
    elif how == "bad_json":
        manifest_path.write_text("{oops")
    elif how == "version99":
        manifest_path.write_text(json.dumps({**manifest, "format_version": 99}))
    elif how == "wrong_format":
        manifest_path.write_text(json.dumps({**manifest, "format": "other"}))
    elif how == "no_metrics":
        manifest_path.write_text(json.dumps({**manifest, "metrics": {}}))
    elif how == "no_checksums":
        for entry in manifest["metrics"].values():
            entry.pop("files", None)
        manifest_path.write_text(json.dumps(manifest))
    elif how.startswith("predjson_"):
        path = art / "acc" / "predictor.json"
        record = json.loads(path.read_text())
        field_name = how.split("_", 1)[1]
        if field_name == "yscale":
            record["state"].pop("y_scale")
        elif field_name == "predictor":
            record["predictor"] = 7
        elif field_name == "files":
            record["files"] = ["../../x"]
        elif field_name == "params":
            record["params"] = {"n_estimators": -3}
        elif field_name == "notjson":
            path.write_text("{")
            rehash()
            return
        path.write_text(json.dumps(record))
        rehash()
    elif how == "holdout":
        (art / "holdout.json").write_text('["not|an|arch|at|all"]')
        manifest.pop("holdout_sha256", None)
        manifest_path.write_text(json.dumps(manifest))
    else:
        raise ValueError(how)


# -- cases -----------------------------------------------------------------------------------------
def _numeric(parse) -> bool:
    """Whether an option's type reads numbers (``--artifact-version`` has a type of its own but takes text)."""
    try:
        return isinstance(parse("1"), (int, float))
    except (argparse.ArgumentTypeError, TypeError, ValueError):
        return True  # refuses 1 itself (e.g. must be > 1): a number all the same


def numeric_option_cases() -> list[Case]:
    """A non-number and -1 for every numeric option of every (sub)command."""
    from nasforge.cli import build_parser

    cases = []

    def walk(parser: argparse.ArgumentParser, prefix: list[str]):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, [*prefix, name])
        yield prefix, parser

    for prefix, parser in walk(build_parser(), []):
        if not prefix or any(isinstance(a, argparse._SubParsersAction) for a in parser._actions):
            continue
        required = []
        for a in parser._actions:
            if a.required and not a.option_strings:
                required.append("x")
            elif a.required:
                required += [a.option_strings[0], "x"]
        for a in parser._actions:
            if not a.option_strings or a.type in (None, str) or a.nargs == 0 or not _numeric(a.type):
                continue
            option = a.option_strings[0]
            values = ["abc"] + ([] if option in NEGATIVE_OK or a.choices else ["-1"])
            for value in values:
                cases.append(Case(f"cli:{' '.join(prefix)} {option} {value}", "cli",
                                  [*prefix, *required, option, value], [option, value]))
    return cases


def cli_cases() -> list[Case]:
    c: list[Case] = []

    def add(id_: str, argv: list[str], culprit: list[str], setup: list[str] | None = None, **kw) -> None:
        c.append(Case(f"cli:{id_}", "cli", argv, culprit, setup or [], **kw))

    bench = ["bench", "--strategies", "random", "--seeds", "1", "--trials", "5", "--workers", "1"]
    chain = [*bench, "--space", "chain", "--objective", "acc"]
    # bench: tables
    for name, culprit in [("missing.csv", ["missing.csv", "not found"]), ("garbage.csv.gz", ["garbage.csv.gz", "gzip"]),
                          ("truncated.csv.gz", ["truncated.csv.gz", "gzip"]), ("empty.csv", ["empty.csv", "empty"]),
                          ("binary.csv", ["binary.csv", "UTF-8"]), ("header.csv", ["header.csv", "no rows"]),
                          ("text.csv", ["text.csv", "numeric"]), ("nan.csv", ["nan.csv", "acc", "data row 4"]),
                          ("inf.csv", ["inf.csv", "acc", "data row 6"]),
                          ("mixed.csv", ["mixed.csv", "acc", "data row 8"]),
                          ("dup.csv", ["dup.csv", "repeats"]), ("badarch.csv", ["badarch.csv", "36 distinct"]),
                          ("table.xlsx", ["table.xlsx", "format"]), ("bad.json", ["bad.json"]),
                          ("partial.csv", ["partial.csv", "10 of the 18"])]:
        add(f"bench table {name}", [*chain, "--table", name], culprit, [name] if name != "missing.csv" else [])
    add("bench table bad arch with layers", [*chain, "--table", "badarch.csv", "--space-config", "layers.json"],
        ["badarch.csv", "conv9"], ["badarch.csv", "layers.json"])
    add("bench table is a folder", [*chain, "--table", "."], ["is not a file"])
    add("bench nb201 bad arch", [*bench, "--table", "nb201_bad.csv", "--objective", "acc"], ["data row 2", "bogus"],
        ["nb201_bad.csv"])
    add("bench arch column", [*chain, "--table", "chain.csv", "--arch-column", "cell"], ["--arch-column", "cell"],
        ["chain.csv"])
    add("bench objective", [*bench, "--space", "chain", "--table", "chain.csv", "--objective", "loss"],
        ["--objective", "loss"], ["chain.csv"])
    add("bench secondary", [*chain, "--table", "chain.csv", "--secondary", "loss"], ["--secondary", "loss"],
        ["chain.csv"])
    add("bench strategies", [*chain, "--table", "chain.csv", "--strategies", "annealing"], ["--strategies", "annealing"],
        ["chain.csv"])
    add("bench strategies empty", [*chain, "--table", "chain.csv", "--strategies", ","], ["--strategies"],
        ["chain.csv"])
    add("bench trials > table", [*chain, "--table", "chain.csv", "--trials", "28"], ["--trials 28", "27"],
        ["chain.csv"])
    add("bench space", [*bench, "--space", "resnet"], ["--space", "resnet"])
    add("bench chain no table", [*bench, "--space", "chain", "--space-config", "layers.json"], ["--table"],
        ["layers.json"])
    add("bench dataset", [*bench, "--dataset", "mnist"], ["mnist"])
    add("bench space-config missing", [*chain, "--table", "chain.csv", "--space-config", "nope.json"],
        ["--space-config", "nope.json"], ["chain.csv"])
    for name, culprit in [("bad.json", ["bad.json", "JSON"]), ("bad.yaml", ["bad.yaml", "YAML"]),
                          ("layers_dup.json", ["layers_dup.json", "more than once"]),
                          ("layers_empty.json", ["layers_empty.json", "layers"]),
                          ("layers_one.json", ["layers_one.json", "two or more choices"]),
                          ("layers.txt", ["layers.txt", ".json"])]:
        add(f"bench space-config {name}", [*chain, "--table", "chain.csv", "--space-config", name], culprit,
            ["chain.csv", name])
    add("bench space-config other layers", [*chain, "--table", "chain.csv", "--space-config", "layers_dup.json"],
        ["layers_dup.json"], ["chain.csv", "layers_dup.json"])
    add("bench space-config nb201 kwarg", [*bench, "--space", "nb201", "--space-config", "layers.json"],
        ["--space-config", "mapping"], ["layers.json"])
    add("bench space-module format", [*bench, "--space-module", "nope"], ["--space-module", "nope"])
    add("bench space-module missing", [*bench, "--space-module", "nope.py:Space"], ["nope.py"])
    add("bench space-module attr", [*bench, "--space-module", "notspace.py:Nope"], ["notspace.py", "Nope"],
        ["notspace.py"])
    add("bench space-module not a space", [*bench, "--space-module", "notspace.py:build"], ["build"],
        ["notspace.py"])
    add("bench out is a file", [*chain, "--table", "chain.csv", "--out", "chain.csv"], ["--out", "chain.csv"],
        ["chain.csv"])
    add("bench out under a file", [*chain, "--table", "chain.csv", "--out", "chain.csv/x"], ["--out", "chain.csv/x"],
        ["chain.csv"])
    add("bench format", [*chain, "--format", "xml"], ["--format", "xml"])
    add("bench direction", [*chain, "--direction", "up"], ["--direction", "up"])
    add("bench old flag", ["bench", "--budget", "5"], ["--budget"])
    # predictors eval
    pe = ["predictors", "eval", "--space", "chain", "--table", "chain.csv", "--metric", "acc", "--predictors", "knn",
          "--train-sizes", "5", "--test-size", "5", "--seeds", "1"]
    add("predictors unknown", [*pe, "--predictors", "oracle"], ["--predictors", "oracle"], ["chain.csv"])
    add("predictors sizes text", [*pe, "--train-sizes", "a,b"], ["--train-sizes", "a,b"], ["chain.csv"])
    add("predictors sizes empty", [*pe, "--train-sizes", ","], ["--train-sizes"], ["chain.csv"])
    add("predictors sizes 1", [*pe, "--train-sizes", "1"], ["--train-sizes", "1"], ["chain.csv"])
    add("predictors sizes too big", [*pe, "--train-sizes", "25"], ["--train-sizes", "25", "27"], ["chain.csv"])
    add("predictors params json", [*pe, "--params", "{x"], ["--params", "JSON"], ["chain.csv"])
    add("predictors params type", [*pe, "--params", '{"knn": 3}'], ["--params"], ["chain.csv"])
    add("predictors params other", [*pe, "--params", '{"gin": {}}'], ["--params", "gin"], ["chain.csv"])
    add("predictors params kwarg", [*pe, "--params", '{"knn": {"colour": 1}}'], ["--params", "colour"], ["chain.csv"])
    add("predictors params value", [*pe, "--params", '{"knn": {"n_neighbors": -2}}'], ["--params", "n_neighbors"],
        ["chain.csv"])
    add("predictors metric", [*pe, "--metric", "loss"], ["--metric", "loss"], ["chain.csv"])
    add("predictors table", [*pe, "--table", "nan.csv"], ["nan.csv", "acc"], ["nan.csv"])
    add("predictors out is a file", [*pe, "--out", "chain.csv"], ["--out", "chain.csv"], ["chain.csv"])
    # surrogate fit
    sf = ["surrogate", "fit", "--space", "chain", "--table", "chain.csv", "--metrics", "acc", "--model", "knn",
          "--out", "s"]
    add("surrogate fit model", [*sf, "--model", "oracle"], ["--model", "oracle"], ["chain.csv"])
    add("surrogate fit model rf", [*sf, "--model", "rf"], ["--model rf", "safe file format"], ["chain.csv"])
    add("surrogate fit noise", [*sf, "--noise", "loud"], ["--noise", "loud"], ["chain.csv"])
    add("surrogate fit noise negative", [*sf, "--noise", "-1"], ["--noise", "-1"], ["chain.csv"])
    add("surrogate fit noise seeds", [*sf, "--noise", "seeds"], ["seeds", "acc"], ["chain.csv"])
    add("surrogate fit holdout", [*sf, "--holdout", "1.5"], ["--holdout", "1.5"], ["chain.csv"])
    add("surrogate fit holdout negative", [*sf, "--holdout", "-0.1"], ["--holdout", "-0.1"], ["chain.csv"])
    add("surrogate fit metrics empty", [*sf, "--metrics", ","], ["--metrics"], ["chain.csv"])
    add("surrogate fit version empty", [*sf, "--artifact-version", ""], ["--artifact-version"], ["chain.csv"])
    add("surrogate fit version path", [*sf, "--artifact-version", "../x"], ["--artifact-version", "../x"],
        ["chain.csv"])
    add("surrogate fit metrics missing", [*sf, "--metrics", "loss"], ["--metrics", "loss"], ["chain.csv"])
    add("surrogate fit params", [*sf, "--params", "[1]"], ["--params"], ["chain.csv"])
    add("surrogate fit params kwarg", [*sf, "--params", '{"depth": 3}'], ["--params", "depth"], ["chain.csv"])
    add("surrogate fit out exists", [*sf[:-1], "artifact"], ["--out", "artifact", "already"], ["chain.csv", "artifact"])
    add("surrogate fit trials arch column", [*sf, "--table", "trials.csv"], ["--arch-column", "arch"], ["trials.csv"])
    add("surrogate fit old --trials", ["surrogate", "fit", "--trials", "t.csv", "--out", "s"], ["--trials"])
    add("surrogate fit old --version", ["surrogate", "fit", "--version", "2", "--out", "s"], ["--version"])
    add("surrogate fit table", [*sf, "--table", "binary.csv"], ["binary.csv"], ["binary.csv"])
    add("surrogate fit out is a file", [*sf[:-1], "chain.csv"], ["--out", "chain.csv"], ["chain.csv"])
    # surrogate eval / info on damaged artifacts
    se = ["surrogate", "eval", "artifact", "--table", "chain.csv", "--seeds", "1", "--trials", "5", "--out", "e"]
    add("surrogate eval missing", ["surrogate", "eval", "nowhere", "--table", "chain.csv"], ["nowhere"], ["chain.csv"])
    add("surrogate eval not an artifact", ["surrogate", "eval", ".", "--table", "chain.csv"], ["manifest.json"],
        ["chain.csv"])
    damages = {"truncated": ["model.txt", "SHA-256"], "truncated_rehash": ["model.txt", "LightGBM"],
               "pickle_rehash": ["LightGBM", "acc"], "knn_pickle_rehash": ["knn", "acc"], "knn_npy_rehash": ["knn", "acc"],
               "missing_model": ["model.txt", "missing"], "traversal": ["metrics.acc.folder", "../artifact_knn/acc"],
               "absolute": ["metrics.acc.folder"], "files_escape": ["../manifest.json"],
               "bad_json": ["manifest.json", "JSON"], "version99": ["99"], "wrong_format": ["manifest.json", "other"],
               "no_metrics": ["metrics"], "no_checksums": ["checksums"], "predjson_yscale": ["state.y_scale"],
               "predjson_predictor": ["'predictor'"], "predjson_files": ["'files'"], "predjson_params": ["params"],
               "predjson_notjson": ["predictor.json", "JSON"], "holdout": ["holdout.json"]}
    for how, culprit in damages.items():
        art = "artifact_knn" if "knn" in how else "artifact"
        add(f"surrogate eval damaged {how}", [se[0], se[1], art, *se[3:]], culprit, ["chain.csv", art, "array.npy",
                                                                                     f"damage:{how}"])
        if how in ("truncated", "bad_json", "version99", "traversal", "no_metrics"):
            add(f"surrogate info damaged {how}", ["surrogate", "info", art], culprit, [art, f"damage:{how}"])
    add("surrogate eval metric", [*se, "--metric", "loss"], ["--metric", "loss"], ["chain.csv", "artifact"])
    add("surrogate eval noisy", [*se, "--noisy"], ["--noisy"], ["chain.csv", "artifact"])
    add("surrogate eval strategies", [*se, "--strategies", "annealing"], ["annealing"], ["chain.csv", "artifact"])
    add("surrogate eval space", [*se, "--space", "nb201"], ["space"], ["chain.csv", "artifact"])
    add("surrogate eval table nan", [*se[:3], "--table", "nan.csv"], ["nan.csv"], ["nan.csv", "artifact"])
    add("surrogate eval old --runs", [*se, "--runs", "2"], ["--runs"], ["chain.csv", "artifact"])
    add("surrogate eval out is a file", [*se[:-1], "chain.csv"], ["--out", "chain.csv"], ["chain.csv", "artifact"])
    add("surrogate info format", ["surrogate", "info", "artifact", "--format", "xml"], ["--format", "xml"],
        ["artifact"])
    add("surrogate info old --json", ["surrogate", "info", "artifact", "--json"], ["--json"], ["artifact"])
    # engine verbs and storages (other engineers' commands)
    for verb, extra in [("studies", []), ("status", ["s"]), ("trials", ["s"]), ("report", ["s"])]:
        add(f"{verb} bad scheme", [verb, *extra, "--storage", "foo://bar"], ["foo://bar"])
        add(f"{verb} missing dir", [verb, *extra, "--storage", "sqlite:////nonexistent_dir/x.db"],
            ["/nonexistent_dir/x.db"])
        add(f"{verb} foreign db", [verb, *extra, "--storage", "sqlite:///other_app.db"], ["other_app.db"],
            ["other_app.db"])
        add(f"{verb} missing file", [verb, *extra, "--storage", "sqlite:///missing.db"], ["missing.db"],
            must_not_create=["missing.db"])
        add(f"{verb} zero-byte file", [verb, *extra, "--storage", "sqlite:///zero.db"], ["zero.db"], ["zero.db"])
        add(f"{verb} text file", [verb, *extra, "--storage", "sqlite:///notes.txt"], ["notes.txt"], ["notes.txt"])
    add("trials format", ["trials", "s", "--format", "xml"], ["--format", "xml"])
    add("trials old --output", ["trials", "s", "--output", "x.csv"], ["--output"])
    add("resume old --n-workers", ["resume", "s", "--n-workers", "2"], ["--n-workers"])
    add("resume unknown study", ["resume", "nope", "--storage", "sqlite:///other_app.db"], ["other_app.db"],
        ["other_app.db"])
    add("resume evaluator kwargs", ["resume", "s", "--evaluator", "os:system", "--evaluator-kwargs", "{x"],
        ["--evaluator-kwargs"])
    add("delete foreign db", ["delete", "s", "--storage", "sqlite:///other_app.db", "--yes"], ["other_app.db"],
        ["other_app.db"])
    sr = ["search", "--trials", "2", "--retrain", "0", "--workers", "1"]
    add("search bad scheme", [*sr, "--storage", "foo://bar"], ["foo://bar"])
    add("search storage missing dir", [*sr, "--storage", "sqlite:////nonexistent_dir/x.db"], ["/nonexistent_dir"])
    add("search search-epochs 0", [*sr, "--search-epochs", "0"], ["--search-epochs", "0"])
    add("search final-epochs -1", [*sr, "--final-epochs", "-1"], ["--final-epochs", "-1"])
    add("search timeout -5", [*sr, "--timeout", "-5"], ["--timeout", "-5"])
    add("search old --budget", [*sr, "--budget", "5"], ["--budget"])
    add("search space", [*sr, "--space", "resnet"], ["--space", "resnet"])
    add("search data", [*sr, "--data", "mnist"], ["--data", "mnist"])
    add("search data-dir", [*sr, "--data", "cifar10", "--data-dir", "nowhere"], ["nowhere"])
    add("search objectives", [*sr, "--objectives", "val_acc:up"], ["--objectives", "val_acc:up"])
    add("search objectives metric", [*sr, "--objectives", "beauty:max"], ["--objectives", "beauty"])
    add("search strategy", [*sr, "--strategy", "annealing"], ["annealing"])
    add("search pruner", [*sr, "--pruner", "magic"], ["--pruner", "magic"])
    add("search name empty", [*sr, "--name", ""], ["--name"])
    add("search space-config", [*sr, "--space", "chain"], ["--space-config"])
    add("search name not UTF-8", [*sr, "--name", NOT_UTF8], ["--name", "valid UTF-8", "'\\udcff'"])
    for verb in ("status", "trials", "resume", "delete"):
        yes = ["--yes"] if verb == "delete" else []
        add(f"{verb} name not UTF-8", [verb, NOT_UTF8, "--storage", "sqlite:///study.db", *yes],
            ["study name '\\udcff'", "not valid UTF-8"], ["study.db"])
    add("resume missing trial row", ["resume", "s", "--storage", "sqlite:///gap.db"], ["'s'", "lacks trials 2..2"],
        ["gap.db"])
    add("resume missing last trial row", ["resume", "s", "--storage", "sqlite:///tail.db"],
        ["'s'", "lacks trials 4..4", "it numbered 5 trials"], ["tail.db"])
    add("search pruner never stops", [*sr, "--pruner", '{"name": "asha", "max_resource": 1}'],
        ["--pruner", "can never stop a trial", "max_resource"])
    add("resume module no longer parses", ["resume", "s", "--storage", "sqlite:///modelspace.db"],
        ["net.py", "changed since the study was trained", "SyntaxError"],
        ["net.py", "modelspace.db", "damage:module_syntax"])
    add("search data digits-hard", [*sr, "--data", "digits-hard"], ["--data", "digits-hard needs --evaluator supernet"])
    inside = ["inside the folder", "imgs"]
    add("search storage inside the data", [*sr, "--data", "folder", "--data-dir", "imgs", "--storage",
                                           "sqlite:///imgs/a/s.db"], ["--storage", *inside], ["imgs"],
        must_not_create=["imgs/a/s.db"])
    add("export missing", ["export", "nowhere", "--out", "m.onnx"], ["nowhere"])
    add("export format", ["export", "x", "--out", "m", "--format", "pickle"], ["--format", "pickle"])
    add("export foreign db", ["export", "s", "--storage", "sqlite:///other_app.db", "--out", "m.onnx"],
        ["other_app.db"], ["other_app.db"])
    add("dashboard storage", ["dashboard", "--storage", "foo://bar"], ["foo://bar"])
    add("dashboard port", ["dashboard", "--port", "70000"], ["--port", "70000"])
    add("dashboard interval", ["dashboard", "--interval", "0"], ["--interval", "0"])
    add("oneshot search checkpoint", ["oneshot", "search", "--checkpoint", "nowhere"], ["nowhere"])
    add("oneshot train epochs 0", ["oneshot", "train", "--epochs", "0"], ["--epochs", "0"])
    add("oneshot train data", ["oneshot", "train", "--data", "mnist"], ["--data", "mnist"])
    images = ["--data", "folder", "--data-dir", "imgs", "--epochs", "1"]
    add("oneshot train out inside the data", ["oneshot", "train", *images, "--out", "imgs/sn"], ["--out", *inside],
        ["imgs"], must_not_create=["imgs/sn"])
    os_ = ["oneshot", "study", *images, "--k", "10", "--seeds", "1", "--supernet-epochs", "1"]
    add("oneshot study out inside the data", [*os_, "--out", "imgs/st"], ["--out", *inside], ["imgs"],
        must_not_create=["imgs/st"])
    add("oneshot study storage inside the data", [*os_, "--out", "st", "--storage", "sqlite:///imgs/a/g.db"],
        ["--storage", *inside], ["imgs"], must_not_create=["imgs/a/g.db", "st"])
    add("unknown command", ["frobnicate"], ["frobnicate"])
    return c


def api_cases() -> list[Case]:
    c: list[Case] = []

    def add(id_: str, code: str, culprit: list[str], setup: list[str] | None = None) -> None:
        c.append(Case(f"api:{id_}", "api", code, culprit, setup or []))

    sp = "from nasforge.spaces import get_space, ChainSpace\n"
    add("get_space unknown", sp + "get_space('resnet')", ["resnet"])
    add("get_space chain no layers", sp + "get_space('chain')", ["layers"])
    add("chain empty", sp + "ChainSpace([])", ["layers"])
    add("chain one choice", sp + "ChainSpace([['a'], ['b']])", ["two or more"])
    add("chain repeated", sp + "ChainSpace([['a', 'a'], ['b', 'c']])", ["'a'"])
    add("chain string", sp + "ChainSpace('abc')", ["'abc'"])
    add("chain bad stages", sp + "ChainSpace([['a', 'b']] * 2, stages=[3])", ["stages"])
    add("chain pipe choice", sp + "ChainSpace([['a|b', 'c']])", ["'a|b'"])
    add("chain two skips", sp + "ChainSpace([['skip', 'identity', 'a']])", ["skip"])
    add("chain uniform 0", sp + "ChainSpace.uniform(0, ['a', 'b'])", ["n_layers", "0"])
    add("chain from_config key", sp + "ChainSpace.from_config({'layer': []})", ["layer"])
    for name, text in [("nb201", "|nope~0|+|x|"), ("darts", "nonsense"), ("nb101", "nonsense"), ("proxylessnas", "x|y")]:
        add(f"parse {name}", sp + f"get_space('{name}').parse({text!r})", [repr(text)[1:-1][:8]])
    add("parse chain choice", sp + "ChainSpace([['a', 'b']] * 2).parse('a|z')", ["'z'"])
    add("parse chain count", sp + "ChainSpace([['a', 'b']] * 2).parse('a')", ["2 layer"])
    add("parse not a string", sp + "ChainSpace([['a', 'b']] * 2).parse(3)", ["int"])
    tb = "from nasforge.benchmarks import TabularBenchmark, load_nb201, read_table\n" + sp + \
         "space = ChainSpace([['conv3', 'conv5', 'skip']] * 3)\n"
    for name, culprit in [("missing.csv", ["missing.csv"]), ("garbage.csv.gz", ["garbage.csv.gz"]),
                          ("truncated.csv.gz", ["truncated.csv.gz"]), ("empty.csv", ["empty.csv"]),
                          ("binary.csv", ["binary.csv"]), ("header.csv", ["header.csv"]), ("text.csv", ["acc"]),
                          ("nan.csv", ["acc", "data row 4"]), ("inf.csv", ["acc", "data row 6"]),
                          ("mixed.csv", ["acc"]),
                          ("dup.csv", ["repeats"]), ("badarch.csv", ["conv9"]), ("table.xlsx", ["table.xlsx"])]:
        add(f"TabularBenchmark {name}", tb + f"TabularBenchmark({name!r}, space)", culprit,
            [name] if name != "missing.csv" else [])
    add("TabularBenchmark arch column", tb + "TabularBenchmark('chain.csv', space, arch_column='cell')", ["'cell'"],
        ["chain.csv"])
    add("TabularBenchmark metrics", tb + "TabularBenchmark('chain.csv', space, metrics=['loss'])", ["'loss'"],
        ["chain.csv"])
    add("TabularBenchmark records nan", tb + "TabularBenchmark([{'arch': 'conv3|conv3|conv3', 'acc': float('nan')},"
        "{'arch': 'conv5|conv3|conv3', 'acc': 1.0}], space)", ["acc", "data row 1"])
    add("read_table int", tb + "read_table(3)", ["int"])
    add("load_nb201 dataset", tb + "load_nb201(dataset='mnist')", ["mnist"])
    add("load_nb201 missing", tb + "load_nb201('missing.csv')", ["missing.csv"])
    add("TableEvaluator cost", tb + "from nasforge.evaluators import TableEvaluator\n"
        "TableEvaluator(TabularBenchmark('chain.csv', space), cost_metric='seconds')", ["seconds"], ["chain.csv"])
    sb = tb + "from nasforge.benchmarks import SurrogateBenchmark\nt = TabularBenchmark('chain.csv', space)\n"
    add("surrogate holdout", sb + "SurrogateBenchmark.fit(space, t, metrics='acc', model='knn', holdout=1.5)",
        ["holdout", "1.5"], ["chain.csv"])
    add("surrogate metrics empty", sb + "SurrogateBenchmark.fit(space, t, metrics=[], model='knn')", ["metric"],
        ["chain.csv"])
    add("surrogate model", sb + "SurrogateBenchmark.fit(space, t, metrics='acc', model='oracle')", ["oracle"],
        ["chain.csv"])
    add("surrogate params", sb + "SurrogateBenchmark.fit(space, t, metrics='acc', model='knn', "
        "model_params={'colour': 1})", ["colour"], ["chain.csv"])
    add("surrogate noise", sb + "SurrogateBenchmark.fit(space, t, metrics='acc', model='knn', noise_model='loud')",
        ["loud"], ["chain.csv"])
    add("surrogate noise seeds", sb + "SurrogateBenchmark.fit(space, t, metrics='acc', model='knn', "
        "noise_model='seeds')", ["seeds", "acc"], ["chain.csv"])
    add("surrogate metric missing", sb + "SurrogateBenchmark.fit(space, t, metrics='loss', model='knn')", ["loss"],
        ["chain.csv"])
    add("surrogate other space", sb + "SurrogateBenchmark.fit(get_space('nb201'), t, metrics='acc', model='knn')",
        ["nb201"], ["chain.csv"])
    for how in ("truncated", "truncated_rehash", "pickle_rehash", "knn_pickle_rehash", "traversal", "absolute",
                "files_escape", "bad_json", "version99", "no_checksums", "predjson_yscale", "predjson_files",
                "holdout", "missing_model"):
        art = "artifact_knn" if "knn" in how else "artifact"
        add(f"SurrogateBenchmark.load {how}", "from nasforge.benchmarks import SurrogateBenchmark\n"
            f"SurrogateBenchmark.load({art!r})", [art], [art, "array.npy", f"damage:{how}"])
    add("SurrogateBenchmark.load missing", "from nasforge.benchmarks import SurrogateBenchmark\n"
        "SurrogateBenchmark.load('nowhere')", ["nowhere"])
    pr = sp + "from nasforge.predictors import get_predictor, load_predictor\nspace = get_space('nb201')\n"
    add("get_predictor unknown", pr + "get_predictor('oracle', space)", ["oracle"])
    add("get_predictor kwarg", pr + "get_predictor('knn', space, colour=1)", ["colour"])
    add("get_predictor value", pr + "get_predictor('lgb', space, learning_rate=-1)", ["learning_rate"])
    add("predictor fit nan", pr + "import numpy as np\nrng = np.random.default_rng(0)\n"
        "a = [space.sample(rng) for _ in range(5)]\nget_predictor('knn', space).fit(a, [1, 2, float('nan'), 4, 5])",
        ["finite"])
    add("predictor fit lengths", pr + "import numpy as np\nrng = np.random.default_rng(0)\n"
        "a = [space.sample(rng) for _ in range(5)]\nget_predictor('knn', space).fit(a, [1, 2])", ["5", "2"])
    add("predictor before fit", pr + "import numpy as np\nget_predictor('knn', space)"
        ".predict([space.sample(np.random.default_rng(0))])", ["fit"])
    add("load_predictor missing", pr + "load_predictor('nowhere', space)", ["nowhere"])
    st = sp + "from nasforge import Study, get_strategy\nspace = get_space('nb201')\n"
    add("get_strategy unknown", st + "get_strategy('annealing', space)", ["annealing"])
    add("Study strategy", st + "Study(space, 'annealing')", ["annealing"])
    add("Study directions", st + "Study(space, 'random', directions='up')", ["up"])
    add("Study objectives mismatch", st + "Study(space, 'random', objectives=['a', 'b'], directions=['maximize'] * 3)",
        ["objectives", "directions"])
    add("Study name empty", st + "Study(space, 'random', name='')", ["name"])
    add("Study name None", st + "Study(space, 'random', name=None)", ["name"])
    add("Study storage scheme", st + "Study(space, 'random', storage='foo://bar')", ["foo://bar"])
    add("Study storage missing dir", st + "Study(space, 'random', storage='sqlite:////nonexistent_dir/x.db')",
        ["/nonexistent_dir"])
    add("Study tell unknown trial", st + "s = Study(space, 'random')\ns.tell(999, 1.0)", ["999"])
    add("Study optimize n_trials float", st + "s = Study(space, 'random')\ns.optimize(lambda a: 1.0, n_trials=2.5)",
        ["n_trials", "2.5"])
    add("Study optimize timeout", st + "s = Study(space, 'random')\ns.optimize(lambda a: 1.0, n_trials=2, timeout=-5)",
        ["timeout", "-5"])
    add("Study optimize n_trials negative", st + "s = Study(space, 'random')\ns.optimize(lambda a: 1.0, n_trials=-1)",
        ["n_trials", "-1"])
    add("Study optimize workers", st + "s = Study(space, 'random')\n"
        "s.optimize(lambda a: 1.0, n_trials=2, n_workers=0)", ["n_workers", "0"])
    add("Study optimize executor", st + "s = Study(space, 'random')\n"
        "s.optimize(lambda a: 1.0, n_trials=2, executor='gpu')", ["executor", "gpu"])
    add("Study name not UTF-8", st + "Study(space, 'random', name='\\udcff', storage='sqlite:///n.db')",
        ["'\\udcff'", "UTF-8"])
    add("Study.load name not UTF-8", st + "Study.load('\\udcff', 'sqlite:///study.db')", ["'\\udcff'", "UTF-8"],
        ["study.db"])
    used = st + "strategy = get_strategy('random', space, seed=0)\nstrategy.tell(strategy.ask(), 1.0)\n"
    add("Study stored used strategy", used + "Study(space, strategy, storage='sqlite:///u.db', name='u')",
        ["already asked 1", "pass a fresh strategy object"])
    add("Study.load used strategy", used + "Study.load('s', 'sqlite:///study.db', strategy=strategy)",
        ["Study.load('s')", "already asked 1", "pass a fresh strategy object"], ["study.db"])
    add("Study.load replay", st + "Study.load('s', 'sqlite:///study.db', replay='no')", ["replay", "'no'"],
        ["study.db"])
    add("Study ask queued", st + "Study(space, 'random').ask(queued='no')", ["queued", "'no'"])
    add("Study ask_until queued", st + "Study(space, 'random').ask_until(5, queued=1)", ["queued", "1"])
    add("strategy class space int", "from nasforge.strategies import RegularizedEvolution\n"
        "RegularizedEvolution(5, seed=0)", ["space", "int"])
    add("load_study_data storage int", "from nasforge.analysis.studyreport import load_study_data\n"
        "load_study_data(5, 's')", ["load_study_data", "storage", "int"])
    sim = "from nasforge.analysis.simulate import ModelledCurves, simulate\n"
    add("ModelledCurves str", sim + "ModelledCurves('nb201')", ["ModelledCurves", "TabularBenchmark", "str"])
    add("simulate strategy int", sim + "simulate(5, None)", ["simulate", "strategy", "int"])
    add("split_supernet None", "from nasforge.oneshot import split_supernet\nsplit_supernet(None, ['edge_0_3'])",
        ["split_supernet", "supernet", "NoneType"])
    ds = ("import torch\nfrom nasforge.data import ImageDataset\nx, y = torch.rand(8, 1, 8, 8), torch.arange(8) % 2\n"
          "data = ImageDataset('tiny', x, y, x, y, x, y, num_classes=2)\n")
    add("ImageDataset.subset fraction text", ds + "data.subset('0.5')", ["fraction", "'0.5'"])
    add("ImageDataset.subset seed float", ds + "data.subset(0.5, seed=1.5)", ["seed", "1.5"])
    add("ImageDataset.resized float", ds + "data.resized(16.0)", ["resolution", "16.0"])
    reports = "def ev(arch, fidelity=None, reporter=None):\n    return {'acc': 1.0}\n"
    add("Study optimize pruner never stops", st + reports + "Study(space, 'random', objectives='acc').optimize("
        "ev, n_trials=2, pruner={'name': 'asha', 'max_resource': 1})", ["can never stop a trial", "max_resource"])
    add("Study optimize report_direction", st + "class Ev:\n    report_direction = 'max'\n"
        "    def __call__(self, arch, reporter=None):\n        return {'acc': 1.0}\n"
        "Study(space, 'random', objectives='acc').optimize(Ev(), n_trials=2, pruner='median')",
        ["report_direction", "'max'"])
    add("RayExecutor blank address", "from nasforge.experiment.executors.ray import RayExecutor\n"
        "RayExecutor(1, address='  ')", ["address is blank"])
    return c


# -- stop 54's refusals (every id holds "s54") -----------------------------------------------------
FEW_SHOT_GROUPS = {"edge_0_3": [["none", "skip_connect"], ["nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]],
                   "edge_1_2": [["none"], ["skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]]}
DARTS_CONCAT = "normal_concat=[2, 3, 4, 5], reduce=[], reduce_concat=[2, 3, 4, 5]"
MISSING_PACKAGE = "import no_such_package_s54\n"
# hand edits of a stored study's JSON columns: how -> (database, column, trial number or None for the study row,
# {key: value}; "a.b" sets key b of the object under a)
S54_EDITS: dict[str, tuple[str, str, int | None, dict]] = {
    "config_text": ("run/study.db", "user_attrs", None, {"pipeline_config": "oops"}),
    "config_list": ("run/study.db", "user_attrs", None, {"pipeline_config": [1]}),
    "retrain_text": ("run/study.db", "user_attrs", None, {"pipeline_config.retrain": "x"}),
    "objectives_number": ("run/study.db", "user_attrs", None, {"pipeline_config.objectives": 5}),
    "out_number": ("run/study.db", "user_attrs", None, {"pipeline_config.out": 5}),
    "storage_null": ("run/study.db", "user_attrs", None, {"pipeline_config.storage": None}),
    "final_epochs_negative": ("run/study.db", "user_attrs", None, {"pipeline_config.final_epochs": -1}),
    "source_trial_list": ("run/study.db", "user_attrs", 1, {"stage": "retrain", "source_trial": [1],
                                                            "model_dir": "x"}),
    "source_trial_bool": ("run/study.db", "user_attrs", 1, {"stage": "retrain", "source_trial": True,
                                                            "model_dir": "x"}),
    "model_dir_number": ("run/study.db", "user_attrs", 1, {"stage": "retrain", "source_trial": 0, "model_dir": 5}),
    "retrained_list": ("run/study.db", "user_attrs", None, {"retrained": [1]}),
    **{f"target_{name}": ("study.db", "run_config", None, {"n_trials_total": value})
       for name, value in [("text", "x"), ("null", None), ("negative", -1), ("bool", True), ("list", [3])]},
    "target_eight": ("study.db", "run_config", None, {"n_trials_total": 8}),  # valid: 3 trials left to run
}


def _few_shot_part(i: int, part: object):
    return lambda info: info["config"]["few_shot"].__setitem__(i, part)


# hand edits of the few-shot supernet.json: how -> edit(info) (damage:supernet_HOW)
SUPERNET_EDITS = {
    "part_unknown_option": _few_shot_part(0, {"edge_0_3": ["bogus"], "edge_1_2": ["none"]}),
    "part_unknown_decision": _few_shot_part(0, {"edge_9_9": ["none"], "edge_1_2": ["none"]}),
    "part_not_a_dict": _few_shot_part(0, "edge_0_3"),
    "parts_overlap": _few_shot_part(3, {"edge_0_3": ["nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"],
                                        "edge_1_2": ["none"]}),
    "parts_leave_out": _few_shot_part(3, {"edge_0_3": ["nor_conv_1x1"], "edge_1_2": FEW_SHOT_GROUPS["edge_1_2"][1]}),
    "arch_trained_text": lambda info: info.update(arch_trained="yes"),
    "config_list": lambda info: info.update(config=[1]),
    "space_number": lambda info: info.update(space=201),
    "sha256_number": lambda info: info.update(weights_sha256=5),
}


def build_s54_fixtures(folder: Path) -> None:
    """What stop 54's refusals read: a finished search run's study.db, a few-shot supernet, image folders (a huge
    first image, a class named train), a partial CIFAR binary folder, modules importing a missing package, a -wal
    archived without its -shm, DARTS tables with a deeply nested or megabytes-long genotype."""
    import numpy as np
    import pandas as pd
    from PIL import Image

    from nasforge import Result, Study
    from nasforge.oneshot import build_supernet, split_supernet
    from nasforge.oneshot.checkpoint import save_supernet
    from nasforge.pipelines.search import SearchConfig
    from nasforge.spaces import get_space

    run = folder / "run"  # as `nasforge search --out run` left it (a copy: its recorded folder is the fixtures')
    run.mkdir()
    url = f"sqlite:///{run / 'study.db'}"
    study = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="S", storage=url)
    config = SearchConfig(trials=2, workers=1, retrain=1, out=str(run), name="S").resolved().to_json()
    for key, value in {"pipeline": "search", "pipeline_config": config, "search_done": True}.items():
        study.set_user_attr(key, value)
    for _ in range(2):
        study.tell(study.ask(), Result(metrics={"acc": 1.0, "test_acc": 0.5}))
    study.close()
    net = split_supernet(build_supernet("nb201", 10, 1, C=2, N=1), list(FEW_SHOT_GROUPS), FEW_SHOT_GROUPS)
    save_supernet(net, folder / "fs", {"data": {"data": "digits", "data_options": {}}})
    rng = np.random.default_rng(0)
    for name, classes, count in (("big", "ab", 150), ("vehicles", ("bus", "car", "train"), 4)):
        for label in classes:
            (folder / name / label).mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 256, (8, 8), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / name / label / f"{i}.png")
    # first by path: 9000x9000 RGB, so 301 images need 365 GiB as float32 (under Pillow's bomb limit)
    Image.new("RGB", (9000, 9000)).save(folder / "big" / "a" / "0-big.png", compress_level=1)
    (folder / "cifar" / "cifar-10-batches-bin").mkdir(parents=True)  # an interrupted extraction: the test batch only
    (folder / "cifar" / "cifar-10-batches-bin" / "test_batch.bin").write_bytes(bytes(3073 * 3))
    (folder / "needs_pkg.py").write_text(MISSING_PACKAGE + "class Net:\n    pass\n")
    (folder / "ev_needs.py").write_text(MISSING_PACKAGE + "def make():\n    return None\n")
    (folder / "archive").mkdir()  # a killed writer's hw.db and hw.db-wal, archived without the -shm index
    hw = Study(get_space("nb201"), "random", objectives="acc", seed=0, name="hw", storage=f"sqlite:///{folder}/hw.db")
    hw.optimize(lambda arch: {"acc": 1.0}, n_trials=3, progress=False)
    for suffix in ("", "-wal"):
        shutil.copy(folder / f"hw.db{suffix}", folder / "archive" / f"hw.db{suffix}")
    hw.close()
    darts = get_space("darts")
    rows = [{"arch": darts.format(darts.sample(rng)), "val_acc": float(i)} for i in range(3)]
    for name, genotype in (("deep.csv", f"Genotype(normal={'-' * 1000}1, {DARTS_CONCAT})"),
                           ("long.csv", "not " * 500_000)):  # nested 1000 levels deep; 2 MB long
        pd.DataFrame([*rows, {"arch": genotype, "val_acc": 1.0}]).to_csv(folder / name, index=False)


def _set_json(text: str | None, changes: dict) -> str:
    """The JSON object ``text`` with ``changes`` made ("a.b": key b of the object under key a)."""
    value = json.loads(text) if text else {}
    for key, new in changes.items():
        outer, _, inner = key.partition(".")
        if inner:
            value[outer][inner] = new
        else:
            value[outer] = new
    return json.dumps(value)


def damage_s54(folder: Path, how: str) -> None:
    """A hand edit of the study database or the few-shot supernet.json copied into a case folder."""
    if how.startswith("supernet_"):
        path = folder / "fs" / "supernet.json"
        info = json.loads(path.read_text())
        SUPERNET_EDITS[how.removeprefix("supernet_")](info)
        path.write_text(json.dumps(info))
        return
    database, column, number, changes = S54_EDITS[how]
    table, where = ("nasforge_studies", "") if number is None else ("nasforge_trials", f" WHERE number = {number}")
    with sqlite3.connect(folder / database) as con:
        text = con.execute(f"SELECT {column} FROM {table}{where}").fetchone()[0]
        con.execute(f"UPDATE {table} SET {column} = ?{where}", (_set_json(text, changes),))
    con.close()


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """``folder`` read-only while a case runs, for root too (``chattr +i``)."""
    folder.chmod(0o555)
    immutable = subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
    try:
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


def s54_cases() -> list[Case]:
    """Stop 54's new refusals: a study.db whose attributes have the wrong type, damaged few-shot supernet.json
    files, image and CIFAR folders, modules importing a missing package, a read-only -wal without -shm, deep
    DARTS genotypes, and the API's non-string study names and user classes named like built-ins."""
    c: list[Case] = []

    def add(id_: str, args: list[str] | str, culprit: list[str], setup: list[str] | None = None) -> None:
        kind = "api" if isinstance(args, str) else "cli"
        c.append(Case(f"{kind}:s54 {id_}", kind, args, culprit, setup or []))

    # a search run's study.db: pipeline_config and stage-2 attributes of the wrong type
    for how, culprit in [("config_text", ["pipeline_config", "must be a JSON object, got str"]),
                         ("config_list", ["pipeline_config", "must be a JSON object, got list"]),
                         ("retrain_text", ["the recorded retrain of study 'S'", "'x'"]),
                         ("objectives_number", ["the recorded objectives of study 'S'"]),
                         ("out_number", ["the recorded out of study 'S'"]),
                         ("storage_null", ["the recorded storage of study 'S'"]),
                         ("final_epochs_negative", ["the recorded final_epochs of study 'S'", "-1"])]:
        add(f"resume run {how}", ["resume", "run"], culprit, ["run", f"damage:{how}"])
    export = ["export", "run", "--format", "safetensors", "--out", "x.safetensors"]
    missing = ["trial 1's saved network is missing", "looked at x"]  # the source trial skipped, model_dir x read
    for how, culprit in [("config_text", ["study S has no retrained network"]), ("source_trial_list", missing),
                         ("source_trial_bool", missing), ("retrained_list", ["study S has no retrained network"]),
                         ("model_dir_number", ["retrain trial 1 completed without a saved network", "model_dir 5"])]:
        add(f"export run {how}", export, culprit, ["run", f"damage:{how}"])
    # a damaged n_trials_total in a study's run_config, read by every verb
    target = ["'s'", "'run_config'", "n_trials_total"]
    storage = ["--storage", "sqlite:///study.db"]
    for verb, how in [("status", "target_text"), ("resume", "target_negative"), ("report", "target_bool"),
                      ("trials", "target_null"), ("export", "target_list")]:
        extra = {"report": ["--out", "r.html"], "export": ["--out", "m.safetensors", "--format", "safetensors"]}
        add(f"{verb} {how}", [verb, "s", *storage, *extra.get(verb, [])], target, ["study.db", f"damage:{how}"])
    add("Study.load target_list", "from nasforge import Study\nStudy.load('s', 'sqlite:///study.db')", target,
        ["study.db", "damage:target_list"])
    # a hand-edited few-shot supernet.json
    for how, culprit in [("part_unknown_option", ["few-shot parts", "edge_0_3 must list distinct options"]),
                         ("part_unknown_decision", ["few-shot parts", "'edge_9_9', not a decision"]),
                         ("part_not_a_dict", ["few-shot parts", "part 0 must be a {decision: [options]} dict"]),
                         ("parts_overlap", ["few-shot parts", "parts 2 and 3 both hold"]),
                         ("parts_leave_out", ["few-shot parts", "17 of the 25 option combinations"]),
                         ("arch_trained_text", ["supernet.json", "arch_trained", "'yes'"]),
                         ("config_list", ["supernet.json", "config must be an object"]),
                         ("space_number", ["supernet.json", "space must be a space's name, got 201"]),
                         ("sha256_number", ["supernet.json", "weights_sha256 must be a hex digest, got 5"])]:
        add(f"oneshot search fs {how}", ["oneshot", "search", "--checkpoint", "fs", "--trials", "5"], culprit,
            ["fs", f"damage:supernet_{how}"])
    add("load_supernet parts_overlap", "from nasforge.oneshot.checkpoint import load_supernet\nload_supernet('fs')",
        ["supernet.json", "parts 2 and 3 both hold"], ["fs", "damage:supernet_parts_overlap"])
    # DARTS genotypes nested 1000 levels deep or 2 MB long
    bench = ["bench", "--strategies", "random", "--seeds", "1", "--trials", "3", "--workers", "1", "--space", "darts",
             "--objective", "val_acc"]
    add("bench darts deep genotype", [*bench, "--table", "deep.csv"], ["deep.csv", "data row 4"], ["deep.csv"])
    add("bench darts long genotype", [*bench, "--table", "long.csv"], ["long.csv", "data row 4"], ["long.csv"])
    darts = "from nasforge.spaces import get_space\nget_space('darts').parse("
    add("darts parse deep", darts + f"'Genotype(normal=' + '-' * 400 + '1, {DARTS_CONCAT})')",
        ["normal must be a list", "'----"])
    add("darts parse long", darts + "'-' * 100_000 + '1')", ["---"])
    add("darts parse concat deep", "from nasforge.spaces import get_space\nspace = get_space('darts')\n"
        "space.parse(space.format(space.sample(0)).replace('normal_concat=[2, 3, 4, 5]', 'normal_concat=' + "
        "'-' * 400 + '1'))", ["normal_concat must be", "'----"])
    # data folders
    images = ["oneshot", "train", "--data", "folder", "--epochs", "1", "--out", "sn", "--data-dir"]
    add("image folder huge first image", [*images, "big"], ["0-big.png", "9000x9000 pixels", "301 images"], ["big"])
    add("image folder class named train", [*images, "vehicles"], ["train/", "rename it Train/"], ["vehicles"])
    add("cifar partial binary folder", ["oneshot", "train", "--data", "cifar10", "--data-dir", "cifar", "--epochs",
                                        "1", "--out", "sn"], ["data_batch_1.bin"], ["cifar"])
    # modules importing a package that does not exist
    add("space-module missing package", ["bench", "--space-module", "needs_pkg.py:Net", "--table", "chain.csv",
                                         "--objective", "acc"], ["needs_pkg.py", "no_such_package_s54"],
        ["needs_pkg.py", "chain.csv"])
    add("evaluator missing package", ["resume", "s", *storage, "--evaluator", "ev_needs:make"],
        ["ev_needs", "no_such_package_s54"], ["study.db", "damage:target_eight", "ev_needs.py"])
    # a -wal without its -shm in a read-only folder
    wal = ["hw.db-wal may hold results not yet in hw.db", "copy hw.db and hw.db-wal to a writable folder"]
    for verb in (["status", "hw"], ["studies"], ["resume", "hw"]):
        add(f"{verb[0]} read-only wal", [*verb, "--storage", "sqlite:///archive/hw.db"], wal,
            ["archive", "readonly:archive"])
    # the Python API: study names that are no string, user classes named like built-ins
    add("Study.load name int", "from nasforge import Study\nStudy.load(5, 'sqlite:///study.db')",
        ["study name must be a string, got int 5"], ["study.db"])
    add("delete_study name None", "from nasforge.experiment import get_storage\n"
        "get_storage('sqlite:///study.db').delete_study(None)", ["study name must be a string, got NoneType None"],
        ["study.db"])
    study = ("from nasforge import Study\nfrom nasforge.spaces import get_space\n"
             "from nasforge.experiment.pruners import MedianPruner, Pruner\n"
             "study = Study(get_space('nb201'), 'random', objectives='acc')\n")
    add("pruner subclass inherits a built-in's name", study + "class AlwaysMedian(MedianPruner):\n"
        "    def should_prune(self, number, curves):\n        return True\n"
        "study.optimize(lambda arch: {'acc': 1.0}, n_trials=2, pruner=AlwaysMedian())",
        ["AlwaysMedian has no name of its own", "'median'"])
    add("pruner named like a built-in", study + "class NamedMedian(Pruner):\n    name = 'median'\n"
        "    def should_prune(self, number, curves):\n        return True\n"
        "    def config(self):\n        return {}\n"
        "study.optimize(lambda arch: {'acc': 1.0}, n_trials=2, pruner=NamedMedian())",
        ["NamedMedian is named 'median'", "MedianPruner"])
    add("strategy named like a built-in", "from nasforge import Strategy, Study\nfrom nasforge.spaces import "
        "get_space\nclass Ones(Strategy):\n    name = 'random'\n    def _propose(self):\n"
        "        return self.space.sample(self.rng)\n"
        "Study(get_space('nb201'), Ones(get_space('nb201'), seed=0), objectives='acc')",
        ["strategy class Ones is named 'random'", "RandomSearch"])
    return c


# -- running ---------------------------------------------------------------------------------------
def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*") if p.is_file()}


def run_case(case: Case, fixtures: Path, timeout: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="badinput-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        for name in case.setup:
            if name.startswith("damage:"):
                damage(work, name.split(":", 1)[1])
                continue
            if name.startswith("readonly:"):  # made writable again before the folder is removed
                stack.enter_context(read_only(work / name.split(":", 1)[1]))
                continue
            source = fixtures / name
            (shutil.copytree if source.is_dir() else shutil.copy)(source, work / name)
        before = snapshot(work)
        if case.kind == "cli":
            argv = [sys.executable, "-m", "nasforge", *case.args]
        else:
            argv = [sys.executable, "-c", API_HARNESS, case.args]
        env = {**os.environ, "COLUMNS": "80", "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            timed_out = True
        seconds = time.perf_counter() - start
        after = snapshot(work)
        changed = sorted(k for k in before if after.get(k) != before[k])
        created = sorted(p for p in case.must_not_create if (work / p).exists())
    lines = [ln for ln in err.strip().splitlines() if ln.strip() and not ln.startswith(("nasforge: inferred", "  "))]
    code = proc.returncode
    if timed_out or code == 0:
        outcome = "accepted"
    elif code < 0 or code in (134, 139):
        outcome = "segfault"
    elif "Traceback (most recent call last)" in err:
        outcome = "traceback"
    elif (len(lines) == 1 and all(c.lower() in lines[0].lower() for c in case.culprit)
          and code == (3 if case.id.startswith("api:") else 2)):  # 3: the API harness's refusal
        outcome = "clear"
    else:
        outcome = "unclear"
    return {"id": case.id, "outcome": outcome, "exit": code, "timed_out": timed_out, "seconds": round(seconds, 2),
            "damaged": changed + created, "message": (lines[-1] if lines else err.strip()[-300:])[:400],
            "culprit": case.culprit}


def main() -> None:
    parser = argparse.ArgumentParser(description="Try bad inputs across the CLI and the API; count the outcomes.")
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once")
    parser.add_argument("--timeout", type=float, default=40.0, help="seconds before a case counts as accepted")
    parser.add_argument("--only", default="", help="run only cases whose id contains this (to a new --out)")
    parser.add_argument("--out", default=str(OUTPUT))
    args = parser.parse_args()
    run = {"only": args.only, "timeout": args.timeout}
    refuse_other_run(args.out, read_json(args.out, {}), run, before={"only": "", "timeout": 40.0})
    cases = [c for c in numeric_option_cases() + cli_cases() + api_cases() + s54_cases() if args.only in c.id]
    with tempfile.TemporaryDirectory(prefix="badinput-fixtures-") as tmp:
        fixtures = Path(tmp)
        build_fixtures(fixtures)
        start = time.perf_counter()
        with ThreadPoolExecutor(args.jobs) as pool:
            results = list(pool.map(lambda c: run_case(c, fixtures, args.timeout), cases))
    counts = {k: sum(r["outcome"] == k for r in results)
              for k in ("clear", "unclear", "traceback", "segfault", "accepted")}
    counts["damaged"] = sum(bool(r["damaged"]) for r in results)
    summary = {**run, "cases": len(results), "cli": sum(r["id"].startswith("cli:") for r in results),
               "api": sum(r["id"].startswith("api:") for r in results), "counts": counts,
               "wall_seconds": round(time.perf_counter() - start, 1),
               "note": "each case in a fresh process; a shared, loaded 2-core machine", "results": results}
    write_json(args.out, summary)
    for r in results:
        if r["outcome"] != "clear" or r["damaged"]:
            print(f"{r['outcome']:>9}{' DAMAGED' if r['damaged'] else ''}  {r['id']}: {r['message'][:150]}")
    print(json.dumps({k: v for k, v in summary.items() if k != "results"}, indent=1))


if __name__ == "__main__":
    main()
