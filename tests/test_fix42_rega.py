"""Regressions of the review-42 plug-in API fixes (review a): a pruner's NumPy bool, a stored study on a space
that cannot record a setting (created with a warning, continued with load_if_exists), a damaged row of a study
on a nasforge space (still 'corrupted'), --arch-column read as text by every CLI table read, the
multi-objective progress line's front computed only when shown."""

from __future__ import annotations

import io
import json
import sqlite3
import warnings

import numpy as np
import pytest
from bit_spaces import space_module
from test_fix42_api import Bits, Curvy, Sized, ones, registered  # noqa: F401  (registered: a fixture)

from nasforge import Study
from nasforge.exceptions import StorageError
from nasforge.experiment.progress import ProgressReporter
from nasforge.experiment.pruners import Pruner
from nasforge.spaces import SPACES


class NumpyVerdict(Pruner):
    """Prunes with NumPy's bools, as ``curve[-1] < np.median(others)`` answers."""

    name = "fix42_numpy"

    def __init__(self, verdict):
        self.verdict = verdict

    def should_prune(self, number, curves):
        return np.bool_(self.verdict)

    def config(self):
        return {}


@pytest.mark.parametrize("verdict, state", [(True, "PRUNED"), (False, "COMPLETE")])
def test_a_pruner_may_answer_a_numpy_bool(verdict, state):
    """Would fail: 'should_prune must return True or False, got bool np.True_' (NumPy 2 names its type bool)."""
    study = Study(Bits(), "random", seed=0)
    study.optimize(Curvy(), n_trials=4, pruner=NumpyVerdict(verdict), fidelity={"epochs": 3})
    assert {t.state.value for t in study.trials[1:]} == {state}


class PosOnly(Bits):
    def __init__(self, n=6, /):
        self.n = n


def test_a_stored_study_on_a_space_that_cannot_record_a_setting_is_continued(tmp_path, registered):  # noqa: F811
    """Would fail: UsageError 'keeps its constructor argument ... under no attribute', on creation and on
    load_if_exists=True, though the space object given is used as it is and nothing is rebuilt."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    with pytest.warns(UserWarning, match=r"study 'a': space Sized .*'bits'.*Study.load\(name, storage, space=...\)"):
        Study(Sized(bits=4), "random", seed=0, storage=url, name="a").optimize(ones, n_trials=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # continuing it warns no more
        again = Study(Sized(bits=4), "random", seed=0, storage=url, name="a", load_if_exists=True)
        again.optimize(ones, n_trials=2)
        assert len(Study.load("a", url, space=Sized(bits=4)).trials) == 5
    with pytest.warns(UserWarning, match=r"space PosOnly .*'n'.*make 'n' a keyword argument kept as self.n"):
        Study(PosOnly(4), "random", seed=0, storage=url, name="p").optimize(ones, n_trials=2)
    assert len(Study.load("p", url, space=PosOnly(4)).trials) == 2


def test_a_damaged_row_of_a_study_on_a_nasforge_space_is_still_corrupted(tmp_path):
    """Would fail: UsageError 'the space's settings do not match' for nb201, whose settings are always recorded."""
    path = tmp_path / "c.db"
    with Study("nb201", "random", seed=0, storage=f"sqlite:///{path}", name="c") as study:
        study.optimize(lambda a: {"val_acc": 1.0}, n_trials=1)
    genotype = ["bogus_op"] + ["skip_connect"] * 5
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE nasforge_trials SET genotype = ?", (json.dumps({"space": "nb201", "genotype": genotype}),))
    with pytest.raises(StorageError, match=r"trial 0 of study 'c' has a corrupted 'genotype' field: .*bogus_op"):
        Study.load("c", f"sqlite:///{path}")


@pytest.mark.parametrize("suffix", ["csv", "json"])
@pytest.mark.parametrize("command", [
    ["bench", "--strategies", "random", "--trials", "5", "--seeds", "1"],
    ["predictors", "eval", "--predictors", "rf", "--params", '{"rf": {"encoding": "onehot"}}', "--train-sizes", "20",
     "--test-size", "20", "--seeds", "1", "--metric", "val_acc"],
    ["surrogate", "fit", "--model", "knn", "--params", '{"encoding": "onehot"}', "--metrics", "val_acc"],
])
def test_every_cli_table_read_keeps_the_arch_columns_leading_zeros(tmp_path, suffix, command):
    """Would fail: --arch-column genome was read as numbers ("not 6 bits: '0'"); only a column named arch was text."""
    import pandas as pd

    from nasforge.cli import main

    module = space_module(tmp_path, "Bits6", "fix42_rega_bits")
    frame = pd.DataFrame({"genome": [format(i, "06b") for i in range(64)], "val_acc": np.arange(64.0)})
    table = tmp_path / f"bits.{suffix}"
    frame.to_csv(table, index=False) if suffix == "csv" else frame.to_json(table, orient="records")
    try:
        assert main([*command, "--table", str(table), "--arch-column", "genome", "--space-module",
                     module, "--out", str(tmp_path / "out")]) == 0
    finally:
        SPACES._entries.pop("fix42_rega_bits", None)
        SPACES._tags.pop("fix42_rega_bits", None)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_multi_objective_progress_line_computes_the_front_only_when_shown(monkeypatch, capsys):
    """Would fail: the whole Pareto front was computed at every update (O(trials) each, O(n^2) over a run:
    2000 table trials took 13 s with progress=True, 1 s without); now once per shown line."""
    calls = []
    front = Study.pareto_front
    monkeypatch.setattr(Study, "pareto_front", lambda self: calls.append(1) or front(self))
    study = Study(Bits(), "mo_random", objectives=["val_acc", "zeros"], directions=["maximize", "maximize"], seed=0)
    study.optimize(lambda a: {"val_acc": float(sum(a.genotype)), "zeros": float(a.genotype.count(0))},
                   n_trials=40, progress=True)
    assert len(calls) <= 3  # the first line, perhaps one more, the last
    assert f"done 40/40 | failed 0 | pruned 0 | running 0 | front {len(front(study))} |" in capsys.readouterr().err
    out = Terminal()
    bar = ProgressReporter("demo", total=3, stream=out)
    shown = []
    for done in (1, 2):
        bar.update(done, 0, 0, lambda: {"acc": 5.0}, front=lambda: shown.append(1) or 7)
    bar.close()  # the rich bar shows the last status, computed once more
    assert len(shown) == 2 and "front 7" in out.getvalue()
