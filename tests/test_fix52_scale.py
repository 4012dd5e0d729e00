"""Scale fix52: reading a stored study's trials parses each stored genotype once (its trials share the
Architecture), checks and formats each architecture once, and passes the usual column values without a check call;
what ``status``, ``trials`` and ``Study.load`` show stays exactly what the full per-row path gives."""

import json
import sqlite3

import numpy as np
import pytest

from nasforge import Study
from nasforge.cli import main
from nasforge.evaluators import Result
from nasforge.experiment.storage import open_storage, sql
from nasforge.experiment.storage.base import DamagedRowError
from nasforge.spaces import get_space

SPACE = get_space("nb201")
NB201Space = type(SPACE)


def _evaluate(arch, fidelity=None):
    g = arch.genotype
    if g.count("none") >= 3:
        raise RuntimeError("too many zero edges")
    metrics = {"acc": float(g.count("nor_conv_3x3")), "cost": float(9 * g.count("nor_conv_3x3") + g.count("none"))}
    if g[0] == "none":
        metrics["lat"] = float("nan")
    return Result(metrics=metrics, user_attrs={"first": g[0]} if g[1] == "none" else {})


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A constrained two-objective SQLite study of 60 trials, 24 of them three architectures enqueued again and
    again (with a user attribute), some failed; its URL and the number of distinct architectures."""
    url = f"sqlite:///{tmp_path_factory.mktemp('scale') / 's.db'}"
    study = Study(SPACE, "mo_random", objectives=["acc", "cost"], directions=["maximize", "minimize"], seed=0,
                  name="s", storage=open_storage(url, durability="normal"), constraints=["cost <= 20"])
    rng = np.random.default_rng(3)
    repeated = [SPACE.sample(rng) for _ in range(3)]
    for k in range(24):
        study.enqueue(repeated[k % 3], user_attrs={"round": k})
    with pytest.warns(Warning):  # the failed trials
        study.optimize(_evaluate, n_trials=36)
    return url, len({t.arch for t in study.trials})


def _outputs(url: str, capsys) -> list[str]:
    texts = []
    for argv in (["status"], ["status", "--format", "json"], ["trials"], ["trials", "--format", "csv"],
                 ["trials", "--format", "json"]):
        assert main([*argv, "s", "--storage", url]) == 0
        texts.append(capsys.readouterr().out)
    return texts


def test_outputs_equal_those_of_the_full_per_row_path(stored, capsys, monkeypatch):
    url, _ = stored
    fast = _outputs(url, capsys)
    parse = sql._stored_arch
    monkeypatch.setattr(sql, "_stored_arch", lambda genotype, archs: parse(genotype, {}))  # each row parsed
    monkeypatch.setattr(sql, "_EMPTY_JSON", {})
    monkeypatch.setattr(sql, "_SCALAR_TYPES", frozenset())
    monkeypatch.setattr(sql, "_SCALAR_COLUMNS", {k: ((), *rest) for k, (_, *rest) in sql._SCALAR_COLUMNS.items()})
    assert _outputs(url, capsys) == fast
    assert "infeasible" in fast[0] and "failed" in fast[0] and '"round": 23' in fast[4]


def test_trials_share_one_architecture_per_stored_genotype(stored):
    url, distinct = stored
    storage = open_storage(url, readonly=True)
    trials = storage.trials(storage.load_study("s").id)
    assert len({id(t.arch) for t in trials}) == distinct < len(trials)  # the fast path is taken
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM nasforge_trials ORDER BY number").fetchall()
    assert trials == [sql._to_trial(row, {}) for row in rows]  # as each row parsed alone reads


def test_each_architecture_checked_once_on_load(stored, monkeypatch):
    url, distinct = stored
    checked = []
    check = NB201Space.check
    monkeypatch.setattr(NB201Space, "check", lambda self, arch: checked.append(arch) or check(self, arch))
    study = Study.load("s", open_storage(url, readonly=True), replay=False)
    assert len(checked) == distinct < len(study.trials)
    checked.clear()
    assert main(["status", "s", "--storage", url]) == 0
    assert len(checked) == distinct


def _damage(url: str, column: str, value, tmp_path) -> str:
    path = tmp_path / "d.db"
    with sqlite3.connect(url.removeprefix("sqlite:///")) as source, sqlite3.connect(path) as copy:
        source.backup(copy)
        copy.execute(f"UPDATE nasforge_trials SET {column} = ? WHERE number = 30", (value,))
    return f"sqlite:///{path}"


@pytest.mark.parametrize("column, value", [("attempts", 1.5), ("cost", "cheap"), ("worker", b"w"), ("event", "x"),
                                           ("metrics", json.dumps({"acc": [1]})), ("genotype", "[1]")])
def test_damaged_fields_still_named(stored, tmp_path, column, value):
    url = _damage(stored[0], column, value, tmp_path)
    storage = open_storage(url, readonly=True)
    with pytest.raises(DamagedRowError, match=f"trial 30 .*corrupted '{column}' field"):
        storage.trials(storage.load_study("s").id)


def test_plain_metric_values_of_older_rows_still_load(stored, tmp_path):
    url = _damage(stored[0], "metrics", json.dumps({"acc": 1, "cost": 2.5, "note": "x", "ok": True, "n": None}),
                  tmp_path)
    storage = open_storage(url, readonly=True)
    trial = storage.trials(storage.load_study("s").id)[30]
    assert trial.metrics == {"acc": 1, "cost": 2.5, "note": "x", "ok": True, "n": None}
